// A throwaway certificate authority for tests: a CA, a server certificate for given names and
// addresses, and a client certificate, made with the openssl command line in a scratch folder.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface TestCerts {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** True when the openssl command line is there. */
export function haveOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Make a CA and the certificates it signs under `dir` (created). */
export function makeTestCerts(dir: string, server: { dns: string[]; ips: string[] }): TestCerts {
  fs.mkdirSync(dir, { recursive: true });
  const sans = [...server.dns.map((d) => `DNS:${d}`), ...server.ips.map((ip) => `IP:${ip}`)].join(',');
  return makeSigned(dir, sans);
}

function makeSigned(dir: string, sans: string): TestCerts {
  const files = {
    ca: path.join(dir, 'ca.pem'),
    caKey: path.join(dir, 'ca.key'),
    serverCert: path.join(dir, 'server.pem'),
    serverKey: path.join(dir, 'server.key'),
    clientCert: path.join(dir, 'client.pem'),
    clientKey: path.join(dir, 'client.key'),
  };
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=fuzzforge test CA',
      '-keyout',
      files.caKey,
      '-out',
      files.ca,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  const sign = (name: 'server' | 'client', ext: string) => {
    const key = name === 'server' ? files.serverKey : files.clientKey;
    const cert = name === 'server' ? files.serverCert : files.clientCert;
    const csr = path.join(dir, `${name}.csr`);
    const extFile = path.join(dir, `${name}.ext`);
    fs.writeFileSync(extFile, ext);
    openssl(
      ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=fuzzforge test ${name}`, '-keyout', key, '-out', csr],
      dir,
    );
    openssl(
      [
        'x509',
        '-req',
        '-in',
        csr,
        '-CA',
        files.ca,
        '-CAkey',
        files.caKey,
        '-CAcreateserial',
        '-days',
        '2',
        '-out',
        cert,
        '-extfile',
        extFile,
      ],
      dir,
    );
  };
  sign('server', `subjectAltName=${sans}\nextendedKeyUsage=serverAuth\n`);
  sign('client', 'extendedKeyUsage=clientAuth\n');
  return { dir, ...files };
}
