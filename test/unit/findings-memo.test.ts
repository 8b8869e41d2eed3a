import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FindingsMemo } from '../../toolbox/modules/analyzers/findingsMemo';
import { scanSource } from '../../toolbox/modules/analyzers/patterns';

test('the pattern memo analyses a text once per language and rule set, and again when any of them changes', () => {
  const memo = new FindingsMemo<ReturnType<typeof scanSource>[number]>(100);
  let analysed = 0;
  const run = (text: string, language: 'python' | 'javascript', rules: string[]) =>
    memo.findings(text, language, rules, () => {
      analysed++;
      return scanSource(text, language, { ruleIds: rules });
    });
  const text = 'import os\nos.system(input())\n';
  const first = run(text, 'python', ['ff-command-injection']);
  assert.equal(first.length, 1);
  assert.deepEqual(run(text, 'python', ['ff-command-injection']), first);
  assert.equal(analysed, 1, 'the same text, language and rules come from memory');
  run(`${text}# edited\n`, 'python', ['ff-command-injection']);
  run(text, 'javascript', ['ff-command-injection']);
  assert.equal(run(text, 'python', ['ff-code-evaluation']).length, 0);
  assert.equal(analysed, 4, 'another text, language or rule set is analysed');
});

test('the pattern memo forgets the least recently used text beyond its bound, and keeps nothing from a failed analysis', () => {
  const memo = new FindingsMemo<number>(2);
  let analysed = 0;
  const run = (text: string) => memo.findings(text, 'python', [], () => [++analysed]);
  run('a');
  run('b');
  run('a'); // a is now the most recent
  run('c'); // evicts b
  assert.equal(memo.size, 2);
  assert.equal(analysed, 3);
  run('a');
  assert.equal(analysed, 3, 'a was kept');
  run('b');
  assert.equal(analysed, 4, 'b was forgotten');
  assert.throws(() =>
    memo.findings('d', 'python', [], () => {
      throw new Error('lexer failed');
    }),
  );
  assert.equal(memo.findings('d', 'python', [], () => [99])[0], 99, 'a failure is not remembered');
});
