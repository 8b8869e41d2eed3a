// Which weakness a result names: the CWE classes that let results of different tools at one line
// become one (toolbox/modules/reporters/weakness.ts), here for cross-site scripting.
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SarifLog, SarifResult, SarifRun } from '../../backend/sarif/types';
import { mergeSameWeakness } from '../../toolbox/modules/reporters/postprocess';
import { weaknessClasses } from '../../toolbox/modules/reporters/weakness';

function result(ruleId: string, line: number): SarifResult {
  return {
    ruleId,
    level: 'error',
    message: { text: ruleId },
    locations: [
      { physicalLocation: { artifactLocation: { uri: 'app.py', uriBaseId: 'SRCROOT' }, region: { startLine: line } } },
    ],
  };
}

/** A run of one tool with one result per rule, each rule tagged with its CWEs. */
function run(tool: string, rules: { id: string; cwes: string[]; line: number }[]): SarifRun {
  return {
    tool: {
      driver: {
        name: tool,
        rules: rules.map((r) => ({ id: r.id, properties: { tags: r.cwes.map((c) => `external/cwe/cwe-${c}`) } })),
      },
    },
    results: rules.map((r) => result(r.id, r.line)),
  };
}

function classesOf(tool: string, ruleId: string, cwes: string[]): string[] {
  const r = run(tool, [{ id: ruleId, cwes, line: 1 }]);
  return [...weaknessClasses(r, r.results?.[0] as SarifResult)].sort();
}

describe('weakness classes of cross-site scripting', () => {
  it("takes bandit's jinja2 autoescape=False (filed under code injection) as XSS", () => {
    assert.deepEqual(classesOf('bandit', 'B701', ['94']), ['cwe-79']);
    // Another tool's CWE-94 stays code injection.
    assert.deepEqual(classesOf('semgrep', 'ff-py-flask-debug', ['489', '94']), ['cwe-489', 'cwe-94']);
  });

  it("puts bandit's mark_safe and Markup checks and the semgrep rules in one class", () => {
    assert.deepEqual(classesOf('bandit', 'B703', ['80']), ['cwe-79']);
    assert.deepEqual(classesOf('bandit', 'B308', ['79']), ['cwe-79']);
    assert.deepEqual(classesOf('bandit', 'B704', ['79']), ['cwe-79']);
    assert.deepEqual(classesOf('semgrep', 'ff-py-autoescape-disabled', ['79', '116']), ['cwe-116', 'cwe-79']);
  });

  it('makes one result of bandit B701 and the semgrep autoescape rule at one line; other CWE-94 rules still fold', () => {
    const log: SarifLog = {
      version: '2.1.0',
      runs: [
        run('bandit', [
          { id: 'B701', cwes: ['94'], line: 3 },
          { id: 'B201', cwes: ['94'], line: 9 },
        ]),
        run('semgrep', [
          { id: 'ff-py-autoescape-disabled', cwes: ['79', '116'], line: 3 },
          { id: 'ff-py-flask-debug', cwes: ['489', '94'], line: 9 },
          { id: 'ff-py-request-marked-safe', cwes: ['79', '116'], line: 12 },
        ]),
      ],
    };
    assert.equal(mergeSameWeakness(log), 2);
    const left = log.runs.flatMap((r) => (r.results ?? []).map((x) => [r.tool.driver.name, x.ruleId]));
    assert.deepEqual(left, [
      ['bandit', 'B701'],
      ['bandit', 'B201'],
      ['semgrep', 'ff-py-request-marked-safe'],
    ]);
    assert.deepEqual(
      (log.runs[0]?.results?.[0]?.properties?.reportedBy as { tool: string; ruleId: string }[]).map((r) => r.ruleId),
      ['B701', 'ff-py-autoescape-disabled'],
    );
  });
});
