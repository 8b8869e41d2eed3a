// A mutual-TLS front for a plaintext gRPC server, for the multi-host test: it stands in for a
// TLS-terminating Temporal frontend (the dev server has no TLS options). It accepts only clients
// whose certificate the given CA signed, offers h2 by ALPN, and pipes bytes both ways.
// usage: node tlsFront.mjs LISTEN_HOST LISTEN_PORT TARGET_PORT CERT KEY CA
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as tls from 'node:tls';

const [host, port, targetPort, cert, key, ca] = process.argv.slice(2);
const server = tls.createServer(
  {
    cert: fs.readFileSync(cert),
    key: fs.readFileSync(key),
    ca: fs.readFileSync(ca),
    requestCert: true,
    rejectUnauthorized: true,
    ALPNProtocols: ['h2'],
  },
  (socket) => {
    const upstream = net.connect(Number(targetPort), '127.0.0.1');
    socket.pipe(upstream).pipe(socket);
    socket.on('error', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
  },
);
server.on('tlsClientError', (err) => console.error(`refused a client: ${err.message}`));
server.listen(Number(port), host, () => console.log(`TLS front on ${host}:${port} -> 127.0.0.1:${targetPort}`));
