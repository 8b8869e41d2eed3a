// External backend settings: every FUZZFORGE_* connection variable is read, handed on to workers,
// applied to the Temporal and S3 clients, reported by name when wrong, and kept from the tools.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { toolEnv } from '../../backend/environment';
import { UserError } from '../../backend/errors';
import { replayEnv } from '../../backend/fuzzing';
import {
  CONNECTION_VARIABLES,
  connectionFromEnv,
  connectionToEnv,
  type BackendConnection,
} from '../../backend/services/connection';
import { ObjectStore } from '../../backend/storage/objectStore';
import { s3ClientOptions } from '../../backend/storage/s3Options';
import { temporalConnectOptions } from '../../backend/temporal/connect';
import { localAddressTowards, workerIdentity } from '../../workers/identity';
import { haveOpenssl, makeTestCerts, type TestCerts } from '../certs';

const BASE = {
  FUZZFORGE_TEMPORAL_ADDRESS: '10.0.0.5:7233',
  FUZZFORGE_S3_ENDPOINT: 'http://10.0.0.5:9000',
  FUZZFORGE_S3_ACCESS_KEY: 'ff-access',
  FUZZFORGE_S3_SECRET_KEY: 'ff-secret',
};

function throwsNaming(fn: () => unknown, variable: string | RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof UserError, String(err));
    assert.match(err.message, typeof variable === 'string' ? new RegExp(variable) : variable);
    return true;
  });
}

describe('external connection settings', () => {
  let dir: string;
  let certs: TestCerts | undefined;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-conn-'));
    if (haveOpenssl()) {
      certs = makeTestCerts(path.join(dir, 'certs'), { dns: ['s3.fuzzforge.test'], ips: ['127.0.0.1'] });
    }
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('needs the four base variables and fills in the defaults', () => {
    assert.equal(connectionFromEnv({ ...BASE, FUZZFORGE_S3_SECRET_KEY: '' }), undefined);
    const conn = connectionFromEnv(BASE);
    assert.deepEqual(conn, {
      mode: 'external',
      temporal: { address: '10.0.0.5:7233', namespace: 'default' },
      storage: {
        endpoint: 'http://10.0.0.5:9000',
        accessKey: 'ff-access',
        secretKey: 'ff-secret',
        region: 'us-east-1',
      },
      buckets: { targets: 'fuzzforge-targets', results: 'fuzzforge-results' },
    });
  });

  it('round-trips TLS, mutual TLS, API key, session token, region, namespace and buckets to a worker', (t) => {
    if (!certs) {
      t.skip('openssl is not installed');
      return;
    }
    const env = {
      ...BASE,
      FUZZFORGE_S3_ENDPOINT: 'https://s3.fuzzforge.test:9000',
      FUZZFORGE_TEMPORAL_NAMESPACE: 'team-a',
      FUZZFORGE_TEMPORAL_TLS_CA: certs.ca,
      FUZZFORGE_TEMPORAL_TLS_CERT: certs.clientCert,
      FUZZFORGE_TEMPORAL_TLS_KEY: certs.clientKey,
      FUZZFORGE_TEMPORAL_TLS_SERVER_NAME: 'temporal.fuzzforge.test',
      FUZZFORGE_TEMPORAL_API_KEY: 'api-key-value',
      FUZZFORGE_S3_SESSION_TOKEN: 'sts-token',
      FUZZFORGE_S3_REGION: 'eu-west-3',
      FUZZFORGE_S3_TLS_CA: certs.ca,
      FUZZFORGE_BUCKET_TARGETS: 'team-a-targets',
      FUZZFORGE_BUCKET_RESULTS: 'team-a-results',
    };
    const conn = connectionFromEnv(env) as BackendConnection;
    assert.deepEqual(connectionFromEnv(connectionToEnv(conn)), conn);
    assert.deepEqual(connectionToEnv(conn), { ...env, FUZZFORGE_TEMPORAL_TLS: '1' });

    const options = temporalConnectOptions(conn.temporal);
    assert.equal(options.address, '10.0.0.5:7233');
    assert.equal(options.apiKey, 'api-key-value');
    assert.ok(typeof options.tls === 'object');
    assert.equal(options.tls.serverNameOverride, 'temporal.fuzzforge.test');
    assert.deepEqual(options.tls.serverRootCACertificate, fs.readFileSync(certs.ca));
    assert.deepEqual(options.tls.clientCertPair?.crt, fs.readFileSync(certs.clientCert));
    assert.deepEqual(options.tls.clientCertPair?.key, fs.readFileSync(certs.clientKey));

    const s3 = s3ClientOptions(conn.storage);
    assert.equal(s3.useSSL, true);
    assert.equal(s3.endPoint, 's3.fuzzforge.test');
    assert.equal(s3.port, 9000);
    assert.equal(s3.sessionToken, 'sts-token');
    assert.equal(s3.region, 'eu-west-3');
    assert.ok(s3.transportAgent instanceof https.Agent);
  });

  it('FUZZFORGE_TEMPORAL_TLS turns TLS on with the system roots, or off even with an API key', () => {
    const on = connectionFromEnv({ ...BASE, FUZZFORGE_TEMPORAL_TLS: 'true' }) as BackendConnection;
    assert.deepEqual(on.temporal.tls, {});
    assert.deepEqual(temporalConnectOptions(on.temporal).tls, {});
    const off = connectionFromEnv({ ...BASE, FUZZFORGE_TEMPORAL_TLS: '0', FUZZFORGE_TEMPORAL_API_KEY: 'k' });
    assert.equal(temporalConnectOptions((off as BackendConnection).temporal).tls, false);
    assert.equal(temporalConnectOptions((connectionFromEnv(BASE) as BackendConnection).temporal).tls, undefined);
    throwsNaming(() => connectionFromEnv({ ...BASE, FUZZFORGE_TEMPORAL_TLS: 'maybe' }), 'FUZZFORGE_TEMPORAL_TLS=');
  });

  it('names the variable of a wrong setting', () => {
    const missing = path.join(dir, 'no-such-ca.pem');
    throwsNaming(
      () => connectionFromEnv({ ...BASE, FUZZFORGE_TEMPORAL_TLS_CA: missing }),
      /FUZZFORGE_TEMPORAL_TLS_CA: cannot read .*no-such-ca\.pem \(ENOENT\)/,
    );
    const notPem = path.join(dir, 'not.pem');
    fs.writeFileSync(notPem, 'hello');
    throwsNaming(
      () => connectionFromEnv({ ...BASE, FUZZFORGE_TEMPORAL_TLS_CERT: notPem }),
      /FUZZFORGE_TEMPORAL_TLS_CERT: .* is not a PEM file/,
    );
    const pem = path.join(dir, 'some.pem');
    fs.writeFileSync(pem, '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n');
    throwsNaming(
      () => connectionFromEnv({ ...BASE, FUZZFORGE_TEMPORAL_TLS_CERT: pem }),
      /FUZZFORGE_TEMPORAL_TLS_CERT and FUZZFORGE_TEMPORAL_TLS_KEY/,
    );
    throwsNaming(
      () => connectionFromEnv({ ...BASE, FUZZFORGE_S3_TLS_CA: missing }),
      'FUZZFORGE_S3_TLS_CA: cannot read',
    );
    throwsNaming(
      () => connectionFromEnv({ ...BASE, FUZZFORGE_S3_TLS_CA: pem }),
      /FUZZFORGE_S3_TLS_CA is set but .* is not https/,
    );
    throwsNaming(
      () => connectionFromEnv({ ...BASE, FUZZFORGE_TEMPORAL_ADDRESS: 'http://x:7233' }),
      'FUZZFORGE_TEMPORAL_ADDRESS',
    );
    throwsNaming(() => connectionFromEnv({ ...BASE, FUZZFORGE_S3_ENDPOINT: '10.0.0.5:9000' }), 'FUZZFORGE_S3_ENDPOINT');
    throwsNaming(
      () => connectionFromEnv({ ...BASE, FUZZFORGE_BUCKET_RESULTS: 'Results_1' }),
      'FUZZFORGE_BUCKET_RESULTS',
    );
    throwsNaming(
      () => connectionFromEnv({ ...BASE, FUZZFORGE_TEMPORAL_TLS: '0', FUZZFORGE_TEMPORAL_TLS_SERVER_NAME: 'x' }),
      'FUZZFORGE_TEMPORAL_TLS=0',
    );
    // A file that disappears after the settings were read is reported when a client is built.
    const later = path.join(dir, 'later.pem');
    fs.copyFileSync(pem, later);
    const conn = connectionFromEnv({ ...BASE, FUZZFORGE_TEMPORAL_TLS_CA: later }) as BackendConnection;
    fs.rmSync(later);
    throwsNaming(() => temporalConnectOptions(conn.temporal), 'FUZZFORGE_TEMPORAL_TLS_CA: cannot read');
  });

  it('the S3 client trusts a private CA given by FUZZFORGE_S3_TLS_CA, and only then', async (t) => {
    if (!certs) {
      t.skip('openssl is not installed');
      return;
    }
    const server = https.createServer(
      { cert: fs.readFileSync(certs.serverCert), key: fs.readFileSync(certs.serverKey) },
      (req, res) => {
        // Enough S3 for bucketExists: HEAD /bucket answers 200.
        res.writeHead(req.method === 'HEAD' ? 200 : 404).end();
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const endpoint = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const trusted = connectionFromEnv({ ...BASE, FUZZFORGE_S3_ENDPOINT: endpoint, FUZZFORGE_S3_TLS_CA: certs.ca });
      assert.equal(await new ObjectStore(trusted as BackendConnection).client.bucketExists('fuzzforge-targets'), true);
      const untrusted = connectionFromEnv({ ...BASE, FUZZFORGE_S3_ENDPOINT: endpoint });
      await assert.rejects(
        new ObjectStore(untrusted as BackendConnection).client.bucketExists('fuzzforge-targets'),
        /self[- ]signed|unable to verify|certificate/i,
      );
    } finally {
      server.close();
    }
  });
});

describe('credentials stay with the worker', () => {
  const everything = Object.fromEntries(CONNECTION_VARIABLES.map((name) => [name, `value-of-${name}`]));

  it('no connection variable reaches a tool', () => {
    const env = toolEnv({ ...everything, HOME: '/home/someone', PATH: '/usr/bin', MINIO_ROOT_PASSWORD: 'x' });
    assert.deepEqual(Object.keys(env).sort(), ['HOME', 'PATH']);
  });

  it('nor a harness replayed on the user machine (external mode reads them from the environment)', () => {
    const env = replayEnv({ PYTHONPATH: '/w' }, { ...everything, HOME: '/home/someone', PATH: '/usr/bin' });
    assert.deepEqual(
      Object.keys(env).filter((k) => k.startsWith('FUZZFORGE_')),
      [],
    );
    assert.equal(env.PYTHONPATH, '/w');
    assert.match(env.PATH ?? '', /\/usr\/bin$/);
  });
});

describe('worker identity', () => {
  it('names the host, and the address a remote Temporal is reached from', async () => {
    assert.equal(await localAddressTowards('127.0.0.1:7233'), '127.0.0.1');
    assert.match(
      await workerIdentity('python', '127.0.0.1:7233', {}),
      new RegExp(`^python@${os.hostname()}:${process.pid}$`),
    );
    assert.equal(await workerIdentity('go', '10.0.0.5:7233', { FUZZFORGE_WORKER_IDENTITY: 'go-7' }), 'go-7');
    assert.equal(await localAddressTowards('nonsense'), undefined);
  });
});
