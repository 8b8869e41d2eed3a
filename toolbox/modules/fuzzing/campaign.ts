// The fuzzing activities: find harnesses, run one segment of a harness's campaign (build, restore
// the stored corpus, fuzz with live stats, keep every crash, save the corpus), and report the
// run's unique crashes as SARIF. Shared by the four fuzzing workflows.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { activityInfo, Context, heartbeat } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { timerDelayMs } from '../../../backend/concurrency';
import { toolEnv } from '../../../backend/environment';
import { readCrashRecords } from '../../../backend/fuzz/crashRecords';
import { crashKeys } from '../../../backend/storage/runKeys';
import { copyTreePrivately } from '../../../backend/storage/copy';
import { cacheDir } from '../../../backend/paths';
import { toolPath, toolSearchPath } from '../../../backend/toolbox/tools';
import type { TargetRef } from '../../shared/definitions';
import {
  statsSignal,
  type CrashRecord,
  type FuzzEngineName,
  type FuzzParams,
  type FuzzSegmentResult,
  type FuzzStatsSample,
  type Harness,
} from '../../shared/fuzzing';
import { killGroup, spawnWatched } from '../../../backend/processGroup';
import { objectStore, runKey, temporalClient, withTarget } from '../runtime';
import {
  BuildError,
  ENGINES,
  pythonFor,
  runQuick,
  selectHarnesses,
  type CampaignDirs,
  type FuzzEngine,
} from './engines';
import { crashSignature, parseCrash, type CrashReport, type FuzzStats } from './parse';
import { buildCrashSarif } from './report';

/** Seconds between live stats samples (heartbeat + signal to the workflow). */
const TICK_MS = 2000;
/** Seconds between uploads of new corpus entries. */
const CORPUS_SYNC_MS = 10_000;
/** Kept of a fuzzer's output, for crash reports and error messages. */
const OUTPUT_TAIL_BYTES = 512 * 1024;

export interface DiscoverInput {
  engine: FuzzEngineName;
  target: TargetRef;
  harness?: string;
}

async function discoverHarnesses(input: DiscoverInput): Promise<Harness[]> {
  const engine = ENGINES[input.engine];
  return withTarget(input.target, async (dir) => {
    const found = await engine.discover(dir);
    try {
      return selectHarnesses(found, input.harness, input.engine);
    } catch (err) {
      throw ApplicationFailure.nonRetryable((err as Error).message, 'NoHarness');
    }
  });
}

export interface SegmentInput {
  runId: string;
  workspaceId: string;
  engine: FuzzEngineName;
  target: TargetRef;
  harness: Harness;
  params: FuzzParams;
  /** Budget of this segment. */
  seconds: number;
  /** Executions left for this harness (0 = no limit). */
  runs: number;
  /** What earlier segments of this harness did (the stats continue from there). */
  before: { execs: number; elapsedSec: number; crashes: number; timeouts: number; ooms: number };
  /** Crash ids this run already stored (new ones are minimised; the count is of unique ones). */
  knownCrashes: string[];
  /** With `jobs` > 1: which of the harness's parallel processes this is, and how many there are. */
  shard?: number;
  shards?: number;
}

/** What a segment attempt heartbeats, so a retry after a lost worker continues its clock. */
interface SegmentProgress {
  sample: FuzzStatsSample;
  crashIds: string[];
}

function safeName(name: string): string {
  return name.replace(/[^\w.-]+/g, '_');
}

/** Storage prefix of a harness's corpus: one per workspace, engine and harness. */
export function corpusPrefix(workspaceId: string, engine: FuzzEngineName, harness: string): string {
  return `corpus/${safeName(workspaceId)}/${engine}/${safeName(harness)}/`;
}

async function fuzzSegment(input: SegmentInput): Promise<FuzzSegmentResult> {
  const engine = ENGINES[input.engine];
  if (!toolPath(engine.tool)) {
    throw ApplicationFailure.nonRetryable(
      `${engine.tool} is not installed on the ${engine.vertical} worker (run: fuzzforge setup --tools)`,
      'ToolMissing',
    );
  }
  const info = activityInfo();
  const previous = (info.heartbeatDetails as SegmentProgress | undefined) ?? undefined;
  return withTarget(input.target, async (leaseDir) => {
    const runDir = path.join(cacheDir(), 'fuzz', 'runs', safeName(input.runId));
    const harnessDir = safeName(input.harness.name) + (input.shard ? `.${input.shard}` : '');
    // A folder per attempt: an attempt Temporal gave up (its worker was cut off the network past
    // the heartbeat timeout) can still be ending on this host when the retry starts here, and its
    // clean-up must not remove the retry's folder. Each attempt starts from a clean copy: the
    // earlier attempts' folders go (a lost worker may have left anything behind).
    const base = path.join(runDir, `${harnessDir}.attempt-${info.attempt}`);
    for (const stale of [
      harnessDir,
      ...Array.from({ length: info.attempt }, (_, i) => `${harnessDir}.attempt-${i + 1}`),
    ]) {
      await fs.promises.rm(path.join(runDir, stale), { recursive: true, force: true });
    }
    const dirs: CampaignDirs = {
      work: path.join(base, 'work'),
      build: buildDir(engine, input),
      corpus: path.join(base, 'corpus'),
      artifacts: path.join(base, 'artifacts'),
    };
    await fs.promises.mkdir(dirs.build, { recursive: true });
    await fs.promises.mkdir(dirs.artifacts, { recursive: true });
    // Links stay relative: fs.cp would point them back into the shared target cache.
    await copyTreePrivately(leaseDir, dirs.work);
    const campaign = new Campaign(engine, input, dirs, previous);
    try {
      return await campaign.run();
    } finally {
      await fs.promises.rm(base, { recursive: true, force: true }).catch(() => undefined);
    }
  });
}

function buildDir(engine: FuzzEngine, input: SegmentInput): string {
  const root = path.join(cacheDir(), 'fuzz', 'builds', safeName(input.workspaceId), engine.name);
  if (engine.name === 'cargo-fuzz') {
    // One cargo target folder per workspace: incremental builds across its campaigns. (Shared by
    // all workspaces, two harnesses of the same name would replace each other's binary.)
    return path.join(root, 'cargo-target');
  }
  const key = crypto
    .createHash('sha256')
    .update(`${input.target.digest}\0${input.params.sanitizer ?? ''}\0${input.params.build_command ?? ''}`)
    .digest('hex')
    .slice(0, 16);
  pruneOldBuilds(root, key);
  return path.join(root, key);
}

/** Builds of earlier workspace contents are dropped after a day (each edit makes a new one). */
function pruneOldBuilds(root: string, keep: string): void {
  let names: string[];
  try {
    names = fs.readdirSync(root);
  } catch {
    return;
  }
  for (const name of names) {
    const dir = path.join(root, name);
    try {
      if (name !== keep && Date.now() - fs.statSync(dir).mtimeMs > 24 * 3600 * 1000) {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    } catch {
      // Another worker is pruning it.
    }
  }
}

class Campaign {
  /** When fuzzing started in this attempt (building and restoring do not count). */
  private started = Date.now();
  private sample: FuzzStatsSample;
  private readonly crashIds: Set<string>;
  private readonly uploaded = new Set<string>();
  private lastCoverageAt = Date.now();
  private lastCorpusSync = Date.now();
  /** execs of fuzzer processes that already ended in this attempt. */
  private doneExecs = 0;
  private procExecs = 0;
  /** When the running fuzzer last reported its executions, and its rate then. */
  private reportedAt = 0;
  private reportedRate = 0;
  private signalling = false;
  private currentPid: number | undefined;
  private fuzzing = false;
  /** How the harness was built, as a shell command for people (libFuzzer). */
  private buildRecipe: string | undefined;
  private cancelled: Error | undefined;

  constructor(
    private readonly engine: FuzzEngine,
    private readonly input: SegmentInput,
    private readonly dirs: CampaignDirs,
    previous: SegmentProgress | undefined,
  ) {
    const b = input.before;
    this.crashIds = new Set([...input.knownCrashes, ...(previous?.crashIds ?? [])]);
    this.sample = previous?.sample ?? {
      at: Date.now(),
      harness: input.harness.name,
      ...(input.shards && input.shards > 1 ? { shard: input.shard ?? 0 } : {}),
      execs: b.execs,
      execsPerSec: 0,
      corpusSize: 0,
      uniqueCrashes: this.crashIds.size,
      crashes: b.crashes,
      timeouts: b.timeouts,
      ooms: b.ooms,
      elapsedSec: b.elapsedSec,
      secSinceNewCoverage: 0,
    };
    this.baseExecs = this.sample.execs;
    this.baseElapsed = this.sample.elapsedSec;
  }

  private readonly baseExecs: number;
  private readonly baseElapsed: number;

  /** Seconds this segment has fuzzed so far, including an earlier attempt's. */
  private segmentElapsed(): number {
    return this.baseElapsed - this.input.before.elapsedSec + (Date.now() - this.started) / 1000;
  }

  async run(): Promise<FuzzSegmentResult> {
    const { engine, input, dirs } = this;
    const h = input.harness;
    this.beat('building');
    try {
      // Parallel processes of one harness on this worker share its build folder: one builds.
      this.buildRecipe =
        (await oneAtATime(dirs.build, () => engine.build(h, dirs, input.params, () => this.beat('building')))) ||
        undefined;
    } catch (err) {
      if (err instanceof BuildError) {
        throw ApplicationFailure.nonRetryable(err.message, 'BuildFailed');
      }
      throw err;
    }
    if (engine.name === 'atheris' && input.params.jobs > 1) {
      // libFuzzer's fork mode re-executes argv[0], which for atheris is a .py file, not a program.
      throw ApplicationFailure.nonRetryable(
        'jobs > 1 is not supported by atheris_fuzzing (libFuzzer fork mode cannot re-run a Python script); use jobs: 1, or start one run per harness',
        'BadParameter',
      );
    }
    const corpusDir = engine.corpusDir(h, dirs);
    await fs.promises.mkdir(corpusDir, { recursive: true });
    this.started = Date.now();
    this.lastCoverageAt = Date.now();
    this.fuzzing = true;
    const ticker = setInterval(() => this.onTick(), TICK_MS);
    try {
      return await this.fuzz(corpusDir);
    } catch (err) {
      if (this.cancelled) {
        // Keep what was found before acknowledging the cancel.
        await this.syncCorpus(corpusDir, true).catch(() => undefined);
        throw this.cancelled;
      }
      throw err;
    } finally {
      clearInterval(ticker);
    }
  }

  private async fuzz(corpusDir: string): Promise<FuzzSegmentResult> {
    const { engine, input, dirs } = this;
    const h = input.harness;
    if (input.params.persist_corpus) {
      await this.restoreCorpus(corpusDir);
    }
    const limits = {
      params: input.params,
      ...(input.params.dictionary ? { dictionary: this.inWork(input.params.dictionary, 'dictionary') } : {}),
      ...(input.params.seed_corpus ? { seeds: this.inWork(input.params.seed_corpus, 'seed_corpus') } : {}),
    };
    for (;;) {
      if (this.cancelled) {
        throw this.cancelled;
      }
      const left = input.seconds - this.segmentElapsed();
      const runsLeft = input.runs > 0 ? input.runs - (this.sample.execs - input.before.execs) : 0;
      if (left < 1 || (input.runs > 0 && runsLeft <= 0)) {
        break;
      }
      const command = engine.fuzzCommand(h, dirs, {
        ...limits,
        seconds: left,
        ...(input.runs > 0 ? { runs: runsLeft } : {}),
      });
      const outcome = await this.runFuzzer(command, left);
      this.doneExecs += this.procExecs;
      this.procExecs = 0;
      this.reportedRate = 0;
      this.averageRate();
      const inputs = await engine.crashInputs(h, dirs, outcome.output);
      if (inputs.length > 0) {
        for (const file of inputs) {
          await this.keepCrash(file, outcome.output);
        }
        continue;
      }
      if (outcome.code !== 0 && !outcome.killed) {
        const crash = parseCrash(outcome.output);
        if (crash && engine.name === 'go-fuzz') {
          // go reports some failures (a t.Fatal in the harness) without writing an input file.
          await this.keepCrash(undefined, outcome.output, crash);
          continue;
        }
        if (this.sample.execs === this.baseExecs) {
          const missingModule = /ModuleNotFoundError: No module named '([^']+)'/.exec(outcome.output);
          throw ApplicationFailure.nonRetryable(
            `${engine.name} harness ${h.name} could not start fuzzing (exit ${outcome.code}):\n` +
              outcome.output.trim().split('\n').slice(-40).join('\n') +
              (missingModule
                ? `\nThe harness imports ${missingModule[1]}, which is not installed where atheris runs: ` +
                  `${pythonFor().replace(/python$/, 'pip')} install <the workspace's requirements>`
                : ''),
            'FuzzerFailed',
          );
        }
      }
      // The fuzzer stopped on its own limit.
      break;
    }
    this.averageRate();
    this.beat('saving corpus');
    // Whether the harness has time left after this segment, by its budget rather than the clock:
    // the gaps between fuzzer processes (a restart after a crash) are not counted as fuzzing, so
    // a last slice can measure a second short, which asked the workflow for another, 1 s segment.
    const harnessLeft = input.params.max_total_time - input.before.elapsedSec - input.seconds;
    const reason: FuzzSegmentResult['reason'] =
      input.runs > 0 && this.sample.execs - input.before.execs >= input.runs
        ? 'executions'
        : harnessLeft >= 1
          ? 'segment'
          : 'time';
    await this.syncCorpus(corpusDir, true);
    this.beat('done');
    await this.sendStats();
    return { harness: h.name, last: this.sample, reason, crashIds: [...this.crashIds] };
  }

  private inWork(rel: string, param: string): string {
    const abs = path.resolve(this.dirs.work, rel);
    if (path.relative(this.dirs.work, abs).startsWith('..') || !fs.existsSync(abs)) {
      throw ApplicationFailure.nonRetryable(
        `${param} "${rel}" does not exist in the workspace (paths are relative to the workspace root)`,
        'BadParameter',
      );
    }
    return abs;
  }

  /**
   * Between fuzzer processes and at the end, exec/s is the average of this attempt: a fuzzer that
   * ran for under a second (a crash found at once) reports 0 itself.
   */
  private averageRate(): void {
    const seconds = (Date.now() - this.started) / 1000;
    const execs = this.doneExecs + this.procExecs;
    if (seconds > 0 && execs > 0) {
      this.sample = { ...this.sample, execsPerSec: Math.round(execs / seconds) };
    }
  }

  /**
   * Executions so far. libFuzzer reports them only on new coverage and at powers of two, so in a
   * long quiet stretch the count is extrapolated from the last reported rate and flagged as
   * estimated (never below what was shown before); the fuzzer's final statistics replace it.
   */
  private execsNow(): { execs: number; execsEstimated?: boolean } {
    const exact = this.baseExecs + this.doneExecs + this.procExecs;
    const quiet = (Date.now() - this.reportedAt) / 1000;
    if (!this.currentPid || this.reportedRate <= 0 || quiet < TICK_MS / 1000 || this.engine.name === 'go-fuzz') {
      return { execs: exact };
    }
    const estimate = exact + Math.round(this.reportedRate * quiet);
    return { execs: Math.max(estimate, this.sample.execs), execsEstimated: true };
  }

  /** Update the sample, heartbeat it and stop on cancel (the caller kills the fuzzer). */
  private beat(phase: string): void {
    const elapsed = this.baseElapsed + (this.fuzzing ? (Date.now() - this.started) / 1000 : 0);
    const { execsEstimated: _previous, ...rest } = this.sample;
    this.sample = {
      ...rest,
      at: Date.now(),
      elapsedSec: Math.round(elapsed * 10) / 10,
      ...this.execsNow(),
      uniqueCrashes: this.crashIds.size,
      secSinceNewCoverage: Math.round((Date.now() - this.lastCoverageAt) / 100) / 10,
    };
    heartbeat({ sample: this.sample, crashIds: [...this.crashIds], phase } satisfies SegmentProgress & {
      phase: string;
    });
    const signal = Context.current().cancellationSignal;
    if (signal.aborted) {
      this.cancelled = signal.reason instanceof Error ? signal.reason : new Error('cancelled');
      throw this.cancelled;
    }
  }

  /** Signal the workflow with the latest sample; a failed signal only costs one sample. */
  private async sendStats(): Promise<void> {
    if (this.signalling) {
      return;
    }
    this.signalling = true;
    try {
      const client = await temporalClient();
      const workflowId = activityInfo().workflowExecution?.workflowId;
      if (workflowId) {
        await client.workflow.getHandle(workflowId).signal(statsSignal, this.sample);
      }
    } catch {
      // The workflow may be closing; the next tick tries again.
    } finally {
      this.signalling = false;
    }
  }

  private onLine(line: string): void {
    const s = this.engine.parseStats(line) ?? finalStats(line);
    if (!s) {
      return;
    }
    const prev = this.sample;
    if (s.execs !== undefined) {
      this.procExecs = Math.max(this.procExecs, s.execs);
      this.reportedAt = Date.now();
    }
    if (s.execsPerSec !== undefined) {
      this.reportedRate = s.execsPerSec;
    }
    const grew =
      (s.coverage !== undefined && s.coverage > (prev.coverage ?? 0)) ||
      (s.features !== undefined && s.features > (prev.features ?? 0)) ||
      (s.newInteresting !== undefined && s.corpusSize !== undefined && s.corpusSize > prev.corpusSize);
    if (grew) {
      this.lastCoverageAt = Date.now();
    }
    this.sample = {
      ...prev,
      ...(s.execsPerSec !== undefined ? { execsPerSec: s.execsPerSec } : {}),
      ...(s.coverage !== undefined ? { coverage: Math.max(s.coverage, prev.coverage ?? 0) } : {}),
      ...(s.features !== undefined ? { features: Math.max(s.features, prev.features ?? 0) } : {}),
      ...(s.corpusSize !== undefined ? { corpusSize: s.corpusSize } : {}),
    };
  }

  /**
   * Run one fuzzer process in its own process group, under a watchdog that ends the group when
   * this worker dies (a killed worker must not leave a fuzzer running). Returns its exit code and
   * the tail of its output.
   */
  private runFuzzer(
    command: { command: string; args: string[]; cwd: string; env?: Record<string, string> },
    seconds: number,
  ): Promise<{ code: number; output: string; killed: boolean }> {
    const child = spawnWatched(command.command, command.args, {
      cwd: command.cwd,
      // Harnesses are workspace code: no backend credentials reach them.
      env: {
        ...toolEnv(),
        ...command.env,
        PATH: [...toolSearchPath(), process.env.PATH ?? ''].join(path.delimiter),
      },
    });
    const tail: Buffer[] = [];
    let tailBytes = 0;
    let partial = { out: '', err: '' };
    const consume = (which: 'out' | 'err') => (chunk: Buffer) => {
      tail.push(chunk);
      tailBytes += chunk.length;
      while (tailBytes > OUTPUT_TAIL_BYTES && tail.length > 1) {
        tailBytes -= (tail.shift() as Buffer).length;
      }
      const text = partial[which] + chunk.toString('utf8');
      const lines = text.split(/\r?\n|\r/);
      partial = { ...partial, [which]: lines.pop() ?? '' };
      for (const line of lines) {
        this.onLine(line);
      }
    };
    child.stdout.on('data', consume('out'));
    child.stderr.on('data', consume('err'));
    this.currentPid = child.pid;
    let killed = false;
    return new Promise((resolve, reject) => {
      // A hard stop a little after the budget, in case the engine ignores its own limit.
      const deadline = setTimeout(
        () => {
          killed = true;
          killGroup(child.pid);
        },
        // Clamped: a delay beyond setTimeout's limit would fire at once and kill the fuzzer.
        timerDelayMs((seconds + 30) * 1000 + this.input.params.timeout_per_input * 2000),
      );
      child.on('error', (err) => {
        clearTimeout(deadline);
        this.currentPid = undefined;
        reject(err);
      });
      child.on('close', (code, signal) => {
        clearTimeout(deadline);
        this.currentPid = undefined;
        for (const rest of [partial.out, partial.err]) {
          if (rest) {
            this.onLine(rest);
          }
        }
        if (this.cancelled) {
          reject(this.cancelled);
          return;
        }
        resolve({ code: code ?? (signal ? 128 : 1), output: Buffer.concat(tail).toString('utf8'), killed });
      });
    });
  }

  /**
   * Every TICK_MS for the whole segment (fuzzer processes may live far shorter): heartbeat, signal
   * the stats, save new corpus entries now and then; on cancel, kill the running fuzzer's group.
   */
  private onTick(): void {
    try {
      this.beat(this.currentPid ? 'fuzzing' : 'preparing');
    } catch (err) {
      this.cancelled = err instanceof Error ? err : new Error(String(err));
      killGroup(this.currentPid);
      return;
    }
    void this.sendStats();
    if (Date.now() - this.lastCorpusSync > CORPUS_SYNC_MS && !this.exchanging) {
      this.lastCorpusSync = Date.now();
      this.exchanging = true;
      const dir = this.engine.corpusDir(this.input.harness, this.dirs);
      void this.syncCorpus(dir, false)
        .then(() => ((this.input.shards ?? 1) > 1 ? this.pullCorpus(dir) : undefined))
        .catch(() => undefined)
        .finally(() => {
          this.exchanging = false;
        });
    }
  }

  private exchanging = false;

  /**
   * With parallel processes of one harness (possibly on other workers), take the corpus entries
   * the others stored since: libFuzzer re-reads its corpus folder every second (`-reload`), so
   * coverage one process finds becomes every process's starting point.
   */
  private async pullCorpus(dir: string): Promise<void> {
    if (!this.input.params.persist_corpus) {
      return;
    }
    const store = objectStore();
    const prefix = corpusPrefix(this.input.workspaceId, this.engine.name, this.input.harness.name);
    for (const obj of await store.list(store.buckets.results, prefix)) {
      const name = obj.key.slice(prefix.length);
      if (!name || name.includes('/') || name.startsWith('.') || this.uploaded.has(name)) {
        continue;
      }
      this.uploaded.add(name);
      const file = path.join(dir, name);
      if (!fs.existsSync(file)) {
        // Written under another name first: the fuzzer must never read half an input.
        const partial = path.join(this.dirs.artifacts, `.pull-${name}`);
        await store.downloadFile(store.buckets.results, obj.key, partial);
        await fs.promises.rename(partial, file);
      }
    }
  }

  /** Store a crash (deduplicated by signature) right away: input, minimised input, stack, record. */
  private async keepCrash(file: string | undefined, output: string, parsed?: CrashReport): Promise<void> {
    const { engine, input, dirs } = this;
    const h = input.harness;
    const crash = parsed ?? parseCrash(output) ?? fallbackCrash(file, output);
    crash.frames = crash.frames.map((f) => ({ ...f, ...(f.file ? { file: this.relative(f.file) } : {}) }));
    const inWorkspace = (f: string) => !path.isAbsolute(f) && fs.existsSync(path.join(dirs.work, f));
    const id = crashSignature(crash, inWorkspace);
    const store = objectStore();
    const bucket = store.buckets.results;
    const keys = crashKeys(input.runId, id);
    const now = new Date().toISOString();
    this.sample = {
      ...this.sample,
      crashes: this.sample.crashes + (crash.kind === 'timeout' || crash.kind === 'oom' ? 0 : 1),
      timeouts: this.sample.timeouts + (crash.kind === 'timeout' ? 1 : 0),
      ooms: this.sample.ooms + (crash.kind === 'oom' ? 1 : 0),
    };
    const data = file ? await fs.promises.readFile(file) : Buffer.alloc(0);
    const existing = await store.getJson<CrashRecord>(bucket, keys.record).catch(() => undefined);
    if (existing) {
      existing.hits += 1;
      existing.lastSeen = now;
      await store.putJson(bucket, keys.record, existing);
    } else {
      await store.putBuffer(bucket, keys.input, data);
      const stack = crashExcerpt(output);
      await store.putBuffer(bucket, keys.stack, Buffer.from(stack, 'utf8'), 'text/plain');
      const record: CrashRecord = {
        id,
        engine: engine.name,
        harness: h.name,
        harnessFile: h.file,
        kind: crash.kind,
        summary: crash.summary,
        frames: crash.frames.slice(0, 50),
        hits: 1,
        firstSeen: now,
        lastSeen: now,
        inputKey: keys.input,
        inputBytes: data.length,
        stackKey: keys.stack,
        reproduce: engine.reproduceText(h, `crash-${id}`, input.params, this.buildRecipe),
      };
      // Stored before minimising: a worker lost during minimisation must not lose the crash.
      await store.putJson(bucket, keys.record, record);
      if (file && engine.minimizeCommand && input.params.minimize_time > 0 && data.length > 1) {
        const out = path.join(dirs.artifacts, `minimized-${id}`);
        const cmd = engine.minimizeCommand(h, dirs, file, out, input.params.minimize_time);
        await runQuick(cmd.command, cmd.args, cmd.cwd, cmd.env ?? {}, () => this.beat('minimizing'));
        const min = await fs.promises.readFile(out).catch(() => undefined);
        if (min && min.length > 0 && min.length < data.length) {
          await store.putBuffer(bucket, keys.minimized, min);
          record.minimizedKey = keys.minimized;
          record.minimizedBytes = min.length;
          await store.putJson(bucket, keys.record, record);
        }
      }
      this.crashIds.add(id);
    }
    if (file) {
      await fs.promises.rm(file, { force: true });
    }
    this.beat('fuzzing');
    await this.syncCorpus(this.engine.corpusDir(h, dirs), true);
  }

  private relative(file: string): string {
    const abs = path.isAbsolute(file) ? file : path.join(this.dirs.work, file);
    const rel = path.relative(this.dirs.work, abs);
    return rel.startsWith('..') || path.isAbsolute(rel) ? file : rel.split(path.sep).join('/');
  }

  private async restoreCorpus(dir: string): Promise<void> {
    const store = objectStore();
    const prefix = corpusPrefix(this.input.workspaceId, this.engine.name, this.input.harness.name);
    const objects = await store.list(store.buckets.results, prefix);
    let i = 0;
    const worker = async () => {
      while (i < objects.length) {
        const obj = objects[i++] as { key: string };
        const name = obj.key.slice(prefix.length);
        if (!name || name.includes('/')) {
          continue;
        }
        await store.downloadFile(store.buckets.results, obj.key, path.join(dir, name));
        this.uploaded.add(name);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    this.sample = { ...this.sample, corpusSize: Math.max(this.sample.corpusSize, objects.length) };
  }

  /** Upload corpus entries not stored yet (content-named, so never twice). */
  private async syncCorpus(dir: string, force: boolean): Promise<void> {
    if (!this.input.params.persist_corpus || (!force && Date.now() - this.started < 1000)) {
      return;
    }
    const store = objectStore();
    const prefix = corpusPrefix(this.input.workspaceId, this.engine.name, this.input.harness.name);
    const names = await fs.promises.readdir(dir).catch(() => [] as string[]);
    for (const name of names) {
      if (this.uploaded.has(name) || name.startsWith('.')) {
        continue;
      }
      const file = path.join(dir, name);
      const stat = await fs.promises.stat(file).catch(() => undefined);
      if (!stat?.isFile() || stat.size > 1024 * 1024) {
        continue;
      }
      this.uploaded.add(name);
      await store.putFile(store.buckets.results, `${prefix}${name}`, file, stat.size);
    }
  }
}

const building = new Map<string, Promise<unknown>>();

/** Run `task` after any other task for the same key in this process has finished. */
async function oneAtATime<T>(key: string, task: () => Promise<T>): Promise<T> {
  const previous = building.get(key) ?? Promise.resolve();
  const next = previous.catch(() => undefined).then(task);
  building.set(key, next);
  try {
    return await next;
  } finally {
    if (building.get(key) === next) {
      building.delete(key);
    }
  }
}

/** libFuzzer's -print_final_stats lines give the exact number of executions. */
function finalStats(line: string): FuzzStats | undefined {
  const m = /^stat::(number_of_executed_units|average_exec_per_sec):\s*(\d+)/.exec(line.trim());
  if (!m) {
    return undefined;
  }
  return m[1] === 'number_of_executed_units' ? { execs: Number(m[2]) } : { execsPerSec: Number(m[2]) };
}

function fallbackCrash(file: string | undefined, output: string): CrashReport {
  const kind = file ? (/^(crash|timeout|oom|leak)-/.exec(path.basename(file))?.[1] ?? 'crash') : 'crash';
  const head = output.trim().split('\n').slice(-1)[0] ?? '';
  return { kind, summary: `${kind}: ${head.slice(0, 200)}`, frames: [] };
}

/** The crash report part of a fuzzer's output (from its headline on), bounded. */
function crashExcerpt(output: string): string {
  const starts = [
    output.search(/==\d+==ERROR:/),
    output.search(/=== Uncaught Python exception: ===/),
    output.search(/thread '[^']*'(?: \(\d+\))? panicked at/),
    output.search(/--- FAIL: /),
    output.search(/^panic: /m),
  ].filter((i) => i >= 0);
  const from = starts.length > 0 ? Math.min(...starts) : Math.max(0, output.length - 16 * 1024);
  return output.slice(from, from + 64 * 1024);
}

export interface ReportInput {
  runId: string;
  engine: FuzzEngineName;
  rootUri: string;
  harnesses: Harness[];
}

/** The run's unique crashes as one SARIF part; the workflow merges it like any tool's output. */
async function reportCrashes(input: ReportInput): Promise<{ key: string; crashes: number }> {
  const store = objectStore();
  const bucket = store.buckets.results;
  const records = await readCrashRecords(store, input.runId);
  const key = runKey(input.runId, `${input.engine}.sarif`);
  const log = buildCrashSarif(input.engine, records, input.rootUri, bucket);
  await store.putJson(bucket, key, log);
  return { key, crashes: records.length };
}

export const activities = { discoverHarnesses, fuzzSegment, reportCrashes };
