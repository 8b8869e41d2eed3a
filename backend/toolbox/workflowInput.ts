// What a worker checks before a workflow touches anything: every field of its input, because a
// workflow can be started directly on Temporal without going through a front end. Pure (no I/O):
// the worker adds the storage check that the digest names the object at `target.key`.
import { MAX_MATCH_AFTER_MS, type TargetRef, type WorkflowInput } from '../../toolbox/shared/definitions';
import { CRASH_ID_PATTERN } from '../../toolbox/shared/fuzzing';
import { blobKey, DIGEST_PATTERN, manifestKey } from '../storage/manifest';
import { runSarifKey } from '../storage/runKeys';
import type { WorkflowDefinition } from './discovery';
import { checkParams } from './params';

/** Run ids: `newRunId()` and full_scan's `<parent>.<child>`; they become object keys and folder names. */
const RUN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
/** Workspace ids (a hash of the workspace's path): part of corpus keys and build folders. */
const WORKSPACE_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/** S3 bucket names. */
const BUCKET_PATTERN = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export interface InputProblem {
  /** Dotted path of the bad field, e.g. `target.digest` or `params.timeout_per_input`. */
  field: string;
  message: string;
}

/** A workflow input refused by the worker; the message names every bad field. */
export class InvalidWorkflowInputError extends Error {
  constructor(
    readonly workflow: string,
    readonly problems: InputProblem[],
  ) {
    super(`invalid input for ${workflow}: ${problems.map((p) => `${p.field} ${p.message}`).join('; ')}`);
    this.name = 'InvalidWorkflowInputError';
  }
}

/** A value quoted for an error message: JSON, cut short, so hostile text stays one short line. */
export function quoteValue(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isRunId(value: unknown): value is string {
  return typeof value === 'string' && RUN_ID_PATTERN.test(value) && !value.includes('..');
}

/** Problems of a target reference (shape only; `targetsBucket` is the bucket the worker reads). */
export function targetRefProblems(ref: unknown, targetsBucket?: string): InputProblem[] {
  if (!isRecord(ref)) {
    return [{ field: 'target', message: 'must be an object' }];
  }
  const problems: InputProblem[] = [];
  const bad = (field: string, message: string) => problems.push({ field: `target.${field}`, message });
  const kindOk = ref.kind === 'tree' || ref.kind === 'archive';
  if (!kindOk) {
    bad('kind', `must be "tree" or "archive", got ${quoteValue(ref.kind)}`);
  }
  const digestOk = typeof ref.digest === 'string' && DIGEST_PATTERN.test(ref.digest);
  if (!digestOk) {
    bad('digest', `must be 64 lowercase hex digits (a sha256), got ${quoteValue(ref.digest)}`);
  }
  if (typeof ref.bucket !== 'string' || !BUCKET_PATTERN.test(ref.bucket)) {
    bad('bucket', `is not a bucket name: ${quoteValue(ref.bucket)}`);
  } else if (targetsBucket !== undefined && ref.bucket !== targetsBucket) {
    bad('bucket', `must be the targets bucket ${quoteValue(targetsBucket)}, got ${quoteValue(ref.bucket)}`);
  }
  if (typeof ref.key !== 'string') {
    bad('key', `must be a string, got ${quoteValue(ref.key)}`);
  } else if (kindOk && digestOk) {
    const digest = ref.digest as string;
    const expected = ref.kind === 'tree' ? manifestKey(digest) : blobKey(digest);
    if (ref.key !== expected) {
      bad(
        'key',
        `must be ${JSON.stringify(expected)} for a ${String(ref.kind)} with this digest, got ${quoteValue(ref.key)}`,
      );
    }
  }
  if (ref.layout !== undefined) {
    if (typeof ref.layout !== 'string' || !DIGEST_PATTERN.test(ref.layout)) {
      bad('layout', `must be 64 lowercase hex digits (a sha256), got ${quoteValue(ref.layout)}`);
    } else if (ref.kind !== 'tree') {
      bad('layout', 'is only for a tree');
    }
  }
  if (typeof ref.name !== 'string' || ref.name.length > 255) {
    bad('name', `must be a string of at most 255 characters`);
  }
  for (const field of ['files', 'bytes'] as const) {
    const value = ref[field];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      bad(field, `must be a non-negative integer, got ${quoteValue(value)}`);
    }
  }
  return problems;
}

/**
 * Harness names (from the workspace's own files: `fuzz_parse`, `dir/FuzzX`, a file's base name):
 * they become arguments and, through safeName, folder names. No control characters, and no
 * leading '-' that a tool would read as an option.
 */
// eslint-disable-next-line no-control-regex -- control characters are what is refused
const HARNESS_NAME_PATTERN = /^[^\u0000-\u001f\u007f-][^\u0000-\u001f\u007f]{0,199}$/;

/** A path relative to the target root that stays inside it lexically ('' and '.' are the root). */
function isInnerPath(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length <= 1024 &&
    !/^([\\/]|[A-Za-z]:)/.test(value) &&
    !value.split(/[\\/]+/).includes('..') &&
    // eslint-disable-next-line no-control-regex -- control characters are refused
    !/[\u0000-\u001f]/.test(value)
  );
}

const isCount = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0;

/**
 * Problems of the state a fuzzing campaign hands to its next run (continue-as-new). It arrives
 * in the input like everything else, so a run started directly could set it: harness folders
 * and files become working directories and paths, names become arguments.
 */
function carryProblems(carry: unknown): InputProblem[] {
  if (!isRecord(carry)) {
    return [{ field: 'carry', message: 'must be an object' }];
  }
  const problems: InputProblem[] = [];
  const bad = (field: string, message: string) => problems.push({ field: `carry.${field}`, message });
  const harnesses = carry.harnesses;
  if (!Array.isArray(harnesses) || harnesses.length > 1000) {
    bad('harnesses', 'must be an array of at most 1000 harnesses');
  } else {
    harnesses.forEach((h: unknown, i) => {
      if (!isRecord(h) || typeof h.name !== 'string' || !HARNESS_NAME_PATTERN.test(h.name)) {
        bad(`harnesses.${i}.name`, `must be a harness name, got ${quoteValue(isRecord(h) ? h.name : h)}`);
      } else {
        for (const field of ['file', 'dir'] as const) {
          if (!isInnerPath(h[field])) {
            bad(`harnesses.${i}.${field}`, `must be a path inside the target, got ${quoteValue(h[field])}`);
          }
        }
      }
    });
    if (
      !Number.isSafeInteger(carry.index) ||
      (carry.index as number) < 0 ||
      (carry.index as number) > harnesses.length
    ) {
      bad('index', `must be an integer from 0 to ${harnesses.length}`);
    }
  }
  if (
    !Array.isArray(carry.crashIds) ||
    carry.crashIds.some((id) => typeof id !== 'string' || !CRASH_ID_PATTERN.test(id))
  ) {
    bad('crashIds', 'must be an array of crash ids (hex)');
  }
  const before = carry.before;
  if (!isRecord(before) || !['execs', 'elapsedSec', 'crashes', 'timeouts', 'ooms'].every((k) => isCount(before[k]))) {
    bad('before', 'must hold non-negative numbers execs, elapsedSec, crashes, timeouts, ooms');
  }
  for (const field of ['series', 'finished'] as const) {
    const samples = carry[field];
    if (
      !Array.isArray(samples) ||
      samples.length > 10_000 ||
      samples.some((x) => !isRecord(x) || typeof x.harness !== 'string' || x.harness.length > 400 || !isCount(x.at))
    ) {
      bad(field, 'must be an array of statistics samples');
    }
  }
  return problems;
}

export interface InputCheckOptions {
  /** The bucket targets must come from (the worker's own). */
  targetsBucket?: string;
  /**
   * The id of the workflow execution the input arrived in. A run writes its results under its run
   * id, so a run id other than its own workflow id would overwrite another run's results.
   */
  workflowId?: string;
}

/**
 * Check a workflow input against the workflow's definition: run id, target reference, workspace,
 * baseline and the parameters (the front ends' own validator, which also fills defaults).
 * Returns the input with checked parameters; throws InvalidWorkflowInputError naming the fields.
 * Fields it does not know (a fuzzing campaign's `carry`) pass through unchanged.
 */
export function checkWorkflowInput(
  definition: WorkflowDefinition,
  input: unknown,
  options: InputCheckOptions = {},
): WorkflowInput {
  if (!isRecord(input)) {
    throw new InvalidWorkflowInputError(definition.name, [
      { field: '(input)', message: 'must be one object {runId, target, params, workspace}' },
    ]);
  }
  const problems: InputProblem[] = [];
  if (!isRunId(input.runId)) {
    problems.push({
      field: 'runId',
      message: `must be letters, digits, ".", "_" or "-" (at most 200, no ".."), got ${quoteValue(input.runId)}`,
    });
  } else if (options.workflowId !== undefined && input.runId !== options.workflowId) {
    problems.push({
      field: 'runId',
      message: `must be the workflow id ${quoteValue(options.workflowId)} (results are stored under it), got ${quoteValue(input.runId)}`,
    });
  }
  problems.push(...targetRefProblems(input.target, options.targetsBucket));
  const ws = input.workspace;
  if (!isRecord(ws)) {
    problems.push({ field: 'workspace', message: 'must be an object {id, name, rootUri}' });
  } else {
    if (typeof ws.id !== 'string' || !WORKSPACE_ID_PATTERN.test(ws.id)) {
      problems.push({ field: 'workspace.id', message: `must be 1 to 64 of A-Z a-z 0-9 _ -, got ${quoteValue(ws.id)}` });
    }
    if (typeof ws.name !== 'string' || ws.name.length > 255) {
      problems.push({ field: 'workspace.name', message: 'must be a string of at most 255 characters' });
    }
    if (typeof ws.rootUri !== 'string' || !/^file:\/\/[^\s]*$/.test(ws.rootUri) || ws.rootUri.length > 4096) {
      problems.push({ field: 'workspace.rootUri', message: `must be a file:// URI, got ${quoteValue(ws.rootUri)}` });
    }
  }
  if (input.baseline !== undefined) {
    const b = input.baseline;
    if (!isRecord(b) || !isRunId(b.runId)) {
      problems.push({ field: 'baseline.runId', message: 'must be a run id' });
    } else if (b.sarifKey !== runSarifKey(b.runId)) {
      problems.push({
        field: 'baseline.sarifKey',
        message: `must be ${JSON.stringify(runSarifKey(b.runId))}, got ${quoteValue(b.sarifKey)}`,
      });
    }
    if (
      isRecord(b) &&
      b.matchAfterMs !== undefined &&
      !(
        Number.isInteger(b.matchAfterMs) &&
        (b.matchAfterMs as number) >= 0 &&
        (b.matchAfterMs as number) <= MAX_MATCH_AFTER_MS
      )
    ) {
      problems.push({
        field: 'baseline.matchAfterMs',
        message: `must be a whole number of milliseconds from 0 to ${MAX_MATCH_AFTER_MS}, got ${quoteValue(b.matchAfterMs)}`,
      });
    }
  }
  if (input.carry !== undefined) {
    problems.push(...carryProblems(input.carry));
  }
  const checked = checkParams(definition, input.params ?? {});
  for (const p of checked.problems) {
    problems.push({ field: p.field ? `params.${p.field}` : 'params', message: p.message });
  }
  if (problems.length > 0) {
    throw new InvalidWorkflowInputError(definition.name, problems);
  }
  return { ...(input as unknown as WorkflowInput), params: (checked as { params: Record<string, unknown> }).params };
}

export type { TargetRef };
