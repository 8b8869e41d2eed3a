// A real embedded backend per test file: Temporal dev server, MinIO and workers on free loopback
// ports with private state, cache and worker folders, stopped (by pid) when the file ends. Files
// that only upload workspaces of their own and scan them may instead attach to one backend shared
// by a whole run (test/integration/shared-backend.ts, FUZZFORGE_TEST_SHARED_STATE).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import * as tar from 'tar';
import { sleep } from '../../backend/concurrency';
import { distEntry, projectRoot, toolboxDir } from '../../backend/paths';
import { findingRows, type FindingRow } from '../../backend/sarif/log';
import type { SarifLog } from '../../backend/sarif/types';
import type { BackendConnection } from '../../backend/services/connection';
import {
  defaultEmbeddedOptions,
  embeddedConnection,
  runningEmbedded,
  startEmbedded,
  stopEmbedded,
} from '../../backend/services/embedded';
import type { BackendState } from '../../backend/services/state';
import { RunService } from '../../backend/temporal/runs';
import { installTools } from '../../backend/toolbox/tools';

export interface TestBackend {
  root: string;
  stateDir: string;
  state: BackendState;
  conn: BackendConnection;
  runs: RunService;
  /** Environment for a CLI child process that talks to this backend. */
  env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

/** State folder of the backend a run shares among its `shareable` files (set by shared-backend.ts). */
export const SHARED_STATE_ENV = 'FUZZFORGE_TEST_SHARED_STATE';

export interface TestBackendOptions {
  /** A toolbox folder of the test's own (never shared: the shared backend serves the project's). */
  toolbox?: string;
  /** Verticals whose workers the test needs (default generic). */
  verticals?: string[];
  /**
   * The test only uploads workspaces of its own and scans them: it neither kills nor reconfigures
   * services or workers, nor asserts on caches, buckets or logs another file's runs also change.
   * Such a test attaches to the run's shared backend when there is one with its verticals.
   */
  shareable?: boolean;
}

export async function startTestBackend(options: TestBackendOptions = {}): Promise<TestBackend> {
  const verticals = options.verticals ?? ['generic'];
  if (options.shareable && options.toolbox === undefined && process.env[SHARED_STATE_ENV]) {
    const shared = await attachSharedBackend(process.env[SHARED_STATE_ENV], verticals);
    if (shared) {
      return shared;
    }
  }
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-it-'));
  const stateDir = path.join(root, 'state');
  // Inherited by the supervisor and its workers: this test's own worker cache.
  process.env.FUZZFORGE_WORKER_CACHE = path.join(root, 'worker-cache');
  process.env.FUZZFORGE_STATE_DIR = stateDir;
  // This test's own upload caches (stat caches of the workspaces it uploads).
  process.env.FUZZFORGE_UPLOAD_CACHE = path.join(root, 'upload-cache');
  const opts = defaultEmbeddedOptions(stateDir);
  opts.ports = { temporal: 0, temporalUi: 0, minio: 0, minioConsole: 0 };
  opts.toolboxDir = options.toolbox ?? toolboxDir();
  // Only the workers a test asks for: every worker bundles the toolbox at start (seconds each).
  opts.verticals = verticals;
  const { state } = await startEmbedded(opts);
  // The supervisor is detached: make sure it goes when this process goes, however it ends.
  const killOnExit = () => {
    try {
      process.kill(state.supervisorPid, 'SIGTERM');
    } catch {
      // Already stopped.
    }
  };
  process.once('exit', killOnExit);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => process.exit(130));
  }
  return connectTestBackend(
    root,
    stateDir,
    state,
    opts.toolboxDir,
    state.workers.map((w) => w.vertical),
    async () => {
      process.off('exit', killOnExit);
      await stopEmbedded(stateDir);
    },
  );
}

/**
 * The shared backend of `stateDir` as this file's backend, or undefined (with the reason on
 * stderr) when it is not running or lacks one of `verticals`. Scratch folders and the upload cache
 * stay the file's own; `stop()` closes this file's connection and removes its folders only.
 */
async function attachSharedBackend(stateDir: string, verticals: readonly string[]): Promise<TestBackend | undefined> {
  const state = runningEmbedded(stateDir);
  const missing = verticals.filter((v) => !state?.workers.some((w) => w.vertical === v));
  if (state?.status !== 'ready' || missing.length > 0) {
    const why = state?.status !== 'ready' ? 'is not running' : `has no worker for ${missing.join(', ')}`;
    console.error(`the shared test backend in ${stateDir} ${why}: this file starts its own`);
    return undefined;
  }
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-it-'));
  process.env.FUZZFORGE_STATE_DIR = stateDir;
  process.env.FUZZFORGE_UPLOAD_CACHE = path.join(root, 'upload-cache');
  // Nothing of the backend is this file's to stop.
  return connectTestBackend(root, stateDir, state, toolboxDir(), verticals, () => Promise.resolve());
}

/**
 * A running backend as a test's: a connection of its own, an environment for CLI children, and
 * `stop()` that closes the connection, runs `release` and removes `root`. Waits for the
 * `verticals`' workers to poll.
 */
async function connectTestBackend(
  root: string,
  stateDir: string,
  state: BackendState,
  toolbox: string,
  verticals: readonly string[],
  release: () => Promise<void>,
): Promise<TestBackend> {
  const conn = embeddedConnection(state);
  const runs = await RunService.connect(conn);
  const backend: TestBackend = {
    root,
    stateDir,
    state,
    conn,
    runs,
    env: { ...process.env, FUZZFORGE_STATE_DIR: stateDir, FUZZFORGE_TOOLBOX: toolbox },
    async stop() {
      await runs.close();
      await release();
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
  for (const vertical of verticals) {
    await waitForPollers(backend, vertical);
  }
  return backend;
}

/** Wait until a worker polls the vertical's queue (it bundles the toolbox first). */
export async function waitForPollers(backend: TestBackend, vertical: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await backend.runs.pollers(vertical)) > 0) {
      return;
    }
    await sleep(250);
  }
  throw new Error(`no ${vertical} worker polled within ${timeoutMs} ms; see ${backend.state.logsDir}`);
}

/**
 * Environment for CLI processes that run their own embedded backend (`up`, `down`) with private
 * state and worker folders under `root` and free ports; workers of `verticals` only.
 */
export function cliBackendEnv(root: string, stateDir: string, verticals = 'generic'): NodeJS.ProcessEnv {
  return {
    ...process.env,
    FUZZFORGE_STATE_DIR: stateDir,
    FUZZFORGE_WORKER_CACHE: path.join(root, 'worker-cache'),
    FUZZFORGE_TEMPORAL_PORT: '0',
    FUZZFORGE_TEMPORAL_UI_PORT: '0',
    FUZZFORGE_MINIO_PORT: '0',
    FUZZFORGE_MINIO_CONSOLE_PORT: '0',
    FUZZFORGE_VERTICALS: verticals,
  };
}

/** Install the python vertical's tools when missing (instant once `fuzzforge setup --tools` ran); fails naming the command. */
export async function requirePythonTools(): Promise<void> {
  const missing = await installTools(['python'], () => undefined);
  if (missing.length > 0) {
    throw new Error(
      `bandit and semgrep must be installed (node dist/cli.js setup --tools): ${missing.map((m) => m.reason).join('; ')}`,
    );
  }
}

/** The FUZZFORGE_WORKER_TAG of a running worker (its tools inherit it), from /proc. */
export function workerTagOf(pid: number): string | undefined {
  return fs
    .readFileSync(`/proc/${pid}/environ`, 'latin1')
    .split('\0')
    .find((v) => v.startsWith('FUZZFORGE_WORKER_TAG='))
    ?.slice('FUZZFORGE_WORKER_TAG='.length);
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run the built CLI as a user would; `onSpawn` sees the child while it runs (to watch its output). */
export function runCli(
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd = process.cwd(),
  onSpawn?: (child: ChildProcess) => void,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [distEntry('cli'), ...args], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    onSpawn?.(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * Settings a test file changes in this process's environment (inherited by the backends it starts
 * and the CLIs it runs): `set` remembers the value it replaces, `restore` puts every one back.
 */
export function testEnv(): { set: (name: string, value: string | undefined) => void; restore: () => void } {
  const saved = new Map<string, string | undefined>();
  const put = (name: string, value: string | undefined) => {
    if (value === undefined) {
      delete process.env[name];
    } else {
      process.env[name] = value;
    }
  };
  return {
    set: (name, value) => {
      if (!saved.has(name)) {
        saved.set(name, process.env[name]);
      }
      put(name, value);
    },
    restore: () => {
      for (const [name, value] of saved) {
        put(name, value);
      }
      saved.clear();
    },
  };
}

export const FIXTURES = path.join(__dirname, '..', 'fixtures');

/**
 * A copy of the project's toolbox in `root`/toolbox that a test may edit, beside links to what its
 * modules import by relative path (backend/, package.json); returns the toolbox folder.
 */
export function copyToolbox(root: string): string {
  const toolbox = path.join(root, 'toolbox');
  fs.cpSync(toolboxDir(), toolbox, { recursive: true });
  for (const sibling of ['backend', 'package.json']) {
    fs.symlinkSync(path.join(projectRoot(), sibling), path.join(root, sibling));
  }
  return toolbox;
}

/** Copy a fixture to a scratch folder the test may edit. */
export function copyFixture(name: string, dest: string): string {
  fs.cpSync(path.join(FIXTURES, name), dest, { recursive: true });
  return dest;
}

/** A .tar.gz holding `ok.py` and an entry `../escape.py` that would land outside the target. */
export async function makeEscapingArchive(root: string): Promise<string> {
  const base = path.join(root, 'evil', 'inner');
  fs.mkdirSync(base, { recursive: true });
  fs.writeFileSync(path.join(base, 'ok.py'), 'eval(input())\n');
  fs.writeFileSync(path.join(root, 'evil', 'escape.py'), 'x = 1\n');
  const archive = path.join(root, 'evil.tar.gz');
  await tar.c({ gzip: true, file: archive, cwd: base, preservePaths: true }, ['ok.py', '../escape.py']);
  return archive;
}

/**
 * sarif-multitool's verdict on a log (an object, or a file already written): the problems it
 * reports at the given levels (default errors only; pass ['error', 'warning'] to be stricter).
 */
export async function sarifValidationProblems(
  log: SarifLog | string,
  scratch: string,
  levels: readonly string[] = ['error'],
): Promise<string[]> {
  let file = typeof log === 'string' ? log : '';
  if (typeof log !== 'string') {
    file = path.join(scratch, `validate-${process.pid}-${Date.now()}.sarif`);
    fs.writeFileSync(file, JSON.stringify(log));
  }
  const out = `${file}.validation.sarif`;
  const bin = path.join(projectRoot(), 'node_modules', '.bin', 'sarif-multitool');
  try {
    await promisify(execFile)(bin, ['validate', file, '--output', out], { maxBuffer: 10 * 1024 * 1024 });
  } catch (err) {
    // It exits non-zero when it finds errors; the report says which.
    if (!fs.existsSync(out)) {
      throw err;
    }
  }
  const report = JSON.parse(fs.readFileSync(out, 'utf8')) as SarifLog;
  return report.runs.flatMap((r) =>
    (r.results ?? [])
      .filter((x) => levels.includes(x.level ?? 'warning'))
      .map((x) => `${x.ruleId}: ${x.message.text ?? JSON.stringify(x.message)}`),
  );
}

/** One expected finding of a fixture (`test/fixtures/<name>.expected.json`). */
export interface ExpectedRow {
  tool: string;
  ruleId: string;
  file: string;
  line: number;
}

export function readExpected(name: string): ExpectedRow[] {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, `${name}.expected.json`), 'utf8')) as ExpectedRow[];
}

/** The order of the expected files: file, line, tool, rule. */
export function byPosition(a: ExpectedRow, b: ExpectedRow): number {
  return (
    a.file.localeCompare(b.file) || a.line - b.line || a.tool.localeCompare(b.tool) || a.ruleId.localeCompare(b.ruleId)
  );
}

/** A log's (or finding rows') results as comparable rows, in the expected files' order. */
export function comparableRows(input: SarifLog | readonly FindingRow[]): ExpectedRow[] {
  const rows = Array.isArray(input) ? (input as readonly FindingRow[]) : findingRows(input as SarifLog);
  return rows
    .map((r) => ({ tool: r.tool, ruleId: r.ruleId, file: decodeURI(r.file ?? ''), line: r.line ?? 0 }))
    .sort(byPosition);
}
