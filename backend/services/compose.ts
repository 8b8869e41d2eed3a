// The compose-managed backend: Temporal, MinIO and one container per vertical worker, described
// by compose/docker-compose.yml. Lifecycle goes through the compose CLI (v2 `docker compose` or
// v1 `docker-compose`, whichever is installed); everything we read about the running containers
// (health, restarts, CPU and memory, logs, which workers run) comes from the engine through
// dockerode. The stack's ports and project are kept in `compose.json` in the state folder so the
// CLI and the editor attach to it as they attach to the embedded backend.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Writable } from 'node:stream';
import type Docker from 'dockerode';
import type { Connection } from '@temporalio/client';
import { sleep } from '../concurrency';
import { cleanInstallEnv } from '../environment';
import { UserError } from '../errors';
import { projectRoot, toolboxDir as defaultToolboxDir } from '../paths';
import { DEFAULT_RETENTION, type Retention } from '../storage/objectStore';
import { knownVerticals } from '../toolbox/verticals';
import { taskQueueFor } from '../../toolbox/shared/definitions';
import { whichSync } from './binaries';
import { DEFAULT_BUCKETS, type BackendConnection } from './connection';
import { connectTemporal } from '../temporal/connect';
import { DEFAULT_PORTS, type EmbeddedPorts, storageHealthy, temporalHealthy } from './embedded';
import { pickPort } from './ports';
import { loadOrCreateCredentials, writePrivateJson } from './state';

export const COMPOSE_STATE_FILE = 'compose.json';
const VERTICAL_LABEL = 'dev.fuzzforge.vertical';
const PROJECT_LABEL = 'com.docker.compose.project';
const SERVICE_LABEL = 'com.docker.compose.service';

/** What `fuzzforge up --compose` records so every front end can reach the same stack. */
export interface ComposeState {
  version: 1;
  mode: 'compose';
  status: 'starting' | 'ready' | 'failed';
  error?: string;
  project: string;
  composeFile: string;
  dockerHost: string;
  startedAt: string;
  stateDir: string;
  ports: EmbeddedPorts;
  retention: Retention;
  toolboxDir: string;
  /** FUZZFORGE_WORKER_IDLE_MINUTES of the stack's worker containers (0: never stop). */
  idleMinutes: number;
}

export interface ComposeOptions {
  stateDir: string;
  project: string;
  composeFile: string;
  /** Preferred host ports (127.0.0.1 only); a taken port falls back to a free one, 0 means any. */
  ports: EmbeddedPorts;
  retention: Retention;
  toolboxDir: string;
  /** Verticals whose workers start with the stack (others start when work arrives). */
  verticals: string[];
  /** Minutes without work after which a worker container stops (0: never). */
  idleMinutes: number;
  /** Build (or reuse cached) images before starting (default true). */
  buildImages: boolean;
}

/** Compose options from the environment (FUZZFORGE_COMPOSE_*, the same port variables as embedded). */
export function defaultComposeOptions(stateDir: string, env: NodeJS.ProcessEnv = process.env): ComposeOptions {
  const number = (name: string, fallback: number, max: number) => {
    const raw = env[name];
    if (raw === undefined || raw === '') {
      return fallback;
    }
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 0 || value > max) {
      throw new UserError(`${name}=${raw} is not a whole number from 0 to ${max}`, `fix or unset ${name}`);
    }
    return value;
  };
  const verticals = (env.FUZZFORGE_COMPOSE_VERTICALS ?? 'generic')
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
  for (const v of verticals) {
    if (!knownVerticals().includes(v)) {
      throw new UserError(
        `FUZZFORGE_COMPOSE_VERTICALS names an unknown vertical "${v}"`,
        `use a comma-separated list of ${knownVerticals().join(', ')}`,
      );
    }
  }
  const project = env.FUZZFORGE_COMPOSE_PROJECT || 'fuzzforge';
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(project)) {
    throw new UserError(
      `FUZZFORGE_COMPOSE_PROJECT=${project} is not a compose project name`,
      'use lower-case letters, digits, "-" and "_"',
    );
  }
  return {
    stateDir,
    project,
    composeFile: path.resolve(env.FUZZFORGE_COMPOSE_FILE || path.join(projectRoot(), 'compose', 'docker-compose.yml')),
    ports: {
      temporal: number('FUZZFORGE_TEMPORAL_PORT', DEFAULT_PORTS.temporal, 65535),
      temporalUi: number('FUZZFORGE_TEMPORAL_UI_PORT', DEFAULT_PORTS.temporalUi, 65535),
      minio: number('FUZZFORGE_MINIO_PORT', DEFAULT_PORTS.minio, 65535),
      minioConsole: number('FUZZFORGE_MINIO_CONSOLE_PORT', DEFAULT_PORTS.minioConsole, 65535),
    },
    retention: {
      targetsDays: number('FUZZFORGE_TARGETS_RETENTION_DAYS', DEFAULT_RETENTION.targetsDays, 36500),
      resultsDays: number('FUZZFORGE_RESULTS_RETENTION_DAYS', DEFAULT_RETENTION.resultsDays, 36500),
    },
    toolboxDir: defaultToolboxDir(env),
    verticals,
    idleMinutes: number('FUZZFORGE_WORKER_IDLE_MINUTES', 30, 7 * 24 * 60),
    buildImages: env.FUZZFORGE_COMPOSE_BUILD !== '0',
  };
}

export function composeStatePath(stateDir: string): string {
  return path.join(stateDir, COMPOSE_STATE_FILE);
}

export function readComposeState(stateDir: string): ComposeState | undefined {
  try {
    const parsed = JSON.parse(fs.readFileSync(composeStatePath(stateDir), 'utf8')) as ComposeState;
    return parsed.version === 1 && parsed.mode === 'compose' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** The connection a front end or a host-side worker uses to reach a compose stack. */
export function composeConnection(state: ComposeState): BackendConnection {
  const credentials = loadOrCreateCredentials(state.stateDir);
  return {
    mode: 'compose',
    temporal: {
      address: `127.0.0.1:${state.ports.temporal}`,
      namespace: 'default',
      uiUrl: `http://127.0.0.1:${state.ports.temporalUi}`,
    },
    storage: {
      endpoint: `http://127.0.0.1:${state.ports.minio}`,
      accessKey: credentials.accessKey,
      secretKey: credentials.secretKey,
      region: 'us-east-1',
      consoleUrl: `http://127.0.0.1:${state.ports.minioConsole}`,
    },
    buckets: { ...DEFAULT_BUCKETS },
    composeStateDir: state.stateDir,
  };
}

// ---------------------------------------------------------------------------------------------
// The engine and the compose CLI

/** Docker engine address: DOCKER_HOST, the system socket, or the project's own daemon's socket. */
export function dockerHostCandidates(env: NodeJS.ProcessEnv, stateDir: string): string[] {
  const out: string[] = [];
  if (env.DOCKER_HOST) {
    out.push(env.DOCKER_HOST);
  }
  out.push('unix:///var/run/docker.sock', `unix://${path.join(stateDir, 'docker', 'docker.sock')}`);
  return [...new Set(out)];
}

/** A dockerode client for a DOCKER_HOST value (unix:// or tcp://). */
export function dockerClient(host: string): Docker {
  // Loaded on first use, not with this file: `fuzzforge up` and the editor start without it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- see above
  const Engine = require('dockerode') as typeof Docker;
  if (host.startsWith('unix://')) {
    return new Engine({ socketPath: host.slice('unix://'.length) });
  }
  const url = new URL(host.replace(/^tcp:/, 'http:'));
  return new Engine({ host: url.hostname, port: Number(url.port || 2375), protocol: 'http' });
}

async function engineAnswers(host: string): Promise<boolean> {
  if (host.startsWith('unix://') && !fs.existsSync(host.slice('unix://'.length))) {
    return false;
  }
  try {
    await Promise.race([
      dockerClient(host).ping(),
      sleep(5000).then(() => {
        throw new Error('timeout');
      }),
    ]);
    return true;
  } catch {
    return false;
  }
}

/** The first engine that answers, or undefined. */
export async function findDockerEngine(env: NodeJS.ProcessEnv, stateDir: string): Promise<string | undefined> {
  for (const host of dockerHostCandidates(env, stateDir)) {
    if (await engineAnswers(host)) {
      return host;
    }
  }
  return undefined;
}

export interface ComposeCli {
  command: string;
  /** Arguments before the compose sub-command (`compose` for v2). */
  prefix: string[];
  version: string;
}

function capture(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.on('error', () => resolve({ code: 127, out }));
    child.on('close', (code) => resolve({ code: code ?? 1, out }));
  });
}

/** `docker compose` (v2) when the plugin is there, else `docker-compose` (v1); a clear error when neither is. */
export async function findComposeCli(env: NodeJS.ProcessEnv = process.env): Promise<ComposeCli> {
  const docker = whichSync('docker', env);
  if (docker) {
    const v2 = await capture(docker, ['compose', 'version', '--short'], env);
    if (v2.code === 0 && /^v?\d/.test(v2.out.trim())) {
      return { command: docker, prefix: ['compose'], version: v2.out.trim() };
    }
  }
  const v1 = whichSync('docker-compose', env);
  if (v1) {
    const res = await capture(v1, ['version', '--short'], env);
    if (res.code === 0) {
      return { command: v1, prefix: [], version: res.out.trim() };
    }
  }
  throw new UserError(
    'neither `docker compose` (Compose v2) nor `docker-compose` (v1) is installed',
    'install one (Debian: apt-get install docker-compose; or Docker’s compose plugin), or run `bash backend/scripts/docker-engine.sh start`, which installs it',
  );
}

/** Runs compose commands against one project and file with the stack's settings in the environment. */
export class ComposeProject {
  constructor(
    readonly cli: ComposeCli,
    readonly state: ComposeState,
  ) {}

  /** Variables the compose file reads: ports, credentials, toolbox folder. */
  env(): NodeJS.ProcessEnv {
    const credentials = loadOrCreateCredentials(this.state.stateDir);
    return {
      ...cleanInstallEnv(process.env),
      DOCKER_HOST: this.state.dockerHost,
      COMPOSE_PROJECT_NAME: this.state.project,
      FUZZFORGE_TEMPORAL_PORT: String(this.state.ports.temporal),
      FUZZFORGE_TEMPORAL_UI_PORT: String(this.state.ports.temporalUi),
      FUZZFORGE_MINIO_PORT: String(this.state.ports.minio),
      FUZZFORGE_MINIO_CONSOLE_PORT: String(this.state.ports.minioConsole),
      FUZZFORGE_S3_ACCESS_KEY: credentials.accessKey,
      FUZZFORGE_S3_SECRET_KEY: credentials.secretKey,
      FUZZFORGE_TARGETS_RETENTION_DAYS: String(this.state.retention.targetsDays),
      FUZZFORGE_RESULTS_RETENTION_DAYS: String(this.state.retention.resultsDays),
      FUZZFORGE_TOOLBOX_DIR: this.state.toolboxDir,
      FUZZFORGE_WORKER_IDLE_MINUTES: String(this.state.idleMinutes ?? 30),
    };
  }

  /** Run `compose -p P -f F [--profile X]... ARGS`; throws with the tail of its output on failure. */
  async run(args: string[], options: { profiles?: string[]; onLine?: (line: string) => void } = {}): Promise<string> {
    const full = [
      ...this.cli.prefix,
      '-p',
      this.state.project,
      '-f',
      this.state.composeFile,
      ...(options.profiles ?? []).flatMap((p) => ['--profile', p]),
      ...args,
    ];
    return new Promise((resolve, reject) => {
      const child = spawn(this.cli.command, full, { env: this.env(), stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      const onData = (chunk: Buffer) => {
        const text = chunk.toString('utf8');
        out += text;
        if (out.length > 1_000_000) {
          out = out.slice(-500_000);
        }
        for (const line of text.split(/\r?\n/)) {
          if (line.trim()) {
            options.onLine?.(line);
          }
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.on('error', reject);
      child.on('close', (code) => {
        if (code === 0) {
          resolve(out);
        } else {
          const tail = out.trim().split('\n').slice(-15).join('\n');
          reject(
            new UserError(
              `${path.basename(this.cli.command)} ${this.cli.prefix.concat(args).join(' ')} failed (exit ${code}):\n${tail}`,
              `see \`fuzzforge logs SERVICE\` and ${this.state.composeFile}`,
            ),
          );
        }
      });
    });
  }

  docker(): Docker {
    return dockerClient(this.state.dockerHost);
  }

  /** The project's containers (running or not), newest first. */
  async containers(all = true): Promise<Docker.ContainerInfo[]> {
    return stackContainers(this.state, all);
  }
}

/** The stack's containers (running or not), read from the engine: no compose CLI involved. */
export function stackContainers(state: ComposeState, all = true): Promise<Docker.ContainerInfo[]> {
  return dockerClient(state.dockerHost).listContainers({
    all,
    filters: { label: [`${PROJECT_LABEL}=${state.project}`] },
  });
}

export function workerService(vertical: string): string {
  return `worker-${vertical}`;
}

// ---------------------------------------------------------------------------------------------
// Lifecycle

/** A compose stack recorded in this state folder whose containers are up, or undefined. */
export function runningCompose(stateDir: string): ComposeState | undefined {
  const state = readComposeState(stateDir);
  return state?.status === 'ready' ? state : undefined;
}

function runScript(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  onProgress: (line: string) => void,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [path.join(projectRoot(), 'backend', 'scripts', script), ...args], {
      env: cleanInstallEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    const tail: string[] = [];
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => {
      for (const line of c.toString('utf8').split('\n')) {
        if (line.trim()) {
          onProgress(line);
          tail.push(line);
          if (tail.length > 15) {
            tail.shift();
          }
        }
      }
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(stdout)
        : reject(new UserError(`${script} ${args.join(' ')} failed (exit ${code}):\n${tail.join('\n')}`, 'see above')),
    );
  });
}

/** An engine that answers: an existing one, else the project's own dockerd (started as root). */
export async function ensureDockerEngine(
  stateDir: string,
  onProgress: (line: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  const found = await findDockerEngine(env, stateDir);
  if (found) {
    return found;
  }
  if (process.getuid?.() !== 0) {
    throw new UserError(
      'no Docker engine answers (DOCKER_HOST, /var/run/docker.sock)',
      'start Docker, or set DOCKER_HOST; as root, `bash backend/scripts/docker-engine.sh start` starts a private one',
    );
  }
  onProgress('no Docker engine answers; starting the project’s own dockerd');
  await runScript('docker-engine.sh', ['start'], { ...env, FUZZFORGE_STATE_DIR: stateDir }, onProgress);
  const started = await findDockerEngine(env, stateDir);
  if (!started) {
    throw new UserError('dockerd started but does not answer', `see ${path.join(stateDir, 'docker', 'dockerd.log')}`);
  }
  return started;
}

/** Build (or find cached) the images the given verticals need. */
export async function ensureImages(
  verticals: readonly string[],
  dockerHost: string,
  onProgress: (line: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  await runScript(
    'docker-images.sh',
    ['--verticals', verticals.join(',')],
    { ...env, DOCKER_HOST: dockerHost },
    onProgress,
  );
}

export interface ComposeStartResult {
  state: ComposeState;
  attached: boolean;
}

/**
 * Start the compose stack (Temporal + UI, MinIO + bucket set-up, the workers of `verticals`), or
 * attach to the one this state folder records. Ready means healthy containers and polling workers.
 */
export async function startCompose(
  options: ComposeOptions,
  onProgress: (line: string) => void = () => undefined,
  timeoutMs = 300_000,
): Promise<ComposeStartResult> {
  const existing = runningCompose(options.stateDir);
  const cli = await findComposeCli();
  if (existing) {
    const project = new ComposeProject(cli, existing);
    if (await stackHealthy(project)) {
      for (const vertical of options.verticals) {
        await ensureComposeWorker(existing, vertical, onProgress);
      }
      return { state: existing, attached: true };
    }
  }
  fs.mkdirSync(options.stateDir, { recursive: true, mode: 0o700 });
  const dockerHost = await ensureDockerEngine(options.stateDir, onProgress);
  if (options.buildImages) {
    onProgress(
      `building images (cached after the first time): base, temporal, minio, runtime, ${options.verticals.join(', ')}`,
    );
    await ensureImages(options.verticals, dockerHost, onProgress);
  }
  const taken = new Set<number>();
  const previous = readComposeState(options.stateDir);
  // Keep the ports of a stack that is only being restarted, so clients keep their addresses.
  const want = previous && previous.project === options.project ? previous.ports : options.ports;
  const ports: EmbeddedPorts = {
    temporal: (await pickPort(want.temporal, taken)).port,
    temporalUi: (await pickPort(want.temporalUi, taken)).port,
    minio: (await pickPort(want.minio, taken)).port,
    minioConsole: (await pickPort(want.minioConsole, taken)).port,
  };
  const state: ComposeState = {
    version: 1,
    mode: 'compose',
    status: 'starting',
    project: options.project,
    composeFile: options.composeFile,
    dockerHost,
    startedAt: new Date().toISOString(),
    stateDir: options.stateDir,
    ports,
    retention: options.retention,
    toolboxDir: options.toolboxDir,
    idleMinutes: options.idleMinutes,
  };
  if (!fs.existsSync(options.composeFile)) {
    throw new UserError(`${options.composeFile} does not exist`, 'set FUZZFORGE_COMPOSE_FILE or reinstall FuzzForge');
  }
  writePrivateJson(composeStatePath(options.stateDir), state);
  const project = new ComposeProject(cli, state);
  const deadline = Date.now() + timeoutMs;
  try {
    onProgress(`starting Temporal and MinIO (${path.basename(cli.command)} ${cli.prefix.join(' ')} ${cli.version})`);
    await project.run(['up', '-d', '--no-build', 'temporal', 'minio', 'minio-setup'], {
      onLine: (line) => onProgress(`  ${line}`),
    });
    await waitUntil('Temporal', () => temporalHealthy({ address: `127.0.0.1:${ports.temporal}` }, 'default', 2000), deadline);
    await waitUntil('MinIO', () => storageHealthy(`http://127.0.0.1:${ports.minio}`, 2000), deadline);
    await waitForSetup(project, deadline);
    state.status = 'ready';
    writePrivateJson(composeStatePath(options.stateDir), state);
    for (const vertical of options.verticals) {
      await ensureComposeWorker(state, vertical, onProgress, Math.max(10_000, deadline - Date.now()));
    }
    return { state, attached: false };
  } catch (err) {
    state.status = 'failed';
    state.error = (err as Error).message;
    writePrivateJson(composeStatePath(options.stateDir), state);
    throw err;
  }
}

/** Temporal and MinIO answer on the recorded ports. */
async function stackHealthy(project: ComposeProject): Promise<boolean> {
  const { ports } = project.state;
  const [temporal, storage] = await Promise.all([
    temporalHealthy({ address: `127.0.0.1:${ports.temporal}` }, 'default', 2000),
    storageHealthy(`http://127.0.0.1:${ports.minio}`, 2000),
  ]);
  return temporal && storage;
}

/** The one-shot bucket set-up must finish with exit 0; its log is the error otherwise. */
async function waitForSetup(project: ComposeProject, deadline: number): Promise<void> {
  for (;;) {
    const setup = (await project.containers()).find((c) => c.Labels[SERVICE_LABEL] === 'minio-setup');
    if (setup?.State === 'exited') {
      const info = await project.docker().getContainer(setup.Id).inspect();
      if (info.State.ExitCode === 0) {
        return;
      }
      const log = await containerLogTail(project.docker(), setup.Id, 20);
      throw new UserError(`the bucket set-up (minio-setup) failed (exit ${info.State.ExitCode}):\n${log}`, 'see above');
    }
    if (Date.now() > deadline) {
      throw new UserError('the bucket set-up (minio-setup) did not finish in time', '`fuzzforge logs minio-setup`');
    }
    await sleep(500);
  }
}

async function waitUntil(what: string, check: () => Promise<boolean>, deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    if (await check()) {
      return;
    }
    await sleep(500);
  }
  throw new UserError(`${what} did not become healthy in time`, `\`fuzzforge logs ${what.toLowerCase()}\``);
}

/** Stop the stack; `volumes` also deletes its data (Temporal history, MinIO objects, worker caches). */
export async function stopCompose(stateDir: string, volumes = false): Promise<boolean> {
  const state = readComposeState(stateDir);
  if (!state) {
    return false;
  }
  const cli = await findComposeCli();
  const project = new ComposeProject(cli, state);
  await project.run(['down', '--remove-orphans', ...(volumes ? ['--volumes'] : [])], { profiles: ['all'] });
  fs.rmSync(composeStatePath(stateDir), { force: true });
  return true;
}

// ---------------------------------------------------------------------------------------------
// Workers

async function withTemporal<T>(state: ComposeState, fn: (c: Connection) => Promise<T>): Promise<T> {
  const connection = await connectTemporal({ address: `127.0.0.1:${state.ports.temporal}` }, 5000);
  try {
    return await fn(connection);
  } finally {
    await connection.close();
  }
}

/** Pollers Temporal saw on the vertical's queue recently, by identity. */
export async function queuePollers(state: ComposeState, vertical: string): Promise<string[]> {
  return withTemporal(state, async (connection) => {
    const res = await connection.workflowService.describeTaskQueue({
      namespace: 'default',
      taskQueue: { name: taskQueueFor(vertical) },
      taskQueueType: 1,
    });
    return (res.pollers ?? []).map((p) => p.identity ?? '?');
  });
}

/** Running worker containers of one vertical. */
export async function runningWorkers(
  stack: { state: ComposeState },
  vertical: string,
): Promise<Docker.ContainerInfo[]> {
  return (await stackContainers(stack.state, false)).filter((c) => c.Labels[VERTICAL_LABEL] === vertical);
}

/**
 * Make sure at least one worker of the vertical runs and polls: a stopped vertical (never started,
 * or stopped after being idle) is started and waited for, with a clear message when it does not come.
 */
export async function ensureComposeWorker(
  state: ComposeState,
  vertical: string,
  onProgress: (line: string) => void = () => undefined,
  timeoutMs = 180_000,
): Promise<void> {
  // Every scan in compose mode passes here: the engine is asked first, and the compose CLI (a
  // process start) only runs when a worker has to be started.
  const running = await runningWorkers({ state }, vertical);
  if (running.length === 0) {
    onProgress(`starting the ${vertical} worker container`);
    const project = new ComposeProject(await findComposeCli(), state);
    await project.run(['up', '-d', '--no-build', '--no-recreate', workerService(vertical)], {
      profiles: [vertical],
    });
  }
  const deadline = Date.now() + timeoutMs;
  const ids = new Set((await runningWorkers({ state }, vertical)).map((c) => c.Id.slice(0, 12)));
  while (Date.now() < deadline) {
    const pollers = await queuePollers(state, vertical).catch(() => [] as string[]);
    // Worker identities carry the container's host name (its short id), so a stale poller of a
    // removed container does not count.
    if (pollers.some((p) => [...ids].some((id) => p.includes(id)))) {
      return;
    }
    const now = await runningWorkers({ state }, vertical);
    if (now.length === 0) {
      const all = (await stackContainers(state)).filter((c) => c.Labels[VERTICAL_LABEL] === vertical);
      const log = all[0] ? await containerLogTail(dockerClient(state.dockerHost), all[0].Id, 20) : '(no container)';
      throw new UserError(
        `the ${vertical} worker container exited during start-up:\n${log}`,
        `fuzzforge logs ${workerService(vertical)}`,
      );
    }
    for (const c of now) {
      ids.add(c.Id.slice(0, 12));
    }
    await sleep(1000);
  }
  throw new UserError(
    `the ${vertical} worker did not start polling within ${Math.round(timeoutMs / 1000)} s`,
    `see \`fuzzforge logs ${workerService(vertical)}\``,
  );
}

/** Stop every worker container of a vertical (the next run for it starts one again). */
export async function stopComposeWorkers(state: ComposeState, vertical: string): Promise<void> {
  const project = new ComposeProject(await findComposeCli(), state);
  await project.run(['stop', workerService(vertical)], { profiles: [vertical] });
}

/** Run exactly `count` workers of a vertical (Temporal spreads the queue's work over them). */
export async function scaleComposeWorkers(
  state: ComposeState,
  vertical: string,
  count: number,
  onProgress: (line: string) => void = () => undefined,
): Promise<void> {
  if (!Number.isInteger(count) || count < 0 || count > 64) {
    throw new UserError(`cannot scale ${vertical} to ${count}`, 'use a whole number from 0 to 64');
  }
  const cli = await findComposeCli();
  const project = new ComposeProject(cli, state);
  onProgress(`scaling ${workerService(vertical)} to ${count}`);
  await project.run(
    [
      'up',
      '-d',
      '--no-build',
      '--no-recreate',
      '--scale',
      `${workerService(vertical)}=${count}`,
      workerService(vertical),
    ],
    {
      profiles: [vertical],
    },
  );
  if (count > 0) {
    await ensureComposeWorker(state, vertical, onProgress);
  }
}

// ---------------------------------------------------------------------------------------------
// Status and logs (dockerode)

export interface ContainerReport {
  service: string;
  name: string;
  id: string;
  vertical?: string;
  state: string;
  health?: string;
  restarts: number;
  cpuPercent?: number;
  memoryBytes?: number;
  memoryLimitBytes?: number;
}

/** Every container of the stack with its health, restarts, CPU and memory. */
export async function composeContainers(state: ComposeState, withStats = true): Promise<ContainerReport[]> {
  const docker = dockerClient(state.dockerHost);
  const list = await docker.listContainers({ all: true, filters: { label: [`${PROJECT_LABEL}=${state.project}`] } });
  const reports = await Promise.all(
    list.map(async (c): Promise<ContainerReport> => {
      const container = docker.getContainer(c.Id);
      const info = await container.inspect();
      const report: ContainerReport = {
        service: c.Labels[SERVICE_LABEL] ?? '?',
        name: (c.Names[0] ?? c.Id).replace(/^\//, ''),
        id: c.Id.slice(0, 12),
        ...(c.Labels[VERTICAL_LABEL] ? { vertical: c.Labels[VERTICAL_LABEL] } : {}),
        state: c.State,
        ...(info.State.Health?.Status ? { health: info.State.Health.Status } : {}),
        restarts: info.RestartCount ?? 0,
      };
      if (withStats && c.State === 'running') {
        const stats = await container.stats({ stream: false });
        Object.assign(report, containerUsage(stats));
      }
      return report;
    }),
  );
  return reports.sort((a, b) => a.service.localeCompare(b.service) || a.name.localeCompare(b.name));
}

/** CPU (percent of one core, summed over cores) and memory (without page cache) from one stats sample. */
export function containerUsage(
  stats: Docker.ContainerStats,
): Pick<ContainerReport, 'cpuPercent' | 'memoryBytes' | 'memoryLimitBytes'> {
  const cpuDelta = stats.cpu_stats.cpu_usage.total_usage - (stats.precpu_stats.cpu_usage?.total_usage ?? 0);
  const systemDelta = (stats.cpu_stats.system_cpu_usage ?? 0) - (stats.precpu_stats.system_cpu_usage ?? 0);
  const cpus = stats.cpu_stats.online_cpus ?? stats.cpu_stats.cpu_usage.percpu_usage?.length ?? 1;
  const cpuPercent = systemDelta > 0 && cpuDelta >= 0 ? (cpuDelta / systemDelta) * cpus * 100 : 0;
  const memStats = stats.memory_stats.stats as Record<string, number> | undefined;
  const cache = memStats?.inactive_file ?? memStats?.total_inactive_file ?? memStats?.cache ?? 0;
  return {
    cpuPercent: Math.round(cpuPercent * 10) / 10,
    memoryBytes: Math.max(0, (stats.memory_stats.usage ?? 0) - cache),
    ...(stats.memory_stats.limit ? { memoryLimitBytes: stats.memory_stats.limit } : {}),
  };
}

async function containerLogTail(docker: Docker, id: string, lines: number): Promise<string> {
  try {
    const buf = await docker.getContainer(id).logs({ stdout: true, stderr: true, tail: lines });
    return demuxBuffer(buf).trim() || '(no output)';
  } catch (err) {
    return `(no log: ${(err as Error).message})`;
  }
}

/** The text of a non-TTY container log: 8-byte frame headers stripped. */
export function demuxBuffer(buf: Buffer): string {
  const parts: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length && (buf[i] === 1 || buf[i] === 2 || buf[i] === 0) && buf[i + 1] === 0) {
    const size = buf.readUInt32BE(i + 4);
    parts.push(buf.subarray(i + 8, i + 8 + size));
    i += 8 + size;
  }
  return i === 0 ? buf.toString('utf8') : Buffer.concat(parts).toString('utf8');
}

/**
 * Write the logs of a service's containers (all of a scaled worker) to `out`; with `follow`, keep
 * streaming until the containers stop or `signal` aborts.
 */
export async function composeLogs(
  state: ComposeState,
  service: string,
  options: { follow: boolean; tail: number; out: Writable; signal?: AbortSignal },
): Promise<void> {
  const docker = dockerClient(state.dockerHost);
  const containers = (
    await docker.listContainers({ all: true, filters: { label: [`${PROJECT_LABEL}=${state.project}`] } })
  ).filter((c) => c.Labels[SERVICE_LABEL] === service);
  if (containers.length === 0) {
    const services = [
      ...new Set(
        (await docker.listContainers({ all: true, filters: { label: [`${PROJECT_LABEL}=${state.project}`] } })).map(
          (c) => c.Labels[SERVICE_LABEL],
        ),
      ),
    ];
    throw new UserError(`no container of service "${service}"`, `services: ${services.join(', ') || '(none running)'}`);
  }
  const prefix = containers.length > 1;
  await Promise.all(
    containers.map(async (c) => {
      const container = docker.getContainer(c.Id);
      const label = prefix ? `${(c.Names[0] ?? c.Id).replace(/^\//, '')} | ` : '';
      if (!options.follow) {
        const buf = await container.logs({ stdout: true, stderr: true, tail: options.tail });
        for (const line of demuxBuffer(buf).split('\n')) {
          if (line) {
            options.out.write(`${label}${line}\n`);
          }
        }
        return;
      }
      const stream = await container.logs({ stdout: true, stderr: true, tail: options.tail, follow: true });
      await new Promise<void>((resolve) => {
        let pending = '';
        const sink = {
          write: (chunk: Buffer) => {
            pending += chunk.toString('utf8');
            const lines = pending.split('\n');
            pending = lines.pop() ?? '';
            for (const line of lines) {
              options.out.write(`${label}${line}\n`);
            }
            return true;
          },
        } as unknown as Writable;
        docker.modem.demuxStream(stream, sink, sink);
        stream.on('end', () => resolve());
        stream.on('error', () => resolve());
        options.signal?.addEventListener('abort', () => {
          (stream as unknown as { destroy?: () => void }).destroy?.();
          resolve();
        });
      });
    }),
  );
}
