// Hostile workspaces and hostile tool output, through the CLI as a user (or CI) runs it: odd file
// names reach the results and the terminal escaped, links and special files that would leave the
// tree or hang a reader are left out and named, a very deep tree is scanned, and a tool that writes
// hostile SARIF (huge texts, script and command links, escape sequences, paths outside the target)
// gives a log the editor and the terminal can show safely. Afterwards the same worker still scans
// normally. Covered elsewhere and not repeated: a chained escaping link and a name holding an escape
// sequence (integration/worker-input), escaping of every CLI cell and tooltip (unit/output).
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sarifToDiagnostics } from '../../backend/sarif/diagnostics';
import { findingRows } from '../../backend/sarif/log';
import type { SarifLog } from '../../backend/sarif/types';
import { GITLEAKS_BIN_ENV } from '../../toolbox/modules/secrets/gitleaks';
import { runCli, startTestBackend, type TestBackend } from '../integration/harness';
import { assertStillServes, workerPid } from './common';

// eslint-disable-next-line no-control-regex -- what must never reach a terminal raw
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

const EVAL = 'eval(input())\n';

/** A gitleaks that writes the SARIF report in HOSTILE_REPORT wherever it is asked to write one. */
function writeHostileGitleaks(dir: string, report: string): string {
  const bin = path.join(dir, 'gitleaks');
  fs.writeFileSync(
    bin,
    `#!/bin/sh
if [ "$1" = version ]; then echo 8.30.1; exit 0; fi
while [ $# -gt 0 ]; do
  if [ "$1" = --report-path ]; then cp '${report}' "$2"; fi
  shift
done
exit 0
`,
    { mode: 0o755 },
  );
  return bin;
}

/** What a tool could write: every field a person or the editor later reads, made hostile. */
function hostileReport(workspaceFile: string): SarifLog {
  const huge = `${'A'.repeat(1_000_000)}\u001b[2J`;
  const at = (uri: string) => [{ physicalLocation: { artifactLocation: { uri }, region: { startLine: 1 } } }];
  return {
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'gitleaks',
            rules: [
              { id: 'evil\u001b]0;owned\u0007', shortDescription: { text: huge }, helpUri: 'javascript:alert(1)' },
              {
                id: 'generic-api-key',
                shortDescription: { text: 'x' },
                helpUri: 'command:workbench.action.terminal.new',
              },
            ],
          },
        },
        results: [
          { ruleId: 'evil\u001b]0;owned\u0007', message: { text: huge }, locations: at(workspaceFile) },
          { ruleId: 'generic-api-key', message: { text: 'outside' }, locations: at('file:///etc/passwd') },
          { ruleId: 'generic-api-key', message: { text: 'up' }, locations: at('../../../../etc/shadow') },
        ],
      },
    ],
  };
}

describe('hostile workspaces and tool output through the CLI', () => {
  let backend: TestBackend;
  let pid: number | undefined;
  let hostileReportFile: string;
  let scratch: string;
  const saved = process.env[GITLEAKS_BIN_ENV];

  before(async () => {
    scratch = fs.mkdtempSync(path.join(process.env.TMPDIR ?? '/tmp', 'ff-hostile-tool-'));
    hostileReportFile = path.join(scratch, 'report.sarif');
    // The worker inherits this: every secret_detection run gets the hostile tool.
    process.env[GITLEAKS_BIN_ENV] = writeHostileGitleaks(scratch, hostileReportFile);
    backend = await startTestBackend({ verticals: ['generic'] });
    pid = workerPid(backend);
  });
  after(async () => {
    await backend?.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
    if (saved === undefined) {
      delete process.env[GITLEAKS_BIN_ENV];
    } else {
      process.env[GITLEAKS_BIN_ENV] = saved;
    }
  });

  function assertNoRawControl(text: string, what: string): void {
    const m = RAW_CONTROL.exec(text);
    assert.equal(
      m,
      null,
      `${what} holds U+${m?.[0].charCodeAt(0).toString(16).padStart(4, '0')} raw near ${JSON.stringify(text.slice(Math.max(0, (m?.index ?? 0) - 40), (m?.index ?? 0) + 40))}`,
    );
  }

  it('odd names are scanned and printed escaped; links out of the tree, a FIFO and an unreadable name are left out and named; a deep tree is scanned', async () => {
    const ws = path.join(backend.root, 'hostile-ws');
    fs.mkdirSync(ws);
    const names = [
      'new\nline.py',
      'tab\there.py',
      '-rf.py',
      '--help.py',
      '..py',
      'a..b.py',
      '\u202eyp.txt.py',
      'zero\u200bwidth.py',
      'cafe\u0301.py',
      'caf\u00e9.py',
      ' leading space.py',
    ];
    for (const name of names) {
      fs.writeFileSync(path.join(ws, name), EVAL);
    }
    // A name that is not UTF-8: Node cannot name it, so the walk cannot read it.
    fs.writeFileSync(Buffer.from(path.join(ws, 'bad\xff.py'), 'latin1'), EVAL);
    fs.symlinkSync('/etc/passwd', path.join(ws, 'passwd.py'));
    fs.symlinkSync('/etc', path.join(ws, 'etc'));
    fs.symlinkSync('../../../../../../..', path.join(ws, 'up'));
    assert.equal(spawnSync('mkfifo', [path.join(ws, 'pipe.py')]).status, 0, 'mkfifo');
    const deep = path.join(ws, ...Array.from({ length: 400 }, () => 'd'));
    fs.mkdirSync(deep, { recursive: true });
    fs.writeFileSync(path.join(deep, 'deep.py'), EVAL);

    const sarifFile = path.join(backend.root, 'hostile-ws.sarif');
    const result = await runCli(
      [
        'scan',
        ws,
        '--workflow',
        'security_assessment',
        '--no-baseline',
        '--fail-on',
        'none',
        '--export-sarif',
        sarifFile,
      ],
      backend.env,
    );
    assert.equal(result.code, 0, result.stderr);
    assertNoRawControl(result.stdout, 'stdout');
    assertNoRawControl(result.stderr, 'stderr');
    for (const [name, why] of [
      ['passwd.py', 'symbolic link to /etc/passwd leaves the workspace'],
      ['etc', 'symbolic link to /etc leaves the workspace'],
      ['up', 'symbolic link to ../../../../../../.. leaves the workspace'],
      ['pipe.py', 'not a regular file'],
    ]) {
      assert.ok(result.stderr.includes(`${name} (${why})`), `${name} named in: ${result.stderr}`);
    }
    // Node reads the name with U+FFFD in place of the byte, and that name does not exist.
    assert.ok(result.stderr.includes('not uploaded: bad\ufffd.py (unreadable: ENOENT'), result.stderr);
    const log = JSON.parse(fs.readFileSync(sarifFile, 'utf8')) as SarifLog;
    const files = findingRows(log)
      .map((r) => decodeURIComponent(r.file ?? ''))
      .sort();
    const expected = [...names, `${'d/'.repeat(400)}deep.py`].sort();
    assert.deepEqual(files, expected);
    // The terminal shows every odd name on one line, escaped.
    assert.ok(result.stdout.includes('new\\nline.py:1'), result.stdout);
    assert.ok(result.stdout.includes('\\u202eyp.txt.py:1'), result.stdout);
  });

  it('a tool writing hostile SARIF: results outside the target are dropped, links are http(s) only, and nothing reaches the terminal raw', async () => {
    const ws = path.join(backend.root, 'tool-ws');
    fs.mkdirSync(ws);
    fs.writeFileSync(path.join(ws, 'app.py'), 'token = "x"\n');
    fs.writeFileSync(hostileReportFile, JSON.stringify(hostileReport('app.py')));
    const sarifFile = path.join(backend.root, 'tool-ws.sarif');
    const result = await runCli(
      ['scan', ws, '--workflow', 'secret_detection', '--no-baseline', '--fail-on', 'none', '--export-sarif', sarifFile],
      backend.env,
    );
    assert.equal(result.code, 0, result.stderr);
    assertNoRawControl(result.stdout, 'stdout');
    assertNoRawControl(result.stderr, 'stderr');
    assert.ok(result.stdout.length < 100_000, `the table stays readable (${result.stdout.length} characters)`);
    const log = JSON.parse(fs.readFileSync(sarifFile, 'utf8')) as SarifLog;
    for (const run of log.runs) {
      for (const rule of run.tool.driver.rules ?? []) {
        assert.ok(!rule.helpUri || /^https?:\/\//.test(rule.helpUri), `rule ${rule.id} links to ${rule.helpUri}`);
      }
    }
    // Of the three results, only the one inside the target is left.
    assert.deepEqual(
      findingRows(log).map((r) => [r.ruleId, r.file, r.line]),
      [['evil\u001b]0;owned\u0007', 'app.py', 1]],
    );
    const diagnostics = sarifToDiagnostics(log, fs.realpathSync(ws));
    assert.equal(diagnostics.length, 1);
    for (const d of diagnostics) {
      assert.ok(d.file.startsWith(`${fs.realpathSync(ws)}${path.sep}`), `${d.file} is inside the workspace`);
      assert.ok(!d.helpUri || /^https?:\/\//.test(d.helpUri), `${d.helpUri} is a web link`);
      assert.ok(d.message.length <= 10_000, `a message of ${d.message.length} characters`);
    }
    assert.ok(!JSON.stringify(log).includes('/etc/passwd'), 'the result at /etc/passwd was dropped');
    assert.ok(!JSON.stringify(log).includes('etc/shadow'), 'the result at ../../etc/shadow was dropped');
  });

  it('afterwards the same worker still runs a normal scan to its known findings', async () => {
    await assertStillServes(backend, pid);
  });
});
