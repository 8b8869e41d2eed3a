// Pure post-processing of a run's merged SARIF: suppressions (inline comments and
// .fuzzforge/ignore), one result per weakness where several tools report it at one place, and
// what each result's file is (vendored, test, docs).
import ignore from 'ignore';
import { effectiveLevel, LEVEL_ORDER, REPORTED_BY, reportedBy } from '../../../backend/sarif/log';
import type { SarifLevel, SarifLocation, SarifLog, SarifResult, SarifRun } from '../../../backend/sarif/types';
import { type FileClass, LEFT_OUT_KINDS } from '../inventory/fileKinds';
import {
  CREDENTIAL,
  isCredentialResult,
  isKnownFormatSecret,
  isPrivateKeyResult,
  isProductionOnly,
  SECRET_TOOLS,
  weaknessClasses,
} from './weakness';

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

function resultPath(result: SarifResult): { uri?: string; line?: number; endLine?: number } {
  const loc = result.locations?.[0]?.physicalLocation;
  let uri: string | undefined;
  try {
    uri = loc?.artifactLocation?.uri ? decodeURI(loc.artifactLocation.uri) : undefined;
  } catch {
    uri = loc?.artifactLocation?.uri;
  }
  const line = loc?.region?.startLine;
  const end = loc?.region?.endLine;
  return { uri, line, endLine: line !== undefined && end !== undefined && end >= line ? end : line };
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
 * One result per weakness: results of different tools at the same place (the same line; for
 * anything but secrets, up to NEAR_LINES apart) that name the same weakness (a shared CWE class,
 * or both a hard-coded secret; see weakness.ts) become one, the others' places kept as related
 * locations.
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
    const key = resultPath(m.result).uri ?? '';
    const here = groups.get(key) ?? [];
    const group = here.find(
      (g) =>
        [...m.tools].every((t) => !g.some((o) => o.tools.has(t))) &&
        g.some((o) => overlaps(o.classes, m.classes) && near(o, m)),
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
      const own = resultPath(result).line;
      const all = [
        ...reportedBy(run, result),
        ...rest.flatMap((m) => {
          const line = resultPath(m.result).line;
          return reportedBy(log.runs[m.run] as SarifRun, m.result).map((r) =>
            line !== undefined && line !== own && r.line === undefined ? { ...r, line } : r,
          );
        }),
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
      // Where another tool pointed at a different line of the same weakness (the query built at
      // one line, executed two lines below), keep its place as a related location (and its line
      // in its reportedBy entry).
      const elsewhere = rest.filter((m) => resultPath(m.result).line !== own);
      if (elsewhere.length > 0) {
        result.relatedLocations = [
          ...(result.relatedLocations ?? []),
          ...elsewhere.flatMap((m): SarifLocation[] => {
            const loc = m.result.locations?.[0];
            const by = reportedBy(log.runs[m.run] as SarifRun, m.result)
              .map((r) => `${r.tool} ${r.ruleId}`)
              .join(', ');
            return loc?.physicalLocation
              ? [{ physicalLocation: loc.physicalLocation, message: { text: `also reported here by ${by}` } }]
              : [];
          }),
        ];
      }
      result.suppressions ??= rest.find((m) => m.result.suppressions)?.result.suppressions;
    }
    if (run.results) {
      run.results = run.results.filter((r) => !gone.has(r));
    }
  });
  return dropped;
}

/**
 * Lines apart two tools' results may be and still be one weakness: tools point at different
 * parts of one statement or flow (where a query is built, where it is executed). Secrets must
 * share the line: two values a few lines apart are two secrets.
 */
export const NEAR_LINES = 3;

function near(a: Member, b: Member): boolean {
  const pa = resultPath(a.result);
  const pb = resultPath(b.result);
  if (pa.line === undefined || pb.line === undefined) {
    return false;
  }
  if (pa.line === pb.line) {
    return true;
  }
  if (a.classes.has(CREDENTIAL) || b.classes.has(CREDENTIAL)) {
    return false;
  }
  const gap = Math.max(0, pb.line - (pa.endLine ?? pa.line), pa.line - (pb.endLine ?? pb.line));
  return gap <= NEAR_LINES;
}

function overlaps(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  return [...a].some((x) => b.has(x));
}

/** What a run asks of the file context (workflow parameters `include_vendored`, `report_tests_and_docs`). */
export interface FileContextOptions {
  /** Keep results in vendored, generated and minified files and lockfiles. */
  includeVendored?: boolean;
  /** Report tests, docs and examples like production code (still marked with their kind). */
  reportTestsAndDocs?: boolean;
}

/** Results the file context took out of a run, stored on the run (`properties.leftOut`). */
export interface LeftOutResults {
  /** In vendored, generated or minified files and lockfiles. */
  vendored: number;
  /** Production-only rules (asserts, debug servers, generic test credentials) in tests, docs and examples. */
  quiet: number;
  /** Generic secrets in documentation and examples: example values. */
  examples: number;
}

export const LEFT_OUT = 'leftOut';

/**
 * Apply what each result's file is (see ../inventory/fileKinds.ts): results in vendored,
 * generated or minified files and lockfiles go; in tests, docs and examples, production-only rules
 * and generic secrets (example values, test fixtures) go, and the rest is marked
 * `properties.fileKind` and reported at most as a note, except a secret whose format names its
 * issuer, which is a leak wherever it is. What went is counted on its run (`properties.leftOut`),
 * so a log merged again (full_scan) still knows. Returns the counts of this pass.
 */
export function applyFileContext(
  log: SarifLog,
  kindOf: (uri: string) => FileClass | undefined,
  options: FileContextOptions = {},
): LeftOutResults {
  const total: LeftOutResults = { vendored: 0, quiet: 0, examples: 0 };
  for (const run of log.runs) {
    if (!run.results) {
      continue;
    }
    const counts: LeftOutResults = { vendored: 0, quiet: 0, examples: 0 };
    run.results = run.results.filter((result) => {
      const { uri } = resultPath(result);
      const cls = uri === undefined || result.baselineState === 'absent' ? undefined : kindOf(uri);
      if (!cls || cls.kind === 'source') {
        return true;
      }
      if (LEFT_OUT_KINDS.has(cls.kind)) {
        if (options.includeVendored) {
          result.properties = { ...result.properties, fileKind: cls.kind };
          return true;
        }
        counts.vendored++;
        return false;
      }
      // A private key in tests is a TLS or signing test's fixture: marked and kept, as a note.
      const known = isKnownFormatSecret(run, result) && !(cls.kind === 'test' && isPrivateKeyResult(run, result));
      if (!options.reportTestsAndDocs && !known) {
        if (isCredentialResult(run, result) && !isPrivateKeyResult(run, result)) {
          counts[cls.kind === 'docs' ? 'examples' : 'quiet']++;
          return false;
        }
        if (isProductionOnly(run, result)) {
          counts.quiet++;
          return false;
        }
      }
      const level = effectiveLevel(run, result);
      result.properties = { ...result.properties, fileKind: cls.kind };
      if (!known && !options.reportTestsAndDocs && LEVEL_ORDER[level] > LEVEL_ORDER.note) {
        result.properties.levelInProduction = level;
        result.level = 'note';
      }
      return true;
    });
    if (counts.vendored + counts.quiet + counts.examples > 0) {
      const before = leftOutOf(run);
      run.properties = {
        ...run.properties,
        [LEFT_OUT]: {
          vendored: before.vendored + counts.vendored,
          quiet: before.quiet + counts.quiet,
          examples: before.examples + counts.examples,
        },
      };
      total.vendored += counts.vendored;
      total.quiet += counts.quiet;
      total.examples += counts.examples;
    }
  }
  return total;
}

/** The results a run's file context took out (zeros when none, or when the property is malformed). */
export function leftOutOf(run: SarifRun): LeftOutResults {
  const raw = run.properties?.[LEFT_OUT] as Partial<Record<keyof LeftOutResults, unknown>> | undefined;
  const n = (v: unknown) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : 0);
  return { vendored: n(raw?.vendored), quiet: n(raw?.quiet), examples: n(raw?.examples) };
}
