// Names and types of the fuzzing workflows, shared by workflows, activities and the backend
// client. Workflows import this file: no Node built-ins, no I/O.
import { defineQuery, defineSignal } from '@temporalio/workflow';

/** The fuzzing engines, one per vertical. */
export type FuzzEngineName = 'atheris' | 'cargo-fuzz' | 'libfuzzer' | 'go-fuzz';

/** Parameters every fuzzing workflow accepts (tool-specific ones ride along in `extra`). */
export interface FuzzParams {
  /** Harness name or path; all discovered harnesses when omitted. */
  target?: string;
  /** Seconds per harness. */
  max_total_time: number;
  /** Executions per harness (0 = no limit). */
  max_executions: number;
  /** Seconds before one input counts as a timeout. */
  timeout_per_input: number;
  rss_limit_mb: number;
  jobs: number;
  /** Dictionary file, relative to the workspace root. */
  dictionary?: string;
  /** Folder of seed inputs, relative to the workspace root. */
  seed_corpus?: string;
  /** Use and update the corpus stored for this workspace and harness. */
  persist_corpus: boolean;
  /** Seconds spent minimising each new crash (0 = no minimisation). */
  minimize_time: number;
  /** libfuzzer only: address (default), undefined or memory... see metadata. */
  sanitizer?: string;
  /** libfuzzer only: a shell command that builds harnesses into $OUT (OSS-Fuzz style). */
  build_command?: string;
}

/** A fuzz target found in the workspace by its language's convention. */
/** A crash id: the deduplication signature (hex); it names folders, keys and files. */
export const CRASH_ID_PATTERN = /^[0-9a-f]{8,64}$/;

export interface Harness {
  /** Short name people type (`fuzz_parser`, `parse`, `FuzzParse`). */
  name: string;
  /** File that defines it, relative to the workspace root (posix). */
  file: string;
  /** Engine-specific: the folder it is built from (fuzz crate, Go package, harness dir). */
  dir: string;
}

/** One sample of live statistics. Absent numbers are unknown to the engine. */
export interface FuzzStatsSample {
  /** Epoch ms when the worker took the sample. */
  at: number;
  harness: string;
  execs: number;
  /** True when `execs` is extrapolated from the fuzzer's last reported rate (libFuzzer is quiet between pulses). */
  execsEstimated?: boolean;
  execsPerSec: number;
  coverage?: number;
  features?: number;
  corpusSize: number;
  uniqueCrashes: number;
  crashes: number;
  timeouts: number;
  ooms: number;
  elapsedSec: number;
  secSinceNewCoverage: number;
  /** Which of the harness's parallel fuzzer processes (`jobs`) took the sample; absent for one. */
  shard?: number;
  /** On a sample that sums a harness's parallel processes: how many there are. */
  shards?: number;
}

/**
 * One sample for a harness fuzzed by several processes at once (`jobs`, each an activity that may
 * run on another worker): executions, rates and crash counts add up; coverage, features and the
 * corpus are shared through the stored corpus, so the largest is the best lower bound; unique
 * crashes are at least the most any process knows of (the run's final report counts them exactly).
 */
export function combineShardSamples(samples: readonly FuzzStatsSample[]): FuzzStatsSample | undefined {
  const first = samples[0];
  if (!first || samples.length === 1) {
    return first;
  }
  const max = (pick: (s: FuzzStatsSample) => number | undefined): number | undefined => {
    const values = samples.map(pick).filter((v): v is number => v !== undefined);
    return values.length > 0 ? Math.max(...values) : undefined;
  };
  const sum = (pick: (s: FuzzStatsSample) => number) => samples.reduce((n, s) => n + pick(s), 0);
  const coverage = max((s) => s.coverage);
  const features = max((s) => s.features);
  const combined: FuzzStatsSample = {
    at: max((s) => s.at) ?? first.at,
    harness: first.harness,
    execs: sum((s) => s.execs),
    execsPerSec: sum((s) => s.execsPerSec),
    corpusSize: max((s) => s.corpusSize) ?? 0,
    uniqueCrashes: max((s) => s.uniqueCrashes) ?? 0,
    crashes: sum((s) => s.crashes),
    timeouts: sum((s) => s.timeouts),
    ooms: sum((s) => s.ooms),
    elapsedSec: max((s) => s.elapsedSec) ?? 0,
    secSinceNewCoverage: Math.min(...samples.map((s) => s.secSinceNewCoverage)),
    shards: samples.length,
  };
  if (samples.some((s) => s.execsEstimated)) {
    combined.execsEstimated = true;
  }
  if (coverage !== undefined) {
    combined.coverage = coverage;
  }
  if (features !== undefined) {
    combined.features = features;
  }
  return combined;
}

/** What the `stats` query answers. */
export interface FuzzStatsView {
  engine: FuzzEngineName;
  harnesses: string[];
  /** Harness being fuzzed now, if any. */
  current?: string;
  phase: 'discovering' | 'building' | 'fuzzing' | 'reporting' | 'done';
  latest?: FuzzStatsSample;
  /** Bounded series for charts (oldest first, at most STATS_SERIES_MAX samples, thinned evenly). */
  series: FuzzStatsSample[];
  /** Per harness, the last sample of its finished campaigns. */
  finished: FuzzStatsSample[];
}

export const STATS_SERIES_MAX = 600;

export const statsQuery = defineQuery<FuzzStatsView>('stats');
/** Sent by the fuzzing activity every ~2 s. */
export const statsSignal = defineSignal<[FuzzStatsSample]>('fuzzStats');

/** A unique crash as stored in `runs/<run>/crashes/<id>/crash.json`. */
export interface CrashRecord {
  /** The deduplication signature; also the folder name. */
  id: string;
  engine: FuzzEngineName;
  harness: string;
  harnessFile: string;
  /** heap-buffer-overflow, index out of range, ValueError, timeout, oom, ... */
  kind: string;
  summary: string;
  frames: { function: string; file?: string; line?: number }[];
  /** How many times the campaign hit it. */
  hits: number;
  firstSeen: string;
  lastSeen: string;
  inputKey: string;
  inputBytes: number;
  minimizedKey?: string;
  minimizedBytes?: number;
  stackKey: string;
  /** Exact commands that reproduce it from the workspace root (shell syntax, for people). */
  reproduce: string;
}

/** What one segment of a harness's campaign returns to the workflow. */
export interface FuzzSegmentResult {
  harness: string;
  last: FuzzStatsSample;
  /** Why the segment ended. */
  reason: 'time' | 'executions' | 'segment';
  crashIds: string[];
}
