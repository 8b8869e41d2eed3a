// De-duplication of the secret_detection workflow's two sources (pure code, no I/O).
//
// gitleaks and our own detector often flag the same secret. Two results are the same secret when
// they point at the same file and start line: columns are not compared, because gitleaks'
// generic rule spans the whole `name = value` assignment while ours spans the value only.
//
// We keep OUR result and drop gitleaks'. Ours carries a redacted snippet, rule help with the
// CWE, and a fingerprint that stays the same whether or not gitleaks is installed on the worker,
// so a baseline or suppression made on one machine still matches on another, and the run reports
// the same rule ids with `use_gitleaks` on or off. What gitleaks said is not lost: the rule ids
// it reported there are listed on our result as `properties.gitleaksRuleIds`. gitleaks results
// on lines we did not flag are kept as they are: that is what running it is for.
import type { SarifLog, SarifResult, SarifRun } from '../../../backend/sarif/types';

/** Property of our results naming the gitleaks rules that reported the same location. */
export const GITLEAKS_RULE_IDS = 'gitleaksRuleIds';

/** `uri:line` of a result's first location, or undefined when it has none. */
export function locationKey(result: SarifResult): string | undefined {
  const loc = result.locations?.[0]?.physicalLocation;
  const uri = loc?.artifactLocation?.uri;
  const line = loc?.region?.startLine;
  return uri === undefined || line === undefined ? undefined : `${uri}:${line}`;
}

/** Drop rules no result refers to and renumber `ruleIndex` to match. */
export function pruneRules(run: SarifRun): void {
  const rules = run.tool.driver.rules;
  if (!rules) {
    return;
  }
  const used = new Set((run.results ?? []).map((r) => r.ruleId ?? rules[r.ruleIndex ?? -1]?.id));
  const kept = rules.filter((r) => used.has(r.id));
  const index = new Map(kept.map((r, i) => [r.id, i]));
  run.tool.driver.rules = kept;
  for (const result of run.results ?? []) {
    const id = result.ruleId ?? rules[result.ruleIndex ?? -1]?.id;
    if (id !== undefined && index.has(id)) {
      result.ruleIndex = index.get(id);
    } else {
      delete result.ruleIndex;
    }
  }
}

export interface DedupOutcome {
  ours: SarifLog;
  theirs: SarifLog;
  /** gitleaks results removed as duplicates of ours. */
  dropped: number;
}

/**
 * Remove from `theirs` (gitleaks) every result at a file and line where `ours` has one, and note
 * the removed rule ids on our results. The inputs are not modified.
 */
export function dedupSecretLogs(ours: SarifLog, theirs: SarifLog): DedupOutcome {
  const oursCopy = structuredClone(ours);
  const theirsCopy = structuredClone(theirs);
  const byLocation = new Map<string, SarifResult[]>();
  for (const run of oursCopy.runs) {
    for (const result of run.results ?? []) {
      const key = locationKey(result);
      if (key !== undefined) {
        byLocation.set(key, [...(byLocation.get(key) ?? []), result]);
      }
    }
  }
  let dropped = 0;
  for (const run of theirsCopy.runs) {
    if (!run.results) {
      continue;
    }
    const rules = run.tool.driver.rules ?? [];
    run.results = run.results.filter((result) => {
      const key = locationKey(result);
      const same = key === undefined ? undefined : byLocation.get(key);
      if (!same) {
        return true;
      }
      const id = result.ruleId ?? rules[result.ruleIndex ?? -1]?.id ?? 'unknown';
      for (const mine of same) {
        const previous = mine.properties?.[GITLEAKS_RULE_IDS];
        const ids = new Set(Array.isArray(previous) ? previous.map(String) : []);
        ids.add(id);
        mine.properties = { ...mine.properties, [GITLEAKS_RULE_IDS]: [...ids].sort() };
      }
      dropped++;
      return false;
    });
    pruneRules(run);
  }
  return { ours: oursCopy, theirs: theirsCopy, dropped };
}
