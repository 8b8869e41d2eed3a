import { spawn, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { Connection } from '@temporalio/client';
import { sleep } from '../concurrency';
import { explainFullDisk, UserError } from '../errors';
import { distEntry, toolboxDir as defaultToolboxDir } from '../paths';
import { DEFAULT_RETENTION, ObjectStore, type Retention } from '../storage/objectStore';
import { availableVerticals } from '../toolbox/verticals';
import { taskQueueFor } from '../../toolbox/shared/definitions';
import { ensureServiceBinary } from './binaries';
import { DEFAULT_BUCKETS, type BackendConnection, connectionToEnv } from './connection';
import { connectTemporal } from '../temporal/connect';
import {
  chooseIsolation,
  ensureFrontCertificates,
  firstChildPid,
  frontClientTls,
  newUiToken,
  UNSHARE_ARGS,
} from './temporalIsolation';
import type { TemporalFrontConfig } from './temporalFront';
import { canConnect, pickPort, pidListensOn } from './ports';
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
  isPidAlive,
  loadOrCreateCredentials,
  lockHolder,
  ownsPid,
  readState,
  recordProcessTokens,
  releaseLock,
  removeState,
  rotateLogIfLarge,
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

export function defaultEmbeddedOptions(stateDir: string, env: NodeJS.ProcessEnv = process.env): EmbeddedOptions {
  const port = (name: string, fallback: number) => {
    const raw = env[name];
    if (raw === undefined || raw === '') {
      return fallback;
    }
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 0 || value > 65535) {
      throw new UserError(`${name}=${raw} is not a port number`, `set ${name} to 0..65535 (0 = any free port)`);
    }
    return value;
  };
  const days = (name: string, fallback: number) => {
    const raw = env[name];
    const value = raw ? Number(raw) : fallback;
    if (!Number.isInteger(value) || value < 0) {
      throw new UserError(`${name}=${raw} is not a whole number of days`, `set ${name} to 0 (never expire) or more`);
    }
    return value;
  };
  return {
    stateDir,
    ports: {
      temporal: port('FUZZFORGE_TEMPORAL_PORT', DEFAULT_PORTS.temporal),
      temporalUi: port('FUZZFORGE_TEMPORAL_UI_PORT', DEFAULT_PORTS.temporalUi),
      minio: port('FUZZFORGE_MINIO_PORT', DEFAULT_PORTS.minio),
      minioConsole: port('FUZZFORGE_MINIO_CONSOLE_PORT', DEFAULT_PORTS.minioConsole),
    },
    retention: {
      targetsDays: days('FUZZFORGE_TARGETS_RETENTION_DAYS', DEFAULT_RETENTION.targetsDays),
      resultsDays: days('FUZZFORGE_RESULTS_RETENTION_DAYS', DEFAULT_RETENTION.resultsDays),
    },
    toolboxDir: defaultToolboxDir(env),
    // A comma-separated list limits the workers (tests, or a user who wants only some verticals).
    ...(env.FUZZFORGE_VERTICALS ? { verticals: env.FUZZFORGE_VERTICALS.split(',').filter(Boolean) } : {}),
  };
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

function supervisorConfigPath(stateDir: string): string {
  return path.join(stateDir, 'supervisor-config.json');
}

function lockPath(stateDir: string): string {
  return path.join(stateDir, 'supervisor.lock');
}

function supervisorLogPath(stateDir: string): string {
  return path.join(stateDir, 'logs', 'supervisor.log');
}

/**
 * A running embedded backend, or undefined when none is. A state file whose supervisor pid is gone,
 * or now belongs to another process (a reboot, pid reuse), is stale and ignored.
 */
export function runningEmbedded(stateDir: string): BackendState | undefined {
  const state = readState(stateDir);
  if (!state || !ownsPid(state, state.supervisorPid)) {
    return undefined;
  }
  return state;
}

/** Prefix of the worker tags of one state folder: every tool a worker of it starts inherits it. */
function workerTagPrefix(stateDir: string): string {
  return `ff-${crypto.createHash('sha256').update(path.resolve(stateDir)).digest('hex').slice(0, 16)}`;
}

export interface StartResult {
  state: BackendState;
  attached: boolean;
}

/**
 * Start the embedded backend (Temporal dev server, MinIO, one worker per available vertical) under
 * a detached supervisor, or attach to the one already running for this state folder.
 */
export async function startEmbedded(
  options: EmbeddedOptions,
  onProgress: (line: string) => void = () => undefined,
  timeoutMs = 180_000,
  attempt = 1,
): Promise<StartResult> {
  const existing = runningEmbedded(options.stateDir);
  if (existing?.status === 'ready') {
    return { state: existing, attached: true };
  }
  const temporalBin = await ensureServiceBinary('temporal', onProgress);
  const minioBin = await ensureServiceBinary('minio', onProgress);
  // Supervisors this call may attach to: the one it starts, or whichever one holds the lock (when
  // several `up` start at once, only one supervisor gets the lock and the others exit).
  const candidates = new Set<number>();
  let spawned: number | undefined;
  if (existing) {
    candidates.add(existing.supervisorPid);
    onProgress('another process is starting the backend; waiting for it');
  } else {
    const cli = distEntry('cli');
    if (!fs.existsSync(cli)) {
      throw new UserError(`${cli} is missing`, 'run `npm run build` first');
    }
    let out: number;
    try {
      fs.mkdirSync(options.stateDir, { recursive: true, mode: 0o700 });
      writePrivateJson(supervisorConfigPath(options.stateDir), {
        ...options,
        binaries: { temporal: temporalBin.path, minio: minioBin.path },
      });
      const logsDir = path.join(options.stateDir, 'logs');
      fs.mkdirSync(logsDir, { recursive: true });
      rotateLogIfLarge(supervisorLogPath(options.stateDir), SUPERVISOR_LOG_MAX_BYTES);
      out = fs.openSync(supervisorLogPath(options.stateDir), 'a');
    } catch (err) {
      throw explainFullDisk(err, options.stateDir);
    }
    const child = spawn(process.execPath, [...nodeMemoryFlags(), cli, '__supervise', options.stateDir], {
      detached: true,
      stdio: ['ignore', out, out],
      env: { ...serviceEnv(), FUZZFORGE_STATE_DIR: options.stateDir },
    });
    fs.closeSync(out);
    child.unref();
    spawned = child.pid;
    if (spawned) {
      candidates.add(spawned);
    }
    onProgress('starting Temporal, MinIO and workers');
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const holder = lockHolder(lockPath(options.stateDir));
    if (holder) {
      candidates.add(holder);
    }
    const state = readState(options.stateDir);
    if (state && candidates.has(state.supervisorPid)) {
      if (state.status === 'ready' && ownsPid(state, state.supervisorPid)) {
        return { state, attached: state.supervisorPid !== spawned };
      }
      if (state.status === 'failed') {
        // Another backend took a port between our pick and our bind: pick again, once.
        if (state.error?.includes(PORT_TAKEN) && attempt < 2) {
          onProgress(`${state.error}; starting again on other ports`);
          // The failed supervisor stops its children and exits; start again once it is gone.
          for (let waited = 0; isPidAlive(state.supervisorPid) && waited < 15_000; waited += 200) {
            await sleep(200);
          }
          return startEmbedded(options, onProgress, Math.max(1000, deadline - Date.now()), attempt + 1);
        }
        throw new UserError(
          `the embedded backend failed to start: ${state.error ?? 'unknown error'}`,
          `see ${state.logsDir}`,
        );
      }
    }
    // Keep waiting while any candidate lives (the loser of a lock race exits at once).
    if (![...candidates].some((pid) => isPidAlive(pid)) && !lockHolder(lockPath(options.stateDir))) {
      const log = tailFile(supervisorLogPath(options.stateDir), 20);
      throw new UserError(
        `the embedded backend exited during start-up:\n${log}`,
        `see ${path.join(options.stateDir, 'logs')}`,
      );
    }
    // Reading the state file is cheap; `up` returns within 100 ms of ready.
    await sleep(100);
  }
  throw new UserError(
    `the embedded backend did not become ready within ${Math.round(timeoutMs / 1000)} s`,
    `see the logs in ${path.join(options.stateDir, 'logs')} and run \`fuzzforge down\``,
  );
}

/**
 * Stop the embedded backend of this state folder; true when something was running. Only pids
 * that are still the processes the state file recorded are signalled.
 */
export async function stopEmbedded(stateDir: string, timeoutMs = 30_000): Promise<boolean> {
  const state = readState(stateDir);
  if (!state) {
    return false;
  }
  const running = ownsPid(state, state.supervisorPid);
  if (running) {
    process.kill(state.supervisorPid, 'SIGTERM');
    const deadline = Date.now() + timeoutMs;
    while (ownsPid(state, state.supervisorPid) && Date.now() < deadline) {
      await sleep(100);
    }
    if (ownsPid(state, state.supervisorPid)) {
      process.kill(state.supervisorPid, 'SIGKILL');
    }
  }
  // The supervisor was killed hard or died: end the children it recorded (only those processes)
  // and whatever their workers started.
  const orphans = [state.temporal.pid, state.storage.pid, ...state.workers.map((w) => w.pid)];
  let found = false;
  for (const pid of orphans) {
    if (pid && ownsPid(state, pid)) {
      found = true;
      process.kill(pid, 'SIGKILL');
    }
  }
  killTaggedProcesses(workerTagPrefix(stateDir));
  removeState(stateDir);
  releaseStaleLock(stateDir);
  return running || found;
}

function releaseStaleLock(stateDir: string): void {
  const file = lockPath(stateDir);
  if (fs.existsSync(file) && !lockHolder(file)) {
    // Nobody can take it meanwhile: a supervisor that starts now uses the atomic takeover.
    if (acquireLock(file)) {
      releaseLock(file);
    }
  }
}

export function tailFile(file: string, lines: number): string {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text
      .split('\n')
      .slice(-lines - 1)
      .join('\n')
      .trim();
  } catch {
    return '(no log)';
  }
}

/** Health of the running services, checked live (not just read from the state file). */
export interface HealthReport {
  temporal: boolean;
  storage: boolean;
  workers: WorkerState[];
}

export async function checkHealth(state: BackendState): Promise<HealthReport> {
  const [temporal, storage] = await Promise.all([
    temporalHealthy(embeddedConnection(state).temporal, state.temporal.namespace, 2000),
    storageHealthy(state.storage.endpoint, 2000),
  ]);
  const workers = state.workers.map((w) => (isPidAlive(w.pid) ? w : { ...w, status: 'stopped' as const }));
  return { temporal, storage, workers };
}

/** Does Temporal answer for `namespace`, through the connection's TLS settings? */
export async function temporalHealthy(
  temporal: Pick<BackendConnection['temporal'], 'address' | 'tls' | 'apiKey' | 'plaintext'>,
  namespace: string,
  timeoutMs: number,
): Promise<boolean> {
  const [host, port] = splitHostPort(temporal.address);
  if (!(await canConnect(port, host, timeoutMs))) {
    return false;
  }
  let connection: Connection | undefined;
  try {
    connection = await connectTemporal(temporal, timeoutMs);
    await connection.workflowService.describeNamespace({ namespace });
    return true;
  } catch {
    return false;
  } finally {
    await connection?.close();
  }
}

export async function storageHealthy(endpoint: string, timeoutMs: number): Promise<boolean> {
  try {
    const res = await fetch(new URL('/minio/health/live', endpoint), { signal: AbortSignal.timeout(timeoutMs) });
    return res.ok;
  } catch {
    return false;
  }
}

function splitHostPort(address: string): [string, number] {
  const idx = address.lastIndexOf(':');
  return [address.slice(0, idx), Number(address.slice(idx + 1))];
}

// ---------------------------------------------------------------------------------------------
// The supervisor: a detached process that owns the service children for as long as they run.

interface SupervisorConfig extends EmbeddedOptions {
  binaries: { temporal: string; minio: string };
}

interface ManagedChild {
  name: string;
  start: () => ChildProcess | Promise<ChildProcess>;
  /** How to end it, when SIGTERM to the child is not the way (default: terminate). */
  stop?: (child: ChildProcess | undefined, graceMs: number) => Promise<void>;
  child?: ChildProcess;
  restarts: number;
  startedAt: number;
  onPid: (pid: number | undefined) => void;
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
 * Environment of the backend's long-lived processes, for a backend that stays up all day and goes
 * back to its idle size after work (`npm run bench:footprint` measures it). Each is only a default:
 * a value the user set wins.
 * - MALLOC_ARENA_MAX=2: glibc gives threads that allocate (Node's thread pool hashing and
 *   compressing uploads, the Temporal SDK's core) arenas of their own, up to 8 per core, and pages
 *   freed in them mostly stay; two arenas kept the worker host about 15 MB smaller at idle and
 *   after a full_scan and a campaign.
 */
export function serviceEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...env, MALLOC_ARENA_MAX: env.MALLOC_ARENA_MAX ?? '2' };
}

/**
 * The Temporal dev server's environment: GOGC=50 lets its heap grow to 1.5x what is live before a
 * collection instead of 2x (its live heap is about 40 MB; it kept ~40 MB more after work).
 */
export function temporalEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...env, GOGC: env.GOGC ?? '50' };
}

/** Entry of `fuzzforge __supervise STATE_DIR`: run the embedded stack until SIGTERM. */
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
      managed.onPid(undefined);
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

  const stopAll = async () => {
    stopping = true;
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
      '--log-level',
      'warn',
      ...Object.entries(SEARCH_ATTRIBUTES).flatMap(([k, v]) => ['--search-attribute', `${k}=${v}`]),
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
      },
    };
    const minioEnv = {
      ...process.env,
      MINIO_ROOT_USER: credentials.accessKey,
      MINIO_ROOT_PASSWORD: credentials.secretKey,
      MINIO_UPDATE: 'off',
      MINIO_BROWSER_REDIRECT: 'off',
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
          minioEnv,
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

    const verticals =
      config.verticals ??
      availableVerticals(config.toolboxDir)
        .filter((v) => v.available)
        .map((v) => v.vertical);
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
      restarts: 0,
      startedAt: 0,
      onPid: (pid) => {
        for (const ws of hostStates) {
          ws.pid = pid;
          ws.status = pid ? 'running' : 'restarting';
          ws.restarts = host.restarts;
        }
      },
    };
    if (verticals.length > 0) {
      children.push(host);
      void launch(host);
    }
    // The worker host loads the toolbox while Temporal and MinIO start (it waits for Temporal).
    // Healthy is not enough: the answer must come from our own child. Ports are picked free, but
    // another backend starting at the same moment can take one first; its server would answer.
    await waitFor(
      'MinIO',
      async () =>
        (await storageHealthy(state.storage.endpoint, 1000)) && ownListener('MinIO', state.storage.pid, ports.minio),
      60_000,
    );
    const store = new ObjectStore(connection);
    await retry(() => store.ensureBuckets(config.retention), 20, 500);
    await waitFor(
      'Temporal',
      async () =>
        (await temporalHealthy(connection.temporal, 'default', 2000)) &&
        ownListener('Temporal', state.temporal.pid, ports.temporal),
      90_000,
    );
    // Ready means a scan can run now: every worker has bundled its toolbox and polls its queue.
    await waitForWorkers(connection.temporal, verticals, 120_000);
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
function ownListener(what: string, pid: number | undefined, port: number): boolean {
  if (pid === undefined) {
    return false;
  }
  if (pidListensOn(pid, port) === false) {
    throw new Error(`port ${port} picked for ${what} ${PORT_TAKEN}; its server answered instead of ours`);
  }
  return true;
}

async function waitForWorkers(
  temporal: BackendConnection['temporal'],
  verticals: readonly string[],
  timeoutMs: number,
): Promise<void> {
  if (verticals.length === 0) {
    return;
  }
  const connection = await connectTemporal(temporal);
  try {
    for (const vertical of verticals) {
      await waitFor(
        `the ${vertical} worker`,
        async () => {
          const res = await connection.workflowService.describeTaskQueue({
            namespace: 'default',
            taskQueue: { name: taskQueueFor(vertical) },
            taskQueueType: 1,
          });
          return (res.pollers?.length ?? 0) > 0;
        },
        timeoutMs,
      );
    }
  } finally {
    await connection.close();
  }
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) {
      return;
    }
    await sleep(100);
  }
  throw new Error(`${what} did not become healthy within ${timeoutMs / 1000} s`);
}

async function retry<T>(fn: () => Promise<T>, attempts: number, delayMs: number): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts) {
        throw err;
      }
      await sleep(delayMs);
    }
  }
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
