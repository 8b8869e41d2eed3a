// Pattern analyzer activity: runs the language-aware rules of ./patterns over the target and
// stores the findings as one SARIF run.
import type { SarifRule } from '../../../backend/sarif/types';
import { buildSarifRun, type ToolFinding } from '../reporters/sarif';
import { addNotifications, runToolActivity, scanTextFiles, type SastInput, type SastResult } from '../sast/common';
import { listTargetFiles } from '../targetFiles';
import { FindingsMemo } from './findingsMemo';
import { languageOf, PATTERN_RULES, scanSource, type Language, type PatternFinding, type PatternRule } from './patterns';

export const TOOL_NAME = 'fuzzforge-patterns';

export interface PatternAnalysisInput extends Omit<SastInput, 'minLevel'> {
  maxFileBytes: number;
  languages: Language[];
  minLevel: 'error' | 'warning' | 'note';
  /** Only these rule ids (all when empty). */
  rules: string[];
}

const LEVEL_RANK = { note: 1, warning: 2, error: 3 } as const;
const SECURITY_SEVERITY = { error: '8.0', warning: '5.5', note: '3.0' } as const;

/**
 * Findings by file content, for this worker process. 20,000 files is a large workspace; an entry
 * without findings costs about 100 bytes, so the memo stays within a few MB.
 */
const memo = new FindingsMemo<PatternFinding>(20_000);

/** The SARIF description of a pattern rule: help text, CWE tags, precision, severity. */
export function sarifRule(rule: PatternRule): SarifRule {
  return {
    id: rule.id,
    name: rule.name,
    shortDescription: { text: rule.shortDescription },
    fullDescription: { text: rule.shortDescription },
    help: { text: rule.help },
    helpUri: rule.helpUri,
    defaultConfiguration: { level: rule.level },
    properties: {
      tags: ['security', rule.category, ...rule.cwe.map((c) => `external/cwe/${c.toLowerCase()}`)],
      precision: rule.precision,
      'security-severity': SECURITY_SEVERITY[rule.level],
      cwe: rule.cwe,
    },
  };
}

/**
 * The pattern rules under the tool-activity policy (runToolActivity, scanTextFiles): an error
 * becomes a notification part, a file they fail on is lost alone, and at the end of the time
 * budget what was found is kept.
 */
async function analyzePatterns(input: PatternAnalysisInput): Promise<SastResult> {
  const rules = PATTERN_RULES.filter(
    (r) =>
      LEVEL_RANK[r.level] >= LEVEL_RANK[input.minLevel] && (input.rules.length === 0 || input.rules.includes(r.id)),
  );
  const ruleIds = rules.map((r) => r.id);
  const byId = new Map(rules.map((r) => [r.id, r]));
  return runToolActivity(TOOL_NAME, input, async (dir, deadline) => {
    const files = await listTargetFiles(dir, input.exclude);
    const wanted = files.filter((f) => {
      const lang = languageOf(f.rel);
      return lang !== undefined && (input.languages.length === 0 || input.languages.includes(lang));
    });
    const findings: ToolFinding[] = [];
    const scan = await scanTextFiles(
      TOOL_NAME,
      wanted,
      { maxFileBytes: input.maxFileBytes, deadline },
      (text, file) => {
        const language = languageOf(file.rel) as Language;
        for (const f of memo.findings(text, language, ruleIds, () => scanSource(text, language, { ruleIds }))) {
          const rule = byId.get(f.ruleId);
          findings.push({
            ruleId: f.ruleId,
            level: rule?.level ?? 'warning',
            message: f.message,
            file: file.rel,
            line: f.line,
            column: f.column,
            endColumn: f.endColumn,
            snippet: f.snippet,
            ...(f.secretKind ? { properties: { secretKind: f.secretKind } } : {}),
          });
        }
      },
    );
    const run = buildSarifRun({ name: TOOL_NAME, rules: rules.map(sarifRule) }, findings, input.rootUri);
    run.properties = { filesScanned: scan.scanned, filesSkipped: scan.skipped };
    addNotifications(run, scan.notifications, scan.outOfTime);
    return run;
  });
}

export const activities = { analyzePatterns };
