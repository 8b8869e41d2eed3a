// Plumbing shared by the SAST activities (bandit, semgrep, eslint, and through native.ts gosec,
// go vet, cppcheck, flawfinder): choosing the files, batching command lines, SARIF run surgery
// (merge, level filter, fingerprints, notifications), one failure type and the one wrapper
// (runToolActivity) that turns a missing, crashing or garbled tool into a SARIF notification part
// instead of a failed workflow, within one time budget. gitleaks, our secret detector and the
// pattern rules run under the same wrapper (the last two through scanTextFiles).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ApplicationFailure, Context, log as activityLog } from '@temporalio/activity';
import { LEVEL_ORDER } from '../../../backend/sarif/log';
import type { SarifLocation, SarifLog, SarifResult, SarifRule, SarifRun } from '../../../backend/sarif/types';
import { installHint } from '../../../backend/toolbox/tools';
import { readVerticalSpec } from '../../../backend/toolbox/verticals';
import type { TargetRef } from '../../shared/definitions';
import { stderrExcerpt, ToolMissingError, type ToolRun } from '../process';
import { redactRun } from '../reporters/redact';
import { fingerprint, notificationRun, relativeToTarget, SRCROOT } from '../reporters/sarif';
import { checkpoint, currentVertical, objectStore, runKey, withTarget } from '../runtime';
import { listTargetFiles, readText, type TargetFile } from '../targetFiles';

export type MinLevel = 'note' | 'warning' | 'error';

/** What runToolActivity needs of an activity's input. */
export interface ToolActivityInput {
  runId: string;
  target: TargetRef;
  /** Wall-clock budget of the tool processes (default TOOL_BUDGET_MS). */
  timeoutMs?: number;
}

/** What every SAST activity of this folder takes besides its own options. */
export interface SastInput extends ToolActivityInput {
  /** file:// URI of the workspace root on the client (SRCROOT). */
  rootUri: string;
  /** Extra paths to skip, gitignore syntax. */
  exclude: string[];
  /** Drop results below this level (default: keep all). */
  minLevel?: MinLevel;
}

export interface SastResult {
  tool: string;
  /** Object key of the tool's SARIF part in the results bucket. */
  key: string;
  results: number;
  /** Set when the tool could not run or its output was unusable (the part is a notification). */
  error?: string;
}

/** Wall-clock budget of one activity's tool processes; the workflows' activity timeout is longer. */
export const TOOL_BUDGET_MS = 25 * 60 * 1000;

/**
 * The tool ran but gave nothing usable: crash exit code, time-out, missing or invalid output, a
 * bad rules file. The message is shown to the user as is, so it names the tool and the evidence.
 */
export class ToolFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ToolFailure';
  }
}

/**
 * The last lines of a tool's error output without stack frames: a Node or Python crash prints
 * the useful line ("TypeError: ...", "yaml.scanner.ScannerError: ...") above a long trace.
 */
export function errorExcerpt(text: string, lines = 8): string {
  const kept = text
    .split('\n')
    .filter((l) => !/^\s+at\s/.test(l) && !/^\s+File ".*", line \d+/.test(l))
    .join('\n');
  return stderrExcerpt(kept, lines);
}

/**
 * "bandit exited with code 2: <excerpt>", "... timed out after 60 s", "... was killed by SIGSEGV".
 * The excerpt is the end of stderr (else stdout: cppcheck reports errors there) unless the
 * caller picked the telling lines.
 */
export function describeFailure(tool: string, run: ToolRun, timeoutMs?: number, excerpt?: string): string {
  let what: string;
  if (run.timedOut) {
    what = `${tool} timed out after ${Math.round((timeoutMs ?? run.durationMs) / 1000)} s`;
  } else if (run.signal) {
    what = `${tool} was killed by ${run.signal}`;
  } else {
    what = `${tool} exited with code ${run.exitCode}`;
  }
  const said = excerpt || errorExcerpt(run.stderr) || errorExcerpt(run.stdout);
  return said ? `${what}: ${said}` : `${what} (no output)`;
}

/** Time left before `deadline` for the next tool process, or a ToolFailure when it is spent. */
export function remainingMs(tool: string, deadline: number): number {
  const left = deadline - Date.now();
  if (left <= 0) {
    throw new ToolFailure(`${tool} timed out: its time budget is spent`);
  }
  return left;
}

export interface TextScan {
  /** Files read and analysed. */
  scanned: number;
  /** Binary files and files over the size limit. */
  skipped: number;
  /** One per file the analysis failed on, and one when the budget ended before the last file. */
  notifications: Notification[];
  /** The budget ended before the last file: the run is incomplete (marked failed). */
  outOfTime: boolean;
}

/**
 * The loop of the in-process analysers (our secret detector, the pattern rules) under the tool
 * policy: each text file within `maxFileBytes` goes to `analyse`; a file it throws on is lost
 * with a notification naming it, not the run; at the deadline the files not reached are counted
 * in a notification and what was found so far is kept. Heartbeats every 100 files.
 */
export async function scanTextFiles(
  tool: string,
  files: readonly TargetFile[],
  options: {
    maxFileBytes: number;
    deadline: number;
    /** Heartbeat and cancellation check (default: the activity's); plain Node callers pass their own. */
    heartbeat?: (details: unknown) => void;
  },
  analyse: (text: string, file: TargetFile) => void,
): Promise<TextScan> {
  const heartbeat = options.heartbeat ?? checkpoint;
  const scan: TextScan = { scanned: 0, skipped: 0, notifications: [], outOfTime: false };
  for (const [i, file] of files.entries()) {
    if (i % 100 === 0) {
      heartbeat({ tool, phase: 'analysing', done: i, total: files.length });
      if (Date.now() >= options.deadline) {
        scan.notifications.push({
          level: 'error',
          text: `${tool} ran out of its time budget: ${files.length - i} of ${files.length} files were not analysed`,
        });
        scan.outOfTime = true;
        return scan;
      }
    }
    if (file.size > options.maxFileBytes) {
      scan.skipped++;
      continue;
    }
    const text = await readText(file.abs);
    if (text === undefined) {
      scan.skipped++; // binary
      continue;
    }
    scan.scanned++;
    try {
      analyse(text, file);
    } catch (err) {
      scan.notifications.push({
        level: 'error',
        text: `${tool} failed on this file, which was not analysed: ${(err as Error).message}`,
        file: file.rel,
      });
    }
  }
  heartbeat({ tool, phase: 'analysing', done: files.length, total: files.length });
  return scan;
}

/** "gosec is not installed on this worker (install: ...)": the way setup would install it. */
export function missingToolMessage(err: ToolMissingError, vertical = currentVertical()): string {
  const spec = vertical ? readVerticalSpec(vertical)?.tools.find((t) => t.command === err.command) : undefined;
  return spec ? `${err.message} (install: ${installHint(spec)})` : err.message;
}

/** A private scratch folder for output files, outside the target, removed whatever happens. */
export async function withScratch<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'ff-sast-'));
  try {
    return await fn(dir);
  } finally {
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
}

/**
 * Target files (posix, relative to the root) with one of the extensions, minus the workflow's
 * excludes and the tool's own always-skipped paths (both gitignore syntax).
 */
export async function sourceFiles(
  dir: string,
  options: { extensions: readonly string[]; exclude: readonly string[]; alwaysSkip?: readonly string[] },
): Promise<string[]> {
  const files = await listTargetFiles(dir, [...(options.alwaysSkip ?? []), ...options.exclude]);
  return files.filter((f) => options.extensions.some((ext) => f.rel.endsWith(ext))).map((f) => f.rel);
}

/**
 * Split file arguments into command lines of bounded length: one exec's arguments are limited
 * (ARG_MAX), and a monorepo can list more files than fit.
 */
export function argBatches(files: readonly string[], maxChars = 100_000): string[][] {
  const batches: string[][] = [];
  let current: string[] = [];
  let size = 0;
  for (const file of files) {
    if (current.length > 0 && size + file.length + 1 > maxChars) {
      batches.push(current);
      current = [];
      size = 0;
    }
    current.push(file);
    size += file.length + 1;
  }
  if (current.length > 0) {
    batches.push(current);
  }
  return batches;
}

/**
 * Point every result's ruleIndex at its rule by id (after merging, filtering or renaming), and
 * drop the rules no result uses: after the level filter, the exclusions and the results outside
 * the target are gone, their rules describe nothing in this run (semgrep lists every rule of its
 * configuration) and would only weigh on the stored part and the merged log.
 */
export function reindexRules(run: SarifRun): void {
  const used = new Set((run.results ?? []).map((r) => r.ruleId));
  const rules = (run.tool.driver.rules ?? []).filter((r) => used.has(r.id));
  run.tool.driver.rules = rules;
  const index = new Map(rules.map((r, i) => [r.id, i]));
  for (const result of run.results ?? []) {
    const i = result.ruleId === undefined ? undefined : index.get(result.ruleId);
    if (i === undefined) {
      delete result.ruleIndex;
    } else {
      result.ruleIndex = i;
    }
  }
}

/**
 * One run out of several runs of the same tool (per batch, per Go module): rules united, every
 * result named by its rule id (a result that gives only a ruleIndex would lose its rule once the
 * indexes are redone), indexes redone, and the invocations folded into one that failed if any
 * did and keeps every notification. A single run's invocations are kept as they are.
 */
export function mergeRuns(runs: readonly SarifRun[]): SarifRun {
  const [first] = runs;
  if (!first) {
    throw new Error('mergeRuns needs at least one run');
  }
  const rules = new Map<string, SarifRule>();
  const results: SarifResult[] = [];
  for (const run of runs) {
    const runRules = run.tool.driver.rules ?? [];
    for (const rule of runRules) {
      if (!rules.has(rule.id)) {
        rules.set(rule.id, rule);
      }
    }
    for (const result of run.results ?? []) {
      results.push({ ...result, ruleId: result.ruleId ?? runRules[result.ruleIndex ?? -1]?.id });
    }
  }
  const merged: SarifRun = {
    ...first,
    tool: { driver: { ...first.tool.driver, rules: [...rules.values()] } },
    results,
  };
  if (runs.length > 1 && runs.some((r) => r.invocations?.length)) {
    const invocation: InvocationWithConfiguration = { executionSuccessful: true };
    for (const inv of runs.flatMap((r) => (r.invocations ?? []) as InvocationWithConfiguration[])) {
      invocation.executionSuccessful &&= inv.executionSuccessful;
      for (const field of ['toolExecutionNotifications', 'toolConfigurationNotifications'] as const) {
        if (inv[field]?.length) {
          invocation[field] = [...(invocation[field] ?? []), ...(inv[field] ?? [])];
        }
      }
    }
    merged.invocations = [invocation];
  }
  reindexRules(merged);
  return merged;
}

/** Drop results below the level (their effective level is explicit after normalizeToolSarif). */
export function filterByLevel(run: SarifRun, minLevel: MinLevel | undefined): void {
  if (!minLevel || minLevel === 'note') {
    return;
  }
  const min = LEVEL_ORDER[minLevel];
  run.results = (run.results ?? []).filter((r) => LEVEL_ORDER[r.level ?? 'warning'] >= min);
}

/** The fingerprint buildSarifRun computes (rule, file, line text), for a result of a tool's SARIF. */
function resultFingerprint(result: SarifResult): string {
  const loc = result.locations?.[0]?.physicalLocation;
  return fingerprint({
    ruleId: result.ruleId ?? '',
    level: 'warning',
    message: result.message.text,
    file: decodeURI(loc?.artifactLocation?.uri ?? ''),
    line: loc?.region?.startLine ?? 0,
    snippet: loc?.region?.snippet?.text,
  });
}

/** Give results without one the fingerprint buildSarifRun computes (rule, file, line text). */
export function addFingerprints(run: SarifRun): void {
  for (const result of run.results ?? []) {
    result.partialFingerprints ??= {};
    result.partialFingerprints['fuzzforge/v1'] ??= resultFingerprint(result);
  }
}

/**
 * Store a tool's run as the part `parts/<tool>.sarif` of the run, redacted first (reporters/
 * redact.ts: no secret of the target leaves the worker in a tool's message, snippet or help).
 * Results whose snippet lost a secret get their fingerprint from the redacted line, so that the
 * stored fingerprint does not hash the secret either.
 */
export async function storeToolPart(runId: string, tool: string, run: SarifRun): Promise<SastResult> {
  for (const result of redactRun(run)) {
    result.partialFingerprints = { ...result.partialFingerprints, 'fuzzforge/v1': resultFingerprint(result) };
  }
  const log: SarifLog = { version: '2.1.0', runs: [run] };
  const store = objectStore();
  const key = runKey(runId, `parts/${tool}.sarif`);
  await store.putJson(store.buckets.results, key, log);
  const error = runError(run);
  return { tool, key, results: run.results?.length ?? 0, ...(error ? { error } : {}) };
}

export interface Notification {
  level: 'error' | 'warning' | 'note';
  text: string;
  /** Posix path relative to the target root. */
  file?: string;
  line?: number;
}

/** SARIF notifications may carry locations; the shared type leaves them out. */
type NotificationWithLocation = {
  level?: 'none' | 'note' | 'warning' | 'error';
  message: { text: string };
  locations?: SarifLocation[];
};
type InvocationWithConfiguration = NonNullable<SarifRun['invocations']>[number] & {
  toolExecutionNotifications?: NotificationWithLocation[];
  toolConfigurationNotifications?: NotificationWithLocation[];
};

function notificationLocation(file: string, line?: number): SarifLocation {
  return {
    physicalLocation: {
      artifactLocation: { uri: encodeURI(file), uriBaseId: SRCROOT },
      ...(line ? { region: { startLine: line } } : {}),
    },
  };
}

/**
 * Attach tool execution notifications (unparsable files, per-file time-outs, load errors, skipped
 * packages) to a run, located at a file when they name one; the run is marked failed only when
 * `failed` says so.
 */
export function addNotifications(run: SarifRun, notes: readonly Notification[], failed = false): void {
  if (notes.length === 0 && !failed) {
    return;
  }
  const invocation: InvocationWithConfiguration = run.invocations?.[0] ?? { executionSuccessful: true };
  invocation.executionSuccessful = invocation.executionSuccessful && !failed;
  invocation.toolExecutionNotifications = [
    ...(invocation.toolExecutionNotifications ?? []),
    ...notes.map((n) => ({
      level: n.level,
      message: { text: n.text },
      ...(n.file ? { locations: [notificationLocation(n.file, n.line)] } : {}),
    })),
  ];
  run.invocations = [invocation, ...(run.invocations?.slice(1) ?? [])];
}

/**
 * Locations inside invocation notifications (bandit lists the files it could not parse there)
 * relative to SRCROOT like the results' ones, so no worker path reaches the client.
 */
export function normalizeNotificationLocations(run: SarifRun, targetDir: string): void {
  for (const inv of (run.invocations ?? []) as InvocationWithConfiguration[]) {
    for (const note of [...(inv.toolExecutionNotifications ?? []), ...(inv.toolConfigurationNotifications ?? [])]) {
      note.locations = note.locations?.flatMap((loc) => {
        const art = loc.physicalLocation?.artifactLocation;
        if (!art?.uri) {
          return [loc];
        }
        const rel = relativeToTarget(art.uri, targetDir);
        if (rel === undefined) {
          // A path outside the target means nothing on the client and would leak worker paths.
          return [];
        }
        art.uri = encodeURI(rel);
        art.uriBaseId = SRCROOT;
        return [loc];
      });
    }
  }
}

/** Why a run did not fully succeed, for the activity result. */
export function runError(run: SarifRun): string | undefined {
  const failed = run.invocations?.find((i) => !i.executionSuccessful);
  return failed ? (failed.toolExecutionNotifications?.[0]?.message.text ?? 'failed') : undefined;
}

/**
 * The body of every tool activity (bandit, semgrep, eslint, gosec, go vet, cppcheck, flawfinder,
 * gitleaks, our secret detector, the pattern rules):
 * materialise the target, analyse it within one time budget (`input.timeoutMs`, default
 * TOOL_BUDGET_MS; `analyse` gets the deadline), store the SARIF part. One policy for failures:
 * a missing tool (with how to install it), a ToolFailure, or any other error of the analysis
 * becomes a notification part, so the workflow completes with the other tools' results (the
 * analysis talks to no network, so a retry would fail the same way; unexpected errors are logged
 * with their stack). Cancellation, classified failures (ApplicationFailure: bad input) and
 * storage errors (materialising the target, uploading the part) are thrown, so Temporal stops or
 * retries.
 */
export async function runToolActivity(
  tool: string,
  input: ToolActivityInput,
  analyse: (dir: string, deadline: number) => Promise<SarifRun>,
  versionWhenFailed: () => Promise<string | undefined> = () => Promise.resolve(undefined),
): Promise<SastResult> {
  const run = await withTarget(input.target, async (dir) => {
    checkpoint({ tool, phase: 'starting' });
    const real = fs.realpathSync(dir);
    try {
      return await analyse(real, Date.now() + (input.timeoutMs ?? TOOL_BUDGET_MS));
    } catch (err) {
      if (err instanceof ApplicationFailure || Context.current().cancellationSignal.aborted) {
        throw err;
      }
      if (err instanceof ToolMissingError) {
        return notificationRun(tool, missingToolMessage(err), 'unknown');
      }
      let message = (err as Error).message;
      if (!(err instanceof ToolFailure)) {
        activityLog.error(`${tool} analysis failed`, { error: (err as Error).stack ?? message });
        message = `${tool} could not be run: ${message}`;
      }
      // Tools name files by their worker path ("Invalid YAML file /cache/.../rules.yaml"): the
      // user knows them relative to the workspace.
      message = [real, dir].reduce((text, root) => text.split(`${root}${path.sep}`).join(''), message);
      return notificationRun(tool, message, (await versionWhenFailed()) ?? 'unknown');
    }
  });
  return storeToolPart(input.runId, tool, run);
}

/** Read and parse a JSON output file a tool wrote, or explain why it is unusable. */
export async function readJsonOutput(tool: string, file: string, run: ToolRun, timeoutMs: number): Promise<unknown> {
  let text: string;
  try {
    text = await fs.promises.readFile(file, 'utf8');
  } catch {
    throw new ToolFailure(`${describeFailure(tool, run, timeoutMs)}; it wrote no report`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ToolFailure(
      `${tool} wrote an invalid report (${(err as Error).message}); exit code ${run.exitCode}` +
        (errorExcerpt(run.stderr) ? `: ${errorExcerpt(run.stderr)}` : ''),
    );
  }
}
