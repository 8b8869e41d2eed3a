// Activities of the secret_detection workflow around our own detector: scan the target with
// ./detector and store the findings as one SARIF part, and merge gitleaks' part into ours by
// removing duplicates (./dedup) before the reporter merges the run.
import { parseSarif } from '../../../backend/sarif/log';
import type { SarifLog, SarifRule } from '../../../backend/sarif/types';
import { buildSarifRun, type SarifPart, type ToolFinding } from '../reporters/sarif';
import { objectStore, runKey } from '../runtime';
import { addNotifications, runToolActivity, scanTextFiles, type SastInput, type SastResult } from '../sast/common';
import { listTargetFiles } from '../targetFiles';
import { dedupSecretLogs } from './dedup';
import { DEFAULT_MIN_ENTROPY, detectSecrets, SECRET_RULES, type SecretRule } from './detector';

export const TOOL_NAME = 'fuzzforge-secrets';

export interface SecretScanInput extends Omit<SastInput, 'minLevel'> {
  maxFileBytes: number;
  minEntropy?: number;
}

const SECURITY_SEVERITY = { error: '8.0', warning: '5.5', note: '3.0' } as const;

/** The SARIF description of a secret rule: help text, CWE tag, precision, severity. */
export function secretSarifRule(rule: SecretRule): SarifRule {
  return {
    id: rule.id,
    name: rule.name,
    shortDescription: { text: rule.description },
    fullDescription: { text: rule.description },
    help: { text: rule.help },
    helpUri: rule.helpUri,
    defaultConfiguration: { level: rule.level },
    properties: {
      tags: ['security', 'secrets', ...rule.cwe.map((c) => `external/cwe/${c.toLowerCase()}`)],
      precision: rule.precision,
      'security-severity': SECURITY_SEVERITY[rule.level],
      cwe: rule.cwe,
    },
  };
}

/**
 * Our detector under the tool-activity policy (runToolActivity, scanTextFiles), like gitleaks
 * beside it: an error becomes a notification part so gitleaks' findings still reach the log, a
 * file it fails on is lost alone, and at the end of the time budget what was found is kept.
 */
async function detectSecretsInTarget(input: SecretScanInput): Promise<SastResult> {
  const levels = new Map(SECRET_RULES.map((r) => [r.id, r.level]));
  return runToolActivity(TOOL_NAME, input, async (dir, deadline) => {
    const files = await listTargetFiles(dir, input.exclude);
    const findings: ToolFinding[] = [];
    const extra: Record<string, unknown>[] = [];
    const scan = await scanTextFiles(TOOL_NAME, files, { maxFileBytes: input.maxFileBytes, deadline }, (text, file) => {
      // Lockfile integrity hashes are skipped by detectSecrets itself (it knows lockfiles by name).
      for (const f of detectSecrets(text, file.rel, { minEntropy: input.minEntropy ?? DEFAULT_MIN_ENTROPY })) {
        findings.push({
          ruleId: f.ruleId,
          level: levels.get(f.ruleId) ?? 'error',
          message: f.message,
          file: file.rel,
          line: f.line,
          column: f.column,
          endColumn: f.endColumn,
          snippet: f.snippet,
        });
        extra.push({ secretKind: f.kind, ...(f.entropy !== undefined ? { entropy: f.entropy } : {}) });
      }
    });
    const run = buildSarifRun({ name: TOOL_NAME, rules: SECRET_RULES.map(secretSarifRule) }, findings, input.rootUri);
    (run.results ?? []).forEach((result, i) => {
      result.properties = { ...result.properties, ...extra[i] };
    });
    run.properties = { filesScanned: scan.scanned, filesSkipped: scan.skipped };
    addNotifications(run, scan.notifications, scan.outOfTime);
    return run;
  });
}

export interface DedupInput {
  runId: string;
  /** Our detector's part. */
  ours: SarifPart;
  /** gitleaks' part (possibly a notification). */
  theirs: SarifPart;
}

/**
 * Remove gitleaks' duplicates of our findings (see ./dedup for which one is kept) and return the
 * parts to merge. The results are written under new keys, so a retry reads the same inputs.
 */
async function dedupSecretParts(input: DedupInput): Promise<SarifPart[]> {
  const store = objectStore();
  const bucket = store.buckets.results;
  const read = async (part: SarifPart): Promise<SarifLog | undefined> => {
    try {
      return parseSarif((await store.getBuffer(bucket, part.key)).toString('utf8'), `${part.tool} output`);
    } catch {
      return undefined; // mergeSarif records the broken part as a notification
    }
  };
  const [ours, theirs] = await Promise.all([read(input.ours), read(input.theirs)]);
  if (!ours || !theirs) {
    return [input.ours, input.theirs];
  }
  const outcome = dedupSecretLogs(ours, theirs);
  for (const run of outcome.theirs.runs) {
    run.properties = { ...run.properties, duplicatesOfFuzzforgeSecrets: outcome.dropped };
  }
  const oursKey = runKey(input.runId, `parts/dedup/${input.ours.tool}.sarif`);
  const theirsKey = runKey(input.runId, `parts/dedup/${input.theirs.tool}.sarif`);
  await Promise.all([store.putJson(bucket, oursKey, outcome.ours), store.putJson(bucket, theirsKey, outcome.theirs)]);
  return [
    { tool: input.ours.tool, key: oursKey },
    { tool: input.theirs.tool, key: theirsKey },
  ];
}

export const activities = { detectSecretsInTarget, dedupSecretParts };
