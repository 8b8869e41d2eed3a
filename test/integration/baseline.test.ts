// Baselines and suppressions end to end: the second scan of a workspace is matched against the
// first by sarif-multitool on the worker; inline comments and .fuzzforge/ignore suppress results.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { toolboxDir } from '../../backend/paths';
import { findingRows } from '../../backend/sarif/log';
import type { SarifLog } from '../../backend/sarif/types';
import { awaitScan, fetchSarif, findWorkflow, startScan } from '../../backend/scan';
import { runSarifKey } from '../../backend/storage/runKeys';
import { RunFailedError } from '../../backend/temporal/runs';
import { copyFixture, runCli, startTestBackend, type TestBackend } from './harness';

interface CliFindings {
  runId: string;
  summary: {
    suppressed?: number;
    baseline?: { runId: string; new: number; absent: number; unchanged: number; updated: number };
  };
  findings: { ruleId: string; file: string; line: number; suppressed: boolean; baselineState?: string }[];
  fixed: { ruleId: string; file: string; line: number }[];
}

describe('baselines and suppressions', () => {
  let backend: TestBackend;
  let ws: string;
  let firstRun: string;
  before(async () => {
    backend = await startTestBackend({ shareable: true });
    ws = copyFixture('vulnerable-app', path.join(backend.root, 'app'));
  });
  after(async () => {
    await backend?.stop();
  });

  const scan = (...extra: string[]) =>
    runCli(['scan', ws, '-w', 'security_assessment', '--json', ...extra], backend.env);

  it('has no baseline on the first scan of a workspace', async () => {
    const first = await scan();
    assert.equal(first.code, 0, first.stderr);
    const out = JSON.parse(first.stdout) as CliFindings;
    firstRun = out.runId;
    assert.equal(out.summary.baseline, undefined);
    assert.ok(out.findings.every((f) => f.baselineState === undefined));
  });

  it('marks a fixed finding absent, a new one new, and honours both kinds of suppression', async () => {
    const app = path.join(ws, 'python', 'app.py');
    const lines = fs.readFileSync(app, 'utf8').split('\n');
    assert.match(lines[21] ?? '', /os\.system\(f"tar czf/);
    lines[21] = '    subprocess.run(["tar", "czf", f"/tmp/{name}.tgz", "/srv/data"], check=True)';
    assert.match(lines[29] ?? '', /db\.execute\(f"SELECT/);
    lines[29] += '  # fuzzforge-ignore[ff-sql-injection]';
    lines.push('', 'def load(blob):', '    import pickle', '    return pickle.loads(blob)', '');
    fs.writeFileSync(app, lines.join('\n'));
    fs.mkdirSync(path.join(ws, '.fuzzforge'), { recursive: true });
    fs.writeFileSync(
      path.join(ws, '.fuzzforge', 'ignore'),
      '# reviewed\nff-code-evaluation python/** calculator input is sandboxed\n',
    );

    const second = await scan('--fail-on', 'error', '--fail-on-new');
    assert.equal(second.code, 1, 'a new error fails --fail-on-new');
    const out = JSON.parse(second.stdout) as CliFindings;
    assert.equal(out.summary.baseline?.runId, firstRun);
    assert.equal(out.summary.baseline?.new, 1);
    assert.equal(out.summary.baseline?.absent, 1);
    assert.equal(out.summary.suppressed, 2);
    const newOnes = out.findings.filter((f) => f.baselineState === 'new');
    assert.deepEqual(
      newOnes.map((f) => `${f.ruleId} ${decodeURI(f.file)}:${f.line}`),
      [`ff-unsafe-deserialization python/app.py:${lines.length - 1}`],
    );
    assert.deepEqual(
      out.fixed.map((f) => `${f.ruleId} ${decodeURI(f.file)}:${f.line}`),
      ['ff-command-injection python/app.py:22'],
    );
    const suppressed = out.findings
      .filter((f) => f.suppressed)
      .map((f) => `${f.ruleId} ${decodeURI(f.file)}:${f.line}`);
    assert.deepEqual(suppressed.sort(), ['ff-code-evaluation python/app.py:37', 'ff-sql-injection python/app.py:30']);

    const newOnly = await runCli(['run', 'findings', out.runId, '--new-only'], backend.env);
    assert.equal(newOnly.code, 0);
    assert.match(newOnly.stdout, /ff-unsafe-deserialization\s+python\/app\.py:\d+/);
    assert.match(newOnly.stdout, /^1 finding\(s\): 1 error, 0 warning, 0 note; 1 new, 1 fixed since the baseline$/m);
  });

  it('counts nothing new against the previous run, and suppressed results never fail a build', async () => {
    const third = await scan('--fail-on', 'error', '--fail-on-new');
    assert.equal(third.code, 0, 'nothing new since the second scan');
    const out = JSON.parse(third.stdout) as CliFindings;
    assert.equal(out.summary.baseline?.new, 0);

    // Only the suppressed findings of python/app.py at error level remain if everything else is
    // filtered out by parameter: they must not fail the build.
    const onlySuppressed = await runCli(
      [
        'scan',
        ws,
        '-w',
        'security_assessment',
        '--no-baseline',
        '--param',
        'rules=ff-sql-injection,ff-code-evaluation',
        '--param',
        'languages=python',
        '--fail-on',
        'note',
      ],
      backend.env,
    );
    assert.equal(onlySuppressed.code, 0, onlySuppressed.stdout + onlySuppressed.stderr);
    assert.match(onlySuppressed.stdout, /\(\+2 suppressed\)/);
  });

  it('compares with an explicit baseline run', async () => {
    const explicit = await scan('--baseline', firstRun);
    const out = JSON.parse(explicit.stdout) as CliFindings;
    assert.equal(out.summary.baseline?.runId, firstRun);
    assert.equal(out.summary.baseline?.absent, 1);
    const bad = await scan('--baseline', 'no-such-run');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /no run with id no-such-run/);
  });

  it('passes the results on before the baseline matching ends, then the same results marked', async () => {
    // A finding only this run has, so the marks differ from the early log.
    fs.appendFileSync(path.join(ws, 'python', 'app.py'), '\ndef again(text):\n    return eval(text)\n');
    const { run, baseline } = await startScan(backend.conn, backend.runs, {
      path: ws,
      workflow: findWorkflow(toolboxDir(), 'security_assessment'),
      params: {},
    });
    assert.ok(baseline, 'the run has a baseline');
    const early: SarifLog[] = [];
    const { summary, sarif } = await awaitScan(backend.conn, backend.runs, run.runId, undefined, (log) =>
      early.push(log),
    );
    assert.equal(early.length, 1, 'the early results are passed on once');
    assert.equal(summary.baseline?.runId, baseline.runId);
    assert.equal(summary.baseline?.error, undefined);
    assert.equal(summary.baseline?.new, 1, 'the new eval() is marked new');
    assert.equal(summary.baseline?.absent, 0);
    const rows = (log: SarifLog) =>
      findingRows(log)
        .filter((r) => r.baselineState !== 'absent')
        .map((r) => `${r.ruleId} ${r.file}:${r.line}`)
        .sort();
    assert.deepEqual(rows(early[0]!), rows(sarif), 'the early log holds the same results as the final one');
    assert.ok(
      findingRows(early[0]!).every((r) => r.baselineState === undefined),
      'the early results carry no marks yet',
    );
    assert.ok(findingRows(sarif).some((r) => r.baselineState === 'new' && r.file === 'python/app.py'));
  });

  // What a run's history says about its pause and its matching: the timer, and the local
  // activities it ran (the input check is one, the matching another).
  const pauseAndMatching = async (runId: string) => {
    const events = (await backend.runs.client.workflow.getHandle(runId).fetchHistory()).events ?? [];
    return {
      timers: events.filter((e) => e.timerStartedEventAttributes).length,
      localActivities: events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity')
        .length,
    };
  };

  it('matches after the pause a client asked for, and not at all once the run is cancelled in it', async () => {
    const workflow = findWorkflow(toolboxDir(), 'security_assessment');
    fs.appendFileSync(path.join(ws, 'python', 'app.py'), '\ndef paused(text):\n    return eval(text)\n');
    const paused = await startScan(backend.conn, backend.runs, { path: ws, workflow, params: {}, matchAfterMs: 300 });
    assert.equal(paused.baseline?.matchAfterMs, 300);
    const { summary } = await awaitScan(backend.conn, backend.runs, paused.run.runId, undefined, () => undefined);
    assert.equal(summary.baseline?.new, 1, 'matched once the pause ended');
    assert.deepEqual(await pauseAndMatching(paused.run.runId), { timers: 1, localActivities: 2 });

    // Superseded in its pause (run on save cancels it when the next save's run starts).
    fs.appendFileSync(path.join(ws, 'python', 'app.py'), '\ndef superseded(text):\n    return eval(text)\n');
    const cancelled = await startScan(backend.conn, backend.runs, {
      path: ws,
      workflow,
      params: {},
      matchAfterMs: 10_000,
    });
    let shown: SarifLog | undefined;
    const waiting = awaitScan(backend.conn, backend.runs, cancelled.run.runId, undefined, (log) => {
      shown = log;
      void backend.runs.cancel(cancelled.run.runId);
    });
    await assert.rejects(waiting, (err) => err instanceof RunFailedError && err.status === 'canceled');
    assert.ok(shown, 'its results were passed on before it was cancelled');
    assert.deepEqual(await pauseAndMatching(cancelled.run.runId), { timers: 1, localActivities: 1 }, 'never matched');
    const stored = await fetchSarif(backend.conn, {
      resultsBucket: backend.conn.buckets.results,
      sarifKey: runSarifKey(cancelled.run.runId),
    });
    assert.ok(findingRows(stored).length > 0, 'its results stay stored');
    assert.ok(
      findingRows(stored).every((r) => r.baselineState === undefined),
      'unmarked',
    );
  });
});
