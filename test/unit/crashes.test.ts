// The pure half of the Crashes view and the crash detail panel (extension/views/crashesModel.ts),
// and where a crash is kept as a regression input (backend/fuzz/regression.ts).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { regressionFileName, regressionFolder, saveRegressionInput } from '../../backend/fuzz/regression';
import { escapeHtml, webviewHtml } from '../../extension/panelHtml';
import {
  crashRow,
  formatBytes,
  groupByHarness,
  hexDump,
  inputAsText,
  isWorkspaceFile,
  matchesHarness,
  oneLine,
  topWorkspaceFrame,
} from '../../extension/views/crashesModel';
import type { CrashRecord } from '../../toolbox/shared/fuzzing';

function crash(over: Partial<CrashRecord> = {}): CrashRecord {
  const id = over.id ?? 'a1b2c3d4e5f60718';
  return {
    id,
    engine: 'atheris',
    harness: 'fuzz_parser',
    harnessFile: 'fuzz_parser.py',
    kind: 'ValueError',
    summary: 'ValueError: bad record length',
    frames: [
      { function: 'TestOneInput', file: 'fuzz_parser.py', line: 9 },
      { function: 'parse_record', file: 'parser.py', line: 14 },
    ],
    hits: 3,
    firstSeen: '2026-11-30T01:00:00.000Z',
    lastSeen: '2026-11-30T01:00:05.000Z',
    inputKey: `runs/r/crashes/${id}/input`,
    inputBytes: 14,
    stackKey: `runs/r/crashes/${id}/stack.txt`,
    reproduce: 'python3 fuzz_parser.py crash-a1b2c3d4e5f60718',
    ...over,
  };
}

describe('crashes view model', () => {
  it("groups a run's crashes by harness file, most hit first", () => {
    const groups = groupByHarness([
      crash({ id: '11111111', harness: 'b', harnessFile: 'z/b.py', hits: 1 }),
      crash({ id: '22222222', hits: 1 }),
      crash({ id: '33333333', hits: 7 }),
      crash({ id: '44444444', harness: 'a', harnessFile: 'a.py', hits: 2 }),
    ]);
    assert.deepEqual(
      groups.map((g) => [g.harnessFile, g.crashes.map((c) => c.id)]),
      [
        ['a.py', ['44444444']],
        ['fuzz_parser.py', ['33333333', '22222222']],
        ['z/b.py', ['11111111']],
      ],
    );
    assert.deepEqual(groupByHarness([]), []);
  });

  it('a crash row shows kind, the top workspace frame, hits and input size', () => {
    const row = crashRow(
      crash({
        frames: [
          { function: 'raise_', file: '/usr/lib/python3.11/x.py', line: 3 },
          { function: 'lib', file: '.venv/lib/python3.11/site-packages/m.py', line: 1 },
          { function: 'parse_record', file: 'parser.py', line: 14 },
        ],
        hits: 1,
        inputBytes: 2048,
      }),
    );
    assert.equal(row.label, 'ValueError');
    assert.equal(row.description, 'parser.py:14 parse_record · 1 hit · 2.0 KiB');
    assert.match(row.accessibilityLabel, /ValueError, parser\.py:14 parse_record, 1 hit, input 2\.0 KiB/);
    assert.equal(crashRow(crash({ frames: [{ function: '??' }] })).description, 'no workspace frame · 3 hits · 14 B');
  });

  it('workspace frames are relative paths inside the workspace, not libraries', () => {
    assert.equal(isWorkspaceFile('src/parse.cc'), true);
    for (const f of [
      '/abs/x.c',
      '../up.py',
      'a/../../up.py',
      'C:\\x.c',
      '<frozen runpy>',
      'venv/lib/site-packages/x.py',
      '',
      undefined,
    ]) {
      assert.equal(isWorkspaceFile(f), false, String(f));
    }
    assert.deepEqual(topWorkspaceFrame(crash()), { function: 'TestOneInput', file: 'fuzz_parser.py', line: 9 });
  });

  it('hostile record text: labels are one plain line, tooltips escaped Markdown', () => {
    const evil = crash({
      kind: 'Boom\n[link](command:fuzzforge.stopBackend) <img src=x onerror=alert(1)>',
      summary: '**bold** $(alert) <script>alert(1)</script>',
      harness: '`h`',
    });
    const row = crashRow(evil);
    assert.doesNotMatch(row.label, /\n/);
    assert.doesNotMatch(row.tooltip, /\]\(command:/);
    assert.doesNotMatch(row.tooltip, /(^|[^\\])<(script|img)/);
    assert.doesNotMatch(row.tooltip, /(^|[^\\])\*\*bold/);
    assert.doesNotMatch(row.tooltip, /(^|[^\\])`h/);
    assert.equal(oneLine('a\u202eb\u0000c\r\nd'), 'a b c d');
    assert.equal(oneLine('x'.repeat(10), 5), 'xxxx…');
    // The panel's shell escapes its interpolated values (the page itself sets only text).
    const html = webviewHtml({ title: '</title><script>x</script>', nonce: 'n"', cspSource: 's', scriptUri: 'u' });
    assert.doesNotMatch(html, /<\/title><script>x/);
    assert.equal(escapeHtml(`<a href="x">'&`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;');
  });

  it('a showCrashes filter matches the harness file however it is written', () => {
    assert.equal(matchesHarness({ harnessFile: 'fuzz/fuzz_parser.py' }, './fuzz/fuzz_parser.py'), true);
    assert.equal(matchesHarness({ harnessFile: 'fuzz/fuzz_parser.py' }, 'fuzz\\fuzz_parser.py'), true);
    assert.equal(matchesHarness({ harnessFile: 'fuzz/fuzz_parser.py' }, 'fuzz_parser.py'), false);
    assert.equal(matchesHarness({ harnessFile: 'x.py' }, undefined), true);
  });

  it('formats sizes', () => {
    assert.deepEqual([0, 1023, 1024, 1536 * 1024, -1].map(formatBytes), ['0 B', '1023 B', '1.0 KiB', '1.5 MiB', '?']);
  });
});

describe('crash input rendering', () => {
  it('hex dump: offsets, two groups of eight, printable ASCII', () => {
    const bytes = Buffer.from('ABCDEFGHIJKLMNOP\x00\xff<', 'latin1');
    assert.equal(
      hexDump(bytes),
      [
        '00000000  41 42 43 44 45 46 47 48  49 4a 4b 4c 4d 4e 4f 50  |ABCDEFGHIJKLMNOP|',
        '00000010  00 ff 3c                                          |..<|',
      ].join('\n'),
    );
    assert.equal(hexDump(new Uint8Array(0)), '');
    assert.equal(hexDump(new Uint8Array(40), 16).split('\n').at(-1), '… 24 more bytes');
  });

  it('text: UTF-8 as itself, control bytes and invalid sequences as escapes that map back to bytes', () => {
    const bytes = Buffer.concat([
      Buffer.from('héllo\tw\\\n', 'utf8'),
      Buffer.from([0x00, 0x1b, 0x7f, 0xff, 0xc3]),
      Buffer.from('\u202e', 'utf8'),
      Buffer.from([0xc0, 0x80]), // overlong NUL
      Buffer.from([0xed, 0xa0, 0x80]), // a surrogate
      Buffer.from('😀', 'utf8'),
    ]);
    assert.equal(inputAsText(bytes), 'héllo\\tw\\\\\\n\n\\x00\\x1b\\x7f\\xff\\xc3\\u{202e}\\xc0\\x80\\xed\\xa0\\x80😀');
    assert.equal(inputAsText(Buffer.from('<script>')), '<script>', 'text stays text: the page sets it as a text node');
    assert.equal(inputAsText(Buffer.from('abcdef'), 3), 'abc\n… 3 more bytes');
    // A multi-byte character cut by the limit shows as escapes, not as a replacement character.
    assert.equal(inputAsText(Buffer.from('aé'), 2), 'a\\xc3\n… 1 more bytes');
  });
});

describe('regression inputs', () => {
  it("go to the run's seed_corpus, else the engine's own corpus folder", () => {
    assert.equal(regressionFolder(crash(), 'seeds'), 'seeds');
    assert.equal(regressionFolder(crash(), './seeds/parser/'), 'seeds/parser');
    assert.equal(regressionFolder(crash()), 'corpus/fuzz_parser');
    assert.equal(regressionFolder(crash({ harnessFile: 'fuzz/fuzz_parser.py' })), 'fuzz/corpus/fuzz_parser');
    assert.equal(
      regressionFolder({ engine: 'go-fuzz', harness: 'pkg/FuzzParse', harnessFile: 'pkg/parse_test.go' }),
      'pkg/testdata/fuzz/FuzzParse',
    );
    assert.equal(
      regressionFolder({ engine: 'cargo-fuzz', harness: 'parse', harnessFile: 'fuzz/fuzz_targets/parse.rs' }),
      'fuzz/corpus/parse',
    );
    assert.equal(
      regressionFolder({ engine: 'libfuzzer', harness: 'fuzz_parse', harnessFile: 'fuzz_parse.cc' }),
      'corpus/fuzz_parse',
    );
  });

  it('refuse folders and names that leave the workspace', () => {
    for (const bad of ['../x', '/etc', 'a/../../x', '..']) {
      assert.throws(() => regressionFolder(crash(), bad), /not a folder inside the workspace/, bad);
    }
    assert.throws(() => regressionFolder(crash({ harnessFile: '../up.py' })), /not a folder inside the workspace/);
    assert.throws(() => regressionFolder(crash({ harness: '..' })), /cannot be a folder name/);
    assert.throws(() => regressionFileName({ id: '../../x' }), /not a crash signature/);
    assert.equal(regressionFileName({ id: 'a1b2c3d4' }), 'crash-a1b2c3d4');
  });

  it('create the folder, never overwrite, never follow a link out of the workspace', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-regression-'));
    try {
      const root = path.join(tmp, 'ws');
      fs.mkdirSync(root);
      const input = path.join(tmp, 'input');
      fs.writeFileSync(input, 'boom');
      const saved = await saveRegressionInput(root, 'corpus/fuzz_parser', 'crash-a1b2c3d4', input);
      assert.equal(saved, path.join(fs.realpathSync(root), 'corpus', 'fuzz_parser', 'crash-a1b2c3d4'));
      assert.equal(fs.readFileSync(saved, 'utf8'), 'boom');
      fs.writeFileSync(input, 'other');
      await assert.rejects(
        saveRegressionInput(root, 'corpus/fuzz_parser', 'crash-a1b2c3d4', input),
        /corpus\/fuzz_parser\/crash-a1b2c3d4 already exists/,
      );
      assert.equal(fs.readFileSync(saved, 'utf8'), 'boom', 'the existing file is untouched');
      const outside = path.join(tmp, 'outside');
      fs.mkdirSync(outside);
      fs.symlinkSync(outside, path.join(root, 'seeds'));
      await assert.rejects(saveRegressionInput(root, 'seeds', 'crash-a1b2c3d4', input), /leads out of the workspace/);
      assert.deepEqual(fs.readdirSync(outside), []);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
