import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { failOnExitCode, countByLevel, REPORTED_BY } from '../../backend/sarif/log';
import type { SarifLog, SarifResult, SarifRun } from '../../backend/sarif/types';
import { baselineCounts, restoreRunContext } from '../../toolbox/modules/reporters/baseline';
import {
  applySuppressions,
  inlineSuppressedRules,
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

  it('leaves apart different weaknesses, other lines, results of one tool and results without a CWE', () => {
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
          [result('ff-py-sql-injection', 'db.py', 16), result('style', 'db.py', 14)],
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
