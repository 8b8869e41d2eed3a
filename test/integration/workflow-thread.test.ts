// The worker host's Temporal Workers (one per vertical) share one workflow thread instead of one
// isolate each (workers/workflowThread.ts, which steps into a static method of the SDK's Worker).
// Real Temporal, real Workers in this process: if an SDK upgrade moves that method, the host
// silently goes back to a thread per Worker, and this test fails.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import { type bundleWorkflowCode, type NativeConnection, Worker } from '@temporalio/worker';
import { SharedWorkflowThread } from '../../workers/workflowThread';
import type { TestBackend } from './harness';
import { inProcessWorkers, type InProcessWorkers } from './inProcessWorker';

type Factory = (...args: unknown[]) => Promise<{ destroy(): Promise<void> }>;

describe('the Workers of one host share one workflow thread', () => {
  let setup: InProcessWorkers;
  let backend: TestBackend;
  let client: Client;
  let workerConnection: NativeConnection;
  let bundle: Awaited<ReturnType<typeof bundleWorkflowCode>>;
  const cls = Worker as unknown as { createWorkflowCreator: Factory; getOrCreateBundle: Factory };
  const sdkFactory = cls.createWorkflowCreator;
  const sdkBundle = cls.getOrCreateBundle;
  /** Threads the SDK made (its factory, counted). */
  let threadsMade = 0;
  /** Bundles the SDK prepared in the main thread (compiled, run once and source-mapped). */
  let bundlesPrepared = 0;

  before(async () => {
    setup = await inProcessWorkers(path.join(__dirname, 'workflows', 'whereAmI.ts'));
    ({ backend, client, workerConnection, bundle } = setup);
    assert.equal(typeof sdkFactory, 'function', "the SDK's Worker.createWorkflowCreator is gone");
    cls.createWorkflowCreator = function counted(this: unknown, ...args: unknown[]) {
      threadsMade++;
      return sdkFactory.apply(this, args);
    };
    assert.equal(typeof sdkBundle, 'function', "the SDK's Worker.getOrCreateBundle is gone");
    cls.getOrCreateBundle = function counted(this: unknown, ...args: unknown[]) {
      bundlesPrepared++;
      return sdkBundle.apply(this, args);
    };
  });
  after(async () => {
    cls.createWorkflowCreator = sdkFactory;
    cls.getOrCreateBundle = sdkBundle;
    await setup?.close();
  });

  /** Create one Worker per queue (inside `shared` when given), run a workflow on each at once. */
  async function runOnQueues(queues: string[], shared?: SharedWorkflowThread): Promise<string[]> {
    const create = () =>
      Promise.all(
        queues.map((taskQueue) =>
          Worker.create({
            connection: workerConnection,
            namespace: backend.conn.temporal.namespace,
            taskQueue,
            workflowBundle: bundle,
          }),
        ),
      );
    const workers = shared ? await shared.create(create) : await create();
    const runs = Promise.all(workers.map((w) => w.run()));
    try {
      return await Promise.all(
        queues.map((taskQueue, i) =>
          client.workflow.execute<(ms: number) => Promise<string>>('whereAmI', {
            taskQueue,
            workflowId: `${taskQueue}-run-${i}`,
            args: [300],
            workflowExecutionTimeout: '1m',
          }),
        ),
      );
    } finally {
      workers.forEach((w) => w.shutdown());
      await runs;
    }
  }

  it('makes one thread for three Workers, runs each queue on its own Worker, and ends the thread', async () => {
    const queues = ['a', 'b', 'c'].map((q) => `ff-thread-${process.pid}-${q}`);
    const shared = new SharedWorkflowThread();
    threadsMade = 0;
    bundlesPrepared = 0;
    assert.deepEqual(await runOnQueues(queues, shared), queues);
    assert.equal(threadsMade, 1, 'three Workers in one host made more than one workflow thread');
    assert.equal(bundlesPrepared, 1, 'three Workers in one host prepared the bundle more than once');
    // The Workers have stopped: the thread is still there until the generation destroys it.
    await shared.destroy();
    await assert.rejects(
      shared.create(() => Promise.resolve()),
      /already destroyed/,
    );
    // The SDK's own methods are back for anything created outside a shared scope.
    assert.notEqual(cls.createWorkflowCreator, undefined);
    assert.notEqual(cls.getOrCreateBundle, undefined);
  });

  it('counts what it claims: without sharing, the SDK makes a thread per Worker', async () => {
    const queues = ['d', 'e'].map((q) => `ff-thread-${process.pid}-${q}`);
    threadsMade = 0;
    bundlesPrepared = 0;
    assert.deepEqual(await runOnQueues(queues), queues);
    assert.equal(threadsMade, 2);
    assert.equal(bundlesPrepared, 2);
  });
});
