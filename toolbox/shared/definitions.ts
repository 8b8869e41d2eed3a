// Names and types shared by workflows, workers and the backend client. Workflows import this
// file, so it must stay deterministic: no Node built-ins, no I/O.
import { defineQuery } from '@temporalio/workflow';
import type { FuzzEngineName, FuzzStatsSample } from './fuzzing';

/** Task queue of a vertical's workers. */
export function taskQueueFor(vertical: string): string {
  return `fuzzforge-${vertical}`;
}

/**
 * The activity every worker registers itself and every workflow runs first (through the workers'
 * workflow interceptor): it checks the workflow's input, so nothing reaches a module unchecked.
 */
export const VALIDATE_INPUT_ACTIVITY = 'fuzzforgeValidateWorkflowInput';
/** The (non-retryable) failure type of a refused workflow input. */
export const BAD_INPUT = 'BadWorkflowInput';

/** Where a target lives in storage (mirrors backend/storage/manifest TargetRef). */
export interface TargetRef {
  kind: 'tree' | 'archive';
  bucket: string;
  key: string;
  digest: string;
  /** A tree whose small files are in pack objects: the digest of its layout (`layouts/<digest>.json`). */
  layout?: string;
  name: string;
  files: number;
  bytes: number;
}

/** What every workflow receives: one named, validated object, never positional arguments. */
export interface WorkflowInput<P = Record<string, unknown>> {
  runId: string;
  target: TargetRef;
  params: P;
  workspace: {
    /** Stable id of the workspace (hash of its path). */
    id: string;
    name: string;
    /** file:// URI of the workspace root on the client, so SARIF locations map back to it. */
    rootUri: string;
  };
  /** The previous run to compare with (results marked new / unchanged / updated / absent). */
  baseline?: BaselineRef;
}

export interface BaselineRef {
  runId: string;
  sarifKey: string;
  /**
   * How long the run waits, once its results are stored, before matching them against this
   * baseline (0 to MAX_MATCH_AFTER_MS; none: at once). A client that supersedes its runs (run on
   * save) asks for a pause and cancels a superseded run in it: the marks of results nobody will
   * look at are not computed, and the next run does not share the CPU with their matching.
   */
  matchAfterMs?: number;
}

/** The longest pause before baseline matching a workflow input may ask for. */
export const MAX_MATCH_AFTER_MS = 10_000;

export type Level = 'error' | 'warning' | 'note' | 'none';

/** What a scan workflow returns: keys and counts, never the findings themselves. */
export interface ScanSummary {
  runId: string;
  workflow: string;
  resultsBucket: string;
  sarifKey: string;
  total: number;
  counts: Record<Level, number>;
  tools: { name: string; version?: string; results: number; error?: string }[];
  inventory?: { key: string; files: number; bytes: number; languages: Record<string, number> };
  /** Results suppressed by inline comments or .fuzzforge/ignore (kept in the log, not counted). */
  suppressed?: number;
  /** Results folded into another tool's result for the same weakness at the same line (its `reportedBy`). */
  deduplicated?: number;
  baseline?: { runId: string; new: number; unchanged: number; updated: number; absent: number; error?: string };
  /**
   * What the run left out by file kind: vendored, generated and minified files and lockfiles
   * (`files`, by reason), and the results taken out (in those files; production-only rules in
   * tests, docs and examples; example secrets in docs). Absent when the run had no target.
   */
  leftOut?: {
    files: number;
    byReason: Record<string, number>;
    results: { vendored: number; quiet: number; examples: number };
  };
  /** Problems in .fuzzforge/ignore, with line numbers. */
  notices?: string[];
  /** Fuzzing workflows: the last stats of each harness and the number of unique crashes. */
  fuzzing?: { engine: FuzzEngineName; harnesses: FuzzStatsSample[]; uniqueCrashes: number };
}

/** Progress a workflow reports through the `progress` query. */
export interface RunProgress {
  phase: string;
  detail?: string;
  /** 0..1 when known. */
  fraction?: number;
  /**
   * Where the run's SARIF log is already stored while the run still marks it against its
   * baseline: a client may show those results now and their new/unchanged marks at the end.
   */
  sarifKey?: string;
}

export const progressQuery = defineQuery<RunProgress>('progress');

/** The parameters of every static workflow that say what the file classification leaves out. */
export interface FileContextParams {
  include_vendored?: boolean;
  report_tests_and_docs?: boolean;
}

/** What the merge is asked of the file classification (reporters/postprocess.ts applyFileContext). */
export function fileContext(params: FileContextParams): { includeVendored: boolean; reportTestsAndDocs: boolean } {
  return {
    includeVendored: params.include_vendored === true,
    reportTestsAndDocs: params.report_tests_and_docs === true,
  };
}
