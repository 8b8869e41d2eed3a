import { proxyActivities, setHandler } from '@temporalio/workflow';
import type { activities as banditActivities } from '../../modules/sast/bandit';
import type { SastResult } from '../../modules/sast/common';
import type { activities as semgrepActivities } from '../../modules/sast/semgrep';
import type { activities as sarifActivities } from '../../modules/reporters/sarif';
import { progressQuery, type RunProgress, type ScanSummary, type WorkflowInput } from '../../shared/definitions';

export interface PythonSastParams {
  exclude: string[];
  tools: ('bandit' | 'semgrep')[];
  min_level: 'note' | 'warning' | 'error';
  bandit_skips: string[];
  extra_semgrep_rules: string[];
}

// Two attempts: a tool that fails is already reported as a notification by the activity, so a
// retry only helps with transient storage or worker trouble.
const { runBandit, runSemgrep, mergeSarif } = proxyActivities<
  typeof banditActivities & typeof semgrepActivities & typeof sarifActivities
>({
  startToCloseTimeout: '30m',
  heartbeatTimeout: '1m',
  retry: { maximumAttempts: 2, nonRetryableErrorTypes: ['UnsafeTarget'] },
});

/** bandit and semgrep in parallel over the Python files, then one merged SARIF log. */
export async function python_sast(input: WorkflowInput<PythonSastParams>): Promise<ScanSummary> {
  const { params } = input;
  let progress: RunProgress = { phase: 'analyzing', detail: params.tools.join(', '), fraction: 0.1 };
  setHandler(progressQuery, () => progress);
  const common = {
    runId: input.runId,
    target: input.target,
    rootUri: input.workspace.rootUri,
    exclude: params.exclude,
    minLevel: params.min_level,
  };
  const jobs: Promise<SastResult>[] = [];
  if (params.tools.includes('bandit')) {
    jobs.push(runBandit({ ...common, skips: params.bandit_skips }));
  }
  if (params.tools.includes('semgrep')) {
    jobs.push(runSemgrep({ ...common, extraRules: params.extra_semgrep_rules }));
  }
  const parts = await Promise.all(jobs);
  progress = { phase: 'reporting', fraction: 0.9 };
  const summary = await mergeSarif({
    runId: input.runId,
    workflow: 'python_sast',
    parts: parts.map((p) => ({ tool: p.tool, key: p.key })),
    target: input.target,
    baseline: input.baseline,
  });
  progress = { phase: 'done', fraction: 1 };
  return summary;
}
