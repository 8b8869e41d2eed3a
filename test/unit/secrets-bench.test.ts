import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { scoreCorpus } from '../bench/secrets';

// The figures `npm run bench:secrets` reached on our corpus (test/fixtures/secrets-bench): a change
// that loses a decoding or lets a decoy through fails here. Raise them when the detector improves.
const REACHED = {
  /** Secrets found, of 45. */
  found: 45,
  /** Findings on decoy lines or on lines the truth does not list. */
  falsePositives: 0,
};
/** Categories where every secret is found today. */
const COMPLETE = [
  'base64',
  'char-join',
  'comment',
  'concatenation',
  'escaped-json',
  'escapes',
  'heredoc',
  'hex',
  'plain',
  'regex',
  'replace',
  'reversal',
  'rot13',
  'shell-export',
  'template',
  'url-encoding',
  'xor',
];

describe('secret detection benchmark corpus', () => {
  it('holds the recall and precision it reached, per category', async () => {
    const rows = await scoreCorpus();
    const all = rows.find((r) => r.category === 'all');
    assert.ok(all);
    assert.equal(all.secrets, 45, 'the corpus changed: update REACHED');
    assert.ok(all.found >= REACHED.found, `found ${all.found} of ${all.secrets}, reached ${REACHED.found}`);
    assert.ok(
      all.falsePositives <= REACHED.falsePositives,
      `false positives: ${rows.filter((r) => r.falsePositives > 0).map((r) => `${r.category} ${r.falsePositives}`).join(', ')}`,
    );
    for (const category of COMPLETE) {
      const row = rows.find((r) => r.category === category);
      assert.equal(row?.recall, 1, `${category}: ${row?.found} of ${row?.secrets}`);
    }
  });
});
