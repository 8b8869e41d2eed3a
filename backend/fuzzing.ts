// Client side of the fuzzing workflows: live stats, the stored crashes of a run, and replaying a
// crash on this machine with the same engine code the worker uses. Shared by CLI and extension.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { UserError } from './errors';
import { cacheDir } from './paths';
import type { BackendConnection } from './services/connection';
import { ObjectStore } from './storage/objectStore';
import type { RunService } from './temporal/runs';
import { toolSearchPath, type ToolStatus } from './toolbox/tools';
import type { VerticalAvailability } from './toolbox/verticals';
import { statsQuery, type CrashRecord, type FuzzStatsView } from '../toolbox/shared/fuzzing';
import { ENGINES, selectHarnesses, type CampaignDirs } from '../toolbox/modules/fuzzing/engines';

/** Whether each fuzzing engine can run here: its vertical's toolchain and its fuzzer tool. */
export function fuzzingAvailability(
  verticals: readonly VerticalAvailability[],
  tools: readonly ToolStatus[],
): { engine: string; workflow: string; vertical: string; available: boolean; reason?: string }[] {
  return Object.values(ENGINES).map((e) => {
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

/** Every unique crash a run stored, oldest first (a record cut short by a lost worker is skipped). */
export async function readCrashRecords(store: ObjectStore, runId: string): Promise<CrashRecord[]> {
  const bucket = store.buckets.results;
  const out: CrashRecord[] = [];
  for (const obj of await store.list(bucket, `runs/${runId}/crashes/`)) {
    if (obj.key.endsWith('/crash.json')) {
      try {
        out.push(await store.getJson<CrashRecord>(bucket, obj.key));
      } catch {
        // Its input is still stored beside it.
      }
    }
  }
  return out.sort((a, b) => a.firstSeen.localeCompare(b.firstSeen));
}

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
}

export interface ReplayResult {
  reproduced: boolean;
  exitCode: number;
  output: string;
  input: string;
}

const COPY_SKIP = new Set(['.git', 'node_modules', 'target', '.venv', 'venv', '__pycache__']);

/**
 * Download a crash's input, build its harness from the local workspace (in a private copy, so the
 * workspace is not touched) and run it on the input. Reproduced = the harness failed.
 */
export async function replayCrash(
  conn: BackendConnection,
  crash: CrashRecord,
  options: ReplayOptions,
): Promise<ReplayResult> {
  const engine = ENGINES[crash.engine];
  const root = path.resolve(options.workspace);
  if (!fs.existsSync(root)) {
    throw new UserError(`workspace ${root} does not exist`, 'pass the folder that was fuzzed with --workspace PATH');
  }
  const harness = selectHarnesses(await engine.discover(root), crash.harness, crash.engine)[0];
  if (!harness) {
    throw new UserError(`harness ${crash.harness} is not in ${root}`);
  }
  const tmp = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'fuzzforge-replay-'));
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
    await fs.promises.cp(root, dirs.work, {
      recursive: true,
      filter: (src) => !COPY_SKIP.has(path.basename(src)) || src === root,
    });
    for (const dir of [dirs.build, dirs.corpus, dirs.artifacts]) {
      await fs.promises.mkdir(dir, { recursive: true });
    }
    const store = new ObjectStore(conn);
    const useMin = options.minimized !== false && crash.minimizedKey;
    const input = path.join(tmp, `crash-${crash.id}`);
    await store.downloadFile(store.buckets.results, useMin ? (crash.minimizedKey as string) : crash.inputKey, input);
    options.onProgress?.(`building ${crash.engine} harness ${harness.name} from ${root}`);
    const params = { sanitizer: undefined, build_command: undefined } as unknown as Parameters<typeof engine.build>[2];
    try {
      await engine.build(harness, dirs, params);
    } catch (err) {
      throw new UserError((err as Error).message, 'fix the build, or replay in the workspace the run fuzzed');
    }
    const cmd = engine.replayCommand(harness, dirs, input);
    options.onProgress?.(`running ${path.basename(cmd.command)} ${cmd.args.map((a) => path.basename(a)).join(' ')}`);
    const { code, output } = await new Promise<{ code: number; output: string }>((resolve, reject) => {
      const child = spawn(cmd.command, cmd.args, {
        cwd: cmd.cwd,
        env: { ...process.env, ...cmd.env, PATH: [...toolSearchPath(), process.env.PATH ?? ''].join(path.delimiter) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let text = '';
      const onData = (chunk: Buffer) => {
        text += chunk.toString('utf8');
        options.onOutput?.(chunk.toString('utf8'));
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.on('error', reject);
      child.on('close', (c, signal) => resolve({ code: c ?? (signal ? 128 : 1), output: text }));
    });
    return { reproduced: code !== 0, exitCode: code, output, input: useMin ? 'minimized' : 'input' };
  } finally {
    await fs.promises.rm(tmp, { recursive: true, force: true });
  }
}
