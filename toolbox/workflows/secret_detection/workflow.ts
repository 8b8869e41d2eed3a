import type { activities as detectorActivities } from '../../modules/secrets/detectorActivity';
import type { activities as gitleaksActivities } from '../../modules/secrets/gitleaks';
import type { FileContextParams, ScanSummary, WorkflowInput } from '../../shared/definitions';
import { sastScan, scanActivities } from '../../shared/sastScan';

export interface SecretDetectionParams extends FileContextParams {
  exclude: string[];
  max_file_bytes: number;
  use_gitleaks: boolean;
  min_entropy: number;
}

const { detectSecretsInTarget, dedupSecretParts, runGitleaks } = scanActivities<
  typeof detectorActivities & typeof gitleaksActivities
>();

/** Our detector and gitleaks in parallel, gitleaks' duplicates of ours removed, one merged SARIF log. */
export async function secret_detection(input: WorkflowInput<SecretDetectionParams>): Promise<ScanSummary> {
  const { params } = input;
  return sastScan(
    'secret_detection',
    input,
    {
      'fuzzforge-secrets': (base) =>
        detectSecretsInTarget({ ...base, maxFileBytes: params.max_file_bytes, minEntropy: params.min_entropy }),
      gitleaks: (base) => runGitleaks({ ...base, maxFileBytes: params.max_file_bytes }),
    },
    {
      chosen: params.use_gitleaks ? ['fuzzforge-secrets', 'gitleaks'] : ['fuzzforge-secrets'],
      // gitleaks' results that our detector also reported go: ours speak for the secret.
      combine: async ({ 'fuzzforge-secrets': ours, gitleaks }) =>
        ours && gitleaks
          ? dedupSecretParts({ runId: input.runId, ours, theirs: gitleaks })
          : [ours, gitleaks].filter((part) => part !== undefined),
    },
  );
}
