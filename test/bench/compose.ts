// `npm run bench:compose`: figures of the compose backend, asserting nothing. Needs an engine and
// the images (run `npm run test:compose` once, or backend/scripts/docker-images.sh).
//   1. `up` to ready: cold (new project: new volumes, containers created) and warm (the same
//      project again after `down` that kept its volumes);
//   2. idle memory of the compose stack (container memory without page cache, as `docker stats`
//      shows it) beside the embedded stack (RSS of the supervisor and every process under it),
//      each with the generic and python workers polling, 30 s after ready;
//   3. throughput of 20 queued security_assessment scans with 1 and with 2 generic workers.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { sleep } from '../../backend/concurrency';
import { toolboxDir } from '../../backend/paths';
import { awaitScan, findWorkflow, startScan } from '../../backend/scan';
import {
  composeConnection,
  composeContainers,
  defaultComposeOptions,
  scaleComposeWorkers,
  startCompose,
  stopCompose,
} from '../../backend/services/compose';
import { readState } from '../../backend/services/state';
import { formatBytes } from '../../backend/storage/pack';
import { RunService } from '../../backend/temporal/runs';
import { copyFixture, startTestBackend } from '../integration/harness';
import { treeRssKb } from './proc';

const SCANS = Number(process.env.BENCH_SCANS ?? 20);
const VERTICALS = (process.env.BENCH_VERTICALS ?? 'generic,python').split(',');

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-bench-compose-'));
  const stateDir = path.join(root, 'state');
  const project = `ffbench${crypto.randomBytes(3).toString('hex')}`;
  const options = defaultComposeOptions(stateDir, { ...process.env, FUZZFORGE_COMPOSE_PROJECT: project });
  options.ports = { temporal: 0, temporalUi: 0, minio: 0, minioConsole: 0 };
  options.verticals = VERTICALS;
  options.buildImages = false;
  options.idleMinutes = 0;
  const lines: string[] = [];
  const say = (line: string) => {
    lines.push(line);
    console.log(line);
  };
  try {
    // 1. cold and warm up.
    let t = Date.now();
    let { state } = await startCompose(options);
    const cold = Date.now() - t;
    await stopCompose(stateDir, false);
    t = Date.now();
    ({ state } = await startCompose(options));
    const warm = Date.now() - t;
    say(
      `compose up to ready (${VERTICALS.join(' + ')} workers polling): cold ${(cold / 1000).toFixed(1)} s, warm ${(warm / 1000).toFixed(1)} s`,
    );

    // 2. idle memory, compose.
    await sleep(30_000);
    const containers = await composeContainers(state);
    const running = containers.filter((c) => c.state === 'running');
    const composeBytes = running.reduce((sum, c) => sum + (c.memoryBytes ?? 0), 0);
    say(
      `idle memory, compose stack: ${formatBytes(composeBytes)} (` +
        running.map((c) => `${c.service} ${formatBytes(c.memoryBytes ?? 0)}`).join(', ') +
        ')',
    );

    // 3. throughput of queued scans with 1 and 2 generic workers.
    const conn = composeConnection(state);
    const runs = await RunService.connect(conn);
    const wf = findWorkflow(toolboxDir(), 'security_assessment');
    const workspace = copyFixture('vulnerable-app', path.join(root, 'app'));
    for (const workers of [1, 2]) {
      await scaleComposeWorkers(state, 'generic', workers);
      // Let every worker poll before the clock starts.
      await sleep(5000);
      const started = Date.now();
      const ids: string[] = [];
      for (let i = 0; i < SCANS; i++) {
        ids.push(
          (await startScan(conn, runs, { path: workspace, workflow: wf, params: {}, baseline: false })).run.runId,
        );
      }
      await Promise.all(ids.map((id) => awaitScan(conn, runs, id)));
      const seconds = (Date.now() - started) / 1000;
      say(
        `${SCANS} queued security_assessment scans, ${workers} generic worker(s): ${seconds.toFixed(1)} s ` +
          `(${((SCANS / seconds) * 60).toFixed(1)} scans/min)`,
      );
    }
    await runs.close();
    await stopCompose(stateDir, true);

    // 2b. idle memory, embedded, same verticals.
    const backend = await startTestBackend({ verticals: VERTICALS });
    await sleep(30_000);
    const embeddedState = readState(backend.stateDir);
    const embeddedKb = embeddedState ? treeRssKb(embeddedState.supervisorPid) : 0;
    say(
      `idle memory, embedded stack: ${formatBytes(embeddedKb * 1024)} (RSS of the supervisor and every process under it)`,
    );
    await backend.stop();
  } finally {
    await stopCompose(stateDir, true).catch(() => undefined);
    fs.rmSync(root, { recursive: true, force: true });
  }
  console.log(`\n${lines.join('\n')}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
