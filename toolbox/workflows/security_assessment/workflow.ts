import { proxyActivities, setHandler } from '@temporalio/workflow';
import type { activities as patternActivities } from '../../modules/analyzers/patternAnalyzer';
import type { Language } from '../../modules/analyzers/patterns';
import type { activities as inventoryActivities } from '../../modules/inventory/files';
import type { activities as sarifActivities } from '../../modules/reporters/sarif';
import { progressQuery, type RunProgress, type ScanSummary, type WorkflowInput } from '../../shared/definitions';

export interface SecurityAssessmentParams {
  exclude: string[];
  max_file_bytes: number;
  languages: Language[];
  min_level: 'note' | 'warning' | 'error';
  rules: string[];
}

const { inventoryFiles, analyzePatterns, mergeSarif } = proxyActivities<
  typeof patternActivities & typeof inventoryActivities & typeof sarifActivities
>({
  startToCloseTimeout: '20m',
  heartbeatTimeout: '1m',
  retry: { maximumAttempts: 3, nonRetryableErrorTypes: ['UnsafeTarget'] },
});

/** Inventory and pattern analysis in parallel, then one merged SARIF log. */
export async function security_assessment(input: WorkflowInput<SecurityAssessmentParams>): Promise<ScanSummary> {
  let progress: RunProgress = { phase: 'analyzing', fraction: 0.1 };
  setHandler(progressQuery, () => progress);
  const { params } = input;
  const [inventory, patterns] = await Promise.all([
    inventoryFiles({ runId: input.runId, target: input.target, exclude: params.exclude }),
    analyzePatterns({
      runId: input.runId,
      target: input.target,
      rootUri: input.workspace.rootUri,
      exclude: params.exclude,
      maxFileBytes: params.max_file_bytes,
      languages: params.languages,
      minLevel: params.min_level,
      rules: params.rules,
    }),
  ]);
  progress = { phase: 'reporting', fraction: 0.9 };
  const summary = await mergeSarif({
    runId: input.runId,
    workflow: 'security_assessment',
    parts: [{ tool: patterns.tool, key: patterns.key }],
    inventory,
    target: input.target,
    baseline: input.baseline,
  });
  progress = { phase: 'done', fraction: 1 };
  return summary;
}
