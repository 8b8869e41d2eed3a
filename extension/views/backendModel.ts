// The pure half of the Backend view: which backend the mode setting means, and the rows (services,
// then workers grouped by vertical) built from what the backend reports: the embedded state file,
// its live health and /proc figures, or the compose containers. No vscode import (eslint enforces
// it), so unit tests build rows from real-shaped reports in plain Node.
import type { BackendMode } from '../../backend/services/backend';
import type { ContainerReport, ComposeState } from '../../backend/services/compose';
import type { HealthReport } from '../../backend/services/embedded';
import type { ProcessUsage } from '../../backend/services/processUsage';
import { type BackendState, workerLogName } from '../../backend/services/state';
import { exposureWarning } from '../../backend/services/temporalIsolation';
import { formatBytes } from '../../backend/storage/pack';
import type { StatusIcon } from './viewModel';

export type BackendKind = 'embedded' | 'compose' | 'external';

/**
 * Which backend the mode setting means, as resolveBackend reads it: `auto` is external when the
 * FUZZFORGE_TEMPORAL_ADDRESS/S3 variables are set, compose when a compose stack is up and no
 * embedded one runs, else embedded. Start Backend starts this one; the Backend view shows it.
 */
export function backendTarget(
  mode: BackendMode,
  found: { external: boolean; embedded: boolean; compose: boolean },
): BackendKind {
  if (mode === 'external' || (mode === 'auto' && found.external)) {
    return 'external';
  }
  if (mode === 'compose' || (mode === 'auto' && found.compose && !found.embedded)) {
    return 'compose';
  }
  return 'embedded';
}

/** What the view shows, read by backendView.ts. `none`: the target backend is not running. */
export type BackendSnapshot =
  | { kind: 'none'; target: BackendKind }
  | {
      kind: 'embedded';
      state: BackendState;
      health: HealthReport;
      /** By pid: the process and the descendants no other row claims. */
      usage: ReadonlyMap<number, ProcessUsage>;
    }
  | {
      kind: 'compose';
      state: Pick<ComposeState, 'project' | 'status' | 'error' | 'dockerHost'>;
      containers: readonly ContainerReport[];
      /** Every vertical a worker can be started for (workers/<vertical>/vertical.yaml). */
      verticals: readonly string[];
      /** The engine could not be read: shown as a row, the containers are then unknown. */
      error?: string;
      /** The host's memory: a container "limited" to it (no mem_limit) shows no limit. */
      hostMemoryBytes?: number;
    }
  | {
      kind: 'external';
      temporal: { address: string; healthy: boolean };
      storage: { endpoint: string; healthy: boolean };
    };

/** Where Show Logs finds a row's log. */
export type LogSource = { kind: 'file'; path: string } | { kind: 'compose'; service: string };

export type Health = 'ok' | 'starting' | 'restarting' | 'bad' | 'stopped';

export interface BackendRow {
  /** Stable across refreshes, so expansion and selection survive them. */
  id: string;
  kind: 'service' | 'vertical' | 'worker' | 'message';
  label: string;
  description: string;
  /** Plain text (never Markdown): names and errors come from the engine and log files. */
  tooltip: string;
  accessibilityLabel: string;
  health: Health;
  icon: StatusIcon;
  /**
   * `backend.<kind>` plus `.start` (a stopped compose vertical), `.stop` (a compose vertical with
   * running workers) and `.logs` (Show Logs has something to open); menus match on these.
   */
  contextValue: string;
  vertical?: string;
  log?: LogSource;
  children?: BackendRow[];
}

const HEALTH_ICONS: Record<Health, StatusIcon> = {
  ok: { id: 'pass', color: 'testing.iconPassed' },
  starting: { id: 'sync~spin' },
  restarting: { id: 'debug-restart', color: 'testing.iconQueued' },
  bad: { id: 'error', color: 'testing.iconFailed' },
  stopped: { id: 'circle-outline', color: 'disabledForeground' },
};

export function healthIcon(health: Health): StatusIcon {
  return HEALTH_ICONS[health];
}

/** "12.5% CPU · 85.3 MiB" (memory "/ limit" when the container has one); parts that are unknown are left out. */
export function usageLabel(usage: { cpuPercent?: number; memoryBytes?: number; memoryLimitBytes?: number }): string {
  const parts: string[] = [];
  if (usage.cpuPercent !== undefined) {
    parts.push(`${usage.cpuPercent.toFixed(1)}% CPU`);
  }
  if (usage.memoryBytes !== undefined) {
    // Docker reports "no limit" as the host's memory or a huge number: only a real limit is shown.
    const limit =
      usage.memoryLimitBytes && usage.memoryLimitBytes < 2 ** 50 ? ` / ${formatBytes(usage.memoryLimitBytes)}` : '';
    parts.push(`${formatBytes(usage.memoryBytes)}${limit}`);
  }
  return parts.join(' · ');
}

const restartsLabel = (n: number) => (n > 0 ? `${n} restart${n === 1 ? '' : 's'}` : '');
const join = (...parts: (string | undefined)[]) => parts.filter((p) => p).join(' · ');

/** The order of health when a group shows the state of its members: the most telling first. */
const WORST_FIRST: Health[] = ['bad', 'restarting', 'starting', 'ok', 'stopped'];

function groupHealth(members: readonly Health[]): Health {
  if (!members.some((h) => h !== 'stopped')) {
    return 'stopped';
  }
  return WORST_FIRST.find((h) => members.includes(h)) ?? 'stopped';
}

function row(
  fields: Omit<BackendRow, 'icon' | 'contextValue' | 'accessibilityLabel'> & { flags?: string[] },
): BackendRow {
  const { flags = [], ...rest } = fields;
  const contextFlags = [...flags, ...(rest.log ? ['logs'] : [])];
  return {
    ...rest,
    icon: healthIcon(rest.health),
    contextValue: ['backend', rest.kind, ...contextFlags].join('.'),
    accessibilityLabel: join(rest.label, HEALTH_WORDS[rest.health], rest.description),
  };
}

const HEALTH_WORDS: Record<Health, string> = {
  ok: 'healthy',
  starting: 'starting',
  restarting: 'restarting',
  bad: 'failing',
  stopped: 'stopped',
};

// --- compose -------------------------------------------------------------------------------------

/** How a container is doing: compose health when it has a check, else its state. */
export function containerHealth(c: Pick<ContainerReport, 'state' | 'health'>): Health {
  switch (c.state) {
    case 'running':
      return c.health === 'unhealthy' ? 'bad' : c.health === 'starting' ? 'starting' : 'ok';
    case 'restarting':
      return 'restarting';
    case 'dead':
      return 'bad';
    default:
      // created, exited, paused, removing
      return 'stopped';
  }
}

function containerStateLabel(c: ContainerReport): string {
  return c.state === 'running' && c.health ? c.health : c.state;
}

/** A container's figures without a "limit" that is only the host's memory. */
function withRealLimit(c: ContainerReport, hostMemoryBytes: number | undefined): ContainerReport {
  if (hostMemoryBytes !== undefined && c.memoryLimitBytes !== undefined && c.memoryLimitBytes >= hostMemoryBytes) {
    const { memoryLimitBytes: _hostMemory, ...rest } = c;
    return rest;
  }
  return c;
}

function containerTooltip(c: ContainerReport): string {
  return [
    `${c.name} (${c.id})`,
    `service ${c.service}${c.vertical ? `, vertical ${c.vertical}` : ''}`,
    `state ${c.state}${c.health ? `, health ${c.health}` : ''}, restarts ${c.restarts}`,
    usageLabel(c) || 'no CPU or memory figures (not running)',
  ].join('\n');
}

function composeRows(snapshot: Extract<BackendSnapshot, { kind: 'compose' }>): BackendRow[] {
  const rows: BackendRow[] = [];
  if (snapshot.state.status !== 'ready') {
    rows.push(
      row({
        id: 'compose/status',
        kind: 'message',
        label: `compose backend ${snapshot.state.status}`,
        description: snapshot.state.error?.split('\n')[0] ?? '',
        tooltip: snapshot.state.error ?? `project ${snapshot.state.project}`,
        health: snapshot.state.status === 'failed' ? 'bad' : 'starting',
      }),
    );
  }
  if (snapshot.error !== undefined) {
    rows.push(
      row({
        id: 'compose/error',
        kind: 'message',
        label: 'cannot read the containers',
        description: snapshot.error.split('\n')[0] ?? '',
        tooltip: `${snapshot.state.dockerHost}: ${snapshot.error}`,
        health: 'bad',
      }),
    );
    return rows;
  }
  const containers = snapshot.containers.map((c) => withRealLimit(c, snapshot.hostMemoryBytes));
  const services = containers.filter((c) => !c.vertical);
  const counts = new Map<string, number>();
  for (const c of services) {
    counts.set(c.service, (counts.get(c.service) ?? 0) + 1);
  }
  for (const c of services) {
    rows.push(
      row({
        id: `compose/service/${c.name}`,
        kind: 'service',
        // A service with one container (all of them, unless scaled) is named by its service.
        label: (counts.get(c.service) ?? 0) > 1 ? c.name : c.service,
        description: join(containerStateLabel(c), usageLabel(c), restartsLabel(c.restarts)),
        tooltip: containerTooltip(c),
        health: containerHealth(c),
        log: { kind: 'compose', service: c.service },
      }),
    );
  }
  const verticals = [
    ...new Set([...snapshot.verticals, ...containers.flatMap((c) => (c.vertical ? [c.vertical] : []))]),
  ].sort();
  for (const vertical of verticals) {
    const workers = containers.filter((c) => c.vertical === vertical);
    const running = workers.filter((c) => c.state === 'running' || c.state === 'restarting');
    const children = workers.map((c) =>
      row({
        id: `compose/worker/${c.name}`,
        kind: 'worker',
        label: c.name,
        description: join(containerStateLabel(c), usageLabel(c), restartsLabel(c.restarts)),
        tooltip: containerTooltip(c),
        health: containerHealth(c),
        vertical,
        log: { kind: 'compose', service: c.service },
      }),
    );
    const sum = (pick: (c: ContainerReport) => number | undefined) => {
      const values = running.map(pick).filter((v): v is number => v !== undefined);
      return values.length > 0 ? values.reduce((a, b) => a + b, 0) : undefined;
    };
    const cpu = sum((c) => c.cpuPercent);
    const state =
      workers.length === 0
        ? 'not started'
        : running.length === 0
          ? 'stopped'
          : `${running.length} of ${workers.length} running`;
    rows.push(
      row({
        id: `compose/vertical/${vertical}`,
        kind: 'vertical',
        label: vertical,
        description: join(
          state,
          usageLabel({
            ...(cpu === undefined ? {} : { cpuPercent: Math.round(cpu * 10) / 10 }),
            memoryBytes: sum((c) => c.memoryBytes),
          }),
        ),
        tooltip:
          workers.length === 0
            ? `No ${vertical} worker container yet: Start runs one (work for ${vertical} also starts it).`
            : `${vertical} workers: ${state}\n${workers.map((c) => `${c.name}: ${containerStateLabel(c)}`).join('\n')}`,
        health: groupHealth(children.map((c) => c.health)),
        vertical,
        flags: running.length > 0 ? ['stop'] : ['start'],
        ...(workers[0] ? { log: { kind: 'compose' as const, service: workers[0].service } } : {}),
        children,
      }),
    );
  }
  return rows;
}

// --- embedded ------------------------------------------------------------------------------------

function pidUsage(usage: ReadonlyMap<number, ProcessUsage>, pid: number | undefined): ProcessUsage | undefined {
  return pid === undefined ? undefined : usage.get(pid);
}

function processUsageLabel(u: ProcessUsage | undefined): string {
  return u
    ? usageLabel({ ...(u.cpuPercent === undefined ? {} : { cpuPercent: u.cpuPercent }), memoryBytes: u.rssBytes })
    : '';
}

function processTooltip(lines: string[], pid: number | undefined, u: ProcessUsage | undefined, log: string): string {
  return [
    ...lines,
    pid ? `pid ${pid}${u && u.processes > 1 ? ` (${u.processes} processes with its children)` : ''}` : 'no process',
    ...(u ? [processUsageLabel(u)] : []),
    `log ${log}`,
  ].join('\n');
}

function embeddedRows(snapshot: Extract<BackendSnapshot, { kind: 'embedded' }>): BackendRow[] {
  const { state, health, usage } = snapshot;
  const logFile = (name: string) => `${state.logsDir.replace(/\/+$/, '')}/${name}.log`;
  const serviceHealth = (healthy: boolean): Health =>
    healthy ? 'ok' : state.status === 'starting' || state.status === 'stopping' ? 'starting' : 'bad';
  const supervisorHealth: Health = state.status === 'ready' ? 'ok' : state.status === 'failed' ? 'bad' : 'starting';
  const services: { name: string; pid: number | undefined; health: Health; word: string; lines: string[] }[] = [
    {
      name: 'supervisor',
      pid: state.supervisorPid,
      health: supervisorHealth,
      word: state.status,
      lines: [`supervisor: ${state.status}${state.error ? `: ${state.error}` : ''}`, `since ${state.startedAt}`],
    },
    {
      name: 'temporal',
      pid: state.temporal.pid,
      health: serviceHealth(health.temporal),
      word: join(
        health.temporal ? 'healthy' : 'not answering',
        state.temporal.isolation === 'namespace' ? undefined : 'OPEN to every local account',
      ),
      lines: [
        `Temporal ${state.temporal.address} (namespace ${state.temporal.namespace})`,
        `UI ${state.temporal.uiUrl}`,
        state.temporal.isolation === 'namespace'
          ? 'private network namespace behind mutual TLS: only this user (its certificates) gets in'
          : exposureWarning(state.temporal.exposure ?? 'started by a version without isolation; restart it'),
      ],
    },
    {
      name: 'minio',
      pid: state.storage.pid,
      health: serviceHealth(health.storage),
      word: health.storage ? 'healthy' : 'not answering',
      lines: [`MinIO ${state.storage.endpoint}`, `console ${state.storage.consoleUrl}`],
    },
  ];
  const rows = services.map((s) => {
    const u = pidUsage(usage, s.pid);
    return row({
      id: `embedded/service/${s.name}`,
      kind: 'service',
      label: s.name,
      description: join(s.word, processUsageLabel(u)),
      tooltip: processTooltip(s.lines, s.pid, u, logFile(s.name)),
      health: s.health,
      log: { kind: 'file', path: logFile(s.name) },
    });
  });
  const workerHealth: Record<string, Health> = {
    running: 'ok',
    starting: 'starting',
    restarting: 'restarting',
    stopped: 'stopped',
  };
  for (const w of [...health.workers].sort((a, b) => a.vertical.localeCompare(b.vertical))) {
    const u = pidUsage(usage, w.pid);
    const name = `worker-${w.vertical}`;
    const log: LogSource = { kind: 'file', path: logFile(workerLogName(w)) };
    const description = join(w.status, processUsageLabel(u), restartsLabel(w.restarts));
    const tooltip = processTooltip([`${w.vertical} worker: ${w.status}, restarts ${w.restarts}`], w.pid, u, log.path);
    const h = workerHealth[w.status] ?? 'bad';
    const child = row({
      id: `embedded/worker/${w.vertical}`,
      kind: 'worker',
      label: name,
      description: join(w.pid ? `pid ${w.pid}` : undefined, description),
      tooltip,
      health: h,
      vertical: w.vertical,
      log,
    });
    rows.push(
      row({
        id: `embedded/vertical/${w.vertical}`,
        kind: 'vertical',
        label: w.vertical,
        description,
        tooltip,
        health: h,
        vertical: w.vertical,
        log,
        children: [child],
      }),
    );
  }
  return rows;
}

// --- external ------------------------------------------------------------------------------------

function externalRows(snapshot: Extract<BackendSnapshot, { kind: 'external' }>): BackendRow[] {
  const reach = (healthy: boolean) => (healthy ? 'reachable' : 'not answering');
  return [
    row({
      id: 'external/temporal',
      kind: 'service',
      label: 'temporal',
      description: join(reach(snapshot.temporal.healthy), snapshot.temporal.address),
      tooltip: `Temporal frontend ${snapshot.temporal.address} (external: not managed by FuzzForge)`,
      health: snapshot.temporal.healthy ? 'ok' : 'bad',
    }),
    row({
      id: 'external/storage',
      kind: 'service',
      label: 'storage',
      description: join(reach(snapshot.storage.healthy), snapshot.storage.endpoint),
      tooltip: `S3 endpoint ${snapshot.storage.endpoint} (external: not managed by FuzzForge)`,
      health: snapshot.storage.healthy ? 'ok' : 'bad',
    }),
  ];
}

/** The view's rows: services first, then one group per vertical with its workers. */
export function backendRows(snapshot: BackendSnapshot): BackendRow[] {
  switch (snapshot.kind) {
    case 'none':
      return [];
    case 'embedded':
      return embeddedRows(snapshot);
    case 'compose':
      return composeRows(snapshot);
    case 'external':
      return externalRows(snapshot);
  }
}

/** The view's description beside its title: which backend, and how it is. */
export function backendViewDescription(snapshot: BackendSnapshot): string {
  switch (snapshot.kind) {
    case 'none':
      return `${snapshot.target}: not running`;
    case 'embedded':
      return `embedded · ${snapshot.state.status}`;
    case 'compose':
      return `compose · ${snapshot.state.project} · ${snapshot.state.status}`;
    case 'external':
      return 'external';
  }
}

/** Every row, depth first (for Show Logs from the palette, and tests). */
export function flattenRows(rows: readonly BackendRow[]): BackendRow[] {
  return rows.flatMap((r) => [r, ...flattenRows(r.children ?? [])]);
}
