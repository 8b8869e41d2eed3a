// cpp_sast end to end on a real backend: the cpp-sast fixture scanned by cppcheck and flawfinder
// on the cpp worker, compared with its expected findings; a failing tool leaves a notification
// and the other tool's results; the parameters reach the tools.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { SarifLog, SarifRun } from '../../backend/sarif/types';
import { awaitScan, findWorkflow, startScan } from '../../backend/scan';
import { toolboxDir } from '../../backend/paths';
import {
  copyFixture,
  startTestBackend,
  type TestBackend,
  sarifValidationProblems,
  readExpected,
  comparableRows,
  byPosition,
} from './harness';

const expected = readExpected('cpp-sast');

function runOf(sarif: SarifLog, tool: string): SarifRun {
  const run = sarif.runs.find((r) => r.tool.driver.name === tool);
  assert.ok(run, `a ${tool} run`);
  return run;
}

describe('cpp_sast end to end', () => {
  let backend: TestBackend;
  let workspace: string;
  before(async () => {
    backend = await startTestBackend({ verticals: ['cpp'], shareable: true });
    workspace = copyFixture('cpp-sast', path.join(backend.root, 'cpp-sast'));
  });
  after(async () => {
    await backend?.stop();
  });

  async function scan(params: Record<string, unknown>) {
    const wf = findWorkflow(toolboxDir(), 'cpp_sast');
    const { run } = await startScan(backend.conn, backend.runs, { path: workspace, workflow: wf, params });
    return awaitScan(backend.conn, backend.runs, run.runId);
  }

  it('reports exactly the expected cppcheck and flawfinder findings, relative to SRCROOT, with versions', async () => {
    const { summary, sarif } = await scan({});
    assert.deepEqual(comparableRows(sarif), expected);
    assert.equal(summary.total, expected.length);
    assert.deepEqual(
      summary.tools.map((t) => [t.name, t.error]),
      [
        ['cppcheck', undefined],
        ['flawfinder', undefined],
      ],
    );
    for (const run of sarif.runs) {
      assert.match(run.tool.driver.version ?? '', /^\d+\.\d+/, `${run.tool.driver.name} has a version`);
      assert.equal(run.originalUriBaseIds?.SRCROOT?.uri, `${pathToFileURL(fs.realpathSync(workspace)).href}/`);
      for (const result of run.results ?? []) {
        const loc = result.locations?.[0]?.physicalLocation;
        assert.equal(loc?.artifactLocation?.uriBaseId, 'SRCROOT');
        assert.ok(!loc?.artifactLocation?.uri.startsWith('/'), 'URIs are relative to the workspace');
        assert.ok(!loc?.artifactLocation?.uri.startsWith('./'), 'URIs are normalised');
        assert.ok(result.level, 'explicit level');
        const rule = run.tool.driver.rules?.[result.ruleIndex ?? -1];
        assert.equal(rule?.id, result.ruleId);
        assert.ok(rule?.helpUri, `${rule?.id} has a help link`);
        assert.ok(
          rule?.properties?.tags?.some((t) => /^external\/cwe\/cwe-\d+$/.test(t)),
          `${rule?.id} has a CWE tag`,
        );
        assert.ok(result.partialFingerprints?.['fuzzforge/v1']);
      }
    }
    const nullPointer = runOf(sarif, 'cppcheck').tool.driver.rules?.find((r) => r.id === 'nullPointer');
    assert.deepEqual(nullPointer?.properties?.cwe, ['CWE-476']);
    assert.deepEqual(await sarifValidationProblems(sarif, backend.root), []);
  });

  it('keeps flawfinder results when cppcheck rejects its options, with a notification carrying its output', async () => {
    // gnu11 is GCC's dialect name, which cppcheck does not accept; --falsepositive drops the
    // "statically-sized array" hits.
    const { summary, sarif } = await scan({ std: 'gnu11', false_positive: true });
    const cppcheckTool = summary.tools.find((t) => t.name === 'cppcheck');
    assert.equal(cppcheckTool?.error, "cppcheck exited with code 1: cppcheck: error: unknown --std value 'gnu11'");
    const cppcheck = runOf(sarif, 'cppcheck');
    assert.equal(cppcheck.results?.length, 0);
    assert.match(cppcheck.tool.driver.version ?? '', /^\d+\.\d+/, 'the failed run still names the version');
    assert.equal(cppcheck.invocations?.[0]?.executionSuccessful, false);
    assert.match(
      cppcheck.invocations?.[0]?.toolExecutionNotifications?.[0]?.message.text ?? '',
      /unknown --std value 'gnu11'/,
    );
    assert.deepEqual(
      comparableRows(sarif),
      expected.filter((r) => r.tool === 'flawfinder' && r.ruleId !== 'FF1013'),
    );
  });

  it('analyses a file that is not UTF-8 instead of losing the whole flawfinder run', async () => {
    // flawfinder itself stops at a Latin-1 file with "encoding error" (exit 15).
    const mixed = copyFixture('cpp-sast', path.join(backend.root, 'cpp-latin1'));
    copyFixture('cpp-latin1', mixed);
    const wf = findWorkflow(toolboxDir(), 'cpp_sast');
    const { run } = await startScan(backend.conn, backend.runs, {
      path: mixed,
      workflow: wf,
      params: { tools: ['flawfinder'] },
    });
    const { summary, sarif } = await awaitScan(backend.conn, backend.runs, run.runId);
    assert.equal(summary.tools[0]?.error, undefined);
    const legacy = [
      { tool: 'flawfinder', ruleId: 'FF1013', file: 'src/legacy.c', line: 7 },
      { tool: 'flawfinder', ruleId: 'FF1001', file: 'src/legacy.c', line: 8 },
      { tool: 'flawfinder', ruleId: 'FF1015', file: 'src/legacy.c', line: 9 },
    ];
    assert.deepEqual(
      comparableRows(sarif),
      [...expected.filter((r) => r.tool === 'flawfinder'), ...legacy].sort(byPosition),
    );
    const flawfinder = runOf(sarif, 'flawfinder');
    const snippet = flawfinder.results?.find(
      (r) => r.ruleId === 'FF1015' && r.locations?.[0]?.physicalLocation?.artifactLocation?.uri === 'src/legacy.c',
    )?.locations?.[0]?.physicalLocation?.region?.snippet?.text;
    assert.equal(snippet?.trim(), 'sprintf(dest, "%s \u00ab\u00a0%s\u00a0\u00bb", tampon, "r\u00e9sum\u00e9");');
    assert.deepEqual(
      flawfinder.invocations?.[0]?.toolExecutionNotifications?.map((n) => n.message.text),
      ['not UTF-8, so analysed as Latin-1 text:\nsrc/legacy.c'],
    );
  });

  it('applies tools, min_level and exclude', async () => {
    const { summary, sarif } = await scan({ tools: ['flawfinder'], min_level: 4, exclude: ['src/table.cpp'] });
    assert.deepEqual(
      summary.tools.map((t) => t.name),
      ['flawfinder'],
    );
    const levelFourAndUp = new Set(['FF1001', 'FF1014', 'FF1015', 'FF1016', 'FF1044']);
    assert.deepEqual(
      comparableRows(sarif),
      expected.filter((r) => r.tool === 'flawfinder' && r.file !== 'src/table.cpp' && levelFourAndUp.has(r.ruleId)),
    );
    assert.equal(comparableRows(sarif).length, 5);
  });
});
