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
