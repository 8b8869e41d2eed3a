import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sleep } from '../../backend/concurrency';
import { defaultEmbeddedOptions, startEmbedded, stopEmbedded } from '../../backend/services/embedded';
import { embeddedConnection } from '../../backend/services/supervisor';
import { connectTemporal } from '../../backend/temporal/connect';
import { RunService } from '../../backend/temporal/runs';
import { isPidAlive, readState, readToolboxStatus } from '../../backend/services/state';
import { ObjectStore } from '../../backend/storage/objectStore';
import { runCli, startTestBackend, waitForPollers, type TestBackend } from './harness';

describe('embedded backend', () => {
  let backend: TestBackend;
  before(async () => {
    backend = await startTestBackend();
  });
  after(async () => {
    await backend?.stop();
  });

  it('runs Temporal, MinIO and the generic worker on loopback, with state shared through a file', () => {
    const { state } = backend;
    assert.equal(state.status, 'ready');
    assert.match(state.temporal.address, /^127\.0\.0\.1:\d+$/);
    assert.match(state.storage.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.deepEqual(
      state.workers.map((w) => w.vertical),
      ['generic'],
    );
    for (const pid of [state.supervisorPid, state.temporal.pid, state.storage.pid, state.workers[0]?.pid]) {
      assert.ok(isPidAlive(pid), `pid ${pid} alive`);
    }
    assert.ok(fs.existsSync(path.join(backend.stateDir, 'temporal.db')), 'Temporal keeps its runs in a SQLite file');
    // In write-ahead-log mode (TEMPORAL_SQLITE_PRAGMAS): a commit does not wait for its own fsyncs.
    const header = Buffer.alloc(20);
    const fd = fs.openSync(path.join(backend.stateDir, 'temporal.db'), 'r');
    fs.readSync(fd, header, 0, 20, 0);
    fs.closeSync(fd);
    // Bytes 18-19 of a SQLite file are its write and read format versions: 2 in WAL mode, 1 without.
    assert.deepEqual([header[18], header[19]], [2, 2], 'temporal.db is in WAL mode');
    // MinIO runs under its memory limit (so it gives back the pages its work freed).
    const minioEnviron = fs.readFileSync(`/proc/${state.storage.pid}/environ`, 'utf8').split('\0');
    assert.ok(
      minioEnviron.includes(`MINIO_MEMLIMIT=${process.env.MINIO_MEMLIMIT || '240MiB'}`),
      'MinIO runs with MINIO_MEMLIMIT',
    );
  });

  it('runs Temporal without the parts a local backend does not use', async () => {
    // TEMPORAL_DYNAMIC_CONFIG reaches the dev server: Nexus is one of the parts it turns off.
    const connection = await connectTemporal(backend.conn.temporal);
    try {
      await assert.rejects(connection.operatorService.listNexusEndpoints({ pageSize: 1 }), /Nexus APIs are disabled/);
    } finally {
      await connection.close();
    }
  });

  it('keeps generated credentials private and out of every log', () => {
    const file = path.join(backend.stateDir, 'credentials.json');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const { secretKey } = JSON.parse(fs.readFileSync(file, 'utf8')) as { secretKey: string };
    assert.ok(secretKey.length >= 32);
    for (const log of fs.readdirSync(backend.state.logsDir)) {
      assert.ok(
        !fs.readFileSync(path.join(backend.state.logsDir, log), 'utf8').includes(secretKey),
        `${log} leaks the secret`,
      );
    }
    assert.ok(!fs.readFileSync(path.join(backend.stateDir, 'backend.json'), 'utf8').includes(secretKey));
  });

  it('creates private buckets with lifecycle expiry', async () => {
    const store = new ObjectStore(backend.conn);
    const targets = await store.client.getBucketLifecycle(backend.conn.buckets.targets);
    const results = await store.client.getBucketLifecycle(backend.conn.buckets.results);
    // The client returns one rule as an object and several as an array.
    assert.equal([targets?.Rule ?? []].flat()[0]?.Expiration?.Days, 7);
    assert.equal([results?.Rule ?? []].flat()[0]?.Expiration?.Days, 30);
    await store.putJson(backend.conn.buckets.results, 'probe.json', { secret: true });
    const anonymous = await fetch(`${backend.conn.storage.endpoint}/${backend.conn.buckets.results}/probe.json`);
    assert.equal(anonymous.status, 403, 'results are not readable without credentials');
  });

  it('attaches a second `up` to the running stack instead of starting twins', async () => {
    const opts = defaultEmbeddedOptions(backend.stateDir);
    const again = await startEmbedded(opts);
    assert.equal(again.attached, true);
    assert.equal(again.state.supervisorPid, backend.state.supervisorPid);
    const cli = await runCli(['up'], backend.env);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /already running/);
  });

  it('falls back to free ports when the configured ones are taken', async () => {
    const otherState = path.join(backend.root, 'second');
    const opts = defaultEmbeddedOptions(otherState);
    const taken = Number(backend.state.temporal.address.split(':')[1]);
    opts.ports = {
      temporal: taken,
      temporalUi: 0,
      minio: Number(new URL(backend.conn.storage.endpoint).port),
      minioConsole: 0,
    };
    opts.verticals = [];
    try {
      const { state } = await startEmbedded(opts);
      assert.notEqual(state.temporal.address, backend.state.temporal.address);
      assert.notEqual(state.storage.endpoint, backend.state.storage.endpoint);
    } finally {
      await stopEmbedded(otherState);
    }
  });

  it('reports health, verticals and binaries in `fuzzforge status`', async () => {
    const cli = await runCli(['status'], backend.env);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /temporal\s+healthy/);
    assert.match(cli.stdout, /minio\s+healthy/);
    assert.match(cli.stdout, /generic\s+yes\s+1\s+.*security_assessment/);
    const json = JSON.parse((await runCli(['status', '--json'], backend.env)).stdout) as {
      running: boolean;
      health: { temporal: boolean };
    };
    assert.equal(json.running, true);
    assert.equal(json.health.temporal, true);
  });

  it('restarts a worker that gets killed', async () => {
    const before = readState(backend.stateDir)?.workers[0]?.pid;
    assert.ok(before);
    process.kill(before, 'SIGKILL');
    const deadline = Date.now() + 30_000;
    let after: number | undefined;
    while (Date.now() < deadline) {
      after = readState(backend.stateDir)?.workers[0]?.pid;
      if (after && after !== before && isPidAlive(after)) {
        break;
      }
      await sleep(200);
    }
    assert.ok(after && after !== before, 'a new worker process was started');
    await waitForPollers(backend, 'generic');
  });

  it('is ready only once Temporal lists a poller on every vertical, as the worker host recorded it', async () => {
    const otherState = path.join(backend.root, 'third');
    const opts = defaultEmbeddedOptions(otherState);
    opts.ports = { temporal: 0, temporalUi: 0, minio: 0, minioConsole: 0 };
    opts.verticals = ['generic'];
    try {
      const { state } = await startEmbedded(opts);
      // Asked at once, without waiting: ready promised it.
      const runs = await RunService.connect(embeddedConnection(state));
      try {
        assert.ok((await runs.pollers('generic')) > 0, 'the generic queue has a poller when the backend is ready');
      } finally {
        await runs.close();
      }
      const status = readToolboxStatus(otherState);
      assert.equal(status?.pid, state.workers[0]?.pid, 'written by the running host');
      assert.deepEqual(status?.polling, ['generic']);
    } finally {
      await stopEmbedded(otherState);
    }
  });

  it('stops every process it started on `down`', async () => {
    const state = readState(backend.stateDir);
    assert.ok(state);
    const pids = [state.supervisorPid, state.temporal.pid, state.storage.pid, ...state.workers.map((w) => w.pid)];
    const cli = await runCli(['down'], backend.env);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /stopped/);
    for (const pid of pids) {
      assert.equal(isPidAlive(pid), false, `pid ${pid} still alive`);
    }
    assert.equal(readState(backend.stateDir), undefined);
    const status = await runCli(['status'], backend.env);
    assert.match(status.stdout, /not running/);
  });
});
