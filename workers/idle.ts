// Idle stop for worker containers: a worker with nothing to do for FUZZFORGE_WORKER_IDLE_MINUTES
// shuts down cleanly (exit 0, which a compose `restart: on-failure` policy leaves stopped); the
// next run submitted for its vertical starts it again (backend/services/compose.ts
// ensureComposeWorker). "Nothing to do" means: no activity or workflow task in flight, no
// workflow in this worker's cache, and no open workflow on its task queue (a campaign waiting on
// a timer still needs a worker when the timer fires).
import type { NativeConnection, Worker } from '@temporalio/worker';
import { amountFromEnv } from '../backend/settings';

export interface IdleWatch {
  stop(): void;
}

/** Minutes from the environment (0 or unset: never stop). */
export function idleMinutesFromEnv(env: NodeJS.ProcessEnv): number {
  return amountFromEnv(env, 'FUZZFORGE_WORKER_IDLE_MINUTES', 0, 'minutes (0 = never stop)');
}

/** Whether a worker has work in hand: a task in flight or a workflow in its cache. */
export function workerHasWork(worker: Worker): boolean {
  const status = worker.getStatus();
  return status.numInFlightActivities > 0 || status.numInFlightWorkflowActivations > 0 || status.numCachedWorkflows > 0;
}

/** Open workflows on a task queue (or in the whole namespace), as Temporal's visibility store counts them. */
export async function openWorkflows(
  connection: NativeConnection,
  namespace: string,
  taskQueue?: string,
): Promise<number> {
  const res = await connection.workflowService.countWorkflowExecutions({
    namespace,
    query:
      taskQueue === undefined
        ? 'ExecutionStatus = "Running"'
        : `TaskQueue = "${taskQueue}" AND ExecutionStatus = "Running"`,
  });
  return Number(res.count ?? 0);
}

/**
 * Watch the worker; after `minutes` without work call `onIdle` once. A failed visibility query
 * counts as busy: a worker never stops because it could not ask.
 */
export function watchIdle(
  worker: Worker,
  connection: NativeConnection,
  options: { namespace: string; taskQueue: string; minutes: number; checkEveryMs?: number },
  onIdle: () => void,
): IdleWatch {
  let lastBusy = Date.now();
  let checking = false;
  const limitMs = options.minutes * 60_000;
  const timer = setInterval(
    () => {
      if (checking) {
        return;
      }
      checking = true;
      void (async () => {
        let busy = workerHasWork(worker);
        if (!busy) {
          busy = await openWorkflows(connection, options.namespace, options.taskQueue).then(
            (n) => n > 0,
            () => true,
          );
        }
        if (busy) {
          lastBusy = Date.now();
        } else if (Date.now() - lastBusy >= limitMs) {
          clearInterval(timer);
          onIdle();
        }
      })().finally(() => {
        checking = false;
      });
    },
    Math.min(options.checkEveryMs ?? 15_000, Math.max(1000, limitMs / 4)),
  );
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
