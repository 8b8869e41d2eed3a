// The compose-managed backend on a real Docker engine: the stack comes up healthy, a static scan
// and a fuzzing campaign run through compose mode exactly as through the embedded backend, a
// worker container killed mid-campaign is restarted and the run still finishes with its crash, a
// run for a stopped vertical starts that vertical, a vertical scaled to 2 polls with both,
// a campaign with `jobs: 2` on a vertical scaled to 2 runs one process on each, and `down` leaves
// no container, network or volume of the project behind.
// Needs an engine and the images: `npm run test:compose` starts/builds them (cached) first.
import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { listCrashes } from '../../backend/fuzzing';
import { toolboxDir } from '../../backend/paths';
import { findingRows } from '../../backend/sarif/log';
import { awaitScan, findWorkflow, startScan } from '../../backend/scan';
import {
  composeConnection,
  composeContainers,
  ComposeProject,
  type ComposeState,
  defaultComposeOptions,
  dockerClient,
  findComposeCli,
  queuePollers,
  runningWorkers,
  scaleComposeWorkers,
  startCompose,
  stopCompose,
} from '../../backend/services/compose';
import type { BackendConnection } from '../../backend/services/connection';
import { RunService } from '../../backend/temporal/runs';
import type { ScanSummary } from '../../toolbox/shared/definitions';
import { copyFixture, FIXTURES, runCli, sarifValidationProblems } from '../integration/harness';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Expected {
  ruleId: string;
  file: string;
  line: number;
}

function keyed(rows: Expected[]): string[] {
  return rows.map((r) => `${r.file}:${r.line} ${r.ruleId}`).sort();
}

describe('compose backend on a real Docker engine', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-compose-'));
  const stateDir = path.join(root, 'state');
  // A project of this test's own: nothing it does touches another stack on the same engine.
  const project = `fftest${crypto.randomBytes(3).toString('hex')}`;
  let state: ComposeState;
  let conn: BackendConnection;
  let runs: RunService;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    // One activity at a time per worker: a campaign's two processes then have to land on two
    // workers when the vertical has two (with more slots Temporal may give both to one).
    process.env.FUZZFORGE_WORKER_CONCURRENCY = '1';
    const options = defaultComposeOptions(stateDir, { ...process.env, FUZZFORGE_COMPOSE_PROJECT: project });
    options.ports = { temporal: 0, temporalUi: 0, minio: 0, minioConsole: 0 };
    options.verticals = ['generic'];
    // Built by `npm run test:compose` before the tests (cached between runs).
    options.buildImages = false;
    // Short, so the test sees an idle worker stop itself; a scan starts a stopped worker again.
    options.idleMinutes = 0.5;
    ({ state } = await startCompose(options, (line) => console.log(`  [compose] ${line}`)));
    conn = composeConnection(state);
    runs = await RunService.connect(conn);
    env = { ...process.env, FUZZFORGE_STATE_DIR: stateDir, FUZZFORGE_BACKEND_MODE: 'compose' };
  });

  after(async () => {
    await runs?.close();
    await stopCompose(stateDir, true).catch((err: unknown) => console.error(`compose down failed: ${String(err)}`));
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('comes up healthy: Temporal, MinIO, the finished bucket set-up and a polling generic worker', async () => {
    const containers = await composeContainers(state);
    const byService = new Map(containers.map((c) => [c.service, c]));
    assert.equal(byService.get('temporal')?.health, 'healthy');
    assert.equal(byService.get('minio')?.health, 'healthy');
    assert.equal(byService.get('minio-setup')?.state, 'exited');
    assert.equal(byService.get('worker-generic')?.state, 'running');
    assert.ok((byService.get('worker-generic')?.memoryBytes ?? 0) > 0, JSON.stringify(byService.get('worker-generic')));
    assert.equal((await queuePollers(state, 'generic')).length, 1);
    // Ports are published on loopback only.
    const info = await dockerClient(state.dockerHost)
      .getContainer(containers.find((c) => c.service === 'minio')?.id ?? '')
      .inspect();
    const portBindings = (info.HostConfig.PortBindings ?? {}) as Record<string, { HostIp: string }[]>;
    const bindings = Object.values(portBindings).flat();
    assert.ok(bindings.length > 0 && bindings.every((b) => b.HostIp === '127.0.0.1'), JSON.stringify(bindings));
    // The CLI sees the same stack.
    const status = await runCli(['status'], env);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /compose backend: ready/);
    assert.match(status.stdout, /worker-generic\s+\S+\s+running\s+healthy|worker-generic\s+\S+\s+running\s+starting/);
  });

  it('runs a static scan through compose mode with exactly the fixture’s known findings', async () => {
    const workspace = copyFixture('vulnerable-app', path.join(root, 'vulnerable-app'));
    const expected = JSON.parse(
      fs.readFileSync(path.join(FIXTURES, 'vulnerable-app.expected.json'), 'utf8'),
    ) as Expected[];
    const wf = findWorkflow(toolboxDir(), 'security_assessment');
    const { run } = await startScan(conn, runs, { path: workspace, workflow: wf, params: {} });
    const { sarif } = await awaitScan(conn, runs, run.runId);
    const rows = findingRows(sarif);
    assert.deepEqual(
      keyed(rows.map((r) => ({ ruleId: r.ruleId, file: decodeURI(r.file ?? ''), line: r.line ?? 0 }))),
      keyed(expected),
    );
    assert.deepEqual(await sarifValidationProblems(sarif, root), []);
    // The same through the CLI, which attaches to the compose stack by its state file.
    const cli = await runCli(['scan', workspace, '--workflow', 'security_assessment', '--json'], env);
    assert.equal(cli.code, 0, cli.stderr);
    // Matched against the first scan by sarif-multitool inside the worker's container.
    const second = JSON.parse(cli.stdout) as { summary: ScanSummary };
    assert.equal(second.summary.baseline?.runId, run.runId);
    assert.equal(second.summary.baseline?.error, undefined, 'baseline matching runs in the container');
    assert.equal(second.summary.baseline?.new, 0);
    assert.equal(second.summary.baseline?.unchanged, rows.length);
    const logs = await runCli(['logs', 'worker-generic', '--tail', '50'], env);
    assert.equal(logs.code, 0, logs.stderr);
    assert.match(logs.stdout, /polling fuzzforge-generic/);
  });

  it('starts a stopped vertical when work arrives, and a killed worker container is replaced mid-campaign', async () => {
    const cli = await findComposeCli();
    const compose = new ComposeProject(cli, state);
    assert.equal((await runningWorkers(compose, 'python')).length, 0, 'no python worker before the run');
    const workspace = copyFixture('fuzz-python', path.join(root, 'fuzz-python'));
    const wf = findWorkflow(toolboxDir(), 'atheris_fuzzing');
    const notices: string[] = [];
    const { run } = await startScan(conn, runs, {
      path: workspace,
      workflow: wf,
      params: { max_total_time: 40, seed_corpus: 'seeds', minimize_time: 2 },
      onNotice: (line) => notices.push(line),
    });
    assert.ok(
      notices.some((n) => /starting the python worker container/.test(n)),
      notices.join('\n'),
    );
    const [worker] = await runningWorkers(compose, 'python');
    assert.ok(worker, 'the python worker was started for the run');
    // Wait until the campaign is fuzzing (a stats sample), then kill the worker's main process
    // from outside, as the kernel's OOM killer would: the engine restarts the container
    // (restart: on-failure) and Temporal retries the campaign's activity on the new worker.
    const deadline = Date.now() + 240_000;
    for (;;) {
      const stats = await runs.describe(run.runId);
      const crashes = await listCrashes(conn, run.runId).catch(() => []);
      if (crashes.length > 0 || stats.status !== 'running') {
        break;
      }
      assert.ok(Date.now() < deadline, 'the campaign never found its crash before the kill');
      await sleep(1000);
    }
    const inspect = await dockerClient(state.dockerHost).getContainer(worker.Id).inspect();
    process.kill(inspect.State.Pid, 'SIGKILL');
    const { summary } = await awaitScan(conn, runs, run.runId);
    assert.equal(summary.fuzzing?.uniqueCrashes, 1, JSON.stringify(summary));
    const restarted = await dockerClient(state.dockerHost).getContainer(worker.Id).inspect();
    assert.ok(restarted.RestartCount >= 1, `restarts: ${restarted.RestartCount}`);
    const crashes = await listCrashes(conn, run.runId);
    assert.equal(crashes.length, 1);
    assert.equal(crashes[0]?.kind, 'IndexError');
    // With nothing left to do, the worker stops itself (exit 0) and stays stopped.
    const idleDeadline = Date.now() + 180_000;
    for (;;) {
      const info = await dockerClient(state.dockerHost).getContainer(worker.Id).inspect();
      if (!info.State.Running) {
        assert.equal(info.State.ExitCode, 0, 'an idle worker exits cleanly');
        break;
      }
      assert.ok(Date.now() < idleDeadline, 'the idle python worker did not stop');
      await sleep(2000);
    }
    await sleep(5000);
    assert.equal(
      (await runningWorkers(compose, 'python')).length,
      0,
      'the engine leaves an idle-stopped worker stopped',
    );
  });

  it('scales a vertical to 2 workers and both poll', async () => {
    await scaleComposeWorkers(state, 'generic', 2);
    const cli = await findComposeCli();
    const workers = await runningWorkers(new ComposeProject(cli, state), 'generic');
    assert.equal(workers.length, 2);
    const deadline = Date.now() + 180_000;
    for (;;) {
      const pollers = await queuePollers(state, 'generic');
      const polling = workers.filter((w) => pollers.some((p) => p.includes(w.Id.slice(0, 12))));
      if (polling.length === 2) {
        break;
      }
      assert.ok(Date.now() < deadline, `pollers: ${pollers.join(', ')}`);
      await sleep(1000);
    }
    const listed = await runCli(['workers'], env);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^generic\s+\S+,\s*\S+\s+2\s+[2-9]/m);
  });

  it('spreads a campaign’s jobs over the two workers of a scaled vertical', async () => {
    await scaleComposeWorkers(state, 'python', 2);
    const cli = await findComposeCli();
    const workers = await runningWorkers(new ComposeProject(cli, state), 'python');
    assert.equal(workers.length, 2);
    const workspace = copyFixture('fuzz-python', path.join(root, 'fuzz-python-jobs'));
    const wf = findWorkflow(toolboxDir(), 'atheris_fuzzing');
    const { run } = await startScan(conn, runs, {
      path: workspace,
      workflow: wf,
      params: { max_total_time: 20, seed_corpus: 'seeds', minimize_time: 0, jobs: 2 },
    });
    const { summary } = await awaitScan(conn, runs, run.runId);
    assert.equal(summary.fuzzing?.uniqueCrashes, 1, JSON.stringify(summary));
    assert.equal(summary.fuzzing?.harnesses[0]?.shards, 2, JSON.stringify(summary.fuzzing));
    // Each process's segment ran on its own worker container.
    const history = await runs.client.workflow.getHandle(run.runId).fetchHistory();
    const segments = new Set(
      (history.events ?? [])
        .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'fuzzSegment')
        .map((e) => String(e.eventId)),
    );
    const identities = (history.events ?? [])
      .map((e) => e.activityTaskStartedEventAttributes)
      .filter((a) => a && segments.has(String(a.scheduledEventId)))
      .map((a) => a?.identity ?? '');
    assert.equal(identities.length, 2, identities.join(', '));
    const owners = identities.map((id) => workers.findIndex((w) => id.includes(w.Id.slice(0, 12))));
    assert.deepEqual([...owners].sort(), [0, 1], `segment workers: ${identities.join(', ')}`);
  });

  it('down leaves no container, network or volume of the project', async () => {
    await runs.close();
    const docker = dockerClient(state.dockerHost);
    assert.ok(await stopCompose(stateDir, true));
    const filter = { label: [`com.docker.compose.project=${project}`] };
    assert.deepEqual(await docker.listContainers({ all: true, filters: filter }), []);
    assert.deepEqual(await docker.listNetworks({ filters: filter }), []);
    assert.deepEqual((await docker.listVolumes({ filters: filter })).Volumes ?? [], []);
    runs = undefined as unknown as RunService;
  });
});
