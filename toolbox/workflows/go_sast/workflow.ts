import { proxyActivities, setHandler } from '@temporalio/workflow';
import type { activities as gosecActivities, GosecLevel } from '../../modules/sast/gosec';
import type { activities as govetActivities } from '../../modules/sast/govet';
import type { NativeToolResult } from '../../modules/sast/native';
import type { activities as sarifActivities } from '../../modules/reporters/sarif';
import { progressQuery, type RunProgress, type ScanSummary, type WorkflowInput } from '../../shared/definitions';

export interface GoSastParams {
  exclude: string[];
  tools: ('gosec' | 'govet')[];
  severity: GosecLevel;
  confidence: GosecLevel;
  include_rules: string[];
  exclude_rules: string[];
}

const { runGosec, runGoVet } = proxyActivities<typeof gosecActivities & typeof govetActivities>({
  // The activities bound their tools to 25 minutes and report a time-out as a notification.
  startToCloseTimeout: '30m',
  heartbeatTimeout: '1m',
  retry: { maximumAttempts: 2, nonRetryableErrorTypes: ['UnsafeTarget'] },
});

const { mergeSarif } = proxyActivities<typeof sarifActivities>({
  startToCloseTimeout: '5m',
  heartbeatTimeout: '1m',
  retry: { maximumAttempts: 2 },
});

/** gosec and go vet in parallel over every Go module of the target, then one merged SARIF log. */
export async function go_sast(input: WorkflowInput<GoSastParams>): Promise<ScanSummary> {
  let progress: RunProgress = { phase: 'analyzing', detail: input.params.tools.join(', '), fraction: 0.1 };
  setHandler(progressQuery, () => progress);
  const { params } = input;
  const base = { runId: input.runId, target: input.target, rootUri: input.workspace.rootUri, exclude: params.exclude };
  const jobs: Promise<NativeToolResult>[] = [];
  if (params.tools.includes('gosec')) {
    jobs.push(
      runGosec({
        ...base,
        severity: params.severity,
        confidence: params.confidence,
        includeRules: params.include_rules,
        excludeRules: params.exclude_rules,
      }),
    );
  }
  if (params.tools.includes('govet')) {
    jobs.push(runGoVet(base));
  }
  const parts = await Promise.all(jobs);
  progress = { phase: 'reporting', fraction: 0.9 };
  const summary = await mergeSarif({
    runId: input.runId,
    workflow: 'go_sast',
    parts: parts.map((p) => ({ tool: p.tool, key: p.key })),
    // Suppressions and the baseline apply to every workflow, not only inside full_scan.
    target: input.target,
    baseline: input.baseline,
  });
  progress = { phase: 'done', fraction: 1 };
  return summary;
}
