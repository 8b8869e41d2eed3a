import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import * as tar from 'tar';
import {
  extractArchiveSafe,
  UnsafeArchiveError,
  unsafeLinkReason,
  unsafePathReason,
} from '../../backend/storage/extract';
import {
  serializeLayout,
  serializeManifest,
  type PackIndex,
  type StoredLayout,
  type TargetManifest,
} from '../../backend/storage/manifest';
import { validateLayout, validateManifest } from '../../backend/storage/targetCache';
import { treeLayout } from '../../backend/storage/targets';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-extract-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const limits = { maxBytes: 10_000_000, maxEntries: 1000 };

describe('path safety', () => {
  it('accepts ordinary relative paths', () => {
    for (const p of ['a.txt', 'src/main.c', './src/x', 'a/b/c/d.e', 'dir/', 'name..with..dots']) {
      assert.equal(unsafePathReason(p), undefined, p);
    }
  });
  it('rejects absolute paths, drive letters, .. segments and NUL', () => {
    assert.match(unsafePathReason('/etc/passwd') ?? '', /absolute/);
    assert.match(unsafePathReason('C:\\Windows\\x') ?? '', /absolute/);
    assert.match(unsafePathReason('\\\\server\\share') ?? '', /absolute/);
    assert.match(unsafePathReason('../x') ?? '', /\.\./);
    assert.match(unsafePathReason('a/../../x') ?? '', /\.\./);
    assert.match(unsafePathReason('a\\..\\x') ?? '', /\.\./);
    assert.match(unsafePathReason('a\0b') ?? '', /NUL/);
  });
  it('rejects links that leave the root', () => {
    assert.equal(unsafeLinkReason('a/link', '../b/file', false), undefined);
    assert.equal(unsafeLinkReason('a/link', 'sibling', false), undefined);
    assert.match(unsafeLinkReason('a/link', '../../outside', false) ?? '', /outside/);
    assert.match(unsafeLinkReason('link', '/etc/shadow', false) ?? '', /absolute/);
    assert.match(unsafeLinkReason('deep/a/b/hard', '../x', true) ?? '', /outside/, 'hard links resolve from the root');
    assert.equal(unsafeLinkReason('deep/a/b/hard', 'deep/x', true), undefined);
  });
});

describe('extractArchiveSafe', () => {
  it('extracts a well-formed tar.gz', async () => {
    const src = path.join(tmp, 'good');
    fs.mkdirSync(path.join(src, 'pkg'), { recursive: true });
    fs.writeFileSync(path.join(src, 'pkg/a.py'), 'print(1)\n');
    fs.symlinkSync('a.py', path.join(src, 'pkg/link.py'));
    const archive = path.join(tmp, 'good.tar.gz');
    await tar.c({ gzip: true, file: archive, cwd: src }, ['pkg']);
    const dest = path.join(tmp, 'good-out');
    const result = await extractArchiveSafe(archive, dest, limits);
    assert.equal(fs.readFileSync(path.join(dest, 'pkg/a.py'), 'utf8'), 'print(1)\n');
    assert.equal(fs.readlinkSync(path.join(dest, 'pkg/link.py')), 'a.py');
    assert.equal(result.entries, 3);
  });

  it('refuses a tar with ../ entries and writes nothing', async () => {
    const base = path.join(tmp, 'evil/inner');
    fs.mkdirSync(base, { recursive: true });
    fs.writeFileSync(path.join(tmp, 'evil/escape.txt'), 'pwned');
    fs.writeFileSync(path.join(base, 'ok.txt'), 'ok');
    const archive = path.join(tmp, 'evil.tar');
    await tar.c({ file: archive, cwd: base, preservePaths: true }, ['ok.txt', '../escape.txt']);
    const dest = path.join(tmp, 'evil-out');
    await assert.rejects(extractArchiveSafe(archive, dest, limits), (err: unknown) => {
      assert.ok(err instanceof UnsafeArchiveError);
      assert.deepEqual(err.problems, [{ entry: '../escape.txt', reason: 'contains a ".." segment' }]);
      assert.match(err.message, /refusing to extract evil\.tar: "\.\.\/escape\.txt" contains a "\.\." segment/);
      return true;
    });
    assert.equal(fs.existsSync(dest), false);
  });

  it('refuses symbolic links that escape', async () => {
    const src = path.join(tmp, 'linky');
    fs.mkdirSync(src, { recursive: true });
    fs.symlinkSync('../../../etc/passwd', path.join(src, 'passwd'));
    const archive = path.join(tmp, 'linky.tar');
    await tar.c({ file: archive, cwd: src }, ['passwd']);
    await assert.rejects(
      extractArchiveSafe(archive, path.join(tmp, 'linky-out'), limits),
      /links to \.\.\/\.\.\/\.\.\/etc\/passwd, outside the target/,
    );
  });

  it('refuses archives over the size or entry limits, and non-tar files', async () => {
    const src = path.join(tmp, 'big');
    fs.mkdirSync(src, { recursive: true });
    fs.writeFileSync(path.join(src, 'f'), Buffer.alloc(4096));
    const archive = path.join(tmp, 'big.tar');
    await tar.c({ file: archive, cwd: src }, ['f']);
    await assert.rejects(
      extractArchiveSafe(archive, path.join(tmp, 'big-out'), { maxBytes: 100, maxEntries: 10 }),
      /expands to 4096 bytes/,
    );
    const junk = path.join(tmp, 'junk.tar');
    fs.writeFileSync(junk, 'this is not a tar archive at all'.repeat(40));
    await assert.rejects(extractArchiveSafe(junk, path.join(tmp, 'junk-out'), limits), UnsafeArchiveError);
  });
});

describe('validateManifest', () => {
  const sha = 'a'.repeat(64);
  it('accepts a well-formed manifest', () => {
    const m = validateManifest(
      { version: 1, files: [{ path: 'a/b.c', sha256: sha, size: 1, executable: false }], links: [] },
      't',
    );
    assert.equal(m.files.length, 1);
  });
  it('names every unsafe or malformed entry', () => {
    assert.throws(
      () =>
        validateManifest(
          {
            version: 1,
            files: [
              { path: '../x', sha256: sha, size: 1 },
              { path: 'ok', sha256: 'nothex', size: 1 },
            ],
            links: [{ path: 'l', target: '../../up' }],
          },
          'ws',
        ),
      (err: unknown) => {
        assert.ok(err instanceof UnsafeArchiveError);
        assert.deepEqual(
          err.problems.map((p) => p.entry),
          ['../x', 'ok', 'l'],
        );
        return true;
      },
    );
    assert.throws(() => validateManifest({ version: 2 }, 'ws'), /not a FuzzForge target manifest/);
    assert.throws(
      () => validateManifest({ version: 3, files: [], links: [] }, 'ws'),
      /not a FuzzForge target manifest/,
    );
  });
  it('reads the stored form (version 2) back as it was written, in path order', () => {
    const m: TargetManifest = {
      version: 1,
      files: [
        { path: 'src/z.c', sha256: sha, size: 3, executable: false },
        { path: 'run.sh', sha256: 'b'.repeat(64), size: 9, executable: true },
      ],
      links: [{ path: 'src/latest', target: 'z.c' }],
    };
    const body = serializeManifest(m).toString('utf8');
    assert.deepEqual(JSON.parse(body), {
      version: 2,
      files: [
        ['run.sh', 'b'.repeat(64), 9, 1],
        ['src/z.c', sha, 3, 0],
      ],
      links: [['src/latest', 'z.c']],
    });
    assert.deepEqual(validateManifest(JSON.parse(body), 'ws'), { ...m, files: [m.files[1], m.files[0]] });
  });
  it('names every unsafe or malformed entry of a version 2 manifest', () => {
    assert.throws(
      () =>
        validateManifest(
          {
            version: 2,
            files: [['../x', sha, 1, 0], ['ok', 'nothex', 1, 0], ['flag', sha, 1, 2], ['short', sha, 1], 'str'],
            links: [['l', '../../up'], ['bad']],
          },
          'ws',
        ),
      (err: unknown) => {
        assert.ok(err instanceof UnsafeArchiveError);
        assert.deepEqual(
          err.problems.map((p) => p.entry),
          ['../x', 'ok', 'flag', 'undefined', 'undefined', 'l', 'undefined'],
        );
        return true;
      },
    );
  });
  it('refuses two files at one path and a file where another file needs a folder', () => {
    const file = (p: string) => ({ path: p, sha256: sha, size: 1, executable: false });
    assert.throws(
      () =>
        validateManifest({ version: 1, files: [file('a/x'), file('a//x'), file('b'), file('b/c')], links: [] }, 'ws'),
      (err: unknown) => {
        assert.ok(err instanceof UnsafeArchiveError);
        assert.deepEqual(
          err.problems.map((p) => `${p.entry}: ${p.reason}`),
          ['a//x: appears twice', 'b: is both a file and a folder of other files'],
        );
        return true;
      },
    );
  });
});

describe('target layouts', () => {
  const d = (c: string) => c.repeat(64);
  const manifest = (files: [string, number][]): TargetManifest => ({
    version: 1,
    files: files.map(([sha, size], i) => ({ path: `f${i}`, sha256: sha, size, executable: false })),
    links: [],
  });

  it('treeLayout lists, per pack, only the entries the tree uses, earlier packs first', () => {
    const old: PackIndex = {
      digest: d('1'),
      size: 30,
      blobs: [
        [d('a'), 0, 10],
        [d('b'), 10, 10],
        [d('c'), 20, 10],
      ],
    };
    const fresh: PackIndex = {
      digest: d('2'),
      size: 20,
      blobs: [
        [d('b'), 0, 10],
        [d('e'), 10, 10],
      ],
    };
    const located = new Map(old.blobs.map((entry) => [entry[0], { pack: old, entry }] as const));
    const layout = treeLayout(
      manifest([
        [d('a'), 10],
        [d('b'), 10],
        [d('e'), 10],
        [d('a'), 10],
      ]),
      located,
      [fresh],
    );
    assert.deepEqual(layout.packs, [
      {
        digest: d('1'),
        size: 30,
        blobs: [
          [d('a'), 0, 10],
          [d('b'), 10, 10],
        ],
      },
      { digest: d('2'), size: 20, blobs: [[d('e'), 10, 10]] },
    ]);
  });

  it('validateLayout refuses entries past the pack, sizes the manifest contradicts and oversized packs', () => {
    const m = manifest([[d('a'), 10]]);
    const check = (packs: unknown, pattern: RegExp) =>
      assert.throws(
        () => validateLayout({ version: 1, packs }, 'ws', m),
        (err: unknown) => err instanceof UnsafeArchiveError && pattern.test(err.message),
      );
    check(
      [{ digest: d('1'), size: 5, blobs: [[d('a'), 0, 10]] }],
      /packs\/11\/1+" places blob a+ at 0\+10, past its end/,
    );
    check([{ digest: d('1'), size: 50, blobs: [[d('a'), 0, 9]] }], /gives blob a+ 9 bytes where the manifest says 10/);
    check([{ digest: d('1'), size: 2 ** 40, blobs: [] }], /over the limit/);
    check([{ digest: 'x', size: 5, blobs: [] }], /pack 0" is malformed/);
    check([{ digest: d('1'), size: 50, blobs: [[d('a'), -1, 10]] }], /malformed entry/);
    assert.throws(() => validateLayout({ version: 3, packs: [] }, 'ws', m), /not a FuzzForge target layout/);
    const where = validateLayout(
      { version: 1, packs: [{ digest: d('1'), size: 20, blobs: [[d('a'), 10, 10]] }] },
      'ws',
      m,
    );
    assert.deepEqual(where.get(d('a'))?.entry, [d('a'), 10, 10]);
  });

  it("serializeLayout stores a pack and offset per file in the manifest's order, and a worker reads it back", () => {
    // Paths out of order and a content twice: the stored layout follows the stored manifest.
    const m: TargetManifest = {
      version: 1,
      files: [
        { path: 'src/z.c', sha256: d('a'), size: 10, executable: false },
        { path: 'big.bin', sha256: d('f'), size: 5, executable: false },
        { path: 'src/a.c', sha256: d('b'), size: 7, executable: true },
        { path: 'copy/z.c', sha256: d('a'), size: 10, executable: false },
      ],
      links: [],
    };
    const layout = {
      version: 1 as const,
      packs: [
        { digest: d('2'), size: 7, blobs: [[d('b'), 0, 7]] as PackIndex['blobs'] },
        { digest: d('1'), size: 30, blobs: [[d('a'), 20, 10]] as PackIndex['blobs'] },
      ],
    };
    const stored = JSON.parse(serializeLayout(layout, m).toString('utf8')) as StoredLayout;
    assert.deepEqual(stored, {
      version: 2,
      packs: [
        { digest: d('1'), size: 30 },
        { digest: d('2'), size: 7 },
      ],
      // big.bin (its own blob), copy/z.c, src/a.c, src/z.c
      at: [null, [0, 20], [1, 0], [0, 20]],
    });
    const asStored = validateManifest(JSON.parse(serializeManifest(m).toString('utf8')), 'ws');
    const where = validateLayout(stored, 'ws', asStored);
    assert.deepEqual(where.get(d('a'))?.entry, [d('a'), 20, 10]);
    assert.equal(where.get(d('a'))?.pack.digest, d('1'));
    assert.deepEqual(where.get(d('b'))?.entry, [d('b'), 0, 7]);
    assert.equal(where.has(d('f')), false, 'a blob of its own is in no pack');
  });

  it('validateLayout refuses a version 2 layout that does not fit its manifest or points outside its packs', () => {
    const m = manifest([
      [d('a'), 10],
      [d('b'), 10],
    ]);
    const packs = [{ digest: d('1'), size: 20 }];
    const check = (doc: unknown, pattern: RegExp) =>
      assert.throws(
        () => validateLayout(doc, 'ws', m),
        (err: unknown) => err instanceof UnsafeArchiveError && pattern.test(err.message),
      );
    check({ version: 2, packs, at: [[0, 0]] }, /places 1 files where the manifest lists 2/);
    check(
      {
        version: 2,
        packs,
        at: [
          [0, 0],
          [0, 15],
        ],
      },
      /places blob b+ at 15\+10, past its end \(20 bytes\)/,
    );
    check(
      {
        version: 2,
        packs,
        at: [
          [0, 0],
          [1, 10],
        ],
      },
      /malformed entry \[1,10\] for "f1"/,
    );
    check(
      {
        version: 2,
        packs,
        at: [
          [0, 0],
          [0, -1],
        ],
      },
      /malformed entry \[0,-1\]/,
    );
    check({ version: 2, packs, at: [[0, 0], '0:10'] }, /malformed entry "0:10"/);
    check({ version: 2, packs: [{ digest: d('1'), size: 2 ** 40 }], at: [null, null] }, /over the limit/);
    check({ version: 2, packs }, /not a FuzzForge target layout/);
    const where = validateLayout({ version: 2, packs, at: [[0, 10], null] }, 'ws', m);
    assert.deepEqual(where.get(d('a'))?.entry, [d('a'), 10, 10]);
    assert.equal(where.has(d('b')), false);
  });

  it('validateManifest refuses sizes that are not counts, contradict each other or exceed the limits', () => {
    const bad = (files: [string, number][], pattern: RegExp) =>
      assert.throws(
        () => validateManifest(manifest(files), 'ws', { maxBytes: 100, maxFiles: 3 }),
        (err: unknown) => err instanceof UnsafeArchiveError && pattern.test(err.message),
      );
    bad([[d('a'), -1]], /"f0" is malformed/);
    bad([[d('a'), 1.5]], /"f0" is malformed/);
    bad(
      [
        [d('a'), 10],
        [d('a'), 11],
      ],
      /"f1" gives the content a+ another size/,
    );
    bad(
      [
        [d('a'), 60],
        [d('b'), 60],
      ],
      /adds up to 120 bytes, over the limit of 100/,
    );
    bad(
      [
        [d('a'), 1],
        [d('b'), 1],
        [d('c'), 1],
        [d('e'), 1],
      ],
      /has 4 files, over the limit of 3/,
    );
  });
});
