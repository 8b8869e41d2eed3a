// Client side of the fuzzing workflows: live stats, the stored crashes of a run, and replaying a
// crash on this machine with the same engine code the worker uses. Shared by CLI and extension.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { toolEnv } from './environment';
import { UserError } from './errors';
import { cacheDir } from './paths';
import type { BackendConnection } from './services/connection';
import { copyTreePrivately } from './storage/copy';
import { ObjectStore } from './storage/objectStore';
import type { RunService } from './temporal/runs';
import { toolSearchPath, type ToolStatus } from './toolbox/tools';
import type { VerticalAvailability } from './toolbox/verticals';
import {
  CRASH_ID_PATTERN,
  statsQuery,
  type CrashRecord,
  type FuzzStatsView,
  type Harness,
} from '../toolbox/shared/fuzzing';
import { readCrashRecords } from './fuzz/crashRecords';
import { HARNESS_ENGINES, selectHarnesses, type CampaignDirs, type HarnessEngine } from './fuzz/harnesses';
import { killGroup } from './processGroup';

/** Whether each fuzzing engine can run here: its vertical's toolchain and its fuzzer tool. */
export function fuzzingAvailability(
  verticals: readonly VerticalAvailability[],
  tools: readonly ToolStatus[],
): { engine: string; workflow: string; vertical: string; available: boolean; reason?: string }[] {
  return Object.values(HARNESS_ENGINES).map((e) => {
    const v = verticals.find((x) => x.vertical === e.vertical);
    const tool = e.toolName ? tools.find((t) => t.vertical === e.vertical && t.tool === e.toolName) : undefined;
    const reasons = [
      ...(!v ? [`no ${e.vertical} vertical`] : !v.available ? [v.reason ?? `${e.vertical} vertical unavailable`] : []),
      ...(e.toolName && !tool?.path ? [tool?.reason ?? `${e.toolName} is not installed`] : []),
    ];
    return {
      engine: e.name,
      workflow: e.workflow,
      vertical: e.vertical,
      available: reasons.length === 0,
      ...(reasons.length > 0 ? { reason: reasons.join('; ') } : {}),
    };
  });
}

/** The `stats` query of a fuzzing run (works on finished runs too while a worker is up). */
export async function fuzzStats(runs: RunService, runId: string): Promise<FuzzStatsView> {
  try {
    return await runs.client.workflow.getHandle(runId).query(statsQuery);
  } catch (err) {
    const message = (err as Error).message;
    if (/not found|unknown queryType|QueryNotRegistered|did not register a handler/i.test(message)) {
      throw new UserError(`run ${runId} has no fuzzing statistics (${message})`, 'only *_fuzzing runs have them');
    }
    throw err;
  }
}

// Crash records are read by workers too (a campaign's report): they live in a module of their own.
export { crashRecordProblem, readCrashRecords } from './fuzz/crashRecords';

export function listCrashes(conn: BackendConnection, runId: string): Promise<CrashRecord[]> {
  return readCrashRecords(new ObjectStore(conn), runId);
}

export async function getCrash(conn: BackendConnection, runId: string, crashId: string): Promise<CrashRecord> {
  const crashes = await listCrashes(conn, runId);
  const found = crashes.filter((c) => c.id === crashId || c.id.startsWith(crashId));
  if (found.length !== 1) {
    throw new UserError(
      found.length === 0 ? `run ${runId} has no crash ${crashId}` : `crash id ${crashId} is ambiguous`,
      crashes.length > 0
        ? `crashes of this run: ${crashes.map((c) => c.id).join(', ')}`
        : 'list them with `fuzzforge crashes RUN_ID`',
    );
  }
  return found[0] as CrashRecord;
}

/**
 * Download each crash's input as DIR/crash-<id> (the name its reproduction command uses), the
 * minimised one as crash-<id>.min and the stack as crash-<id>.txt. Returns the files written.
 */
export async function saveCrashes(
  conn: BackendConnection,
  crashes: readonly CrashRecord[],
  dir: string,
): Promise<string[]> {
  const store = new ObjectStore(conn);
  await fs.promises.mkdir(dir, { recursive: true });
  const out: string[] = [];
  for (const c of crashes) {
    if (!CRASH_ID_PATTERN.test(c.id)) {
      throw new UserError(
        `refusing to save crash ${JSON.stringify(c.id).slice(0, 80)}: its id is not a crash signature`,
      );
    }
    const files: [string, string | undefined][] = [
      [`crash-${c.id}`, c.inputKey],
      [`crash-${c.id}.min`, c.minimizedKey],
      [`crash-${c.id}.txt`, c.stackKey],
    ];
    for (const [name, key] of files) {
      if (key) {
        const file = path.join(dir, name);
        await store.downloadFile(store.buckets.results, key, file);
        out.push(file);
      }
    }
  }
  return out;
}

export interface ReplayOptions {
  /** The workspace to build the harness from (default: the run's workspace root). */
  workspace: string;
  /** Use the minimised input when there is one (default true). */
  minimized?: boolean;
  onOutput?: (text: string) => void;
  onProgress?: (line: string) => void;
  /** Bound of the harness run on the input (default REPLAY_TIMEOUT_MS); its process group is killed then. */
  timeoutMs?: number;
  /** Bound of the harness build (default REPLAY_BUILD_TIMEOUT_MS). */
  buildTimeoutMs?: number;
  /** Cancels the replay (Ctrl-C, the editor's cancel): the build or run is killed, the copy removed. */
  signal?: AbortSignal;
}

/** Default bound of one harness run on a crash input. */
export const REPLAY_TIMEOUT_MS = 60_000;
/** Default bound of building the harness for a replay. */
export const REPLAY_BUILD_TIMEOUT_MS = 15 * 60_000;

export interface ReplayResult {
  reproduced: boolean;
  exitCode: number;
  output: string;
  input: string;
  /** The harness ran longer than the timeout and was killed (a hang; not counted as reproduced). */
  timedOut?: boolean;
}

/** Thrown when a replay is cancelled through its signal; the workspace copy is gone by then. */
export class ReplayCancelledError extends Error {
  constructor() {
    super('replay cancelled');
    this.name = 'ReplayCancelledError';
  }
}

const COPY_SKIP = new Set(['.git', 'node_modules', 'target', '.venv', 'venv', '__pycache__']);

/** A crash made ready to run: its harness built from a private copy of the workspace, its input on disk. */
export interface PreparedReplay {
  crash: CrashRecord;
  engine: HarnessEngine;
  harness: Harness;
  dirs: CampaignDirs;
  /** The crash input (absolute path). */
  input: string;
  /** Which input was downloaded. */
  inputKind: 'minimized' | 'input';
  /** Removes the copy, the build (except cargo's shared target folder) and the input. */
  dispose(): Promise<void>;
}

/**
 * Download a crash's input and build its harness from the local workspace, in a private copy so
 * the workspace is not touched; nothing runs the input yet. The caller disposes the result.
 */
export async function prepareReplay(
  conn: BackendConnection,
  crash: CrashRecord,
  options: Omit<ReplayOptions, 'onOutput' | 'timeoutMs'>,
): Promise<PreparedReplay> {
  const engine = HARNESS_ENGINES[crash.engine];
  if (!engine || !CRASH_ID_PATTERN.test(crash.id)) {
    throw new UserError(
      `refusing to replay crash ${JSON.stringify(crash.id).slice(0, 80)}: not a crash record a worker wrote`,
    );
  }
  const root = path.resolve(options.workspace);
  if (!fs.existsSync(root)) {
    throw new UserError(`workspace ${root} does not exist`, 'pass the folder that was fuzzed with --workspace PATH');
  }
  const harness = selectHarnesses(await engine.discover(root), crash.harness, crash.engine)[0];
  if (!harness) {
    throw new UserError(`harness ${crash.harness} is not in ${root}`);
  }
  const signal = options.signal;
  const stopIfCancelled = () => {
    if (signal?.aborted) {
      throw new ReplayCancelledError();
    }
  };
  stopIfCancelled();
  const tmp = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'fuzzforge-replay-'));
  const dispose = () => fs.promises.rm(tmp, { recursive: true, force: true });
  try {
    const dirs: CampaignDirs = {
      work: path.join(tmp, 'work'),
      build:
        crash.engine === 'cargo-fuzz'
          ? path.join(cacheDir(), 'fuzz', 'replay', 'cargo-target')
          : path.join(tmp, 'build'),
      corpus: path.join(tmp, 'corpus'),
      artifacts: path.join(tmp, 'artifacts'),
    };
    // A copy whose links stay relative and inside: fs.cp's own would write back into the workspace.
    const { droppedLinks } = await copyTreePrivately(root, dirs.work, COPY_SKIP);
    for (const l of droppedLinks) {
      options.onProgress?.(`left out ${l.path}: its link to ${l.target} leaves the workspace`);
    }
    for (const dir of [dirs.build, dirs.corpus, dirs.artifacts]) {
      await fs.promises.mkdir(dir, { recursive: true });
    }
    const store = new ObjectStore(conn);
    const useMin = options.minimized !== false && crash.minimizedKey;
    const input = path.join(tmp, `crash-${crash.id}`);
    await store.downloadFile(store.buckets.results, useMin ? (crash.minimizedKey as string) : crash.inputKey, input);
    options.onProgress?.(`building ${crash.engine} harness ${harness.name} from ${root}`);
    const params = { sanitizer: undefined, build_command: undefined } as unknown as Parameters<typeof engine.build>[2];
    stopIfCancelled();
    // The build's own process group is killed when the tick throws (cancel or build timeout).
    const buildDeadline = Date.now() + (options.buildTimeoutMs ?? REPLAY_BUILD_TIMEOUT_MS);
    let buildTimedOut = false;
    const tick = () => {
      stopIfCancelled();
      if (Date.now() > buildDeadline) {
        buildTimedOut = true;
        throw new UserError(`building harness ${harness.name} took longer than the replay's build bound`);
      }
    };
    try {
      await engine.build(harness, dirs, params, tick);
    } catch (err) {
      if (err instanceof ReplayCancelledError || buildTimedOut) {
        throw err;
      }
      throw new UserError((err as Error).message, 'fix the build, or replay in the workspace the run fuzzed');
    }
    stopIfCancelled();
    return { crash, engine, harness, dirs, input, inputKind: useMin ? 'minimized' : 'input', dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}

/**
 * Download a crash's input, build its harness from the local workspace (in a private copy, so the
 * workspace is not touched) and run it on the input. Reproduced = the harness failed.
 */
export async function replayCrash(
  conn: BackendConnection,
  crash: CrashRecord,
  options: ReplayOptions,
): Promise<ReplayResult> {
  const prepared = await prepareReplay(conn, crash, options);
  try {
    const { engine, harness, dirs, input, inputKind } = prepared;
    const signal = options.signal;
    const cmd = engine.replayCommand(harness, dirs, input);
    options.onProgress?.(`running ${path.basename(cmd.command)} ${cmd.args.map((a) => path.basename(a)).join(' ')}`);
    const run = await runReplayProcess(cmd, options.timeoutMs ?? REPLAY_TIMEOUT_MS, signal, options.onOutput);
    if (signal?.aborted) {
      throw new ReplayCancelledError();
    }
    return {
      reproduced: !run.timedOut && run.code !== 0,
      exitCode: run.code,
      output: run.output,
      input: inputKind,
      ...(run.timedOut ? { timedOut: true } : {}),
    };
  } finally {
    await prepared.dispose();
  }
}

/**
 * The environment of a replayed harness: it is workspace code, so the backend's credentials
 * (external mode reads them from this process's environment) do not reach it.
 */
export function replayEnv(extra: Record<string, string> = {}, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...toolEnv(env), ...extra, PATH: [...toolSearchPath(env), env.PATH ?? ''].join(path.delimiter) };
}

/**
 * Run the harness on the input in its own process group (it may start helpers), bounded in time
 * and output; on timeout or cancel the whole group is killed.
 */
function runReplayProcess(
  cmd: { command: string; args: string[]; cwd: string; env?: Record<string, string> },
  timeoutMs: number,
  signal: AbortSignal | undefined,
  onOutput: ((text: string) => void) | undefined,
): Promise<{ code: number; output: string; timedOut: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd.command, cmd.args, {
      cwd: cmd.cwd,
      env: replayEnv(cmd.env),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let text = '';
    const maxText = 4 * 1024 * 1024;
    const onData = (chunk: Buffer) => {
      const part = chunk.toString('utf8');
      if (text.length < maxText) {
        text += part.slice(0, maxText - text.length);
      }
      onOutput?.(part);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, timeoutMs);
    const onAbort = () => killGroup(child.pid);
    signal?.addEventListener('abort', onAbort, { once: true });
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      // Helpers the harness left behind (the group outlives its leader) go with it.
      killGroup(child.pid);
    };
    child.on('error', (err) => {
      done();
      reject(err);
    });
    child.on('close', (c, sig) => {
      done();
      resolve({ code: c ?? (sig ? 128 : 1), output: text, timedOut });
    });
  });
}
