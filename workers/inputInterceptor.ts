// Workflow code (bundled with every toolbox's workflows by the loader): before any workflow runs,
// its input goes through the worker's validation activity, and the workflow gets the checked input
// (parameters with defaults filled). One code path for every workflow, present or added later, so
// a run started directly on Temporal is checked like one started by a front end.
import {
  ActivityFailure,
  ApplicationFailure,
  patched,
  proxyActivities,
  proxyLocalActivities,
  workflowInfo,
  type ActivityOptions,
  type Next,
  type WorkflowExecuteInput,
  type WorkflowInboundCallsInterceptor,
  type WorkflowInterceptorsFactory,
} from '@temporalio/workflow';
import { BAD_INPUT, VALIDATE_INPUT_ACTIVITY } from '../toolbox/shared/definitions';

type Validate = (request: { workflow: string; workflowId: string; input: unknown }) => Promise<unknown>;

const VALIDATION_OPTIONS: Pick<ActivityOptions, 'startToCloseTimeout' | 'retry'> = {
  // Includes fetching and hashing the target's manifest (seconds even for a large tree). Short, so
  // a request that hangs (a storage connection lost mid-call) costs a minute, not five, before the
  // retry.
  startToCloseTimeout: '60s',
  retry: { maximumAttempts: 5, nonRetryableErrorTypes: [BAD_INPUT] },
};

type Validators = Record<typeof VALIDATE_INPUT_ACTIVITY, Validate>;
const validators = proxyActivities<Validators>(VALIDATION_OPTIONS);
/**
 * The same activity run by the worker that took the run's first workflow task, inside that task:
 * the run's first tools are scheduled when that task completes instead of one activity and one
 * workflow task later (about 40 ms of every run). Every worker of the run's queue has it.
 */
const localValidators = proxyLocalActivities<Validators>(VALIDATION_OPTIONS);

class ValidateInput implements WorkflowInboundCallsInterceptor {
  async execute(input: WorkflowExecuteInput, next: Next<WorkflowInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    let checked: unknown;
    try {
      // Runs begun before validation became local replay with the activity they scheduled.
      const validate = patched('validate-input-locally') ? localValidators : validators;
      checked = await validate[VALIDATE_INPUT_ACTIVITY]({
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
