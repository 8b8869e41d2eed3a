// The embedded backend's processes and state against races and stale state: three `fuzzforge up`
// at once share one backend, and a state file whose pids now belong to other processes (a
// reboot, pid reuse) is neither attached to nor signalled. Real CLI processes, real services.
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sleep } from '../../backend/concurrency';
import { processToken, readState, isPidAlive, type BackendState } from '../../backend/services/state';
import { cliBackendEnv, runCli, workerTagOf } from './harness';

describe('embedded backend processes and state', () => {
  let root: string;
  let stateDir: string;
  let env: NodeJS.ProcessEnv;
  let stranger: ChildProcess;
  const started: number[] = [];

  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-it-proc-'));
    stateDir = path.join(root, 'state');
    env = cliBackendEnv(root, stateDir);
    // An unrelated process of ours that a stale state file will name.
    stranger = spawn('sleep', ['300'], { stdio: 'ignore' });
  });

  after(async () => {
    // Whatever a failed assertion left running: our own backend, by the pids it recorded.
    await runCli(['down'], env).catch(() => undefined);
    for (const pid of started) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone.
      }
    }
    stranger.kill('SIGKILL');
    fs.rmSync(root, { recursive: true, force: true });
  });

  /** A state file from "before a reboot": every pid is the stranger's, recorded with another start time. */
  function writeStaleState(): void {
    const pid = stranger.pid as number;
    const token = processToken(pid);
    assert.ok(token);
    const stale: BackendState = {
      version: 1,
      mode: 'embedded',
      status: 'ready',
      supervisorPid: pid,
      startedAt: new Date(0).toISOString(),
      stateDir,
      logsDir: path.join(stateDir, 'logs'),
      temporal: { address: '127.0.0.1:9', namespace: 'default', uiUrl: 'http://127.0.0.1:9', pid },
      storage: { endpoint: 'http://127.0.0.1:9', consoleUrl: 'http://127.0.0.1:9', pid },
      workers: [{ vertical: 'generic', pid, restarts: 0, status: 'running' }],
      retention: { targetsDays: 7, resultsDays: 30 },
      processes: { [pid]: `${token.split('/')[0]}/1` },
    };
    fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(stateDir, 'backend.json'), JSON.stringify(stale));
    fs.writeFileSync(path.join(stateDir, 'supervisor.lock'), `${pid} ${token.split('/')[0]}/1`);
  }

  /**
   * A worker killed while a detached tool of its runs, with a private cache and a half-written
   * staging folder: the supervisor ends the tool and removes both before the next worker starts.
   */
  async function killedWorkerLeavesNothing(state: BackendState): Promise<void> {
    const worker = state.workers[0]?.pid;
    assert.ok(worker);
    const tag = workerTagOf(worker);
    assert.ok(tag, 'every worker launch carries a tag its tools inherit');
    // What runTool does: a detached tool in its own process group, with the worker's environment.
    const tool = spawn('sleep', ['300'], {
      detached: true,
      stdio: 'ignore',
      env: { ...process.env, FUZZFORGE_WORKER_TAG: tag },
    });
    started.push(tool.pid as number);
    const toolExited = new Promise((resolve) => tool.once('exit', resolve));
    const cacheRoot = path.join(root, 'worker-cache');
    const privateCache = path.join(cacheRoot, `generic-${worker}`, 'trees');
    const staging = path.join(cacheRoot, 'generic', 'trees', `${'ab'.repeat(32)}.tmp-0a1b2c3d`);
    fs.mkdirSync(privateCache, { recursive: true });
    fs.mkdirSync(staging, { recursive: true });
    fs.writeFileSync(path.join(cacheRoot, 'generic', '.owner'), `${worker} ${processToken(worker)}`);

    process.kill(worker, 'SIGKILL');
    await toolExited;
    for (;;) {
      const now = readState(stateDir)?.workers[0]?.pid;
      if (now && now !== worker && isPidAlive(now)) {
        break;
      }
      await sleep(200);
    }
    assert.equal(fs.existsSync(path.dirname(privateCache)), false, 'the private cache of the dead worker is gone');
    assert.equal(fs.existsSync(staging), false, 'its staging folder is gone');
    assert.match(
      fs.readFileSync(path.join(stateDir, 'logs', 'supervisor.log'), 'utf8'),
      /ended tool process \d+ left by worker/,
    );
  }

  it('does not signal the processes that have a stale state file’s pids now', async () => {
    writeStaleState();
    const status = await runCli(['status'], env);
    assert.match(status.stdout, /not running/, status.stdout);
    const down = await runCli(['down'], env);
    assert.equal(down.code, 0, down.stderr);
    assert.match(down.stdout, /was not running/);
    assert.equal(isPidAlive(stranger.pid), true, 'the unrelated process is still alive');
    assert.equal(stranger.exitCode, null);
    assert.equal(stranger.signalCode, null);
  });

  const backendPids: (number | undefined)[] = [];

  it('starts one backend for three `up` at once, none attaching to the stale state', async () => {
    writeStaleState();
    const ups = await Promise.all([
      runCli(['up', '--json'], env),
      runCli(['up', '--json'], env),
      runCli(['up', '--json'], env),
    ]);
    const reports = ups.map((u, i) => {
      assert.equal(u.code, 0, `up #${i} failed: ${u.stderr}`);
      return JSON.parse(u.stdout) as BackendState & { attached: boolean };
    });
    for (const r of reports) {
      started.push(r.supervisorPid);
    }
    const supervisors = new Set(reports.map((r) => r.supervisorPid));
    assert.equal(supervisors.size, 1, `one backend: ${[...supervisors].join(', ')}`);
    const [report] = reports;
    assert.ok(report);
    assert.notEqual(report.supervisorPid, stranger.pid, 'did not attach to the stale state');
    assert.equal(new Set(reports.map((r) => r.temporal.address)).size, 1);
    assert.equal(new Set(reports.map((r) => r.storage.endpoint)).size, 1);
    assert.equal(reports.filter((r) => !r.attached).length, 1, 'exactly one started it, the others attached');
    assert.equal(report.status, 'ready');

    const state = readState(stateDir);
    assert.ok(state);
    const pids = [state.supervisorPid, state.temporal.pid, state.storage.pid, ...state.workers.map((w) => w.pid)];
    backendPids.push(...pids);
    for (const pid of pids) {
      assert.ok(pid && state.processes?.[pid], `pid ${pid} is recorded with its identity`);
    }
  });

  it('ends the detached tools of a killed worker and removes its private cache and staging folders', async () => {
    const state = readState(stateDir);
    assert.ok(state);
    await killedWorkerLeavesNothing(state);
  });

  it('stops every process of the backend on `down`, and nothing else', async () => {
    const final = readState(stateDir);
    assert.ok(final);
    const pids = [...backendPids, ...final.workers.map((w) => w.pid)];
    const down = await runCli(['down'], env);
    assert.equal(down.code, 0, down.stderr);
    assert.match(down.stdout, /stopped/);
    for (const pid of pids) {
      assert.equal(isPidAlive(pid), false, `pid ${pid} still alive`);
    }
    assert.equal(isPidAlive(stranger.pid), true, 'the unrelated process is still alive');
  });
});
