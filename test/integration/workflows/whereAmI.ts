// A workflow for workflow-thread.test.ts: it waits on a Temporal timer (so runs overlap) and
// answers with the task queue its worker polls.
import { sleep, workflowInfo } from '@temporalio/workflow';

export async function whereAmI(ms: number): Promise<string> {
  await sleep(ms);
  return workflowInfo().taskQueue;
}
