import { executeChild, proxyActivities, setHandler } from '@temporalio/workflow';
import type { activities as planActivities } from '../../modules/orchestration/plan';
import type { activities as sarifActivities } from '../../modules/reporters/sarif';
import {
  fileContext,
  type FileContextParams,
  progressQuery,
  type RunProgress,
  type ScanSummary,
  type WorkflowInput,
} from '../../shared/definitions';

export interface FullScanParams extends FileContextParams {
  exclude: string[];
  workflows: string[];
}

const { planFullScan, mergeSarif } = proxyActivities<typeof planActivities & typeof sarifActivities>({
  startToCloseTimeout: '30m',
  heartbeatTimeout: '1m',
  retry: { maximumAttempts: 3, nonRetryableErrorTypes: ['UnsafeTarget'] },
});

/** Children on their verticals' queues in parallel; a child that fails becomes a notification. */
export async function full_scan(input: WorkflowInput<FullScanParams>): Promise<ScanSummary> {
  let progress: RunProgress = { phase: 'planning', fraction: 0.05 };
  setHandler(progressQuery, () => progress);
  const plan = await planFullScan({
    target: input.target,
    exclude: input.params.exclude,
    workflows: input.params.workflows,
    include_vendored: input.params.include_vendored,
    report_tests_and_docs: input.params.report_tests_and_docs,
  });
  const notifications = plan.skipped.map((s) => ({
    tool: s.workflow,
    message: `${s.workflow} did not run: ${s.reason}`,
  }));
  let done = 0;
  progress = { phase: 'scanning', detail: plan.children.map((c) => c.workflow).join(', '), fraction: 0.1 };
  const outcomes = await Promise.all(
    plan.children.map(async (child) => {
      try {
        const summary = await executeChild<(i: WorkflowInput) => Promise<ScanSummary>>(child.workflow, {
          taskQueue: child.taskQueue,
          workflowId: `${input.runId}.${child.workflow}`,
          args: [
            {
              runId: `${input.runId}.${child.workflow}`,
              target: input.target,
              params: child.params,
              workspace: input.workspace,
            },
          ],
        });
        return { child, summary };
      } catch (err) {
        const cause = (err as { cause?: { message?: string } }).cause?.message;
        return { child, error: `${child.workflow} failed: ${cause ?? (err as Error).message}` };
      } finally {
        done++;
        progress = {
          phase: 'scanning',
          detail: `${done}/${plan.children.length} done`,
          fraction: 0.1 + (0.8 * done) / Math.max(1, plan.children.length),
        };
      }
    }),
  );
  for (const o of outcomes) {
    if (o.error) {
      notifications.push({ tool: o.child.workflow, message: o.error });
    }
  }
  progress = { phase: 'reporting', fraction: 0.9 };
  const summary = await mergeSarif({
    runId: input.runId,
    workflow: 'full_scan',
    parts: outcomes.flatMap((o) => (o.summary ? [{ tool: o.child.workflow, key: o.summary.sarifKey }] : [])),
    notifications,
    target: input.target,
    baseline: input.baseline,
    context: fileContext(input.params),
  });
  progress = { phase: 'done', fraction: 1 };
  return summary;
}
