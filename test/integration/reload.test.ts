// Hot reload: the worker host watches its toolbox (a copy the test edits) and swaps in each good
// version without a restart; a broken edit is reported with its file and line while the previous
// version keeps serving; an activity running during a swap finishes on the code it started on.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sleep } from '../../backend/concurrency';
import { awaitScan, findWorkflow, startScan } from '../../backend/scan';
import { readState, readToolboxStatus, workerLogName } from '../../backend/services/state';
import { copyToolbox, runCli, startTestBackend, type TestBackend } from './harness';

const GENERIC = `vertical: generic
outputs: [sarif]
`;

/** A module whose activity waits for a file to appear, then says which version of it ran. */
function probeModule(version: string): string {
  return `import * as fs from 'node:fs';
import { Context } from '@temporalio/activity';
export const activities = {
  async probeVersion(release: string): Promise<string> {
    while (!fs.existsSync(release)) {
      Context.current().heartbeat();
      await Context.current().sleep(200);
    }
    return ${JSON.stringify(version)};
  },
};
`;
}

const PROBE_WORKFLOW = `import { proxyActivities } from '@temporalio/workflow';
import type { activities } from '../../modules/reload_probe/probe';
import type { WorkflowInput } from '../../shared/definitions';
const { probeVersion } = proxyActivities<typeof activities>({ startToCloseTimeout: '10m', heartbeatTimeout: '1m' });
export async function reload_probe(input: WorkflowInput<{ release: string }>): Promise<string> {
  return await probeVersion(input.params.release);
}
`;

/** count_files: the number of files of the target plus `offset` (so each version is visible). */
function countFilesWorkflow(offset: number): string {
  return `import { proxyActivities } from '@temporalio/workflow';
import type { activities } from '../../modules/inventory/files';
import type { WorkflowInput } from '../../shared/definitions';
const { inventoryFiles } = proxyActivities<typeof activities>({ startToCloseTimeout: '1m' });
export async function count_files(input: WorkflowInput): Promise<number> {
  const inventory = await inventoryFiles({ runId: input.runId, target: input.target, exclude: [] });
  return inventory.files + ${offset};
}
`;
}

function write(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

describe('toolbox hot reload', () => {
  let backend: TestBackend;
  let root: string;
  let toolbox: string;
  let workspace: string;
  const workerLog = () => {
    const worker = readState(backend.stateDir)?.workers.find((w) => w.vertical === 'generic');
    assert.ok(worker);
    return fs.readFileSync(path.join(backend.state.logsDir, `${workerLogName(worker)}.log`), 'utf8');
  };
  const version = () => readToolboxStatus(backend.stateDir)?.version ?? 0;
  /** Wait until the host serves `expected` (or a log line matches); returns the milliseconds waited. */
  const waitFor = async (what: string, done: () => boolean, timeoutMs = 180_000): Promise<number> => {
    const start = Date.now();
    while (!done()) {
      if (Date.now() - start > timeoutMs) {
        throw new Error(`${what} did not happen within ${timeoutMs / 1000} s; worker log:\n${workerLog()}`);
      }
      await sleep(200);
    }
    return Date.now() - start;
  };
  const run = async (name: string, params: Record<string, unknown> = {}) => {
    const { run } = await startScan(backend.conn, backend.runs, {
      path: workspace,
      workflow: findWorkflow(toolbox, name),
      params,
    });
    return run.runId;
  };
  const result = (runId: string) => backend.runs.client.workflow.getHandle(runId).result() as Promise<unknown>;
  const scanSucceeds = async () => {
    const { summary } = await awaitScan(backend.conn, backend.runs, await run('security_assessment'));
    assert.ok(summary.total >= 1, JSON.stringify(summary));
  };

  before(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-reload-'));
    toolbox = copyToolbox(root);
    write(path.join(toolbox, 'modules', 'reload_probe', 'probe.ts'), probeModule('v1'));
    write(
      path.join(toolbox, 'workflows', 'reload_probe', 'metadata.yaml'),
      `name: reload_probe\nversion: 1.0.0\ndescription: Says which module version ran.\n${GENERIC}` +
        `parameters: { type: object, properties: { release: { type: string } }, required: [release] }\n`,
    );
    write(path.join(toolbox, 'workflows', 'reload_probe', 'workflow.ts'), PROBE_WORKFLOW);
    workspace = path.join(root, 'ws');
    write(path.join(workspace, 'app.py'), 'import os\nos.system(input())\n');
    write(path.join(workspace, 'b.txt'), 'x\n');
    backend = await startTestBackend({ toolbox });
    assert.equal(version(), 1);
  });
  after(async () => {
    await backend?.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  let probeA: string;
  const releaseA = () => path.join(root, 'release-a');

  it('serves a workflow folder added while it runs, and a running activity finishes on its old code', async () => {
    await scanSucceeds();
    probeA = await run('reload_probe', { release: releaseA() });
    const handle = backend.runs.client.workflow.getHandle(probeA);
    for (let i = 0; ; i++) {
      const d = await handle.describe();
      if ((d.raw.pendingActivities ?? []).some((a) => Number(a.state) === 2 /* STARTED */)) {
        break;
      }
      assert.ok(i < 300, 'the probe activity did not start');
      await sleep(200);
    }
    const pid = readState(backend.stateDir)?.workers[0]?.pid;
    write(
      path.join(toolbox, 'workflows', 'count_files', 'metadata.yaml'),
      `name: count_files\nversion: 1.0.0\n` +
        `description: Counts the target's files.\n${GENERIC}parameters: { type: object, properties: {} }\n`,
    );
    write(path.join(toolbox, 'workflows', 'count_files', 'workflow.ts'), countFilesWorkflow(0));
    write(path.join(toolbox, 'modules', 'reload_probe', 'probe.ts'), probeModule('v2'));
    const ms = await waitFor('reload to version 2', () => version() === 2);
    console.log(`reload after adding a workflow and editing a module: ${ms} ms (from the edit to version 2)`);
    assert.match(workerLog(), /reloaded the toolbox in \d+ ms: version 2, \d+ workflow\(s\) \[[^\]]*count_files/);
    assert.equal(readState(backend.stateDir)?.workers[0]?.pid, pid, 'the host was not restarted');
    assert.equal(await result(await run('count_files')), 2);
    const released = path.join(root, 'release-now');
    fs.writeFileSync(released, '');
    assert.equal(await result(await run('reload_probe', { release: released })), 'v2', 'new runs use the new module');
    fs.writeFileSync(releaseA(), '');
    assert.equal(await result(probeA), 'v1', 'the activity that ran during the swap finished on its old code');
    await waitFor('the previous version stopping', () => /toolbox version 1 stopped/.test(workerLog()), 60_000);
  });

  it('reports a broken edit with its file and line and keeps serving the previous version', async () => {
    const file = path.join(toolbox, 'workflows', 'count_files', 'workflow.ts');
    write(file, countFilesWorkflow(0).replace('const { inventoryFiles }', 'const { inventoryFiles ='));
    const escaped = file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    const ms = await waitFor('the failed reload in the log', () =>
      new RegExp(`toolbox reload failed; still serving the previous version: ${escaped}: line 4: `).test(workerLog()),
    );
    console.log(`broken edit reported after ${ms} ms`);
    const status = readToolboxStatus(backend.stateDir);
    assert.equal(status?.version, 2);
    assert.match(status?.failedReload?.problems.join('\n') ?? '', /count_files\/workflow\.ts: line 4: /);
    const cli = await runCli(['status'], backend.env);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(
      cli.stdout,
      /toolbox reload FAILED at .*; still serving version 2:\n\s+\S+count_files\/workflow\.ts: line 4: /,
    );
    const logs = await runCli(['logs', 'worker-generic', '--tail', '20'], backend.env);
    assert.match(logs.stdout, /count_files\/workflow\.ts: line 4: /);
    // The previous version (count_files included) still serves.
    assert.equal(await result(await run('count_files')), 2);
    await scanSucceeds();
  });

  it('serves the fixed version once the edit is repaired', async () => {
    write(path.join(toolbox, 'workflows', 'count_files', 'workflow.ts'), countFilesWorkflow(1000));
    const ms = await waitFor('reload to version 3', () => version() === 3);
    console.log(`reload after the fix: ${ms} ms`);
    assert.equal(readToolboxStatus(backend.stateDir)?.failedReload, undefined);
    assert.equal(await result(await run('count_files')), 1002);
    const cli = await runCli(['status'], backend.env);
    assert.match(cli.stdout, /toolbox: version 3 loaded .*, reloaded on edits/);
    assert.doesNotMatch(cli.stdout, /FAILED/);
    await scanSucceeds();
  });
});
