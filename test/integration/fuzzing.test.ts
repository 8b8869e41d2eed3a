// The four fuzzing verticals end to end on a real backend with the real fuzzers: each finds its
// fixture's known crash within a bounded budget, reports live stats while running, stores the
// crash once however often it is hit (with its input), and `fuzzforge replay` reproduces it.
// Then: a cancel kills the fuzzer's process group promptly and keeps what was found; a worker
// killed mid-campaign is replaced and the campaign continues without losing the crash.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fuzzStats, listCrashes } from '../../backend/fuzzing';
import { toolboxDir } from '../../backend/paths';
import { findWorkflow, startScan, awaitScan } from '../../backend/scan';
import { readState } from '../../backend/services/state';
import { ObjectStore } from '../../backend/storage/objectStore';
import type { FuzzStatsSample } from '../../toolbox/shared/fuzzing';
import { copyFixture, runCli, sarifValidationProblems, startTestBackend, type TestBackend } from './harness';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Case {
  workflow: string;
  fixture: string;
  vertical: string;
  harness: string;
  kind: string;
  /** Top workspace frame of the known bug. */
  file: string;
  line: number;
  /** Extra workflow parameters. */
  params?: Record<string, unknown>;
}

const CASES: Case[] = [
  {
    workflow: 'libfuzzer_fuzzing',
    fixture: 'fuzz-cpp',
    // A valid empty record one mutation away from the bug: every restart finds it again quickly.
    params: { seed_corpus: 'seeds' },
    vertical: 'cpp',
    harness: 'fuzz_parse',
    kind: 'heap-buffer-overflow',
    file: 'src/parse.cc',
    line: 26,
  },
  {
    workflow: 'atheris_fuzzing',
    fixture: 'fuzz-python',
    // A valid empty record one mutation away from the bug: every restart finds it again quickly.
    params: { seed_corpus: 'seeds' },
    vertical: 'python',
    harness: 'fuzz_parser',
    kind: 'IndexError',
    file: 'parser.py',
    line: 34,
  },
  {
    workflow: 'go_fuzzing',
    fixture: 'fuzz-go',
    vertical: 'go',
    harness: 'FuzzParse',
    kind: 'index out of range',
    file: 'parse.go',
    line: 44,
  },
  {
    workflow: 'cargo_fuzzing',
    fixture: 'fuzz-rust',
    // A valid empty record one mutation away from the bug: every restart finds it again quickly.
    params: { seed_corpus: 'seeds' },
    vertical: 'rust',
    harness: 'parse',
    kind: 'rust-panic',
    file: 'src/lib.rs',
    line: 42,
  },
];

/** Processes whose command line mentions `needle` (fuzzers we started live under our cache). */
function processesMatching(needle: string): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) {
      continue;
    }
    try {
      const cmd = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(needle) && !cmd.includes('fuzzforge-fuzz')) {
        out.push(Number(entry));
      }
    } catch {
      // Gone.
    }
  }
  return out;
}

describe('fuzzing verticals end to end', () => {
  let backend: TestBackend;
  before(async () => {
    backend = await startTestBackend({ verticals: ['cpp', 'python', 'go', 'rust'] });
  });
  after(async () => {
    await backend?.stop();
  });

  async function start(c: Case, params: Record<string, unknown>, name = c.fixture) {
    const workspace = copyFixture(c.fixture, path.join(backend.root, name));
    const wf = findWorkflow(toolboxDir(), c.workflow);
    const { run } = await startScan(backend.conn, backend.runs, { path: workspace, workflow: wf, params });
    return { workspace, runId: run.runId };
  }

  for (const c of CASES) {
    it(`${c.workflow}: finds the known crash with live stats, stores it once with its input, and replay reproduces it`, async () => {
      const { workspace, runId } = await start(c, { max_total_time: 12, minimize_time: 2, ...c.params });
      // Live stats while it runs.
      const seen: FuzzStatsSample[] = [];
      for (;;) {
        const info = await backend.runs.describe(runId);
        if (info.status !== 'running') {
          break;
        }
        const view = await fuzzStats(backend.runs, runId).catch(() => undefined);
        if (view?.latest && view.latest.at !== seen[seen.length - 1]?.at) {
          seen.push(view.latest);
        }
        await sleep(500);
      }
      const { summary, sarif } = await awaitScan(backend.conn, backend.runs, runId);
      assert.ok(seen.length >= 2, `stats seen while running: ${JSON.stringify(seen)}`);
      // Live samples name the harness; executions are checked on the campaign's final stats below,
      // which count every fuzzer process (a live sample may come before the fuzzer's first stats
      // line on a slow machine, and a restart that crashes at once prints none).
      assert.ok(
        seen.some((s) => s.harness === c.harness),
        JSON.stringify(seen),
      );
      assert.ok(seen.every((s, i) => i === 0 || s.elapsedSec >= (seen[i - 1]?.elapsedSec ?? 0)));
      assert.equal(summary.fuzzing?.uniqueCrashes, 1, JSON.stringify(summary));
      const crashes = await listCrashes(backend.conn, runId);
      assert.equal(crashes.length, 1, JSON.stringify(crashes, null, 2));
      const crash = crashes[0];
      assert.ok(crash);
      assert.equal(crash.kind, c.kind);
      assert.equal(crash.harness, c.harness);
      // The restart loop finds the shallow bug again and again: one record, many hits.
      assert.ok(crash.hits >= 2, `hits ${crash.hits}: ${JSON.stringify(summary.fuzzing)}`);
      const top = crash.frames.find((f) => f.file && !f.file.startsWith('/'));
      assert.deepEqual([top?.file, top?.line], [c.file, c.line]);
      const store = new ObjectStore(backend.conn);
      const input = await store.getBuffer(store.buckets.results, crash.inputKey);
      assert.equal(input.length, crash.inputBytes);
      assert.ok(input.length > 0);
      const stack = (await store.getBuffer(store.buckets.results, crash.stackKey)).toString('utf8');
      assert.match(stack, new RegExp(path.basename(c.file).replace('.', '\\.')));
      // SARIF: one result at the bug, the stack as a code flow, the input as an attachment.
      const results = sarif.runs.flatMap((r) => r.results ?? []);
      assert.equal(results.length, 1);
      const r = results[0];
      assert.equal(r?.locations?.[0]?.physicalLocation?.artifactLocation?.uri, c.file);
      assert.equal(r?.locations?.[0]?.physicalLocation?.region?.startLine, c.line);
      assert.ok((r?.codeFlows?.[0]?.threadFlows[0]?.locations.length ?? 0) >= 1);
      assert.match(r?.attachments?.[0]?.artifactLocation.uri ?? '', /^s3:\/\/.*\/input$/);
      assert.deepEqual(await sarifValidationProblems(sarif, backend.root), []);
      // Replay on this machine from the workspace: reproduces, exits non-zero, prints the stack.
      const replay = await runCli(['replay', runId, crash.id.slice(0, 8), '--workspace', workspace], backend.env);
      assert.equal(replay.code, 1, replay.stderr);
      assert.match(replay.stderr, /reproduced/);
      assert.match(replay.stdout, new RegExp(path.basename(c.file).replace('.', '\\.')));
      // The stored reproduction command works from the workspace root on the saved input (cargo
      // skipped: it would build the crate again from cold).
      const saveDir = path.join(backend.root, `saved-${c.fixture}`);
      const saved = await runCli(['crashes', runId, '--save', saveDir], backend.env);
      assert.equal(saved.code, 0, saved.stderr);
      assert.deepEqual(fs.readFileSync(path.join(saveDir, `crash-${crash.id}`)), input);
      if (c.workflow !== 'cargo_fuzzing') {
        fs.copyFileSync(path.join(saveDir, `crash-${crash.id}`), path.join(workspace, `crash-${crash.id}`));
        const repro = spawnSync('sh', ['-c', crash.reproduce], { cwd: workspace, encoding: 'utf8', timeout: 120_000 });
        assert.notEqual(repro.status, 0, `${crash.reproduce}\n${repro.stdout}${repro.stderr}`);
        assert.match(repro.stdout + repro.stderr, new RegExp(path.basename(c.file).replace('.', '\\.')));
      }
      // The CLI shows the crash and the final stats.
      const listed = await runCli(['crashes', runId], backend.env);
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(listed.stdout, new RegExp(`${crash.id}.*${c.file.replace('.', '\\.')}:${c.line}`));
      const stats = await runCli(['stats', runId, '--json'], backend.env);
      assert.equal(stats.code, 0, stats.stderr);
      const view = JSON.parse(stats.stdout) as { finished: FuzzStatsSample[] };
      assert.equal(view.finished[0]?.harness, c.harness);
      assert.ok((view.finished[0]?.elapsedSec ?? 0) >= 10, JSON.stringify(view.finished));
      assert.ok((view.finished[0]?.execs ?? 0) > 0, JSON.stringify(view.finished));
      // The corpus was saved for the next campaign of this workspace.
      const corpus = await store.list(store.buckets.results, 'corpus/');
      assert.ok(
        corpus.some((o) => o.key.includes(`/${c.harness}/`)),
        `corpus objects: ${corpus.length}`,
      );
    });
  }

  it('a build failure fails the run with the compiler output', async () => {
    const c = CASES[0] as Case;
    const workspace = copyFixture(c.fixture, path.join(backend.root, 'broken-cpp'));
    fs.appendFileSync(path.join(workspace, 'src', 'parse.cc'), '\nthis is not C++;\n');
    const wf = findWorkflow(toolboxDir(), c.workflow);
    const { run } = await startScan(backend.conn, backend.runs, {
      path: workspace,
      workflow: wf,
      params: { max_total_time: 5 },
    });
    await assert.rejects(backend.runs.result(run.runId), (err: Error) => {
      assert.match(err.message, /building harness fuzz_parse failed/);
      assert.match(err.message, /parse\.cc:\d+:\d+: error/);
      return true;
    });
  });

  it('cancel kills the fuzzer and keeps the corpus found so far', async () => {
    const c = CASES[0] as Case;
    // The bug fixed: one long-lived fuzzer process, as in a real campaign.
    const workspace = copyFixture(c.fixture, path.join(backend.root, 'cancel-cpp'));
    const source = path.join(workspace, 'src', 'parse.cc');
    fs.writeFileSync(
      source,
      fs
        .readFileSync(source, 'utf8')
        .replace('size_t len = data[off];', 'if (off >= size) return -1;\n    size_t len = data[off];'),
    );
    const wf = findWorkflow(toolboxDir(), c.workflow);
    const { run } = await startScan(backend.conn, backend.runs, {
      path: workspace,
      workflow: wf,
      params: { max_total_time: 600 },
    });
    const runId = run.runId;
    // This workspace's own fuzzer (builds are kept per workspace): other runs may be fuzzing too.
    const workspaceId = (await backend.runs.describe(runId)).memo?.workspaceId;
    assert.ok(workspaceId);
    const needle = path.join('fuzz', 'builds', workspaceId);
    let view;
    for (let i = 0; i < 240; i++) {
      view = await fuzzStats(backend.runs, runId).catch(() => undefined);
      if (
        view?.latest &&
        view.latest.execs > 0 &&
        view.latest.elapsedSec >= 12 &&
        processesMatching(needle).length > 0
      ) {
        break;
      }
      await sleep(500);
    }
    const fuzzers = processesMatching(needle);
    assert.ok(fuzzers.length > 0, 'the fuzzer runs');
    const cancelled = Date.now();
    await backend.runs.cancel(runId);
    // Waits for what it asserts (the fuzzer gone); how long that took is a figure, not a verdict:
    // on a loaded 2-core machine the cancel's heartbeat round trip alone can take seconds.
    while (processesMatching(needle).length > 0 && Date.now() - cancelled < 120_000) {
      await sleep(100);
    }
    assert.deepEqual(processesMatching(needle), [], 'no fuzzer process is left after the cancel');
    console.log(`  fuzzer processes gone ${Date.now() - cancelled} ms after the cancel`);
    for (let i = 0; i < 60 && (await backend.runs.describe(runId)).status === 'running'; i++) {
      await sleep(500);
    }
    assert.equal((await backend.runs.describe(runId)).status, 'canceled');
    const store = new ObjectStore(backend.conn);
    assert.ok(await store.stat(store.buckets.results, `runs/${runId}/results.sarif`), 'SARIF written on cancel');
    const memo = (await backend.runs.describe(runId)).memo;
    const corpus = await store.list(store.buckets.results, `corpus/${memo?.workspaceId ?? ''}/`);
    assert.ok(corpus.length > 1, `corpus kept: ${corpus.length} entries`);
    // The next campaign of this workspace starts from it: with one execution allowed, libFuzzer
    // only loads the corpus, and reports more than its single empty seed.
    const next = await startScan(backend.conn, backend.runs, {
      path: workspace,
      workflow: wf,
      params: { max_total_time: 30, max_executions: 1 },
    });
    const { summary } = await awaitScan(backend.conn, backend.runs, next.run.runId);
    assert.ok((summary.fuzzing?.harnesses[0]?.corpusSize ?? 0) > 1, JSON.stringify(summary.fuzzing));
  });

  it('jobs: 2 fuzzes the harness with two parallel activities whose stats add up and whose crash is stored once', async () => {
    const c = CASES[1] as Case; // atheris: one process per activity (it has no fork mode of its own)
    const { runId } = await start(c, { ...c.params, max_total_time: 15, minimize_time: 0, jobs: 2 }, 'jobs-2');
    const { summary } = await awaitScan(backend.conn, backend.runs, runId);
    const final = summary.fuzzing?.harnesses[0];
    assert.equal(final?.shards, 2, JSON.stringify(final));
    assert.equal(summary.fuzzing?.uniqueCrashes, 1, JSON.stringify(summary.fuzzing));
    const crashes = await listCrashes(backend.conn, runId);
    assert.equal(crashes.length, 1);
    assert.equal(crashes[0]?.kind, c.kind);
    // Two segment activities, one per process, both started before either finished.
    const history = await backend.runs.client.workflow.getHandle(runId).fetchHistory();
    const events = history.events ?? [];
    const scheduled = new Map<string, { shard?: number; execs?: number; started?: number; done?: number }>();
    const ms = (t: unknown) =>
      Number((t as { seconds?: { toString(): string } })?.seconds?.toString() ?? 0) * 1000 +
      Math.floor(Number((t as { nanos?: number })?.nanos ?? 0) / 1e6);
    for (const e of events) {
      const s = e.activityTaskScheduledEventAttributes;
      if (s?.activityType?.name === 'fuzzSegment') {
        const payload = s.input?.payloads?.[0]?.data;
        const input = payload ? (JSON.parse(Buffer.from(payload).toString('utf8')) as { shard?: number }) : {};
        scheduled.set(String(e.eventId), { ...(input.shard !== undefined ? { shard: input.shard } : {}) });
      }
      const started = e.activityTaskStartedEventAttributes;
      const startedEntry = started ? scheduled.get(String(started.scheduledEventId)) : undefined;
      if (startedEntry) {
        // Written to the history when the activity closes, with the time it really started.
        startedEntry.started = ms(e.eventTime);
      }
      const completed = e.activityTaskCompletedEventAttributes;
      const entry = completed ? scheduled.get(String(completed.scheduledEventId)) : undefined;
      if (completed && entry) {
        const payload = completed.result?.payloads?.[0]?.data;
        if (payload) {
          entry.execs = (JSON.parse(Buffer.from(payload).toString('utf8')) as { last: FuzzStatsSample }).last.execs;
        }
        entry.done = ms(e.eventTime);
      }
    }
    const shards = [...scheduled.values()];
    assert.deepEqual(shards.map((v) => v.shard).sort(), [0, 1], JSON.stringify(shards));
    // They overlapped: each started before the other finished.
    const [a, b] = shards as [(typeof shards)[number], (typeof shards)[number]];
    assert.ok(
      (a.started ?? Infinity) < (b.done ?? 0) && (b.started ?? Infinity) < (a.done ?? 0),
      JSON.stringify(shards),
    );
    // The harness's executions are the sum of both processes' own.
    const perShard = shards.map((v) => v.execs ?? 0);
    assert.ok(
      perShard.every((n) => n > 0),
      JSON.stringify(perShard),
    );
    assert.equal(
      final?.execs,
      perShard.reduce((a, b) => a + b, 0),
    );
  });

  it('a seed corpus or dictionary that is not in the workspace fails the run naming the parameter', async () => {
    const c = CASES[0] as Case;
    const workspace = copyFixture(c.fixture, path.join(backend.root, 'bad-param'));
    const wf = findWorkflow(toolboxDir(), c.workflow);
    const { run } = await startScan(backend.conn, backend.runs, {
      path: workspace,
      workflow: wf,
      params: { max_total_time: 5, seed_corpus: 'seeds/missing' },
    });
    await assert.rejects(
      backend.runs.result(run.runId),
      /seed_corpus "seeds\/missing" does not exist in the workspace/,
    );
  });

  it('a worker killed mid-campaign is replaced; the campaign continues and keeps its crash', async () => {
    const c = CASES[1] as Case; // atheris: its worker is the python one.
    const { runId } = await start(c, { max_total_time: 30, minimize_time: 0 }, 'worker-loss');
    let before: FuzzStatsSample | undefined;
    for (let i = 0; i < 240; i++) {
      before = (await fuzzStats(backend.runs, runId).catch(() => undefined))?.latest;
      if (before && before.uniqueCrashes >= 1 && before.elapsedSec >= 4) {
        break;
      }
      await sleep(500);
    }
    assert.ok(before?.uniqueCrashes, 'a crash before the worker dies');
    const worker = readState(backend.stateDir)?.workers.find((w) => w.vertical === c.vertical);
    assert.ok(worker?.pid);
    // This run's own fuzzer (its work folder is named after the run): other runs on the machine
    // may be fuzzing too.
    const harnessProcess = path.join('fuzz', 'runs', runId);
    // Kill while the fuzzer runs (between a crash and its restart there is briefly none).
    for (let i = 0; i < 100 && processesMatching(harnessProcess).length === 0; i++) {
      await sleep(100);
    }
    assert.ok(processesMatching(harnessProcess).length > 0, 'the run’s fuzzer is running before the worker dies');
    process.kill(worker.pid, 'SIGKILL');
    // The fuzzer must not outlive its worker (its watchdog ends the process group).
    const killed = Date.now();
    while (processesMatching(harnessProcess).length > 0 && Date.now() - killed < 10_000) {
      await sleep(100);
    }
    assert.deepEqual(processesMatching(harnessProcess), [], 'no orphaned fuzzer after the worker died');
    const { summary } = await awaitScan(backend.conn, backend.runs, runId);
    const after = summary.fuzzing?.harnesses[0];
    assert.equal(summary.fuzzing?.uniqueCrashes, 1);
    // The retried attempt continued the clock instead of starting over or stopping early.
    assert.ok((after?.elapsedSec ?? 0) >= 29, JSON.stringify(after));
    assert.ok((after?.execs ?? 0) > (before?.execs ?? 0));
    const newWorker = readState(backend.stateDir)?.workers.find((w) => w.vertical === c.vertical);
    assert.notEqual(newWorker?.pid, worker.pid);
    const history = await backend.runs.client.workflow.getHandle(runId).fetchHistory();
    const attempts = (history.events ?? [])
      .map((e) => e.activityTaskStartedEventAttributes?.attempt ?? 0)
      .reduce((a, b) => Math.max(a, b), 0);
    assert.ok(attempts >= 2, 'the segment was retried after the heartbeat timeout');
  });
});
