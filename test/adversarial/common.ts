// What the hostile-input suites share: a client that starts workflows straight on Temporal (as any
// local account could, bypassing the CLI's checks), the reason a failed run gives, and the check
// that the backend still serves a normal scan, with the same worker, after the hostile ones.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { Client, WorkflowFailedError } from '@temporalio/client';
import { connectTemporal } from '../../backend/temporal/connect';
import { toolboxDir } from '../../backend/paths';
import { findingRows } from '../../backend/sarif/log';
import { awaitScan, findWorkflow, startScan } from '../../backend/scan';
import { readState } from '../../backend/services/state';
import { ObjectStore } from '../../backend/storage/objectStore';
import { TargetStore } from '../../backend/storage/targets';
import { taskQueueFor, type TargetRef, type WorkflowInput } from '../../toolbox/shared/definitions';
import { comparableRows, copyFixture, readExpected, type TestBackend } from '../integration/harness';

export interface DirectClient {
  client: Client;
  close(): Promise<void>;
}

/** A Temporal client of its own, not the backend's RunService: nothing of ours checks what it sends. */
export async function directClient(backend: TestBackend): Promise<DirectClient> {
  // With the backend's client certificate, like any client of its own user.
  const connection = await connectTemporal(backend.conn.temporal);
  const client = new Client({ connection, namespace: backend.conn.temporal.namespace });
  return { client, close: () => connection.close() };
}

let seq = 0;

/** A fresh workflow id for a direct start. */
export function directId(label: string): string {
  return `hostile-${label}-${process.pid}-${++seq}`;
}

/** The input's run id when Temporal would take it as a workflow id (a run's id is its workflow id). */
function ownId(input: unknown): string | undefined {
  const runId = (input as { runId?: unknown } | null | undefined)?.runId;
  return typeof runId === 'string' && /^[A-Za-z0-9._-]{1,200}$/.test(runId) ? runId : undefined;
}

/** Start `workflow` on a vertical's queue with raw `args` and wait for its result. */
export async function runDirect(
  direct: DirectClient,
  workflow: string,
  vertical: string,
  args: unknown[],
  workflowId = ownId(args[0]) ?? directId(workflow),
): Promise<unknown> {
  const handle = await direct.client.workflow.start(workflow, {
    taskQueue: taskQueueFor(vertical),
    workflowId,
    args,
    workflowExecutionTimeout: '3m',
  });
  return handle.result();
}

/** The run failed, and the reason a person sees (the failure's message) matches `message`. */
export async function failsWith(run: Promise<unknown>, message: RegExp): Promise<string> {
  let reason = '';
  await assert.rejects(run, (err: unknown) => {
    assert.ok(err instanceof WorkflowFailedError, `expected a failed run, got ${String(err)}`);
    const chain: string[] = [];
    for (let e = err.cause as { message?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
      chain.push(String(e.message));
    }
    reason = chain.join(' <- ');
    assert.match(reason, message);
    return true;
  });
  return reason;
}

/** A well-formed input for the uploaded target (a direct start that should run). */
export function wellFormedInput(target: TargetRef, runId = directId('ok')): WorkflowInput {
  return {
    runId,
    target,
    params: {},
    workspace: { id: 'hostile', name: 'vulnerable-app', rootUri: 'file:///tmp/vulnerable-app' },
  };
}

/** Upload the vulnerable-app fixture and return its target. */
export async function uploadFixture(backend: TestBackend, name = 'vulnerable-app'): Promise<TargetRef> {
  const workspace = copyFixture(name, path.join(backend.root, `${name}-${++seq}`));
  return (await new TargetStore(new ObjectStore(backend.conn)).uploadWorkspace(workspace)).target;
}

/** The pid of the backend's worker of a vertical. */
export function workerPid(backend: TestBackend, vertical = 'generic'): number | undefined {
  return readState(backend.stateDir)?.workers.find((w) => w.vertical === vertical)?.pid;
}

/**
 * The backend still serves: the same generic worker process as before (nothing crashed it) runs a
 * normal scan of the vulnerable-app fixture to exactly its known findings.
 */
export async function assertStillServes(backend: TestBackend, pidBefore: number | undefined): Promise<void> {
  assert.ok(pidBefore, 'the generic worker had a pid');
  assert.equal(workerPid(backend), pidBefore, 'the generic worker was not restarted');
  const workspace = copyFixture('vulnerable-app', path.join(backend.root, `after-${++seq}`));
  const wf = findWorkflow(toolboxDir(), 'security_assessment');
  const { run } = await startScan(backend.conn, backend.runs, {
    path: workspace,
    workflow: wf,
    params: {},
    baseline: false,
  });
  const { sarif } = await awaitScan(backend.conn, backend.runs, run.runId);
  const key = (r: { file: string; line: number; ruleId: string }) => `${r.file}:${r.line} ${r.ruleId}`;
  const expected = readExpected('vulnerable-app').map(key).sort();
  assert.deepEqual(comparableRows(sarif).map(key).sort(), expected);
  assert.equal(findingRows(sarif).length, expected.length);
}
