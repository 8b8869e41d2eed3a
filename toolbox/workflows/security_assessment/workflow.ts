import type { activities as patternActivities } from '../../modules/analyzers/patternAnalyzer';
import type { Language } from '../../modules/analyzers/patterns';
import type { activities as inventoryActivities } from '../../modules/inventory/files';
import type { FileContextParams, ScanSummary, WorkflowInput } from '../../shared/definitions';
import { sastScan, scanActivities } from '../../shared/sastScan';

export interface SecurityAssessmentParams extends FileContextParams {
  exclude: string[];
  max_file_bytes: number;
  languages: Language[];
  min_level: 'note' | 'warning' | 'error';
  rules: string[];
}

const { inventoryFiles, analyzePatterns } = scanActivities<typeof patternActivities & typeof inventoryActivities>();

/** Inventory and pattern analysis in parallel, then one merged SARIF log. */
export async function security_assessment(input: WorkflowInput<SecurityAssessmentParams>): Promise<ScanSummary> {
  const { params } = input;
  return sastScan(
    'security_assessment',
    input,
    {
      patterns: (base) =>
        analyzePatterns({
          ...base,
          maxFileBytes: params.max_file_bytes,
          languages: params.languages,
          minLevel: params.min_level,
          rules: params.rules,
        }),
    },
    { inventory: ({ runId, target, exclude }) => inventoryFiles({ runId, target, exclude }) },
  );
}
