// The one worker program of every vertical: `node dist/worker.js --vertical NAME[,NAME...]`.
// It loads the toolbox folders of its verticals at start-up and polls `fuzzforge-<vertical>` for
// each. A compose container runs it with one vertical; the embedded backend runs one process for
// every local vertical (one runtime, one Temporal connection, one activity bundle, and one workflow
// bundle in one workflow thread, shared by a Temporal Worker per vertical): the tools themselves
// always run as child processes, so a tool that crashes fails its activity, not the host. After
// work the host collects its heap once it is quiet (workers/idleGc.ts), and the embedded backend's
// host renews itself when it stays grown (workers/renew.ts).
// With FUZZFORGE_TOOLBOX_WATCH on (the embedded default) it rebuilds the toolbox when it changes
// and swaps each good version in without a restart (workers/toolboxWatch.ts).
import * as fs from 'node:fs';
import * as os from 'node:os';
import { parseArgs } from 'node:util';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { formatProblem, type ToolboxProblem } from '../backend/toolbox/discovery';
import { connectionFromEnv, connectionToEnv } from '../backend/services/connection';
import { temporalConnectOptions } from '../backend/temporal/connect';
import { embeddedConnection, runningEmbedded } from '../backend/services/embedded';
import {
  dropProcessOnlyEnv,
  WORKER_RENEW_EXIT_CODE,
  WORKER_RENEW_QUIET_EXIT_CODE,
} from '../backend/services/supervisor';
import { distEntry, stateDir, toolboxDir } from '../backend/paths';
import { type ToolboxStatus, writePrivateJson } from '../backend/services/state';
import { taskQueueFor, VALIDATE_INPUT_ACTIVITY, type WorkflowInput } from '../toolbox/shared/definitions';
import { inputValidationActivities } from './inputValidation';
import { ActivityProcess, activityIdleSecondsFromEnv } from './activityProcess';
import { type IdleWatch, idleMinutesFromEnv, openWorkflows, watchIdle, workerHasWork } from './idle';
import { workerIdentity } from './identity';
import { collectWhenIdle } from './idleGc';
import { renewMibFromEnv, renewWhenGrown } from './renew';
import { SharedWorkflowThread } from './workflowThread';
import {
  bundleInChildProcess,
  bundleToolboxWorkflows,
  loadToolbox,
  releaseActivityModule,
  runBundleJob,
  type LoadedToolbox,
} from './toolboxLoader';
import { formatRejectedReload, newProblems, toolboxWatchFromEnv, watchToolbox } from './toolboxWatch';

function log(line: string): void {
  console.log(`${new Date().toISOString()} ${line}`);
}

async function main(): Promise<void> {
  // The embedded supervisor's malloc settings are for this process, not for the tools it runs.
  dropProcessOnlyEnv();
  const { values } = parseArgs({
    options: {
      vertical: { type: 'string' },
      concurrency: { type: 'string' },
      prebuild: { type: 'boolean' },
      // Internal: a host's bundling of its workflows, run as a child of it (workers/toolboxLoader.ts).
      'bundle-job': { type: 'string' },
    },
    strict: true,
  });
  if (values['bundle-job']) {
    await runBundleJob(values['bundle-job']);
    return;
  }
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
  if (values.prebuild) {
    // `fuzzforge setup`: build and cache these verticals' workflow bundle, so the first start
    // after an install does not spend its seconds in webpack. No services needed.
    const began = Date.now();
    const built = await bundleToolboxWorkflows(toolboxDir(), verticals);
    for (const problem of built.problems) {
      log(`toolbox problem (skipped): ${formatProblem(problem)}`);
    }
    log(
      `workflow bundle for ${verticals.join(', ')} ready (${built.workflows.length} workflows, ${Date.now() - began} ms)`,
    );
    return;
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
    Object.assign(process.env, connectionToEnv(conn));
  }
  // This process stays up: Temporal's bundler (when no cached bundle fits) runs in a child of it.
  bundleInChildProcess(distEntry('worker'));
  // The SDK's per-poller INFO lines drown the toolbox problems people need to see.
  Runtime.install({
    logger: new DefaultLogger((process.env.FUZZFORGE_WORKER_LOG_LEVEL as 'INFO' | undefined) ?? 'WARN'),
  });
  const toolbox = toolboxDir();
  const watch = toolboxWatchFromEnv(process.env);
  const started = Date.now();
  // Connect while the toolbox loads (each takes a few hundred ms at start-up).
  const connecting = connectWhenUp(conn.temporal);
  connecting.catch(() => undefined);
  const first = await loadToolbox(toolbox, verticals);
  for (const problem of first.problems) {
    log(`toolbox problem (skipped): ${formatProblem(problem)}`);
  }
  log(`loaded ${describeToolbox(first)} from ${toolbox} in ${Date.now() - started} ms`);
  const firstConnection = await connecting;
  const concurrency = Number(
    values.concurrency ?? process.env.FUZZFORGE_WORKER_CONCURRENCY ?? Math.max(2, os.cpus().length),
  );
  const namespace = conn.temporal.namespace;
  const address = conn.temporal.address;
  const statusFile = process.env.FUZZFORGE_TOOLBOX_STATUS_FILE;
  const idleMinutes = idleMinutesFromEnv(process.env);
  // Under the embedded supervisor, which starts a fresh host at once; a container is not renewed.
  const renewMib = process.env.FUZZFORGE_SUPERVISED === '1' ? renewMibFromEnv(process.env) : 0;
  const activityIdleSeconds = activityIdleSecondsFromEnv(process.env);

  // One generation per toolbox version: a Temporal Worker per vertical on the version's bundles.
  // A reload starts the next generation on the same queues, then shuts the previous one down: it
  // stops polling and its running activities finish on their own code. Each generation has its
  // own connection: the SDK refuses two workers of one queue on one connection.
  interface Generation {
    version: number;
    loaded: LoadedToolbox;
    loadedAt: string;
    connection: NativeConnection;
    /** Every worker of the generation has stopped and its connection is closed. */
    stopped: Promise<void>;
    workers: { vertical: string; worker: Worker }[];
    idleWatches: IdleWatch[];
  }
  const retired = new Set<string>();
  /** Generations whose workers have not all stopped yet (the serving one and those finishing). */
  const live = new Set<Generation>();
  let serving: Generation | undefined;
  let stopping = false;
  let running = 0;
  /** Activities started on this host (every run starts with one, the input check). */
  let activitiesStarted = 0;
  let finish: (err?: Error) => void = () => undefined;
  const finished = new Promise<void>((resolve, reject) => {
    finish = (err) => (err ? reject(err) : resolve());
  });
  const shutdownGeneration = (gen: Generation) => {
    gen.idleWatches.forEach((w) => w.stop());
    gen.workers.forEach(({ worker }) => worker.getState() === 'RUNNING' && worker.shutdown());
  };
  const shutdownAll = () => {
    stopping = true;
    if (serving) {
      shutdownGeneration(serving);
    }
  };
  let failedReload: { at: string; problems: string[] } | undefined;
  let polling: string[] | undefined;
  const writeStatus = () => {
    if (statusFile && serving) {
      writePrivateJson(statusFile, {
        version: serving.version,
        loadedAt: serving.loadedAt,
        workflows: serving.loaded.workflows.map((w) => w.name),
        watching: watch.enabled,
        ...(failedReload ? { failedReload } : {}),
        pid: process.pid,
        ...(polling ? { polling } : {}),
      } satisfies ToolboxStatus);
    }
  };

  const startGeneration = async (
    loaded: LoadedToolbox,
    version: number,
    connection: NativeConnection,
  ): Promise<Generation> => {
    // The toolbox's activities run in the generation's activity process (workers/activityProcess.ts),
    // and so does the input check that opens every run (it loads the schema validator and the
    // storage client): the host itself keeps only what polling needs.
    const activityProcess = new ActivityProcess({
      entry: distEntry('activityProcess'),
      moduleFile: loaded.activityModule ?? '',
      idleSeconds: activityIdleSeconds,
      log,
    });
    const activities = Object.fromEntries(
      Object.entries({
        ...(loaded.activityModule ? activityProcess.proxies(Object.keys(loaded.activities)) : {}),
        ...inputValidationActivities(
          loaded.workflows,
          (definition, request) =>
            activityProcess.run(VALIDATE_INPUT_ACTIVITY, [definition, request]) as Promise<WorkflowInput>,
        ),
      }).map(([name, run]) => [
        name,
        (...args: unknown[]) => {
          activitiesStarted++;
          return (run as (...a: unknown[]) => unknown)(...args);
        },
      ]),
    );
    const gen: Generation = {
      version,
      loaded,
      loadedAt: new Date().toISOString(),
      connection,
      stopped: Promise.resolve(),
      workers: [],
      idleWatches: [],
    };
    // The generation's Workers share one workflow thread (workers/workflowThread.ts).
    const thread = new SharedWorkflowThread();
    try {
      // Created together: the first makes the shared thread, the others wait for it.
      const created = await thread.create(() =>
        Promise.all(
          verticals
            .filter((v) => !retired.has(v))
            .map(async (vertical) => ({
              vertical,
              worker: await Worker.create({
                connection,
                namespace,
                taskQueue: taskQueueFor(vertical),
                identity: await workerIdentity(vertical, address),
                // One bundle for all the host's verticals: a worker only runs what its queue sends it.
                ...(loaded.bundle ? { workflowBundle: loaded.bundle } : {}),
                activities,
                maxConcurrentActivityTaskExecutions: concurrency,
                // A watching host lets the activities of a replaced version run to their end (within
                // the reload grace); a stop of the embedded backend ends them with the host anyway.
                shutdownGraceTime: watch.enabled ? watch.graceSeconds * 1000 : '10s',
                // Heartbeats reach the server at least every second, so a cancel reaches a long-running
                // activity (a fuzzer) within about a second instead of 0.8 x its heartbeat timeout.
                maxHeartbeatThrottleInterval: '1s',
              }),
            })),
        ),
      );
      gen.workers.push(...created);
    } catch (err) {
      activityProcess.close();
      await thread.destroy().catch(() => undefined);
      throw err;
    }
    const runs: Promise<void>[] = [];
    for (const { vertical, worker } of gen.workers) {
      running++;
      // A worker of the serving version that fails stops the others too: the supervisor (or the
      // container's restart policy) starts the host again, rather than leaving some verticals
      // silently without a worker. One of a replaced version only logs.
      const run = worker
        .run()
        .then(
          () => undefined,
          (err: unknown) => {
            if (gen === serving) {
              shutdownAll();
              finish(err instanceof Error ? err : new Error(String(err)));
            } else {
              log(`worker ${vertical} of toolbox version ${gen.version} failed while stopping: ${String(err)}`);
            }
          },
        )
        .finally(() => {
          if (--running === 0) {
            finish();
          }
        });
      runs.push(run);
      if (idleMinutes > 0) {
        gen.idleWatches.push(
          watchIdle(worker, connection, { namespace, taskQueue: taskQueueFor(vertical), minutes: idleMinutes }, () => {
            log(`no work for ${idleMinutes} min; stopping (the next run for ${vertical} starts a worker again)`);
            retired.add(vertical);
            worker.shutdown();
          }),
        );
      }
    }
    live.add(gen);
    gen.stopped = Promise.all(runs)
      .then(() => {
        activityProcess.close();
        releaseActivityModule(loaded.activityModule);
      })
      .then(() => thread.destroy())
      .then(() => connection.close())
      .finally(() => live.delete(gen));
    return gen;
  };

  const reload = async () => {
    const current = serving;
    if (!current || stopping) {
      return;
    }
    const began = Date.now();
    log('toolbox changed; building the new version');
    let next: LoadedToolbox;
    try {
      next = await loadToolbox(toolbox, verticals);
    } catch (err) {
      next = { workflows: [], activities: {}, problems: [{ file: toolbox, message: String(err) }] };
    }
    const reject = (problems: ToolboxProblem[]) => {
      log(formatRejectedReload(problems));
      failedReload = { at: new Date().toISOString(), problems: problems.map((p) => formatProblem(p)) };
      writeStatus();
    };
    const broken = newProblems(current.loaded.problems, next.problems);
    if (broken.length > 0) {
      releaseActivityModule(next.activityModule);
      reject(broken);
      return;
    }
    if (stopping || retired.size === verticals.length) {
      releaseActivityModule(next.activityModule);
      return;
    }
    const connection = await connectWhenUp(conn.temporal);
    let gen: Generation;
    try {
      gen = await startGeneration(next, current.version + 1, connection);
    } catch (err) {
      // The bundle loads but a worker cannot start on it (its top-level code throws, say).
      releaseActivityModule(next.activityModule);
      await connection.close().catch(() => undefined);
      reject([{ file: toolbox, message: `the new version does not start: ${(err as Error).message}` }]);
      return;
    }
    serving = gen;
    failedReload = undefined;
    if (stopping) {
      shutdownGeneration(gen);
    }
    shutdownGeneration(current);
    writeStatus();
    log(
      `reloaded the toolbox in ${Date.now() - began} ms: version ${gen.version}, ${describeToolbox(next)}; ` +
        `the previous version finishes its running tasks`,
    );
    void current.stopped.then(() => log(`toolbox version ${current.version} stopped`));
  };

  serving = await startGeneration(first, 1, firstConnection);
  writeStatus();
  if (statusFile) {
    // The embedded backend's readiness: Temporal lists a poller on every queue of this host.
    void pollersListed(() => serving?.connection, namespace, verticals)
      .then((listed) => {
        polling = listed;
        writeStatus();
      })
      // Not confirmed (or not recorded: a full disk): the start-up check times out naming this log.
      .catch((err: unknown) => log(`could not confirm the pollers with Temporal: ${(err as Error).message}`));
  }
  const collector = collectWhenIdle({
    busy: () =>
      [...live].some((gen) =>
        gen.workers.some(({ worker }) => {
          const status = worker.getStatus();
          return status.numInFlightActivities > 0 || status.numInFlightWorkflowActivations > 0;
        }),
      ),
    onCollect: (before, after) =>
      log(`idle: heap ${Math.round(before / 1048576)} -> ${Math.round(after / 1048576)} MB after a full collection`),
  });
  let activitiesSeen = activitiesStarted;
  let backendQuiet = false;
  const renewal =
    renewMib > 0
      ? renewWhenGrown({
          growthBytes: renewMib * 1048576,
          // Quiet as long as the activity process stays up without work (it has ended by then).
          quietMs: Math.max(5, activityIdleSeconds) * 1000,
          busy: () => {
            const started = activitiesStarted !== activitiesSeen;
            activitiesSeen = activitiesStarted;
            return (
              started ||
              live.size !== 1 ||
              // A fresh host would load the broken toolbox on disk, not the version still serving.
              failedReload !== undefined ||
              [...live].some((gen) =>
                gen.workers.some(({ worker }) => worker.getState() !== 'RUNNING' || workerHasWork(worker)),
              )
            );
          },
          open: async () => {
            const gen = serving;
            if (!gen) {
              return true;
            }
            const counts = await Promise.all(
              gen.workers.map(({ vertical }) => openWorkflows(gen.connection, namespace, taskQueueFor(vertical))),
            );
            if (counts.some((n) => n > 0)) {
              return true;
            }
            // Nothing open on any queue (a worker on another host's either): Temporal may be renewed too.
            backendQuiet = (await openWorkflows(gen.connection, namespace).catch(() => 1)) === 0;
            return false;
          },
          onRenew: (idleBytes, nowBytes) => {
            log(
              `renewing: the host holds ${Math.round(nowBytes / 1048576)} MiB after work, ` +
                `${Math.round(idleBytes / 1048576)} MiB idle; a fresh host takes over ` +
                `(FUZZFORGE_WORKER_RENEW_MIB=${renewMib})`,
            );
            process.exitCode = backendQuiet ? WORKER_RENEW_QUIET_EXIT_CODE : WORKER_RENEW_EXIT_CODE;
            shutdownAll();
          },
          onStay: (why) => log(`quiet after work, not renewing: ${why}`),
        })
      : undefined;
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
  // The SDK's own signal handler shuts the workers down; no generation may start after it.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      stopping = true;
    });
  }
  const healthFile = process.env.FUZZFORGE_HEALTH_FILE;
  if (healthFile) {
    // A container health check reads the file's age: touched while the workers poll, stale when
    // they have stopped, failed or hang.
    const touch = () => {
      if (serving?.workers.every(({ worker }) => worker.getState() === 'RUNNING')) {
        fs.writeFileSync(healthFile, `${new Date().toISOString()}\n`);
      }
    };
    setTimeout(touch, 500).unref();
    setInterval(touch, 5000).unref();
  }
  for (const vertical of verticals) {
    log(`polling ${taskQueueFor(vertical)} on ${address}`);
  }
  const watcher = watch.enabled
    ? watchToolbox(toolbox, {}, () =>
        reload().catch((err: unknown) => log(`toolbox reload failed: ${(err as Error).stack ?? String(err)}`)),
      )
    : undefined;
  if (watcher) {
    log(`watching ${toolbox} for changes (FUZZFORGE_TOOLBOX_WATCH=0 turns this off)`);
  }
  try {
    await finished;
  } finally {
    stopping = true;
    watcher?.stop();
    collector.stop();
    renewal?.stop();
  }
  await serving.stopped;
  log('stopped');
}

function describeToolbox(loaded: LoadedToolbox): string {
  return (
    `${loaded.workflows.length} workflow(s) [${loaded.workflows.map((w) => w.name).join(', ')}] and ` +
    `${Object.keys(loaded.activities).length} activities`
  );
}

/**
 * Wait until Temporal lists a poller on each vertical's task queue (asked every 25 ms, for at
 * most FUZZFORGE_WORKER_CONNECT_SECONDS); returns the verticals. Asked over the serving
 * version's connection, whichever it is by then.
 */
async function pollersListed(
  connection: () => NativeConnection | undefined,
  namespace: string,
  verticals: readonly string[],
): Promise<string[]> {
  const deadline = Date.now() + Number(process.env.FUZZFORGE_WORKER_CONNECT_SECONDS ?? 60) * 1000;
  const waiting = new Set(verticals);
  let lastError: unknown;
  while (waiting.size > 0) {
    const conn = connection();
    if (conn) {
      await Promise.all(
        [...waiting].map(async (vertical) => {
          try {
            const res = await conn.workflowService.describeTaskQueue({
              namespace,
              taskQueue: { name: taskQueueFor(vertical) },
              taskQueueType: 1,
            });
            if ((res.pollers?.length ?? 0) > 0) {
              waiting.delete(vertical);
            }
          } catch (err) {
            // A connection replaced by a reload, or a server restarting: ask again.
            lastError = err;
          }
        }),
      );
    }
    if (waiting.size === 0) {
      break;
    }
    if (Date.now() >= deadline) {
      throw new Error(
        `no poller listed on ${[...waiting].map(taskQueueFor).join(', ')}` +
          (lastError ? ` (${(lastError as Error).message.split('\n')[0]})` : ''),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return [...verticals];
}

/**
 * Connect to Temporal, waiting up to FUZZFORGE_WORKER_CONNECT_SECONDS (default 60) for it to
 * come up: the embedded backend starts the worker host while Temporal itself is starting, and a
 * remote worker may start before its server.
 */
async function connectWhenUp(temporal: Parameters<typeof temporalConnectOptions>[0]): Promise<NativeConnection> {
  const deadline = Date.now() + Number(process.env.FUZZFORGE_WORKER_CONNECT_SECONDS ?? 60) * 1000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await NativeConnection.connect(temporalConnectOptions(temporal));
    } catch (err) {
      if (Date.now() >= deadline) {
        throw err;
      }
      if (attempt === 1 || attempt % 10 === 0) {
        log(`waiting for Temporal at ${temporal.address}: ${(err as Error).message.split('\n')[0]}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
