// The first end-to-end scan: fixture -> MinIO -> Temporal -> generic worker -> SARIF -> CLI.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import * as tar from 'tar';
import { findingRows } from '../../backend/sarif/log';
import type { SarifLog } from '../../backend/sarif/types';
import { awaitScan, findWorkflow, startScan } from '../../backend/scan';
import { toolboxDir } from '../../backend/paths';
import { RunFailedError } from '../../backend/temporal/runs';
import { workspaceIdentity } from '../../backend/workspace';
import {
  copyFixture,
  FIXTURES,
  runCli,
  startTestBackend,
  type TestBackend,
  makeEscapingArchive,
  sarifValidationProblems,
} from './harness';

interface Expected {
  ruleId: string;
  file: string;
  line: number;
}

const expected = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'vulnerable-app.expected.json'), 'utf8')) as Expected[];

function keyed(rows: Expected[]): string[] {
  return rows.map((r) => `${r.file}:${r.line} ${r.ruleId}`).sort();
}

describe('security_assessment end to end', () => {
  let backend: TestBackend;
  let workspace: string;
  before(async () => {
    backend = await startTestBackend({ shareable: true });
    workspace = copyFixture('vulnerable-app', path.join(backend.root, 'vulnerable-app'));
  });
  after(async () => {
    await backend?.stop();
  });

  it('finds exactly the known findings of the fixture, with relative URIs and rule metadata', async () => {
    const wf = findWorkflow(toolboxDir(), 'security_assessment');
    const { run, upload } = await startScan(backend.conn, backend.runs, { path: workspace, workflow: wf, params: {} });
    // Every file but the gitignored one (another file's scan of this fixture on a shared backend
    // may have sent the same contents already: how many objects went up is not asserted here).
    assert.equal(upload.totalFiles, 18);
    const { summary, sarif } = await awaitScan(backend.conn, backend.runs, run.runId);
    const rows = findingRows(sarif);
    assert.deepEqual(
      keyed(rows.map((r) => ({ ruleId: r.ruleId, file: decodeURI(r.file ?? ''), line: r.line ?? 0 }))),
      keyed(expected),
    );
    assert.equal(summary.total, expected.length);
    assert.ok(!rows.some((r) => r.file?.startsWith('ignored/')), 'gitignored files are never uploaded');

    const srcRoot = sarif.runs[0]?.originalUriBaseIds?.SRCROOT?.uri;
    assert.equal(srcRoot, `${pathToFileURL(fs.realpathSync(workspace)).href}/`);
    for (const runLog of sarif.runs) {
      for (const result of runLog.results ?? []) {
        const loc = result.locations?.[0]?.physicalLocation;
        assert.equal(loc?.artifactLocation?.uriBaseId, 'SRCROOT');
        assert.ok(!loc?.artifactLocation?.uri.startsWith('/'), 'URIs are relative to the workspace');
        const rule = runLog.tool.driver.rules?.[result.ruleIndex ?? -1];
        assert.equal(rule?.id, result.ruleId);
        assert.ok(rule?.help?.text && rule.helpUri, `${rule?.id} has help`);
        assert.ok(
          rule?.properties?.tags?.some((t) => /^external\/cwe\/cwe-\d+$/.test(t)),
          `${rule?.id} has a CWE tag`,
        );
        assert.ok(result.level);
      }
    }
    const file = path.join(backend.root, 'scan.sarif');
    fs.writeFileSync(file, JSON.stringify(sarif));
    assert.deepEqual(await sarifValidationProblems(file, backend.root), []);
    assert.equal(summary.inventory?.files, upload.totalFiles);
  });

  it('scans from the CLI: table, --export-sarif, --json and --fail-on exit codes', async () => {
    const out = path.join(backend.root, 'cli.sarif');
    const failing = await runCli(
      ['scan', workspace, '--workflow', 'security_assessment', '--fail-on', 'error', '--export-sarif', out],
      backend.env,
    );
    assert.equal(failing.code, 1, failing.stderr);
    assert.match(failing.stdout, /LEVEL\s+RULE\s+LOCATION\s+MESSAGE/);
    assert.match(failing.stdout, new RegExp(`${expected.length} finding\\(s\\)`));
    assert.match(
      failing.stderr,
      /uploaded 0 object\(s\), 0 B/,
      'the unchanged fixture was uploaded by the previous test',
    );
    assert.equal((JSON.parse(fs.readFileSync(out, 'utf8')) as SarifLog).version, '2.1.0');

    const passing = await runCli(
      ['scan', workspace, '--workflow', 'security_assessment', '--fail-on', 'none', '--json'],
      backend.env,
    );
    assert.equal(passing.code, 0, passing.stderr);
    const json = JSON.parse(passing.stdout) as { runId: string; findings: unknown[] };
    assert.equal(json.findings.length, expected.length);

    const findings = await runCli(['run', 'findings', json.runId, '--json', '--fail-on', 'warning'], backend.env);
    assert.equal(findings.code, 1);
    assert.equal((JSON.parse(findings.stdout) as { findings: unknown[] }).findings.length, expected.length);

    // Only notes remain when errors and warnings are filtered out by a parameter.
    const notesOnly = await runCli(
      ['scan', workspace, '-w', 'security_assessment', '--param', 'rules=ff-no-such-rule', '--fail-on', 'note'],
      backend.env,
    );
    assert.equal(notesOnly.code, 0, notesOnly.stderr);
    assert.match(notesOnly.stdout, /no findings/);

    const runs = await runCli(['runs', '--workspace', workspace], backend.env);
    assert.equal(runs.code, 0, runs.stderr);
    assert.match(runs.stdout, new RegExp(`${json.runId}\\s+completed\\s+security_assessment\\s+vulnerable-app`));
  });

  it('rejects invalid parameters before uploading or starting anything', async () => {
    // This workspace's runs: on a shared backend other files start runs of their own.
    const ours = { workspaceId: workspaceIdentity(workspace).id, limit: 100 };
    const before = await backend.runs.list(ours);
    assert.equal(before.length, 4, 'the scans of the two tests above');
    const bad = await runCli(
      [
        'scan',
        workspace,
        '-w',
        'security_assessment',
        '--param',
        'max_file_bytes=0',
        '--param',
        'min_level=fatal',
        '--param',
        'colour=red',
      ],
      backend.env,
    );
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /invalid parameters for security_assessment/);
    assert.match(bad.stderr, /max_file_bytes must be >= 1/);
    assert.match(bad.stderr, /min_level must be one of "note", "warning", "error"/);
    assert.match(bad.stderr, /colour is not a parameter of security_assessment/);
    assert.doesNotMatch(bad.stderr, /upload/);
    const typo = await runCli(['scan', workspace, '-w', 'security_assesment'], backend.env);
    assert.equal(typo.code, 2);
    assert.match(typo.stderr, /no workflow named security_assesment\n {2}hint: available: .*\bsecurity_assessment\b/);
    const usage = await runCli(['scan', workspace, '-w', 'security_assessment', '--fail-on', 'critical'], backend.env);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--fail-on critical is not a level/);
    const after = await backend.runs.list(ours);
    assert.equal(after.length, before.length, 'no run was started');
  });

  it('fails a run whose archive tries to escape, without retrying, naming the entry', async () => {
    const archive = await makeEscapingArchive(backend.root);
    const wf = findWorkflow(toolboxDir(), 'security_assessment');
    const { run } = await startScan(backend.conn, backend.runs, { path: archive, workflow: wf, params: {} });
    await assert.rejects(awaitScan(backend.conn, backend.runs, run.runId), (err: unknown) => {
      assert.ok(err instanceof RunFailedError);
      assert.equal(err.status, 'failed');
      assert.match(err.reason, /refusing to extract .*"\.\.\/escape\.py" contains a "\.\." segment/);
      return true;
    });
  });

  it('scans a well-formed archive target', async () => {
    const archive = path.join(backend.root, 'app.tgz');
    await tar.c({ gzip: true, file: archive, cwd: workspace }, ['.']);
    const wf = findWorkflow(toolboxDir(), 'security_assessment');
    const { run } = await startScan(backend.conn, backend.runs, { path: archive, workflow: wf, params: {} });
    const { sarif } = await awaitScan(backend.conn, backend.runs, run.runId);
    // The archive holds everything, the gitignored folder included: archives are taken as given.
    const rows = findingRows(sarif).map((r) => ({
      ruleId: r.ruleId,
      file: decodeURI(r.file ?? '').replace(/^\.\//, ''),
      line: r.line ?? 0,
    }));
    assert.deepEqual(
      keyed(rows),
      keyed([...expected, { ruleId: 'ff-hardcoded-credential', file: 'ignored/secret.py', line: 2 }]),
    );
  });
});
