// CLI commands about the services themselves, whichever mode runs them: the compose stack's
// up/down/status parts, `fuzzforge logs SERVICE` and `fuzzforge workers`.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors';
import { stateDir } from '../paths';
import {
  composeContainers,
  composeLogs,
  type ComposeState,
  type ContainerReport,
  defaultComposeOptions,
  ensureComposeWorker,
  queuePollers,
  readComposeState,
  runningCompose,
  scaleComposeWorkers,
  startCompose,
  stopCompose,
  stopComposeWorkers,
} from '../services/compose';
import { runningEmbedded } from '../services/embedded';
import { workerLogName } from '../services/state';
import { formatBytes } from '../storage/pack';
import { knownVerticals } from '../toolbox/verticals';
import { formatDuration, table } from './format';

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

/** `fuzzforge up --compose`: build/find the images, start the stack and the requested workers. */
export async function upCompose(
  values: { vertical?: string[]; 'no-build'?: boolean; json?: boolean },
  io: Io,
): Promise<number> {
  const options = defaultComposeOptions(stateDir());
  if (values.vertical && values.vertical.length > 0) {
    options.verticals = values.vertical.flatMap((v) => v.split(',')).filter(Boolean);
    const unknown = options.verticals.filter((v) => !knownVerticals().includes(v));
    if (unknown.length > 0) {
      throw new UserError(`unknown vertical ${unknown.join(', ')}`, `use one of ${knownVerticals().join(', ')}`);
    }
  }
  if (values['no-build']) {
    options.buildImages = false;
  }
  const started = Date.now();
  const { state, attached } = await startCompose(options, (line) => io.err(line));
  if (values.json) {
    io.out(JSON.stringify({ attached, ...state }, null, 2));
    return 0;
  }
  io.out(
    attached ? 'compose backend already running' : `compose backend ready in ${formatDuration(Date.now() - started)}`,
  );
  io.out(`  Temporal     127.0.0.1:${state.ports.temporal}   UI http://127.0.0.1:${state.ports.temporalUi}`);
  io.out(`  MinIO        http://127.0.0.1:${state.ports.minio}   console http://127.0.0.1:${state.ports.minioConsole}`);
  io.out(`  workers      ${options.verticals.join(', ') || '(none)'} (others start when work arrives)`);
  io.out(`  project      ${state.project} (${state.composeFile}) on ${state.dockerHost}`);
  return 0;
}

/** `fuzzforge down` for the compose stack; true when one was recorded. */
export async function downCompose(volumes: boolean, io: Io): Promise<boolean> {
  const stopped = await stopCompose(stateDir(), volumes);
  if (stopped) {
    io.out(
      `compose backend stopped${volumes ? ' and its volumes deleted' : ' (volumes kept; --volumes deletes them)'}`,
    );
  }
  return stopped;
}

function usageCells(c: ContainerReport): [string, string] {
  const cpu = c.cpuPercent === undefined ? '-' : `${c.cpuPercent.toFixed(1)}%`;
  const mem =
    c.memoryBytes === undefined
      ? '-'
      : `${formatBytes(c.memoryBytes)}${c.memoryLimitBytes && c.memoryLimitBytes < 2 ** 50 ? ` / ${formatBytes(c.memoryLimitBytes)}` : ''}`;
  return [cpu, mem];
}

/** The compose part of `fuzzforge status`: every container with health, restarts, CPU, memory. */
export async function composeStatus(io: Io, json: boolean): Promise<unknown> {
  const state = readComposeState(stateDir());
  if (!state) {
    return undefined;
  }
  const containers = await composeContainers(state).catch((err: unknown) => {
    io.err(`cannot read the containers from ${state.dockerHost}: ${(err as Error).message}`);
    return [] as ContainerReport[];
  });
  if (json) {
    return { state, containers };
  }
  io.out(`compose backend: ${state.status} since ${state.startedAt} (project ${state.project} on ${state.dockerHost})`);
  io.out(
    table(
      ['SERVICE', 'CONTAINER', 'STATE', 'HEALTH', 'RESTARTS', 'CPU', 'MEMORY'],
      containers.map((c) => [c.service, c.name, c.state, c.health ?? '-', String(c.restarts), ...usageCells(c)]),
    ),
  );
  io.out('');
  return { state, containers };
}

/** `fuzzforge logs SERVICE [--follow] [--tail N]`: a compose service's or an embedded service's log. */
export async function cmdLogs(
  values: { follow?: boolean; tail?: string },
  positionals: string[],
  io: Io,
): Promise<number> {
  const service = positionals[0];
  const tail = values.tail === undefined ? 200 : Number(values.tail);
  if (!Number.isInteger(tail) || tail < 0) {
    throw new UserError(`--tail ${values.tail} is not a line count`, 'pass a whole number');
  }
  const dir = stateDir();
  const compose = readComposeState(dir);
  const embedded = runningEmbedded(dir);
  if (!service) {
    const names = compose
      ? [...new Set((await composeContainers(compose, false)).map((c) => c.service))]
      : embedded
        ? fs
            .readdirSync(embedded.logsDir)
            .filter((f) => f.endsWith('.log'))
            .map((f) => f.replace(/\.log$/, ''))
        : [];
    throw new UserError(
      'usage: fuzzforge logs SERVICE [--follow] [--tail N]',
      `services: ${names.join(', ') || '(no backend running)'}`,
    );
  }
  if (compose && !embedded) {
    const abort = new AbortController();
    process.once('SIGINT', () => abort.abort());
    await composeLogs(compose, service, {
      follow: Boolean(values.follow),
      tail,
      out: process.stdout,
      signal: abort.signal,
    });
    return 0;
  }
  if (!embedded) {
    throw new UserError('no backend is running', 'start one with `fuzzforge up` (or `fuzzforge up --compose`)');
  }
  if (!/^[a-z0-9-]+$/.test(service)) {
    throw new UserError(`no service named ${JSON.stringify(service)}`, 'see `fuzzforge logs` for the names');
  }
  // `worker-<vertical>` names the worker of that vertical, which may be the shared worker host.
  const worker = embedded.workers.find((w) => `worker-${w.vertical}` === service);
  const file = path.join(embedded.logsDir, `${worker ? workerLogName(worker) : service}.log`);
  if (!fs.existsSync(file)) {
    const names = fs
      .readdirSync(embedded.logsDir)
      .filter((f) => f.endsWith('.log'))
      .map((f) => f.replace(/\.log$/, ''));
    throw new UserError(`no log for service "${service}"`, `services: ${names.join(', ')}`);
  }
  const text = fs.readFileSync(file, 'utf8');
  const lines = text.split('\n');
  io.out(
    lines
      .slice(Math.max(0, lines.length - 1 - tail))
      .join('\n')
      .trimEnd(),
  );
  if (values.follow) {
    let offset = Buffer.byteLength(text);
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const size = fs.statSync(file, { throwIfNoEntry: false })?.size ?? 0;
        if (size < offset) {
          offset = 0; // rotated
        }
        if (size > offset) {
          const fd = fs.openSync(file, 'r');
          const buf = Buffer.alloc(size - offset);
          fs.readSync(fd, buf, 0, buf.length, offset);
          fs.closeSync(fd);
          offset = size;
          process.stdout.write(buf);
        }
      }, 500);
      process.once('SIGINT', () => {
        clearInterval(timer);
        resolve();
      });
    });
  }
  return 0;
}

function requireCompose(): { state: ComposeState } {
  const state = runningCompose(stateDir());
  if (!state) {
    throw new UserError(
      'worker containers exist only in compose mode, and no compose backend is running',
      'start it with `fuzzforge up --compose`; the embedded backend runs one worker per available vertical (`fuzzforge status`)',
    );
  }
  return { state };
}

/**
 * `fuzzforge workers` (list each vertical's containers and Temporal pollers),
 * `fuzzforge workers scale VERTICAL=N`, `fuzzforge workers start|stop VERTICAL`.
 */
export async function cmdWorkers(values: { json?: boolean }, positionals: string[], io: Io): Promise<number> {
  const [action, ...rest] = positionals;
  if (action === 'scale') {
    if (rest.length === 0) {
      throw new UserError(
        'usage: fuzzforge workers scale VERTICAL=N [VERTICAL=N]...',
        'e.g. fuzzforge workers scale python=2',
      );
    }
    const { state } = requireCompose();
    for (const spec of rest) {
      const m = /^([a-z0-9_-]+)=(\d+)$/.exec(spec);
      if (!m || !knownVerticals().includes(m[1] as string)) {
        throw new UserError(
          `cannot read "${spec}"`,
          `write VERTICAL=N with VERTICAL one of ${knownVerticals().join(', ')}`,
        );
      }
      await scaleComposeWorkers(state, m[1] as string, Number(m[2]), (line) => io.err(line));
      io.out(`${m[1]}: ${m[2]} worker(s)`);
    }
    return 0;
  }
  if (action === 'start' || action === 'stop') {
    const vertical = rest[0];
    if (!vertical || !knownVerticals().includes(vertical)) {
      throw new UserError(
        `usage: fuzzforge workers ${action} VERTICAL`,
        `VERTICAL is one of ${knownVerticals().join(', ')}`,
      );
    }
    const { state } = requireCompose();
    if (action === 'start') {
      await ensureComposeWorker(state, vertical, (line) => io.err(line));
    } else {
      await stopComposeWorkers(state, vertical);
    }
    io.out(`${vertical} worker ${action === 'start' ? 'running' : 'stopped'}`);
    return 0;
  }
  if (action !== undefined) {
    throw new UserError(`unknown workers action "${action}"`, 'use: fuzzforge workers [scale V=N | start V | stop V]');
  }
  const { state } = requireCompose();
  const containers = (await composeContainers(state)).filter((c) => c.vertical);
  const rows = await Promise.all(
    knownVerticals().map(async (vertical) => {
      const mine = containers.filter((c) => c.vertical === vertical);
      const pollers = await queuePollers(state, vertical).catch(() => [] as string[]);
      return { vertical, containers: mine, pollers };
    }),
  );
  if (values.json) {
    io.out(JSON.stringify(rows, null, 2));
    return 0;
  }
  io.out(
    table(
      ['VERTICAL', 'CONTAINERS', 'RUNNING', 'POLLERS', 'CPU', 'MEMORY'],
      rows.map((r) => {
        const running = r.containers.filter((c) => c.state === 'running');
        const cpu = running.reduce((sum, c) => sum + (c.cpuPercent ?? 0), 0);
        const mem = running.reduce((sum, c) => sum + (c.memoryBytes ?? 0), 0);
        return [
          r.vertical,
          r.containers.map((c) => c.name).join(', ') || '-',
          String(running.length),
          String(r.pollers.length),
          running.length ? `${cpu.toFixed(1)}%` : '-',
          running.length ? formatBytes(mem) : '-',
        ];
      }),
    ),
  );
  return 0;
}
