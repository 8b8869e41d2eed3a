// The one worker program of every vertical: `node dist/worker.js --vertical NAME`.
// It loads the toolbox folders of its vertical at start-up and polls `fuzzforge-<vertical>`.
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
  const vertical = values.vertical ?? process.env.FUZZFORGE_VERTICAL;
  if (!vertical) {
    throw new Error('usage: worker --vertical NAME (or FUZZFORGE_VERTICAL)');
  }
  process.env.FUZZFORGE_VERTICAL = vertical;
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
  const loaded = await loadToolbox(toolbox, vertical);
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
  const worker = await Worker.create({
    connection,
    namespace: conn.temporal.namespace,
    taskQueue: taskQueueFor(vertical),
    identity: await workerIdentity(vertical, conn.temporal.address),
    ...(loaded.bundle ? { workflowBundle: loaded.bundle } : {}),
    activities: {
      ...loaded.activities,
      ...inputValidationActivities(loaded.workflows, new ObjectStore(conn)),
    },
    maxConcurrentActivityTaskExecutions: concurrency,
    shutdownGraceTime: '10s',
    // Heartbeats reach the server at least every second, so a cancel reaches a long-running
    // activity (a fuzzer) within about a second instead of 0.8 x its heartbeat timeout.
    maxHeartbeatThrottleInterval: '1s',
  });
  if (process.env.FUZZFORGE_SUPERVISED === '1') {
    // If the supervisor dies without stopping us, do not linger as an orphan.
    const parent = process.ppid;
    setInterval(() => {
      if (process.ppid !== parent) {
        log('supervisor is gone; shutting down');
        worker.shutdown();
      }
    }, 2000).unref();
  }
  const healthFile = process.env.FUZZFORGE_HEALTH_FILE;
  if (healthFile) {
    // A container health check reads the file's age: touched while the worker polls, stale when
    // it has stopped, failed or hangs.
    const touch = () => {
      if (worker.getState() === 'RUNNING') {
        fs.writeFileSync(healthFile, `${new Date().toISOString()}\n`);
      }
    };
    setTimeout(touch, 500).unref();
    setInterval(touch, 5000).unref();
  }
  const idleMinutes = idleMinutesFromEnv(process.env);
  if (idleMinutes > 0) {
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
  log(`polling ${taskQueueFor(vertical)} on ${conn.temporal.address}`);
  await worker.run();
  await connection.close();
  log('stopped');
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
