import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  countByLevel,
  effectiveLevel,
  failOnExitCode,
  findingRows,
  mergeLogs,
  parseSarif,
  sarifShapeProblems,
} from '../../backend/sarif/log';
import type { SarifLog, SarifRun } from '../../backend/sarif/types';

function run(name: string, results: SarifRun['results'], rules: SarifRun['tool']['driver']['rules'] = []): SarifRun {
  return { tool: { driver: { name, rules } }, results };
}
const loc = (uri: string, line: number) => [
  { physicalLocation: { artifactLocation: { uri, uriBaseId: 'SRCROOT' }, region: { startLine: line } } },
];

describe('SARIF levels', () => {
  const r = run('t', [], [{ id: 'R1', defaultConfiguration: { level: 'error' } }, { id: 'R2' }]);
  it('uses the result level, else the rule default, else warning', () => {
    assert.equal(effectiveLevel(r, { ruleId: 'R1', level: 'note', message: { text: '' } }), 'note');
    assert.equal(effectiveLevel(r, { ruleId: 'R1', message: { text: '' } }), 'error');
    assert.equal(effectiveLevel(r, { ruleIndex: 0, message: { text: '' } }), 'error');
    assert.equal(effectiveLevel(r, { ruleId: 'R2', message: { text: '' } }), 'warning');
    assert.equal(effectiveLevel(r, { ruleId: 'R1', kind: 'pass', message: { text: '' } }), 'none');
  });
});

describe('failOnExitCode', () => {
  const log: SarifLog = {
    version: '2.1.0',
    runs: [
      run('first', [{ ruleId: 'a', level: 'note', message: { text: 'n' } }]),
      // The error is in the SECOND run: a reader that looks only at runs[0] gets this wrong.
      run('second', [{ ruleId: 'b', level: 'error', message: { text: 'e' } }]),
    ],
  };
  it('reads every run of the log', () => {
    assert.equal(failOnExitCode(log, 'error'), 1);
    assert.equal(failOnExitCode(log, 'warning'), 1);
    assert.equal(failOnExitCode(log, 'note'), 1);
    assert.equal(failOnExitCode(log, 'none'), 0);
  });
  it('passes when nothing reaches the threshold', () => {
    const notes: SarifLog = {
      version: '2.1.0',
      runs: [run('t', [{ ruleId: 'a', level: 'note', message: { text: 'n' } }])],
    };
    assert.equal(failOnExitCode(notes, 'warning'), 0);
    assert.equal(failOnExitCode({ version: '2.1.0', runs: [] }, 'note'), 0);
  });
  it('ignores suppressed results', () => {
    const suppressed: SarifLog = {
      version: '2.1.0',
      runs: [run('t', [{ ruleId: 'a', level: 'error', message: { text: 'e' }, suppressions: [{ kind: 'inSource' }] }])],
    };
    assert.equal(failOnExitCode(suppressed, 'note'), 0);
    assert.deepEqual(countByLevel(suppressed), { error: 0, warning: 0, note: 0, none: 0 });
    assert.equal(countByLevel(suppressed, { includeSuppressed: true }).error, 1);
  });
});

describe('findingRows and merge', () => {
  it('flattens and sorts by level, file and line', () => {
    const merged = mergeLogs([
      {
        version: '2.1.0',
        runs: [run('p', [{ ruleId: 'x', level: 'warning', message: { text: 'w' }, locations: loc('b.py', 3) }])],
      },
      {
        version: '2.1.0',
        runs: [
          run(
            'q',
            [
              { ruleId: 'y', level: 'error', message: { text: 'e' }, locations: loc('z.c', 9) },
              { ruleId: 'y', level: 'error', message: { text: 'e2' }, locations: loc('a.c', 1) },
            ],
            [
              {
                id: 'y',
                helpUri: 'https://cwe.mitre.org/data/definitions/78.html',
                properties: { tags: ['security'] },
              },
            ],
          ),
        ],
      },
    ]);
    assert.equal(merged.runs.length, 2);
    const rows = findingRows(merged);
    assert.deepEqual(
      rows.map((r) => [r.level, r.file, r.line, r.tool]),
      [
        ['error', 'a.c', 1, 'q'],
        ['error', 'z.c', 9, 'q'],
        ['warning', 'b.py', 3, 'p'],
      ],
    );
    assert.equal(rows[0]?.helpUri, 'https://cwe.mitre.org/data/definitions/78.html');
    assert.deepEqual(rows[0]?.tags, ['security']);
  });
});

describe('parseSarif', () => {
  it('names the source and the bad fields', () => {
    assert.throws(() => parseSarif('{not json', 'tool.sarif'), /tool\.sarif is not valid JSON/);
    assert.throws(
      () => parseSarif('{"version":"2.0.0","runs":[]}', 'x.sarif'),
      /x\.sarif is not a usable SARIF 2\.1\.0 log: \/version is "2\.0\.0"/,
    );
    assert.deepEqual(
      sarifShapeProblems({
        version: '2.1.0',
        runs: [{ tool: { driver: {} }, results: [{ level: 'fatal', message: {} }] }],
      }),
      [
        '/runs/0/tool/driver/name is missing',
        '/runs/0/results/0/message has neither text nor id',
        '/runs/0/results/0/level is "fatal"',
      ],
    );
  });
  it('accepts a minimal valid log', () => {
    assert.equal(parseSarif('{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"t"}}}]}', 'ok').runs.length, 1);
  });
});
