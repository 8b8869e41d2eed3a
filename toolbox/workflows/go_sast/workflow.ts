import type { activities as gosecActivities, GosecLevel } from '../../modules/sast/gosec';
import type { activities as govetActivities } from '../../modules/sast/govet';
import type { FileContextParams, ScanSummary, WorkflowInput } from '../../shared/definitions';
import { sastScan, scanActivities } from '../../shared/sastScan';

export interface GoSastParams extends FileContextParams {
  exclude: string[];
  tools: ('gosec' | 'govet')[];
  severity: GosecLevel;
  confidence: GosecLevel;
  include_rules: string[];
  exclude_rules: string[];
}

const { runGosec, runGoVet } = scanActivities<typeof gosecActivities & typeof govetActivities>();

/** gosec and go vet in parallel over every Go module of the target, then one merged SARIF log. */
export async function go_sast(input: WorkflowInput<GoSastParams>): Promise<ScanSummary> {
  const { params } = input;
  return sastScan(
    'go_sast',
    input,
    {
      gosec: (base) =>
        runGosec({
          ...base,
          severity: params.severity,
          confidence: params.confidence,
          includeRules: params.include_rules,
          excludeRules: params.exclude_rules,
        }),
      govet: (base) => runGoVet(base),
    },
    { chosen: params.tools },
  );
}
