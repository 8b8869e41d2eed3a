// The worker host runs toolbox activities in its activity process (workers/activityProcess.ts).
// Real Temporal, a real Worker in this process whose activities are the proxies, and a real
// activity process on a compiled module of the test's own: results, errors with their type and
// details, heartbeats and cancellation cross the process boundary; a process that dies under an
// activity fails only that attempt, which Temporal retries in a new process; an idle process ends
// and the next activity starts another.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import { sleep } from '../../backend/concurrency';
import { distEntry, projectRoot, toolboxDir } from '../../backend/paths';
import { connectionToEnv } from '../../backend/services/connection';
import { ObjectStore } from '../../backend/storage/objectStore';
import { TargetStore } from '../../backend/storage/targets';
import { discoverWorkflows } from '../../backend/toolbox/discovery';
import { BAD_INPUT, VALIDATE_INPUT_ACTIVITY, type WorkflowInput } from '../../toolbox/shared/definitions';
import { ACTIVITY_PROCESS_EXITED, ActivityProcess } from '../../workers/activityProcess';
import { inputValidationActivities } from '../../workers/inputValidation';
import { inProcessWorkers, type InProcessWorkers } from './inProcessWorker';

// In the format the toolbox loader compiles modules to (workers/activityModules.ts).
const MODULE = `
const { activityInfo, heartbeat, Context, ApplicationFailure, log } = require('@temporalio/activity');
const fs = require('node:fs');
exports.modules = [['fixture.ts', { activities: {
  async whoRuns(x) {
    log.info('whoRuns ran', { x });
    return { pid: process.pid, attempt: activityInfo().attempt, queue: activityInfo().taskQueue, x };
  },
  async refuse() {
    throw ApplicationFailure.nonRetryable('the input names no stored target', 'BadInput', { field: 'target.key' });
  },
  async crashFirst() {
    if (activityInfo().attempt === 1) {
      process.exit(7);
    }
    return { pid: process.pid, attempt: activityInfo().attempt };
  },
  async waitForCancel(marker) {
    const beat = setInterval(() => heartbeat('waiting'), 200);
    try {
      await Context.current().cancelled;
    } catch (err) {
      fs.writeFileSync(marker, err.name + ': ' + Context.current().cancellationSignal.aborted);
      throw err;
    } finally {
      clearInterval(beat);
    }
  },
} }]];
`;

describe('the activity process', () => {
  let setup: InProcessWorkers;
  let moduleFile: string;
  const logLines: string[] = [];
  const names = ['whoRuns', 'refuse', 'crashFirst', 'waitForCancel'];

  before(async () => {
    setup = await inProcessWorkers(path.join(__dirname, 'workflows', 'callActivity.ts'));
    // Beside the toolbox's compiled modules, so that @temporalio/* resolves as it does for them.
    const dir = path.join(fs.realpathSync(path.join(projectRoot(), 'node_modules')), '.cache', 'fuzzforge');
    fs.mkdirSync(dir, { recursive: true });
    moduleFile = path.join(dir, `test-activities-${process.pid}.cjs`);
    fs.writeFileSync(moduleFile, MODULE);
  });
  after(async () => {
    fs.rmSync(moduleFile, { force: true });
    await setup?.close();
  });

  function activityProcess(idleSeconds: number): ActivityProcess {
    return new ActivityProcess({
      entry: distEntry('activityProcess'),
      moduleFile,
      idleSeconds,
      log: (l) => logLines.push(l),
    });
  }

  /** Run `body` with a Worker on a queue of its own whose activities run in `proc`. */
  async function withWorker<T>(
    proc: ActivityProcess,
    body: (taskQueue: string) => Promise<T>,
    activities: Record<string, (...args: never[]) => Promise<unknown>> = proc.proxies(names),
  ): Promise<T> {
    const taskQueue = `ff-activity-process-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    const worker = await Worker.create({
      connection: setup.workerConnection,
      namespace: setup.backend.conn.temporal.namespace,
      taskQueue,
      workflowBundle: setup.bundle,
      activities,
      maxHeartbeatThrottleInterval: '200ms',
    });
    const running = worker.run();
    try {
      return await body(taskQueue);
    } finally {
      worker.shutdown();
      await running;
    }
  }

  function call(taskQueue: string, name: string, args: unknown[], attempts = 1): Promise<unknown> {
    return setup.client.workflow.execute('callActivity', {
      taskQueue,
      workflowId: `${taskQueue}-${name}-${Date.now()}`,
      args: [name, args, attempts],
      workflowExecutionTimeout: '2m',
    });
  }

  function processAlive(pid: number): boolean {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }

  it('runs an activity in a process of its own, with its info, and ends that process when idle', async () => {
    const proc = activityProcess(1);
    await withWorker(proc, async (taskQueue) => {
      const first = (await call(taskQueue, 'whoRuns', [{ n: 1, text: 'ünïcode' }])) as Record<string, unknown>;
      assert.notEqual(first.pid, process.pid, 'the activity ran in the host itself');
      assert.deepEqual(
        { attempt: first.attempt, queue: first.queue, x: first.x },
        { attempt: 1, queue: taskQueue, x: { n: 1, text: 'ünïcode' } },
      );
      const second = (await call(taskQueue, 'whoRuns', [2])) as Record<string, unknown>;
      assert.equal(second.pid, first.pid, 'back-to-back activities should share one process');
      // Idle for longer than its idle time: the process ends; the next activity starts another.
      for (let i = 0; i < 50 && processAlive(first.pid as number); i++) {
        await sleep(100);
      }
      assert.equal(processAlive(first.pid as number), false, 'the idle activity process is still running');
      assert.equal(proc.pid, undefined);
      const third = (await call(taskQueue, 'whoRuns', [3])) as Record<string, unknown>;
      assert.notEqual(third.pid, first.pid);
      assert.equal(proc.started, 2);
    });
    proc.close();
  });

  it("throws the activity's own failure: its type, retry flag and details", async () => {
    const proc = activityProcess(5);
    await withWorker(proc, async (taskQueue) => {
      const err = await call(taskQueue, 'refuse', [], 3).then(
        () => assert.fail('refuse completed'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof WorkflowFailedError, String(err));
      const activity = err.cause;
      assert.ok(activity instanceof ActivityFailure, String(activity));
      const failure = activity.cause;
      assert.ok(failure instanceof ApplicationFailure, String(failure));
      assert.equal(failure.type, 'BadInput');
      assert.equal(failure.nonRetryable, true);
      assert.equal(failure.message, 'the input names no stored target');
      assert.deepEqual(failure.details, [{ field: 'target.key' }]);
      assert.match(failure.stack ?? '', /fixture|test-activities/, 'the stack is the activity process one');
    });
    proc.close();
  });

  it('fails only the attempt a dying process ran; Temporal retries it in a new process', async () => {
    const proc = activityProcess(5);
    await withWorker(proc, async (taskQueue) => {
      const result = (await call(taskQueue, 'crashFirst', [], 3)) as Record<string, unknown>;
      assert.equal(result.attempt, 2);
      assert.equal(proc.started, 2, 'the retry should have started a second process');
      assert.ok(
        logLines.some((l) => /exited with code 7 while running crashFirst/.test(l)),
        `no log line names the exit: ${logLines.join('\n')}`,
      );
      // Without retries the workflow sees the failure the host made for it.
      const err = await call(taskQueue, 'crashFirst', [], 1).then(
        () => assert.fail('crashFirst completed on its first attempt'),
        (e: unknown) => e,
      );
      const failure = ((err as WorkflowFailedError).cause as ActivityFailure).cause as ApplicationFailure;
      assert.equal(failure.type, ACTIVITY_PROCESS_EXITED);
      assert.equal(failure.nonRetryable, false);
    });
    proc.close();
  });

  it('relays heartbeats and the cancellation: the activity sees it and the run is cancelled', async () => {
    const proc = activityProcess(5);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-cancel-'));
    const marker = path.join(dir, 'cancelled.txt');
    await withWorker(proc, async (taskQueue) => {
      // Longer than the heartbeat timeout (5 s): without relayed heartbeats it times out instead.
      const outcome: unknown = await setup.client.workflow.execute('cancelActivity', {
        taskQueue,
        workflowId: `${taskQueue}-cancel`,
        args: ['waitForCancel', [marker], 7000],
        workflowExecutionTimeout: '2m',
      });
      assert.equal(outcome, 'cancelled');
    });
    assert.equal(fs.readFileSync(marker, 'utf8'), 'CancelledFailure: true');
    fs.rmSync(dir, { recursive: true, force: true });
    proc.close();
  });

  it("runs the host's input check, also with no toolbox modules: defaults applied, a target not stored refused", async () => {
    // The process inherits the storage settings, as it does from a worker host.
    const saved = { ...process.env };
    Object.assign(process.env, connectionToEnv(setup.backend.conn));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-check-'));
    fs.writeFileSync(path.join(dir, 'app.py'), 'print(1)\n');
    const { target } = await new TargetStore(new ObjectStore(setup.backend.conn)).uploadWorkspace(dir);
    const proc = new ActivityProcess({
      entry: distEntry('activityProcess'),
      moduleFile: '',
      idleSeconds: 5,
      log: (l) => logLines.push(l),
    });
    const checkIn: string[] = [];
    const activities = inputValidationActivities(discoverWorkflows(toolboxDir()).workflows, (definition, request) => {
      checkIn.push(definition.name);
      return proc.run(VALIDATE_INPUT_ACTIVITY, [definition, request]) as Promise<WorkflowInput>;
    });
    const input = (digest: string) => ({
      runId: `check-${process.pid}`,
      target: { ...target, digest, key: `manifests/${digest}.json` },
      params: {},
      workspace: { id: 'w', name: 'w', rootUri: 'file:///w' },
    });
    try {
      await withWorker(
        proc,
        async (taskQueue) => {
          const checked = (await call(taskQueue, VALIDATE_INPUT_ACTIVITY, [
            { workflow: 'security_assessment', input: input(target.digest) },
          ])) as WorkflowInput;
          assert.equal(checked.params.max_file_bytes, 1048576, 'the schema default was not applied');
          assert.ok(proc.pid, 'the check should have started the activity process');
          const err = await call(taskQueue, VALIDATE_INPUT_ACTIVITY, [
            { workflow: 'security_assessment', input: input('0'.repeat(64)) },
          ]).then(
            () => assert.fail('a digest that names no manifest was accepted'),
            (e: unknown) => e,
          );
          const failure = ((err as WorkflowFailedError).cause as ActivityFailure).cause as ApplicationFailure;
          assert.equal(failure.type, BAD_INPUT);
          assert.equal(failure.nonRetryable, true);
          // The stored-target part of the check, which needs storage: the key names nothing stored.
          assert.match(
            failure.message,
            /target\.key names no stored target \(s3:\/\/[^/]+\/manifests\/0{64}\.json does not exist\)/,
          );
          // A workflow the host did not load is refused by the host, without asking the process.
          const unknown = await call(taskQueue, VALIDATE_INPUT_ACTIVITY, [{ workflow: 'nope', input: {} }]).then(
            () => assert.fail('an unknown workflow was accepted'),
            (e: unknown) => e,
          );
          assert.match(
            String(((unknown as WorkflowFailedError).cause as ActivityFailure).cause),
            /"nope" is not a workflow/,
          );
          assert.deepEqual(checkIn, ['security_assessment', 'security_assessment']);
        },
        activities,
      );
    } finally {
      proc.close();
      process.env = saved;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
