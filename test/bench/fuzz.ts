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
// Direct and workflow runs alternate BENCH_ROUNDS times per engine and the medians are compared, so
// a burst of load from elsewhere on the machine hits both sides alike.
// Settings: BENCH_SECONDS (20), BENCH_ROUNDS (3), BENCH_ENGINES (comma list: libfuzzer,atheris,go-fuzz,cargo-fuzz).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fuzzStats } from '../../backend/fuzzing';
import { toolboxDir } from '../../backend/paths';
import { awaitScan, findWorkflow, startScan } from '../../backend/scan';
import { ENGINES, runQuick, type CampaignDirs } from '../../toolbox/modules/fuzzing/engines';
import { parseGoFuzzLine } from '../../toolbox/modules/fuzzing/parse';
import type { FuzzEngineName, FuzzParams } from '../../toolbox/shared/fuzzing';
import { copyFixture, startTestBackend } from '../integration/harness';
import { saveResult } from './results';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

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

/** Executions per second of the fuzzer run directly, from its own statistics. */
async function direct(c: Case, ws: string, root: string): Promise<number> {
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
  await engine.build(h, dirs, PARAMS);
  const cmd = engine.fuzzCommand(h, dirs, { params: PARAMS, seconds: SECONDS });
  const started = Date.now();
  const res = await runQuick(cmd.command, cmd.args, cmd.cwd, cmd.env ?? {});
  const wall = (Date.now() - started) / 1000;
  // Wall time of the process, start-up included, as the workflow side counts it.
  const units = /stat::number_of_executed_units:\s*(\d+)/.exec(res.output);
  if (units) {
    return Number(units[1]) / wall;
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
  return last.execs / wall;
}

async function main(): Promise<void> {
  const only = process.env.BENCH_ENGINES?.split(',');
  const cases = CASES.filter((c) => !only || only.includes(c.engine));
  const backend = await startTestBackend({ verticals: ['cpp', 'python', 'go', 'rust'] });
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-bench-fuzz-'));
  const rows: string[][] = [];
  /** Workflow exec/s over direct exec/s, median of the rounds, per engine. */
  const ratios: Record<string, number> = {};
  try {
    for (const c of cases) {
      const directEps: number[] = [];
      const workflowEps: number[] = [];
      const staleness: number[] = [];
      for (let round = 1; round <= ROUNDS; round++) {
        const ws = fixedWorkspace(c, path.join(root, `direct-${round}`));
        // Alternate which side goes first, so a drift in machine load does not favour one.
        const runDirect = async () => {
          process.stderr.write(`${c.engine} ${round}/${ROUNDS}: direct run (${SECONDS}s)...\n`);
          directEps.push(await direct(c, ws, path.join(root, `direct-${round}`)));
        };
        if (round % 2 === 1) {
          await runDirect();
        }
        process.stderr.write(`${c.engine} ${round}/${ROUNDS}: workflow run (${SECONDS}s)...\n`);
        const wsWorkflow = fixedWorkspace(c, path.join(root, `wf-${round}`));
        const wf = findWorkflow(toolboxDir(), c.workflow);
        const { run } = await startScan(backend.conn, backend.runs, {
          path: wsWorkflow,
          workflow: wf,
          params: { max_total_time: SECONDS, persist_corpus: false, minimize_time: 0 },
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
        workflowEps.push(last && last.elapsedSec > 0 ? last.execs / last.elapsedSec : NaN);
        if (round % 2 === 0) {
          await runDirect();
        }
      }
      const d = percentile(directEps, 50);
      const w = percentile(workflowEps, 50);
      ratios[c.engine] = w / d;
      rows.push([
        c.engine,
        `${d.toFixed(0)} (${directEps.map((x) => x.toFixed(0)).join(', ')})`,
        `${w.toFixed(0)} (${workflowEps.map((x) => x.toFixed(0)).join(', ')})`,
        (w / d).toFixed(2),
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
  if (Object.keys(ratios).length > 0) {
    // Read by `npm run bench` (test/bench/run.ts).
    saveResult('fuzz', ratios);
  }
  const header = [
    'engine',
    'direct exec/s median (runs)',
    'workflow exec/s median (runs)',
    'ratio',
    'stats staleness s p50/p95/max',
    'queries',
  ];
  console.log(
    `fuzzing benchmark: ${SECONDS}s per run, ${ROUNDS} rounds, ${os.cpus().length} cores, fixtures with the bug fixed`,
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
