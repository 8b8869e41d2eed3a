import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SarifRun } from '../../backend/sarif/types';
import { MAX_REDACTED_TEXT, redactRun, redactText } from '../../toolbox/modules/reporters/redact';

function banditRun(): SarifRun {
  return {
    tool: {
      driver: {
        name: 'bandit',
        rules: [
          {
            id: 'B105',
            name: 'hardcoded_password_string',
            help: { text: "B105: hardcoded password string. Possible hardcoded password: 'hunter2'" },
            properties: { tags: ['external/cwe/cwe-259'] },
          },
          { id: 'B608', properties: { tags: ['external/cwe/cwe-89'] } },
        ],
      },
    },
    results: [
      {
        ruleId: 'B105',
        ruleIndex: 0,
        level: 'note',
        message: { text: "Possible hardcoded password: 'hunter2'" },
        locations: [
          {
            physicalLocation: {
              artifactLocation: { uri: 'notes/config.py', uriBaseId: 'SRCROOT' },
              region: { startLine: 5, snippet: { text: 'DATABASE_PASSWORD = "hunter2"\n' } },
              contextRegion: {
                startLine: 4,
                endLine: 6,
                snippet: { text: 'SECRET_KEY = "s3cr3t-n0tes-k3y-2024"\nDATABASE_PASSWORD = "hunter2"\nx = 1\n' },
              },
            },
          },
        ],
        partialFingerprints: { 'fuzzforge/v1': 'abc' },
        properties: { issue_confidence: 'MEDIUM' },
      },
      {
        ruleId: 'B608',
        ruleIndex: 1,
        level: 'warning',
        message: { text: 'Possible SQL injection vector through string-based query construction.' },
        locations: [
          {
            physicalLocation: {
              artifactLocation: { uri: 'notes/db.py', uriBaseId: 'SRCROOT' },
              region: {
                startLine: 14,
                snippet: {
                  text: 'conn = connect(password="hunter2")\ncur.execute("SELECT * FROM t WHERE n = \'%s\'" % n)\n',
                },
              },
            },
          },
        ],
      },
    ],
    invocations: [
      {
        executionSuccessful: true,
        toolExecutionNotifications: [{ message: { text: 'token ghp_4Xk9Qm2Lp7Rt5Vw8Yz1Bc3Nd6Fg0Hj2Kl4Mn was seen' } }],
      },
    ],
  };
}

describe("redaction of other tools' results", () => {
  it('redacts a text seen before the same way, and tells a credential result from another', () => {
    const text = "Literal used as found: 'hunter2'";
    const plain = redactText(text);
    const credential = redactText(text, { everyLiteral: true });
    // The second time of each comes from what was redacted before: still apart.
    assert.equal(redactText(text), plain);
    assert.equal(redactText(text, { everyLiteral: true }), credential);
    assert.doesNotMatch(credential, /hunter2/);
    assert.notEqual(plain, credential);
  });

  it('cuts a text longer than it redacts, saying so, and still redacts what it keeps', () => {
    // A hostile tool's megabyte message (a long run of name characters made a regex quadratic and
    // kept the worker busy for minutes).
    const huge = `password = "hunter2hunter2" ${'A'.repeat(1_000_000)}`;
    const out = redactText(huge);
    assert.ok(out.length < MAX_REDACTED_TEXT + 100, String(out.length));
    assert.match(out, /… \(cut at 16384 characters\)$/);
    assert.doesNotMatch(out, /hunter2hunter2/);
    // Short texts are kept whole.
    assert.equal(redactText('x = 1'), 'x = 1');
  });

  it("takes the value out of bandit's hard-coded password message, snippet, context and rule help", () => {
    const run = banditRun();
    const changed = redactRun(run);
    const text = JSON.stringify(run);
    assert.doesNotMatch(text, /hunter2|s3cr3t-n0tes-k3y-2024|ghp_4Xk9/);
    const [secret, sql] = run.results ?? [];
    assert.equal(secret?.message.text, "Possible hardcoded password: '****'");
    assert.equal(secret?.locations?.[0]?.physicalLocation?.region?.snippet?.text, 'DATABASE_PASSWORD = "****"\n');
    assert.equal(
      run.tool.driver.rules?.[0]?.help?.text,
      "B105: hardcoded password string. Possible hardcoded password: '****'",
    );
    assert.deepEqual(run.tool.driver.rules?.[0]?.properties, { tags: ['external/cwe/cwe-259'] });
    // Not a credential rule: only values under secret-looking names go; the query stays readable.
    assert.equal(
      sql?.locations?.[0]?.physicalLocation?.region?.snippet?.text,
      'conn = connect(password="****")\ncur.execute("SELECT * FROM t WHERE n = \'%s\'" % n)\n',
    );
    assert.equal(sql?.message.text, 'Possible SQL injection vector through string-based query construction.');
    assert.equal(secret?.ruleId, 'B105');
    assert.equal(secret?.locations?.[0]?.physicalLocation?.artifactLocation?.uri, 'notes/config.py');
    assert.deepEqual(changed, [secret, sql], 'both snippets changed: their fingerprints must be redone');
  });

  it('leaves text already redacted alone and redacts long values to their first 4 characters', () => {
    assert.equal(redactText('API_TOKEN = "s3cr…"'), 'API_TOKEN = "s3cr…"');
    assert.equal(redactText('password = "****"', { everyLiteral: true }), 'password = "****"');
    assert.equal(redactText('"apiKey": "correct-horse-battery"'), '"apiKey": "corr…"');
    assert.equal(redactText('db_password := "hunter2hunter2"'), 'db_password := "hunt…"');
    assert.equal(redactText('label = "Password"'), 'label = "Password"', 'a name that is no secret');
    assert.equal(redactText('password_label = "Enter your password"'), 'password_label = "Enter your password"');
  });
});
