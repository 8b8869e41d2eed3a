// full_scan: children on their verticals' queues in parallel, one merged log; a vertical without a
// worker becomes a notification instead of a failure.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { toolboxDir } from '../../backend/paths';
import { findingRows, type FindingRow } from '../../backend/sarif/log';
import { awaitScan, fetchSarif, findWorkflow, startScan } from '../../backend/scan';
import type { ScanSummary } from '../../toolbox/shared/definitions';
import { mergeSameWeakness } from '../../toolbox/modules/reporters/postprocess';
import { comparableRows, FIXTURES, readExpected, startTestBackend, type TestBackend } from './harness';

const CHILDREN: Record<string, string> = {
  security_assessment: 'generic',
  secret_detection: 'generic',
  python_sast: 'python',
  js_sast: 'node',
  go_sast: 'go',
  cpp_sast: 'cpp',
};

/** One workspace with every language: the fixtures side by side. */
function mixedWorkspace(root: string): string {
  const ws = path.join(root, 'mixed');
  for (const name of ['vulnerable-app', 'python-sast', 'js-sast', 'go-sast', 'cpp-sast', 'secrets-app']) {
    fs.cpSync(path.join(FIXTURES, name), path.join(ws, name), { recursive: true });
  }
  return ws;
}

/** How many results a log has under each fixture folder of the mixed workspace. */
function perFixture(rows: readonly FindingRow[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of rows) {
    const fixture = decodeURI(r.file ?? '').split('/')[0] ?? '';
    counts[fixture] = (counts[fixture] ?? 0) + 1;
  }
  return counts;
}

/** A fixture's results in the mixed workspace, as its expected file writes them (rule, file, line). */
function fixtureRows(rows: readonly FindingRow[], fixture: string): string[] {
  return comparableRows(rows)
    .filter((r) => r.file.startsWith(`${fixture}/`))
    .map((r) => `${r.file.slice(fixture.length + 1)}:${r.line} ${r.ruleId}`)
    .sort();
}

function expectedRows(fixture: string): string[] {
  return readExpected(fixture)
    .map((r) => `${r.file}:${r.line} ${r.ruleId}`)
    .sort();
}

function reportedAs(row: FindingRow): string[] {
  return (row.reportedBy ?? [{ tool: row.tool, ruleId: row.ruleId }]).map((b) => `${b.tool}/${b.ruleId}`);
}

describe('full_scan with every vertical', () => {
  let backend: TestBackend;
  let ws: string;
  before(async () => {
    backend = await startTestBackend({ verticals: ['generic', 'python', 'node', 'go', 'cpp'], shareable: true });
    ws = mixedWorkspace(backend.root);
  });
  after(async () => {
    await backend?.stop();
  });

  it('runs each child on its own queue and merges their results', async () => {
    const wf = findWorkflow(toolboxDir(), 'full_scan');
    const { run } = await startScan(backend.conn, backend.runs, { path: ws, workflow: wf, params: {} });
    const { summary, sarif } = await awaitScan(backend.conn, backend.runs, run.runId);
    assert.deepEqual(
      summary.tools.filter((t) => t.error).map((t) => `${t.name}: ${t.error}`),
      [],
      'every child ran cleanly',
    );
    let childResults = 0;
    for (const [child, vertical] of Object.entries(CHILDREN)) {
      const info = await backend.runs.describe(`${run.runId}.${child}`);
      assert.equal(info.status, 'completed', child);
      assert.equal(info.taskQueue, `fuzzforge-${vertical}`, child);
      const childSummary = (await backend.runs.client.workflow
        .getHandle(`${run.runId}.${child}`)
        .result()) as ScanSummary;
      const childLog = await fetchSarif(backend.conn, childSummary);
      childResults += findingRows(childLog).length;
    }
    const rows = findingRows(sarif);
    assert.equal(summary.deduplicated, 76, 'results of one weakness reported by several tools were merged');
    assert.equal(rows.length + (summary.deduplicated ?? 0), childResults, 'nothing else lost or added');
    const tools = new Set(sarif.runs.map((r) => r.tool.driver.name));
    for (const tool of ['fuzzforge-patterns', 'bandit', 'semgrep', 'eslint', 'gosec', 'cppcheck', 'flawfinder']) {
      assert.ok(tools.has(tool), `${tool} in ${[...tools].join(', ')}`);
    }
    assert.equal(mergeSameWeakness(structuredClone(sarif)), 0, 'no weakness left twice at one line');
    // One hard-coded secret, found by three tools of two child workflows: one result naming all
    // (the pattern rules of security_assessment may be among them too).
    const secret = rows.filter((r) => r.file === 'python-sast/notes/config.py' && r.line === 4);
    assert.equal(secret.length, 1, JSON.stringify(secret));
    const [merged] = secret as [FindingRow];
    assert.equal(merged.tool, 'fuzzforge-secrets', 'the secret detector speaks for a secret');
    const levels = (merged.reportedBy ?? []).map((b) => b.level);
    assert.equal(merged.level, levels.includes('error') ? 'error' : 'warning', 'the highest level of its tools');
    for (const by of ['bandit/B105', 'fuzzforge-secrets/ff-secret-generic-secret', 'semgrep/ff-py-hardcoded-secret']) {
      assert.ok(reportedAs(merged).includes(by), `${by} in ${reportedAs(merged).join(', ')}`);
    }
    // bandit (error) and semgrep (warning) on one MD5 call: one result, at the higher level.
    const hash = rows.filter((r) => r.file === 'python-sast/notes/auth.py' && r.line === 22);
    assert.deepEqual(
      hash.map((r) => [r.tool, r.level, reportedAs(r).filter((b) => !b.startsWith('fuzzforge-patterns/'))]),
      [['bandit', 'error', ['bandit/B324', 'semgrep/ff-py-weak-hash']]],
    );

    // The next run matches the merged results against this one: nothing new, nothing gone.
    const again = await startScan(backend.conn, backend.runs, { path: ws, workflow: wf, params: {} });
    const second = await awaitScan(backend.conn, backend.runs, again.run.runId);
    assert.equal(second.summary.baseline?.runId, run.runId);
    assert.equal(second.summary.baseline?.error, undefined);
    assert.deepEqual(
      { new: second.summary.baseline?.new, absent: second.summary.baseline?.absent },
      { new: 0, absent: 0 },
    );
    assert.equal(second.summary.baseline?.unchanged, rows.length);
    const secretAgain = findingRows(second.sarif).filter(
      (r) => r.file === 'python-sast/notes/config.py' && r.line === 4,
    );
    assert.deepEqual(secretAgain.map(reportedAs), secret.map(reportedAs), 'the merge survives baseline matching');
    assert.deepEqual(perFixture(rows), {
      'cpp-sast': 22,
      'go-sast': 18,
      'js-sast': 15,
      'python-sast': 36,
      'secrets-app': 18,
      'vulnerable-app': 84,
    });
    // Where no other tool speaks for one of its results, a fixture's results are its expected ones.
    for (const fixture of ['cpp-sast', 'js-sast', 'secrets-app']) {
      assert.deepEqual(fixtureRows(rows, fixture), expectedRows(fixture), fixture);
    }
  });
});

describe('full_scan without the language workers', () => {
  let backend: TestBackend;
  let ws: string;
  before(async () => {
    backend = await startTestBackend({ verticals: ['generic'] });
    ws = mixedWorkspace(backend.root);
  });
  after(async () => {
    await backend?.stop();
  });

  it('reports each unavailable vertical as a notification and keeps the other results', async () => {
    const wf = findWorkflow(toolboxDir(), 'full_scan');
    const { run } = await startScan(backend.conn, backend.runs, { path: ws, workflow: wf, params: {} });
    const { summary, sarif } = await awaitScan(backend.conn, backend.runs, run.runId);
    const errors = Object.fromEntries(summary.tools.filter((t) => t.error).map((t) => [t.name, t.error]));
    for (const [child, vertical] of Object.entries(CHILDREN)) {
      if (vertical === 'generic') {
        assert.equal(errors[child], undefined, child);
      } else {
        assert.match(errors[child] ?? '', new RegExp(`^${child} did not run: no ${vertical} worker is running`), child);
      }
    }
    const notes = sarif.runs.flatMap((r) => r.invocations ?? []).filter((i) => !i.executionSuccessful);
    assert.equal(notes.length, 4);
    // security_assessment's and secret_detection's results over the six fixtures; in secrets-app,
    // exactly its expected findings.
    const rows = findingRows(sarif);
    assert.deepEqual(perFixture(rows), {
      'cpp-sast': 1,
      'go-sast': 6,
      'js-sast': 6,
      'python-sast': 16,
      'secrets-app': 18,
      'vulnerable-app': 65,
    });
    assert.deepEqual(fixtureRows(rows, 'secrets-app'), expectedRows('secrets-app'));
  });
});
