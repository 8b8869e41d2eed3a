// Entry of dist/temporalFront.js: runs inside the embedded backend's private network (and pid)
// namespace. It brings the namespace's loopback up, runs the Temporal dev server on it, and
// serves the two ports the supervisor opened on the host's 127.0.0.1 and handed down as file
// descriptors 3 and 4: gRPC behind mutual TLS (only clients with a certificate of the state
// folder's CA get through) and the web UI behind a secret token. It exits when Temporal exits, so
// the supervisor restarts the whole namespace. usage: node temporalFront.js CONFIG_FILE
import { spawn, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as tls from 'node:tls';

/** What the supervisor writes (0600) for the front: the token never appears on a command line. */
export interface TemporalFrontConfig {
  temporal: { bin: string; args: string[] };
  /** Ports of the dev server on the namespace's own loopback. */
  grpcPort: number;
  uiPort: number;
  certs: { ca: string; cert: string; key: string };
  uiToken: string;
}

/** The inherited listening sockets: gRPC and UI on the host's loopback. */
const GRPC_FD = 3;
const UI_FD = 4;

function log(line: string): void {
  process.stderr.write(`${new Date().toISOString()} temporal front: ${line}\n`);
}

function readConfig(file: string): TemporalFrontConfig {
  const config = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<TemporalFrontConfig>;
  if (
    !config.temporal?.bin ||
    !Array.isArray(config.temporal.args) ||
    !Number.isInteger(config.grpcPort) ||
    !Number.isInteger(config.uiPort) ||
    !config.certs?.ca ||
    typeof config.uiToken !== 'string' ||
    config.uiToken.length < 16
  ) {
    throw new Error(`${file} is not a temporal front configuration; restart the backend (fuzzforge down, up)`);
  }
  return config as TemporalFrontConfig;
}

/** mTLS on the inherited socket, bytes piped to the dev server's gRPC port. */
function serveGrpc(config: TemporalFrontConfig): tls.Server {
  const server = tls.createServer(
    {
      cert: fs.readFileSync(config.certs.cert),
      key: fs.readFileSync(config.certs.key),
      ca: fs.readFileSync(config.certs.ca),
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: ['h2'],
      noDelay: true,
    },
    (socket) => {
      // No Nagle on either side: gRPC's small frames (a task completion, a poll's answer) would
      // otherwise wait for the peer's delayed ACK, about 40 ms per hop and per call.
      socket.setNoDelay(true);
      const upstream = net.connect({ port: config.grpcPort, host: '127.0.0.1', noDelay: true });
      socket.pipe(upstream).pipe(socket);
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
      socket.on('close', () => upstream.destroy());
      upstream.on('close', () => socket.destroy());
    },
  );
  server.on('tlsClientError', (err) => {
    // A bare TCP probe (a health check's port test) hangs up before any handshake: not worth a line.
    if ((err as NodeJS.ErrnoException).code !== 'ECONNRESET') {
      log(`refused a gRPC client: ${err.message}`);
    }
  });
  server.listen({ fd: GRPC_FD });
  return server;
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

/**
 * The UI on the inherited socket: `?token=` once sets an HttpOnly, SameSite=Strict cookie (named
 * after the port: cookies do not tell the ports of one host apart) and redirects to the same page
 * without the token; requests without the cookie get 403.
 */
function serveUi(config: TemporalFrontConfig): http.Server {
  let cookieName = 'fuzzforge_temporal_ui';
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://front');
    const token = url.searchParams.get('token');
    if (token !== null) {
      if (!sameSecret(token, config.uiToken)) {
        res.writeHead(403, { 'content-type': 'text/plain' }).end('wrong token\n');
        return;
      }
      url.searchParams.delete('token');
      res
        .writeHead(303, {
          location: `${url.pathname}${url.search}`,
          'set-cookie': `${cookieName}=${config.uiToken}; HttpOnly; SameSite=Strict; Path=/`,
          'cache-control': 'no-store',
        })
        .end();
      return;
    }
    const cookies = (req.headers.cookie ?? '').split(';').map((c) => c.trim());
    const given = cookies.find((c) => c.startsWith(`${cookieName}=`))?.slice(cookieName.length + 1) ?? '';
    if (!sameSecret(given, config.uiToken)) {
      res
        .writeHead(403, { 'content-type': 'text/plain' })
        .end(
          'This Temporal UI belongs to a FuzzForge backend: open it with the link `fuzzforge status` prints, or with the editor\'s "Open Temporal UI".\n',
        );
      return;
    }
    const headers = { ...req.headers };
    const rest = cookies.filter((c) => c && !c.startsWith(`${cookieName}=`));
    if (rest.length > 0) {
      headers.cookie = rest.join('; ');
    } else {
      delete headers.cookie;
    }
    const upstream = http.request(
      { host: '127.0.0.1', port: config.uiPort, method: req.method, path: req.url, headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', (err) => {
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'text/plain' });
      }
      res.end(`Temporal UI is not answering: ${err.message}\n`);
    });
    req.pipe(upstream);
  });
  server.listen({ fd: UI_FD }, () => {
    const address = server.address();
    if (address && typeof address === 'object') {
      cookieName = `fuzzforge_temporal_ui_${address.port}`;
    }
  });
  return server;
}

function main(): void {
  const file = process.argv[2];
  if (!file) {
    throw new Error('usage: temporalFront.js CONFIG_FILE');
  }
  const config = readConfig(file);
  // A new network namespace starts with its loopback down.
  const lo = spawnSync('ip', ['link', 'set', 'lo', 'up'], { encoding: 'utf8', timeout: 10_000 });
  if (lo.status !== 0) {
    throw new Error(`cannot bring up the namespace's loopback (ip link set lo up): ${lo.stderr || lo.error?.message}`);
  }
  const temporal = spawn(config.temporal.bin, config.temporal.args, { stdio: ['ignore', 'inherit', 'inherit'] });
  temporal.on('error', (err) => {
    log(`cannot start ${config.temporal.bin}: ${err.message}`);
    process.exit(1);
  });
  temporal.on('exit', (code, signal) => {
    log(`temporal exited (code ${code}, signal ${signal})`);
    process.exit(code ?? 1);
  });
  // The supervisor's SIGTERM: let the dev server close its database, then go with it.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => temporal.kill('SIGTERM'));
  }
  serveGrpc(config);
  serveUi(config);
}

try {
  main();
} catch (err) {
  log((err as Error).message);
  process.exit(1);
}
