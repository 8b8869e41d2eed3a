import { proxyActivities, setHandler } from '@temporalio/workflow';
import type { activities as cppcheckActivities } from '../../modules/sast/cppcheck';
import type { activities as flawfinderActivities } from '../../modules/sast/flawfinder';
import type { NativeToolResult } from '../../modules/sast/native';
import type { activities as sarifActivities } from '../../modules/reporters/sarif';
import { progressQuery, type RunProgress, type ScanSummary, type WorkflowInput } from '../../shared/definitions';

export interface CppSastParams {
  exclude: string[];
  tools: ('cppcheck' | 'flawfinder')[];
  std: string;
  min_level: number;
  false_positive: boolean;
}

const { runCppcheck, runFlawfinder } = proxyActivities<typeof cppcheckActivities & typeof flawfinderActivities>({
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

/** cppcheck and flawfinder in parallel over the target's C/C++ files, then one merged SARIF log. */
export async function cpp_sast(input: WorkflowInput<CppSastParams>): Promise<ScanSummary> {
  let progress: RunProgress = { phase: 'analyzing', detail: input.params.tools.join(', '), fraction: 0.1 };
  setHandler(progressQuery, () => progress);
  const { params } = input;
  const base = { runId: input.runId, target: input.target, rootUri: input.workspace.rootUri, exclude: params.exclude };
  const jobs: Promise<NativeToolResult>[] = [];
  if (params.tools.includes('cppcheck')) {
    jobs.push(runCppcheck({ ...base, std: params.std }));
  }
  if (params.tools.includes('flawfinder')) {
    jobs.push(runFlawfinder({ ...base, minLevel: params.min_level, falsePositive: params.false_positive }));
  }
  const parts = await Promise.all(jobs);
  progress = { phase: 'reporting', fraction: 0.9 };
  const summary = await mergeSarif({
    runId: input.runId,
    workflow: 'cpp_sast',
    parts: parts.map((p) => ({ tool: p.tool, key: p.key })),
    // Suppressions and the baseline apply to every workflow, not only inside full_scan.
    target: input.target,
    baseline: input.baseline,
  });
  progress = { phase: 'done', fraction: 1 };
  return summary;
}
