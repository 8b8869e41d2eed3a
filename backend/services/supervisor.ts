// The embedded backend's supervisor: a detached process (dist/supervisor.js) that owns
// Temporal, MinIO and the worker host for as long as they run, restarting what crashes. It stays up
// all day, so it loads as little as it can: no Temporal or MinIO client (the readiness checks
// that need them run in a short-lived `fuzzforge __await-ready` child), no toolbox metadata (the
// verticals come in its config). `npm run bench:footprint` measures it; backend/services/embedded.ts
// starts and stops it.
import { spawn, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { sleep } from '../concurrency';
import { amountFromEnv } from '../settings';
import { distEntry } from '../paths';
import type { Retention } from '../storage/objectStore';
import { DEFAULT_BUCKETS, type BackendConnection, connectionToEnv } from './connection';
import {
  chooseIsolation,
  ensureFrontCertificates,
  firstChildPid,
  frontClientTls,
  newUiToken,
  UNSHARE_ARGS,
} from './temporalIsolation';
import type { TemporalFrontConfig } from './temporalFront';
import { pickPort, pidListensOn } from './ports';
import { ProcessUsageSampler } from './processUsage';
import {
  killTaggedProcesses,
  removeWorkerLeftovers,
  sweepWorkerLeftovers,
  workerCacheName,
  workerCacheRoot,
} from './leftovers';
import {
  acquireLock,
  appendLogLine,
  type BackendState,
  loadOrCreateCredentials,
  recordProcessTokens,
  releaseLock,
  removeState,
  toolboxStatusPath,
  WORKER_HOST_LOG,
  type WorkerState,
  writePrivateJson,
  writeState,
} from './state';

/** supervisor.log is kept below this size, with one previous file beside it. */
export const SUPERVISOR_LOG_MAX_BYTES = 1024 * 1024;

/** Search attributes registered on the embedded Temporal so runs can be listed per workspace. */
export const SEARCH_ATTRIBUTES = {
  FuzzforgeWorkspace: 'Keyword',
  FuzzforgeWorkflow: 'Keyword',
  FuzzforgeVertical: 'Keyword',
} as const;

/**
 * Dynamic configuration of the embedded Temporal dev server: what a single-user local backend does
 * not use is turned off. No Temporal schedules, batch operations or Nexus endpoints are used by
 * FuzzForge, so their per-namespace workers (and the pollers and goroutines they keep) are off; the
 * scanners that tidy a long-lived cluster's database are off; and every task queue has one
 * partition instead of four (partitions spread a queue's load over matching hosts; here there is
 * one host, and each partition holds its own goroutines and buffers).
 */
export const TEMPORAL_DYNAMIC_CONFIG: Readonly<Record<string, string>> = {
  'worker.enableScheduler': 'false',
  'worker.enableNamespaceBatcher': 'false',
  'system.enableNexus': 'false',
  'worker.taskQueueScannerEnabled': 'false',
  'worker.historyScannerEnabled': 'false',
  'worker.executionsScannerEnabled': 'false',
  'matching.numTaskqueueReadPartitions': '1',
  'matching.numTaskqueueWritePartitions': '1',
};

/**
 * SQLite's write-ahead log, synced at checkpoints rather than at every commit. Each step of a run
 * (a workflow task, an activity scheduled, started, completed) is a commit: with the default
 * rollback journal each waited for its own fsyncs, about 35 ms over a two-activity workflow here
 * and more on a slow disk. A process killed (Temporal itself, the supervisor, the whole backend)
 * loses nothing committed; only a power cut can take back the last commits, never corrupt the file.
 * Compose passes the same (compose/docker-compose.yml).
 */
export const TEMPORAL_SQLITE_PRAGMAS: readonly string[] = ['journal_mode=wal', 'synchronous=normal'];

export interface EmbeddedPorts {
  temporal: number;
  temporalUi: number;
  minio: number;
  minioConsole: number;
}

export const DEFAULT_PORTS: EmbeddedPorts = { temporal: 7233, temporalUi: 8233, minio: 9000, minioConsole: 9001 };

export interface EmbeddedOptions {
  stateDir: string;
  /** Preferred ports; a taken port falls back to a free one, 0 means any. */
  ports: EmbeddedPorts;
  retention: Retention;
  toolboxDir: string;
  /** Verticals to start workers for; default: every vertical with workflows whose toolchain is present. */
  verticals?: string[];
}

/** The connection described by a state file plus the stored credentials. */
export function embeddedConnection(state: BackendState): BackendConnection {
  const credentials = loadOrCreateCredentials(state.stateDir);
  const isolated = state.temporal.isolation === 'namespace';
  return {
    mode: 'embedded',
    temporal: {
      address: state.temporal.address,
      namespace: state.temporal.namespace,
      uiUrl: state.temporal.uiUrl,
      ...(isolated ? { tls: frontClientTls(state.stateDir) } : {}),
      ...(state.temporal.uiToken ? { uiToken: state.temporal.uiToken } : {}),
    },
    storage: {
      endpoint: state.storage.endpoint,
      accessKey: credentials.accessKey,
      secretKey: credentials.secretKey,
      region: 'us-east-1',
      consoleUrl: state.storage.consoleUrl,
    },
    buckets: { ...DEFAULT_BUCKETS },
  };
}

export function supervisorConfigPath(stateDir: string): string {
  return path.join(stateDir, 'supervisor-config.json');
}

export function lockPath(stateDir: string): string {
  return path.join(stateDir, 'supervisor.lock');
}

export function supervisorLogPath(stateDir: string): string {
  return path.join(stateDir, 'logs', 'supervisor.log');
}

/** Prefix of the worker tags of one state folder: every tool a worker of it starts inherits it. */
export function workerTagPrefix(stateDir: string): string {
  return `ff-${crypto.createHash('sha256').update(path.resolve(stateDir)).digest('hex').slice(0, 16)}`;
}

// ---------------------------------------------------------------------------------------------
// The supervisor: a detached process that owns the service children for as long as they run.

export interface SupervisorConfig extends EmbeddedOptions {
  binaries: { temporal: string; minio: string };
}

/**
 * The exit code of a worker host that renews itself after work (workers/renew.ts, EX_TEMPFAIL):
 * the supervisor starts a fresh one at once, and does not count it as a crash.
 */
export const WORKER_RENEW_EXIT_CODE = 75;

/**
 * The exit code of a worker host that renews itself and found no workflow open in the whole
 * namespace (none for a worker on another host either, EX_PROTOCOL): the backend is quiet, so the
 * supervisor may renew Temporal as well before it starts the fresh host.
 */
export const WORKER_RENEW_QUIET_EXIT_CODE = 76;

/** Default growth (MiB) of the embedded Temporal over its size when it settled that renews it. */
export const DEFAULT_TEMPORAL_RENEW_MIB = 16;

/** How long after its start the embedded Temporal's size is read as its idle size. */
const TEMPORAL_SETTLE_MS = 30_000;

/** MiB from the environment (FUZZFORGE_TEMPORAL_RENEW_MIB; 0: never renew Temporal). */
export function temporalRenewMibFromEnv(env: NodeJS.ProcessEnv): number {
  return amountFromEnv(
    env,
    'FUZZFORGE_TEMPORAL_RENEW_MIB',
    DEFAULT_TEMPORAL_RENEW_MIB,
    'MiB (how far the embedded Temporal may grow past its settled size; 0 = never renew it)',
  );
}

interface ManagedChild {
  name: string;
  /** Exit codes that ask for a fresh start now: no back-off, not counted as a restart. */
  renewCodes?: number[];
  /** Set before the supervisor stops a child to renew it: started again at once, not counted. */
  renewRequested?: boolean;
  /** Awaited before a child that renewed itself starts again (given its exit code). */
  beforeRenew?: (code: number) => Promise<void>;
  start: () => ChildProcess | Promise<ChildProcess>;
  /** How to end it, when SIGTERM to the child is not the way (default: terminate). */
  stop?: (child: ChildProcess | undefined, graceMs: number) => Promise<void>;
  child?: ChildProcess;
  restarts: number;
  startedAt: number;
  /** The child's pid, or undefined once it exited (`renewing`: it is renewed, see renewCodes). */
  onPid: (pid: number | undefined, renewing?: boolean) => void;
  /** After the child exited: end and remove what it left behind; returns lines for the log. */
  cleanUp?: (pid: number | undefined) => string[];
}

/**
 * V8 flags of the backend's long-lived Node processes (supervisor, worker host): a 1 MiB young
 * generation instead of the default 16 MiB semi-spaces keeps an idle process about 40-100 MB
 * smaller, for a few more (cheap) scavenges while busy. `FUZZFORGE_NODE_FLAGS` replaces them
 * (space-separated; empty for none).
 */
export function nodeMemoryFlags(env: NodeJS.ProcessEnv = process.env): string[] {
  const raw = env.FUZZFORGE_NODE_FLAGS ?? '--max-semi-space-size=1';
  return raw.split(/\s+/).filter((f) => f.startsWith('--'));
}

/**
 * glibc malloc settings of the backend's long-lived Node processes (supervisor, front, worker
 * host), for a backend that stays up all day and goes back to its idle size after work
 * (`npm run bench:footprint`). Each is a default: a value the user set wins.
 * - MALLOC_ARENA_MAX=2: threads that allocate (Node's thread pool, the Temporal SDK's core) get
 *   arenas of their own, up to 8 per core, and pages freed in them mostly stay.
 * - MALLOC_MMAP_THRESHOLD_=65536: blocks of 64 KiB and more (stream chunks, SARIF and tool output)
 *   are mapped and given back when freed; by default the threshold grows with the largest block
 *   freed, and such blocks then stay in the heap.
 * - MALLOC_TRIM_THRESHOLD_=1048576: free memory at the top of the heap is given back above 1 MiB.
 * Measured on the worker host with six verticals: 13 MB less at idle and 12 MB less kept after a
 * full_scan and a campaign than with only the arena limit, which itself kept ~15 MB less.
 */
const MALLOC_DEFAULTS: Record<string, string> = {
  MALLOC_ARENA_MAX: '2',
  MALLOC_MMAP_THRESHOLD_: '65536',
  MALLOC_TRIM_THRESHOLD_: '1048576',
};

/** Names of settings meant for the backend's own processes only, which the tools must not get. */
export const PROCESS_ONLY_ENV = 'FUZZFORGE_PROCESS_ONLY_ENV';

/** The environment of the supervisor, and so of the processes it starts: see MALLOC_DEFAULTS. */
export function serviceEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const ours = Object.keys(MALLOC_DEFAULTS).filter((name) => env[name] === undefined);
  return {
    ...env,
    ...Object.fromEntries(ours.map((name) => [name, MALLOC_DEFAULTS[name]])),
    ...(ours.length > 0 ? { [PROCESS_ONLY_ENV]: ours.join(',') } : {}),
  };
}

/**
 * Called first by a process that starts tools (the worker host): remove from `env` the settings
 * serviceEnv added for the backend's own processes (they are read when a process starts, so this
 * one keeps them), so that fuzzers and analyzers run with the environment the user has.
 */
export function dropProcessOnlyEnv(env: NodeJS.ProcessEnv = process.env): void {
  for (const name of (env[PROCESS_ONLY_ENV] ?? '').split(',')) {
    if (name in MALLOC_DEFAULTS) {
      delete env[name];
    }
  }
  delete env[PROCESS_ONLY_ENV];
}

/**
 * The Temporal dev server's environment: GOGC=50 lets its heap grow to 1.5x what is live before a
 * collection instead of 2x (its live heap is about 40 MB; it kept ~40 MB more after work).
 */
export function temporalEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...env, GOGC: env.GOGC ?? '50' };
}

/**
 * MinIO's memory limit (its `MINIO_MEMLIMIT`, which it hands to Go as the soft limit: MinIO sets the
 * limit itself, so `GOMEMLIMIT` has no effect on it). By default MinIO takes 90 % of the machine's
 * free memory. Its heap holds about 175 MB from the start that is live but never touched (queues it
 * allocates at their full length), which keeps Go's heap goal, and with it the freed pages Go keeps
 * instead of giving them back, high: after work it kept 60-120 MiB more than at idle. With a limit
 * of 240 MiB Go gives those pages back (it kept 7 MiB; 10-25 MiB at 256 MiB, 2 MiB at 224 MiB but
 * one-file-edit uploads then took a fifth longer, and at 192 MiB its collector ran 41 s of CPU over
 * the work), and MinIO sizes its request limit from it. A value the user set is used instead.
 */
export function minioEnv(
  credentials: { accessKey: string; secretKey: string },
  env: NodeJS.ProcessEnv = process.env,
): NodeJS.ProcessEnv {
  return {
    ...env,
    MINIO_ROOT_USER: credentials.accessKey,
    MINIO_ROOT_PASSWORD: credentials.secretKey,
    MINIO_UPDATE: 'off',
    MINIO_BROWSER_REDIRECT: 'off',
    MINIO_MEMLIMIT: env.MINIO_MEMLIMIT || '240MiB',
  };
}

/** Run the embedded stack of `stateDir` until SIGTERM (dist/supervisor.js, backend/services/supervisorMain.ts). */
export async function runSupervisor(stateDir: string): Promise<void> {
  const config = JSON.parse(fs.readFileSync(supervisorConfigPath(stateDir), 'utf8')) as SupervisorConfig;
  const logsDir = path.join(stateDir, 'logs');
  fs.mkdirSync(logsDir, { recursive: true });
  const log = (line: string) =>
    appendLogLine(supervisorLogPath(stateDir), `${new Date().toISOString()} ${line}`, SUPERVISOR_LOG_MAX_BYTES);
  if (!acquireLock(lockPath(stateDir))) {
    log('another supervisor holds the lock; exiting');
    return;
  }
  // One supervisor per state folder (the lock): tagged processes of this folder are orphans of
  // an earlier one that was killed, and so are caches and staging folders of dead workers.
  const tagPrefix = workerTagPrefix(stateDir);
  const cacheRoot = workerCacheRoot(process.env);
  for (const line of [
    ...killTaggedProcesses(tagPrefix).map((pid) => `ended orphaned tool process ${pid}`),
    ...sweepWorkerLeftovers(cacheRoot),
  ]) {
    log(line);
  }
  const credentials = loadOrCreateCredentials(stateDir);
  // Decided before the state is written: clients read from it how to reach Temporal.
  let isolation: ReturnType<typeof chooseIsolation> = { isolation: 'none' };
  let isolationError: Error | undefined;
  try {
    isolation = chooseIsolation(process.env);
  } catch (err) {
    isolationError = err as Error;
  }
  const taken = new Set<number>();
  const ports = {
    temporal: (await pickPort(config.ports.temporal, taken)).port,
    temporalUi: (await pickPort(config.ports.temporalUi, taken)).port,
    minio: (await pickPort(config.ports.minio, taken)).port,
    minioConsole: (await pickPort(config.ports.minioConsole, taken)).port,
  };
  const state: BackendState = {
    version: 1,
    mode: 'embedded',
    status: 'starting',
    supervisorPid: process.pid,
    startedAt: new Date().toISOString(),
    stateDir,
    logsDir,
    temporal: {
      address: `127.0.0.1:${ports.temporal}`,
      namespace: 'default',
      uiUrl: `http://127.0.0.1:${ports.temporalUi}`,
      isolation: isolation.isolation,
      ...(isolation.isolation === 'namespace' ? { uiToken: newUiToken() } : { exposure: isolation.reason }),
    },
    storage: {
      endpoint: `http://127.0.0.1:${ports.minio}`,
      consoleUrl: `http://127.0.0.1:${ports.minioConsole}`,
    },
    workers: [],
    retention: config.retention,
    workerTag: tagPrefix,
  };
  const save = () => {
    recordProcessTokens(state);
    writeState(stateDir, state);
  };
  save();

  const children: ManagedChild[] = [];
  let stopping = false;

  const openLog = (name: string) => {
    const file = path.join(logsDir, `${name}.log`);
    // Keep one previous log so a crash's output survives the restart that follows it.
    if (fs.existsSync(file)) {
      fs.renameSync(file, `${file}.1`);
    }
    return fs.openSync(file, 'a');
  };

  const launch = async (managed: ManagedChild) => {
    try {
      managed.child = await managed.start();
    } catch (err) {
      // The start itself failed (a port could not be opened): try again later, like a crash.
      log(`starting ${managed.name} failed: ${(err as Error).message}; trying again`);
      managed.restarts++;
      setTimeout(
        () => {
          if (!stopping) {
            void launch(managed);
          }
        },
        Math.min(30_000, 500 * 2 ** managed.restarts),
      );
      return;
    }
    if (stopping) {
      await terminate(managed.child, 5000);
      return;
    }
    managed.startedAt = Date.now();
    managed.onPid(managed.child.pid);
    save();
    const pid = managed.child.pid;
    managed.child.on('exit', (code, signal) => {
      const requested = managed.renewRequested === true;
      managed.renewRequested = false;
      const renewing = requested || (code !== null && (managed.renewCodes ?? []).includes(code));
      managed.onPid(undefined, renewing);
      try {
        for (const line of managed.cleanUp?.(pid) ?? []) {
          log(line);
        }
      } catch (err) {
        log(`cleaning up after ${managed.name} (pid ${pid}) failed: ${(err as Error).message}`);
      }
      if (stopping) {
        return;
      }
      if (renewing) {
        save();
        log(
          `${managed.name} ${requested ? 'stopped to be renewed' : 'renewed itself (see its log)'}; starting a fresh one`,
        );
        void (async () => {
          try {
            await managed.beforeRenew?.(code ?? 0);
          } catch (err) {
            log(`before renewing ${managed.name}: ${(err as Error).message}`);
          }
          if (!stopping) {
            await launch(managed);
          }
        })();
        return;
      }
      log(`${managed.name} exited (code ${code}, signal ${signal}); restarting`);
      // Back off on crash loops; a child that ran a minute is considered healthy again.
      if (Date.now() - managed.startedAt > 60_000) {
        managed.restarts = 0;
      }
      const delay = Math.min(30_000, 500 * 2 ** managed.restarts);
      managed.restarts++;
      save();
      setTimeout(() => {
        if (!stopping) {
          void launch(managed);
        }
      }, delay);
    });
  };

  const spawnLogged = (name: string, command: string, args: string[], env: NodeJS.ProcessEnv) => {
    const fd = openLog(name);
    const child = spawn(command, args, { stdio: ['ignore', fd, fd], env });
    fs.closeSync(fd);
    return child;
  };

  let readiness: ChildProcess | undefined;
  const stopAll = async () => {
    stopping = true;
    readiness?.kill('SIGKILL');
    state.status = 'stopping';
    save();
    // Workers first so they finish or fail their activities while Temporal is still up.
    const order = [...children]
      .sort((a, b) => Number(a.name.startsWith('worker')) - Number(b.name.startsWith('worker')))
      .reverse();
    for (const group of [
      order.filter((c) => c.name.startsWith('worker')),
      order.filter((c) => !c.name.startsWith('worker')),
    ]) {
      await Promise.all(group.map((c) => (c.stop ?? terminate)(c.child, 15_000)));
    }
    removeState(stateDir);
    releaseLock(lockPath(stateDir));
  };

  process.on('SIGTERM', () => {
    void stopAll().then(() => process.exit(0));
  });
  process.on('SIGINT', () => {
    void stopAll().then(() => process.exit(0));
  });

  try {
    const dataDir = path.join(stateDir, 'minio-data');
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    if (isolationError) {
      throw isolationError;
    }
    const isolated = state.temporal.isolation === 'namespace';
    const temporalRenewBytes = temporalRenewMibFromEnv(process.env) * 1048576;
    // Temporal's tree (its front and the dev server) 30 s after each start.
    let temporalSettledBytes: number | undefined;
    const usage = new ProcessUsageSampler();
    // Isolated, the dev server listens on the loopback of its own namespace, where every port is free.
    const inner = isolated ? { temporal: 7233, temporalUi: 8233 } : ports;
    const temporalArgs = [
      'server',
      'start-dev',
      '--ip',
      '127.0.0.1',
      '--port',
      String(inner.temporal),
      '--ui-port',
      String(inner.temporalUi),
      '--ui-ip',
      '127.0.0.1',
      '--db-filename',
      path.join(stateDir, 'temporal.db'),
      ...TEMPORAL_SQLITE_PRAGMAS.flatMap((p) => ['--sqlite-pragma', p]),
      '--log-level',
      'warn',
      ...Object.entries(SEARCH_ATTRIBUTES).flatMap(([k, v]) => ['--search-attribute', `${k}=${v}`]),
      ...Object.entries(TEMPORAL_DYNAMIC_CONFIG).flatMap(([k, v]) => ['--dynamic-config-value', `${k}=${v}`]),
    ];
    const frontConfigFile = path.join(stateDir, 'temporal-front.json');
    if (isolated) {
      const certs = ensureFrontCertificates(stateDir);
      const frontConfig: TemporalFrontConfig = {
        temporal: { bin: config.binaries.temporal, args: temporalArgs },
        grpcPort: inner.temporal,
        uiPort: inner.temporalUi,
        certs: { ca: certs.ca, cert: certs.serverCert, key: certs.serverKey },
        uiToken: state.temporal.uiToken ?? '',
      };
      writePrivateJson(frontConfigFile, frontConfig);
    }
    const temporal: ManagedChild = {
      name: 'temporal',
      start: () =>
        isolated
          ? startIsolatedTemporal(frontConfigFile, ports, openLog('temporal'))
          : spawnLogged('temporal', config.binaries.temporal, temporalArgs, temporalEnv()),
      ...(isolated ? { stop: stopIsolatedTemporal } : {}),
      restarts: 0,
      startedAt: 0,
      onPid: (pid) => {
        state.temporal.pid = pid;
        temporalSettledBytes = undefined;
        if (pid !== undefined && temporalRenewBytes > 0) {
          setTimeout(() => {
            if (state.temporal.pid === pid) {
              temporalSettledBytes = usage.sample([pid]).get(pid)?.rssBytes;
              if (temporalSettledBytes !== undefined) {
                log(`temporal settled at ${Math.round(temporalSettledBytes / 1048576)} MiB`);
              }
            }
          }, TEMPORAL_SETTLE_MS).unref();
        }
      },
    };
    /**
     * Called when the worker host renews itself with nothing open in the namespace: what work
     * leaves in the Temporal dev server (its Go heap and goroutine stacks, and its front's) does
     * not go back while it runs, and a fresh one starts in a fraction of a second on the same
     * database, so when it has grown past its settled size by FUZZFORGE_TEMPORAL_RENEW_MIB it is
     * stopped (cleanly) and started again before the fresh host connects. A client that calls in
     * between is refused a moment and retries.
     */
    const renewTemporal = async () => {
      const pid = temporal.child?.pid;
      const settled = temporalSettledBytes;
      if (pid === undefined || settled === undefined || state.temporal.pid !== pid) {
        return;
      }
      const now = usage.sample([pid]).get(pid)?.rssBytes ?? 0;
      if (now - settled < temporalRenewBytes) {
        return;
      }
      log(
        `temporal holds ${Math.round(now / 1048576)} MiB, ${Math.round(settled / 1048576)} MiB once settled, and ` +
          `nothing is open: renewing it (FUZZFORGE_TEMPORAL_RENEW_MIB=${temporalRenewBytes / 1048576})`,
      );
      temporal.renewRequested = true;
      // Both ways of stopping it resolve once it has exited.
      await (temporal.stop ?? terminate)(temporal.child, 15_000);
    };
    const minio: ManagedChild = {
      name: 'minio',
      start: () =>
        spawnLogged(
          'minio',
          config.binaries.minio,
          [
            'server',
            dataDir,
            '--address',
            `127.0.0.1:${ports.minio}`,
            '--console-address',
            `127.0.0.1:${ports.minioConsole}`,
            '--quiet',
          ],
          minioEnv(credentials),
        ),
      restarts: 0,
      startedAt: 0,
      onPid: (pid) => {
        state.storage.pid = pid;
      },
    };
    children.push(temporal, minio);
    void launch(temporal);
    void launch(minio);
    log(
      `temporal on ${state.temporal.address} (${isolated ? 'private namespace behind mutual TLS' : `not isolated: ${state.temporal.exposure}`}), minio on ${state.storage.endpoint}`,
    );

    const connection = embeddedConnection(state);

    // Chosen by whoever started us (startEmbedded): finding them loads the toolbox's metadata.
    const verticals = config.verticals ?? [];
    // One worker host for every local vertical (the same program a compose container runs with
    // one): one Node runtime, one connection and one bundle instead of one process per vertical.
    const workerCli = distEntry('worker');
    // Written by the host once its toolbox is loaded (and after each reload): `fuzzforge status`.
    fs.rmSync(toolboxStatusPath(stateDir), { force: true });
    const hostStates: WorkerState[] = verticals.map((vertical) => ({
      vertical,
      restarts: 0,
      status: 'starting',
      log: WORKER_HOST_LOG,
    }));
    state.workers.push(...hostStates);
    let launches = 0;
    let tag = '';
    const host: ManagedChild = {
      name: WORKER_HOST_LOG,
      start: () => {
        // Each launch its own tag: the tools a killed worker leaves running are found by it.
        tag = `${tagPrefix}.${process.pid}.workers.${++launches}`;
        return spawnLogged(
          WORKER_HOST_LOG,
          process.execPath,
          [...nodeMemoryFlags(), workerCli, '--vertical', verticals.join(',')],
          {
            ...process.env,
            ...connectionToEnv(connection),
            FUZZFORGE_TOOLBOX: config.toolboxDir,
            FUZZFORGE_SUPERVISED: '1',
            FUZZFORGE_WORKER_TAG: tag,
            FUZZFORGE_TOOLBOX_STATUS_FILE: toolboxStatusPath(stateDir),
          },
        );
      },
      cleanUp: (pid) => [
        ...killTaggedProcesses(`${tag}`, true).map((p) => `ended tool process ${p} left by worker ${pid}`),
        ...(pid ? removeWorkerLeftovers(cacheRoot, workerCacheName(verticals), pid) : []),
      ],
      renewCodes: [WORKER_RENEW_EXIT_CODE, WORKER_RENEW_QUIET_EXIT_CODE],
      beforeRenew: async (code) => {
        if (code === WORKER_RENEW_QUIET_EXIT_CODE) {
          await renewTemporal();
        }
      },
      restarts: 0,
      startedAt: 0,
      onPid: (pid, renewing) => {
        for (const ws of hostStates) {
          ws.pid = pid;
          ws.status = pid ? 'running' : renewing ? 'starting' : 'restarting';
          ws.restarts = host.restarts;
        }
      },
    };
    if (verticals.length > 0) {
      children.push(host);
      void launch(host);
    }
    // The worker host loads the toolbox while Temporal and MinIO start (it waits for Temporal).
    // Ready means a scan can run now: MinIO and Temporal answer from our own children, the
    // buckets exist, and every worker polls its queue (the host asks Temporal and records it).
    // Checking that needs MinIO's client (and Temporal's, without a host), which this process, up
    // all day, does not load: a short-lived child checks.
    readiness = spawn(process.execPath, [distEntry('cli'), '__await-ready', stateDir], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: process.env,
    });
    // It loads the whole CLI while the worker host loads the toolbox, the longest step of a start:
    // the host goes first on a busy machine.
    try {
      if (readiness.pid) {
        os.setPriority(readiness.pid, 10);
      }
    } catch {
      // Not allowed here: it only runs a little sooner.
    }
    const problem = await childFailure(readiness);
    readiness = undefined;
    if (problem !== undefined) {
      throw new Error(problem);
    }
    state.status = 'ready';
    save();
    log(`ready; workers: ${verticals.join(', ') || 'none'}`);
  } catch (err) {
    state.status = 'failed';
    state.error = (err as Error).message;
    save();
    log(`start-up failed: ${(err as Error).stack ?? String(err)}`);
    stopping = true;
    await Promise.all(children.map((c) => (c.stop ?? terminate)(c.child, 5000)));
    releaseLock(lockPath(stateDir));
    // Leave the failed state for `up` to read; it is replaced by the next start.
    process.exit(1);
  }
}

function listenOnHost(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

function listeningFd(server: net.Server): number {
  const fd = (server as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) {
    throw new Error('this platform does not expose the listening socket to hand to the Temporal front');
  }
  return fd;
}

/**
 * Start the Temporal front and dev server in a private namespace: the host's two ports are
 * opened here, handed down as fds 3 and 4, and closed here (the front keeps them). The child is
 * unshare, whose pid the state records: killing it ends everything in the namespace.
 */
async function startIsolatedTemporal(
  configFile: string,
  ports: { temporal: number; temporalUi: number },
  logFd: number,
): Promise<ChildProcess> {
  try {
    const grpc = await listenOnHost(ports.temporal);
    let ui: net.Server | undefined;
    try {
      // Nothing else runs between listen and close: this process never accepts on them.
      ui = await listenOnHost(ports.temporalUi);
      return spawn(
        'unshare',
        [...UNSHARE_ARGS, process.execPath, ...nodeMemoryFlags(), distEntry('temporalFront'), configFile],
        // The front starts the dev server with this environment.
        { stdio: ['ignore', logFd, logFd, listeningFd(grpc), listeningFd(ui)], env: temporalEnv() },
      );
    } finally {
      grpc.close();
      ui?.close();
    }
  } finally {
    fs.closeSync(logFd);
  }
}

/** unshare ignores SIGTERM: the front gets it (and passes it to Temporal); SIGKILL after the grace. */
function stopIsolatedTemporal(child: ChildProcess | undefined, graceMs: number): Promise<void> {
  const front = child?.pid ? firstChildPid(child.pid) : undefined;
  if (front) {
    try {
      process.kill(front, 'SIGTERM');
    } catch {
      // Already gone.
    }
  }
  return terminate(child, graceMs);
}

/** Marks a start-up that failed because another process holds a port picked for this one. */
export const PORT_TAKEN = 'is taken by another process';

/**
 * Called once a server answers on `port`: is it our child `pid`? Throws when our child does not
 * listen there, i.e. another process holds the port (its server answered). True where /proc
 * cannot tell; false before the child is spawned.
 */
export function ownListener(what: string, pid: number | undefined, port: number): boolean {
  if (pid === undefined) {
    return false;
  }
  if (pidListensOn(pid, port) === false) {
    throw new Error(`port ${port} picked for ${what} ${PORT_TAKEN}; its server answered instead of ours`);
  }
  return true;
}

/** Wait for a child to exit: undefined when it succeeded, else what it wrote on stderr. */
function childFailure(child: ChildProcess): Promise<string | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    child.stderr?.on('data', (d: Buffer) => chunks.push(d));
    child.once('error', (err) => resolve(err.message));
    child.once('close', (code, signal) => {
      const text = Buffer.concat(chunks).toString('utf8').trim();
      resolve(code === 0 ? undefined : text || `the readiness check ended with ${signal ?? `exit code ${code}`}`);
    });
  });
}

export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  everyMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) {
      return;
    }
    await sleep(everyMs);
  }
  throw new Error(`${what} did not become healthy within ${timeoutMs / 1000} s`);
}

/** SIGTERM, then SIGKILL after a grace period; resolves when the child has exited. */
export function terminate(child: ChildProcess | undefined, graceMs: number): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null || !child.pid) {
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
