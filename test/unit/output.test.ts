// Output that came from a workspace, a tool or Temporal is shown, never obeyed: no control
// characters reach the terminal raw, rule ids cannot break out of the comments and ignore lines
// they are written into, and run ids and rule ids cannot become Markdown or HTML.
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { displayUri, escapeControl, escapeInline, findingsTable, table } from '../../backend/cli/format';
import { runCli } from '../../backend/cli/main';
import { resolveArtifactPath } from '../../backend/sarif/diagnostics';
import type { FindingRow } from '../../backend/sarif/log';
import type { SarifRun } from '../../backend/sarif/types';
import { ignoreFileLine, isSafeRuleId, suppressionComment, suppressionLine } from '../../backend/suppressions';
import { escapeHtml, panelTitle, statsPanelHtml, statsPanelTitle, webviewHtml } from '../../extension/panelHtml';
import {
  escapeMarkdown,
  findingTooltipMarkdown,
  runTooltipMarkdown,
  type FindingEntry,
} from '../../extension/views/viewModel';

const ESC = '\u001b';
/** Any C0 control but newline, DEL or C1 control: what must not reach a terminal raw. */
// eslint-disable-next-line no-control-regex -- the point of the test
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

describe('CLI output', () => {
  it('escapes control and escape characters and keeps newlines', () => {
    assert.equal(escapeControl(`a${ESC}[31mb\u0007\r\nc\td\u009b`), 'a\\u001b[31mb\\u0007\\u000d\nc\td\\u009b');
    assert.equal(escapeInline('a\nb\tc\u202ed'), 'a\\nb\\tc\\u202ed');
  });

  it('a file name holding a terminal escape sequence is printed escaped in the findings table', () => {
    const row = {
      level: 'error',
      ruleId: `rule${ESC}]0;owned${ESC}\\`,
      file: 'src/evil%1B%5B2J%1B%5BHname.py',
      line: 3,
      message: 'line one\nline two',
    } as FindingRow;
    const out = findingsTable([row]);
    assert.doesNotMatch(out, RAW_CONTROL);
    assert.match(out, /src\/evil\\u001b\[2J\\u001b\[Hname\.py:3/);
    assert.match(out, /rule\\u001b\]0;owned\\u001b\\/);
    assert.match(out, /line one\\nline two/);
    assert.equal(out.split('\n').length, 3);
  });

  it('a weakness several tools reported is one row naming each rule', () => {
    const row = {
      level: 'warning',
      ruleId: 'ff-secret-generic-secret',
      tool: 'fuzzforge-secrets',
      file: 'cfg.py',
      line: 4,
      message: 'Hard-coded secret',
      reportedBy: [
        { tool: 'bandit', ruleId: 'B105', level: 'note' },
        { tool: 'fuzzforge-secrets', ruleId: 'ff-secret-generic-secret', level: 'warning' },
      ],
    } as FindingRow;
    const out = findingsTable([row]);
    assert.match(out, /ff-secret-generic-secret, B105\s+cfg\.py:4/);
    assert.equal(out.split('\n').length, 3, 'header, rule line and one row');
  });

  it("says which kind of file a finding outside the project's own code is in", () => {
    const row = {
      level: 'note',
      ruleId: 'B324',
      tool: 'bandit',
      file: 'tests/t.py',
      line: 2,
      message: 'md5',
      fileKind: 'test',
    } as FindingRow;
    assert.match(findingsTable([row]), /note \(test\)\s+B324\s+tests\/t\.py:2/);
  });

  it('a malformed percent sequence does not throw (decodeURI did), it is shown as it is', () => {
    assert.equal(displayUri('a%E0%A4%A.py'), 'a%E0%A4%A.py');
    assert.equal(displayUri('caf%C3%A9.py'), 'café.py');
  });

  it('--json output stays valid JSON (JSON.stringify leaves C1 and bidi characters raw)', () => {
    const json = JSON.stringify({ file: `a\u0085b\u202ec${ESC}` });
    assert.deepEqual(JSON.parse(escapeControl(json)), { file: `a\u0085b\u202ec${ESC}` });
    assert.doesNotMatch(escapeControl(json), RAW_CONTROL);
  });

  it('the editor skips a result whose URI is malformed instead of failing the whole log', () => {
    const run = { tool: { driver: { name: 't' } } } as SarifRun;
    const at = (uri: string) => ({ physicalLocation: { artifactLocation: { uri } } });
    assert.equal(resolveArtifactPath(run, at('a%E0%A4%A.py'), '/w'), undefined);
    assert.equal(resolveArtifactPath(run, at('caf%C3%A9.py'), '/w'), '/w/café.py');
  });

  it('every table cell is one escaped line', () => {
    assert.doesNotMatch(table(['A'], [[`x${ESC}[1m\ny`]]), RAW_CONTROL);
  });

  it('runCli escapes everything it prints', async () => {
    const printed: string[] = [];
    const code = await runCli([`${ESC}]0;pwned\u0007`], { out: (t) => printed.push(t), err: (t) => printed.push(t) });
    assert.equal(code, 2);
    assert.doesNotMatch(printed.join('\n'), RAW_CONTROL);
    assert.match(printed.join('\n'), /unknown command "\\u001b\]0;pwned\\u0007"/);
  });
});

describe('rule ids written into files', () => {
  const hostile = ['x]\nimport os; os.system("id")', 'a */ evil(); /*', 'a --> <script>', 'two words', 'a,b', ''];

  it('real tool rule ids are accepted', () => {
    for (const id of [
      'B307',
      'no-eval',
      '@typescript-eslint/no-explicit-any',
      'python.lang.security.audit.eval',
      'G101',
      'ff.py.eval:1',
      'nullPointer',
    ]) {
      assert.equal(isSafeRuleId(id), true, id);
      assert.match(
        suppressionComment('a.py', id) ?? '',
        new RegExp(`^# fuzzforge-ignore\\[${id.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\]$`),
      );
    }
  });

  it('a rule id that could leave the comment gets no suppression comment', () => {
    for (const id of hostile) {
      assert.equal(suppressionComment('a.c', id), undefined, JSON.stringify(id));
      assert.equal(suppressionLine('a.html', id, '  x'), undefined, JSON.stringify(id));
    }
  });

  it('.fuzzforge/ignore lines: hostile rule ids are refused, paths and reasons stay on one line', () => {
    for (const id of hostile) {
      assert.throws(() => ignoreFileLine(id, 'a.py', 'ok'), /refusing to write the rule id/);
    }
    assert.equal(
      ignoreFileLine('B307', 'dir/my file\n.py', 'reviewed\nB101 ** everything'),
      'B307 dir/my?file?.py reviewed B101 ** everything',
    );
  });
});

describe('tooltips and the stats panel', () => {
  const runId = 'r`) [x](command:fuzzforge.stopRun) <img src=x onerror=alert(1)> $(zap) **b**';

  it('escapeMarkdown leaves no Markdown, HTML or theme-icon syntax active', () => {
    const out = escapeMarkdown(runId);
    // Every punctuation character is preceded by a backslash.
    assert.doesNotMatch(out.replace(/\\[!-/:-@[-`{-~]/g, ''), /[!-/:-@[-`{-~]/);
    assert.equal(escapeMarkdown('a\n\n# b'), 'a \\# b');
  });

  it('the run tooltip escapes run ids, workflow names and failures', () => {
    const md = runTooltipMarkdown({
      runId,
      workflow: 'wf<b>',
      status: 'failed',
      failure: 'boom\n[link](https://evil)',
      memo: { params: { a: 'x\n```\n<img>' } },
    });
    assert.match(md, /^\*\*wf\\<b\\>\*\* \$\(error\) failed\n\nrun r\\`\\\) \\\[x\\\]\\\(command\\:fuzzforge/);
    // (Inside the JSON fence text is code, not Markdown.)
    assert.doesNotMatch(md.split('```json')[0] ?? '', /(^|[^\\])(<img|\]\(command|\]\(https)/);
    // The parameters stay one fenced JSON block (the newline in the value is \n inside JSON).
    assert.deepEqual(
      md.split('\n').filter((l) => l.startsWith('```')),
      ['```json', '```'],
    );
  });

  it('the finding tooltip escapes the rule id, message and path', () => {
    const entry: FindingEntry = {
      file: '/w/a.py',
      relPath: 'a.py',
      line: 0,
      column: 0,
      severity: 'error',
      ruleId: '<img src=x>',
      message: '[click](command:workbench.action.terminal.new)',
    };
    const md = findingTooltipMarkdown(entry, 'tool', 'a.py:1 · <img src=x>');
    assert.doesNotMatch(md, /(^|[^\\])(<img|\]\(command)/);
    assert.match(md, /\\<img src\\=x\\>/);
  });

  it('the stats panel HTML escapes the run id in its title', () => {
    const html = statsPanelHtml({
      runId: '</title><script>alert(1)</script>',
      nonce: 'abc',
      cspSource: 'vscode-webview:',
      scriptUri: 'https://file+.vscode-resource/x.js',
    });
    assert.match(html, /<title>Fuzzing &lt;\/title&gt;&lt;script&gt;alert\(1\)&lt;\/script&gt;<\/title>/);
    assert.equal(html.split('<script').length, 2);
    assert.equal(escapeHtml(`"'&`), '&quot;&#39;&amp;');
    assert.equal(statsPanelTitle(`r${ESC}[2J\n`), 'Fuzzing r?[2J?');
  });

  it('every panel page gets the same shell: default-src none, one script under its nonce, escaped title', () => {
    const html = webviewHtml({
      title: 'Crash "x" <b>',
      nonce: 'n0nce',
      cspSource: 'vscode-webview:',
      scriptUri: 'https://file+.vscode-resource/crash.js',
      style: 'body { margin: 0; }',
    });
    const csp = /http-equiv="Content-Security-Policy" content="([^"]*)"/.exec(html)?.[1];
    assert.equal(
      csp,
      'default-src &#39;none&#39;; style-src vscode-webview: &#39;unsafe-inline&#39;; font-src vscode-webview:; script-src &#39;nonce-n0nce&#39;',
    );
    assert.deepEqual(
      [...html.matchAll(/<script([^>]*)>/g)].map((m) => m[1]),
      [' nonce="n0nce" src="https://file+.vscode-resource/crash.js"'],
    );
    assert.match(html, /<title>Crash &quot;x&quot; &lt;b&gt;<\/title>/);
    assert.match(html, /body \{ margin: 0; \}/);
    assert.equal(panelTitle('crash\u202e\u2066fdp.exe'), 'crash??fdp.exe');
  });
});
