// The one worker program of every vertical: `node dist/worker.js --vertical NAME[,NAME...]`.
// It loads the toolbox folders of its verticals at start-up and polls `fuzzforge-<vertical>` for
// each. A compose container runs it with one vertical; the embedded backend runs one process for
// every local vertical (one runtime, one Temporal connection, one activity bundle and one workflow
// bundle shared by a Temporal Worker per vertical): the tools themselves always run as child
// processes, so a tool that crashes fails its activity, not the host.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { parseArgs } from 'node:util';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { formatProblem } from '../backend/toolbox/discovery';
import { connectionFromEnv } from '../backend/services/connection';
import { temporalConnectOptions } from '../backend/temporal/connect';
import { embeddedConnection, runningEmbedded } from '../backend/services/embedded';
import { stateDir, toolboxDir } from '../backend/paths';
import { taskQueueFor } from '../toolbox/shared/definitions';
import { ObjectStore } from '../backend/storage/objectStore';
import { inputValidationActivities } from './inputValidation';
import { idleMinutesFromEnv, watchIdle } from './idle';
import { workerIdentity } from './identity';
import { loadToolbox } from './toolboxLoader';

function log(line: string): void {
  console.log(`${new Date().toISOString()} ${line}`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { vertical: { type: 'string' }, concurrency: { type: 'string' } },
    strict: true,
  });
  const verticals = [
    ...new Set(
      (values.vertical ?? process.env.FUZZFORGE_VERTICAL ?? '')
        .split(',')
        .map((v) => v.trim())
        .filter(Boolean),
    ),
  ];
  if (verticals.length === 0 || verticals.some((v) => !/^[a-z0-9_-]+$/.test(v))) {
    throw new Error('usage: worker --vertical NAME[,NAME...] (or FUZZFORGE_VERTICAL)');
  }
  if (verticals.length === 1) {
    // Names the worker's own cache folder (toolbox/modules/runtime.ts); a host of several
    // verticals shares one.
    process.env.FUZZFORGE_VERTICAL = verticals[0];
  } else {
    delete process.env.FUZZFORGE_VERTICAL;
  }
  let conn = connectionFromEnv(process.env);
  if (!conn) {
    // Started by hand next to a running embedded backend: attach to it.
    const state = runningEmbedded(stateDir());
    if (!state) {
      throw new Error(
        'no FUZZFORGE_TEMPORAL_ADDRESS/FUZZFORGE_S3_* settings and no embedded backend running (fuzzforge up)',
      );
    }
    conn = embeddedConnection(state);
    Object.assign(process.env, {
      FUZZFORGE_TEMPORAL_ADDRESS: conn.temporal.address,
      FUZZFORGE_S3_ENDPOINT: conn.storage.endpoint,
      FUZZFORGE_S3_ACCESS_KEY: conn.storage.accessKey,
      FUZZFORGE_S3_SECRET_KEY: conn.storage.secretKey,
    });
  }
  // The SDK's per-poller INFO lines drown the toolbox problems people need to see.
  Runtime.install({
    logger: new DefaultLogger((process.env.FUZZFORGE_WORKER_LOG_LEVEL as 'INFO' | undefined) ?? 'WARN'),
  });
  const toolbox = toolboxDir();
  const started = Date.now();
  const loaded = await loadToolbox(toolbox, verticals);
  for (const problem of loaded.problems) {
    log(`toolbox problem (skipped): ${formatProblem(problem)}`);
  }
  log(
    `loaded ${loaded.workflows.length} workflow(s) [${loaded.workflows.map((w) => w.name).join(', ')}] and ` +
      `${Object.keys(loaded.activities).length} activities from ${toolbox} in ${Date.now() - started} ms`,
  );
  const connection = await NativeConnection.connect(temporalConnectOptions(conn.temporal));
  const concurrency = Number(
    values.concurrency ?? process.env.FUZZFORGE_WORKER_CONCURRENCY ?? Math.max(2, os.cpus().length),
  );
  const store = new ObjectStore(conn);
  const activities = { ...loaded.activities, ...inputValidationActivities(loaded.workflows, store) };
  const workers: { vertical: string; worker: Worker }[] = [];
  for (const vertical of verticals) {
    workers.push({
      vertical,
      worker: await Worker.create({
        connection,
        namespace: conn.temporal.namespace,
        taskQueue: taskQueueFor(vertical),
        identity: await workerIdentity(vertical, conn.temporal.address),
        // One bundle for all the host's verticals: a worker only runs what its queue sends it.
        ...(loaded.bundle ? { workflowBundle: loaded.bundle } : {}),
        activities,
        maxConcurrentActivityTaskExecutions: concurrency,
        shutdownGraceTime: '10s',
        // Heartbeats reach the server at least every second, so a cancel reaches a long-running
        // activity (a fuzzer) within about a second instead of 0.8 x its heartbeat timeout.
        maxHeartbeatThrottleInterval: '1s',
      }),
    });
  }
  const shutdownAll = () => workers.forEach(({ worker }) => worker.getState() === 'RUNNING' && worker.shutdown());
  if (process.env.FUZZFORGE_SUPERVISED === '1') {
    // If the supervisor dies without stopping us, do not linger as an orphan.
    const parent = process.ppid;
    setInterval(() => {
      if (process.ppid !== parent) {
        log('supervisor is gone; shutting down');
        shutdownAll();
      }
    }, 2000).unref();
  }
  const healthFile = process.env.FUZZFORGE_HEALTH_FILE;
  if (healthFile) {
    // A container health check reads the file's age: touched while the workers poll, stale when
    // they have stopped, failed or hang.
    const touch = () => {
      if (workers.every(({ worker }) => worker.getState() === 'RUNNING')) {
        fs.writeFileSync(healthFile, `${new Date().toISOString()}\n`);
      }
    };
    setTimeout(touch, 500).unref();
    setInterval(touch, 5000).unref();
  }
  const idleMinutes = idleMinutesFromEnv(process.env);
  if (idleMinutes > 0) {
    for (const { vertical, worker } of workers) {
      watchIdle(
        worker,
        connection,
        { namespace: conn.temporal.namespace, taskQueue: taskQueueFor(vertical), minutes: idleMinutes },
        () => {
          log(`no work for ${idleMinutes} min; stopping (the next run for ${vertical} starts a worker again)`);
          worker.shutdown();
        },
      );
    }
  }
  for (const { vertical } of workers) {
    log(`polling ${taskQueueFor(vertical)} on ${conn.temporal.address}`);
  }
  // A worker that fails stops the others too: the supervisor (or the container's restart policy)
  // starts the host again, rather than leaving some verticals silently without a worker.
  await Promise.all(
    workers.map(({ worker }) =>
      worker.run().catch((err: unknown) => {
        shutdownAll();
        throw err;
      }),
    ),
  );
  await connection.close();
  log('stopped');
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
