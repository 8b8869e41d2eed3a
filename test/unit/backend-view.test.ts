// The pure half of the Backend view (extension/views/backendModel.ts) and the /proc figures of the
// embedded backend's processes (backend/services/processUsage.ts), the latter on real processes.
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { describe, it } from 'node:test';
import type { ContainerReport } from '../../backend/services/compose';
import {
  assignToRoots,
  cpuPercent,
  parseProcStat,
  parseRssBytes,
  ProcessUsageSampler,
  readProcTable,
  type ProcStat,
} from '../../backend/services/processUsage';
import type { BackendState } from '../../backend/services/state';
import {
  backendRows,
  backendTarget,
  backendViewDescription,
  containerHealth,
  flattenRows,
  usageLabel,
  type BackendRow,
  type BackendSnapshot,
} from '../../extension/views/backendModel';

const MiB = 1024 * 1024;

describe('backendTarget', () => {
  const none = { external: false, embedded: false, compose: false };
  it('follows the setting, and in auto mode what is configured or running', () => {
    assert.equal(backendTarget('embedded', { ...none, compose: true }), 'embedded');
    assert.equal(backendTarget('compose', { ...none, embedded: true }), 'compose');
    assert.equal(backendTarget('external', none), 'external');
    assert.equal(backendTarget('auto', none), 'embedded');
    assert.equal(backendTarget('auto', { ...none, compose: true }), 'compose');
    // resolveBackend prefers a running embedded backend over a compose stack in auto mode.
    assert.equal(backendTarget('auto', { ...none, compose: true, embedded: true }), 'embedded');
    assert.equal(backendTarget('auto', { external: true, embedded: true, compose: true }), 'external');
  });
});

describe('process usage from /proc', () => {
  it('parses a stat line whose command name holds spaces and parentheses', () => {
    // Fields as in proc(5): pid (comm) state ppid ... utime(14) stime(15) cutime(16) cstime(17) ... starttime(22)
    const rest = [
      'S',
      '41',
      ...Array<string>(9).fill('0'),
      '150',
      '50',
      '7',
      '3',
      '20',
      '0',
      '1',
      '0',
      '98765',
      '0',
      '0',
    ];
    const stat = parseProcStat(`1234 (my (odd) name) ${rest.join(' ')}\n`);
    assert.deepEqual(stat, { pid: 1234, ppid: 41, ticks: 210, startTicks: 98765 });
    assert.equal(parseProcStat('not a stat line'), undefined);
  });

  it('reads this process from the real /proc', { skip: !fs.existsSync('/proc/self/stat') }, () => {
    const stat = parseProcStat(fs.readFileSync(`/proc/${process.pid}/stat`, 'utf8'));
    assert.equal(stat?.pid, process.pid);
    assert.equal(stat?.ppid, process.ppid);
    assert.ok(parseRssBytes(fs.readFileSync('/proc/self/status', 'utf8')) > 10 * MiB);
  });

  it('gives each watched process the descendants no other watched process claims', () => {
    const p = (pid: number, ppid: number): [number, ProcStat] => [pid, { pid, ppid, ticks: 0, startTicks: 0 }];
    // 10 supervisor → 11 temporal, 12 worker → 13 tool → 14 tool child; 20 is someone else's.
    const table = new Map([p(1, 0), p(10, 1), p(11, 10), p(12, 10), p(13, 12), p(14, 13), p(20, 1)]);
    const trees = assignToRoots(table, [10, 11, 12, 99]);
    assert.deepEqual([...trees.keys()].sort(), [10, 11, 12], 'a pid that is gone is left out');
    assert.deepEqual(trees.get(10), [10]);
    assert.deepEqual(trees.get(11), [11]);
    assert.deepEqual(trees.get(12)?.sort(), [12, 13, 14]);
  });

  it('computes CPU as percent of one core between two samples', () => {
    assert.equal(cpuPercent({ ticks: 100, at: 0 }, { ticks: 150, at: 1000 }), 50);
    assert.equal(cpuPercent({ ticks: 0, at: 0 }, { ticks: 400, at: 2000 }), 200, 'two busy cores');
    assert.equal(cpuPercent({ ticks: 500, at: 0 }, { ticks: 100, at: 1000 }), 0, 'never negative');
    assert.equal(cpuPercent({ ticks: 0, at: 1000 }, { ticks: 10, at: 1000 }), 0, 'no time passed');
  });

  it('samples a real busy child under its parent', { skip: !fs.existsSync('/proc/self/stat') }, async () => {
    // A shell whose child spins: the shell's tree is busy, the shell itself is not. Figures are
    // compared with each other, not with a fixed share: the machine may be busy with other work.
    const parent = spawn('sh', ['-c', `"${process.execPath}" -e "for (;;) {}" & wait`], {
      detached: true,
      stdio: 'ignore',
    });
    try {
      const pid = parent.pid!;
      let child: number | undefined;
      for (let i = 0; i < 100 && child === undefined; i++) {
        child = [...readProcTable().values()].find((p) => p.ppid === pid)?.pid;
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.ok(child, 'the busy child started');
      const tree = new ProcessUsageSampler();
      const split = new ProcessUsageSampler();
      const first = tree.sample([pid]);
      split.sample([pid, child]);
      assert.equal(first.get(pid)?.cpuPercent, undefined, 'the first sample has no CPU figure');
      await new Promise((r) => setTimeout(r, 1500));
      const whole = tree.sample([pid, 999_999_999]).get(pid);
      const parts = split.sample([pid, child]);
      assert.ok(whole, 'the shell is sampled; a pid that does not exist is left out');
      assert.equal(whole.processes, 2, 'the shell and its node child');
      assert.ok((whole.cpuPercent ?? 0) >= 1, `the busy child counts in its parent's tree: ${whole.cpuPercent}%`);
      assert.ok(whole.rssBytes > 5 * MiB, `rss ${whole.rssBytes}`);
      assert.equal(parts.get(pid)?.processes, 1, 'a watched child is not counted twice');
      assert.ok(
        (parts.get(child)?.cpuPercent ?? 0) > (parts.get(pid)?.cpuPercent ?? 0),
        `the child spins, the shell waits: ${parts.get(child)?.cpuPercent}% vs ${parts.get(pid)?.cpuPercent}%`,
      );
    } finally {
      process.kill(-parent.pid!, 'SIGKILL');
    }
  });
});

describe('Backend view rows', () => {
  const container = (over: Partial<ContainerReport> & Pick<ContainerReport, 'service' | 'name'>): ContainerReport => ({
    id: over.name.slice(-12).padStart(12, '0'),
    state: 'running',
    restarts: 0,
    ...over,
  });

  const compose: BackendSnapshot = {
    kind: 'compose',
    state: { project: 'fuzzforge', status: 'ready', dockerHost: 'unix:///var/run/docker.sock' },
    verticals: ['cpp', 'generic', 'python'],
    hostMemoryBytes: 16384 * MiB,
    containers: [
      container({
        service: 'minio',
        name: 'fuzzforge-minio-1',
        health: 'healthy',
        cpuPercent: 0.4,
        memoryBytes: 90 * MiB,
        memoryLimitBytes: 16384 * MiB,
      }),
      container({ service: 'minio-setup', name: 'fuzzforge-minio-setup-1', state: 'exited' }),
      container({ service: 'temporal', name: 'fuzzforge-temporal-1', health: 'starting', restarts: 2 }),
      container({
        service: 'worker-python',
        name: 'fuzzforge-worker-python-1',
        vertical: 'python',
        health: 'healthy',
        cpuPercent: 150,
        memoryBytes: 300 * MiB,
        memoryLimitBytes: 4096 * MiB,
      }),
      container({
        service: 'worker-python',
        name: 'fuzzforge-worker-python-2',
        vertical: 'python',
        health: 'unhealthy',
        cpuPercent: 2.5,
        memoryBytes: 100 * MiB,
        memoryLimitBytes: 4096 * MiB,
      }),
      container({
        service: 'worker-generic',
        name: 'fuzzforge-worker-generic-1',
        vertical: 'generic',
        state: 'exited',
      }),
    ],
  };

  const byLabel = (rows: readonly BackendRow[], label: string) => {
    const found = rows.find((r) => r.label === label);
    assert.ok(found, `a row ${label} in ${rows.map((r) => r.label).join(', ')}`);
    return found;
  };

  it('compose: one row per service, then every vertical with its worker containers', () => {
    const rows = backendRows(compose);
    assert.deepEqual(
      rows.map((r) => `${r.kind} ${r.label}`),
      [
        'service minio',
        'service minio-setup',
        'service temporal',
        'vertical cpp',
        'vertical generic',
        'vertical python',
      ],
    );
    const minio = byLabel(rows, 'minio');
    assert.equal(
      minio.description,
      'healthy · 0.4% CPU · 90.0 MiB',
      'no "/ limit" when the limit is the host\'s memory',
    );
    assert.equal(minio.health, 'ok');
    assert.equal(minio.contextValue, 'backend.service.logs');
    assert.deepEqual(minio.log, { kind: 'compose', service: 'minio' });
    assert.equal(byLabel(rows, 'temporal').description, 'starting · 2 restarts');
    assert.equal(byLabel(rows, 'temporal').icon.id, 'sync~spin');
    assert.equal(byLabel(rows, 'minio-setup').health, 'stopped');

    const python = byLabel(rows, 'python');
    assert.equal(python.description, '2 of 2 running · 152.5% CPU · 400.0 MiB');
    assert.equal(python.health, 'bad', 'an unhealthy worker shows on its group');
    assert.equal(python.contextValue, 'backend.vertical.stop.logs');
    assert.deepEqual(python.log, { kind: 'compose', service: 'worker-python' });
    assert.deepEqual(
      python.children?.map((c) => [c.label, c.description, c.health, c.contextValue]),
      [
        ['fuzzforge-worker-python-1', 'healthy · 150.0% CPU · 300.0 MiB / 4.0 GiB', 'ok', 'backend.worker.logs'],
        ['fuzzforge-worker-python-2', 'unhealthy · 2.5% CPU · 100.0 MiB / 4.0 GiB', 'bad', 'backend.worker.logs'],
      ],
    );

    const generic = byLabel(rows, 'generic');
    assert.equal(generic.description, 'stopped');
    assert.equal(generic.health, 'stopped');
    assert.equal(generic.contextValue, 'backend.vertical.start.logs', 'a stopped vertical can be started');

    const cpp = byLabel(rows, 'cpp');
    assert.equal(cpp.description, 'not started');
    assert.equal(cpp.contextValue, 'backend.vertical.start', 'no container, no log');
    assert.deepEqual(cpp.children, []);

    const ids = flattenRows(rows).map((r) => r.id);
    assert.equal(new Set(ids).size, ids.length, 'row ids are unique');
    assert.equal(backendViewDescription(compose), 'compose · fuzzforge · ready');
  });

  it('compose: an engine that does not answer and a failed start are rows, not silence', () => {
    const rows = backendRows({
      ...compose,
      state: { ...compose.state, status: 'failed', error: 'Temporal did not become healthy in time\nmore' },
      containers: [],
      error: 'connect ENOENT /var/run/docker.sock',
    });
    assert.deepEqual(
      rows.map((r) => [r.kind, r.label, r.description, r.health]),
      [
        ['message', 'compose backend failed', 'Temporal did not become healthy in time', 'bad'],
        ['message', 'cannot read the containers', 'connect ENOENT /var/run/docker.sock', 'bad'],
      ],
    );
  });

  it('maps container states to health', () => {
    assert.equal(containerHealth({ state: 'running' }), 'ok', 'no health check: running is fine');
    assert.equal(containerHealth({ state: 'running', health: 'unhealthy' }), 'bad');
    assert.equal(containerHealth({ state: 'restarting' }), 'restarting');
    assert.equal(containerHealth({ state: 'dead' }), 'bad');
    assert.equal(containerHealth({ state: 'created' }), 'stopped');
  });

  const embeddedState: BackendState = {
    version: 1,
    mode: 'embedded',
    status: 'ready',
    supervisorPid: 100,
    startedAt: '2026-11-29T16:00:00.000Z',
    stateDir: '/state',
    logsDir: '/state/logs',
    temporal: {
      address: '127.0.0.1:7233',
      namespace: 'default',
      uiUrl: 'http://127.0.0.1:8233',
      pid: 101,
      isolation: 'namespace',
    },
    storage: { endpoint: 'http://127.0.0.1:9000', consoleUrl: 'http://127.0.0.1:9001', pid: 102 },
    workers: [
      { vertical: 'python', pid: 104, restarts: 0, status: 'running' },
      { vertical: 'generic', pid: 103, restarts: 1, status: 'running' },
    ],
    retention: { targetsDays: 7, resultsDays: 30 },
  };

  it('embedded: a Temporal open to every local account says so, and why', () => {
    const state: BackendState = {
      ...embeddedState,
      temporal: { ...embeddedState.temporal, isolation: 'none', exposure: 'FUZZFORGE_TEMPORAL_ISOLATION=off' },
    };
    const rows = backendRows({
      kind: 'embedded',
      state,
      health: { temporal: true, storage: true, workers: [] },
      usage: new Map(),
    });
    const temporal = rows.find((r) => r.id === 'embedded/service/temporal');
    assert.equal(temporal?.description, 'healthy · OPEN to every local account');
    assert.match(String(temporal?.tooltip), /reachable by every local account.*FUZZFORGE_TEMPORAL_ISOLATION=off/);
  });

  it('embedded: supervisor, Temporal and MinIO, then one group per vertical with its worker process', () => {
    const snapshot: BackendSnapshot = {
      kind: 'embedded',
      state: embeddedState,
      health: {
        temporal: true,
        storage: false,
        // checkHealth marks a worker whose pid is gone as stopped.
        workers: [embeddedState.workers[0]!, { ...embeddedState.workers[1]!, status: 'stopped' }],
      },
      usage: new Map([
        [101, { cpuPercent: 3.2, rssBytes: 120 * MiB, processes: 1 }],
        [102, { rssBytes: 80 * MiB, processes: 1 }],
        [104, { cpuPercent: 99.5, rssBytes: 250 * MiB, processes: 3 }],
      ]),
    };
    const rows = backendRows(snapshot);
    assert.deepEqual(
      rows.map((r) => [r.kind, r.label, r.description, r.health]),
      [
        ['service', 'supervisor', 'ready', 'ok'],
        ['service', 'temporal', 'healthy · 3.2% CPU · 120.0 MiB', 'ok'],
        ['service', 'minio', 'not answering · 80.0 MiB', 'bad'],
        ['vertical', 'generic', 'stopped · 1 restart', 'stopped'],
        ['vertical', 'python', 'running · 99.5% CPU · 250.0 MiB', 'ok'],
      ],
    );
    assert.deepEqual(byLabel(rows, 'temporal').log, { kind: 'file', path: '/state/logs/temporal.log' });
    const python = byLabel(rows, 'python');
    assert.equal(python.contextValue, 'backend.vertical.logs', 'embedded workers start and stop with the backend');
    assert.deepEqual(
      python.children?.map((c) => [c.label, c.description, c.contextValue, c.log]),
      [
        [
          'worker-python',
          'pid 104 · running · 99.5% CPU · 250.0 MiB',
          'backend.worker.logs',
          { kind: 'file', path: '/state/logs/worker-python.log' },
        ],
      ],
    );
    assert.match(python.tooltip, /pid 104 \(3 processes with its children\)/);
    assert.equal(backendViewDescription(snapshot), 'embedded · ready');
  });

  it('external: the two endpoints and whether they answer; nothing running: no rows (the welcome text shows)', () => {
    const rows = backendRows({
      kind: 'external',
      temporal: { address: 'temporal.example:7233', healthy: true },
      storage: { endpoint: 'https://s3.example', healthy: false },
    });
    assert.deepEqual(
      rows.map((r) => [r.label, r.description, r.health, r.contextValue]),
      [
        ['temporal', 'reachable · temporal.example:7233', 'ok', 'backend.service'],
        ['storage', 'not answering · https://s3.example', 'bad', 'backend.service'],
      ],
    );
    assert.deepEqual(backendRows({ kind: 'none', target: 'compose' }), []);
    assert.equal(backendViewDescription({ kind: 'none', target: 'compose' }), 'compose: not running');
  });

  it('usage labels leave out what is unknown', () => {
    assert.equal(usageLabel({}), '');
    assert.equal(usageLabel({ cpuPercent: 0 }), '0.0% CPU');
    assert.equal(usageLabel({ memoryBytes: 512, memoryLimitBytes: 1024 * MiB }), '512 B / 1.0 GiB');
  });
});
