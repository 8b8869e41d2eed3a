// Faults on the real services, one backend for the file: the Temporal server killed mid-scan and
// mid-campaign (the supervisor restarts it from its database, the runs continue), MinIO killed
// during an upload (a clear error, no manifest for the partial tree, the next scan completes),
// a worker killed while a static tool runs (retried, one result set, no orphaned tool), and a
// full disk under the state folder (a clear error naming it, nothing corrupted).
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sleep } from '../../backend/concurrency';
import { fuzzStats, listCrashes } from '../../backend/fuzzing';
import { toolboxDir } from '../../backend/paths';
import { awaitScan, fetchSarif, findWorkflow, startScan } from '../../backend/scan';
import { isPidAlive, readState, type BackendState } from '../../backend/services/state';
import { ObjectStore } from '../../backend/storage/objectStore';
import {
  comparableRows,
  cliBackendEnv,
  copyFixture,
  readExpected,
  requirePythonTools,
  runCli,
  startTestBackend,
  waitForPollers,
  workerTagOf,
  type ExpectedRow,
  type TestBackend,
} from './harness';

const pythonExpected = readExpected('python-sast');
// This fixture's known answers name no tool (one tool reports them all).
const genericExpected = readExpected('vulnerable-app') as Omit<ExpectedRow, 'tool'>[];

/** The pids of processes that carry a worker tag starting with `tag` and whose command line holds `needle`. */
function taggedProcesses(tag: string, needle: string): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) {
      continue;
    }
    try {
      const env = fs.readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0');
      const cmd = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (env.some((v) => v.startsWith(`FUZZFORGE_WORKER_TAG=${tag}`)) && cmd.includes(needle)) {
        out.push(Number(entry));
      }
    } catch {
      // Gone, or not ours to read.
    }
  }
  return out;
}

async function waitUntil<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value) {
      return value;
    }
    await sleep(100);
  }
  throw new Error(`${what} within ${timeoutMs} ms`);
}

/** Kill a service of the backend by the pid its state names and wait for the supervisor to start a new one. */
async function killAndAwaitRestart(
  backend: TestBackend,
  pick: (s: BackendState) => number | undefined,
  name: string,
): Promise<number> {
  const pid = pick(readState(backend.stateDir) as BackendState);
  assert.ok(pid && isPidAlive(pid), `${name} runs`);
  process.kill(pid, 'SIGKILL');
  return waitUntil(
    `a new ${name} process`,
    () => {
      const now = pick(readState(backend.stateDir) as BackendState);
      return now && now !== pid && isPidAlive(now) ? now : undefined;
    },
    30_000,
  );
}

describe('faults on the real services', () => {
  let backend: TestBackend;
  before(
    async () => {
      await requirePythonTools();
      backend = await startTestBackend({ verticals: ['generic', 'python'] });
    },
    { timeout: 15 * 60_000 },
  );
  after(async () => {
    await backend?.stop();
  });

  /** The worker host's tag (its tools inherit it). */
  function workerTag(): string {
    const worker = readState(backend.stateDir)?.workers[0]?.pid;
    assert.ok(worker);
    const tag = workerTagOf(worker);
    assert.ok(tag);
    return tag;
  }

  it('Temporal killed mid-scan: restarted on its port from its database; the waiting CLI gets the full result', async () => {
    const workspace = copyFixture('python-sast', path.join(backend.root, 'temporal-scan'));
    const address = backend.state.temporal.address;
    const tag = workerTag();
    let runId = '';
    const cli = runCli(
      ['scan', workspace, '-w', 'python_sast', '--no-baseline', '--json'],
      backend.env,
      undefined,
      (c) =>
        c.stderr?.on('data', (d: Buffer) => {
          runId ||= /run (\S+) started/.exec(d.toString())?.[1] ?? '';
        }),
    );
    // semgrep takes seconds: the kill lands while the tool activity runs.
    await waitUntil('semgrep running', () => taggedProcesses(tag, 'semgrep').length > 0, 120_000);
    await killAndAwaitRestart(backend, (s) => s.temporal.pid, 'Temporal');
    assert.equal(readState(backend.stateDir)?.temporal.address, address, 'the same address');
    const done = await cli;
    assert.equal(done.code, 0, `${done.stderr}\n${done.stdout}`);
    assert.ok(runId, done.stderr);
    const summary = await backend.runs.result(runId);
    assert.deepEqual(comparableRows(await fetchSarif(backend.conn, summary)), pythonExpected);
    const report = JSON.parse(done.stdout) as { results?: unknown[]; summary?: { total?: number } };
    assert.equal(summary.total, pythonExpected.length, JSON.stringify(report).slice(0, 400));
  });

  it('a worker killed while a static tool runs: retried, one result set, no orphaned tool', async () => {
    const workspace = copyFixture('python-sast', path.join(backend.root, 'worker-kill'));
    const tag = workerTag();
    const wf = findWorkflow(toolboxDir(), 'python_sast');
    const { run } = await startScan(backend.conn, backend.runs, {
      path: workspace,
      workflow: wf,
      params: {},
      baseline: false,
    });
    const tools = await waitUntil(
      'semgrep running',
      () => {
        const found = taggedProcesses(tag, 'semgrep');
        return found.length > 0 ? found : undefined;
      },
      120_000,
    );
    await killAndAwaitRestart(backend, (s) => s.workers[0]?.pid, 'worker host');
    await waitUntil('the dead worker’s tool ended', () => tools.every((p) => !isPidAlive(p)), 15_000);
    assert.deepEqual(taggedProcesses(tag, ''), [], 'nothing of the killed worker is left');
    await waitForPollers(backend, 'python');
    const { summary, sarif } = await awaitScan(backend.conn, backend.runs, run.runId);
    assert.deepEqual(comparableRows(sarif), pythonExpected, 'one result set, no duplicates');
    assert.equal(summary.total, pythonExpected.length);
    const history = await backend.runs.client.workflow.getHandle(run.runId).fetchHistory();
    const attempts = (history.events ?? []).map((e) => e.activityTaskStartedEventAttributes?.attempt ?? 0);
    assert.ok(Math.max(...attempts) >= 2, 'the tool activity was retried');
  });

  it('Temporal killed mid-campaign: the campaign continues and stores its crash once', async () => {
    const workspace = copyFixture('fuzz-python', path.join(backend.root, 'temporal-campaign'));
    const wf = findWorkflow(toolboxDir(), 'atheris_fuzzing');
    const { run } = await startScan(backend.conn, backend.runs, {
      path: workspace,
      workflow: wf,
      params: { seed_corpus: 'seeds', max_total_time: 20, minimize_time: 0 },
    });
    await waitUntil(
      'a crash found',
      async () => {
        const latest = (await fuzzStats(backend.runs, run.runId).catch(() => undefined))?.latest;
        return latest && latest.uniqueCrashes >= 1 && latest.elapsedSec >= 3 ? latest : undefined;
      },
      120_000,
    );
    await killAndAwaitRestart(backend, (s) => s.temporal.pid, 'Temporal');
    const { summary } = await awaitScan(backend.conn, backend.runs, run.runId);
    assert.equal(summary.fuzzing?.uniqueCrashes, 1, JSON.stringify(summary.fuzzing));
    const crashes = await listCrashes(backend.conn, run.runId);
    assert.equal(crashes.length, 1, JSON.stringify(crashes, null, 2));
    assert.ok((summary.fuzzing?.harnesses[0]?.elapsedSec ?? 0) >= 19, JSON.stringify(summary.fuzzing));
  });

  it('MinIO killed during an upload: a clear error, no manifest for the partial tree; the next scan completes', async () => {
    const workspace = copyFixture('vulnerable-app', path.join(backend.root, 'minio-upload'));
    // Enough data that the upload takes a while: incompressible blobs the rules skip.
    const data = path.join(workspace, 'data');
    fs.mkdirSync(data);
    for (let i = 0; i < 1200; i++) {
      fs.writeFileSync(path.join(data, `blob-${i}.bin`), crypto.randomBytes(256 * 1024));
    }
    const store = new ObjectStore(backend.conn);
    const manifests = async () =>
      (await store.list(backend.conn.buckets.targets, 'manifests/')).map((o) => o.key).sort();
    const before = await manifests();
    let uploading = false;
    const cli = runCli(['scan', workspace, '-w', 'security_assessment', '--no-baseline'], backend.env, undefined, (c) =>
      c.stderr?.on('data', (d: Buffer) => {
        uploading ||= /^\s*uploading/m.test(d.toString());
      }),
    );
    await waitUntil('the upload under way', () => uploading, 120_000);
    await killAndAwaitRestart(backend, (s) => s.storage.pid, 'MinIO');
    const failed = await cli;
    assert.notEqual(failed.code, 0, `the scan did not notice the outage:\n${failed.stderr}`);
    assert.match(failed.stderr, /MinIO|storage/i, failed.stderr);
    assert.match(failed.stderr, /fuzzforge (status|up)|try again|run the scan again/i, failed.stderr);
    assert.doesNotMatch(failed.stderr, /at .*\.js:\d+/, 'no stack trace');
    await waitUntil(
      'MinIO answers again',
      async () => (await fetch(`${backend.conn.storage.endpoint}/minio/health/live`).catch(() => undefined))?.ok,
      30_000,
    );
    assert.deepEqual(await manifests(), before, 'no manifest for the partial upload');

    const again = await runCli(
      ['scan', workspace, '-w', 'security_assessment', '--no-baseline', '--json'],
      backend.env,
    );
    assert.equal(again.code === 0 || again.code === 1, true, again.stderr);
    const runId = /run (\S+) started/.exec(again.stderr)?.[1];
    assert.ok(runId, again.stderr);
    const summary = await backend.runs.result(runId);
    const rows = comparableRows(await fetchSarif(backend.conn, summary)).map(({ ruleId, file, line }) => ({
      ruleId,
      file,
      line,
    }));
    assert.deepEqual(rows, genericExpected);
    assert.equal((await manifests()).length, before.length + 1, 'one manifest for the complete tree');
  });
});

describe('a full disk under the state folder', () => {
  let root: string;
  let stateDir: string;
  let env: NodeJS.ProcessEnv;
  let mounted = false;
  let skip = '';

  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-it-full-'));
    stateDir = path.join(root, 'state');
    fs.mkdirSync(stateDir);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=48m,mode=0700', 'tmpfs', stateDir], { stdio: 'pipe' });
      mounted = true;
    } catch (err) {
      skip = `cannot mount a small tmpfs: ${(err as Error).message.split('\n')[0]}`;
    }
    env = cliBackendEnv(root, stateDir);
  });

  after(async () => {
    if (mounted) {
      await runCli(['down'], env).catch(() => undefined);
      execFileSync('umount', [stateDir]);
    }
    fs.rmSync(root, { recursive: true, force: true });
  });

  /** Fill the file system of the state folder to the last byte. */
  function fill(): string {
    const filler = path.join(stateDir, 'filler');
    const fd = fs.openSync(filler, 'w');
    const chunk = Buffer.alloc(1024 * 1024);
    try {
      for (;;) {
        fs.writeSync(fd, chunk);
      }
    } catch {
      // Full.
    }
    try {
      for (;;) {
        fs.writeSync(fd, chunk, 0, 512);
      }
    } catch {
      // Full to the block.
    } finally {
      fs.closeSync(fd);
    }
    return filler;
  }

  function assertIntact(): void {
    for (const file of ['credentials.json', 'backend.json']) {
      const full = path.join(stateDir, file);
      if (fs.existsSync(full)) {
        assert.doesNotThrow(() => JSON.parse(fs.readFileSync(full, 'utf8')), `${file} parses`);
      }
    }
    const creds = JSON.parse(fs.readFileSync(path.join(stateDir, 'credentials.json'), 'utf8')) as {
      secretKey?: string;
    };
    assert.ok(creds.secretKey && creds.secretKey.length >= 32, 'credentials kept');
    const log = fs.readFileSync(path.join(stateDir, 'logs', 'supervisor.log'), 'utf8');
    for (const line of log.split('\n').filter(Boolean)) {
      assert.match(line, /^\d{4}-\d\d-\d\dT[\d:.]+Z /, `a whole log line: ${line}`);
    }
    assert.deepEqual(
      fs.readdirSync(stateDir).filter((f) => f.endsWith('.tmp')),
      [],
      'no half-written temporary files',
    );
  }

  it('`up` on a full state folder fails naming the folder; nothing is corrupted; after freeing space `up` works', async (t) => {
    if (skip) {
      t.skip(skip);
      return;
    }
    const first = await runCli(['up'], env);
    assert.equal(first.code, 0, first.stderr);
    const down = await runCli(['down'], env);
    assert.equal(down.code, 0, down.stderr);

    const filler = fill();
    const full = await runCli(['up'], env);
    assert.notEqual(full.code, 0, full.stdout);
    assert.ok(full.stderr.includes(stateDir), `names the folder:\n${full.stderr}`);
    assert.match(full.stderr, /full|no space/i, full.stderr);
    assert.doesNotMatch(full.stderr, /at .*\.js:\d+/, 'no stack trace');
    assertIntact();

    fs.rmSync(filler);
    const again = await runCli(['up'], env);
    assert.equal(again.code, 0, again.stderr);
    // A loaded machine may miss one health check's deadline right after start-up: ask a few times.
    const healthy = await waitUntil(
      'a healthy backend in `fuzzforge status`',
      async () => {
        const status = JSON.parse((await runCli(['status', '--json'], env)).stdout) as {
          health?: { temporal?: boolean; storage?: boolean };
        };
        return status.health?.temporal && status.health.storage ? status : undefined;
      },
      60_000,
    );
    assert.ok(healthy);
    assertIntact();
  });
});
