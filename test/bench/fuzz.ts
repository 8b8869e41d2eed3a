// `npm run bench:fuzz`: what running a fuzzer as a FuzzForge workflow costs. Prints figures,
// asserts nothing. For each engine, on its fixture with the known bug fixed (so one fuzzer process
// runs the whole time, as in a real campaign):
//   - direct: the harness built by the same engine code, run from a shell-like child process for
//     BENCH_SECONDS with the same libFuzzer/go flags; executions per second = its own count
//     (libFuzzer's stat::number_of_executed_units / go's last progress line) / the process's wall
//     time (start-up included; for go that includes compiling the test binary);
//   - workflow: the same harness fuzzed by the *_fuzzing workflow on a real backend for the same
//     time, executions per second = final execs / fuzzing seconds (the harness build before the
//     clock starts is excluded, as it is from the direct run; go's test compile is in both);
//   - stats staleness: while the workflow runs, the client asks the `stats` query every second (as
//     `fuzzforge stats --follow` does);
//     staleness = now - the sample's timestamp (p50/p95/max).
//   - executions per CPU second of the fuzzer's processes (build included, on both sides): what
//     running under the worker costs the fuzzer itself, whatever share of the machine it got
//     (from /proc: cutime/cstime of the bench process for the direct run, of the worker host for
//     the workflow run);
//   - backend CPU: CPU seconds the backend's own processes (supervisor, Temporal, MinIO, worker
//     host; not the fuzzer) used during each run: what the worker takes beside the fuzzer.
// Each round runs the direct and the workflow run back to back, alternating which goes first, and
// the ratio is taken within the round (workflow / direct); the table gives the median and spread of
// those ratios over BENCH_ROUNDS rounds, so a drift in the machine's load hits both sides of a pair.
// Every run starts from the same corpus, grown once per engine by a BENCH_CORPUS_SECONDS-second direct run
// (60, and 300 for go-fuzz; 0 = the fixture's seeds only). Go's needs longer: from a 60 s corpus
// go test -fuzz still finds new inputs often and stops counting while it minimises each, so its
// rounds were bimodal (1-3 k or 55-69 k exec/s on either side); from 300 s they were not.
// Settings: BENCH_SECONDS (20), BENCH_ROUNDS (7), BENCH_CORPUS_SECONDS (60; 300 for go-fuzz), BENCH_ENGINES (comma list: libfuzzer,atheris,go-fuzz,cargo-fuzz).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fuzzStats } from '../../backend/fuzzing';
import { toolboxDir } from '../../backend/paths';
import { awaitScan, findWorkflow, startScan } from '../../backend/scan';
import { ENGINES, runQuick, type CampaignDirs } from '../../toolbox/modules/fuzzing/engines';
import { parseGoFuzzLine } from '../../toolbox/modules/fuzzing/parse';
import type { BackendState } from '../../backend/services/state';
import type { FuzzEngineName, FuzzParams } from '../../toolbox/shared/fuzzing';
import { copyFixture, startTestBackend } from '../integration/harness';
import { saveResult } from './results';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
/** How long the starting corpus of an engine is grown (BENCH_CORPUS_SECONDS, when set, for every engine). */
function corpusSeconds(engine: FuzzEngineName): number {
  const set = process.env.BENCH_CORPUS_SECONDS;
  return set !== undefined && set !== '' ? Number(set) : engine === 'go-fuzz' ? 300 : 60;
}
/** The fuzz function of the go fixture. */
const GO_FUZZ_FUNC = 'FuzzParse';

interface Case {
  engine: FuzzEngineName;
  workflow: string;
  fixture: string;
  /** The bug's line and its fix. */
  file: string;
  from: string;
  to: string;
}

const CASES: Case[] = [
  {
    engine: 'libfuzzer',
    workflow: 'libfuzzer_fuzzing',
    fixture: 'fuzz-cpp',
    file: 'src/parse.cc',
    from: 'size_t len = data[off];',
    to: 'if (off >= size) return -1;\n    size_t len = data[off];',
  },
  {
    engine: 'atheris',
    workflow: 'atheris_fuzzing',
    fixture: 'fuzz-python',
    file: 'parser.py',
    from: '        length = data[off]',
    to: '        if off >= len(data):\n            return None\n        length = data[off]',
  },
  {
    engine: 'go-fuzz',
    workflow: 'go_fuzzing',
    fixture: 'fuzz-go',
    file: 'parse.go',
    from: '\t\tn := int(data[off])',
    to: '\t\tif off >= len(data) {\n\t\t\treturn nil, ErrTruncated\n\t\t}\n\t\tn := int(data[off])',
  },
  {
    engine: 'cargo-fuzz',
    workflow: 'cargo_fuzzing',
    fixture: 'fuzz-rust',
    file: 'src/lib.rs',
    from: '        let len = data[off] as usize;',
    to: '        if off >= data.len() {\n            return Err(ParseError::Truncated);\n        }\n        let len = data[off] as usize;',
  },
];

const PARAMS: FuzzParams = {
  max_total_time: SECONDS,
  max_executions: 0,
  timeout_per_input: 10,
  rss_limit_mb: 2048,
  jobs: 1,
  persist_corpus: false,
  minimize_time: 0,
};

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/**
 * CPU seconds (user + system) of a live process from /proc: its own, or that of the children it
 * has waited for (`children`); 0 when it is gone or unreadable.
 */
function cpuSeconds(pid: number | 'self' | undefined, children = false): number {
  if (!pid) {
    return 0;
  }
  try {
    // Fields after the command name (which may hold spaces): the state is field 3, utime/stime
    // fields 14/15, cutime/cstime 16/17, in clock ticks (100 a second on Linux).
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const at = children ? 13 : 11;
    return (Number(fields[at]) + Number(fields[at + 1])) / 100;
  } catch {
    return 0;
  }
}

/** The backend's long-lived processes (one worker host may serve several verticals). */
function backendPids(s: BackendState): number[] {
  const pids = [s.supervisorPid, s.temporal.pid, s.storage.pid, ...s.workers.map((w) => w.pid)];
  return [...new Set(pids.filter((p): p is number => p !== undefined))];
}

/** The live children of a process (its activity process, for a worker host). */
function childPids(pid: number): number[] {
  try {
    return fs
      .readdirSync(`/proc/${pid}/task`)
      .flatMap((task) => fs.readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' '))
      .filter((p) => p.trim() !== '')
      .map(Number);
  } catch {
    return [];
  }
}

/**
 * CPU seconds the backend's processes used themselves, and the tools their workers ran: the
 * children a worker reaped, and those its activity process (where the tools start; it stays up
 * between runs) reaped.
 */
function backendCpu(s: BackendState): { own: number; tools: number } {
  const workers = new Set(s.workers.map((w) => w.pid).filter((p): p is number => p !== undefined));
  const reapers = [...workers].flatMap((pid) => [pid, ...childPids(pid)]);
  return {
    own: backendPids(s).reduce((sum, pid) => sum + cpuSeconds(pid), 0),
    tools: reapers.reduce<number>((sum, pid) => sum + cpuSeconds(pid, true), 0),
  };
}

function spread(values: number[], digits: number): string {
  return `${percentile(values, 50).toFixed(digits)} (${Math.min(...values).toFixed(digits)}-${Math.max(...values).toFixed(digits)})`;
}

function fixedWorkspace(c: Case, root: string): string {
  const ws = copyFixture(c.fixture, path.join(root, c.fixture));
  const file = path.join(ws, c.file);
  const text = fs.readFileSync(file, 'utf8');
  if (!text.includes(c.from)) {
    throw new Error(`${c.file} of ${c.fixture} no longer has the line the benchmark fixes: ${c.from}`);
  }
  fs.writeFileSync(file, text.replace(c.from, c.to));
  return ws;
}

/**
 * Put the starting corpus into a workspace where both sides read it: go's seed folder
 * (testdata/fuzz/<Fuzz>/, same file format as its cache), else a folder given as seed_corpus.
 */
function withCorpus(c: Case, ws: string, corpus: string): void {
  const dest = c.engine === 'go-fuzz' ? path.join(ws, 'testdata', 'fuzz', GO_FUZZ_FUNC) : path.join(ws, SEED_DIR);
  if (c.engine === 'go-fuzz') {
    // The fixture's .gitignore leaves testdata/fuzz/ out of an upload: the workflow's copy would
    // start from the two f.Add seeds while the direct run starts from the grown corpus.
    fs.rmSync(path.join(ws, '.gitignore'), { force: true });
  }
  fs.mkdirSync(dest, { recursive: true });
  for (const name of fs.readdirSync(corpus)) {
    fs.copyFileSync(path.join(corpus, name), path.join(dest, name));
  }
}

/** What one run did: executions, seconds it fuzzed, CPU seconds of its processes (build included). */
interface RunFigures {
  execs: number;
  seconds: number;
  cpu: number;
}

/** Folder of the starting corpus in a libFuzzer-family workspace (given as `seed_corpus`). */
const SEED_DIR = 'bench-corpus';

/**
 * The fuzzer run directly, with its own statistics; `seconds` long, from the starting corpus
 * `withCorpus` put into the workspace. Leaves the corpus it grew in `root`/corpus-<engine>.
 */
async function direct(c: Case, ws: string, root: string, seconds = SECONDS): Promise<RunFigures> {
  const engine = ENGINES[c.engine];
  const h = (await engine.discover(ws))[0];
  if (!h) {
    throw new Error(`no harness in ${ws}`);
  }
  const dirs: CampaignDirs = {
    work: ws,
    build: path.join(root, `build-${c.engine}`),
    corpus: path.join(root, `corpus-${c.engine}`),
    artifacts: path.join(root, `artifacts-${c.engine}`),
  };
  for (const d of [dirs.build, dirs.corpus, dirs.artifacts]) {
    fs.mkdirSync(d, { recursive: true });
  }
  const cpuBefore = cpuSeconds('self', true);
  await engine.build(h, dirs, PARAMS);
  const seeds = path.join(ws, SEED_DIR);
  const cmd = engine.fuzzCommand(h, dirs, {
    params: PARAMS,
    seconds,
    ...(fs.existsSync(seeds) ? { seeds } : {}),
  });
  const started = Date.now();
  const res = await runQuick(cmd.command, cmd.args, cmd.cwd, cmd.env ?? {});
  const wall = (Date.now() - started) / 1000;
  const cpu = cpuSeconds('self', true) - cpuBefore;
  // Wall time of the process, start-up included, as the workflow side counts it.
  const units = /stat::number_of_executed_units:\s*(\d+)/.exec(res.output);
  if (units) {
    return { execs: Number(units[1]), seconds: wall, cpu };
  }
  const lines = res.output
    .split('\n')
    .map(parseGoFuzzLine)
    .filter((s) => s?.execs !== undefined);
  const last = lines[lines.length - 1];
  if (!last?.execs) {
    throw new Error(
      `no statistics from the direct ${c.engine} run (exit ${res.code}, ${wall}s):\n${res.output.slice(-2000)}`,
    );
  }
  return { execs: last.execs, seconds: wall, cpu };
}

async function main(): Promise<void> {
  const only = process.env.BENCH_ENGINES?.split(',');
  const cases = CASES.filter((c) => !only || only.includes(c.engine));
  const backend = await startTestBackend({ verticals: ['cpp', 'python', 'go', 'rust'] });
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-bench-fuzz-'));
  const rows: string[][] = [];
  /** Workflow exec/s over direct exec/s, median of the rounds, per engine. */
  const engineRatios: Record<string, number> = {};
  try {
    for (const c of cases) {
      const directRuns: RunFigures[] = [];
      const workflowRuns: RunFigures[] = [];
      /** Per round: workflow / direct exec/s, and workflow / direct executions per fuzzer CPU second. */
      const ratios: number[] = [];
      const cpuRatios: number[] = [];
      /** Per run: CPU seconds of the backend's own processes (not the fuzzer). */
      const directBackendCpu: number[] = [];
      const workflowBackendCpu: number[] = [];
      const staleness: number[] = [];
      // A corpus grown once, the starting point of every run: runs then measure steady fuzzing
      // rather than how soon each happens on the fixture's few branches (go stops fuzzing to
      // minimise every new input, so from an empty corpus its rate varies several-fold).
      let corpus: string | undefined;
      const growSeconds = corpusSeconds(c.engine);
      if (growSeconds > 0) {
        const warmRoot = path.join(root, 'warmup');
        process.stderr.write(`${c.engine}: growing the starting corpus (${growSeconds}s)...\n`);
        await direct(c, fixedWorkspace(c, warmRoot), warmRoot, growSeconds);
        corpus = path.join(warmRoot, `corpus-${c.engine}`, ...(c.engine === 'go-fuzz' ? [GO_FUZZ_FUNC] : []));
      }
      const workspace = (dir: string): string => {
        const ws = fixedWorkspace(c, dir);
        if (corpus) {
          withCorpus(c, ws, corpus);
        }
        return ws;
      };
      for (let round = 1; round <= ROUNDS; round++) {
        const ws = workspace(path.join(root, `direct-${round}`));
        // Alternate which side goes first, so a drift in machine load does not favour one.
        const runDirect = async () => {
          process.stderr.write(`${c.engine} ${round}/${ROUNDS}: direct run (${SECONDS}s)...\n`);
          const before = backendCpu(backend.state);
          directRuns.push(await direct(c, ws, path.join(root, `direct-${round}`)));
          directBackendCpu.push(backendCpu(backend.state).own - before.own);
        };
        if (round % 2 === 1) {
          await runDirect();
        }
        process.stderr.write(`${c.engine} ${round}/${ROUNDS}: workflow run (${SECONDS}s)...\n`);
        const before = backendCpu(backend.state);
        const wsWorkflow = workspace(path.join(root, `wf-${round}`));
        const wf = findWorkflow(toolboxDir(), c.workflow);
        const { run } = await startScan(backend.conn, backend.runs, {
          path: wsWorkflow,
          workflow: wf,
          params: {
            max_total_time: SECONDS,
            persist_corpus: false,
            minimize_time: 0,
            ...(corpus && c.engine !== 'go-fuzz' ? { seed_corpus: SEED_DIR } : {}),
          },
        });
        for (;;) {
          const info = await backend.runs.describe(run.runId);
          if (info.status !== 'running') {
            break;
          }
          const view = await fuzzStats(backend.runs, run.runId).catch(() => undefined);
          if (view?.phase === 'fuzzing' && view.latest && view.latest.execs > 0) {
            staleness.push((Date.now() - view.latest.at) / 1000);
          }
          await new Promise((r) => setTimeout(r, 1000));
        }
        const { summary } = await awaitScan(backend.conn, backend.runs, run.runId);
        const last = summary.fuzzing?.harnesses[0];
        const after = backendCpu(backend.state);
        workflowRuns.push({
          execs: last?.execs ?? NaN,
          seconds: last?.elapsedSec ?? NaN,
          cpu: after.tools - before.tools,
        });
        workflowBackendCpu.push(after.own - before.own);
        if (round % 2 === 0) {
          await runDirect();
        }
        const d = directRuns[round - 1] as RunFigures;
        const w = workflowRuns[round - 1] as RunFigures;
        ratios.push(w.execs / w.seconds / (d.execs / d.seconds));
        cpuRatios.push(w.execs / w.cpu / (d.execs / d.cpu));
        process.stderr.write(
          `${c.engine} ${round}/${ROUNDS}: exec/s direct ${(d.execs / d.seconds).toFixed(0)}, workflow ${(w.execs / w.seconds).toFixed(0)}, ratio ${(ratios[round - 1] as number).toFixed(2)}; ` +
            `exec per CPU s ratio ${(cpuRatios[round - 1] as number).toFixed(2)}; backend CPU s ${(directBackendCpu[round - 1] as number).toFixed(1)} / ${(workflowBackendCpu[round - 1] as number).toFixed(1)}; load ${(os.loadavg()[0] as number).toFixed(1)}\n`,
        );
      }
      const rate = (r: RunFigures) => r.execs / r.seconds;
      engineRatios[c.engine] = percentile(ratios, 50);
      // The spread too: a median of rounds that range several-fold settles nothing.
      engineRatios[`${c.engine}:min`] = Math.min(...ratios);
      engineRatios[`${c.engine}:max`] = Math.max(...ratios);
      engineRatios[`${c.engine}:rounds`] = ratios.length;
      // And the middle half: with many rounds, one in which either side was minimising (go
      // test -fuzz stops counting meanwhile, shell and worker alike) sets min or max on its own.
      engineRatios[`${c.engine}:q1`] = percentile(ratios, 25);
      engineRatios[`${c.engine}:q3`] = percentile(ratios, 75);
      rows.push([
        c.engine,
        `${percentile(directRuns.map(rate), 50).toFixed(0)} (${directRuns.map((r) => rate(r).toFixed(0)).join(', ')})`,
        `${percentile(workflowRuns.map(rate), 50).toFixed(0)} (${workflowRuns.map((r) => rate(r).toFixed(0)).join(', ')})`,
        spread(ratios, 2),
        spread(cpuRatios, 2),
        `${spread(directBackendCpu, 1)} / ${spread(workflowBackendCpu, 1)}`,
        staleness.length > 0
          ? `${percentile(staleness, 50).toFixed(2)} / ${percentile(staleness, 95).toFixed(2)} / ${Math.max(...staleness).toFixed(2)}`
          : '-',
        String(staleness.length),
      ]);
    }
  } finally {
    await backend.stop();
    fs.rmSync(root, { recursive: true, force: true });
  }
  if (Object.keys(engineRatios).length > 0) {
    // Read by `npm run bench` (test/bench/run.ts).
    saveResult('fuzz', engineRatios);
  }
  const header = [
    'engine',
    'direct exec/s median (runs)',
    'workflow exec/s median (runs)',
    'exec/s ratio per round, median (min-max)',
    'exec per fuzzer CPU s ratio per round',
    'backend CPU s per run, direct / workflow',
    'stats staleness s p50/p95/max',
    'queries',
  ];
  console.log(
    `fuzzing benchmark: ${SECONDS}s per run, ${ROUNDS} interleaved rounds, ${os.cpus().length} cores, fixtures with the bug fixed`,
  );
  console.log(`| ${header.join(' | ')} |\n| ${header.map(() => '---').join(' | ')} |`);
  for (const r of rows) {
    console.log(`| ${r.join(' | ')} |`);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
