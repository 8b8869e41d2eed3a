import type { SarifLevel, SarifLog, SarifResult, SarifRun } from './types';

export const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';

export function emptyLog(): SarifLog {
  return { version: '2.1.0', $schema: SARIF_SCHEMA, runs: [] };
}

/**
 * Check the shape FuzzForge relies on before using a log; returns the problems (JSON pointers)
 * so the caller can name the bad field. Full schema validation is sarif-multitool's job.
 */
export function sarifShapeProblems(doc: unknown): string[] {
  const problems: string[] = [];
  const log = doc as Partial<SarifLog> | null;
  if (!log || typeof log !== 'object') {
    return ['/ is not a JSON object'];
  }
  if (log.version !== '2.1.0') {
    problems.push(`/version is ${JSON.stringify(log.version)}, expected "2.1.0"`);
  }
  if (!Array.isArray(log.runs)) {
    problems.push('/runs is missing or not an array');
    return problems;
  }
  log.runs.forEach((run, i) => {
    if (typeof run?.tool?.driver?.name !== 'string') {
      problems.push(`/runs/${i}/tool/driver/name is missing`);
    }
    if (run?.results !== undefined && !Array.isArray(run.results)) {
      problems.push(`/runs/${i}/results is not an array`);
    }
    (run?.results ?? []).forEach((r, j) => {
      if (typeof r?.message?.text !== 'string' && typeof (r?.message as { id?: string } | undefined)?.id !== 'string') {
        problems.push(`/runs/${i}/results/${j}/message has neither text nor id`);
      }
      if (r?.level !== undefined && !['none', 'note', 'warning', 'error'].includes(r.level)) {
        problems.push(`/runs/${i}/results/${j}/level is ${JSON.stringify(r.level)}`);
      }
    });
  });
  return problems;
}

/** Parse and shape-check a SARIF document; the error names the source and the bad fields. */
export function parseSarif(text: string, source: string): SarifLog {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new Error(`${source} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  const problems = sarifShapeProblems(doc);
  if (problems.length > 0) {
    throw new Error(`${source} is not a usable SARIF 2.1.0 log: ${problems.slice(0, 5).join('; ')}`);
  }
  return doc as SarifLog;
}

/** A result's level as SARIF defines it: its own, else its rule's default, else warning. */
export function effectiveLevel(run: SarifRun, result: SarifResult): SarifLevel {
  if (result.kind !== undefined && result.kind !== 'fail') {
    return 'none';
  }
  if (result.level) {
    return result.level;
  }
  const rules = run.tool.driver.rules ?? [];
  const rule = result.ruleIndex !== undefined ? rules[result.ruleIndex] : rules.find((r) => r.id === result.ruleId);
  return rule?.defaultConfiguration?.level ?? 'warning';
}

export function isSuppressed(result: SarifResult): boolean {
  return (result.suppressions ?? []).some((s) => s.status === undefined || s.status === 'accepted');
}

/** Merge logs into one; runs are kept side by side (one per tool), as SARIF intends. */
export function mergeLogs(logs: readonly SarifLog[]): SarifLog {
  const merged = emptyLog();
  for (const log of logs) {
    merged.runs.push(...log.runs);
  }
  return merged;
}

/** One tool's rule that reported a weakness, listed on the result that stands for it. */
export interface ReportedBy {
  tool: string;
  ruleId: string;
  level: SarifLevel;
  /** The line this tool pointed at, when not the result's own (a flow reported at two places). */
  line?: number;
}

/**
 * Property of a merged result naming every tool and rule that reported its weakness at its line
 * (the toolbox folds such results into one; see toolbox/modules/reporters/postprocess.ts).
 */
export const REPORTED_BY = 'reportedBy';

/** The tools and rules a result stands for: its `reportedBy` list, else itself alone. */
export function reportedBy(run: SarifRun, result: SarifResult): ReportedBy[] {
  const listed = result.properties?.[REPORTED_BY];
  if (Array.isArray(listed) && listed.length > 0) {
    const valid = (listed as Partial<ReportedBy>[]).filter(
      (r) => typeof r?.tool === 'string' && typeof r.ruleId === 'string',
    );
    if (valid.length > 0) {
      return valid.map((r) => ({
        tool: r.tool as string,
        ruleId: r.ruleId as string,
        level: r.level && r.level in LEVEL_ORDER ? r.level : 'warning',
        ...(typeof r.line === 'number' && Number.isSafeInteger(r.line) && r.line > 0 ? { line: r.line } : {}),
      }));
    }
  }
  const rules = run.tool.driver.rules ?? [];
  const rule = result.ruleIndex !== undefined ? rules[result.ruleIndex] : undefined;
  return [
    { tool: run.tool.driver.name, ruleId: result.ruleId ?? rule?.id ?? '(none)', level: effectiveLevel(run, result) },
  ];
}

export const LEVEL_ORDER: Record<SarifLevel, number> = { none: 0, note: 1, warning: 2, error: 3 };

export function countByLevel(log: SarifLog, options: { includeSuppressed?: boolean } = {}): Record<SarifLevel, number> {
  const counts: Record<SarifLevel, number> = { error: 0, warning: 0, note: 0, none: 0 };
  for (const run of log.runs) {
    for (const result of run.results ?? []) {
      // Absent results are the previous run's findings that are gone: fixed, not found.
      if ((!options.includeSuppressed && isSuppressed(result)) || result.baselineState === 'absent') {
        continue;
      }
      counts[effectiveLevel(run, result)]++;
    }
  }
  return counts;
}

export type FailOn = 'error' | 'warning' | 'note' | 'none';

/**
 * CI exit code for a log: 1 when any unsuppressed result in ANY run is at or above the threshold,
 * else 0. 'none' never fails. Absent (fixed) results never count; with `onlyNew`, only results the
 * baseline marks new (or that have no baseline state) count.
 */
export function failOnExitCode(log: SarifLog, threshold: FailOn, options: { onlyNew?: boolean } = {}): 0 | 1 {
  if (threshold === 'none') {
    return 0;
  }
  const min = LEVEL_ORDER[threshold];
  for (const run of log.runs) {
    for (const result of run.results ?? []) {
      if (isSuppressed(result) || result.baselineState === 'absent') {
        continue;
      }
      if (options.onlyNew && result.baselineState !== undefined && result.baselineState !== 'new') {
        continue;
      }
      const level = effectiveLevel(run, result);
      if (level !== 'none' && LEVEL_ORDER[level] >= min) {
        return 1;
      }
    }
  }
  return 0;
}

/** One flat row per result, for tables, JSON output and editors. */
export interface FindingRow {
  level: SarifLevel;
  ruleId: string;
  tool: string;
  file?: string;
  line?: number;
  column?: number;
  message: string;
  suppressed: boolean;
  /** Relative to the baseline run, when the run had one. */
  baselineState?: 'new' | 'unchanged' | 'updated' | 'absent';
  tags: string[];
  helpUri?: string;
  /** Every tool and rule that reported this weakness here, when more than one did. */
  reportedBy?: ReportedBy[];
  /** The kind of file it is in when not the project's own code: test, docs, vendored, ... */
  fileKind?: string;
}

/**
 * A rule's help link when it is a web link, else undefined: tools and logs are not trusted, and
 * the editor opens the link with openExternal (a `command:`, `file:` or `javascript:` link would
 * run or open something instead of a page).
 */
export function webHelpUri(uri: string | undefined): string | undefined {
  if (uri === undefined) {
    return undefined;
  }
  try {
    const { protocol } = new URL(uri);
    return protocol === 'https:' || protocol === 'http:' ? uri : undefined;
  } catch {
    return undefined;
  }
}

const FILE_KINDS = new Set(['test', 'docs', 'vendored', 'generated', 'minified', 'lockfile']);

/** `properties.fileKind` of a result (see toolbox/modules/inventory/fileKinds.ts), when it names one. */
function fileKindOf(result: SarifResult): { fileKind?: string } {
  const kind = result.properties?.fileKind;
  return typeof kind === 'string' && FILE_KINDS.has(kind) ? { fileKind: kind } : {};
}

export function findingRows(log: SarifLog): FindingRow[] {
  const rows: FindingRow[] = [];
  for (const run of log.runs) {
    const rules = run.tool.driver.rules ?? [];
    for (const result of run.results ?? []) {
      const rule = result.ruleIndex !== undefined ? rules[result.ruleIndex] : rules.find((r) => r.id === result.ruleId);
      const loc = result.locations?.[0]?.physicalLocation;
      const by = reportedBy(run, result);
      rows.push({
        level: effectiveLevel(run, result),
        ruleId: result.ruleId ?? rule?.id ?? '(none)',
        tool: run.tool.driver.name,
        file: loc?.artifactLocation?.uri,
        line: loc?.region?.startLine,
        column: loc?.region?.startColumn,
        message: result.message.text,
        suppressed: isSuppressed(result),
        ...(result.baselineState ? { baselineState: result.baselineState } : {}),
        tags: rule?.properties?.tags ?? [],
        helpUri: webHelpUri(rule?.helpUri),
        ...(by.length > 1 ? { reportedBy: by } : {}),
        ...fileKindOf(result),
      });
    }
  }
  return rows.sort(
    (a, b) =>
      LEVEL_ORDER[b.level] - LEVEL_ORDER[a.level] ||
      (a.file ?? '').localeCompare(b.file ?? '') ||
      (a.line ?? 0) - (b.line ?? 0) ||
      a.ruleId.localeCompare(b.ruleId),
  );
}
