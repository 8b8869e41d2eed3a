// Pure post-processing of a run's merged SARIF: suppressions (inline comments and
// .fuzzforge/ignore) and de-duplication where a stronger tool covers a pattern rule.
import ignore from 'ignore';
import type { SarifLog, SarifResult } from '../../../backend/sarif/types';

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
 * an entry of the ignore file. Suppressed results stay in the log (SARIF `suppressions`), so they
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
      const ruleId = result.ruleId ?? '';
      if (!uri || result.baselineState === 'absent') {
        continue;
      }
      if (line !== undefined) {
        const rules =
          inlineSuppressedRules(readLine(uri, line)) ??
          inlineSuppressedRules(line > 1 ? readLine(uri, line - 1) : undefined);
        if (rules && (rules.includes(ruleId) || rules.includes('*'))) {
          result.suppressions = [
            { kind: 'inSource', status: 'accepted', justification: `fuzzforge-ignore[${rules.join(',')}]` },
          ];
          count++;
          continue;
        }
      }
      const hit = matchers.find((m) => (m.entry.rule === ruleId || m.entry.rule === '*') && m.match.ignores(uri));
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

function cweTags(log: SarifLog, runIndex: number, result: SarifResult): Set<string> {
  const run = log.runs[runIndex];
  const rules = run?.tool.driver.rules ?? [];
  const rule = result.ruleIndex !== undefined ? rules[result.ruleIndex] : rules.find((r) => r.id === result.ruleId);
  return new Set((rule?.properties?.tags ?? []).filter((t) => t.startsWith('external/cwe/')));
}

const SECRET_RULES = new Set(['ff-hardcoded-credential', 'ff-aws-access-key', 'ff-private-key']);

/**
 * The pattern rules are a broad net; where a dedicated tool reports the same weakness (a shared CWE,
 * or any secret-detector result for the credential rules) at the same file and line, the dedicated
 * tool wins and the pattern result is dropped. Returns how many were dropped.
 */
export function dropOverlappingPatternResults(
  log: SarifLog,
  secretTools: readonly string[] = ['gitleaks', 'fuzzforge-secrets'],
): number {
  const strong = new Map<string, { cwes: Set<string>; secret: boolean }[]>();
  log.runs.forEach((run, i) => {
    if (run.tool.driver.name === PATTERN_TOOL) {
      return;
    }
    const secret = secretTools.includes(run.tool.driver.name);
    for (const result of run.results ?? []) {
      const { uri, line } = resultPath(result);
      if (uri && line !== undefined) {
        const key = `${uri}:${line}`;
        strong.set(key, [...(strong.get(key) ?? []), { cwes: cweTags(log, i, result), secret }]);
      }
    }
  });
  let dropped = 0;
  log.runs.forEach((run, i) => {
    if (run.tool.driver.name !== PATTERN_TOOL || !run.results) {
      return;
    }
    run.results = run.results.filter((result) => {
      const { uri, line } = resultPath(result);
      const others = uri && line !== undefined ? strong.get(`${uri}:${line}`) : undefined;
      if (!others) {
        return true;
      }
      const mine = cweTags(log, i, result);
      const covered = others.some(
        (o) => (SECRET_RULES.has(result.ruleId ?? '') && o.secret) || [...mine].some((c) => o.cwes.has(c)),
      );
      if (covered) {
        dropped++;
      }
      return !covered;
    });
  });
  return dropped;
}
