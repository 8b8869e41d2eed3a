// Pattern analyzer activity: runs the language-aware rules of ./patterns over the target and
// stores the findings as one SARIF run.
import type { SarifRule } from '../../../backend/sarif/types';
import type { TargetRef } from '../../shared/definitions';
import { buildSarifRun, type ToolFinding } from '../reporters/sarif';
import { checkpoint, objectStore, runKey, withTarget } from '../runtime';
import { listTargetFiles, readText } from '../targetFiles';
import { languageOf, PATTERN_RULES, scanSource, type Language, type PatternRule } from './patterns';

export const TOOL_NAME = 'fuzzforge-patterns';

export interface PatternAnalysisInput {
  runId: string;
  target: TargetRef;
  rootUri: string;
  exclude: string[];
  maxFileBytes: number;
  languages: Language[];
  minLevel: 'error' | 'warning' | 'note';
  /** Only these rule ids (all when empty). */
  rules: string[];
}

export interface PatternAnalysisResult {
  tool: string;
  key: string;
  results: number;
  filesScanned: number;
  filesSkipped: number;
}

const LEVEL_RANK = { note: 1, warning: 2, error: 3 } as const;
const SECURITY_SEVERITY = { error: '8.0', warning: '5.5', note: '3.0' } as const;

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

async function analyzePatterns(input: PatternAnalysisInput): Promise<PatternAnalysisResult> {
  const rules = PATTERN_RULES.filter(
    (r) =>
      LEVEL_RANK[r.level] >= LEVEL_RANK[input.minLevel] && (input.rules.length === 0 || input.rules.includes(r.id)),
  );
  const ruleIds = rules.map((r) => r.id);
  const byId = new Map(rules.map((r) => [r.id, r]));
  return withTarget(input.target, async (dir) => {
    const files = await listTargetFiles(dir, input.exclude);
    const wanted = files.filter((f) => {
      const lang = languageOf(f.rel);
      return lang !== undefined && (input.languages.length === 0 || input.languages.includes(lang));
    });
    const findings: ToolFinding[] = [];
    let scanned = 0;
    let skipped = 0;
    for (const file of wanted) {
      if (scanned % 100 === 0) {
        checkpoint({ phase: 'patterns', scanned, total: wanted.length });
      }
      if (file.size > input.maxFileBytes) {
        skipped++;
        continue;
      }
      const text = await readText(file.abs);
      if (text === undefined) {
        skipped++;
        continue;
      }
      scanned++;
      for (const f of scanSource(text, languageOf(file.rel) as Language, { ruleIds })) {
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
        });
      }
    }
    checkpoint({ phase: 'patterns', scanned, total: wanted.length });
    const run = buildSarifRun({ name: TOOL_NAME, rules: rules.map(sarifRule) }, findings, input.rootUri);
    run.properties = { filesScanned: scanned, filesSkipped: skipped };
    const store = objectStore();
    const key = runKey(input.runId, `parts/${TOOL_NAME}.sarif`);
    await store.putJson(store.buckets.results, key, { version: '2.1.0', runs: [run] });
    return { tool: TOOL_NAME, key, results: findings.length, filesScanned: scanned, filesSkipped: skipped };
  });
}

export const activities = { analyzePatterns };
