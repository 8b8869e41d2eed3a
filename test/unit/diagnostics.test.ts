import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveArtifactPath, sarifToDiagnostics } from '../../backend/sarif/diagnostics';
import type { SarifLog } from '../../backend/sarif/types';
import { ignoreFileLine, suppressionComment, suppressionLine } from '../../backend/suppressions';

const log: SarifLog = {
  version: '2.1.0',
  runs: [
    {
      tool: {
        driver: {
          name: 'bandit',
          rules: [{ id: 'B602', helpUri: 'https://example.invalid/b602', defaultConfiguration: { level: 'error' } }],
        },
      },
      originalUriBaseIds: { SRCROOT: { uri: 'file:///ws/app/' } },
      results: [
        {
          ruleId: 'B602',
          ruleIndex: 0,
          message: { text: 'shell=True' },
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri: 'src/my%20app.py', uriBaseId: 'SRCROOT' },
                region: { startLine: 3, startColumn: 5, endColumn: 9 },
              },
            },
          ],
          relatedLocations: [
            {
              physicalLocation: {
                artifactLocation: { uri: 'src/util.py', uriBaseId: 'SRCROOT' },
                region: { startLine: 10 },
              },
              message: { text: 'source' },
            },
          ],
        },
        {
          ruleId: 'B602',
          level: 'note',
          message: { text: 'whole line' },
          baselineState: 'new',
          locations: [
            { physicalLocation: { artifactLocation: { uri: 'a.py', uriBaseId: 'SRCROOT' }, region: { startLine: 1 } } },
          ],
        },
        {
          ruleId: 'B602',
          message: { text: 'suppressed' },
          suppressions: [{ kind: 'inSource' }],
          locations: [
            { physicalLocation: { artifactLocation: { uri: 'a.py', uriBaseId: 'SRCROOT' }, region: { startLine: 2 } } },
          ],
        },
        {
          ruleId: 'B602',
          message: { text: 'fixed' },
          baselineState: 'absent',
          locations: [
            { physicalLocation: { artifactLocation: { uri: 'a.py', uriBaseId: 'SRCROOT' }, region: { startLine: 4 } } },
          ],
        },
        {
          ruleId: 'B602',
          message: { text: 'outside' },
          locations: [{ physicalLocation: { artifactLocation: { uri: '../etc/passwd', uriBaseId: 'SRCROOT' } } }],
        },
      ],
    },
  ],
};

describe('sarifToDiagnostics', () => {
  const diags = sarifToDiagnostics(log, '/fallback');

  it('maps level, range, code, source and related locations', () => {
    assert.equal(diags.length, 2, 'suppressed, fixed and out-of-workspace results are left out');
    const [first, second] = diags;
    assert.deepEqual(first, {
      file: '/ws/app/src/my app.py',
      range: { startLine: 2, startColumn: 4, endLine: 2, endColumn: 8 },
      severity: 'error',
      message: 'shell=True',
      ruleId: 'B602',
      helpUri: 'https://example.invalid/b602',
      source: 'bandit',
      related: [{ file: '/ws/app/src/util.py', line: 9, column: 0, message: 'source' }],
      tags: [],
      runIndex: 0,
      resultIndex: 0,
    });
    assert.equal(second?.severity, 'information');
    assert.equal(second?.message, 'whole line (new)');
    assert.equal(second?.range.startColumn, 0);
    assert.equal(second?.range.endColumn, Number.MAX_SAFE_INTEGER);
  });

  it('names every tool of a weakness several tools reported as the source', () => {
    const merged: SarifLog = structuredClone(log);
    const result = merged.runs[0]?.results?.[0];
    if (result) {
      result.properties = {
        reportedBy: [
          { tool: 'bandit', ruleId: 'B602', level: 'error' },
          { tool: 'fuzzforge-patterns', ruleId: 'ff-command-injection', level: 'error' },
          { tool: 'semgrep', ruleId: 'ff-py-subprocess-shell-true', level: 'error' },
        ],
      };
    }
    assert.equal(sarifToDiagnostics(merged, '/fallback')[0]?.source, 'bandit, fuzzforge-patterns, semgrep');
  });

  it('says when a result was found in test code, docs or vendored code', () => {
    const marked: SarifLog = structuredClone(log);
    const [first, second] = marked.runs[0]?.results ?? [];
    if (first && second) {
      first.properties = { fileKind: 'test' };
      second.properties = { fileKind: 'source' };
    }
    const [a, b] = sarifToDiagnostics(marked, '/fallback');
    assert.equal(a?.message, 'shell=True (in test code)');
    assert.equal(b?.message, 'whole line (new)');
  });

  it('falls back to the workspace root without uriBaseIds and accepts file URIs', () => {
    const run = { tool: { driver: { name: 't' } } };
    assert.equal(
      resolveArtifactPath(run, { physicalLocation: { artifactLocation: { uri: 'x/y.c' } } }, '/root'),
      '/root/x/y.c',
    );
    assert.equal(
      resolveArtifactPath(run, { physicalLocation: { artifactLocation: { uri: 'file:///abs/z.c' } } }, '/root'),
      '/abs/z.c',
    );
  });
});

describe('suppression edits', () => {
  it('uses each language comment syntax and keeps indentation', () => {
    assert.equal(suppressionComment('a/b.py', 'B602'), '# fuzzforge-ignore[B602]');
    assert.equal(suppressionComment('x.ts', 'r'), '// fuzzforge-ignore[r]');
    assert.equal(suppressionComment('q.sql', 'r'), '-- fuzzforge-ignore[r]');
    assert.equal(suppressionComment('t.html', 'r'), '<!-- fuzzforge-ignore[r] -->');
    assert.equal(suppressionComment('Dockerfile', 'r'), '# fuzzforge-ignore[r]');
    assert.equal(suppressionComment('data.bin', 'r'), undefined);
    assert.equal(suppressionLine('m.go', 'G101', '\t\tpassword := "x"'), '\t\t// fuzzforge-ignore[G101]');
    assert.equal(
      ignoreFileLine('ff-weak-hash', 'tests/my file.py', 'test vectors'),
      'ff-weak-hash tests/my?file.py test vectors',
    );
  });
});
