// The worker's side of input validation: the activity the workflow interceptor
// (inputInterceptor.ts) calls. Shapes and parameters are checked by the same code the front ends
// use; this adds what only storage can tell: the digest names the target stored at `target.key`.
import { ApplicationFailure } from '@temporalio/common';
import type { WorkflowDefinition } from '../backend/toolbox/discovery';
import { checkWorkflowInput, InvalidWorkflowInputError, quoteValue } from '../backend/toolbox/workflowInput';
import { sha256 } from '../backend/storage/manifest';
import type { ObjectStore } from '../backend/storage/objectStore';
import { BAD_INPUT, VALIDATE_INPUT_ACTIVITY, type TargetRef, type WorkflowInput } from '../toolbox/shared/definitions';

const refuse = (message: string) => ApplicationFailure.nonRetryable(message, BAD_INPUT);

/** The target exists and, for a tree, the manifest stored at its key hashes to its digest. */
async function checkStoredTarget(store: Pick<ObjectStore, 'stat' | 'getBuffer'>, workflow: string, ref: TargetRef) {
  const where = `s3://${ref.bucket}/${ref.key}`;
  const info = await store.stat(ref.bucket, ref.key);
  if (!info) {
    throw refuse(`invalid input for ${workflow}: target.key names no stored target (${where} does not exist)`);
  }
  if (ref.kind === 'tree') {
    const actual = sha256(await store.getBuffer(ref.bucket, ref.key));
    if (actual !== ref.digest) {
      throw refuse(
        `invalid input for ${workflow}: target.digest ${quoteValue(ref.digest)} does not name the manifest at ${where} (it hashes to ${actual})`,
      );
    }
  }
  // An archive's content is hashed against its digest when the target cache downloads it.
}

/** What the workflow interceptor asks the validation activity to check. */
export interface ValidationRequest {
  workflow: string;
  workflowId?: string;
  input: unknown;
}

/** Checks one request against its workflow's definition (the definition is already known). */
export type InputCheck = (definition: WorkflowDefinition, request: ValidationRequest) => Promise<WorkflowInput>;

/**
 * The check itself: shapes and parameters, then the stored target. It loads the schema validator
 * and talks to storage, so the worker host runs it in its activity process (the host stays small).
 */
export function storedInputCheck(store: Pick<ObjectStore, 'stat' | 'getBuffer' | 'buckets'>): InputCheck {
  return async (definition, request) => {
    let input: WorkflowInput;
    try {
      input = checkWorkflowInput(definition, request.input, {
        targetsBucket: store.buckets.targets,
        ...(request.workflowId !== undefined ? { workflowId: request.workflowId } : {}),
      });
    } catch (err) {
      if (err instanceof InvalidWorkflowInputError) {
        throw refuse(err.message);
      }
      throw err;
    }
    await checkStoredTarget(store, definition.name, input.target);
    return input;
  };
}

/**
 * The validation activity, keyed by its registered name, for the workflows this worker serves: a
 * workflow it did not load is refused here, the rest goes to `check`.
 */
export function inputValidationActivities(
  definitions: readonly WorkflowDefinition[],
  check: InputCheck,
): Record<typeof VALIDATE_INPUT_ACTIVITY, (request: ValidationRequest) => Promise<WorkflowInput>> {
  const byName = new Map(definitions.map((d) => [d.name, d]));
  return {
    async [VALIDATE_INPUT_ACTIVITY](request) {
      const definition = byName.get(request.workflow);
      if (!definition) {
        throw refuse(`${quoteValue(request.workflow)} is not a workflow this worker loaded from its toolbox`);
      }
      return check(definition, request);
    },
  };
}
