// The pure half of the Runs and Findings views (extension/views/viewModel.ts) and the error →
// button mapping (extension/errors.ts).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { UserError } from '../../backend/errors';
import { RunFailedError } from '../../backend/temporal/runs';
import {
  BackendDownError,
  errorActions,
  MissingServiceBinaryError,
  missingServiceBinaries,
  runFailureReason,
} from '../../extension/errors';
import {
  findingCountsLabel,
  findingRow,
  formatDuration,
  formatStartTime,
  groupFindings,
  parseGroupBy,
  runRow,
  runStatusIcon,
  temporalRunUrl,
  type FindingEntry,
} from '../../extension/views/viewModel';

describe('runs view model', () => {
  it('formats durations at the scale a person reads them', () => {
    assert.equal(formatDuration(0), '0 ms');
    assert.equal(formatDuration(654), '654 ms');
    assert.equal(formatDuration(4230), '4.2 s');
    assert.equal(formatDuration(42_400), '42 s');
    assert.equal(formatDuration(185_000), '3 m 05 s');
    assert.equal(formatDuration(2 * 3600_000 + 3 * 60_000 + 59_000), '2 h 03 m');
    assert.equal(formatDuration(-1), '');
    assert.equal(formatDuration(Number.NaN), '');
  });

  it('formats start times relative to today (local time)', () => {
    const now = new Date(2026, 10, 24, 15, 30);
    assert.equal(formatStartTime(new Date(2026, 10, 24, 9, 5), now), '09:05');
    assert.equal(formatStartTime(new Date(2026, 10, 23, 23, 59), now), 'Nov 23 23:59');
    assert.equal(formatStartTime(new Date(2025, 0, 2, 8, 0), now), '2025-01-02 08:00');
  });

  it('has an icon for every status: running spins, the others do not', () => {
    assert.equal(runStatusIcon('running').id, 'sync~spin');
    for (const s of ['completed', 'failed', 'canceled', 'terminated', 'timed_out', 'paused', 'unknown'] as const) {
      assert.ok(!runStatusIcon(s).id.includes('~spin'), s);
    }
    assert.equal(runStatusIcon('completed').id, 'pass');
    assert.equal(runStatusIcon('failed').id, 'error');
    assert.equal(runStatusIcon('canceled').id, 'circle-slash');
    assert.equal(runStatusIcon('timed_out').id, 'watch');
  });

  it('labels finding counts, leaving out empty levels', () => {
    assert.equal(
      findingCountsLabel({ error: 42, warning: 19, note: 0, none: 0 }),
      '61 findings (42 error, 19 warning)',
    );
    assert.equal(findingCountsLabel({ error: 0, warning: 1, note: 0, none: 0 }), '1 finding (1 warning)');
    assert.equal(findingCountsLabel({ error: 0, warning: 0, note: 0, none: 0 }), 'no findings');
    assert.equal(findingCountsLabel({}), 'no findings');
  });

  it('describes a completed run with start, duration and counts, and offers its SARIF', () => {
    const now = new Date(2026, 10, 24, 15, 30);
    const row = runRow(
      {
        runId: 'security_assessment-20261124-143000-abcdef',
        workflow: 'security_assessment',
        status: 'completed',
        startTime: new Date(2026, 10, 24, 14, 30, 0),
        closeTime: new Date(2026, 10, 24, 14, 30, 0, 654),
        summary: { counts: { error: 3, warning: 1, note: 0, none: 0 } },
      },
      now,
    );
    assert.equal(row.label, 'security_assessment');
    assert.equal(row.description, '14:30 · 654 ms · 4 findings (3 error, 1 warning)');
    assert.equal(row.contextValue, 'run.completed.sarif');
    assert.equal(row.icon.id, 'pass');
    assert.match(row.accessibilityLabel, /^security_assessment completed, 14:30 · 654 ms · 4 findings/);
    assert.match(row.accessibilityLabel, /run security_assessment-20261124-143000-abcdef$/);
  });

  it('describes running and failed runs by their state (and the failure reason for screen readers)', () => {
    const now = new Date(2026, 10, 24, 15, 30, 10);
    const running = runRow(
      { runId: 'r1', workflow: 'go_sast', status: 'running', startTime: new Date(2026, 10, 24, 15, 30, 0) },
      now,
    );
    assert.equal(running.description, '15:30 · 10 s · running');
    assert.equal(running.contextValue, 'run.running');
    const failed = runRow(
      {
        runId: 'r2',
        workflow: 'go_sast',
        status: 'timed_out',
        startTime: new Date(2026, 10, 24, 15, 0, 0),
        closeTime: new Date(2026, 10, 24, 15, 10, 0),
        failure: 'Workflow execution timed out',
      },
      now,
    );
    assert.equal(failed.description, '15:00 · 10 m 00 s · timed out');
    assert.equal(failed.contextValue, 'run.timed_out');
    assert.match(failed.accessibilityLabel, /^go_sast timed out: Workflow execution timed out, /);
  });

  it('marks fuzzing runs so their rows offer stats and crash replay (running or not)', () => {
    const now = new Date(2026, 10, 24, 15, 30, 10);
    const start = new Date(2026, 10, 24, 15, 30, 0);
    assert.equal(
      runRow({ runId: 'f1', workflow: 'libfuzzer_fuzzing', status: 'running', startTime: start }, now).contextValue,
      'run.running.fuzzing',
    );
    assert.equal(
      runRow({ runId: 'f2', workflow: 'go_fuzzing', status: 'canceled', startTime: start }, now).contextValue,
      'run.canceled.fuzzing',
    );
    assert.equal(
      runRow({ runId: 'f3', workflow: 'atheris_fuzzing', status: 'completed', startTime: start }, now).contextValue,
      'run.completed.fuzzing.sarif',
    );
  });

  it('names the workspace folder in multi-root workspaces only', () => {
    const run = { runId: 'r', workflow: 'w', status: 'canceled' as const, workspaceName: 'api' };
    assert.equal(runRow(run, new Date(), false).description, 'canceled');
    assert.equal(runRow(run, new Date(), true).description, 'canceled · api');
  });

  it("links a run to its execution's history in the Temporal UI", () => {
    assert.equal(
      temporalRunUrl('http://127.0.0.1:8233/', 'default', 'security_assessment-20261124-001512-a3f9c1', 'c0ffee-1'),
      'http://127.0.0.1:8233/namespaces/default/workflows/security_assessment-20261124-001512-a3f9c1/c0ffee-1/history',
    );
    assert.equal(
      temporalRunUrl('http://127.0.0.1:8233', 'team a', 'w/1'),
      'http://127.0.0.1:8233/namespaces/team%20a/workflows?query=WorkflowId%3D%22w%2F1%22',
    );
  });
});

describe('findings view model', () => {
  const f = (relPath: string, line: number, severity: FindingEntry['severity'], ruleId: string): FindingEntry => ({
    file: `/ws/${relPath}`,
    relPath,
    line,
    column: 0,
    severity,
    ruleId,
    message: `${ruleId} in ${relPath}`,
  });
  const entries = [
    f('python/app.py', 36, 'error', 'ff-code-evaluation'),
    f('c/src/report.c', 6, 'error', 'ff-hardcoded-credential'),
    f('python/app.py', 15, 'error', 'ff-command-injection'),
    f('go/main.go', 9, 'warning', 'ff-weak-hash'),
    f('python/app.py', 21, 'error', 'ff-command-injection'),
    f('js/server.js', 3, 'information', 'ff-weak-hash'),
  ];

  it('groups by severity, errors first, with counts, entries in file/line order', () => {
    const groups = groupFindings(entries, 'severity');
    assert.deepEqual(
      groups.map((g) => [g.label, g.description]),
      [
        ['Errors', '4'],
        ['Warnings', '1'],
        ['Notes', '1'],
      ],
    );
    assert.deepEqual(
      groups[0]!.entries.map((e) => `${e.relPath}:${e.line}`),
      ['c/src/report.c:6', 'python/app.py:15', 'python/app.py:21', 'python/app.py:36'],
    );
  });

  it('groups by file, by path, with counts', () => {
    const groups = groupFindings(entries, 'file');
    assert.deepEqual(
      groups.map((g) => [g.key, g.label, g.description]),
      [
        ['/ws/c/src/report.c', 'c/src/report.c', '1'],
        ['/ws/go/main.go', 'go/main.go', '1'],
        ['/ws/js/server.js', 'js/server.js', '1'],
        ['/ws/python/app.py', 'python/app.py', '3'],
      ],
    );
    assert.deepEqual(
      groups[3]!.entries.map((e) => e.line),
      [15, 21, 36],
    );
  });

  it('groups by rule, most findings first, with the worst level', () => {
    const groups = groupFindings(entries, 'rule');
    assert.deepEqual(
      groups.map((g) => [g.label, g.description]),
      [
        ['ff-command-injection', '2 · error'],
        ['ff-weak-hash', '2 · warning'],
        ['ff-code-evaluation', '1 · error'],
        ['ff-hardcoded-credential', '1 · error'],
      ],
    );
  });

  it('keeps every entry exactly once whatever the grouping', () => {
    for (const by of ['severity', 'file', 'rule'] as const) {
      const all = groupFindings(entries, by).flatMap((g) => g.entries);
      assert.equal(all.length, entries.length, by);
      assert.equal(new Set(all).size, entries.length, by);
    }
    assert.deepEqual(groupFindings([], 'file'), []);
  });

  it('labels a finding with 1-based lines, leaving out what its group says', () => {
    const e = f('python/app.py', 15, 'error', 'ff-command-injection');
    assert.deepEqual(findingRow(e, 'severity'), {
      label: 'ff-command-injection in python/app.py',
      description: 'python/app.py:16 · ff-command-injection',
      accessibilityLabel: 'error ff-command-injection at python/app.py:16: ff-command-injection in python/app.py',
    });
    assert.equal(findingRow(e, 'file').description, 'line 16 · ff-command-injection');
    assert.equal(findingRow(e, 'rule').description, 'python/app.py:16');
  });

  it('reads the groupBy setting, falling back to severity', () => {
    assert.equal(parseGroupBy('file'), 'file');
    assert.equal(parseGroupBy('rule'), 'rule');
    assert.equal(parseGroupBy('folder'), 'severity');
    assert.equal(parseGroupBy(undefined), 'severity');
  });
});

describe('errors a person can act on', () => {
  it('offers Start Backend when the backend is down, Show Logs for everything else', () => {
    assert.deepEqual(errorActions(new BackendDownError()), ['Start Backend', 'Show Logs']);
    const failed = new RunFailedError('r1', 'failed', 'Activity task failed: tool crashed');
    assert.deepEqual(errorActions(failed), ['Show Logs']);
    assert.equal(runFailureReason(failed), 'Activity task failed: tool crashed');
    assert.match(failed.message, /^run r1 failed: Activity task failed: tool crashed$/);
    assert.deepEqual(errorActions(new Error('boom')), ['Show Logs']);
    assert.equal(runFailureReason(new UserError('x')), undefined);
  });

  it('says how to get a missing service binary', () => {
    const err = new MissingServiceBinaryError(['temporal', 'minio']);
    assert.match(
      err.message,
      /the Temporal CLI \(temporal\) and MinIO \(minio\) are not installed, and Go is not on PATH/,
    );
    assert.match(err.hint ?? '', /npm run setup/);
    assert.match(err.hint ?? '', /FUZZFORGE_TEMPORAL_BIN \/ FUZZFORGE_MINIO_BIN/);
    assert.match(new MissingServiceBinaryError(['minio']).message, /^MinIO \(minio\) is not installed/);
  });

  it('finds which service binaries are missing (PATH, cache, overrides)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-bins-'));
    try {
      const env = { PATH: path.join(dir, 'path'), FUZZFORGE_CACHE_DIR: path.join(dir, 'cache') };
      assert.deepEqual(missingServiceBinaries(env), ['temporal', 'minio']);
      fs.mkdirSync(path.join(dir, 'cache', 'bin'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'cache', 'bin', 'minio'), '#!/bin/sh\n', { mode: 0o755 });
      assert.deepEqual(missingServiceBinaries(env), ['temporal']);
      // A bad override is reported by the backend with the variable's name, not as "missing".
      assert.deepEqual(missingServiceBinaries({ ...env, FUZZFORGE_TEMPORAL_BIN: path.join(dir, 'nope') }), []);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
