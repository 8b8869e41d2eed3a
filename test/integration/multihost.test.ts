// One backend shared across hosts, with hosts made of network namespaces this test creates:
// Temporal (behind a mutual-TLS front) and MinIO (https, private CA) in namespace A, the workers
// in namespace B, the CLI in namespace C, joined by a bridge on a private /24 picked at random.
// The CLI sets the external backend up (`setup --external`), a scan runs on the remote worker, and
// a fuzzing campaign survives its remote worker being killed and replaced; then host B's network
// is cut for longer than the activities' heartbeat timeouts and restored, under a scan and under
// a campaign. Everything the test made (processes by pid, namespaces, veths, bridge, files) is
// removed in `after`.
import * as assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sleep } from '../../backend/concurrency';
import { fuzzingAvailability } from '../../backend/fuzzing';
import { distEntry, projectRoot } from '../../backend/paths';
import { CONNECTION_VARIABLES } from '../../backend/services/connection';
import { SEARCH_ATTRIBUTES } from '../../backend/services/embedded';
import { findServiceBinary } from '../../backend/services/binaries';
import { toolStatuses } from '../../backend/toolbox/tools';
import { availableVerticals, knownVerticals } from '../../backend/toolbox/verticals';
import { toolboxDir } from '../../backend/paths';
import type { FindingRow } from '../../backend/sarif/log';
import type { CrashRecord } from '../../toolbox/shared/fuzzing';
import { haveOpenssl, makeTestCerts, type TestCerts } from '../certs';
import { comparableRows, copyFixture, FIXTURES, readExpected, requirePythonTools } from './harness';

const TEMPORAL_PORT = 7233;
const MINIO_PORT = 9000;

/** Why this machine cannot run the test, or undefined when it can (root, ip netns, binaries). */
function unsupported(): string | undefined {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) {
    return 'needs root on Linux (ip netns)';
  }
  if (!findServiceBinary('temporal') || !findServiceBinary('minio')) {
    return 'Temporal or MinIO is not installed (fuzzforge setup)';
  }
  const probe = `ff-probe-${crypto.randomBytes(3).toString('hex')}`;
  const add = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (add.status !== 0) {
    return `ip netns add does not work here: ${(add.stderr || add.error?.message || '').trim()}`;
  }
  spawnSync('ip', ['netns', 'del', probe]);
  return undefined;
}

const skip = unsupported();

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A free private /24 in 10.200-250.x.0 that no interface or route here uses. */
function pickSubnet(): string {
  const inUse =
    execFileSync('ip', ['-4', '-o', 'addr'], { encoding: 'utf8' }) +
    execFileSync('ip', ['-4', 'route'], { encoding: 'utf8' });
  for (let i = 0; i < 50; i++) {
    const net = `10.${200 + crypto.randomInt(51)}.${crypto.randomInt(256)}`;
    if (!inUse.includes(`${net}.`)) {
      return net;
    }
  }
  throw new Error('no free 10.200-250.x.0/24 subnet');
}

interface Host {
  ns: string;
  address: string;
  /** Its veth end on the bridge (in this namespace): down cuts the host off the network. */
  link: string;
}

/**
 * How long host B's network is cut: longer than every heartbeat timeout of the activities (1 min
 * for a scan's tools, 20 s for a fuzzing segment, plus the worker's 5 s local timer buffer), so
 * Temporal gives the running attempt up while the worker cannot hear it.
 */
const CUT_SECONDS = 75;

interface Started {
  name: string;
  child: ChildProcess;
  log: string;
  exited: boolean;
}

/** The environment of a process as NAME=VALUE strings (empty when it is gone). */
function environOf(pid: number): string[] {
  try {
    return fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

function commandOf(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim().slice(0, 200);
  } catch {
    return '?';
  }
}

/**
 * Every live process below `pid` (children, grandchildren, ...) in a process group of its own:
 * the tools a worker runs are detached, its own helpers (esbuild's service) are not.
 */
function detachedDescendantsOf(pid: number): number[] {
  const parents = new Map<number, { ppid: number; pgid: number }>();
  for (const entry of fs.readdirSync('/proc')) {
    if (/^\d+$/.test(entry)) {
      try {
        // The parent pid is the second field after the parenthesised command name.
        const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
        const [, ppid, pgid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        parents.set(Number(entry), { ppid: Number(ppid), pgid: Number(pgid) });
      } catch {
        // Gone.
      }
    }
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const parent = queue.shift() as number;
    for (const [child, { ppid }] of parents) {
      if (ppid === parent) {
        out.push(child);
        queue.push(child);
      }
    }
  }
  const group = parents.get(pid)?.pgid;
  return out.filter((child) => parents.get(child)?.pgid !== group);
}

interface Expected {
  ruleId: string;
  file: string;
  line: number;
}

function keyed(rows: readonly Expected[]): string[] {
  return rows.map((r) => `${r.file}:${r.line} ${r.ruleId}`).sort();
}

describe('workers on other hosts (network namespaces)', { skip }, () => {
  const suffix = crypto.randomBytes(3).toString('hex');
  const bridge = `ffbr${suffix}`;
  const hosts: Record<'a' | 'b' | 'c', Host> = {} as Record<'a' | 'b' | 'c', Host>;
  const namespaces: string[] = [];
  const links: string[] = [];
  const processes: Started[] = [];
  let root = '';
  let certs: TestCerts | undefined;
  let env: NodeJS.ProcessEnv = {};
  let workerEnv: NodeJS.ProcessEnv = {};
  let cliEnv: NodeJS.ProcessEnv = {};
  let bridgeMade = false;
  let fuzzCase: {
    workflow: string;
    fixture: string;
    vertical: string;
    kind: string;
    file: string;
    line: number;
    params: string[];
  };

  /** Stop what we started (by process group) and remove the namespaces and the bridge: also on exit. */
  const cleanUp = () => {
    for (const p of processes) {
      if (!p.exited && p.child.pid) {
        try {
          process.kill(-p.child.pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    }
    // Deleting a veth end deletes its peer: nothing is left on this host even while the kernel
    // still holds a deleted namespace (its sockets linger).
    for (const link of links.splice(0)) {
      spawnSync('ip', ['link', 'del', link]);
    }
    for (const ns of namespaces.splice(0)) {
      spawnSync('ip', ['netns', 'del', ns]);
    }
    if (bridgeMade) {
      spawnSync('ip', ['link', 'del', bridge]);
      bridgeMade = false;
    }
  };

  /** Start a long-running process inside a namespace, in its own process group, output to a log. */
  function startIn(host: Host, name: string, command: string, args: string[], childEnv: NodeJS.ProcessEnv): Started {
    const log = path.join(root, `${name}.log`);
    const fd = fs.openSync(log, 'a');
    // `ip netns exec` enters the namespace and execs the command: the pid is the command's.
    const child = spawn('ip', ['netns', 'exec', host.ns, command, ...args], {
      env: childEnv,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    fs.closeSync(fd);
    const started: Started = { name, child, log, exited: false };
    child.on('exit', () => {
      started.exited = true;
    });
    processes.push(started);
    return started;
  }

  function tail(file: string, lines = 30): string {
    try {
      return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  function logs(): string {
    return processes.map((p) => `--- ${p.name} (${p.log})\n${tail(p.log)}`).join('\n');
  }

  /** Run the CLI in namespace C, as a user on the third host would. */
  function cli(args: string[], extraEnv: NodeJS.ProcessEnv = {}, timeoutMs = 600_000) {
    const res = spawnSync('ip', ['netns', 'exec', hosts.c.ns, process.execPath, distEntry('cli'), ...args], {
      env: { ...cliEnv, ...extraEnv },
      encoding: 'utf8',
      timeout: timeoutMs,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: res.status, stdout: res.stdout, stderr: res.stderr };
  }

  /** Same, without blocking this process's event loop (child exits are noticed meanwhile). */
  function cliAsync(
    args: string[],
    timeoutMs = 600_000,
  ): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn('ip', ['netns', 'exec', hosts.c.ns, process.execPath, distEntry('cli'), ...args], {
        env: cliEnv,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  interface Status {
    temporal: { healthy: boolean; error?: string };
    storage: { healthy: boolean; buckets: Record<string, boolean>; error?: string };
    verticals: { vertical: string; pollers: string[] }[];
  }

  async function status(): Promise<Status | undefined> {
    const res = await cliAsync(['status', '--backend', 'external', '--json'], 60_000);
    try {
      return JSON.parse(res.stdout) as Status;
    } catch {
      return undefined;
    }
  }

  /** Wait (bounded) until a check on the status holds; the failure says what was last seen. */
  async function waitForStatus(what: string, check: (s: Status) => boolean, timeoutMs = 120_000): Promise<Status> {
    const deadline = Date.now() + timeoutMs;
    let last: Status | undefined;
    while (Date.now() < deadline) {
      last = await status();
      if (last && check(last)) {
        return last;
      }
      await sleep(1000);
    }
    throw new Error(`${what}: not seen within ${timeoutMs / 1000} s; last status ${JSON.stringify(last)}\n${logs()}`);
  }

  /**
   * Processes in a host's namespace outside the process groups this test started there: a tool
   * or fuzzer a worker left behind (its own group, possibly re-parented once its parent died).
   */
  function strays(host: Host): string[] {
    const ours = new Set(processes.filter((p) => !p.exited && p.child.pid).map((p) => p.child.pid));
    const pids = spawnSync('ip', ['netns', 'pids', host.ns], { encoding: 'utf8' })
      .stdout.split('\n')
      .map(Number)
      .filter((pid) => pid > 0);
    return pids
      .filter((pid) => {
        try {
          const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
          const pgid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
          return !ours.has(pgid);
        } catch {
          return false;
        }
      })
      .map((pid) => `${pid} ${commandOf(pid)}`);
  }

  /** Wait (bounded) until a host has no strays; returns what is left. */
  async function settledStrays(host: Host, timeoutMs = 120_000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    let left = strays(host);
    while (left.length > 0 && Date.now() < deadline) {
      await sleep(1000);
      left = strays(host);
    }
    return left;
  }

  /**
   * Take a host off the network for `seconds` (its veth end down: every packet is lost), then
   * back; `lastly` runs just before the link comes up again.
   */
  async function cutNetwork(host: Host, seconds: number, lastly?: () => void): Promise<void> {
    ip('link', 'set', host.link, 'down');
    try {
      await sleep(seconds * 1000);
      lastly?.();
    } finally {
      ip('link', 'set', host.link, 'up');
    }
  }

  /** A running worker of `vertical` on host B (the one a test before left, or a new one). */
  async function workerOf(vertical: string): Promise<Started> {
    const running = processes.find((p) => !p.exited && p.name.startsWith(`worker-${vertical}`));
    const worker = running ?? startWorker(vertical, `worker-${vertical}-${processes.length}`);
    await waitForStatus(
      `the ${vertical} worker on host B polling`,
      (s) => (s.verticals.find((v) => v.vertical === vertical)?.pollers.length ?? 0) > 0,
    );
    return worker;
  }

  interface Sample {
    uniqueCrashes: number;
    elapsedSec: number;
    execs: number;
    at: number;
  }

  /** Start a campaign of the fuzz case on `workspace` from host C, without waiting; its run id. */
  async function startCampaign(workspace: string, maxTotalTime: number): Promise<string> {
    const started = await cliAsync([
      'scan',
      workspace,
      '--workflow',
      fuzzCase.workflow,
      '--backend',
      'external',
      '--param',
      `max_total_time=${maxTotalTime}`,
      '--param',
      'minimize_time=0',
      ...fuzzCase.params,
      '--no-wait',
      '--json',
    ]);
    assert.equal(started.code, 0, `${started.stderr}\n${logs()}`);
    return (JSON.parse(started.stdout) as { runId: string }).runId;
  }

  /** The campaign's latest stats sample as host C sees it (undefined before the first). */
  async function latestStats(runId: string): Promise<Sample | undefined> {
    const stats = await cliAsync(['stats', runId, '--json', '--backend', 'external'], 60_000);
    try {
      return (JSON.parse(stats.stdout) as { latest?: Sample }).latest;
    } catch {
      return undefined;
    }
  }

  /** Wait (bounded) until the campaign has fuzzed a few seconds and found its crash. */
  async function underWay(runId: string, what: string): Promise<Sample> {
    let sample: Sample | undefined;
    for (let i = 0; i < 240 && !(sample && sample.uniqueCrashes >= 1 && sample.elapsedSec >= 3); i++) {
      sample = await latestStats(runId);
      await sleep(1000);
    }
    assert.ok(sample && sample.uniqueCrashes >= 1, `a crash ${what}: ${JSON.stringify(sample)}\n${logs()}`);
    return sample;
  }

  /** Follow the campaign to its end: it completes with exactly the fuzz case's one crash. */
  async function completesWithItsCrash(runId: string): Promise<Sample | undefined> {
    const followed = await cliAsync(['stats', runId, '--follow', '--json', '--backend', 'external'], 900_000);
    const lines = followed.stdout.trim().split('\n');
    const last = JSON.parse(lines[lines.length - 1] ?? '{}') as { status?: string; latest?: Sample };
    assert.equal(last.status, 'completed', `${followed.stdout}\n${followed.stderr}\n${logs()}`);
    const crashes = await cliAsync(['crashes', runId, '--json', '--backend', 'external']);
    assert.equal(crashes.code, 0, crashes.stderr);
    const list = JSON.parse(crashes.stdout) as CrashRecord[];
    assert.equal(list.length, 1, JSON.stringify(list, null, 2));
    const crash = list[0] as CrashRecord;
    assert.equal(crash.kind, fuzzCase.kind);
    const top = crash.frames.find((f) => f.file && !f.file.startsWith('/'));
    assert.equal(`${top?.file}:${top?.line}`, `${fuzzCase.file}:${fuzzCase.line}`);
    return last.latest;
  }

  function startWorker(vertical: string, name: string): Started {
    return startIn(hosts.b, name, process.execPath, [distEntry('worker'), '--vertical', vertical], workerEnv);
  }

  before(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-multihost-'));
    process.once('exit', cleanUp);
    const net = pickSubnet();
    ip('link', 'add', bridge, 'type', 'bridge');
    bridgeMade = true;
    ip('link', 'set', bridge, 'up');
    const octets = { a: 10 + crypto.randomInt(40), b: 60 + crypto.randomInt(40), c: 110 + crypto.randomInt(40) };
    for (const name of ['a', 'b', 'c'] as const) {
      const ns = `ff${name}-${suffix}`;
      const outside = `ff${name}${suffix}`;
      const inside = `ff${name}${suffix}i`;
      ip('netns', 'add', ns);
      namespaces.push(ns);
      ip('link', 'add', outside, 'type', 'veth', 'peer', 'name', inside);
      links.push(outside);
      ip('link', 'set', inside, 'netns', ns);
      ip('link', 'set', outside, 'master', bridge);
      ip('link', 'set', outside, 'up');
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      const address = `${net}.${octets[name]}`;
      ip('-n', ns, 'addr', 'add', `${address}/24`, 'dev', inside);
      ip('-n', ns, 'link', 'set', inside, 'up');
      hosts[name] = { ns, address, link: outside };
    }
    const a = hosts.a.address;

    const temporalBin = findServiceBinary('temporal')?.path as string;
    const minioBin = findServiceBinary('minio')?.path as string;
    const baseEnv: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      LANG: process.env.LANG ?? 'C.UTF-8',
      TMPDIR: os.tmpdir(),
      // The machine's own settings of where tools and caches live, as a user's hosts would have them.
      ...Object.fromEntries(
        ['GOPATH', 'GOCACHE', 'FUZZFORGE_CACHE_DIR', 'XDG_CACHE_HOME']
          .filter((name) => process.env[name])
          .map((name) => [name, process.env[name]]),
      ),
    };

    // Temporal listens on namespace A's loopback only; other hosts reach it through a TLS front
    // that wants a client certificate (mutual TLS) and whose certificate names a host name, not
    // the address (so the server name override is needed). Without openssl: plaintext on A.
    const tls = haveOpenssl();
    if (tls) {
      certs = makeTestCerts(path.join(root, 'certs'), {
        dns: ['temporal.fuzzforge.test', 's3.fuzzforge.test'],
        ips: [a],
      });
    }
    startIn(
      hosts.a,
      'temporal',
      temporalBin,
      [
        'server',
        'start-dev',
        '--ip',
        tls ? '127.0.0.1' : a,
        '--port',
        String(TEMPORAL_PORT),
        '--headless',
        '--db-filename',
        path.join(root, 'temporal.db'),
        '--log-level',
        'warn',
      ],
      baseEnv,
    );
    if (certs) {
      startIn(
        hosts.a,
        'temporal-tls-front',
        process.execPath,
        [
          path.join(projectRoot(), 'test', 'integration', 'tlsFront.mjs'),
          a,
          String(TEMPORAL_PORT),
          String(TEMPORAL_PORT),
          certs.serverCert,
          certs.serverKey,
          certs.ca,
        ],
        baseEnv,
      );
      // MinIO serves https itself with the certificate in its certs folder.
      const certsDir = path.join(root, 'minio-certs');
      fs.mkdirSync(certsDir);
      fs.copyFileSync(certs.serverCert, path.join(certsDir, 'public.crt'));
      fs.copyFileSync(certs.serverKey, path.join(certsDir, 'private.key'));
    }
    const minioUser = `ff-${crypto.randomBytes(6).toString('hex')}`;
    const minioPassword = crypto.randomBytes(24).toString('base64url');
    startIn(
      hosts.a,
      'minio',
      minioBin,
      [
        'server',
        '--address',
        `${a}:${MINIO_PORT}`,
        '--console-address',
        `${a}:${MINIO_PORT + 1}`,
        ...(certs ? ['--certs-dir', path.join(root, 'minio-certs')] : []),
        path.join(root, 'minio-data'),
      ],
      { ...baseEnv, MINIO_ROOT_USER: minioUser, MINIO_ROOT_PASSWORD: minioPassword, MINIO_BROWSER: 'off' },
    );

    env = {
      FUZZFORGE_TEMPORAL_ADDRESS: `${a}:${TEMPORAL_PORT}`,
      FUZZFORGE_TEMPORAL_NAMESPACE: 'default',
      FUZZFORGE_S3_ENDPOINT: `${certs ? 'https' : 'http'}://${a}:${MINIO_PORT}`,
      FUZZFORGE_S3_ACCESS_KEY: minioUser,
      FUZZFORGE_S3_SECRET_KEY: minioPassword,
      FUZZFORGE_S3_REGION: 'us-east-1',
      FUZZFORGE_BUCKET_TARGETS: `ff-targets-${suffix}`,
      FUZZFORGE_BUCKET_RESULTS: `ff-results-${suffix}`,
      ...(certs
        ? {
            FUZZFORGE_TEMPORAL_TLS_CA: certs.ca,
            FUZZFORGE_TEMPORAL_TLS_CERT: certs.clientCert,
            FUZZFORGE_TEMPORAL_TLS_KEY: certs.clientKey,
            FUZZFORGE_TEMPORAL_TLS_SERVER_NAME: 'temporal.fuzzforge.test',
            FUZZFORGE_S3_TLS_CA: certs.ca,
          }
        : {}),
    };
    // Each host has its own state folder: nothing attaches to an embedded backend of this machine.
    workerEnv = {
      ...baseEnv,
      ...env,
      FUZZFORGE_STATE_DIR: path.join(root, 'state-b'),
      FUZZFORGE_WORKER_CACHE: path.join(root, 'worker-cache-b'),
      FUZZFORGE_WORKER_CONCURRENCY: '2',
    };
    cliEnv = { ...baseEnv, ...env, FUZZFORGE_STATE_DIR: path.join(root, 'state-c') };

    const fuzzers = fuzzingAvailability(availableVerticals(toolboxDir()), toolStatuses(knownVerticals()));
    const atheris = fuzzers.find((f) => f.workflow === 'atheris_fuzzing')?.available;
    fuzzCase = atheris
      ? {
          workflow: 'atheris_fuzzing',
          fixture: 'fuzz-python',
          vertical: 'python',
          kind: 'IndexError',
          file: 'parser.py',
          line: 34,
          params: ['--param', 'seed_corpus=seeds'],
        }
      : {
          workflow: 'go_fuzzing',
          fixture: 'fuzz-go',
          vertical: 'go',
          kind: 'index out of range',
          file: 'parse.go',
          line: 44,
          params: [],
        };
    if (!atheris) {
      process.stderr.write('# atheris is not installed here: the campaign runs go_fuzzing (fuzz-go) instead\n');
    }

    // The third host sees both services (Temporal through its TLS front).
    await waitForStatus('Temporal and MinIO reachable from host C', (s) => s.temporal.healthy && !s.storage.error);
  });

  after(async () => {
    cleanUp();
    process.off('exit', cleanUp);
    // Let the killed processes go before their folders do.
    await sleep(200);
    if (root) {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('setup --external registers the search attributes and creates the buckets, and says so; again is harmless', async () => {
    const before = await status();
    assert.deepEqual(Object.values(before?.storage.buckets ?? {}), [false, false]);
    const first = cli(['setup', '--external']);
    assert.equal(first.code, 0, `${first.stdout}\n${first.stderr}`);
    for (const name of Object.keys(SEARCH_ATTRIBUTES)) {
      assert.match(first.stdout, new RegExp(`search attribute ${name} \\(Keyword\\): registered`));
    }
    assert.match(first.stdout, new RegExp(`bucket ff-targets-${suffix}: ready`));
    assert.match(first.stdout, new RegExp(`bucket ff-results-${suffix}: ready`));
    const again = cli(['setup', '--external']);
    assert.equal(again.code, 0, again.stderr);
    for (const name of Object.keys(SEARCH_ATTRIBUTES)) {
      assert.match(again.stdout, new RegExp(`search attribute ${name} \\(Keyword\\): already registered`));
    }
    const after = await status();
    assert.equal(after?.storage.healthy, true, JSON.stringify(after));
  });

  it('a wrong setting is reported with the name of its variable', () => {
    const missing = path.join(root, 'no-such-ca.pem');
    const bad = cli(['setup', '--external'], { FUZZFORGE_TEMPORAL_TLS_CA: missing });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /FUZZFORGE_TEMPORAL_TLS_CA: cannot read .*no-such-ca\.pem/);
    const noNamespace = cli(['setup', '--external'], { FUZZFORGE_TEMPORAL_NAMESPACE: `ff-none-${suffix}` });
    assert.equal(noNamespace.code, 2);
    assert.match(noNamespace.stderr, new RegExp(`namespace "ff-none-${suffix}" does not exist on ${hosts.a.address}`));
    if (certs) {
      // Without a client certificate the mutual-TLS front refuses the connection.
      const noCert = cli(['status', '--backend', 'external', '--json'], {
        FUZZFORGE_TEMPORAL_TLS_CERT: '',
        FUZZFORGE_TEMPORAL_TLS_KEY: '',
      });
      assert.equal(noCert.code, 2);
      assert.equal((JSON.parse(noCert.stdout) as Status).temporal.healthy, false);
    }
  });

  it('a scan from host C runs on the worker on host B and finds exactly the known findings', async () => {
    startWorker('generic', 'worker-generic');
    const seen = await waitForStatus(
      'the generic worker on host B polling',
      (s) => (s.verticals.find((v) => v.vertical === 'generic')?.pollers.length ?? 0) > 0,
    );
    // The worker's identity names its host by the address it reaches Temporal from.
    const pollers = seen.verticals.find((v) => v.vertical === 'generic')?.pollers ?? [];
    assert.ok(
      pollers.some((p) => p.startsWith('generic@') && p.includes(`[${hosts.b.address}]`)),
      JSON.stringify(pollers),
    );

    const workspace = copyFixture('vulnerable-app', path.join(root, 'vulnerable-app'));
    const res = await cliAsync([
      'scan',
      workspace,
      '--workflow',
      'security_assessment',
      '--backend',
      'external',
      '--fail-on',
      'none',
      '--json',
    ]);
    assert.equal(res.code, 0, `${res.stderr}\n${logs()}`);
    const json = JSON.parse(res.stdout) as {
      runId: string;
      findings: { ruleId: string; file?: string; line?: number }[];
    };
    const expected = JSON.parse(
      fs.readFileSync(path.join(FIXTURES, 'vulnerable-app.expected.json'), 'utf8'),
    ) as Expected[];
    assert.deepEqual(
      keyed(json.findings.map((r) => ({ ruleId: r.ruleId, file: decodeURI(r.file ?? ''), line: r.line ?? 0 }))),
      keyed(expected),
    );
    const runs = await cliAsync(['runs', '--all', '--backend', 'external']);
    assert.equal(runs.code, 0, runs.stderr);
    assert.match(runs.stdout, new RegExp(`${json.runId}\\s+completed\\s+security_assessment`));
  });

  it('a fuzzing campaign survives its remote worker being killed and replaced, and keeps its crash', async () => {
    const first = startWorker(fuzzCase.vertical, `worker-${fuzzCase.vertical}-1`);
    await waitForStatus(
      `the ${fuzzCase.vertical} worker on host B polling`,
      (s) => (s.verticals.find((v) => v.vertical === fuzzCase.vertical)?.pollers.length ?? 0) > 0,
    );
    const workspace = copyFixture(fuzzCase.fixture, path.join(root, fuzzCase.fixture));
    const runId = await startCampaign(workspace, 20);
    // Kill the worker once the campaign is under way and has found its crash.
    await underWay(runId, 'before the worker dies');
    assert.ok(first.child.pid && !first.exited);
    // The worker holds the credentials; nothing it started on the workspace (the fuzzer, its
    // build, the watchdog shell) does.
    const secret = `FUZZFORGE_S3_SECRET_KEY=${env.FUZZFORGE_S3_SECRET_KEY}`;
    assert.ok(environOf(first.child.pid).includes(secret), 'the check below can see a leak');
    let children: number[] = [];
    for (let i = 0; i < 100 && children.length === 0; i++) {
      children = detachedDescendantsOf(first.child.pid);
      await sleep(100);
    }
    for (const pid of children) {
      const leaked = environOf(pid).filter((v) => CONNECTION_VARIABLES.some((name) => v.startsWith(`${name}=`)));
      assert.deepEqual(leaked, [], `process ${pid} (${commandOf(pid)}) has connection settings`);
    }
    process.stderr.write(`# ${children.length} process(es) under the worker checked for credentials\n`);
    process.kill(-first.child.pid, 'SIGKILL');
    for (let i = 0; i < 100 && !first.exited; i++) {
      await sleep(100);
    }
    assert.ok(first.exited, 'the killed worker is gone');
    startWorker(fuzzCase.vertical, `worker-${fuzzCase.vertical}-2`);

    // The run finishes on the new worker (after the killed attempt's heartbeat timeout).
    await completesWithItsCrash(runId);
    const final = await cliAsync(['run', 'status', runId, '--json', '--backend', 'external']);
    assert.equal(final.code, 0, final.stderr);
  });

  it('a scan whose remote worker is cut off the network while a tool runs completes once it is back, with exactly the known findings', async () => {
    // python_sast: its tools (bandit, semgrep) are processes of their own on the worker's host.
    await requirePythonTools();
    const worker = await workerOf('python');
    const workerPid = worker.child.pid as number;
    const workspace = copyFixture('python-sast', path.join(root, 'python-sast-cut'));
    const scanning = cliAsync(
      ['scan', workspace, '--workflow', 'python_sast', '--backend', 'external', '--fail-on', 'none', '--json'],
      1_200_000,
    );
    let tools: number[] = [];
    for (let i = 0; i < 1200 && tools.length === 0; i++) {
      tools = detachedDescendantsOf(workerPid);
      await sleep(100);
    }
    assert.ok(tools.length > 0, `a tool running on host B before the cut\n${logs()}`);
    process.stderr.write(`# cut under: ${tools.map((pid) => commandOf(pid).slice(0, 80)).join('; ')}\n`);
    const alive = () => tools.filter((pid) => fs.existsSync(`/proc/${pid}`));
    let aliveAtRestore = 0;
    await cutNetwork(hosts.b, CUT_SECONDS, () => (aliveAtRestore = alive().length));
    process.stderr.write(
      `# ${aliveAtRestore} of ${tools.length} tool process(es) still running when the network came back\n`,
    );
    const res = await scanning;
    assert.equal(res.code, 0, `${res.stdout}\n${res.stderr}\n${logs()}`);
    const json = JSON.parse(res.stdout) as { runId: string; findings: FindingRow[] };
    // Each finding once: a retried tool's part replaces the lost attempt's, it is not added to it.
    assert.deepEqual(comparableRows(json.findings), readExpected('python-sast'), 'one result set, no duplicates');
    const runs = await cliAsync(['runs', '--all', '--backend', 'external']);
    assert.equal(runs.code, 0, runs.stderr);
    assert.equal(runs.stdout.split('\n').filter((line) => line.includes(json.runId)).length, 1, runs.stdout);
    assert.match(runs.stdout, new RegExp(`${json.runId}\\s+completed\\s+python_sast`));
    assert.deepEqual(await settledStrays(hosts.b), [], 'no tool left running on host B');
    assert.ok(!worker.exited, `the worker lived through the cut\n${logs()}`);
  });

  it('a fuzzing campaign whose remote worker is cut off the network carries on once it is back, keeps its crash once and leaves no fuzzer behind', async () => {
    const worker = await workerOf(fuzzCase.vertical);
    const workerPid = worker.child.pid as number;
    const workspace = copyFixture(fuzzCase.fixture, path.join(root, `${fuzzCase.fixture}-cut`));
    // Longer than the cut: the attempt that loses the network still fuzzes when it comes back.
    const runId = await startCampaign(workspace, CUT_SECONDS + 45);
    const before = await underWay(runId, 'before the cut');
    let fuzzers: number[] = [];
    for (let i = 0; i < 100 && fuzzers.length === 0; i++) {
      fuzzers = detachedDescendantsOf(workerPid);
      await sleep(100);
    }
    assert.ok(fuzzers.length > 0, `a fuzzer running on host B before the cut\n${logs()}`);
    // The fuzzer restarts after each crash: what the cut-off attempt runs when the network comes
    // back (no other attempt can have started on host B meanwhile) is what must end.
    await cutNetwork(hosts.b, CUT_SECONDS, () => (fuzzers = detachedDescendantsOf(workerPid)));
    const restored = Date.now();
    process.stderr.write(`# ${fuzzers.length} process(es) of the cut-off attempt running when the network came back\n`);
    const alive = () => fuzzers.filter((pid) => fs.existsSync(`/proc/${pid}`));

    // Temporal gave the cut-off attempt up: its fuzzer is ended on the worker, not left running
    // beside the retry.
    for (let i = 0; i < 180 && alive().length > 0; i++) {
      await sleep(1000);
    }
    assert.deepEqual(
      alive().map((pid) => `${pid} ${commandOf(pid)}`),
      [],
      `the cut-off attempt's fuzzer ended\n${logs()}`,
    );
    // The stats resume: samples newer than the cut, beyond what was counted before it.
    let after: Sample | undefined;
    for (let i = 0; i < 240 && !(after && after.at > restored && after.execs > before.execs); i++) {
      after = await latestStats(runId);
      await sleep(1000);
    }
    assert.ok(
      after && after.at > restored && after.execs > before.execs && after.elapsedSec >= before.elapsedSec,
      `stats after the cut: ${JSON.stringify(after)} (before: ${JSON.stringify(before)})\n${logs()}`,
    );

    const last = await completesWithItsCrash(runId);
    assert.ok((last?.elapsedSec ?? 0) >= before.elapsedSec, JSON.stringify(last));
    assert.deepEqual(await settledStrays(hosts.b), [], 'no fuzzer left running on host B');
    assert.ok(!worker.exited, `the worker lived through the cut\n${logs()}`);
  });
});
