import { proxyActivities, setHandler } from '@temporalio/workflow';
import type { activities as sarifActivities, SarifPart } from '../../modules/reporters/sarif';
import type { activities as detectorActivities } from '../../modules/secrets/detectorActivity';
import type { activities as gitleaksActivities } from '../../modules/secrets/gitleaks';
import { progressQuery, type RunProgress, type ScanSummary, type WorkflowInput } from '../../shared/definitions';

export interface SecretDetectionParams {
  exclude: string[];
  max_file_bytes: number;
  use_gitleaks: boolean;
  min_entropy: number;
}

const { detectSecretsInTarget, dedupSecretParts, runGitleaks, mergeSarif } = proxyActivities<
  typeof detectorActivities & typeof gitleaksActivities & typeof sarifActivities
>({
  startToCloseTimeout: '20m',
  heartbeatTimeout: '1m',
  retry: { maximumAttempts: 2, nonRetryableErrorTypes: ['UnsafeTarget'] },
});

/** Our detector and gitleaks in parallel, gitleaks' duplicates of ours removed, one merged SARIF log. */
export async function secret_detection(input: WorkflowInput<SecretDetectionParams>): Promise<ScanSummary> {
  let progress: RunProgress = { phase: 'scanning', fraction: 0.1 };
  setHandler(progressQuery, () => progress);
  const { params } = input;
  const common = {
    runId: input.runId,
    target: input.target,
    rootUri: input.workspace.rootUri,
    exclude: params.exclude,
    maxFileBytes: params.max_file_bytes,
  };
  const [ours, gitleaks] = await Promise.all([
    detectSecretsInTarget({ ...common, minEntropy: params.min_entropy }),
    params.use_gitleaks ? runGitleaks(common) : Promise.resolve(undefined),
  ]);
  progress = { phase: 'reporting', fraction: 0.9 };
  let parts: SarifPart[] = [{ tool: ours.tool, key: ours.key }];
  if (gitleaks) {
    parts = await dedupSecretParts({
      runId: input.runId,
      ours: { tool: ours.tool, key: ours.key },
      theirs: { tool: gitleaks.tool, key: gitleaks.key },
    });
  }
  // target: inline `fuzzforge-ignore[...]` comments and .fuzzforge/ignore; baseline: new/unchanged marks.
  const summary = await mergeSarif({
    runId: input.runId,
    workflow: 'secret_detection',
    parts,
    target: input.target,
    baseline: input.baseline,
  });
  progress = { phase: 'done', fraction: 1 };
  return summary;
}
