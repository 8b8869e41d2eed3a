// `npm run bench:footprint`: the embedded backend as a user runs it, through the CLI, with every
// vertical whose toolchain is on this machine, in a private state, worker and bundle cache:
//   1. `fuzzforge up` to ready: with no cached workflow bundle (nothing built yet), after
//      `fuzzforge setup`'s prebuild (the first start after an install), and warm
//      (BENCH_UP_ROUNDS rounds, median); each followed by `fuzzforge down`;
//   2. idle RSS of every process under the supervisor (median of 10 samples, 30 s after `up`);
//   3. RSS while a full_scan of the static fixtures and a 60 s atheris campaign run, and
//      BENCH_SETTLE_SECONDS after they end (60 and 180 s), against idle; and against the idle of the
//      same backend BENCH_SETTLED_IDLE_SECONDS after `up` with no work yet (180 s): the services
//      grow on their own in their first minutes (Temporal's heap reaches its collector's goal), and
//      that second ratio is what the work itself left.
// Prints figures, asserts nothing; saves them for `npm run bench`'s table (test/bench/results).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { sleep } from '../../backend/concurrency';
import { cacheDir, distEntry } from '../../backend/paths';
import { readState } from '../../backend/services/state';
import { formatBytes } from '../../backend/storage/pack';
import { copyFixture } from '../integration/harness';
import { processTree, treeRssKb } from './proc';
import { machineLine, saveResult } from './results';

const UP_ROUNDS = Number(process.env.BENCH_UP_ROUNDS ?? 5);
const CAMPAIGN_SECONDS = Number(process.env.BENCH_CAMPAIGN_SECONDS ?? 60);
/** When to read the RSS again after the work, in seconds after it ended (the figure: the first). */
const SETTLE_SECONDS = (process.env.BENCH_SETTLE_SECONDS ?? '60,180').split(',').map(Number);
/** When, after `up`, the idle RSS is read again before any work (0: not read). */
const SETTLED_IDLE_SECONDS = Number(process.env.BENCH_SETTLED_IDLE_SECONDS ?? 180);
const STATIC_FIXTURES = ['vulnerable-app', 'python-sast', 'js-sast', 'go-sast', 'cpp-sast', 'secrets-app'];

interface CliRun {
  code: number;
  ms: number;
  output: string;
}

function cli(args: string[], env: NodeJS.ProcessEnv): Promise<CliRun> {
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [distEntry('cli'), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => chunks.push(d));
    child.stderr.on('data', (d: Buffer) => chunks.push(d));
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({
        code: code ?? 1,
        ms: Number(process.hrtime.bigint() - started) / 1e6,
        output: Buffer.concat(chunks).toString(),
      }),
    );
  });
}

async function must(args: string[], env: NodeJS.ProcessEnv, what: string): Promise<CliRun> {
  const run = await cli(args, env);
  if (run.code !== 0) {
    throw new Error(`${what} failed (exit ${run.code}):\n${run.output.split('\n').slice(-20).join('\n')}`);
  }
  return run;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Median of `samples` readings of the backend's whole process tree, one a second. */
async function settledRssKb(supervisorPid: number, samples = 10): Promise<number> {
  const readings: number[] = [];
  for (let i = 0; i < samples; i++) {
    readings.push(treeRssKb(supervisorPid));
    await sleep(1000);
  }
  return median(readings);
}

/** The tree's RSS by command name, largest first. */
function breakdown(supervisorPid: number): string {
  const byName = new Map<string, number>();
  for (const p of processTree(supervisorPid)) {
    byName.set(p.name, (byName.get(p.name) ?? 0) + p.rssKb);
  }
  return [...byName.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([name, kb]) => `${name} ${formatBytes(kb * 1024)}`)
    .join(', ');
}

/**
 * A cache folder for the benchmark: the installed tools and service binaries of the user's cache
 * (linked), without its workflow bundles, so that the first `up` really builds them.
 */
function privateCache(scratch: string): string {
  const dir = path.join(scratch, 'cache');
  fs.mkdirSync(dir, { recursive: true });
  const real = cacheDir();
  for (const entry of fs.existsSync(real) ? fs.readdirSync(real) : []) {
    if (!['bundles', 'uploads', 'worker'].includes(entry)) {
      fs.symlinkSync(path.join(real, entry), path.join(dir, entry));
    }
  }
  return dir;
}

async function main(): Promise<void> {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-bench-footprint-'));
  const stateDir = path.join(scratch, 'state');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    FUZZFORGE_BACKEND_MODE: 'embedded',
    FUZZFORGE_STATE_DIR: stateDir,
    FUZZFORGE_CACHE_DIR: privateCache(scratch),
    FUZZFORGE_WORKER_CACHE: path.join(scratch, 'worker'),
    FUZZFORGE_UPLOAD_CACHE: path.join(scratch, 'uploads'),
  };
  const ports = ['--temporal-port', '0', '--temporal-ui-port', '0', '--minio-port', '0', '--minio-console-port', '0'];
  const lines: string[] = [];
  const say = (line: string) => {
    lines.push(line);
    console.log(line);
  };
  const figures: Record<string, number> = {};
  let up = false;
  try {
    say(`machine: ${machineLine()}`);
    // 1. up to ready.
    const noBundle = await must(['up', ...ports], env, 'up (no cached bundle)');
    up = true;
    const verticals = readState(stateDir)?.workers.map((w) => w.vertical) ?? [];
    await must(['down'], env, 'down');
    up = false;
    fs.rmSync(path.join(env.FUZZFORGE_CACHE_DIR as string, 'bundles'), { recursive: true, force: true });
    const prebuild = spawn(process.execPath, [distEntry('worker'), '--prebuild', '--vertical', verticals.join(',')], {
      env,
      stdio: 'ignore',
    });
    await new Promise((resolve) => prebuild.on('close', resolve));
    const afterInstall = await must(['up', ...ports], env, 'up (after the prebuild)');
    up = true;
    await must(['down'], env, 'down');
    up = false;
    const warm: number[] = [];
    for (let i = 0; i < UP_ROUNDS; i++) {
      warm.push((await must(['up', ...ports], env, 'up (warm)')).ms);
      up = true;
      if (i < UP_ROUNDS - 1) {
        await must(['down'], env, 'down');
        up = false;
      }
    }
    figures.upNoBundleMs = noBundle.ms;
    figures.upAfterInstallMs = afterInstall.ms;
    figures.upWarmMs = median(warm);
    say(`verticals polling: ${verticals.join(', ')} (${verticals.length})`);
    say(`fuzzforge up to ready, no cached workflow bundle: ${(noBundle.ms / 1000).toFixed(2)} s`);
    say(`fuzzforge up to ready, first start after setup's prebuild: ${(afterInstall.ms / 1000).toFixed(2)} s`);
    say(
      `fuzzforge up to ready, warm (${UP_ROUNDS} rounds): median ${(figures.upWarmMs / 1000).toFixed(2)} s ` +
        `(${warm.map((ms) => (ms / 1000).toFixed(2)).join(', ')})`,
    );

    // 2. idle memory.
    const supervisorPid = readState(stateDir)?.supervisorPid;
    if (!supervisorPid) {
      throw new Error(`no supervisor in ${stateDir}/state.json after up`);
    }
    const upAt = Date.now();
    await sleep(30_000);
    const idle = await settledRssKb(supervisorPid);
    figures.idleRssKb = idle;
    say(`idle RSS, every process under the supervisor: ${formatBytes(idle * 1024)} (${breakdown(supervisorPid)})`);
    let settledIdle: number | undefined;
    if (SETTLED_IDLE_SECONDS > 0) {
      await sleep(Math.max(0, upAt + SETTLED_IDLE_SECONDS * 1000 - Date.now()));
      settledIdle = await settledRssKb(supervisorPid);
      figures.settledIdleRssKb = settledIdle;
      figures.settledIdleSeconds = SETTLED_IDLE_SECONDS;
      say(
        `idle RSS ${SETTLED_IDLE_SECONDS} s after up, no work yet: ${formatBytes(settledIdle * 1024)}, ` +
          `${((100 * settledIdle) / idle).toFixed(1)} % of idle (${breakdown(supervisorPid)})`,
      );
    }

    // 3. a full_scan and a campaign, then idle again.
    const staticWs = path.join(scratch, 'static');
    for (const name of STATIC_FIXTURES) {
      copyFixture(name, path.join(staticWs, name));
    }
    const fuzzWs = copyFixture('fuzz-python', path.join(scratch, 'fuzz'));
    let peak = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, treeRssKb(supervisorPid));
    }, 1000);
    try {
      const scan = await must(
        ['scan', staticWs, '--workflow', 'full_scan', '--fail-on', 'none', '--no-baseline'],
        env,
        'full_scan',
      );
      say(`full_scan of ${STATIC_FIXTURES.length} fixtures: ${(scan.ms / 1000).toFixed(1)} s`);
      const campaign = await must(
        [
          'scan',
          fuzzWs,
          '--workflow',
          'atheris_fuzzing',
          '--param',
          `max_total_time=${CAMPAIGN_SECONDS}`,
          '--fail-on',
          'none',
          '--no-baseline',
        ],
        env,
        'atheris campaign',
      );
      say(`atheris campaign of ${CAMPAIGN_SECONDS} s: ${(campaign.ms / 1000).toFixed(1)} s`);
    } finally {
      clearInterval(sampler);
    }
    figures.peakRssKb = peak;
    say(`peak RSS while they ran: ${formatBytes(peak * 1024)}`);
    const ended = Date.now();
    for (const [i, seconds] of SETTLE_SECONDS.entries()) {
      await sleep(Math.max(0, ended + seconds * 1000 - Date.now()));
      const after = await settledRssKb(supervisorPid);
      const pct = (100 * after) / idle;
      const pctSettled = settledIdle === undefined ? undefined : (100 * after) / settledIdle;
      const suffix = i === 0 ? '' : `${seconds}s`;
      if (i === 0) {
        figures.afterWorkRssKb = after;
      }
      figures[`afterWorkPctOfIdle${suffix}`] = pct;
      if (pctSettled !== undefined) {
        figures[`afterWorkPctOfSettledIdle${suffix}`] = pctSettled;
      }
      say(
        `RSS ${seconds} s after: ${formatBytes(after * 1024)}, ${pct.toFixed(1)} % of idle` +
          `${pctSettled === undefined ? '' : `, ${pctSettled.toFixed(1)} % of the idle ${SETTLED_IDLE_SECONDS} s after up`}` +
          ` (${breakdown(supervisorPid)})`,
      );
    }
    say(`saved: ${saveResult('footprint', figures)}`);
  } finally {
    if (up) {
      await cli(['down'], env);
    }
    const out = process.env.BENCH_OUT;
    if (out) {
      fs.writeFileSync(out, `${lines.join('\n')}\n`);
    }
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
