import * as crypto from 'node:crypto';
import type { Client, Connection, WorkflowExecutionDescription, WorkflowExecutionInfo } from '@temporalio/client';
import type { defineSearchAttributeKey } from '@temporalio/common';
import { UserError } from '../errors';
import type { BackendConnection } from '../services/connection';
import { connectTemporal, temporalClient } from './connect';
import type { WorkflowDefinition } from '../toolbox/discovery';
import type { WorkspaceIdentity } from '../workspace';
import {
  progressQuery,
  taskQueueFor,
  type BaselineRef,
  type RunProgress,
  type ScanSummary,
  type TargetRef,
  type WorkflowInput,
} from '../../toolbox/shared/definitions';

// Spelled out as the SDK's defineSearchAttributeKey makes them: this file loads without the SDK.
const keywordKey = (name: string): ReturnType<typeof defineSearchAttributeKey<'KEYWORD'>> => ({
  name,
  type: 'KEYWORD',
});
export const WORKSPACE_KEY = keywordKey('FuzzforgeWorkspace');
export const WORKFLOW_KEY = keywordKey('FuzzforgeWorkflow');
export const VERTICAL_KEY = keywordKey('FuzzforgeVertical');

/** Our spelling of run states. Temporal's SDK says CANCELLED, its API says CANCELED: map both. */
export type RunStatus =
  | 'running'
  | 'completed'
  | 'failed'
  | 'canceled'
  | 'terminated'
  | 'timed_out'
  | 'continued_as_new'
  | 'paused'
  | 'unknown';

export function toRunStatus(name: string | undefined): RunStatus {
  switch ((name ?? '').toUpperCase().replace(/^WORKFLOW_EXECUTION_STATUS_/, '')) {
    case 'RUNNING':
      return 'running';
    case 'COMPLETED':
      return 'completed';
    case 'FAILED':
      return 'failed';
    case 'CANCELED':
    case 'CANCELLED':
      return 'canceled';
    case 'TERMINATED':
      return 'terminated';
    case 'TIMED_OUT':
      return 'timed_out';
    case 'CONTINUED_AS_NEW':
      return 'continued_as_new';
    case 'PAUSED':
      return 'paused';
    default:
      return 'unknown';
  }
}

/** A run that will not change any more. */
export function isTerminal(status: RunStatus): boolean {
  return ['completed', 'failed', 'canceled', 'terminated', 'timed_out', 'continued_as_new'].includes(status);
}

export interface RunMemo {
  workflow: string;
  workspaceName: string;
  workspaceRoot: string;
  workspaceId: string;
  target: Pick<TargetRef, 'name' | 'digest' | 'files' | 'bytes' | 'kind'>;
  params: Record<string, unknown>;
  baselineRunId?: string;
}

export interface RunInfo {
  runId: string;
  workflow: string;
  status: RunStatus;
  startTime?: Date;
  closeTime?: Date;
  taskQueue: string;
  memo?: Partial<RunMemo>;
  /** Temporal's id of this execution (its "run id"), for links into the Temporal UI. */
  executionRunId?: string;
}

/** A new run id: workflow name, UTC time, randomness. Readable in the Temporal UI and in a shell. */
export function newRunId(workflow: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${workflow}-${stamp}-${crypto.randomBytes(3).toString('hex')}`;
}

function toRunInfo(info: Omit<WorkflowExecutionInfo, 'raw'>): RunInfo {
  const memo = info.memo as Partial<RunMemo> | undefined;
  return {
    runId: info.workflowId,
    workflow: memo?.workflow ?? info.type,
    status: toRunStatus(info.status.name),
    startTime: info.startTime,
    closeTime: info.closeTime,
    taskQueue: info.taskQueue,
    memo,
    executionRunId: info.runId,
  };
}

export class RunFailedError extends UserError {
  constructor(
    readonly runId: string,
    readonly status: RunStatus,
    readonly reason: string,
  ) {
    super(`run ${runId} ${status.replace('_', ' ')}: ${reason}`, `inspect it with \`fuzzforge run status ${runId}\``);
  }
}

/** Start, list, describe, cancel and await FuzzForge runs on a Temporal namespace. */
export class RunService {
  private constructor(
    private readonly connection: Connection,
    readonly client: Client,
    private readonly namespace: string,
  ) {}

  static async connect(conn: Pick<BackendConnection, 'temporal'>): Promise<RunService> {
    let connection: Connection;
    try {
      connection = await connectTemporal(conn.temporal, 5000);
    } catch (err) {
      throw new UserError(
        `cannot reach Temporal at ${conn.temporal.address}: ${(err as Error).message}`,
        conn.temporal.tls || conn.temporal.apiKey
          ? 'check FUZZFORGE_TEMPORAL_ADDRESS and the FUZZFORGE_TEMPORAL_TLS_* / FUZZFORGE_TEMPORAL_API_KEY settings'
          : 'start the backend with `fuzzforge up`, or check the address setting (FUZZFORGE_TEMPORAL_ADDRESS; FUZZFORGE_TEMPORAL_TLS=1 for a TLS frontend)',
      );
    }
    const client = new (temporalClient().Client)({ connection, namespace: conn.temporal.namespace });
    return new RunService(connection, client, conn.temporal.namespace);
  }

  async close(): Promise<void> {
    await this.connection.close();
  }

  /** Number of workers polling a vertical's task queue right now. */
  async pollers(vertical: string): Promise<number> {
    const res = await this.connection.workflowService.describeTaskQueue({
      namespace: this.namespace,
      taskQueue: { name: taskQueueFor(vertical) },
      taskQueueType: 1,
    });
    return res.pollers?.length ?? 0;
  }

  async start(request: {
    definition: WorkflowDefinition;
    params: Record<string, unknown>;
    target: TargetRef;
    workspace: WorkspaceIdentity;
    runId?: string;
    baseline?: BaselineRef;
  }): Promise<RunInfo> {
    const { definition, params, target, workspace, baseline } = request;
    const runId = request.runId ?? newRunId(definition.name);
    const input: WorkflowInput = {
      runId,
      target,
      params,
      workspace: { id: workspace.id, name: workspace.name, rootUri: workspace.rootUri },
      ...(baseline ? { baseline } : {}),
    };
    const memo: RunMemo = {
      workflow: definition.name,
      workspaceName: workspace.name,
      workspaceRoot: workspace.root,
      workspaceId: workspace.id,
      target: { name: target.name, digest: target.digest, files: target.files, bytes: target.bytes, kind: target.kind },
      params,
      ...(baseline ? { baselineRunId: baseline.runId } : {}),
    };
    const taskQueue = taskQueueFor(definition.vertical);
    let executionRunId: string;
    try {
      const handle = await this.client.workflow.start(definition.name, {
        taskQueue,
        workflowId: runId,
        args: [input],
        workflowExecutionTimeout: `${definition.defaultTimeoutSeconds}s`,
        memo: memo as unknown as Record<string, unknown>,
        typedSearchAttributes: [
          { key: WORKSPACE_KEY, value: workspace.id },
          { key: WORKFLOW_KEY, value: definition.name },
          { key: VERTICAL_KEY, value: definition.vertical },
        ],
      });
      executionRunId = handle.firstExecutionRunId;
    } catch (err) {
      if (/search attribute/i.test((err as Error).message)) {
        throw new UserError(
          `Temporal rejected the run's search attributes: ${(err as Error).message}`,
          'register them once: temporal operator search-attribute create --name FuzzforgeWorkspace --type Keyword (and FuzzforgeWorkflow, FuzzforgeVertical)',
        );
      }
      throw err;
    }
    return {
      runId,
      workflow: definition.name,
      status: 'running',
      startTime: new Date(),
      taskQueue,
      memo,
      executionRunId,
    };
  }

  /** Runs, newest first, optionally of one workspace and/or one workflow. */
  async list(
    filter: { workspaceId?: string; workflow?: string; status?: RunStatus; limit?: number } = {},
  ): Promise<RunInfo[]> {
    const clauses = [];
    if (filter.workspaceId) {
      clauses.push(`FuzzforgeWorkspace = "${filter.workspaceId.replace(/"/g, '')}"`);
    } else {
      clauses.push('FuzzforgeWorkspace IS NOT NULL');
    }
    if (filter.workflow) {
      clauses.push(`FuzzforgeWorkflow = "${filter.workflow.replace(/"/g, '')}"`);
    }
    if (filter.status === 'running') {
      clauses.push('ExecutionStatus = "Running"');
    }
    const out: RunInfo[] = [];
    const limit = filter.limit ?? 50;
    for await (const info of this.client.workflow.list({
      query: clauses.join(' AND '),
      pageSize: Math.min(limit, 100),
    })) {
      out.push(toRunInfo(info));
      if (out.length >= limit) {
        break;
      }
    }
    return out.sort((a, b) => (b.startTime?.getTime() ?? 0) - (a.startTime?.getTime() ?? 0));
  }

  async describe(
    runId: string,
  ): Promise<
    RunInfo & { pendingActivities: { type: string; attempt: number; lastFailure?: string; heartbeat?: unknown }[] }
  > {
    let desc: WorkflowExecutionDescription;
    try {
      desc = await this.client.workflow.getHandle(runId).describe();
    } catch (err) {
      if (err instanceof temporalClient().WorkflowNotFoundError) {
        throw new UserError(`no run with id ${runId}`, 'list runs with `fuzzforge runs`');
      }
      throw err;
    }
    const pending = (desc.raw.pendingActivities ?? []).map((a) => ({
      type: a.activityType?.name ?? '?',
      attempt: a.attempt ?? 1,
      lastFailure: a.lastFailure?.message ?? undefined,
    }));
    return { ...toRunInfo(desc), pendingActivities: pending };
  }

  /** The latest progress a running workflow reports; undefined when it cannot answer. */
  async progress(runId: string): Promise<RunProgress | undefined> {
    try {
      return await this.client.workflow.getHandle(runId).query(progressQuery);
    } catch {
      return undefined;
    }
  }

  /**
   * Ask a run to stop. A worker cancels it (its activities get to clean up and report what they
   * found); when no worker serves its task queue, or the worker cannot run it, nobody would ever
   * act on the request, so the run is terminated instead. Says which happened.
   */
  async cancel(runId: string): Promise<'requested' | 'terminated'> {
    const info = await this.describe(runId);
    if (isTerminal(info.status)) {
      throw new UserError(`run ${runId} is already ${info.status}`);
    }
    const handle = this.client.workflow.getHandle(runId);
    await handle.cancel();
    const vertical = info.taskQueue?.startsWith('fuzzforge-') ? info.taskQueue.slice('fuzzforge-'.length) : undefined;
    const unserved = vertical !== undefined && (await this.pollers(vertical).catch(() => 1)) === 0;
    const stuck = unserved ? undefined : await this.stuckReason(runId).catch(() => undefined);
    if (unserved || stuck) {
      await handle.terminate(
        unserved
          ? `stopped on request; no ${vertical} worker was running to cancel it`
          : `stopped on request; the worker cannot run it: ${stuck}`,
      );
      return 'terminated';
    }
    return 'requested';
  }

  /**
   * Why a run cannot make progress, or undefined: a workflow task that keeps failing (for example a
   * worker that does not know the workflow yet) leaves a run "running" forever otherwise.
   */
  async stuckReason(runId: string, minAttempts = 2): Promise<string | undefined> {
    const handle = this.client.workflow.getHandle(runId);
    const desc = await handle.describe();
    const attempt = desc.raw.pendingWorkflowTask?.attempt ?? 0;
    if (toRunStatus(desc.status.name) !== 'running' || attempt < minAttempts) {
      return undefined;
    }
    const history = await handle.fetchHistory();
    // The last workflow task outcome decides. A task that timed out (a worker too busy or lost)
    // or hit the SDK's deadlock guard (a starved CPU) is retried until a worker gets through it:
    // that is a slow run, not a stuck one. A task the worker failed will fail again.
    const last = [...(history.events ?? [])]
      .reverse()
      .find(
        (e) =>
          e.workflowTaskFailedEventAttributes ||
          e.workflowTaskTimedOutEventAttributes ||
          e.workflowTaskCompletedEventAttributes,
      );
    const message = last?.workflowTaskFailedEventAttributes?.failure?.message;
    if (!message || /Potential deadlock detected/i.test(message)) {
      return undefined;
    }
    return message;
  }

  /**
   * Wait for a run's summary; failures, cancellation, timeouts become RunFailedError. With
   * `onProgress`, the run's progress is asked every `progressEveryMs` (default 500) and passed on
   * when it changes.
   */
  async result(runId: string, onProgress?: (p: RunProgress) => void, progressEveryMs = 500): Promise<ScanSummary> {
    const handle = this.client.workflow.getHandle(runId);
    let watchdog: NodeJS.Timeout | undefined;
    const abort = new AbortController();
    // Calls the timers made: awaited before returning, so none is still in flight (and retried by
    // the client on a closed connection, which throws from a timer) when the caller closes.
    const inFlight = new Set<Promise<unknown>>();
    const track = <T>(p: Promise<T>): Promise<T> => {
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p)).catch(() => undefined);
      return p;
    };
    const stuck = new Promise<never>((_, reject) => {
      watchdog = setInterval(() => {
        track(this.stuckReason(runId)).then(
          (reason) => {
            if (reason) {
              reject(
                new UserError(
                  `run ${runId} is stuck: the worker cannot run it: ${reason}`,
                  `a workflow added or changed since the worker started needs a toolbox reload (\`fuzzforge status\` names the file and line of an edit that failed to load) or, where the toolbox is not watched, a worker restart (fuzzforge down && fuzzforge up); cancel the run with \`fuzzforge run cancel ${runId}\``,
                ),
              );
            }
          },
          () => undefined,
        );
      }, 3000);
    });
    let timer: NodeJS.Timeout | undefined;
    if (onProgress) {
      let last = '';
      let asking = false;
      timer = setInterval(() => {
        // One question at a time: a slow answer must not pile up more behind it.
        if (asking) {
          return;
        }
        asking = true;
        void track(this.progress(runId)).then((p) => {
          asking = false;
          const text = JSON.stringify(p);
          if (p && text !== last) {
            last = text;
            onProgress(p);
          }
        });
      }, progressEveryMs);
    }
    try {
      // When the watchdog wins, the long poll must end too, or it outlives the connection.
      const pending = this.client.withAbortSignal(abort.signal, () => handle.result());
      pending.catch(() => undefined);
      return (await Promise.race([pending, stuck])) as ScanSummary;
    } catch (err) {
      if (err instanceof temporalClient().WorkflowFailedError) {
        const info = await this.describe(runId).catch(() => undefined);
        const cause = err.cause as (Error & { cause?: Error }) | undefined;
        const reason = cause?.cause?.message ?? cause?.message ?? err.message;
        throw new RunFailedError(runId, info?.status ?? 'failed', reason);
      }
      throw err;
    } finally {
      abort.abort();
      clearInterval(watchdog);
      if (timer) {
        clearInterval(timer);
      }
      await Promise.allSettled([...inFlight]);
    }
  }
}
