// Workflow code (bundled with every toolbox's workflows by the loader): before any workflow runs,
// its input goes through the worker's validation activity, and the workflow gets the checked input
// (parameters with defaults filled). One code path for every workflow, present or added later, so
// a run started directly on Temporal is checked like one started by a front end.
import {
  ActivityFailure,
  ApplicationFailure,
  proxyActivities,
  workflowInfo,
  type Next,
  type WorkflowExecuteInput,
  type WorkflowInboundCallsInterceptor,
  type WorkflowInterceptorsFactory,
} from '@temporalio/workflow';
import { BAD_INPUT, VALIDATE_INPUT_ACTIVITY } from '../toolbox/shared/definitions';

type Validate = (request: { workflow: string; workflowId: string; input: unknown }) => Promise<unknown>;

const validators = proxyActivities<Record<typeof VALIDATE_INPUT_ACTIVITY, Validate>>({
  // Includes fetching and hashing the target's manifest (seconds even for a large tree). Short, so
  // a request that hangs (a storage connection lost mid-call) costs a minute, not five, before the
  // retry.
  startToCloseTimeout: '60s',
  retry: { maximumAttempts: 5, nonRetryableErrorTypes: [BAD_INPUT] },
});

class ValidateInput implements WorkflowInboundCallsInterceptor {
  async execute(input: WorkflowExecuteInput, next: Next<WorkflowInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    let checked: unknown;
    try {
      checked = await validators[VALIDATE_INPUT_ACTIVITY]({
        workflow: workflowInfo().workflowType,
        // A run's results are stored under its run id: it must be this execution's own id.
        workflowId: workflowInfo().workflowId,
        input: input.args[0],
      });
    } catch (err) {
      // The run fails with the validator's own message (naming the field), not "activity failed".
      if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type === BAD_INPUT) {
        throw ApplicationFailure.nonRetryable(err.cause.message, BAD_INPUT);
      }
      throw err;
    }
    return next({ ...input, args: [checked, ...input.args.slice(1)] });
  }
}

export const interceptors: WorkflowInterceptorsFactory = () => ({ inbound: [new ValidateInput()] });
