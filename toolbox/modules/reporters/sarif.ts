// SARIF reporter: builds one tool's run from findings and merges a run's parts into one log.
import * as crypto from 'node:crypto';
import {
  countByLevel,
  effectiveLevel,
  emptyLog,
  mergeLogs,
  parseSarif,
  SARIF_SCHEMA,
  webHelpUri,
} from '../../../backend/sarif/log';
import type { SarifLocation, SarifLog, SarifResult, SarifRule, SarifRun } from '../../../backend/sarif/types';
import { version as fuzzforgeVersion } from '../../../package.json';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { BAD_INPUT, type BaselineRef, type ScanSummary, type TargetRef } from '../../shared/definitions';
import { baselineCounts, matchAgainstBaseline } from './baseline';
import { redactLog } from './redact';
import {
  applyFileContext,
  applySuppressions,
  type FileContextOptions,
  IGNORE_FILE,
  leftOutOf,
  mergeSameWeakness,
  parseIgnoreFile,
} from './postprocess';
import { classifyTarget } from '../inventory/fileKinds';
import type { InventorySummary } from '../inventory/files';
import { runSarifKey } from '../../../backend/storage/runKeys';
import { checkpoint, objectStore, withTarget } from '../runtime';

export const SRCROOT = 'SRCROOT';

export interface ToolFinding {
  ruleId: string;
  level: 'error' | 'warning' | 'note';
  message: string;
  /** Posix path relative to the target root. */
  file: string;
  line: number;
  column?: number;
  endColumn?: number;
  snippet?: string;
  /** Extra result properties (e.g. the secret detector's kind of a credential). */
  properties?: Record<string, string>;
}

export interface ToolDescription {
  name: string;
  version?: string;
  informationUri?: string;
  rules: SarifRule[];
}

/** Stable identity of a finding across runs: rule, file and the line's normalised text. */
export function fingerprint(f: ToolFinding): string {
  const text = (f.snippet ?? '').replace(/\s+/g, ' ').trim();
  return crypto.createHash('sha256').update(`${f.ruleId}\0${f.file}\0${text}`).digest('hex').slice(0, 32);
}

/** One SARIF run for one tool, with URIs relative to SRCROOT = the client's workspace root. */
export function buildSarifRun(tool: ToolDescription, findings: readonly ToolFinding[], rootUri: string): SarifRun {
  const ruleIndex = new Map(tool.rules.map((r, i) => [r.id, i]));
  const results: SarifResult[] = findings.map((f) => ({
    ruleId: f.ruleId,
    ...(ruleIndex.has(f.ruleId) ? { ruleIndex: ruleIndex.get(f.ruleId) } : {}),
    level: f.level,
    message: { text: f.message },
    locations: [
      {
        physicalLocation: {
          artifactLocation: { uri: encodeURI(f.file), uriBaseId: SRCROOT },
          region: {
            startLine: f.line,
            ...(f.column ? { startColumn: f.column } : {}),
            ...(f.endColumn ? { endColumn: f.endColumn } : {}),
            ...(f.snippet ? { snippet: { text: f.snippet } } : {}),
          },
        },
      },
    ],
    partialFingerprints: { 'fuzzforge/v1': fingerprint(f) },
    ...(f.properties ? { properties: { ...f.properties } } : {}),
  }));
  return {
    tool: {
      driver: {
        name: tool.name,
        version: tool.version ?? fuzzforgeVersion,
        semanticVersion: tool.version ?? fuzzforgeVersion,
        ...(tool.informationUri ? { informationUri: tool.informationUri } : {}),
        rules: tool.rules,
      },
    },
    originalUriBaseIds: { [SRCROOT]: { uri: rootUri.endsWith('/') ? rootUri : `${rootUri}/` } },
    results,
    invocations: [{ executionSuccessful: true }],
  };
}

/**
 * A run that records a tool which could not run or produced unusable output: no results, a
 * failed invocation and the reason (plus a stderr excerpt) as a tool execution notification.
 */
export function notificationRun(tool: string, message: string, version = fuzzforgeVersion): SarifRun {
  return {
    tool: { driver: { name: tool, version } },
    results: [],
    invocations: [
      { executionSuccessful: false, toolExecutionNotifications: [{ level: 'error', message: { text: message } }] },
    ],
  };
}

/** Map a path or URI a tool reported to a posix path relative to the target root, if inside it. */
export function relativeToTarget(uri: string, targetDir: string): string | undefined {
  let p = uri;
  if (p.startsWith('file://')) {
    try {
      p = decodeURIComponent(new URL(p).pathname);
    } catch {
      return undefined;
    }
  }
  const root = targetDir.replace(/\/+$/, '');
  if (p.startsWith(`${root}/`)) {
    p = p.slice(root.length + 1);
  } else if (p.startsWith('/')) {
    return undefined;
  }
  p = p.replace(/^\.\//, '');
  return p === '' || p.split('/').includes('..') ? undefined : p;
}

/**
 * Normalise a tool's own SARIF to FuzzForge's shape: artifact URIs relative to SRCROOT (the
 * client's workspace root), explicit levels, a tool version, CWE tags from rule properties, and
 * no absolute worker paths in locations.
 */
export function normalizeToolSarif(
  log: SarifLog,
  options: { targetDir: string; rootUri: string; version?: string },
): SarifLog {
  for (const run of log.runs) {
    run.originalUriBaseIds = {
      [SRCROOT]: { uri: options.rootUri.endsWith('/') ? options.rootUri : `${options.rootUri}/` },
    };
    run.tool.driver.version ??= options.version ?? run.tool.driver.semanticVersion;
    /** Make a location relative to SRCROOT; false when it points outside the target. */
    const fix = (loc: SarifLocation | undefined): boolean => {
      const art = loc?.physicalLocation?.artifactLocation;
      if (!art?.uri) {
        return true;
      }
      const rel = relativeToTarget(art.uri, options.targetDir);
      if (rel === undefined) {
        return false;
      }
      art.uri = encodeURI(rel);
      art.uriBaseId = SRCROOT;
      return true;
    };
    for (const result of run.results ?? []) {
      result.level = effectiveLevel(run, result);
      // A location outside the target (another file of the worker, or a hostile report's
      // /etc/passwd) would become a marker, and a place to write a suppression, outside the
      // workspace on the client: the result keeps its message, not the location.
      if (result.locations) {
        result.locations = result.locations.filter(fix);
      }
      if (result.relatedLocations) {
        result.relatedLocations = result.relatedLocations.filter(fix);
      }
    }
    if (run.artifacts) {
      run.artifacts = run.artifacts.filter((a) => fix({ physicalLocation: { artifactLocation: a.location } }));
    }
    for (const rule of run.tool.driver.rules ?? []) {
      if (rule.helpUri !== undefined && webHelpUri(rule.helpUri) === undefined) {
        delete rule.helpUri;
      }
      const cwes = JSON.stringify(rule.properties ?? {}).match(/CWE-\d+/gi) ?? [];
      const tags = new Set(rule.properties?.tags ?? []);
      for (const cwe of cwes) {
        tags.add(`external/cwe/${cwe.toLowerCase()}`);
      }
      if (tags.size > 0) {
        rule.properties = { ...rule.properties, tags: [...tags] };
      }
    }
  }
  return log;
}

export interface SarifPart {
  tool: string;
  key: string;
}

export interface MergeInput {
  runId: string;
  workflow: string;
  parts: SarifPart[];
  inventory?: InventorySummary;
  /** The target, to honour inline `fuzzforge-ignore[RULE]` comments and `.fuzzforge/ignore`. */
  target?: TargetRef;
  /** The previous run of this workspace and workflow, to mark results new/unchanged/updated/absent. */
  baseline?: BaselineRef;
  /** Tools or child workflows that did not run, recorded as tool execution notifications. */
  notifications?: { tool: string; message: string }[];
  /** Whether vendored code, tests and docs are reported (see postprocess.ts applyFileContext). */
  context?: FileContextOptions;
}

/** Read one line of a target file, with a small per-file cache (suppression checks). */
function lineReader(dir: string): (file: string, line: number) => string | undefined {
  const cache = new Map<string, string[] | undefined>();
  return (file, line) => {
    if (!cache.has(file)) {
      const abs = path.join(dir, file);
      let lines: string[] | undefined;
      try {
        if (!path.relative(dir, abs).startsWith('..') && fs.statSync(abs).size <= 8 * 1024 * 1024) {
          lines = fs.readFileSync(abs, 'utf8').split(/\r?\n/);
        }
      } catch {
        lines = undefined;
      }
      cache.set(file, lines);
    }
    return cache.get(file)?.[line - 1];
  };
}

/**
 * One result per weakness, what each file is (vendored, test, docs), suppressions and baseline
 * matching of a merged log; returns summary fields.
 */
async function postProcess(merged: SarifLog, input: MergeInput): Promise<Partial<ScanSummary>> {
  const extra: Partial<ScanSummary> = { deduplicated: mergeSameWeakness(merged) };
  if (input.target) {
    await withTarget(input.target, async (dir) => {
      checkpoint({ phase: 'classifying files' });
      const { kinds, leftOut } = await classifyTarget(dir);
      applyFileContext(merged, (uri) => kinds.get(uri), input.context);
      const results = merged.runs.reduce(
        (sum, run) => {
          const l = leftOutOf(run);
          return { vendored: sum.vendored + l.vendored, quiet: sum.quiet + l.quiet, examples: sum.examples + l.examples };
        },
        { vendored: 0, quiet: 0, examples: 0 },
      );
      extra.leftOut = {
        files: input.context?.includeVendored ? 0 : leftOut.files,
        byReason: input.context?.includeVendored ? {} : leftOut.byReason,
        results,
      };
      const ignoreText = await fs.promises.readFile(path.join(dir, IGNORE_FILE), 'utf8').catch(() => '');
      const { entries, problems } = parseIgnoreFile(ignoreText);
      if (problems.length > 0) {
        extra.notices = problems.map((p) => `${IGNORE_FILE}:${p.line}: ${p.message}`);
      }
      extra.suppressed = applySuppressions(merged, lineReader(dir), entries);
    });
  }
  if (input.baseline) {
    const matched = await matchedAgainst(merged, input.baseline);
    merged.runs = matched.log.runs;
    extra.baseline = matched.baseline;
  }
  return extra;
}

/**
 * `log` with each result marked new / unchanged / updated (and the previous run's absent ones
 * added) against the baseline run's stored log, and the counts. A baseline that expired or cannot
 * be matched must not lose this run's results: the log comes back unmarked, the error recorded.
 */
async function matchedAgainst(
  log: SarifLog,
  baseline: BaselineRef,
): Promise<{ log: SarifLog; baseline: NonNullable<ScanSummary['baseline']> }> {
  checkpoint({ phase: 'baseline', against: baseline.runId });
  const store = objectStore();
  try {
    const previous = parseSarif(
      (await store.getBuffer(store.buckets.results, baseline.sarifKey)).toString('utf8'),
      `baseline ${baseline.runId}`,
    );
    const matched = await matchAgainstBaseline(log, previous);
    return { log: matched, baseline: { runId: baseline.runId, ...baselineCounts(matched) } };
  } catch (err) {
    return {
      log,
      baseline: { runId: baseline.runId, new: 0, unchanged: 0, updated: 0, absent: 0, error: (err as Error).message },
    };
  }
}

export interface MatchBaselineInput {
  runId: string;
  /** The run's merged log, stored by mergeSarif without a baseline. */
  sarifKey: string;
  baseline: BaselineRef;
}

/**
 * The second half of a merge whose results were shown before matching: mark the run's stored log
 * against the baseline and store it again under the same key (the editor shows the first version
 * as soon as it exists, then the marks).
 */
async function matchBaseline(input: MatchBaselineInput): Promise<NonNullable<ScanSummary['baseline']>> {
  const store = objectStore();
  const bucket = store.buckets.results;
  if (input.sarifKey !== runSarifKey(input.runId)) {
    throw ApplicationFailure.nonRetryable(
      `sarifKey ${JSON.stringify(input.sarifKey).slice(0, 120)} is not run ${input.runId}'s log`,
      BAD_INPUT,
    );
  }
  const current = parseSarif((await store.getBuffer(bucket, input.sarifKey)).toString('utf8'), input.sarifKey);
  const matched = await matchedAgainst(current, input.baseline);
  if (!matched.baseline.error) {
    await store.putBuffer(bucket, input.sarifKey, Buffer.from(JSON.stringify(matched.log, null, 2)), 'application/sarif+json');
  }
  return matched.baseline;
}

/** Merge the parts of a run into `runs/<id>/results.sarif` and summarise it. */
async function mergeSarif(input: MergeInput): Promise<ScanSummary> {
  const store = objectStore();
  const bucket = store.buckets.results;
  const logs: SarifLog[] = [];
  const tools: ScanSummary['tools'] = [];
  for (const part of input.parts) {
    checkpoint({ phase: 'merging', part: part.tool });
    try {
      const text = (await store.getBuffer(bucket, part.key)).toString('utf8');
      const log = parseSarif(text, `${part.tool} output (${part.key})`);
      logs.push(log);
      for (const run of log.runs) {
        const failed = run.invocations?.find((i) => !i.executionSuccessful);
        tools.push({
          name: run.tool.driver.name,
          version: run.tool.driver.version,
          results: run.results?.length ?? 0,
          ...(failed ? { error: failed.toolExecutionNotifications?.[0]?.message.text ?? 'failed' } : {}),
        });
      }
    } catch (err) {
      // One tool's broken output must not lose the others' results: keep a notification instead.
      const message = (err as Error).message;
      tools.push({ name: part.tool, results: 0, error: message });
      logs.push({ version: '2.1.0', runs: [notificationRun(part.tool, message)] });
    }
  }
  for (const n of input.notifications ?? []) {
    tools.push({ name: n.tool, results: 0, error: n.message });
    logs.push({ version: '2.1.0', runs: [notificationRun(n.tool, n.message)] });
  }
  const merged = logs.length > 0 ? mergeLogs(logs) : emptyLog();
  merged.$schema = SARIF_SCHEMA;
  // Parts are redacted where they are written; this covers a part written any other way.
  redactLog(merged);
  const extra = await postProcess(merged, input);
  const sarifKey = runSarifKey(input.runId);
  await store.putBuffer(bucket, sarifKey, Buffer.from(JSON.stringify(merged, null, 2)), 'application/sarif+json');
  const counts = countByLevel(merged);
  return {
    runId: input.runId,
    workflow: input.workflow,
    resultsBucket: bucket,
    sarifKey,
    total: counts.error + counts.warning + counts.note + counts.none,
    counts,
    tools,
    ...(input.inventory ? { inventory: input.inventory } : {}),
    ...extra,
  };
}

export const activities = { mergeSarif, matchBaseline };
