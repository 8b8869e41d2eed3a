// Dynamic toolbox: workflows added as folders at run time, bad folders skipped, cancellation.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sleep } from '../../backend/concurrency';
import { awaitScan, findWorkflow, startScan } from '../../backend/scan';
import { UserError } from '../../backend/errors';
import { readState, isPidAlive, workerLogName } from '../../backend/services/state';
import { toolboxDir } from '../../backend/paths';
import { runCli, startTestBackend, type TestBackend } from './harness';

/** A toolbox outside the installation: our modules and shared code, its own workflow folders. */
function scratchToolbox(root: string): string {
  const dir = path.join(root, 'toolbox');
  fs.mkdirSync(path.join(dir, 'workflows'), { recursive: true });
  fs.symlinkSync(path.join(toolboxDir(), 'modules'), path.join(dir, 'modules'));
  fs.symlinkSync(path.join(toolboxDir(), 'shared'), path.join(dir, 'shared'));
  writeWorkflow(
    dir,
    'wait_for_cancel',
    `name: wait_for_cancel
version: 0.1.0
description: Waits until cancelled (test workflow).
vertical: generic
outputs: [sarif]
parameters: { type: object, properties: { hours: { type: integer, minimum: 1, default: 1 } } }
`,
    `import { sleep } from '@temporalio/workflow';
import type { WorkflowInput } from '../../shared/definitions';
export async function wait_for_cancel(input: WorkflowInput<{ hours: number }>): Promise<string> {
  await sleep(input.params.hours * 3600 * 1000);
  return 'woke up';
}
`,
  );
  return dir;
}

function writeWorkflow(toolbox: string, name: string, metadata: string, source: string): void {
  const dir = path.join(toolbox, 'workflows', name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'metadata.yaml'), metadata);
  fs.writeFileSync(path.join(dir, 'workflow.ts'), source);
}

async function waitForStatus(backend: TestBackend, runId: string, status: string, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    last = (await backend.runs.describe(runId)).status;
    if (last === status) {
      return last;
    }
    await sleep(200);
  }
  return last;
}

describe('toolbox loaded at worker start', () => {
  let backend: TestBackend;
  let toolbox: string;
  let workspace: string;
  let root: string;
  before(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-toolbox-'));
    toolbox = scratchToolbox(root);
    workspace = path.join(root, 'ws');
    fs.mkdirSync(workspace);
    fs.writeFileSync(path.join(workspace, 'a.py'), 'print("hello")\n');
    fs.writeFileSync(path.join(workspace, 'b.go'), 'package main\n');
    // These tests are about a worker that loads its toolbox at start only (test/integration/reload.test.ts
    // covers the watching one): a folder added here stays unknown until the worker restarts.
    process.env.FUZZFORGE_TOOLBOX_WATCH = '0';
    backend = await startTestBackend({ toolbox });
  });
  after(async () => {
    await backend?.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('cancels a running workflow: Temporal reports it canceled', async () => {
    const wf = findWorkflow(toolbox, 'wait_for_cancel');
    const { run } = await startScan(backend.conn, backend.runs, { path: workspace, workflow: wf, params: {} });
    assert.equal(await waitForStatus(backend, run.runId, 'running'), 'running');
    const cli = await runCli(['run', 'cancel', run.runId], backend.env);
    assert.equal(cli.code, 0, cli.stderr);
    assert.equal(await waitForStatus(backend, run.runId, 'canceled'), 'canceled');
    const again = await runCli(['run', 'cancel', run.runId], backend.env);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /already canceled/);
    const status = await runCli(['run', 'status', run.runId, '--json'], backend.env);
    assert.equal((JSON.parse(status.stdout) as { status: string }).status, 'canceled');
  });

  it('reports a run the worker cannot execute instead of waiting forever', async () => {
    writeWorkflow(
      toolbox,
      'late_arrival',
      'name: late_arrival\nversion: 1.0.0\ndescription: Added after the worker started.\nvertical: generic\noutputs: [sarif]\nparameters: { type: object, properties: {} }\n',
      'export async function late_arrival(): Promise<number> {\n  return 1;\n}\n',
    );
    const wf = findWorkflow(toolbox, 'late_arrival');
    const { run } = await startScan(backend.conn, backend.runs, { path: workspace, workflow: wf, params: {} });
    await assert.rejects(awaitScan(backend.conn, backend.runs, run.runId), (err: unknown) => {
      assert.ok(err instanceof UserError);
      assert.match(err.message, /is stuck: the worker cannot run it: .*late_arrival.*no such function is exported/);
      assert.match(err.hint ?? '', /worker restart/);
      return true;
    });
    // The CLI says the same (exit 2, a user error), and nothing it left in flight crashes it on the
    // way out (a retried call on the closed connection threw from a timer).
    const cli = await runCli(['scan', workspace, '--workflow', 'late_arrival'], {
      ...backend.env,
      FUZZFORGE_TOOLBOX: toolbox,
    });
    assert.equal(cli.code, 2, cli.stderr);
    assert.match(cli.stderr, /is stuck: the worker cannot run it/);
    assert.doesNotMatch(cli.stderr, /Channel has been shut down|^\s+at /m);
    // No worker can act on a cancel of a run it cannot execute: it is terminated instead.
    assert.equal(await backend.runs.cancel(run.runId), 'terminated');
    assert.equal(await waitForStatus(backend, run.runId, 'terminated'), 'terminated');
  });

  it('stops a run no worker serves by terminating it, and says so', async () => {
    // go_sast's vertical has no worker on this backend: the run would wait forever.
    const wf = findWorkflow(toolboxDir(), 'go_sast');
    const { run } = await startScan(backend.conn, backend.runs, { path: workspace, workflow: wf, params: {} });
    const cli = await runCli(['run', 'cancel', run.runId], backend.env);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /terminated: no worker could act on a cancellation/);
    assert.equal(await waitForStatus(backend, run.runId, 'terminated'), 'terminated');
  });

  it('serves a workflow folder added at run time after a worker restart, and skips broken ones', async () => {
    writeWorkflow(
      toolbox,
      'count_files',
      `name: count_files
version: 1.0.0
description: Counts the files of the target (written by the test at run time).
vertical: generic
outputs: [sarif]
parameters: { type: object, properties: {} }
`,
      `import { proxyActivities } from '@temporalio/workflow';
import type { activities } from '../../modules/inventory/files';
import type { WorkflowInput } from '../../shared/definitions';
const { inventoryFiles } = proxyActivities<typeof activities>({ startToCloseTimeout: '1m' });
export async function count_files(input: WorkflowInput): Promise<number> {
  const inventory = await inventoryFiles({ runId: input.runId, target: input.target, exclude: [] });
  return inventory.files;
}
`,
    );
    writeWorkflow(
      toolbox,
      'broken_meta',
      'name: broken_meta\nversion: 1\n',
      'export async function broken_meta() {}\n',
    );
    writeWorkflow(
      toolbox,
      'broken_code',
      'name: broken_code\nversion: 1.0.0\ndescription: x\nvertical: generic\noutputs: [sarif]\nparameters: { type: object, properties: {} }\n',
      'export async function broken_code( {\n',
    );
    const old = readState(backend.stateDir)?.workers[0]?.pid;
    assert.ok(old);
    process.kill(old, 'SIGTERM');
    const wf = findWorkflow(toolbox, 'count_files');
    const { run } = await startScan(backend.conn, backend.runs, { path: workspace, workflow: wf, params: {} });
    const count = (await backend.runs.client.workflow.getHandle(run.runId).result()) as unknown;
    assert.equal(count, 2);
    const fresh = readState(backend.stateDir)?.workers[0]?.pid;
    assert.ok(fresh && fresh !== old && isPidAlive(fresh));
    const worker = readState(backend.stateDir)?.workers.find((w) => w.vertical === 'generic');
    assert.ok(worker);
    const log = fs.readFileSync(path.join(backend.state.logsDir, `${workerLogName(worker)}.log`), 'utf8');
    assert.match(log, /toolbox problem \(skipped\): .*broken_meta\/metadata\.yaml: \/version must be string/);
    assert.match(log, /toolbox problem \(skipped\): .*broken_code\/workflow\.ts: line 2: /);
    assert.match(log, /loaded 3 workflow\(s\) \[count_files, late_arrival, wait_for_cancel\]/);
  });

  it('lists the new workflow and reports the broken folders in `fuzzforge workflows`', async () => {
    const cli = await runCli(['workflows'], backend.env);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /count_files\s+1\.0\.0\s+generic\s+yes/);
    assert.match(cli.stderr, /skipped: .*broken_meta\/metadata\.yaml: \/description is required/);
  });
});
