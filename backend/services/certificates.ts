// A small certificate authority made with the openssl command line: a CA, a server certificate
// for given names and addresses, and a client certificate. The embedded backend makes one per
// state folder to guard its Temporal with mutual TLS; tests make throwaway ones.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors';

export interface CertificateFiles {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

export interface CertificateOptions {
  /** Names and addresses the server certificate is valid for. */
  server: { dns: string[]; ips: string[] };
  days: number;
  /** Common-name prefix, e.g. "fuzzforge test". */
  name: string;
}

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new UserError('the openssl command is missing', 'install it (Debian: apt-get install openssl)');
    }
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`openssl ${args[0]} failed in ${cwd}: ${stderr || (err as Error).message}`, { cause: err });
  }
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

/** The files makeCertificates writes under `dir`. */
export function certificateFiles(dir: string): CertificateFiles {
  return {
    dir,
    ca: path.join(dir, 'ca.pem'),
    serverCert: path.join(dir, 'server.pem'),
    serverKey: path.join(dir, 'server.key'),
    clientCert: path.join(dir, 'client.pem'),
    clientKey: path.join(dir, 'client.key'),
  };
}

/**
 * Make a CA and the server and client certificates it signs under `dir` (created 0700, keys
 * 0600). The files appear together: they are made in a scratch folder renamed into place. The CA's
 * key is deleted once both are signed: nobody can sign another certificate this CA vouches for.
 */
export function makeCertificates(dir: string, options: CertificateOptions): CertificateFiles {
  const scratch = `${dir}.${process.pid}.tmp`;
  fs.rmSync(scratch, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(dir), { recursive: true, mode: 0o700 });
  fs.mkdirSync(scratch, { mode: 0o700 });
  try {
    const files = certificateFiles(scratch);
    const caKey = path.join(scratch, 'ca.key');
    const days = String(options.days);
    openssl(
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        days,
        '-subj',
        `/CN=${options.name} CA`,
        '-keyout',
        caKey,
        '-out',
        files.ca,
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
      ],
      scratch,
    );
    const sans = [...options.server.dns.map((d) => `DNS:${d}`), ...options.server.ips.map((ip) => `IP:${ip}`)];
    const sign = (role: 'server' | 'client', key: string, cert: string, ext: string) => {
      const csr = path.join(scratch, `${role}.csr`);
      const extFile = path.join(scratch, `${role}.ext`);
      fs.writeFileSync(extFile, ext);
      openssl(
        ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${options.name} ${role}`, '-keyout', key, '-out', csr],
        scratch,
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
          caKey,
          '-CAcreateserial',
          '-days',
          days,
          '-out',
          cert,
          '-extfile',
          extFile,
        ],
        scratch,
      );
      fs.rmSync(csr);
      fs.rmSync(extFile);
    };
    sign('server', files.serverKey, files.serverCert, `subjectAltName=${sans.join(',')}\nextendedKeyUsage=serverAuth\n`);
    sign('client', files.clientKey, files.clientCert, 'extendedKeyUsage=clientAuth\n');
    for (const key of [files.serverKey, files.clientKey]) {
      fs.chmodSync(key, 0o600);
    }
    fs.rmSync(caKey);
    fs.rmSync(path.join(scratch, 'ca.srl'), { force: true });
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(scratch, dir);
  } catch (err) {
    fs.rmSync(scratch, { recursive: true, force: true });
    throw err;
  }
  return certificateFiles(dir);
}

/** The certificates under `dir` when they are all there, else new ones. */
export function loadOrMakeCertificates(dir: string, options: CertificateOptions): CertificateFiles {
  const files = certificateFiles(dir);
  const all = [files.ca, files.serverCert, files.serverKey, files.clientCert, files.clientKey];
  if (all.every((f) => fs.existsSync(f))) {
    // Keep them private even if someone loosened the permissions.
    fs.chmodSync(dir, 0o700);
    for (const key of [files.serverKey, files.clientKey]) {
      fs.chmodSync(key, 0o600);
    }
    return files;
  }
  return makeCertificates(dir, options);
}
