import * as fs from 'node:fs';
import * as path from 'node:path';
import { sleep } from './concurrency';
import { hasErrorCode, UserError } from './errors';
import { parseSarif } from './sarif/log';
import type { SarifLog } from './sarif/types';
import { ensureComposeWorker, readComposeState } from './services/compose';
import type { BackendConnection } from './services/connection';
import { explainStorageOutage, ObjectStore } from './storage/objectStore';
import { MISSING_OBJECT } from './storage/manifest';
import { runSarifKey } from './storage/runKeys';
import { forgetStoredPacks, TargetStore, type UploadProgress, type UploadResult } from './storage/targets';
import type { RunInfo, RunService } from './temporal/runs';
import { discoverWorkflows, formatProblem, type WorkflowDefinition } from './toolbox/discovery';
import { validateParams } from './toolbox/params';
import { workspaceIdentity } from './workspace';
import type { BaselineRef, RunProgress, ScanSummary } from '../toolbox/shared/definitions';

/** Find a workflow of the toolbox by name, with an error that lists the alternatives. */
export function findWorkflow(toolboxDir: string, name: string): WorkflowDefinition {
  const scan = discoverWorkflows(toolboxDir);
  const found = scan.workflows.find((w) => w.name === name);
  if (found) {
    return found;
  }
  const broken = scan.problems.filter((p) => p.file.includes(`${path.sep}${name}${path.sep}`));
  if (broken.length > 0) {
    throw new UserError(
      `workflow ${name} has invalid metadata:\n  ${broken.map(formatProblem).join('\n  ')}`,
      'fix the file named above',
    );
  }
  throw new UserError(
    `no workflow named ${name}`,
    `available: ${scan.workflows.map((w) => w.name).join(', ') || '(none)'}; see \`fuzzforge workflows\``,
  );
}

export interface ScanRequest {
  /** Folder or .tar/.tar.gz archive to scan. */
  path: string;
  workflow: WorkflowDefinition;
  params: Record<string, unknown>;
  excludes?: string[];
  maxUploadBytes?: number;
  targetsRetentionDays?: number;
  /** A run id to compare with, false for none; default: the last completed run of this workspace and workflow. */
  baseline?: string | false;
  /**
   * With a baseline, how long the run waits after storing its results before matching them (see
   * BaselineRef.matchAfterMs): for a caller that cancels the run when a later one supersedes it.
   */
  matchAfterMs?: number;
  onUploadProgress?: (p: UploadProgress) => void;
  onNotice?: (line: string) => void;
}

export interface StartedScan {
  run: RunInfo;
  upload: UploadResult;
  baseline?: BaselineRef;
}

/**
 * Validate, upload and start one scan. Parameters are checked before anything is uploaded, and a
 * vertical with no worker is reported before the run is queued.
 */
export async function startScan(conn: BackendConnection, runs: RunService, request: ScanRequest): Promise<StartedScan> {
  const params = validateParams(request.workflow, request.params);
  const stat = await fs.promises.stat(request.path).catch(() => undefined);
  if (!stat) {
    throw new UserError(`${request.path} does not exist`, 'pass a folder or a .tar/.tar.gz archive');
  }
  const composeState =
    conn.mode === 'compose' && conn.composeStateDir ? readComposeState(conn.composeStateDir) : undefined;
  const ensureWorker = async () => {
    if (composeState) {
      await ensureComposeWorker(composeState, request.workflow.vertical, (line) => request.onNotice?.(line));
    }
  };
  // A stopped vertical (never started, or stopped when idle) starts now, before the upload.
  await ensureWorker();
  const workspace = workspaceIdentity(stat.isDirectory() ? request.path : path.dirname(request.path));
  // Three independent steps at once (a save waits for all of them): whether a worker polls, the
  // upload, and which run this one is compared with.
  const polling = runs.pollers(request.workflow.vertical).then((pollers) => {
    if (pollers === 0) {
      request.onNotice?.(
        `no worker is polling the ${request.workflow.vertical} vertical yet; the run waits in the queue until one starts (see \`fuzzforge status\`)`,
      );
    }
  });
  const store = new ObjectStore(conn);
  const targets = new TargetStore(store);
  // The manifest goes last: an upload cut short (the storage went down) leaves none, so no run uses it.
  const uploading = (async (): Promise<UploadResult> => {
    try {
      // The bucket's own expiry, so blobs about to expire are sent again before a run needs them.
      const targetsRetentionDays = request.targetsRetentionDays ?? (await store.targetsRetentionDays());
      return stat.isDirectory()
        ? await targets.uploadWorkspace(request.path, {
            excludes: request.excludes,
            maxTotalBytes: request.maxUploadBytes,
            targetsRetentionDays,
            onUploadProgress: request.onUploadProgress,
          })
        : await targets.uploadArchive(request.path, { targetsRetentionDays });
    } catch (err) {
      throw explainStorageOutage(err, conn.storage.endpoint, 'the upload');
    }
  })();
  const baselining = resolveBaseline(runs, request, workspace.id, params);
  // All three end before an error is reported (none keeps working behind the caller's back); a
  // Temporal error first, as it says the backend is not there at all.
  const settled = await Promise.allSettled([polling, uploading, baselining]);
  for (const outcome of settled) {
    if (outcome.status === 'rejected') {
      throw outcome.reason;
    }
  }
  const upload = await uploading;
  const found = await baselining;
  const baseline = found && request.matchAfterMs ? { ...found, matchAfterMs: request.matchAfterMs } : found;
  // An idle worker may have stopped itself while the upload ran (it stops when its queue has had
  // no work for its idle time): ask again right before the run is queued, and once more after,
  // for a worker that stopped in between (an open run keeps it from stopping from then on).
  await ensureWorker();
  const run = await runs.start({ definition: request.workflow, params, target: upload.target, workspace, baseline });
  await ensureWorker();
  return { run, upload, baseline };
}

/** Parameters as a canonical string (sorted keys), to find runs made with the same ones. */
export function canonicalParams(value: unknown): string {
  if (Array.isArray(value)) {
    return `[${value.map(canonicalParams).join(',')}]`;
  }
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalParams(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * The run a new scan is compared with: the one asked for, or the last completed run of this
 * workspace and workflow made with the same parameters (a run with other tools, rules or
 * excludes would make everything it did not look at appear "fixed").
 */
async function resolveBaseline(
  runs: RunService,
  request: ScanRequest,
  workspaceId: string,
  params: Record<string, unknown>,
): Promise<BaselineRef | undefined> {
  if (request.baseline === false) {
    return undefined;
  }
  if (typeof request.baseline === 'string') {
    const info = await runs.describe(request.baseline);
    if (info.status !== 'completed') {
      throw new UserError(
        `baseline run ${request.baseline} is ${info.status}, not completed`,
        'pick a completed run from `fuzzforge runs`',
      );
    }
    const summary = await runs.result(request.baseline);
    return { runId: request.baseline, sarifKey: summary.sarifKey };
  }
  try {
    const wanted = canonicalParams(params);
    const previous = (await runs.list({ workspaceId, workflow: request.workflow.name, limit: 20 })).find(
      (r) => r.status === 'completed' && canonicalParams(r.memo?.params ?? {}) === wanted,
    );
    if (!previous) {
      return undefined;
    }
    const summary = await runs.result(previous.runId);
    return summary.sarifKey ? { runId: previous.runId, sarifKey: summary.sarifKey } : undefined;
  } catch (err) {
    request.onNotice?.(`no baseline: ${(err as Error).message}`);
    return undefined;
  }
}

/** Wait for a run and fetch its merged SARIF. */
export async function awaitScan(
  conn: BackendConnection,
  runs: RunService,
  runId: string,
  onProgress?: (p: RunProgress) => void,
  onEarlyResults?: (sarif: SarifLog) => void,
): Promise<{ summary: ScanSummary; sarif: SarifLog }> {
  try {
    return await awaitResults(conn, runs, runId, onProgress, onEarlyResults);
  } catch (err) {
    if (err instanceof Error && err.message.includes(MISSING_OBJECT)) {
      // Objects of the target went missing from the store (deleted by hand, or a wiped store):
      // the next upload asks about every pack again instead of trusting what it saw a moment ago.
      forgetStoredPacks();
    }
    throw err;
  }
}

async function awaitResults(
  conn: BackendConnection,
  runs: RunService,
  runId: string,
  onProgress?: (p: RunProgress) => void,
  onEarlyResults?: (sarif: SarifLog) => void,
): Promise<{ summary: ScanSummary; sarif: SarifLog }> {
  if (!onEarlyResults) {
    const summary = await runs.result(runId, onProgress);
    return { summary, sarif: await fetchSarif(conn, summary) };
  }
  // A scan's merged log is stored under the run's key before it is marked against the baseline:
  // the first version to appear there is passed on at once. The store is asked for it directly
  // (a missing object costs MinIO a millisecond) rather than the run through Temporal and its
  // worker; the run's progress, which names the log too, stays the way for any other layout.
  const store = new ObjectStore(conn);
  const resultsBucket = store.buckets.results;
  let early: Promise<void> | undefined;
  const passOn = onEarlyResults;
  let ended = false;
  const watching = (async () => {
    const key = runSarifKey(runId);
    const startedAt = Date.now();
    while (!ended && !early) {
      let body: Buffer | undefined;
      try {
        body = await store.getBuffer(resultsBucket, key);
      } catch (err) {
        if (!hasErrorCode(err, 'NoSuchKey') && !hasErrorCode(err, 'NotFound')) {
          return; // the progress below still finds the log
        }
      }
      if (body && !ended && !early) {
        const text = body.toString('utf8');
        early = Promise.resolve()
          .then(() => passOn(parseSarif(text, `s3://${resultsBucket}/${key}`)))
          .catch(() => undefined);
        return;
      }
      // Often while a save may be waiting; a long run (a fuzzing campaign) is asked twice a second.
      await sleep(Date.now() - startedAt < EARLY_RESULTS_FAST_MS ? EARLY_RESULTS_POLL_MS : 500);
    }
  })();
  let summary: ScanSummary;
  try {
    summary = await runs.result(runId, (p) => {
      onProgress?.(p);
      if (p.sarifKey && !early) {
        early = fetchSarif(conn, { resultsBucket, sarifKey: p.sarifKey }).then(passOn, () => undefined);
      }
    });
  } finally {
    ended = true;
    await watching;
  }
  // Passed on before the final results, never after them.
  await early;
  return { summary, sarif: await fetchSarif(conn, summary) };
}

/** How often a caller that shows early results looks for a scan's merged log, in a run's first seconds. */
const EARLY_RESULTS_POLL_MS = 10;
const EARLY_RESULTS_FAST_MS = 5000;

export async function fetchSarif(
  conn: BackendConnection,
  summary: Pick<ScanSummary, 'resultsBucket' | 'sarifKey'>,
): Promise<SarifLog> {
  const store = new ObjectStore(conn);
  const body = await store.getBuffer(summary.resultsBucket, summary.sarifKey);
  return parseSarif(body.toString('utf8'), `s3://${summary.resultsBucket}/${summary.sarifKey}`);
}

/**
 * What a run left out by file kind, in a sentence for the CLI and the editor's log; `how` says
 * how to bring back what a parameter left out (`--param NAME=true`, or a setting). Undefined when
 * nothing was left out.
 */
export function describeLeftOut(
  leftOut: ScanSummary['leftOut'],
  how: (param: 'include_vendored' | 'report_tests_and_docs') => string,
): string | undefined {
  if (!leftOut) {
    return undefined;
  }
  const parts: string[] = [];
  if (leftOut.files > 0 || leftOut.results.vendored > 0) {
    const reasons = Object.entries(leftOut.byReason)
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .map(([reason, n]) => `${n} ${reason}`)
      .join(', ');
    parts.push(
      `${plural(leftOut.files, 'file')} of vendored, generated or minified code${reasons ? ` (${reasons})` : ''} ` +
        `and their ${plural(leftOut.results.vendored, 'result')} (${how('include_vendored')} reports them)`,
    );
  }
  const { quiet, examples } = leftOut.results;
  if (quiet + examples > 0) {
    parts.push(
      `${plural(quiet, 'result')} of rules that only matter in shipped code and ${plural(examples, 'example secret')} ` +
        `in tests, docs and examples (${how('report_tests_and_docs')} reports them)`,
    );
  }
  return parts.length > 0 ? `left out ${parts.join('; ')}` : undefined;
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
