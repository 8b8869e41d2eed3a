// The four fuzzing engines as the campaign runs them: the harness side (discover, build, replay)
// comes from backend/fuzz/harnesses.ts, which the backend's crash replay uses too; this file adds
// what only a worker does: fuzz, collect crash inputs, minimise, parse stats, describe a reproduction.
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  goEnv,
  goFuncName,
  HARNESS_ENGINES,
  parentOf,
  pythonEnv,
  pythonFor,
  quote,
  shellLine,
  cargoBinary,
  type CampaignDirs,
  type Command,
  type HarnessEngine,
} from '../../../backend/fuzz/harnesses';
import type { FuzzEngineName, FuzzParams, Harness } from '../../shared/fuzzing';
import { parseGoFuzzLine, parseLibFuzzerLine, type FuzzStats } from './parse';

// The toolbox and its tests name these through the engines.
export {
  BuildError,
  HARNESS_CONVENTION,
  pythonFor,
  runQuick,
  selectHarnesses,
  shellLine,
  walk,
  type CampaignDirs,
  type Command,
} from '../../../backend/fuzz/harnesses';

export interface RunLimits {
  seconds?: number;
  runs?: number;
  params: FuzzParams;
  /** Absolute paths (already resolved inside the work copy). */
  dictionary?: string;
  seeds?: string;
}

export interface FuzzEngine extends HarnessEngine {
  fuzzCommand(h: Harness, dirs: CampaignDirs, limits: RunLimits): Command;
  /** Inputs of a crash the engine wrote into `dirs` after a run (absolute paths). */
  crashInputs(h: Harness, dirs: CampaignDirs, output: string): Promise<string[]>;
  /** Minimise a crashing input into `out`, when the engine can. */
  minimizeCommand?(h: Harness, dirs: CampaignDirs, input: string, out: string, seconds: number): Command;
  /** The command a person runs from the workspace root to reproduce `input` (a relative path). */
  reproduceText(h: Harness, input: string, params: FuzzParams, build?: string): string;
  parseStats(line: string): FuzzStats | undefined;
  /** Files of the engine's corpus (the go engine keeps its own format under `corpus`). */
  corpusDir(h: Harness, dirs: CampaignDirs): string;
}

function libFuzzerArgs(dirs: CampaignDirs, limits: RunLimits): string[] {
  const p = limits.params;
  const args = [
    `-artifact_prefix=${dirs.artifacts}${path.sep}`,
    `-timeout=${Math.max(1, Math.round(p.timeout_per_input))}`,
    `-rss_limit_mb=${Math.max(0, Math.round(p.rss_limit_mb))}`,
    '-print_final_stats=1',
  ];
  if (limits.seconds !== undefined) {
    args.push(`-max_total_time=${Math.max(1, Math.ceil(limits.seconds))}`);
  }
  if (limits.runs !== undefined && limits.runs > 0) {
    args.push(`-runs=${limits.runs}`);
  }
  if (limits.dictionary) {
    args.push(`-dict=${limits.dictionary}`);
  }
  if (p.jobs > 1) {
    args.push(`-fork=${p.jobs}`);
  }
  args.push(dirs.corpus);
  if (limits.seeds) {
    args.push(limits.seeds);
  }
  return args;
}

/** New files named crash-/timeout-/oom-/leak- in the artifact folder. */
async function libFuzzerArtifacts(dirs: CampaignDirs): Promise<string[]> {
  const names = await fs.promises.readdir(dirs.artifacts).catch(() => [] as string[]);
  return names.filter((n) => /^(crash|timeout|oom|leak)-/.test(n)).map((n) => path.join(dirs.artifacts, n));
}

const atheris: FuzzEngine = {
  ...HARNESS_ENGINES.atheris,
  fuzzCommand(h, dirs, limits) {
    return {
      command: pythonFor(),
      args: [path.join(dirs.work, h.file), ...libFuzzerArgs(dirs, limits)],
      cwd: path.join(dirs.work, h.dir),
      env: pythonEnv(dirs, h),
    };
  },
  crashInputs: (_h, dirs) => libFuzzerArtifacts(dirs),
  minimizeCommand(h, dirs, input, out, seconds) {
    return {
      command: pythonFor(),
      args: [
        path.join(dirs.work, h.file),
        '-minimize_crash=1',
        `-max_total_time=${seconds}`,
        `-exact_artifact_path=${out}`,
        input,
      ],
      cwd: path.join(dirs.work, h.dir),
      env: pythonEnv(dirs, h),
    };
  },
  // The python atheris is installed in (fuzzforge setup --tools puts it in the tools virtualenv).
  reproduceText: (h, input) => shellLine([pythonFor(), h.file, input]),
  parseStats: parseLibFuzzerLine,
  corpusDir: (_h, dirs) => dirs.corpus,
};

const cargoFuzz: FuzzEngine = {
  ...HARNESS_ENGINES['cargo-fuzz'],
  fuzzCommand(h, dirs, limits) {
    // The panic message names file:line and ASan prints the stack; Rust's own backtrace only
    // slows every crash down (symbolisation) and so the campaign's restarts.
    return {
      command: cargoBinary(h, dirs),
      args: libFuzzerArgs(dirs, limits),
      cwd: dirs.work,
      env: { RUST_BACKTRACE: '0' },
    };
  },
  crashInputs: (_h, dirs) => libFuzzerArtifacts(dirs),
  minimizeCommand: (h, dirs, input, out, seconds) => ({
    command: cargoBinary(h, dirs),
    args: ['-minimize_crash=1', `-max_total_time=${seconds}`, `-exact_artifact_path=${out}`, input],
    cwd: dirs.work,
  }),
  reproduceText: (h, input) =>
    `cd ${quote(parentOf(h.dir) || '.')} && ${shellLine(['cargo', 'fuzz', 'run', '--fuzz-dir', path.posix.basename(h.dir), h.name, path.posix.relative(parentOf(h.dir) || '.', input)])}`,
  parseStats: parseLibFuzzerLine,
  corpusDir: (_h, dirs) => dirs.corpus,
};

const libFuzzer: FuzzEngine = {
  ...HARNESS_ENGINES.libfuzzer,
  fuzzCommand: (h, dirs, limits) => ({
    command: path.join(dirs.build, h.name),
    args: libFuzzerArgs(dirs, limits),
    cwd: dirs.work,
  }),
  crashInputs: (_h, dirs) => libFuzzerArtifacts(dirs),
  minimizeCommand: (h, dirs, input, out, seconds) => ({
    command: path.join(dirs.build, h.name),
    args: ['-minimize_crash=1', `-max_total_time=${seconds}`, `-exact_artifact_path=${out}`, input],
    cwd: dirs.work,
  }),
  reproduceText: (h, input, _params, build) => `${build ? `${build} && ` : ''}/tmp/ff-out/${h.name} ${quote(input)}`,
  parseStats: parseLibFuzzerLine,
  corpusDir: (_h, dirs) => dirs.corpus,
};

const goFuzz: FuzzEngine = {
  ...HARNESS_ENGINES['go-fuzz'],
  fuzzCommand(h, dirs, limits) {
    const fn = goFuncName(h);
    const fuzztime =
      limits.runs !== undefined && limits.runs > 0
        ? `${limits.runs}x`
        : `${Math.max(1, Math.ceil(limits.seconds ?? 60))}s`;
    return {
      command: 'go',
      args: [
        'test',
        '-run',
        '^$',
        '-fuzz',
        `^${fn}$`,
        `-fuzztime=${fuzztime}`,
        `-parallel=${Math.max(1, limits.params.jobs)}`,
        `-test.fuzzcachedir=${dirs.corpus}`,
        '.',
      ],
      cwd: path.join(dirs.work, h.dir),
      env: goEnv(),
    };
  },
  crashInputs(h, dirs, output) {
    const m = /Failing input written to (\S+)/.exec(output);
    const file = m ? path.join(dirs.work, h.dir, m[1] as string) : undefined;
    return Promise.resolve(file && fs.existsSync(file) ? [file] : []);
  },
  reproduceText: (h, input) => {
    const fn = goFuncName(h);
    const base = path.posix.basename(input);
    return `mkdir -p ${h.dir}/testdata/fuzz/${fn} && cp ${quote(input)} ${h.dir}/testdata/fuzz/${fn}/${base} && (cd ${quote(h.dir)} && go test -run='^${fn}$/^${base}$' .)`;
  },
  parseStats: parseGoFuzzLine,
  corpusDir: (h, dirs) => path.join(dirs.corpus, goFuncName(h)),
};

export const ENGINES: Record<FuzzEngineName, FuzzEngine> = {
  atheris,
  'cargo-fuzz': cargoFuzz,
  libfuzzer: libFuzzer,
  'go-fuzz': goFuzz,
};
