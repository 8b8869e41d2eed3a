// `npm run bench`: prints figures, asserts nothing. Real services on free loopback ports.
//   1. upload of a generated 5,000-file / ~200 MB workspace: cold, unchanged, after a one-file
//      edit, beside a baseline that streams `tar -cz` of the same files into the same MinIO;
//   2. start-to-result latency of a trivial workflow and of a one-file security_assessment scan
//      (p50/p95 of 50 runs each);
//   3. idle memory (RSS) of the embedded stack.
import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { sleep } from '../../backend/concurrency';
import { toolboxDir } from '../../backend/paths';
import { awaitScan, findWorkflow, startScan } from '../../backend/scan';
import { readState } from '../../backend/services/state';
import { ObjectStore } from '../../backend/storage/objectStore';
import { formatBytes } from '../../backend/storage/pack';
import { TargetStore } from '../../backend/storage/targets';
import { startTestBackend } from '../integration/harness';

const FILES = Number(process.env.BENCH_FILES ?? 5000);
const TOTAL_BYTES = Number(process.env.BENCH_BYTES ?? 200 * 1024 * 1024);
const RUNS = Number(process.env.BENCH_RUNS ?? 50);

const WORDS = 'def class return import self value data user request response config error buffer index count'.split(
  ' ',
);

/** Source-like text (compresses roughly like code does), deterministic per seed. */
function sourceText(bytes: number, seed: number): Buffer {
  const rng = crypto.createHash('sha256').update(String(seed)).digest();
  let state = rng.readUInt32LE(0);
  const parts: string[] = [];
  let size = 0;
  while (size < bytes) {
    state = (state * 1664525 + 1013904223) >>> 0;
    const line = `${'    '.repeat(state % 3)}${WORDS[state % WORDS.length]}_${state % 997} = ${WORDS[(state >> 8) % WORDS.length]}(${state % 10007})\n`;
    parts.push(line);
    size += line.length;
  }
  return Buffer.from(parts.join('')).subarray(0, bytes);
}

function generateWorkspace(root: string): number {
  const avg = TOTAL_BYTES / FILES;
  let total = 0;
  for (let i = 0; i < FILES; i++) {
    // A spread of sizes around the average, like a real tree: many small files, some large.
    const size = Math.max(64, Math.round(avg * (0.25 + (1.5 * ((i * 7919) % 1000)) / 1000)));
    const file = path.join(root, `pkg${i % 50}`, `sub${i % 7}`, `module_${i}.py`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, sourceText(size, i));
    total += size;
  }
  return total;
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const start = process.hrtime.bigint();
  const value = await fn();
  return [value, Number(process.hrtime.bigint() - start) / 1e6];
}

/** Baseline: `tar -cz` of the same folder streamed into one object of the same MinIO. */
async function tarBaseline(store: ObjectStore, root: string): Promise<number> {
  const [, ms] = await timed(async () => {
    const child = spawn('tar', ['-cz', '-C', root, '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const closed = new Promise((resolve) => child.on('close', resolve));
    await store.client.putObject(store.buckets.targets, `baseline/${Date.now()}.tar.gz`, child.stdout);
    await closed;
  });
  return ms;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

function rssKb(pid: number | undefined): number {
  if (!pid) {
    return 0;
  }
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

function trivialToolbox(root: string): string {
  const dir = path.join(root, 'toolbox');
  fs.mkdirSync(path.join(dir, 'workflows', 'noop'), { recursive: true });
  fs.symlinkSync(path.join(toolboxDir(), 'modules'), path.join(dir, 'modules'));
  fs.symlinkSync(path.join(toolboxDir(), 'shared'), path.join(dir, 'shared'));
  fs.symlinkSync(
    path.join(toolboxDir(), 'workflows', 'security_assessment'),
    path.join(dir, 'workflows', 'security_assessment'),
  );
  fs.writeFileSync(
    path.join(dir, 'workflows', 'noop', 'metadata.yaml'),
    'name: noop\nversion: 1.0.0\ndescription: Returns at once (benchmark).\nvertical: generic\noutputs: [sarif]\nparameters: { type: object, properties: {} }\n',
  );
  fs.writeFileSync(
    path.join(dir, 'workflows', 'noop', 'workflow.ts'),
    'export async function noop(): Promise<number> {\n  return 1;\n}\n',
  );
  return dir;
}

async function main(): Promise<void> {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-bench-'));
  const backend = await startTestBackend({ toolbox: trivialToolbox(scratch) });
  const lines: string[] = [];
  const say = (line: string) => {
    lines.push(line);
    console.log(line);
  };
  try {
    say(`machine: ${os.cpus().length} cores, ${formatBytes(os.totalmem())}, node ${process.version}`);
    // 3. idle memory first, before the benchmark loads the stack.
    await sleep(5000);
    const state = readState(backend.stateDir);
    const parts = {
      temporal: rssKb(state?.temporal.pid),
      minio: rssKb(state?.storage.pid),
      supervisor: rssKb(state?.supervisorPid),
      'worker-generic': rssKb(state?.workers[0]?.pid),
    };
    const totalRss = Object.values(parts).reduce((a, b) => a + b, 0);
    say(
      `idle RSS of the embedded stack: ${formatBytes(totalRss * 1024)} (` +
        Object.entries(parts)
          .map(([k, v]) => `${k} ${formatBytes(v * 1024)}`)
          .join(', ') +
        ')',
    );

    // 1. uploads
    const ws = path.join(scratch, 'workspace');
    const bytes = generateWorkspace(ws);
    say(`workspace: ${FILES} files, ${formatBytes(bytes)}`);
    const store = new ObjectStore(backend.conn);
    const targets = new TargetStore(store);
    const [cold, coldMs] = await timed(() =>
      targets.uploadWorkspace(ws, {
        maxTotalBytes: 4 * bytes,
        onUploadProgress: (p) => process.env.BENCH_DEBUG && console.log(JSON.stringify(p)),
      }),
    );
    const [same, sameMs] = await timed(() => targets.uploadWorkspace(ws, { maxTotalBytes: 4 * bytes }));
    fs.appendFileSync(path.join(ws, 'pkg3', 'sub3', 'module_3.py'), 'edited = True\n');
    const [edit, editMs] = await timed(() => targets.uploadWorkspace(ws, { maxTotalBytes: 4 * bytes }));
    const baselineMs = await tarBaseline(store, ws);
    const baselineMs2 = await tarBaseline(store, ws);
    const base = Math.min(baselineMs, baselineMs2);
    say(
      `upload cold:          ${(coldMs / 1000).toFixed(2)} s, ${cold.uploadedObjects} objects, ${formatBytes(cold.uploadedBytes)}`,
    );
    say(
      `upload unchanged:     ${(sameMs / 1000).toFixed(2)} s, ${same.uploadedObjects} objects, ${formatBytes(same.uploadedBytes)}`,
    );
    say(
      `upload one-file edit: ${(editMs / 1000).toFixed(2)} s, ${edit.uploadedObjects} objects, ${formatBytes(edit.uploadedBytes)}`,
    );
    say(`baseline tar -cz | MinIO: ${(base / 1000).toFixed(2)} s (best of 2)`);
    say(
      `ratio ours/baseline: cold ${(coldMs / base).toFixed(2)}, unchanged ${(sameMs / base).toFixed(2)}, one-file edit ${(editMs / base).toFixed(2)}`,
    );

    // 2. latency
    const noop = findWorkflow(path.join(scratch, 'toolbox'), 'noop');
    const assess = findWorkflow(path.join(scratch, 'toolbox'), 'security_assessment');
    const tiny = path.join(scratch, 'tiny');
    fs.mkdirSync(tiny);
    fs.writeFileSync(path.join(tiny, 'app.py'), 'import os\nos.system("ls " + arg)\n');
    const tinyUpload = await targets.uploadWorkspace(tiny);
    const debug = (line: string) => process.env.BENCH_DEBUG && console.log(line);
    debug('latency: noop');
    const noopTimes: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const [, ms] = await timed(async () => {
        const run = await backend.runs.start({
          definition: noop,
          params: {},
          target: tinyUpload.target,
          workspace: { id: 'bench', name: 'bench', root: tiny, rootUri: 'file:///bench/' },
        });
        debug(`  started ${run.runId}`);
        await backend.runs.client.workflow.getHandle(run.runId).result();
      });
      noopTimes.push(ms);
    }
    const scanTimes: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const [, ms] = await timed(async () => {
        const { run } = await startScan(backend.conn, backend.runs, { path: tiny, workflow: assess, params: {} });
        await awaitScan(backend.conn, backend.runs, run.runId);
      });
      scanTimes.push(ms);
    }
    say(
      `trivial workflow start-to-result (${RUNS} runs): p50 ${percentile(noopTimes, 50).toFixed(0)} ms, p95 ${percentile(noopTimes, 95).toFixed(0)} ms`,
    );
    say(
      `one-file security_assessment incl. pack+upload+SARIF fetch (${RUNS} runs): p50 ${percentile(scanTimes, 50).toFixed(0)} ms, p95 ${percentile(scanTimes, 95).toFixed(0)} ms`,
    );
    const out = process.env.BENCH_OUT;
    if (out) {
      fs.writeFileSync(out, `${lines.join('\n')}\n`);
    }
  } finally {
    await backend.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
