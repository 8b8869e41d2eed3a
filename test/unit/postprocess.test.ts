import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { failOnExitCode, countByLevel, REPORTED_BY } from '../../backend/sarif/log';
import type { SarifLog, SarifResult, SarifRun } from '../../backend/sarif/types';
import { baselineCounts, restoreRunContext } from '../../toolbox/modules/reporters/baseline';
import { classifyFile } from '../../toolbox/modules/inventory/fileKinds';
import {
  applyFileContext,
  applySuppressions,
  inlineSuppressedRules,
  leftOutOf,
  mergeSameWeakness,
  parseIgnoreFile,
} from '../../toolbox/modules/reporters/postprocess';

function result(ruleId: string, uri: string, line: number, extra: Partial<SarifResult> = {}): SarifResult {
  return {
    ruleId,
    level: 'error',
    message: { text: ruleId },
    locations: [{ physicalLocation: { artifactLocation: { uri, uriBaseId: 'SRCROOT' }, region: { startLine: line } } }],
    ...extra,
  };
}

function run(name: string, results: SarifResult[], rules: { id: string; cwe?: string }[] = []): SarifRun {
  return {
    tool: {
      driver: {
        name,
        rules: rules.map((r) => ({ id: r.id, properties: r.cwe ? { tags: [`external/cwe/${r.cwe}`] } : {} })),
      },
    },
    results,
  };
}

describe('inline suppressions', () => {
  it('recognises the marker after each language comment syntax', () => {
    assert.deepEqual(inlineSuppressedRules('x = eval(s)  # fuzzforge-ignore[ff-code-evaluation]'), [
      'ff-code-evaluation',
    ]);
    assert.deepEqual(inlineSuppressedRules('eval(s); // fuzzforge-ignore[a, b]'), ['a', 'b']);
    assert.deepEqual(inlineSuppressedRules('system(cmd); /* fuzzforge-ignore[*] */'), ['*']);
    assert.deepEqual(inlineSuppressedRules('SELECT 1; -- fuzzforge-ignore[ff-sql-injection]'), ['ff-sql-injection']);
    assert.deepEqual(inlineSuppressedRules('<!-- fuzzforge-ignore[x] -->'), ['x']);
    assert.deepEqual(inlineSuppressedRules(' * fuzzforge-ignore[x]'), ['x']);
  });
  it('ignores the marker outside a comment', () => {
    assert.equal(inlineSuppressedRules('s = "fuzzforge-ignore[x]"'), undefined);
    assert.equal(inlineSuppressedRules(undefined), undefined);
  });
});

describe('.fuzzforge/ignore', () => {
  it('parses rule, glob and reason, skipping comments and naming bad lines', () => {
    const { entries, problems } = parseIgnoreFile(
      '# header\nff-weak-hash tests/** test vectors only\n\n* vendor/**\nlonely\nbad$rule x\n',
    );
    assert.deepEqual(entries, [
      { rule: 'ff-weak-hash', glob: 'tests/**', reason: 'test vectors only', line: 2 },
      { rule: '*', glob: 'vendor/**', line: 4 },
    ]);
    assert.deepEqual(problems, [
      { line: 5, message: 'expected "RULE_ID PATH_GLOB [reason]"' },
      { line: 6, message: '"bad$rule" is not a rule id' },
    ]);
  });
});

describe('applySuppressions', () => {
  const lines: Record<string, string[]> = {
    'a.py': [
      'import os',
      'os.system(cmd)  # fuzzforge-ignore[ff-command-injection]',
      '# fuzzforge-ignore[ff-code-evaluation]',
      'eval(x)',
      'eval(y)',
    ],
    'tests/t.py': ['md5(x)'],
  };
  const read = (file: string, line: number) => lines[file]?.[line - 1];

  it('suppresses by comment on the line or the line above, and by ignore-file entry; keeps results', () => {
    const log: SarifLog = {
      version: '2.1.0',
      runs: [
        run('t', [
          result('ff-command-injection', 'a.py', 2),
          result('ff-code-evaluation', 'a.py', 4),
          result('ff-code-evaluation', 'a.py', 5),
          result('ff-weak-hash', 'tests/t.py', 1),
          result('ff-other', 'a.py', 2),
        ]),
      ],
    };
    const count = applySuppressions(log, read, parseIgnoreFile('ff-weak-hash tests/** vectors').entries);
    assert.equal(count, 3);
    const states = log.runs[0]?.results?.map((r) => r.suppressions?.[0]?.kind ?? 'open');
    assert.deepEqual(states, ['inSource', 'inSource', 'open', 'external', 'open']);
    assert.equal(log.runs[0]?.results?.[3]?.suppressions?.[0]?.justification, 'vectors');
    assert.equal(log.runs[0]?.results?.length, 5, 'suppressed results stay in the log');
    assert.equal(failOnExitCode({ version: '2.1.0', runs: [run('t', log.runs[0].results.slice(0, 2))] }, 'note'), 0);
  });
});

function located(log: SarifLog): string[] {
  return log.runs.flatMap((r) =>
    (r.results ?? []).map(
      (x) => `${r.tool.driver.name}:${x.ruleId}@${x.locations?.[0]?.physicalLocation?.region?.startLine}`,
    ),
  );
}

describe('mergeSameWeakness', () => {
  it('makes one result of a pattern rule and a dedicated tool sharing a CWE or a secret at one line', () => {
    const log: SarifLog = {
      version: '2.1.0',
      runs: [
        run(
          'fuzzforge-patterns',
          [
            result('ff-command-injection', 'a.py', 2),
            result('ff-command-injection', 'a.py', 9),
            result('ff-hardcoded-credential', 'cfg.py', 3),
            result('ff-weak-hash', 'a.py', 2),
          ],
          [
            { id: 'ff-command-injection', cwe: 'cwe-78' },
            { id: 'ff-hardcoded-credential', cwe: 'cwe-798' },
            { id: 'ff-weak-hash', cwe: 'cwe-328' },
          ],
        ),
        run('bandit', [result('B602', 'a.py', 2, { level: 'warning' })], [{ id: 'B602', cwe: 'cwe-78' }]),
        run('gitleaks', [result('generic-api-key', 'cfg.py', 3, { level: 'note' })]),
      ],
    };
    assert.equal(mergeSameWeakness(log), 2);
    assert.deepEqual(located(log), [
      'fuzzforge-patterns:ff-command-injection@9',
      'fuzzforge-patterns:ff-weak-hash@2',
      'bandit:B602@2',
      'gitleaks:generic-api-key@3',
    ]);
    const bandit = log.runs[1]?.results?.[0];
    assert.equal(bandit?.level, 'error', 'the highest level any tool gave');
    assert.deepEqual(bandit?.properties?.[REPORTED_BY], [
      { tool: 'bandit', ruleId: 'B602', level: 'warning' },
      { tool: 'fuzzforge-patterns', ruleId: 'ff-command-injection', level: 'error' },
    ]);
    assert.deepEqual(
      (log.runs[2]?.results?.[0]?.properties?.[REPORTED_BY] as { tool: string }[]).map((r) => r.tool),
      ['fuzzforge-patterns', 'gitleaks'],
    );
    assert.equal(mergeSameWeakness(log), 0, 'merging twice changes nothing');
  });

  it("treats hard-coded password, credential and key CWEs as one weakness and keeps the secret detector's result", () => {
    const log: SarifLog = {
      version: '2.1.0',
      runs: [
        run('bandit', [result('B105', 'cfg.py', 4, { level: 'note' })], [{ id: 'B105', cwe: 'cwe-259' }]),
        run(
          'semgrep',
          [result('ff-py-hardcoded-secret', 'cfg.py', 4, { level: 'warning' })],
          [{ id: 'ff-py-hardcoded-secret', cwe: 'cwe-798' }],
        ),
        run('gosec', [result('G101', 'cfg.py', 4)]),
        run(
          'fuzzforge-secrets',
          [result('ff-secret-generic-secret', 'cfg.py', 4, { level: 'warning' })],
          [{ id: 'ff-secret-generic-secret', cwe: 'cwe-798' }],
        ),
      ],
    };
    assert.equal(mergeSameWeakness(log), 3);
    assert.deepEqual(located(log), ['fuzzforge-secrets:ff-secret-generic-secret@4']);
    const merged = log.runs[3]?.results?.[0];
    assert.equal(merged?.level, 'error');
    assert.deepEqual(
      (merged?.properties?.[REPORTED_BY] as { tool: string; ruleId: string }[]).map((r) => `${r.tool}/${r.ruleId}`),
      ['bandit/B105', 'fuzzforge-secrets/ff-secret-generic-secret', 'gosec/G101', 'semgrep/ff-py-hardcoded-secret'],
    );
  });

  it('leaves apart different weaknesses, lines further apart than NEAR_LINES, results of one tool and results without a CWE', () => {
    const log: SarifLog = {
      version: '2.1.0',
      runs: [
        run(
          'bandit',
          [result('B608', 'db.py', 14), result('B311', 'db.py', 14), result('B608', 'db.py', 15)],
          [
            { id: 'B608', cwe: 'cwe-89' },
            { id: 'B311', cwe: 'cwe-330' },
          ],
        ),
        run(
          'semgrep',
          [result('ff-py-sql-injection', 'db.py', 19), result('style', 'db.py', 14)],
          [{ id: 'ff-py-sql-injection', cwe: 'cwe-89' }, { id: 'style' }],
        ),
        run(
          'fuzzforge-secrets',
          [result('ff-secret-a', 'k.py', 1), result('ff-secret-b', 'k.py', 1)],
          [{ id: 'ff-secret-a' }, { id: 'ff-secret-b' }],
        ),
      ],
    };
    const before = located(log);
    assert.equal(mergeSameWeakness(log), 0);
    assert.deepEqual(located(log), before);
  });

  it("folds results merged earlier (a child workflow) into one list, and bandit's eval under eval injection", () => {
    const child = result('B307', 'v.py', 37, {
      level: 'warning',
      properties: {
        [REPORTED_BY]: [
          { tool: 'bandit', ruleId: 'B307', level: 'warning' },
          { tool: 'semgrep', ruleId: 'ff-py-code-evaluation', level: 'error' },
        ],
      },
    });
    const log: SarifLog = {
      version: '2.1.0',
      runs: [
        run('bandit', [child], [{ id: 'B307', cwe: 'cwe-78' }]),
        run(
          'fuzzforge-patterns',
          [result('ff-code-evaluation', 'v.py', 37)],
          [{ id: 'ff-code-evaluation', cwe: 'cwe-94' }],
        ),
      ],
    };
    assert.equal(mergeSameWeakness(log), 1);
    assert.deepEqual(
      (child.properties?.[REPORTED_BY] as { tool: string }[]).map((r) => r.tool),
      ['bandit', 'fuzzforge-patterns', 'semgrep'],
    );
  });

  it('lets a suppression name any rule of a merged result', () => {
    const log: SarifLog = {
      version: '2.1.0',
      runs: [
        run('bandit', [result('B105', 'cfg.py', 4)], [{ id: 'B105', cwe: 'cwe-259' }]),
        run(
          'semgrep',
          [result('ff-py-hardcoded-secret', 'cfg.py', 4)],
          [{ id: 'ff-py-hardcoded-secret', cwe: 'cwe-798' }],
        ),
      ],
    };
    mergeSameWeakness(log);
    const lines: Record<string, string> = { 'cfg.py:4': 'KEY = "x"  # fuzzforge-ignore[ff-py-hardcoded-secret]' };
    assert.equal(
      applySuppressions(log, (f, l) => lines[`${f}:${l}`], []),
      1,
    );
    assert.equal(countByLevel(log).error, 0);
  });
});

describe('one weakness reported at nearby lines', () => {
  const sqlLog = (semgrepLine: number): SarifLog => ({
    version: '2.1.0',
    runs: [
      run(
        'bandit',
        [
          result('B608', 'dao.py', 42, {
            level: 'warning',
            locations: [
              {
                physicalLocation: {
                  artifactLocation: { uri: 'dao.py', uriBaseId: 'SRCROOT' },
                  region: { startLine: 42, endLine: 43 },
                },
              },
            ],
          }),
        ],
        [{ id: 'B608', cwe: 'cwe-89' }],
      ),
      run(
        'semgrep',
        [result('ff-py-sql-injection', 'dao.py', semgrepLine)],
        [{ id: 'ff-py-sql-injection', cwe: 'cwe-89' }],
      ),
    ],
  });
  it('folds a query built at one line and executed two lines below, keeping both places', () => {
    const log = sqlLog(45);
    assert.equal(mergeSameWeakness(log), 1);
    assert.deepEqual(located(log), ['bandit:B608@42']);
    const merged = log.runs[0]?.results?.[0];
    assert.equal(merged?.level, 'error');
    assert.deepEqual(
      merged?.relatedLocations?.map((l) => [l.physicalLocation?.region?.startLine, l.message?.text]),
      [[45, 'also reported here by semgrep ff-py-sql-injection']],
    );
    assert.deepEqual(merged?.properties?.[REPORTED_BY], [
      { tool: 'bandit', ruleId: 'B608', level: 'warning' },
      { tool: 'semgrep', ruleId: 'ff-py-sql-injection', level: 'error', line: 45 },
    ]);
  });
  it('keeps results further apart than NEAR_LINES as two', () => {
    const log = sqlLog(47);
    assert.equal(mergeSameWeakness(log), 0);
    assert.equal(located(log).length, 2);
  });
  it('never folds secrets on different lines: two values are two secrets', () => {
    const log: SarifLog = {
      version: '2.1.0',
      runs: [
        run('fuzzforge-secrets', [result('ff-secret-generic-secret', 'cfg.py', 3)]),
        run('gitleaks', [result('generic-api-key', 'cfg.py', 4)]),
      ],
    };
    assert.equal(mergeSameWeakness(log), 0);
  });
});

describe('applyFileContext', () => {
  const kinds = (uri: string) => classifyFile(uri, undefined);
  const log = (): SarifLog => ({
    version: '2.1.0',
    runs: [
      run(
        'bandit',
        [
          result('B101', 'tests/test_app.py', 3, { level: 'note' }),
          result('B201', 'tests/test_app.py', 9),
          result('B105', 'tests/test_config.py', 2),
          result('B324', 'tests/test_hash.py', 5),
          result('B324', 'app/hash.py', 5),
          result('B608', 'static/vendor/db.py', 1),
        ],
        [
          { id: 'B101', cwe: 'cwe-703' },
          { id: 'B105', cwe: 'cwe-259' },
          { id: 'B324', cwe: 'cwe-327' },
        ],
      ),
      run('fuzzforge-secrets', [
        result('ff-secret-generic-secret', 'docs/config.rst', 41),
        result('ff-secret-aws-access-key-id', 'docs/deploy.md', 7),
        result('ff-secret-generic-secret', 'app/settings.py', 4),
        result('ff-secret-private-key', 'tests/certs/server.key', 1),
      ]),
    ],
  });
  it('leaves out vendored code, quiet rules in tests and example secrets in docs; caps the rest at note', () => {
    const l = log();
    assert.deepEqual(applyFileContext(l, kinds), { vendored: 1, quiet: 3, examples: 1 });
    assert.deepEqual(located(l), [
      'bandit:B324@5',
      'bandit:B324@5',
      'fuzzforge-secrets:ff-secret-aws-access-key-id@7',
      'fuzzforge-secrets:ff-secret-generic-secret@4',
      'fuzzforge-secrets:ff-secret-private-key@1',
    ]);
    // A private key in tests is a TLS test's fixture: kept, as a note.
    const key = l.runs[1]?.results?.[2];
    assert.equal(key?.level, 'note');
    assert.equal(key?.properties?.fileKind, 'test');
    const [inTest, inApp] = l.runs[0]?.results ?? [];
    assert.equal(inTest?.level, 'note');
    assert.equal(inTest?.properties?.fileKind, 'test');
    assert.equal(inTest?.properties?.levelInProduction, 'error');
    assert.equal(inApp?.level, 'error');
    assert.equal(inApp?.properties?.fileKind, undefined);
    // A token in a provider's format is a leak in docs too: it keeps its level.
    const aws = l.runs[1]?.results?.[0];
    assert.equal(aws?.level, 'error');
    assert.equal(aws?.properties?.fileKind, 'docs');
    assert.deepEqual(leftOutOf(l.runs[0] as SarifRun), { vendored: 1, quiet: 3, examples: 0 });
    // Applying it again (full_scan merges its children's logs) takes nothing more and keeps the counts.
    assert.deepEqual(applyFileContext(l, kinds), { vendored: 0, quiet: 0, examples: 0 });
    assert.deepEqual(leftOutOf(l.runs[1] as SarifRun), { vendored: 0, quiet: 0, examples: 1 });
  });
  it('reports everything when asked, still marking the file kind', () => {
    const l = log();
    assert.deepEqual(applyFileContext(l, kinds, { includeVendored: true, reportTestsAndDocs: true }), {
      vendored: 0,
      quiet: 0,
      examples: 0,
    });
    assert.equal(located(l).length, 10);
    const vendored = l.runs[0]?.results?.find((r) => r.ruleId === 'B608');
    assert.equal(vendored?.properties?.fileKind, 'vendored');
    assert.equal(l.runs[0]?.results?.find((r) => r.ruleId === 'B201')?.level, 'error');
  });
  it("keeps a pattern credential whose value the detector knows as a provider's token", () => {
    const l: SarifLog = {
      version: '2.1.0',
      runs: [
        run(
          'fuzzforge-patterns',
          [
            result('ff-hardcoded-credential', 'tests/test_api.py', 3, { properties: { secretKind: 'github-token' } }),
            result('ff-hardcoded-credential', 'tests/test_api.py', 4, { properties: { secretKind: 'generic-secret' } }),
          ],
          [{ id: 'ff-hardcoded-credential', cwe: 'cwe-798' }],
        ),
      ],
    };
    assert.deepEqual(applyFileContext(l, kinds), { vendored: 0, quiet: 1, examples: 0 });
    assert.deepEqual(located(l), ['fuzzforge-patterns:ff-hardcoded-credential@3']);
    assert.equal(l.runs[0]?.results?.[0]?.level, 'error');
  });

  it('treats a malformed leftOut property as zero', () => {
    const r = run('x', []);
    r.properties = { leftOut: { vendored: -3, quiet: 'many', examples: 1.5 } };
    assert.deepEqual(leftOutOf(r), { vendored: 0, quiet: 0, examples: 0 });
  });
});

describe('baseline states', () => {
  it('never count absent results and can count only new ones', () => {
    const log: SarifLog = {
      version: '2.1.0',
      runs: [
        run('t', [
          result('a', 'x', 1, { baselineState: 'absent' }),
          result('b', 'x', 2, { baselineState: 'unchanged' }),
          result('c', 'x', 3, { baselineState: 'new', level: 'note' }),
        ]),
      ],
    };
    assert.deepEqual(baselineCounts(log), { new: 1, unchanged: 1, updated: 0, absent: 1 });
    assert.equal(countByLevel(log).error, 1);
    assert.equal(failOnExitCode(log, 'error'), 1);
    assert.equal(failOnExitCode(log, 'error', { onlyNew: true }), 0, 'the only error is unchanged');
    assert.equal(failOnExitCode(log, 'note', { onlyNew: true }), 1);
  });

  it('restores what the matcher drops and re-points rule indexes', () => {
    const current = run('t', [result('b', 'x', 2)], [{ id: 'a' }, { id: 'b' }]);
    current.originalUriBaseIds = { SRCROOT: { uri: 'file:///ws/' } };
    const matched: SarifLog = {
      version: '2.1.0',
      runs: [
        {
          tool: { driver: { name: 't' } },
          results: [
            { ...result('b', 'x', 2), ruleIndex: 1, baselineState: 'unchanged' },
            { ...result('a', 'x', 1), ruleIndex: 7, baselineState: 'absent' },
            { ...result('gone', 'x', 1), ruleIndex: 0, baselineState: 'absent' },
          ],
        },
      ],
    };
    const out = restoreRunContext(matched, { version: '2.1.0', runs: [current] });
    assert.equal(out.runs[0]?.originalUriBaseIds?.SRCROOT?.uri, 'file:///ws/');
    assert.deepEqual(
      out.runs[0]?.tool.driver.rules?.map((r) => r.id),
      ['a', 'b'],
    );
    assert.deepEqual(
      out.runs[0]?.results?.map((r) => r.ruleIndex),
      [1, 0, undefined],
    );
  });
});
