// full_scan: children on their verticals' queues in parallel, one merged log; a vertical without a
// worker becomes a notification instead of a failure.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { toolboxDir } from '../../backend/paths';
import { findingRows } from '../../backend/sarif/log';
import { awaitScan, fetchSarif, findWorkflow, startScan } from '../../backend/scan';
import type { ScanSummary } from '../../toolbox/shared/definitions';
import { dropOverlappingPatternResults } from '../../toolbox/modules/reporters/postprocess';
import { FIXTURES, startTestBackend, type TestBackend } from './harness';

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

describe('full_scan with every vertical', () => {
  let backend: TestBackend;
  let ws: string;
  before(async () => {
    backend = await startTestBackend({ verticals: ['generic', 'python', 'node', 'go', 'cpp'] });
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
    assert.ok((summary.deduplicated ?? 0) > 0, 'pattern results covered by dedicated tools were dropped');
    assert.equal(rows.length + (summary.deduplicated ?? 0), childResults, 'nothing else lost or added');
    const tools = new Set(sarif.runs.map((r) => r.tool.driver.name));
    for (const tool of ['fuzzforge-patterns', 'bandit', 'semgrep', 'eslint', 'gosec', 'cppcheck', 'flawfinder']) {
      assert.ok(tools.has(tool), `${tool} in ${[...tools].join(', ')}`);
    }
    assert.equal(dropOverlappingPatternResults(structuredClone(sarif)), 0, 'no duplicate left at one location');
    for (const lang of ['python-sast/', 'js-sast/', 'go-sast/', 'cpp-sast/', 'secrets-app/']) {
      assert.ok(
        rows.some((r) => decodeURI(r.file ?? '').startsWith(lang)),
        `findings in ${lang}`,
      );
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
    assert.ok(findingRows(sarif).length > 0);
  });
});
