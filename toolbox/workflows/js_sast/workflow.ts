import { proxyActivities, setHandler } from '@temporalio/workflow';
import type { SastResult } from '../../modules/sast/common';
import type { activities as eslintActivities } from '../../modules/sast/eslint';
import type { activities as sarifActivities } from '../../modules/reporters/sarif';
import { progressQuery, type RunProgress, type ScanSummary, type WorkflowInput } from '../../shared/definitions';

export interface JsSastParams {
  exclude: string[];
  tools: 'eslint'[];
  min_level: 'note' | 'warning' | 'error';
  extra_eslint_rules: Record<string, unknown>;
}

// Two attempts: a tool that fails is already reported as a notification by the activity, so a
// retry only helps with transient storage or worker trouble.
const { runEslint, mergeSarif } = proxyActivities<typeof eslintActivities & typeof sarifActivities>({
  startToCloseTimeout: '30m',
  heartbeatTimeout: '1m',
  retry: { maximumAttempts: 2, nonRetryableErrorTypes: ['UnsafeTarget'] },
});

/** eslint with eslint-plugin-security over the JS/TS files (more tools run in parallel), then one SARIF log. */
export async function js_sast(input: WorkflowInput<JsSastParams>): Promise<ScanSummary> {
  const { params } = input;
  let progress: RunProgress = { phase: 'analyzing', detail: params.tools.join(', '), fraction: 0.1 };
  setHandler(progressQuery, () => progress);
  const jobs: Promise<SastResult>[] = [];
  if (params.tools.includes('eslint')) {
    jobs.push(
      runEslint({
        runId: input.runId,
        target: input.target,
        rootUri: input.workspace.rootUri,
        exclude: params.exclude,
        minLevel: params.min_level,
        extraRules: params.extra_eslint_rules,
      }),
    );
  }
  const parts = await Promise.all(jobs);
  progress = { phase: 'reporting', fraction: 0.9 };
  const summary = await mergeSarif({
    runId: input.runId,
    workflow: 'js_sast',
    parts: parts.map((p) => ({ tool: p.tool, key: p.key })),
    target: input.target,
    baseline: input.baseline,
  });
  progress = { phase: 'done', fraction: 1 };
  return summary;
}
