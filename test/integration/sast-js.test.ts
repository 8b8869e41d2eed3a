// js_sast end to end: the fixture (JavaScript, TypeScript, TSX, and an eslint config of its own
// that must NOT be loaded) through a real node worker running the real eslint, compared with its
// known answers; then an eslint that refuses to run (an unknown extra rule) must leave a notification.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findingRows, type FindingRow } from '../../backend/sarif/log';
import type { SarifRule, SarifRun } from '../../backend/sarif/types';
import { awaitScan, findWorkflow, startScan } from '../../backend/scan';
import { toolboxDir } from '../../backend/paths';
import { installTools } from '../../backend/toolbox/tools';
import {
  copyFixture,
  startTestBackend,
  type TestBackend,
  sarifValidationProblems,
  readExpected,
  comparableRows,
  byPosition,
} from './harness';

const expected = readExpected('js-sast');

/** PATH without node_modules/.bin folders: under `npm test` the project's own eslint is on PATH,
 * and installTools would take it for the tool and skip installing the plugin next to it. */
function pathWithoutNodeModules(): string {
  return (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter((d) => !d.split(path.sep).includes('node_modules'))
    .join(path.delimiter);
}

describe('js_sast end to end', () => {
  let backend: TestBackend;
  let workspace: string;
  let firstRows: FindingRow[] = [];
  before(
    async () => {
      // Idempotent: instant when `fuzzforge setup --tools` already installed them.
      const missing = await installTools(['node'], () => undefined, { ...process.env, PATH: pathWithoutNodeModules() });
      assert.deepEqual(
        missing.map((m) => m.reason),
        [],
        'eslint must be installed (node dist/cli.js setup --tools)',
      );
      backend = await startTestBackend({ verticals: ['node'], shareable: true });
      workspace = copyFixture('js-sast', path.join(backend.root, 'js-sast'));
    },
    { timeout: 10 * 60_000 },
  );
  after(async () => {
    await backend?.stop();
  });

  it('reports exactly the known findings with our config, not the workspace one', async () => {
    const wf = findWorkflow(toolboxDir(), 'js_sast');
    const { run } = await startScan(backend.conn, backend.runs, {
      path: workspace,
      workflow: wf,
      params: {},
      baseline: false,
    });
    const { summary, sarif } = await awaitScan(backend.conn, backend.runs, run.runId);
    firstRows = findingRows(sarif);
    const rows = comparableRows(firstRows);
    if (process.env.FUZZFORGE_WRITE_EXPECTED) {
      fs.writeFileSync(process.env.FUZZFORGE_WRITE_EXPECTED, `${JSON.stringify(rows, null, 2)}\n`);
    }
    assert.deepEqual(rows, expected);
    assert.equal(summary.total, expected.length);
    // The workspace's eslint.config.js loads a plugin that does not exist: had eslint read it,
    // the tool would have failed instead of reporting.
    assert.deepEqual(
      summary.tools.map((t) => [t.name, t.error]),
      [['eslint', undefined]],
    );
    // TypeScript and TSX were parsed (no parsing-error notifications), JS rules applied to both.
    assert.ok(rows.some((r) => r.file.endsWith('.ts')));
    assert.equal(sarif.runs.length, 1);
    const runLog: SarifRun | undefined = sarif.runs[0];
    assert.ok(runLog);
    const driver = runLog.tool.driver;
    assert.equal(driver.name, 'eslint');
    assert.match(driver.version ?? '', /^\d+\.\d+\.\d+$/);
    assert.deepEqual(runLog.invocations, [{ executionSuccessful: true }]);
    assert.match(
      String((runLog.properties?.plugins as Record<string, string>)['eslint-plugin-security']),
      /^\d+\.\d+\.\d+$/,
    );
    for (const result of runLog.results ?? []) {
      const loc = result.locations?.[0]?.physicalLocation;
      assert.equal(loc?.artifactLocation?.uriBaseId, 'SRCROOT');
      assert.ok(!/^(\/|file:)/.test(loc?.artifactLocation?.uri ?? '/'), 'URIs are relative to the workspace');
      assert.ok(loc?.region?.snippet?.text, 'results carry the line as a snippet');
      const rule: SarifRule | undefined = driver.rules?.[result.ruleIndex ?? -1];
      assert.equal(rule?.id, result.ruleId);
      assert.match(rule?.helpUri ?? '', /^https:\/\/(github\.com\/eslint-community|eslint\.org)\//);
      assert.ok(
        rule?.properties?.tags?.some((t) => /^external\/cwe\/cwe-\d+$/.test(t)),
        `${rule?.id} has a CWE tag`,
      );
    }
    const file = path.join(backend.root, 'js-sast.sarif');
    fs.writeFileSync(file, JSON.stringify(sarif));
    assert.deepEqual(await sarifValidationProblems(file, backend.root, ['error', 'warning']), []);
  });

  it('honours min_level, exclude and extra rules', async () => {
    const wf = findWorkflow(toolboxDir(), 'js_sast');
    const { run } = await startScan(backend.conn, backend.runs, {
      path: workspace,
      workflow: wf,
      baseline: false,
      params: { min_level: 'warning', exclude: ['src/routes/'], extra_eslint_rules: { 'no-unused-vars': 'error' } },
    });
    const { sarif } = await awaitScan(backend.conn, backend.runs, run.runId);
    const want = comparableRows(firstRows.filter((r) => r.level !== 'note' && !r.file?.startsWith('src/routes/')));
    assert.equal(want.length, 3, 'the warnings and errors outside src/routes/');
    // The extra rule finds the one unused parameter of the fixture, at eslint's severity.
    const extra = { tool: 'eslint', ruleId: 'no-unused-vars', file: 'src/lib/settings.ts', line: 16 };
    assert.deepEqual(comparableRows(findingRows(sarif)), [...want, extra].sort(byPosition));
    assert.equal(findingRows(sarif).find((r) => r.ruleId === 'no-unused-vars')?.level, 'error');
  });

  it('an eslint that refuses to run leaves a notification with its error', async () => {
    const wf = findWorkflow(toolboxDir(), 'js_sast');
    const { run } = await startScan(backend.conn, backend.runs, {
      path: workspace,
      workflow: wf,
      baseline: false,
      params: { extra_eslint_rules: { 'no-such-rule': 'error' } },
    });
    const { summary, sarif } = await awaitScan(backend.conn, backend.runs, run.runId);
    assert.equal(summary.total, 0);
    assert.equal(summary.tools.length, 1);
    assert.equal(summary.tools[0]?.name, 'eslint');
    assert.match(summary.tools[0]?.error ?? '', /^eslint exited with code 2: .*Could not find "no-such-rule"/s);
    assert.doesNotMatch(summary.tools[0]?.error ?? '', /^\s+at /m, 'no stack frames in the excerpt');
    const runLog = sarif.runs[0];
    assert.equal(runLog?.invocations?.[0]?.executionSuccessful, false);
  });
});
