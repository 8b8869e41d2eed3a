import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import {
  campaignTarget,
  crashCountsByHarness,
  discoverWorkspaceHarnesses,
  formatCampaignDuration,
  harnessKey,
  harnessLine,
  parseCampaignDuration,
} from '../../backend/fuzz/workspaceHarnesses';

const fixtures = path.join(__dirname, '..', 'fixtures');

/** Line (0-based) of the first line of `file` matching `pattern`, read independently of the code under test. */
function lineOf(file: string, pattern: RegExp): number {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .findIndex((l) => pattern.test(l));
}

describe('harness lenses: discovery and placement', () => {
  it('finds the fixtures harnesses with the engines own discovery, one engine each', async () => {
    const expected: [string, string, string, string][] = [
      ['fuzz-python', 'atheris', 'atheris_fuzzing', 'fuzz_parser.py'],
      ['fuzz-cpp', 'libfuzzer', 'libfuzzer_fuzzing', 'fuzz/fuzz_parse.cc'],
      ['fuzz-go', 'go-fuzz', 'go_fuzzing', 'parse_test.go'],
      ['fuzz-rust', 'cargo-fuzz', 'cargo_fuzzing', 'fuzz/fuzz_targets/parse.rs'],
    ];
    for (const [dir, engine, workflow, file] of expected) {
      const found = await discoverWorkspaceHarnesses(path.join(fixtures, dir));
      assert.deepEqual(
        found.map((h) => [h.engine, h.workflow, h.harness.file]),
        [[engine, workflow, file]],
        dir,
      );
    }
  });

  it('puts each lens on the entry point of its harness', async () => {
    const cases: [string, RegExp][] = [
      ['fuzz-python', /^def TestOneInput/],
      ['fuzz-cpp', /LLVMFuzzerTestOneInput/],
      ['fuzz-go', /^func FuzzParse/],
      ['fuzz-rust', /fuzz_target!/],
    ];
    for (const [dir, pattern] of cases) {
      const [h] = await discoverWorkspaceHarnesses(path.join(fixtures, dir));
      assert.ok(h, dir);
      const file = path.join(fixtures, dir, h.harness.file);
      const want = lineOf(file, pattern);
      assert.ok(want > 0, `${dir}: the fixture has its entry point below line 1`);
      assert.equal(harnessLine(fs.readFileSync(file, 'utf8'), h.engine, h.harness), want, dir);
    }
  });

  it('gives each Go fuzz function of one file its own line and target', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-lens-'));
    try {
      const text = [
        'package p',
        '',
        'import "testing"',
        '',
        'func FuzzA(f *testing.F) {}',
        '',
        'func FuzzB(f *testing.F) {}',
        '',
      ].join('\n');
      fs.writeFileSync(path.join(root, 'p_test.go'), text);
      const found = await discoverWorkspaceHarnesses(root);
      assert.deepEqual(
        found.map((h) => [h.harness.name, harnessLine(text, h.engine, h.harness), campaignTarget(h)]),
        [
          ['FuzzA', 4, 'FuzzA'],
          ['FuzzB', 6, 'FuzzB'],
        ],
      );
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('targets a harness by its file except for Go, and falls back to line 0', () => {
    const harness = { name: 'fuzz_x', file: 'a/fuzz_x.py', dir: 'a' };
    assert.equal(campaignTarget({ engine: 'atheris', harness }), 'a/fuzz_x.py');
    assert.equal(harnessLine('import atheris\n# no entry point here\n', 'atheris', harness), 0);
  });

  it('counts unique crashes per harness across runs (a crash found again counts once)', () => {
    const counts = crashCountsByHarness([
      { id: 'aaaaaaaa', harness: 'fuzz_parser', harnessFile: 'fuzz_parser.py' },
      { id: 'aaaaaaaa', harness: 'fuzz_parser', harnessFile: 'fuzz_parser.py' },
      { id: 'bbbbbbbb', harness: 'fuzz_parser', harnessFile: 'fuzz_parser.py' },
      { id: 'cccccccc', harness: 'FuzzA', harnessFile: 'p_test.go' },
    ]);
    assert.equal(counts.get(harnessKey('fuzz_parser.py', 'fuzz_parser')), 2);
    assert.equal(counts.get(harnessKey('p_test.go', 'FuzzA')), 1);
    assert.equal(counts.get(harnessKey('p_test.go', 'FuzzB')), undefined);
  });

  it('parses and formats campaign lengths', () => {
    assert.deepEqual(parseCampaignDuration('90'), { seconds: 90 });
    assert.deepEqual(parseCampaignDuration(' 10m '), { seconds: 600 });
    assert.deepEqual(parseCampaignDuration('2H'), { seconds: 7200 });
    assert.ok('problem' in parseCampaignDuration('0'));
    assert.ok('problem' in parseCampaignDuration('ten minutes'));
    assert.ok('problem' in parseCampaignDuration('-5'));
    assert.equal(formatCampaignDuration(45), '45 s');
    assert.equal(formatCampaignDuration(5400), '1 h 30 min');
  });
});
