// Starting, attaching to, checking and stopping the embedded backend: Temporal's dev server, MinIO
// and one worker host, run by a detached supervisor (backend/services/supervisor.ts) per state
// folder. Used by the CLI and the extension.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import type { Connection } from '@temporalio/client';
import { sleep } from '../concurrency';
import { explainFullDisk, UserError } from '../errors';
import { distEntry, toolboxDir as defaultToolboxDir } from '../paths';
import { DEFAULT_RETENTION, ObjectStore } from '../storage/objectStore';
import { availableVerticals } from '../toolbox/verticals';
import { ensureServiceBinary } from './binaries';
import type { BackendConnection } from './connection';
import { connectTemporal } from '../temporal/connect';
import { canConnect } from './ports';
import { killTaggedProcesses } from './leftovers';
import {
  acquireLock,
  type BackendState,
  isPidAlive,
  lockHolder,
  ownsPid,
  readState,
  readToolboxStatus,
  releaseLock,
  removeState,
  rotateLogIfLarge,
  WORKER_HOST_LOG,
  type WorkerState,
  writePrivateJson,
} from './state';
import {
  DEFAULT_PORTS,
  type EmbeddedOptions,
  embeddedConnection,
  lockPath,
  nodeMemoryFlags,
  ownListener,
  PORT_TAKEN,
  serviceEnv,
  SUPERVISOR_LOG_MAX_BYTES,
  type SupervisorConfig,
  supervisorConfigPath,
  supervisorLogPath,
  waitFor,
  workerTagPrefix,
} from './supervisor';

export {
  DEFAULT_PORTS,
  type EmbeddedOptions,
  type EmbeddedPorts,
  embeddedConnection,
  nodeMemoryFlags,
  PORT_TAKEN,
  SEARCH_ATTRIBUTES,
  serviceEnv,
  SUPERVISOR_LOG_MAX_BYTES,
  temporalEnv,
  terminate,
} from './supervisor';

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
    const supervisor = distEntry('supervisor');
    if (!fs.existsSync(supervisor)) {
      throw new UserError(`${supervisor} is missing`, 'run `npm run build` first');
    }
    let out: number;
    try {
      fs.mkdirSync(options.stateDir, { recursive: true, mode: 0o700 });
      const config: SupervisorConfig = {
        ...options,
        // Found here, not in the supervisor: it would load the toolbox's metadata for good.
        verticals:
          options.verticals ??
          availableVerticals(options.toolboxDir)
            .filter((v) => v.available)
            .map((v) => v.vertical),
        binaries: { temporal: temporalBin.path, minio: minioBin.path },
      };
      writePrivateJson(supervisorConfigPath(options.stateDir), config);
      const logsDir = path.join(options.stateDir, 'logs');
      fs.mkdirSync(logsDir, { recursive: true });
      rotateLogIfLarge(supervisorLogPath(options.stateDir), SUPERVISOR_LOG_MAX_BYTES);
      out = fs.openSync(supervisorLogPath(options.stateDir), 'a');
    } catch (err) {
      throw explainFullDisk(err, options.stateDir);
    }
    const child = spawn(process.execPath, [...nodeMemoryFlags(), supervisor, options.stateDir], {
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
    // Reading the state file is cheap; `up` returns within 25 ms of ready.
    await sleep(25);
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

/**
 * `fuzzforge __await-ready STATE_DIR`, run by the supervisor while it starts: returns once the
 * backend can run a scan, throws with the reason otherwise. Healthy is not enough: the answer must
 * come from the supervisor's own children. Ports are picked free, but another backend starting at
 * the same moment can take one first; its server would answer.
 */
export async function awaitReady(stateDir: string): Promise<void> {
  const config = JSON.parse(fs.readFileSync(supervisorConfigPath(stateDir), 'utf8')) as SupervisorConfig;
  const current = () => {
    const state = readState(stateDir);
    if (!state) {
      throw new Error(`${path.join(stateDir, 'state.json')} is gone`);
    }
    return state;
  };
  const state = current();
  const connection = embeddedConnection(state);
  const minioPort = Number(new URL(state.storage.endpoint).port);
  const temporalPort = splitHostPort(state.temporal.address)[1];
  await waitFor(
    'MinIO',
    async () =>
      (await storageHealthy(state.storage.endpoint, 1000)) && ownListener('MinIO', current().storage.pid, minioPort),
    60_000,
  );
  const store = new ObjectStore(connection);
  await retry(() => store.ensureBuckets(config.retention), 20, 500);
  const verticals = config.verticals ?? [];
  if (verticals.length === 0) {
    await waitFor(
      'Temporal',
      async () =>
        (await temporalHealthy(connection.temporal, 'default', 2000)) &&
        ownListener('Temporal', current().temporal.pid, temporalPort),
      90_000,
    );
    return;
  }
  // Every worker has loaded its toolbox and Temporal lists it polling its queue: the worker host
  // asks over its own connection and records the answer (this process then loads no Temporal
  // client, the slowest part of a check made while everything else starts). An answer proves a
  // server on Temporal's port; it must be ours.
  await waitFor(
    `the ${verticals.join(', ')} worker(s) (see ${path.join(state.logsDir, `${WORKER_HOST_LOG}.log`)})`,
    () => {
      const hostPid = current().workers[0]?.pid;
      const status = hostPid ? readToolboxStatus(stateDir) : undefined;
      const listed = status?.pid === hostPid ? new Set(status?.polling ?? []) : new Set<string>();
      return Promise.resolve(
        verticals.every((v) => listed.has(v)) && ownListener('Temporal', current().temporal.pid, temporalPort),
      );
    },
    120_000,
    25,
  );
}
