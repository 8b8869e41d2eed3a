// Pure post-processing of a run's merged SARIF: suppressions (inline comments and
// .fuzzforge/ignore) and one result per weakness where several tools report it at one line.
import ignore from 'ignore';
import { LEVEL_ORDER, REPORTED_BY, reportedBy } from '../../../backend/sarif/log';
import type { SarifLevel, SarifLog, SarifResult, SarifRun } from '../../../backend/sarif/types';
import { SECRET_TOOLS, weaknessClasses } from './weakness';

export const IGNORE_FILE = '.fuzzforge/ignore';
export const PATTERN_TOOL = 'fuzzforge-patterns';

/** One line of `.fuzzforge/ignore`: `RULE_ID PATH_GLOB [reason...]`; `*` matches every rule. */
export interface IgnoreEntry {
  rule: string;
  glob: string;
  reason?: string;
  line: number;
}

export interface IgnoreFileProblem {
  line: number;
  message: string;
}

/** Parse `.fuzzforge/ignore`; bad lines are reported (with their number) and skipped. */
export function parseIgnoreFile(text: string): { entries: IgnoreEntry[]; problems: IgnoreFileProblem[] } {
  const entries: IgnoreEntry[] = [];
  const problems: IgnoreFileProblem[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) {
      return;
    }
    const [rule, glob, ...rest] = line.split(/\s+/);
    if (!rule || !glob) {
      problems.push({ line: i + 1, message: 'expected "RULE_ID PATH_GLOB [reason]"' });
      return;
    }
    if (!/^[\w.*/:-]+$/.test(rule)) {
      problems.push({ line: i + 1, message: `"${rule}" is not a rule id` });
      return;
    }
    const reason = rest.join(' ').replace(/^#\s*/, '');
    entries.push({ rule, glob, line: i + 1, ...(reason ? { reason } : {}) });
  });
  return { entries, problems };
}

// `fuzzforge-ignore[RULE]` (or several, comma-separated, or `*`) after a comment marker.
const INLINE = /(?:#|\/\/|\/\*|--|<!--|;|^\s*\*|\brem\b|')\s*fuzzforge-ignore\[([^\]]+)\]/i;

/** Rule ids an inline suppression comment on this line names, or undefined. */
export function inlineSuppressedRules(line: string | undefined): string[] | undefined {
  const match = line === undefined ? null : INLINE.exec(line);
  return match?.[1]
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function resultPath(result: SarifResult): { uri?: string; line?: number } {
  const loc = result.locations?.[0]?.physicalLocation;
  return {
    uri: loc?.artifactLocation?.uri ? decodeURI(loc.artifactLocation.uri) : undefined,
    line: loc?.region?.startLine,
  };
}

/**
 * Mark results suppressed: by an inline comment on the result's line or the line above it, or by
 * an entry of the ignore file, naming the result's rule or any rule of its `reportedBy` list. Suppressed results stay in the log (SARIF `suppressions`), so they
 * are visible but do not count for --fail-on. Returns how many were suppressed.
 */
export function applySuppressions(
  log: SarifLog,
  readLine: (path: string, line: number) => string | undefined,
  entries: readonly IgnoreEntry[],
): number {
  const matchers = entries.map((e) => ({ entry: e, match: ignore({ allowRelativePaths: true }).add(e.glob) }));
  let count = 0;
  for (const run of log.runs) {
    for (const result of run.results ?? []) {
      const { uri, line } = resultPath(result);
      // A merged result stands for every rule that reported its weakness: any of them suppresses it.
      const ruleIds = new Set([result.ruleId ?? '', ...reportedBy(run, result).map((r) => r.ruleId)]);
      const named = (rule: string) => rule === '*' || ruleIds.has(rule);
      if (!uri || result.baselineState === 'absent') {
        continue;
      }
      if (line !== undefined) {
        const rules =
          inlineSuppressedRules(readLine(uri, line)) ??
          inlineSuppressedRules(line > 1 ? readLine(uri, line - 1) : undefined);
        if (rules?.some(named)) {
          result.suppressions = [
            { kind: 'inSource', status: 'accepted', justification: `fuzzforge-ignore[${rules.join(',')}]` },
          ];
          count++;
          continue;
        }
      }
      const hit = matchers.find((m) => named(m.entry.rule) && m.match.ignores(uri));
      if (hit) {
        result.suppressions = [
          {
            kind: 'external',
            status: 'accepted',
            justification: hit.entry.reason ?? `${IGNORE_FILE}:${hit.entry.line}`,
          },
        ];
        count++;
      }
    }
  }
  return count;
}

/** Which tool's result stands for a merged weakness: secret detectors first, the pattern net last. */
function toolRank(tool: string): number {
  return SECRET_TOOLS.has(tool) ? 0 : tool === PATTERN_TOOL ? 2 : 1;
}

interface Member {
  run: number;
  result: SarifResult;
  tools: Set<string>;
  classes: Set<string>;
}

/**
 * One result per weakness: results of different tools at the same file and line that name the
 * same weakness (a shared CWE class, or both a hard-coded secret; see weakness.ts) become one.
 * The result that stands for them is the secret detectors', else the first dedicated tool's (in
 * run order), the pattern rules' last; it takes the highest level any of them gave and lists
 * every tool and rule in `properties.reportedBy`. Results of one tool are never merged with each
 * other (two secrets on one line are two findings). Returns how many results were folded away.
 */
export function mergeSameWeakness(log: SarifLog): number {
  const candidates: Member[] = [];
  log.runs.forEach((run, i) => {
    for (const result of run.results ?? []) {
      const classes = weaknessClasses(run, result);
      if (classes.size > 0 && result.baselineState !== 'absent' && resultPath(result).line !== undefined) {
        candidates.push({ run: i, result, classes, tools: new Set(reportedBy(run, result).map((r) => r.tool)) });
      }
    }
  });
  const rankOf = (m: Member) => toolRank(log.runs[m.run]?.tool.driver.name ?? '');
  // Stable: equal ranks keep run order, so the same tools give the same representative every run.
  candidates.sort((a, b) => rankOf(a) - rankOf(b));
  const groups = new Map<string, Member[][]>();
  const folded = new Map<SarifResult, Member[]>();
  for (const m of candidates) {
    const { uri, line } = resultPath(m.result);
    const key = `${uri}:${line}`;
    const here = groups.get(key) ?? [];
    const group = here.find(
      (g) => [...m.tools].every((t) => !g.some((o) => o.tools.has(t))) && g.some((o) => overlaps(o.classes, m.classes)),
    );
    if (group) {
      group.push(m);
    } else {
      here.push([m]);
      groups.set(key, here);
    }
  }
  let dropped = 0;
  for (const group of [...groups.values()].flat()) {
    const [lead, ...rest] = group;
    if (!lead || rest.length === 0) {
      continue;
    }
    folded.set(lead.result, rest);
    dropped += rest.length;
  }
  if (dropped === 0) {
    return 0;
  }
  const gone = new Set([...folded.values()].flat().map((m) => m.result));
  log.runs.forEach((run) => {
    for (const result of run.results ?? []) {
      const rest = folded.get(result);
      if (!rest) {
        continue;
      }
      const all = [
        ...reportedBy(run, result),
        ...rest.flatMap((m) => reportedBy(log.runs[m.run] as SarifRun, m.result)),
      ];
      const unique = [...new Map(all.map((r) => [`${r.tool}\0${r.ruleId}`, r])).values()].sort(
        (a, b) => a.tool.localeCompare(b.tool) || a.ruleId.localeCompare(b.ruleId),
      );
      const top = unique.reduce<SarifLevel>(
        (max, r) => (LEVEL_ORDER[r.level] > LEVEL_ORDER[max] ? r.level : max),
        'none',
      );
      result.level = top;
      result.properties = { ...result.properties, [REPORTED_BY]: unique };
      result.suppressions ??= rest.find((m) => m.result.suppressions)?.result.suppressions;
    }
    if (run.results) {
      run.results = run.results.filter((r) => !gone.has(r));
    }
  });
  return dropped;
}

function overlaps(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  return [...a].some((x) => b.has(x));
}
