// `node --import tsx test/bench/static.ts` (after `node esbuild.js --quiet`): what orchestration
// costs the static-analysis workflows. Prints figures, asserts nothing. For each workflow, on a
// MEDIUM workspace (the small fixtures of test/fixtures copied BENCH_COPIES times):
//   - workflow time: startScan (walk, hash, upload of nothing new, start) to awaitScan (result and
//     merged SARIF fetched), with the target already in the workers' caches (an untimed warm-up
//     run) and `baseline: false`; median of BENCH_RUNS runs. Plus one run with the default
//     baseline (the previous run of the same workspace), to show what baseline matching adds;
//   - direct time: the same tools with the same arguments (the activities' own argument builders,
//     the toolbox's rules and configs) on the same files, as child processes, one after another;
//     median of BENCH_RUNS runs per tool after one warm-up run, summed. Our own pattern rules and
//     secret detector are TypeScript: timed in-process (read + scan of each file). Each direct
//     run is taken just before the workflow run it is compared with (see measureCase).
// Worker start-up is not in the workflow time; target materialisation (a cache hit after the
// warm-up), activity scheduling, SARIF normalisation and upload, merge and fetch are.
// Everything runs on real services on free loopback ports; the backend and every temp folder are
// removed on exit, also on failure or Ctrl-C.
// Settings: BENCH_COPIES (25), BENCH_RUNS (3), BENCH_WORKFLOWS (comma-separated subset, default
// all), BENCH_OUT (a file that gets the printed figures too). Progress goes to stderr.
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { toolboxDir } from '../../backend/paths';
import { awaitScan, findWorkflow, startScan } from '../../backend/scan';
import { readState } from '../../backend/services/state';
import { formatBytes } from '../../backend/storage/pack';
import { validateParams } from '../../backend/toolbox/params';
import { toolPath, toolSearchPath } from '../../backend/toolbox/tools';
import { languageOf, PATTERN_RULES, scanSource, type Language } from '../../toolbox/modules/analyzers/patterns';
import { banditArgs, PYTHON_ALWAYS_SKIP, PYTHON_EXTENSIONS } from '../../toolbox/modules/sast/bandit';
import { sourceFiles } from '../../toolbox/modules/sast/common';
import { CPPCHECK_SOURCE, cppcheckArgs } from '../../toolbox/modules/sast/cppcheck';
import {
  bundledConfigFile,
  eslintArgs,
  JS_ALWAYS_SKIP,
  JS_EXTENSIONS,
  locateEslint,
} from '../../toolbox/modules/sast/eslint';
import { FLAWFINDER_SOURCE, flawfinderArgs } from '../../toolbox/modules/sast/flawfinder';
import { gosecArgs, type GosecLevel } from '../../toolbox/modules/sast/gosec';
import { type GoListPackage, parseJsonStream, splitLoadable } from '../../toolbox/modules/sast/govet';
import { goGroupEnv, goPackageGroups } from '../../toolbox/modules/sast/native';
import { bundledRulesFile, semgrepArgs, semgrepEnv } from '../../toolbox/modules/sast/semgrep';
import { detectSecrets } from '../../toolbox/modules/secrets/detector';
import { GITLEAKS_BIN_ENV, gitleaksArgs } from '../../toolbox/modules/secrets/gitleaks';
import { listTargetFiles, readText } from '../../toolbox/modules/targetFiles';
import type { ScanSummary } from '../../toolbox/shared/definitions';
import { startTestBackend, type TestBackend } from '../integration/harness';
import { FIXTURE_NAMES, type FixtureName, generateWorkspace, materialiseTarget } from './fixtures';

function envCount(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') {
    return fallback;
  }
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`${name} must be a positive integer, not "${raw}"`);
  }
  return n;
}

const COPIES = envCount('BENCH_COPIES', 25);
const RUNS = envCount('BENCH_RUNS', 3);
/** Comma-separated workflow names to measure (default: all), to look at one without waiting for all. */
const ONLY = (process.env.BENCH_WORKFLOWS ?? '')
  .split(',')
  .map((w) => w.trim())
  .filter((w) => w !== '');

type ToolName =
  | 'fuzzforge-patterns'
  | 'fuzzforge-secrets'
  | 'gitleaks'
  | 'bandit'
  | 'semgrep'
  | 'eslint'
  | 'gosec'
  | 'govet'
  | 'cppcheck'
  | 'flawfinder';

interface BenchCase {
  workflow: string;
  fixtures: readonly FixtureName[];
  /** The tools the workflow's activities run (for full_scan: its children's). */
  tools: readonly ToolName[];
}

const ALL_TOOLS: readonly ToolName[] = [
  'fuzzforge-patterns',
  'fuzzforge-secrets',
  'gitleaks',
  'bandit',
  'semgrep',
  'eslint',
  'gosec',
  'govet',
  'cppcheck',
  'flawfinder',
];

// Each workflow on the fixture written for it; full_scan on all of them side by side (as in
// test/integration/full-scan.test.ts), so its children see each other's files as in a real repo.
const ALL_CASES: readonly BenchCase[] = [
  { workflow: 'security_assessment', fixtures: ['vulnerable-app'], tools: ['fuzzforge-patterns'] },
  { workflow: 'secret_detection', fixtures: ['secrets-app'], tools: ['fuzzforge-secrets', 'gitleaks'] },
  { workflow: 'python_sast', fixtures: ['python-sast'], tools: ['bandit', 'semgrep'] },
  { workflow: 'js_sast', fixtures: ['js-sast'], tools: ['eslint'] },
  { workflow: 'go_sast', fixtures: ['go-sast'], tools: ['gosec', 'govet'] },
  { workflow: 'cpp_sast', fixtures: ['cpp-sast'], tools: ['cppcheck', 'flawfinder'] },
  { workflow: 'full_scan', fixtures: FIXTURE_NAMES, tools: ALL_TOOLS },
];
const CASES = ALL_CASES.filter((c) => ONLY.length === 0 || ONLY.includes(c.workflow));
const UNKNOWN = ONLY.filter((w) => !ALL_CASES.some((c) => c.workflow === w));

// ---------------------------------------------------------------------------------------------
// Running tools directly.

const children = new Set<ChildProcess>();

interface Exec {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Run a tool the way the worker's runTool does (no shell, the tool folders first on PATH, both
 * streams read to the end) but without its Temporal heartbeats, which need an activity context.
 */
function exec(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
): Promise<Exec> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env, PATH: [...toolSearchPath(), process.env.PATH ?? ''].join(':') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.once('error', (e) => {
      children.delete(child);
      reject(e);
    });
    child.once('close', (code, signal) => {
      children.delete(child);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
  });
}

/** exec, and fail loudly on an exit code the activity would treat as a failure: a crash is no figure. */
async function execOk(
  tool: string,
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
  okCodes: readonly number[] = [0],
): Promise<Exec> {
  const run = await exec(command, args, options);
  if (run.signal || !okCodes.includes(run.code ?? -1)) {
    const said = (run.stderr.trim() || run.stdout.trim()).split('\n').slice(-5).join('\n');
    throw new Error(`${tool} failed (${run.signal ?? `exit ${run.code}`}) in ${options.cwd}: ${said}`);
  }
  return run;
}

function need(command: string): string {
  const found = toolPath(command);
  if (!found) {
    throw new Error(`${command} is not installed (see \`node dist/cli.js setup --tools\`)`);
  }
  return found;
}

interface DirectTool {
  /** Files the tool is given or reads, for the figures. */
  files: number;
  /** One run, timed by the caller; `scratch` is a fresh folder for output files. */
  run(scratch: string): Promise<void>;
}

/** A workflow's default parameters: the direct runs use what a `params: {}` scan gets. */
function defaults(workflow: string): Record<string, unknown> {
  return validateParams(findWorkflow(toolboxDir(), workflow), {});
}

/** How each tool is run on a materialised target `dir`: the same files and arguments as its activity. */
const DIRECT: Record<ToolName, (dir: string) => Promise<DirectTool>> = {
  'fuzzforge-patterns': async (dir) => {
    const params = defaults('security_assessment') as { max_file_bytes: number };
    // Default min_level (note) and rules (all): every rule.
    const ruleIds = PATTERN_RULES.map((r) => r.id);
    const files = (await listTargetFiles(dir)).filter((f) => languageOf(f.rel) !== undefined);
    return {
      files: files.length,
      async run() {
        for (const file of files) {
          if (file.size > params.max_file_bytes) {
            continue;
          }
          const text = await readText(file.abs);
          if (text !== undefined) {
            scanSource(text, languageOf(file.rel) as Language, { ruleIds });
          }
        }
      },
    };
  },
  'fuzzforge-secrets': async (dir) => {
    const params = defaults('secret_detection') as { max_file_bytes: number; min_entropy: number };
    const files = await listTargetFiles(dir);
    return {
      files: files.length,
      async run() {
        for (const file of files) {
          if (file.size > params.max_file_bytes) {
            continue;
          }
          const text = await readText(file.abs);
          if (text !== undefined) {
            detectSecrets(text, file.rel, { minEntropy: params.min_entropy });
          }
        }
      },
    };
  },
  gitleaks: async (dir) => {
    const params = defaults('secret_detection') as { max_file_bytes: number };
    const command = process.env[GITLEAKS_BIN_ENV] || need('gitleaks');
    return {
      files: (await listTargetFiles(dir)).length,
      async run(scratch) {
        // runGitleaks' command line, from a scratch folder as there.
        const args = gitleaksArgs(dir, path.join(scratch, 'gitleaks.sarif'), params.max_file_bytes);
        await execOk('gitleaks', command, args, { cwd: scratch, env: { NO_COLOR: '1' } });
      },
    };
  },
  bandit: async (dir) => {
    const params = defaults('python_sast') as { bandit_skips: string[] };
    const files = await sourceFiles(dir, {
      extensions: PYTHON_EXTENSIONS,
      exclude: [],
      alwaysSkip: PYTHON_ALWAYS_SKIP,
    });
    return {
      files: files.length,
      async run(scratch) {
        // 1 = issues found.
        const args = banditArgs(files, path.join(scratch, 'bandit.sarif'), params.bandit_skips);
        await execOk('bandit', need('bandit'), args, { cwd: dir }, [0, 1]);
      },
    };
  },
  semgrep: async (dir) => {
    const files = await sourceFiles(dir, {
      extensions: PYTHON_EXTENSIONS,
      exclude: [],
      alwaysSkip: PYTHON_ALWAYS_SKIP,
    });
    return {
      files: files.length,
      async run(scratch) {
        const out = { sarif: path.join(scratch, 'semgrep.sarif'), json: path.join(scratch, 'semgrep.json') };
        const args = semgrepArgs([bundledRulesFile()], out, files);
        await execOk('semgrep', need('semgrep'), args, { cwd: dir, env: semgrepEnv(scratch) });
      },
    };
  },
  eslint: async (dir) => {
    const params = defaults('js_sast') as { extra_eslint_rules: Record<string, unknown> };
    const eslint = locateEslint();
    const files = await sourceFiles(dir, { extensions: JS_EXTENSIONS, exclude: [], alwaysSkip: JS_ALWAYS_SKIP });
    return {
      files: files.length,
      async run(scratch) {
        const args = eslintArgs(
          bundledConfigFile(),
          path.join(scratch, 'eslint.json'),
          files,
          params.extra_eslint_rules,
        );
        // 1 = a rule at "error" fired.
        await execOk(
          'eslint',
          eslint.bin,
          args,
          { cwd: dir, env: { FUZZFORGE_ESLINT_MODULES: eslint.modules } },
          [0, 1],
        );
      },
    };
  },
  gosec: async (dir) => {
    const params = defaults('go_sast') as {
      severity: GosecLevel;
      confidence: GosecLevel;
      include_rules: string[];
      exclude_rules: string[];
    };
    const files = (await listTargetFiles(dir)).map((f) => f.rel);
    // One invocation per Go module (or GOPATH-mode group), each in its own folder, as runGosec.
    const groups = goPackageGroups(files).filter((g) => g.buildDirs.length > 0);
    const options = {
      severity: params.severity,
      confidence: params.confidence,
      includeRules: params.include_rules,
      excludeRules: params.exclude_rules,
    };
    return {
      files: files.filter((f) => f.endsWith('.go')).length,
      async run(scratch) {
        for (const [i, group] of groups.entries()) {
          const cwd = path.join(dir, group.root);
          const env = await goGroupEnv(group, cwd, scratch);
          const args = [...gosecArgs(options, path.join(scratch, `gosec-${i}.sarif`)), ...group.buildDirs];
          await execOk('gosec', need('gosec'), args, { cwd, env });
        }
      },
    };
  },
  govet: async (dir) => {
    const files = (await listTargetFiles(dir)).map((f) => f.rel);
    const groups = goPackageGroups(files);
    return {
      files: files.filter((f) => f.endsWith('.go')).length,
      async run(scratch) {
        const go = need('go');
        // runGoVet's two steps per group: which packages load, then vet those.
        for (const group of groups) {
          const cwd = path.join(dir, group.root);
          const env = await goGroupEnv(group, cwd, scratch);
          const list = await execOk(
            'go list',
            go,
            ['list', '-e', '-json=Dir,ImportPath,Error,DepsErrors', ...group.dirs],
            { cwd, env },
          );
          const loadable = splitLoadable(parseJsonStream(list.stdout, 'go list -json output') as GoListPackage[]);
          if (loadable.dirs.length === 0) {
            continue;
          }
          const pkgs = loadable.dirs.map((d) => {
            const rel = path.relative(cwd, d).split(path.sep).join('/');
            return rel === '' ? '.' : `./${rel}`;
          });
          await execOk('go vet', go, ['vet', '-json', ...pkgs], { cwd, env });
        }
      },
    };
  },
  cppcheck: async (dir) => {
    const params = defaults('cpp_sast') as { std: string };
    const sources = (await listTargetFiles(dir)).filter((f) => CPPCHECK_SOURCE.test(f.rel));
    // runCppcheck's job count (computed inline there).
    const jobs = Math.max(1, Math.min(4, os.availableParallelism()));
    return {
      files: sources.length,
      async run(scratch) {
        const fileList = path.join(scratch, 'files.txt');
        await fs.promises.writeFile(fileList, `${sources.map((f) => f.rel).join('\n')}\n`);
        const args = cppcheckArgs({ std: params.std }, fileList, path.join(scratch, 'cppcheck.xml'), jobs);
        await execOk('cppcheck', need('cppcheck'), args, { cwd: dir });
      },
    };
  },
  flawfinder: async (dir) => {
    const params = defaults('cpp_sast') as { min_level: number; false_positive: boolean };
    const files = (await listTargetFiles(dir))
      .filter((f) => FLAWFINDER_SOURCE.test(path.basename(f.rel)))
      .map((f) => f.rel);
    return {
      files: files.length,
      async run() {
        // SARIF on stdout, read in full by exec as runTool does.
        const args = [...flawfinderArgs({ minLevel: params.min_level, falsePositive: params.false_positive }), '--'];
        await execOk('flawfinder', need('flawfinder'), [...args, ...files], { cwd: dir });
      },
    };
  },
};

// ---------------------------------------------------------------------------------------------
// Figures.

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const start = process.hrtime.bigint();
  const value = await fn();
  return [value, Number(process.hrtime.bigint() - start) / 1e6];
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? NaN) : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
}

const secs = (ms: number): string => (ms / 1000).toFixed(2);

interface ToolFigures {
  tool: ToolName;
  files: number;
  runs: number[];
  median: number;
}

interface WorkflowFigures {
  runs: number[];
  median: number;
  /** startScan alone (walk, hash, blob checks, start): the client's share before the run exists. */
  startMedian: number;
  results: number;
  /** Tools that failed in a timed run (or the baseline run): the figure then says nothing about them. */
  toolErrors: string[];
  /** Tools that failed in an untimed warm-up run. */
  warmupErrors: string[];
  /** Where the time of the median run went, from its Temporal history. */
  breakdown: string;
  /** mergeSarif's run time in the median run and in the run with a baseline. */
  mergeMs: number;
  mergeWithBaselineMs: number;
  withBaseline: number;
  baseline: ScanSummary['baseline'];
}

/** Progress on stderr: the figures alone go to stdout and BENCH_OUT. */
function note(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** One run of a direct tool in a fresh scratch folder; its wall time in ms. */
async function runDirect(direct: DirectTool, tool: ToolName, scratchRoot: string): Promise<number> {
  const scratch = fs.mkdtempSync(path.join(scratchRoot, `${tool}-`));
  try {
    const [, ms] = await timed(() => direct.run(scratch));
    return ms;
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

type Timestamp = { seconds?: { toString(): string } | number | null; nanos?: number | null } | null | undefined;

function tsMs(ts: Timestamp): number {
  return Number(ts?.seconds?.toString() ?? 0) * 1000 + (ts?.nanos ?? 0) / 1e6;
}

/**
 * Where a run's time went, from its history: the workflow's server-side duration and, per
 * activity, the time it waited in the task queue for a worker slot and the time it ran; per child
 * workflow (full_scan), its duration. "analyzePatterns 0.01+0.20" = waited 0.01 s, ran 0.20 s.
 */
async function breakdown(backend: TestBackend, runId: string): Promise<{ text: string; mergeMs: number }> {
  const history = await backend.runs.client.workflow.getHandle(runId).fetchHistory();
  const events = history.events ?? [];
  const id = (e: { toString(): string } | number | null | undefined) => String(e ?? '');
  const scheduled = new Map<string, { name: string; at: number }>();
  const started = new Map<string, number>();
  const childRuns = new Map<string, { name: string; at: number }>();
  const parts: string[] = [];
  let mergeMs = 0;
  let begin = 0;
  let end = 0;
  for (const e of events) {
    const at = tsMs(e.eventTime);
    if (e.workflowExecutionStartedEventAttributes) {
      begin = at;
    } else if (e.workflowExecutionCompletedEventAttributes) {
      end = at;
    } else if (e.activityTaskScheduledEventAttributes) {
      scheduled.set(id(e.eventId), { name: e.activityTaskScheduledEventAttributes.activityType?.name ?? '?', at });
    } else if (e.activityTaskStartedEventAttributes) {
      started.set(id(e.activityTaskStartedEventAttributes.scheduledEventId), at);
    } else if (e.activityTaskCompletedEventAttributes) {
      const key = id(e.activityTaskCompletedEventAttributes.scheduledEventId);
      const s = scheduled.get(key);
      const run = started.get(key);
      if (s && run !== undefined) {
        parts.push(`${s.name} ${secs(run - s.at)}+${secs(at - run)}`);
        mergeMs += s.name === 'mergeSarif' ? at - run : 0;
      }
    } else if (e.startChildWorkflowExecutionInitiatedEventAttributes) {
      const name = e.startChildWorkflowExecutionInitiatedEventAttributes.workflowType?.name ?? '?';
      childRuns.set(id(e.eventId), { name, at });
    } else if (e.childWorkflowExecutionCompletedEventAttributes) {
      const c = childRuns.get(id(e.childWorkflowExecutionCompletedEventAttributes.initiatedEventId));
      if (c) {
        parts.push(`child ${c.name} ${secs(at - c.at)}`);
      }
    }
  }
  return { text: `workflow ${secs(end - begin)} s on the server: ${parts.join(', ')}`, mergeMs };
}

interface WorkflowRun {
  runId: string;
  /** startScan alone. */
  startMs: number;
  totalMs: number;
  summary: ScanSummary;
}

/** One scan of `workspace` from startScan to the merged SARIF fetched; `baseline: false` or the default. */
async function runWorkflow(
  backend: TestBackend,
  workflow: string,
  workspace: string,
  baseline: false | undefined,
): Promise<WorkflowRun> {
  const start = process.hrtime.bigint();
  const { run } = await startScan(backend.conn, backend.runs, {
    path: workspace,
    workflow: findWorkflow(toolboxDir(), workflow),
    params: {},
    ...(baseline === false ? { baseline: false as const } : {}),
  });
  const startMs = Number(process.hrtime.bigint() - start) / 1e6;
  const { summary } = await awaitScan(backend.conn, backend.runs, run.runId);
  return { runId: run.runId, startMs, totalMs: Number(process.hrtime.bigint() - start) / 1e6, summary };
}

/** "run 2: gosec: <first line of its error>" for each tool that failed in a run. */
function failures(summary: ScanSummary, run: string): string[] {
  return summary.tools.filter((t) => t.error).map((t) => `${run}: ${t.name}: ${t.error?.split('\n')[0] ?? ''}`);
}

/**
 * Direct and workflow figures of one case, taken in pairs: direct run i of every tool, then
 * workflow run i. The host's speed drifts (a shared VM: the same gosec run took 4.6 s in one
 * session and 8.4 s in another), so measurements taken close together compare fairly, where
 * two blocks minutes apart would not. The backend idles during the direct runs.
 */
async function measureCase(
  backend: TestBackend,
  c: BenchCase,
  workspace: { workspace: string; target: string },
  scratchRoot: string,
): Promise<{ tools: ToolFigures[]; workflow: WorkflowFigures }> {
  const tools = await Promise.all(
    c.tools.map(async (tool) => ({ tool, direct: await DIRECT[tool](workspace.target), runs: [] as number[] })),
  );
  // Untimed warm-ups. Direct: caches (go build cache, page cache) as warm as the worker's.
  for (const t of tools) {
    note(`  ${c.workflow} direct ${t.tool} warm-up: ${secs(await runDirect(t.direct, t.tool, scratchRoot))} s`);
  }
  // Workflow: the first run uploads the workspace and materialises the target in the workers'
  // caches. Repeated (3 times at most) until no tool fails: an activity that failed before its
  // worker had the tree (as when workers shared one cache folder and replaced each other's trees
  // under running tools) would leave a materialisation to be paid by a timed run. Failures are
  // printed as untimed.
  const warmupErrors: string[] = [];
  for (let attempt = 1; attempt <= 3; attempt++) {
    const warm = await runWorkflow(backend, c.workflow, workspace.workspace, false);
    const failed = failures(warm.summary, `warm-up ${attempt}`);
    note(`  ${c.workflow} warm-up ${attempt}: ${secs(warm.totalMs)} s, ${warm.summary.total} results`);
    warmupErrors.push(...failed);
    if (failed.length === 0) {
      break;
    }
  }
  const errors: string[] = [];
  const runs: WorkflowRun[] = [];
  for (let i = 1; i <= RUNS; i++) {
    for (const t of tools) {
      const ms = await runDirect(t.direct, t.tool, scratchRoot);
      note(`  ${c.workflow} direct ${t.tool} run ${i}/${RUNS}: ${secs(ms)} s`);
      t.runs.push(ms);
    }
    const r = await runWorkflow(backend, c.workflow, workspace.workspace, false);
    errors.push(...failures(r.summary, `run ${i}`));
    note(
      `  ${c.workflow} run ${i}/${RUNS}: ${secs(r.totalMs)} s (startScan ${secs(r.startMs)} s), ${r.summary.total} results`,
    );
    runs.push(r);
  }
  // Default baseline: the last completed run of this workspace and workflow, i.e. the last one above.
  const based = await runWorkflow(backend, c.workflow, workspace.workspace, undefined);
  errors.push(...failures(based.summary, 'baseline run'));
  note(`  ${c.workflow} with baseline: ${secs(based.totalMs)} s`);
  const byTime = [...runs].sort((a, b) => a.totalMs - b.totalMs);
  const mid = byTime[Math.floor((byTime.length - 1) / 2)] as WorkflowRun;
  const plain = await breakdown(backend, mid.runId);
  return {
    tools: tools.map((t) => ({ tool: t.tool, files: t.direct.files, runs: t.runs, median: median(t.runs) })),
    workflow: {
      runs: runs.map((r) => r.totalMs),
      median: median(runs.map((r) => r.totalMs)),
      startMedian: median(runs.map((r) => r.startMs)),
      results: mid.summary.total,
      toolErrors: errors,
      warmupErrors,
      breakdown: plain.text,
      mergeMs: plain.mergeMs,
      mergeWithBaselineMs: (await breakdown(backend, based.runId)).mergeMs,
      withBaseline: based.totalMs,
      baseline: based.summary.baseline,
    },
  };
}

function machineLine(): string {
  const cpus = os.cpus();
  const model = cpus[0]?.model.replace(/\s+/g, ' ').trim() ?? 'unknown CPU';
  return (
    `machine: ${os.availableParallelism()} cores (${model}), ${formatBytes(os.totalmem())} memory, ` +
    `node ${process.version}, ${os.type()} ${os.release()}`
  );
}

function table(rows: readonly string[][]): string[] {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
  // Text left-aligned, figures right-aligned.
  const cell = (text: string, c: number) => (c < 2 ? text.padEnd(widths[c] ?? 0) : text.padStart(widths[c] ?? 0));
  const lines = rows.map((r) => r.map(cell).join(' | ').trimEnd());
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('-|-'));
  return lines;
}

function baselineText(figures: WorkflowFigures): string {
  const b = figures.baseline;
  if (!b) {
    return 'no baseline matching in the result';
  }
  if (b.error) {
    return `baseline matching failed: ${b.error}`;
  }
  return `baseline ${b.new} new, ${b.unchanged} unchanged, ${b.updated} updated, ${b.absent} absent`;
}

/**
 * The state folder of the harness's backend, <tmp>/ff-it-XXXX/state: startTestBackend sets
 * FUZZFORGE_STATE_DIR to it before it starts anything, so it is known even when it fails midway.
 */
function harnessStateDir(before: string | undefined): string | undefined {
  const state = process.env.FUZZFORGE_STATE_DIR;
  const root = state ? path.dirname(state) : '';
  return state && state !== before && path.dirname(root) === os.tmpdir() && path.basename(root).startsWith('ff-it-')
    ? state
    : undefined;
}

/** Whether a process runs; a zombie (exited, not reaped while this process is blocked) does not. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.charAt(stat.lastIndexOf(')') + 2) !== 'Z';
  } catch {
    return true;
  }
}

/**
 * Stop the backend the harness started and wait for it, synchronously: an exit handler cannot
 * await, and a supervisor still shutting down would write into its folder again once removed.
 * Like stopEmbedded: SIGTERM, a grace period, then SIGKILL for it and the children it recorded.
 */
function stopBackendSync(stateDir: string, graceMs = 20_000): void {
  const state = readState(stateDir);
  if (!state) {
    return;
  }
  const pause = new Int32Array(new SharedArrayBuffer(4));
  const deadline = Date.now() + graceMs;
  try {
    process.kill(state.supervisorPid, 'SIGTERM');
  } catch {
    // Already gone.
  }
  while (alive(state.supervisorPid) && Date.now() < deadline) {
    Atomics.wait(pause, 0, 0, 100);
  }
  for (const pid of [state.supervisorPid, state.temporal.pid, state.storage.pid, ...state.workers.map((w) => w.pid)]) {
    if (pid && alive(pid)) {
      process.kill(pid, 'SIGKILL');
    }
  }
}

/** The workers the measured workflows need: full_scan's children run on every vertical. */
function neededVerticals(): string[] {
  if (CASES.some((c) => c.workflow === 'full_scan')) {
    return ['generic', 'python', 'node', 'go', 'cpp'];
  }
  return [...new Set(CASES.map((c) => findWorkflow(toolboxDir(), c.workflow).vertical))];
}

interface Ws {
  /** The generated workspace that is uploaded. */
  workspace: string;
  /** A copy of what the upload sends, for the direct runs. */
  target: string;
  files: number;
}

async function main(): Promise<void> {
  if (UNKNOWN.length > 0 || CASES.length === 0) {
    throw new Error(
      `BENCH_WORKFLOWS: no such workflow ${UNKNOWN.join(', ')} (${ALL_CASES.map((c) => c.workflow).join(', ')})`,
    );
  }
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-bench-static-'));
  const stateDirBefore = process.env.FUZZFORGE_STATE_DIR;
  let backend: TestBackend | undefined;
  let stopped = false;
  // However the process ends (an error, Ctrl-C): no tool left running, the backend stopped (the
  // harness only signals it, and only once startTestBackend has returned), no temp folder left.
  const cleanup = () => {
    for (const child of children) {
      child.kill('SIGKILL');
    }
    const stateDir = backend?.stateDir ?? harnessStateDir(stateDirBefore);
    if (stateDir && !stopped) {
      stopBackendSync(stateDir);
    }
    for (const dir of [scratch, stateDir && path.dirname(stateDir)]) {
      try {
        if (dir) {
          fs.rmSync(dir, { recursive: true, force: true });
        }
      } catch (err) {
        // An exit handler must not throw; say what is left behind instead.
        console.error(`could not remove ${dir}: ${(err as Error).message}`);
      }
    }
  };
  process.once('exit', cleanup);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => process.exit(130));
  }
  const lines: string[] = [];
  const say = (line: string) => {
    lines.push(line);
    console.log(line);
  };
  try {
    // The fixtures import only the standard library: no module download may slow either side.
    // Set before the backend starts so that its workers inherit it too.
    process.env.GOPROXY = 'off';
    say(machineLine());
    say(
      `workspaces: test/fixtures replicated ${COPIES}x (BENCH_COPIES); ${RUNS} timed runs each (BENCH_RUNS), medians`,
    );

    note(`generating workspaces in ${scratch}`);
    const workspaces = new Map<string, Ws>();
    for (const c of CASES) {
      const workspace = path.join(scratch, 'workspaces', c.workflow);
      generateWorkspace(workspace, c.fixtures, COPIES);
      const target = path.join(scratch, 'targets', c.workflow);
      const files = await materialiseTarget(workspace, target);
      workspaces.set(c.workflow, { workspace, target, files });
    }

    note('starting the backend (workers bundle the toolbox first)');
    backend = await startTestBackend({ verticals: neededVerticals() });
    const toolScratch = path.join(scratch, 'tool-output');
    fs.mkdirSync(toolScratch);
    const direct = new Map<string, ToolFigures[]>();
    const workflows = new Map<string, WorkflowFigures>();
    for (const c of CASES) {
      const measured = await measureCase(backend, c, workspaces.get(c.workflow) as Ws, toolScratch);
      direct.set(c.workflow, measured.tools);
      workflows.set(c.workflow, measured.workflow);
    }

    say('');
    say(`direct tool runs (same files and arguments as the activities; median of ${RUNS} after a warm-up run):`);
    for (const c of CASES) {
      for (const f of direct.get(c.workflow) ?? []) {
        const inProcess = f.tool.startsWith('fuzzforge-') ? ' (in-process)' : '';
        say(
          `  ${c.workflow.padEnd(19)} ${`${f.tool}${inProcess}`.padEnd(31)} ${String(f.files).padStart(5)} files  ` +
            `${secs(f.median).padStart(6)} s  (${f.runs.map(secs).join(', ')})`,
        );
      }
    }
    say('');
    say('workflow runs (startScan to merged SARIF fetched, warm worker cache, baseline: false):');
    for (const c of CASES) {
      const f = workflows.get(c.workflow) as WorkflowFigures;
      say(
        `  ${c.workflow.padEnd(19)} ${secs(f.median).padStart(6)} s  (${f.runs.map(secs).join(', ')}), ` +
          `of which startScan ${secs(f.startMedian)} s; ${f.results} results; ` +
          `with baseline ${secs(f.withBaseline)} s (mergeSarif ${secs(f.mergeMs)} -> ${secs(f.mergeWithBaselineMs)} s): ` +
          baselineText(f),
      );
      say(`    ${f.breakdown}`);
      for (const error of f.warmupErrors) {
        say(`    (untimed) tool failed in ${error}`);
      }
      for (const error of f.toolErrors) {
        say(`    NOT COMPARABLE, tool failed in ${error}`);
      }
    }

    say('');
    const rows = [
      ['workflow', 'tools', 'files', 'workflow median s', 'direct (sum of tools) s', 'ratio', 'with-baseline s'],
    ];
    for (const c of CASES) {
      const w = workflows.get(c.workflow) as WorkflowFigures;
      const tools = direct.get(c.workflow) as ToolFigures[];
      const sum = tools.reduce((s, t) => s + t.median, 0);
      rows.push([
        c.workflow,
        c.tools === ALL_TOOLS ? `all ${ALL_TOOLS.length} above` : c.tools.join(', '),
        String(workspaces.get(c.workflow)?.files ?? 0),
        secs(w.median),
        secs(sum),
        (w.median / sum).toFixed(2),
        secs(w.withBaseline),
      ]);
    }
    for (const line of table(rows)) {
      say(line);
    }
    say('');
    say(
      'files: in the uploaded workspace; ratio: workflow median / direct sum (below 1: the workflow ran its tools in ' +
        'parallel); with-baseline: one run matched against the previous one with sarif-multitool',
    );
  } finally {
    const out = process.env.BENCH_OUT;
    if (out && lines.length > 0) {
      fs.writeFileSync(out, `${lines.join('\n')}\n`);
    }
    await backend?.stop();
    stopped = true;
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
