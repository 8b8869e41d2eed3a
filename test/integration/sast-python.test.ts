// python_sast end to end: the fixture through a real python worker running the real bandit and
// semgrep, compared with its known answers; then a semgrep that fails (a malformed rules file of
// the workspace) must leave a notification and bandit's results.
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import YAML from 'yaml';
import { findingRows, type FindingRow } from '../../backend/sarif/log';
import type { SarifLog } from '../../backend/sarif/types';
import { awaitScan, findWorkflow, startScan } from '../../backend/scan';
import { toolboxDir } from '../../backend/paths';
import { findServiceBinary, whichSync } from '../../backend/services/binaries';
import { toolPath } from '../../backend/toolbox/tools';
import { bundledRulesFile, semgrepEnv } from '../../toolbox/modules/sast/semgrep';
import {
  copyFixture,
  startTestBackend,
  type TestBackend,
  sarifValidationProblems,
  readExpected,
  comparableRows,
  requirePythonTools,
  testEnv,
} from './harness';

const expected = readExpected('python-sast');

/** Invocation notifications, typed loosely: SARIF allows more than the shared type lists. */
function notifications(sarif: SarifLog, tool: string): string[] {
  return sarif.runs
    .filter((r) => r.tool.driver.name === tool)
    .flatMap((r) => r.invocations ?? [])
    .flatMap((i) => i.toolExecutionNotifications ?? [])
    .map((n) => n.message.text);
}

/** One row per tool that reported a finding: a merged result counts for each tool it names. */
function perTool(rows: readonly FindingRow[]): FindingRow[] {
  return rows.flatMap((r) =>
    (r.reportedBy ?? [r]).map((b) => ({
      ...r,
      tool: b.tool,
      ruleId: b.ruleId,
      level: b.level,
      line: 'line' in b && b.line !== undefined ? b.line : r.line,
    })),
  );
}

// The first scan's findings, which the later scans are compared with.
let firstRows: FindingRow[] = [];

describe('python_sast end to end', () => {
  let backend: TestBackend;
  let workspace: string;
  before(
    async () => {
      await requirePythonTools();
      backend = await startTestBackend({ verticals: ['python'], shareable: true });
      workspace = copyFixture('python-sast', path.join(backend.root, 'python-sast'));
    },
    { timeout: 15 * 60_000 },
  );
  after(async () => {
    await backend?.stop();
  });

  it('reports exactly the known findings, with relative URIs, versions, help and CWE tags', async () => {
    const wf = findWorkflow(toolboxDir(), 'python_sast');
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
    assert.deepEqual(
      summary.tools.map((t) => [t.name, t.error]),
      [
        ['bandit', undefined],
        ['semgrep', undefined],
      ],
    );

    for (const runLog of sarif.runs) {
      const driver = runLog.tool.driver;
      assert.ok(['bandit', 'semgrep'].includes(driver.name), driver.name);
      assert.match(driver.version ?? '', /^\d+\.\d+\.\d+/, `${driver.name} has a version`);
      assert.equal(runLog.invocations?.[0]?.executionSuccessful, true);
      assert.ok(runLog.originalUriBaseIds?.SRCROOT?.uri.startsWith('file://'));
      for (const result of runLog.results ?? []) {
        const loc = result.locations?.[0]?.physicalLocation;
        assert.equal(loc?.artifactLocation?.uriBaseId, 'SRCROOT');
        assert.ok(!/^(\/|file:)/.test(loc?.artifactLocation?.uri ?? '/'), 'URIs are relative to the workspace');
        assert.ok(result.level && result.level !== 'none');
        assert.ok(result.partialFingerprints?.['fuzzforge/v1']);
        const rule = driver.rules?.[result.ruleIndex ?? -1];
        assert.equal(rule?.id, result.ruleId);
        assert.ok(rule?.helpUri && rule.help?.text, `${rule?.id} has help`);
        assert.ok(
          rule?.properties?.tags?.some((t) => /^external\/cwe\/cwe-\d+$/.test(t)),
          `${rule?.id} has a CWE tag`,
        );
      }
    }
    // HTML escaping switched off or bypassed: each place once in the merged log, naming every
    // tool that saw it (bandit files B701 under CWE-94, semgrep under CWE-79: one weakness).
    const at = (file: string, line: number) =>
      firstRows
        .filter((r) => r.file === file && r.line === line)
        .map((r) => (r.reportedBy ?? [r]).map((b) => `${b.tool}/${b.ruleId}`).sort());
    assert.deepEqual(at('notes/rendering.py', 21), [['semgrep/ff-py-autoescape-disabled']], 'aiohttp_jinja2.setup');
    assert.deepEqual(
      at('notes/rendering.py', 11),
      [['bandit/B701', 'semgrep/ff-py-autoescape-disabled']],
      'jinja2.Environment',
    );
    assert.deepEqual(at('notes/rendering.py', 27), [['bandit/B704', 'semgrep/ff-py-request-marked-safe']], 'Markup');
    assert.deepEqual(at('notes/templates/note.html', 3), [['semgrep/ff-py-template-autoescape-off']]);
    assert.deepEqual(at('notes/templates/note.html', 7), [], '{% autoescape true %} is silent');

    // The Python 2 file cannot be parsed by bandit: it says so instead of failing the scan.
    const banditNotes = sarif.runs
      .filter((r) => r.tool.driver.name === 'bandit')
      .flatMap((r) => (r.invocations ?? []) as { toolConfigurationNotifications?: { message: { text: string } }[] }[])
      .flatMap((i) => i.toolConfigurationNotifications ?? [])
      .map((n) => n.message.text);
    assert.ok(
      banditNotes.some((t) => /syntax error/.test(t)),
      `bandit reports the unparsable file: ${banditNotes.join('; ')}`,
    );
    const file = path.join(backend.root, 'python-sast.sarif');
    fs.writeFileSync(file, JSON.stringify(sarif));
    assert.deepEqual(await sarifValidationProblems(file, backend.root, ['error', 'warning']), []);
  });

  it('the shipped semgrep rules pass their own known answers (semgrep --test)', async () => {
    const semgrep = toolPath('semgrep');
    assert.ok(semgrep);
    const dir = path.dirname(bundledRulesFile());
    const run = await promisify(execFile)(
      semgrep,
      ['scan', '--test', '--json', '--metrics=off', '--disable-version-check', dir],
      { env: { ...process.env, ...semgrepEnv(backend.root) }, maxBuffer: 10 * 1024 * 1024 },
    ).catch((err: { stdout?: string; stderr?: string }) => ({ stdout: err.stdout ?? '', stderr: err.stderr ?? '' }));
    const report = JSON.parse(run.stdout) as {
      config_with_errors: unknown[];
      results: Record<
        string,
        { checks: Record<string, { passed: boolean; matches: Record<string, { expected_lines: number[] }> }> }
      >;
    };
    assert.deepEqual(report.config_with_errors, []);
    const checks = Object.values(report.results).flatMap((r) => Object.entries(r.checks));
    const ids = (YAML.parse(fs.readFileSync(bundledRulesFile(), 'utf8')) as { rules: { id: string }[] }).rules.map(
      (r) => r.id,
    );
    assert.deepEqual(checks.map(([id]) => id).sort(), [...ids].sort(), 'every rule has test cases');
    for (const [id, check] of checks) {
      assert.ok(check.passed, `${id} matches exactly its "ruleid:" lines`);
      assert.ok(
        Object.values(check.matches).some((m) => m.expected_lines.length > 0),
        `${id} has a positive case`,
      );
    }
  });

  it('honours tools, min_level, bandit_skips and exclude', async () => {
    const wf = findWorkflow(toolboxDir(), 'python_sast');
    const { run } = await startScan(backend.conn, backend.runs, {
      path: workspace,
      workflow: wf,
      // Each scan on its own: a baseline would add the previous run's other results as "absent".
      baseline: false,
      params: { tools: ['semgrep'], min_level: 'error', exclude: ['scripts/'] },
    });
    const { summary, sarif } = await awaitScan(backend.conn, backend.runs, run.runId);
    const want = perTool(firstRows).filter(
      (r) => r.tool === 'semgrep' && r.level === 'error' && !r.file?.startsWith('scripts/'),
    );
    assert.equal(want.length, 16, "semgrep's errors outside scripts/");
    assert.deepEqual(comparableRows(findingRows(sarif)), comparableRows(want));
    assert.deepEqual(
      summary.tools.map((t) => t.name),
      ['semgrep'],
    );

    const skipped = await startScan(backend.conn, backend.runs, {
      path: workspace,
      workflow: wf,
      // Each scan on its own: a baseline would add the previous run's other results as "absent".
      baseline: false,
      params: { tools: ['bandit'], bandit_skips: ['B101', 'B105'] },
    });
    const done = await awaitScan(backend.conn, backend.runs, skipped.run.runId);
    const banditWant = perTool(firstRows).filter((r) => r.tool === 'bandit' && !['B101', 'B105'].includes(r.ruleId));
    assert.deepEqual(comparableRows(findingRows(done.sarif)), comparableRows(banditWant));
  });

  it('a semgrep that fails leaves a notification with its error, and bandit results', async () => {
    // A repository-specific rules file that is not valid YAML: semgrep refuses to start.
    fs.mkdirSync(path.join(workspace, '.semgrep'), { recursive: true });
    fs.writeFileSync(
      path.join(workspace, '.semgrep', 'team-rules.yaml'),
      'rules:\n  - id: no-print\n    pattern: print(...)\n    message: "unterminated\n',
    );
    const wf = findWorkflow(toolboxDir(), 'python_sast');
    const { run } = await startScan(backend.conn, backend.runs, {
      path: workspace,
      workflow: wf,
      // Each scan on its own: a baseline would add the previous run's other results as "absent".
      baseline: false,
      params: { extra_semgrep_rules: ['.semgrep/team-rules.yaml'] },
    });
    const { summary, sarif } = await awaitScan(backend.conn, backend.runs, run.runId);
    assert.deepEqual(
      comparableRows(findingRows(sarif)),
      expected.filter((r) => r.tool === 'bandit'),
    );
    const semgrep = summary.tools.find((t) => t.name === 'semgrep');
    assert.equal(semgrep?.results, 0);
    assert.match(
      semgrep?.error ?? '',
      /^semgrep exited with code \d+: .*Invalid YAML file \.semgrep\/team-rules\.yaml/s,
    );
    assert.equal(summary.tools.find((t) => t.name === 'bandit')?.error, undefined);
    const semgrepRun = sarif.runs.find((r) => r.tool.driver.name === 'semgrep');
    assert.equal(semgrepRun?.invocations?.[0]?.executionSuccessful, false);
    assert.match(notifications(sarif, 'semgrep').join('\n'), /unexpected end of stream|while scanning/);

    // A rules file that is not in the workspace is reported the same way, without running semgrep.
    const missing = await startScan(backend.conn, backend.runs, {
      path: workspace,
      workflow: wf,
      // Each scan on its own: a baseline would add the previous run's other results as "absent".
      baseline: false,
      params: { tools: ['semgrep'], extra_semgrep_rules: ['../outside.yaml'] },
    });
    const out = await awaitScan(backend.conn, backend.runs, missing.run.runId);
    assert.equal(out.summary.total, 0);
    assert.match(out.summary.tools[0]?.error ?? '', /extra rules file "\.\.\/outside\.yaml" must be a path inside/);
  });

  it('leaves out vendored code and keeps asserts in tests quiet, until the parameters ask for them', async () => {
    // A bundled copy of a library, in a vendor folder, with a weakness of its own.
    const vendored = path.join(workspace, 'notes', 'vendor', 'shim.py');
    fs.mkdirSync(path.dirname(vendored), { recursive: true });
    fs.writeFileSync(vendored, 'import os\n\n\ndef run(cmd):\n    return eval(cmd)\n');
    try {
      const wf = findWorkflow(toolboxDir(), 'python_sast');
      const scan = async (params: Record<string, unknown>) => {
        const { run } = await startScan(backend.conn, backend.runs, {
          path: workspace,
          workflow: wf,
          params,
          baseline: false,
        });
        return awaitScan(backend.conn, backend.runs, run.runId);
      };
      const quiet = await scan({});
      const quietRows = findingRows(quiet.sarif);
      assert.deepEqual(
        quietRows.filter((r) => (r.file ?? '').startsWith('notes/vendor/') || (r.file ?? '').startsWith('tests/')),
        [],
      );
      assert.equal(quiet.summary.leftOut?.files, 1);
      assert.deepEqual(quiet.summary.leftOut?.byReason, { 'vendor folder': 1 });
      // eval: bandit B307 and semgrep's rule, one result; the two asserts in tests/test_auth.py.
      assert.deepEqual(quiet.summary.leftOut?.results, { vendored: 1, quiet: 2, examples: 0 });
      assert.equal(quietRows.length, expected.length);

      const all = await scan({ include_vendored: true, report_tests_and_docs: true });
      const kinds = (all.sarif.runs ?? []).flatMap((run) =>
        (run.results ?? []).flatMap((r) => {
          const uri = r.locations?.[0]?.physicalLocation?.artifactLocation?.uri ?? '';
          return uri.startsWith('notes/vendor/') || uri.startsWith('tests/')
            ? [`${uri}:${r.ruleId}:${String(r.properties?.fileKind)}:${r.level}`]
            : [];
        }),
      );
      assert.deepEqual(kinds.sort(), [
        'notes/vendor/shim.py:B307:vendored:error',
        'tests/test_auth.py:B101:test:note',
        'tests/test_auth.py:B101:test:note',
      ]);
      assert.deepEqual(all.summary.leftOut?.results, { vendored: 0, quiet: 0, examples: 0 });
      assert.equal(all.summary.leftOut?.files, 0);
    } finally {
      fs.rmSync(path.dirname(vendored), { recursive: true, force: true });
    }
  });
});

describe('python_sast on a worker without bandit', () => {
  let backend: TestBackend | undefined;
  let cache: string;
  const env = testEnv();
  const setEnv = env.set;
  before(async () => {
    if (whichSync('bandit')) {
      return; // bandit on PATH would be found anyway: the test below is skipped.
    }
    // A tools folder that holds semgrep only; the services keep their binaries.
    cache = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-no-bandit-'));
    const venvBin = path.join(cache, 'tools', 'venv', 'bin');
    fs.mkdirSync(venvBin, { recursive: true });
    fs.symlinkSync(toolPath('semgrep') as string, path.join(venvBin, 'semgrep'));
    setEnv('FUZZFORGE_TEMPORAL_BIN', findServiceBinary('temporal')?.path);
    setEnv('FUZZFORGE_MINIO_BIN', findServiceBinary('minio')?.path);
    setEnv('FUZZFORGE_CACHE_DIR', cache);
    backend = await startTestBackend({ verticals: ['python'] });
  });
  after(async () => {
    await backend?.stop();
    env.restore();
    if (cache) {
      fs.rmSync(cache, { recursive: true, force: true });
    }
  });

  it('leaves a notification naming bandit, and semgrep results', async (t) => {
    if (!backend) {
      t.skip('bandit is on PATH here');
      return;
    }
    const workspace = copyFixture('python-sast', path.join(backend.root, 'python-sast'));
    const wf = findWorkflow(toolboxDir(), 'python_sast');
    const { run } = await startScan(backend.conn, backend.runs, {
      path: workspace,
      workflow: wf,
      params: {},
      baseline: false,
    });
    const { summary, sarif } = await awaitScan(backend.conn, backend.runs, run.runId);
    // Without bandit, semgrep's results that bandit's stood for are there on their own.
    assert.equal(firstRows.length, expected.length, 'the first scan ran');
    assert.deepEqual(
      comparableRows(findingRows(sarif)),
      comparableRows(perTool(firstRows).filter((r) => r.tool === 'semgrep')),
    );
    assert.deepEqual(
      summary.tools.map((t) => t.name),
      ['bandit', 'semgrep'],
    );
    assert.match(summary.tools[0]?.error ?? '', /^bandit is not installed on this worker \(install: .+\)$/);
    assert.equal(summary.tools[1]?.error, undefined);
    assert.deepEqual(notifications(sarif, 'bandit'), [summary.tools[0]?.error]);
  });
});
