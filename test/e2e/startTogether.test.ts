// Two VS Code windows and the CLI start the embedded backend at the same moment, all with one
// private FUZZFORGE_STATE_DIR: "FuzzForge: Start Backend" in each window (two code-server instances,
// two extension hosts) and `fuzzforge up` together. One backend comes up (one supervisor, one
// Temporal, one MinIO, by the state file and the process table), exactly one of the three started
// it, and all three attach: both status bars say ready and `fuzzforge status` succeeds. Needs a
// build (node esbuild.js --quiet) and test/e2e/setup.sh.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isPidAlive, readState, type BackendState } from '../../backend/services/state';
import { cliBackendEnv, copyFixture, runCli } from '../integration/harness';
import { sleep } from '../../backend/concurrency';
import { missingSetup, startVSCode, type VSCode } from './vscode';

const projectRoot = path.resolve(__dirname, '..', '..');
const outputDir = path.join(projectRoot, 'test-output', 'e2e');
const skip = missingSetup();
/** What the extension logs once Start Backend is done: whether this window started it or attached. */
const STARTED_LINE = /\[info\] backend (started|already running, attached): Temporal (\S+), .*\(supervisor pid (\d+)\)/;

/** The window's FuzzForge output channel log (VS Code writes it under the profile's logs folder). */
function extensionLog(vsc: VSCode): string {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        walk(p);
      } else if (e.name === 'FuzzForge.log') {
        found.push(p);
      }
    }
  };
  if (fs.existsSync(vsc.dirs.logs)) {
    walk(vsc.dirs.logs);
  }
  return found.map((f) => fs.readFileSync(f, 'utf8')).join('\n');
}

/** Waits until the window's log says Start Backend is done: started or attached, and to which supervisor. */
async function startOutcome(vsc: VSCode, timeoutMs: number): Promise<{ outcome: string; supervisorPid: number }> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const m = STARTED_LINE.exec(extensionLog(vsc));
    if (m) {
      return { outcome: m[1] === 'started' ? 'started' : 'attached', supervisorPid: Number(m[3]) };
    }
    if (Date.now() > end) {
      const notes = await vsc.notifications();
      throw new Error(
        `the window did not log that the backend started or attached within ${timeoutMs} ms; notifications: ${JSON.stringify(notes)}; log:\n${extensionLog(vsc)}`,
      );
    }
    await sleep(500);
  }
}

/** Our processes (by /proc) whose command line names a path inside `dir`, with their argv. */
function processesUnder(dir: string): { pid: number; argv: string[] }[] {
  const out: { pid: number; argv: string[] }[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) {
      continue;
    }
    let argv: string[];
    try {
      argv = fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').filter(Boolean);
    } catch {
      continue; // Gone, or not ours.
    }
    if (argv.some((a) => a === dir || a.startsWith(`${dir}${path.sep}`))) {
      out.push({ pid: Number(name), argv });
    }
  }
  return out;
}

/** `pid` and its ancestors, nearest first, as /proc has them. */
function selfAndAncestors(pid: number): number[] {
  const chain = [pid];
  for (let current = pid; current > 1 && chain.length < 64;) {
    try {
      const stat = fs.readFileSync(`/proc/${current}/stat`, 'utf8');
      current = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    } catch {
      break;
    }
    chain.push(current);
  }
  return chain;
}

async function statusBarText(vsc: VSCode, pattern: RegExp, timeoutMs: number): Promise<string> {
  const item = vsc.page.locator('.statusbar-item:has-text("FuzzForge:")').first();
  await item.waitFor({ state: 'visible', timeout: timeoutMs });
  const end = Date.now() + timeoutMs;
  let text = '';
  while (Date.now() < end) {
    text = (await item.innerText()).trim();
    if (pattern.test(text)) {
      return text;
    }
    await sleep(500);
  }
  throw new Error(`the status bar says "${text}", not ${String(pattern)}`);
}

describe('e2e: two VS Code windows and the CLI start the backend at once', () => {
  let root: string | undefined;
  let stateDir = '';
  let env: NodeJS.ProcessEnv = {};
  const windows: VSCode[] = [];

  before(async () => {
    if (skip) {
      return;
    }
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-e2e-together-'));
    stateDir = path.join(root, 'state');
    // Free ports, the generic vertical only, private state and worker cache: the CLI's and both
    // extension hosts' environment alike.
    env = cliBackendEnv(root, stateDir);
    for (const name of ['one', 'two']) {
      const workspace = copyFixture('vulnerable-app', path.join(root, name));
      windows.push(
        await startVSCode({
          workspace,
          outputDir,
          name: `together-${name}`,
          development: { extensionPath: projectRoot },
          env: {
            FUZZFORGE_STATE_DIR: env.FUZZFORGE_STATE_DIR,
            FUZZFORGE_WORKER_CACHE: env.FUZZFORGE_WORKER_CACHE,
            FUZZFORGE_TEMPORAL_PORT: '0',
            FUZZFORGE_TEMPORAL_UI_PORT: '0',
            FUZZFORGE_MINIO_PORT: '0',
            FUZZFORGE_MINIO_CONSOLE_PORT: '0',
            FUZZFORGE_VERTICALS: env.FUZZFORGE_VERTICALS,
          },
          settings: { 'fuzzforge.backend.mode': 'embedded' },
        }),
      );
    }
  });

  after(async () => {
    if (root) {
      // Whatever started, by the state it recorded; then anything of this folder still running.
      await runCli(['down'], env).catch(() => undefined);
      for (const p of processesUnder(stateDir)) {
        try {
          process.kill(p.pid, 'SIGKILL');
        } catch {
          // Gone.
        }
      }
    }
    for (const w of windows) {
      await w.stop();
    }
    if (root) {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('starts one backend, and both windows and the CLI attach to it', { skip, timeout: 600_000 }, async () => {
    const [one, two] = windows;
    assert.ok(one && two && root);
    for (const w of [one, two]) {
      await statusBarText(w, /FuzzForge: stopped/, 120_000);
    }
    assert.equal(readState(stateDir), undefined, 'no backend before the test');

    // All three at once: the palette commands run while `up` starts.
    const up = runCli(['up', '--json'], env);
    await Promise.all([one.runCommand('FuzzForge: Start Backend'), two.runCommand('FuzzForge: Start Backend')]);
    const [cli, ...windowsSaid] = await Promise.all([up, ...[one, two].map((w) => startOutcome(w, 300_000))]);
    await Promise.all([one, two].map((w, i) => w.screenshot(`together-${i + 1}-started`)));
    assert.ok(cli);
    assert.equal(cli.code, 0, `up failed: ${cli.stderr}`);
    const report = JSON.parse(cli.stdout) as BackendState & { attached: boolean };
    const outcomes = [report.attached ? 'attached' : 'started', ...windowsSaid.map((w) => w.outcome)];
    console.log(`  cli: ${outcomes[0]}, window one: ${outcomes[1]}, window two: ${outcomes[2]}`);
    assert.equal(
      outcomes.filter((o) => o === 'started').length,
      1,
      `exactly one started the backend: ${outcomes.join(', ')}`,
    );
    assert.deepEqual(
      windowsSaid.map((w) => w.supervisorPid),
      [report.supervisorPid, report.supervisorPid],
      'both windows attached to the backend the CLI reports',
    );

    // One backend, by the state file ...
    const state = readState(stateDir);
    assert.ok(state, 'a state file');
    assert.equal(state.status, 'ready');
    assert.equal(state.supervisorPid, report.supervisorPid, 'the CLI attached to the backend of the state file');
    assert.equal(state.temporal.address, report.temporal.address);
    for (const pid of [state.supervisorPid, state.temporal.pid, state.storage.pid]) {
      assert.ok(pid && isPidAlive(pid) && state.processes?.[pid], `pid ${pid} is alive and recorded with its identity`);
    }
    // ... and by the process table: one supervisor, one Temporal, one MinIO for this state folder.
    const procs = processesUnder(stateDir);
    const supervisors = procs.filter((p) => p.argv.some((a) => path.basename(a) === 'supervisor.js'));
    const temporals = procs.filter((p) => p.argv.includes('start-dev'));
    const minios = procs.filter((p) => path.basename(p.argv[0] ?? '').startsWith('minio'));
    const listing = procs.map((p) => `${p.pid} ${p.argv.slice(0, 3).join(' ')}`).join('\n');
    assert.deepEqual(
      supervisors.map((p) => p.pid),
      [state.supervisorPid],
      `supervisors:\n${listing}`,
    );
    // The state records the process the supervisor started: the server itself, or, where Temporal
    // runs in its private namespace, the `unshare` above it.
    assert.equal(temporals.length, 1, `temporal servers:\n${listing}`);
    assert.ok(
      selfAndAncestors(temporals[0]!.pid).includes(state.temporal.pid!),
      `the temporal server ${temporals[0]!.pid} is not under the state's ${state.temporal.pid}:\n${listing}`,
    );
    assert.deepEqual(
      minios.map((p) => p.pid),
      [state.storage.pid],
      `MinIO servers:\n${listing}`,
    );

    // All three attached: both status bars say ready, and the CLI's status succeeds.
    for (const w of [one, two]) {
      await statusBarText(w, /FuzzForge: ready/, 60_000);
    }
    const status = await runCli(['status', '--json'], env);
    assert.equal(status.code, 0, status.stderr);
    const seen = JSON.parse(status.stdout) as {
      running: boolean;
      state: BackendState;
      health: { temporal: boolean; storage: boolean };
    };
    assert.equal(seen.running, true);
    assert.equal(seen.state.supervisorPid, state.supervisorPid);
    assert.deepEqual([seen.health.temporal, seen.health.storage], [true, true]);
    // Each window talks to it: Show Backend Status finds Temporal and MinIO healthy (its notification
    // text goes to the log too, which outlasts the toast).
    const healthy = `Temporal healthy (${state.temporal.address}), MinIO healthy (${state.storage.endpoint})`;
    for (const [i, w] of [one, two].entries()) {
      await w.runCommand('FuzzForge: Show Backend Status');
      const end = Date.now() + 60_000;
      while (!extensionLog(w).includes(healthy)) {
        assert.ok(Date.now() < end, `window ${i + 1} did not report "${healthy}":\n${extensionLog(w)}`);
        await sleep(500);
      }
      await w.screenshot(`together-${i + 1}-status`);
    }
  });
});
