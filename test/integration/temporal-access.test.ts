// Other local accounts and the embedded Temporal: it runs in a private network namespace, and the
// host sees only a mutual-TLS port and a token-guarded UI port.
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { certificatesDir, namespaceProblem } from '../../backend/services/temporalIsolation';
import { connectTemporal, type TemporalConnectOptions } from '../../backend/temporal/connect';
import { makeTestCerts } from '../certs';
import { startTestBackend, type TestBackend } from './harness';

const run = promisify(execFile);

/** `host:port` (or `[v6]:port`) as its two parts. */
function splitAddress(address: string): [string, number] {
  const at = address.lastIndexOf(':');
  return [address.slice(0, at).replace(/^\[|\]$/g, ''), Number(address.slice(at + 1))];
}
const problem = namespaceProblem();

/** List workflows and start one over `options`: what an intruder would do. */
async function listAndStart(options: TemporalConnectOptions): Promise<void> {
  const connection = await Connection.connect({ ...options, connectTimeout: 5000 });
  try {
    await connection.workflowService.listWorkflowExecutions({ namespace: 'default' });
    await new Client({ connection }).workflow.start('python_sast', {
      taskQueue: 'intruder',
      workflowId: `intruder-${Date.now()}`,
      args: [],
    });
  } finally {
    await connection.close();
  }
}

/** Ports on which some process of the tree under `root` listens, from /proc (host namespace). */
function listeningPortsOfTree(root: number): Set<number> {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // Gone meanwhile.
    }
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) {
    tree.push(...(children.get(tree[i] as number) ?? []));
  }
  const inodes = new Set<string>();
  for (const pid of tree) {
    try {
      for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
        const inode = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
        if (inode) {
          inodes.add(inode);
        }
      }
    } catch {
      // Gone meanwhile.
    }
  }
  const ports = new Set<number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of fs.readFileSync(table, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // st 0A = LISTEN; column 9 is the socket's inode.
      const [, local = '', , st, , , , , , inode = ''] = cols;
      if (st === '0A' && inodes.has(inode)) {
        ports.add(parseInt(local.split(':')[1] ?? '', 16));
      }
    }
  }
  return ports;
}

describe('the embedded Temporal and other local accounts', { skip: problem }, () => {
  let backend: TestBackend;
  before(async () => {
    backend = await startTestBackend();
  });
  after(async () => {
    await backend?.stop();
  });

  it('is isolated, with the state folder\'s certificates kept private', () => {
    assert.equal(backend.state.temporal.isolation, 'namespace');
    const dir = certificatesDir(backend.stateDir);
    assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
    for (const key of fs.readdirSync(dir).filter((f) => f.endsWith('.key'))) {
      assert.equal(fs.statSync(path.join(dir, key)).mode & 0o777, 0o600, key);
    }
    assert.ok(backend.conn.temporal.tls?.clientCertFile, 'clients get the client certificate');
  });

  it('refuses a client without a certificate, and one whose certificate another CA signed', async () => {
    const address = backend.state.temporal.address;
    await assert.rejects(listAndStart({ address }), 'plaintext');
    const ca = fs.readFileSync(path.join(certificatesDir(backend.stateDir), 'ca.pem'));
    await assert.rejects(
      listAndStart({ address, tls: { serverRootCACertificate: ca, serverNameOverride: 'localhost' } }),
      'TLS without a client certificate',
    );
    const other = makeTestCerts(path.join(backend.root, 'other-ca'), { dns: ['localhost'], ips: ['127.0.0.1'] });
    await assert.rejects(
      listAndStart({
        address,
        tls: {
          serverRootCACertificate: ca,
          serverNameOverride: 'localhost',
          clientCertPair: { crt: fs.readFileSync(other.clientCert), key: fs.readFileSync(other.clientKey) },
        },
      }),
      'a certificate of another CA',
    );
  });

  it('serves a client with the state folder\'s certificate', async () => {
    const connection = await connectTemporal(backend.conn.temporal);
    try {
      const listed = await connection.workflowService.listWorkflowExecutions({ namespace: 'default' });
      assert.ok(Array.isArray(listed.executions));
      const handle = await new Client({ connection }).workflow.start('python_sast', {
        taskQueue: 'nobody-polls-this',
        workflowId: `owner-${Date.now()}`,
        args: [],
      });
      await handle.terminate('test');
    } finally {
      await connection.close();
    }
  });

  it('listens on the host only on its published ports (the dev server\'s own ports stay inside)', () => {
    const { state } = backend;
    const published = [
      state.temporal.address,
      state.temporal.uiUrl,
      state.storage.endpoint,
      state.storage.consoleUrl,
    ].map((a) => Number(/:(\d+)$/.exec(a)?.[1]));
    assert.deepEqual([...listeningPortsOfTree(state.supervisorPid)].sort(), [...new Set(published)].sort());
  });

  it('keeps another uid out: it cannot read the certificates nor get an answer from Temporal', async () => {
    const tls = backend.conn.temporal.tls;
    assert.ok(tls?.clientCertFile && tls.clientKeyFile);
    const [host, port] = splitAddress(backend.state.temporal.address);
    // Built-ins only: the other account cannot reach this checkout's node_modules (a clone under a
    // 0700 folder), so the probe speaks gRPC over HTTP/2 by hand. It asks GetSystemInfo, which
    // needs no arguments, and skips server verification as an intruder would.
    const script = `
      const fs = require('node:fs');
      const http2 = require('node:http2');
      const out = {};
      const read = (file) => { try { return fs.readFileSync(file); } catch (e) { out.readKey = e.code; return undefined; } };
      const key = process.env.PROBE_KEY ? read(process.env.PROBE_KEY) : undefined;
      if (key) out.readKey = true;
      const cert = process.env.PROBE_CERT && key ? fs.readFileSync(process.env.PROBE_CERT) : undefined;
      const done = (answer) => { out.answer = answer; console.log(JSON.stringify(out)); process.exit(0); };
      setTimeout(() => done('timeout'), 15000);
      const session = http2.connect('https://' + ${JSON.stringify(host)} + ':' + ${port},
        { rejectUnauthorized: false, key, cert, ALPNProtocols: ['h2'] });
      session.on('error', (e) => done('refused: ' + (e.code || e.message)));
      const call = session.request({ ':method': 'POST', ':path': '/temporal.api.workflowservice.v1.WorkflowService/GetSystemInfo',
        'content-type': 'application/grpc', te: 'trailers' });
      call.on('error', (e) => done('refused: ' + (e.code || e.message)));
      let status;
      call.on('response', (h) => { if (h['grpc-status'] !== undefined) status = String(h['grpc-status']); });
      call.on('trailers', (h) => { status = String(h['grpc-status']); });
      call.on('data', () => {});
      call.on('end', () => done(status === '0' ? 'answered' : 'grpc-status ' + status));
      call.end(Buffer.alloc(5));`;
    const probe = async (env: NodeJS.ProcessEnv, asOther: boolean) => {
      const [cmd, args] = asOther
        ? ['setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', script]]
        : [process.execPath, ['-e', script]];
      const { stdout } = await run(cmd, args, { cwd: '/', timeout: 60_000, env: { PATH: process.env.PATH, ...env } });
      return JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { readKey?: unknown; answer?: unknown };
    };
    // Control: with the certificate, the same probe gets an answer, so a refusal below means something.
    const control = await probe({ PROBE_KEY: tls.clientKeyFile, PROBE_CERT: tls.clientCertFile }, false);
    assert.deepEqual(control, { readKey: true, answer: 'answered' });
    const intruder = await probe({ PROBE_KEY: tls.clientKeyFile, PROBE_CERT: tls.clientCertFile }, true);
    assert.equal(intruder.readKey, 'EACCES');
    assert.notEqual(intruder.answer, 'answered', 'Temporal must not answer a client without the certificate');
    assert.match(String(intruder.answer), /^(refused|grpc-status)/);
  });

  it('refuses the UI without its token (403), serves it with the token through a cookie', async () => {
    const { uiUrl, uiToken } = backend.state.temporal;
    assert.ok(uiToken);
    const page = `${uiUrl}/namespaces/default/workflows`;
    assert.equal((await fetch(page, { redirect: 'manual' })).status, 403);
    assert.equal((await fetch(`${page}?token=wrong${uiToken}`, { redirect: 'manual' })).status, 403);
    const entry = await fetch(`${page}?token=${encodeURIComponent(uiToken)}`, { redirect: 'manual' });
    assert.equal(entry.status, 303);
    assert.equal(entry.headers.get('location'), '/namespaces/default/workflows');
    const cookie = entry.headers.get('set-cookie') ?? '';
    const sent = { cookie: cookie.split(';')[0] ?? '' };
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    const served = await fetch(page, { headers: sent });
    assert.equal(served.status, 200);
    assert.match(await served.text(), /<html/i);
    const api = await fetch(`${uiUrl}/api/v1/namespaces/default/workflows`, { headers: sent });
    assert.equal(api.status, 200);
  });
});
