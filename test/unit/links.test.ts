// Links and copies stay inside their roots: link checks judge what is really there (chains of
// links), nothing is written through a link created earlier, private copies share nothing with
// their source, and crash ids from storage cannot become paths.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import * as tar from 'tar';
import { crashRecordProblem, readCrashRecords, saveCrashes } from '../../backend/fuzzing';
import type { BackendConnection } from '../../backend/services/connection';
import { copyTreePrivately } from '../../backend/storage/copy';
import { extractArchiveSafe, resolveInTree, UnsafeArchiveError, diskLookup } from '../../backend/storage/extract';
import { manifestKey, serializeManifest, sha256, type TargetManifest } from '../../backend/storage/manifest';
import type { ObjectStore } from '../../backend/storage/objectStore';
import { walkWorkspace } from '../../backend/storage/pack';
import { TargetCache, validateManifest } from '../../backend/storage/targetCache';
import type { CrashRecord } from '../../toolbox/shared/fuzzing';

const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'ff-links-')));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const limits = { maxBytes: 10_000_000, maxEntries: 1000 };
/** `c -> .` then a link that is `etc/passwd` lexically and ../../../etc/passwd on disk. */
const CHAIN = [
  { path: 'c', target: '.' },
  { path: 'a', target: 'c/c/c/../../../etc/passwd' },
];

function fresh(name: string): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

describe('links resolved through the links before them', () => {
  it('resolveInTree follows chains the way the system does', () => {
    const links = new Map(CHAIN.map((l) => [l.path, l.target]));
    const lookup = (rel: string) => (links.has(rel) ? { link: links.get(rel) as string } : undefined);
    assert.deepEqual(resolveInTree(lookup, '', 'c/c/c'), { path: '' });
    assert.deepEqual(resolveInTree(lookup, '', 'c/c/c/../../../etc/passwd'), { escape: 'leaves the target' });
    const loop = new Map([
      ['x', 'y'],
      ['y', 'x'],
    ]);
    assert.deepEqual(
      resolveInTree((r) => (loop.has(r) ? { link: loop.get(r) as string } : undefined), '', 'x'),
      {
        escape: 'is a loop of links',
      },
    );
  });

  it('a manifest with c -> . and a -> c/c/c/../../../etc/passwd is refused, naming a', () => {
    const manifest = { version: 1, files: [], links: CHAIN };
    assert.throws(
      () => validateManifest(manifest, 'evil'),
      (err: unknown) =>
        err instanceof UnsafeArchiveError &&
        err.problems.length === 1 &&
        err.problems[0]?.entry === 'a' &&
        /c\/c\/c\/\.\.\/\.\.\/\.\.\/etc\/passwd, which leaves the target/.test(err.message),
    );
  });

  it('a manifest whose file would be written through one of its links is refused', () => {
    const manifest = {
      version: 1,
      files: [{ path: 'd/x.txt', sha256: 'a'.repeat(64), size: 1, executable: false }],
      links: [{ path: 'd', target: 'sub' }],
    };
    assert.throws(() => validateManifest(manifest, 'evil'), /"d\/x\.txt" would be written through the link d/);
  });

  it('an archive with a chained escaping link is refused and nothing is extracted', async () => {
    const src = fresh('archive-src');
    fs.symlinkSync('.', path.join(src, 'c'));
    fs.symlinkSync('c/c/c/../../../etc/passwd', path.join(src, 'a'));
    fs.writeFileSync(path.join(src, 'ok.txt'), 'ok');
    const file = path.join(tmp, 'chain.tar');
    await tar.c({ file, cwd: src, portable: true }, ['c', 'a', 'ok.txt']);
    const dest = path.join(tmp, 'chain-out');
    await assert.rejects(
      extractArchiveSafe(file, dest, limits),
      /"a" links to c\/c\/c\/\.\.\/\.\.\/\.\.\/etc\/passwd, which leaves the target/,
    );
    assert.equal(fs.existsSync(dest), false);
  });

  it('an archive whose hard link goes through its own symbolic link is refused', async () => {
    const block = (h: tar.HeaderData) => {
      const header = new tar.Header({ mode: 0o644, size: 0, mtime: new Date(0), uid: 0, gid: 0, ...h });
      header.encode();
      return header.block as Buffer;
    };
    const file = path.join(tmp, 'hard.tar');
    fs.writeFileSync(
      file,
      Buffer.concat([
        block({ path: 'c', type: 'SymbolicLink', linkpath: '.' }),
        block({ path: 'h', type: 'Link', linkpath: 'c/c/../../x' }),
        Buffer.alloc(1024),
      ]),
    );
    await assert.rejects(
      extractArchiveSafe(file, path.join(tmp, 'hard-out'), limits),
      /"h" hard-links to c\/c\/\.\.\/\.\.\/x, which leaves the target/,
    );
  });

  it('materialising never writes through a link and refuses what resolves outside on disk', async () => {
    // A manifest the per-entry checks pass but whose links chain out: refused before any write.
    const manifest: TargetManifest = { version: 1, files: [], links: CHAIN };
    const body = serializeManifest(manifest);
    const digest = sha256(body);
    const store = {
      buckets: { targets: 't', results: 'r' },
      getBuffer: () => Promise.resolve(body),
      stat: () => Promise.resolve(undefined),
    } as unknown as ObjectStore;
    const cache = new TargetCache(store, fresh('cache'));
    await assert.rejects(
      cache.acquire({ kind: 'tree', bucket: 't', key: manifestKey(digest), digest, name: 'evil', files: 0, bytes: 0 }),
      /"a" links to .*which leaves the target/,
    );
    assert.deepEqual(fs.readdirSync(path.join(tmp, 'cache', 'trees')), []);
  });

  it('packing drops the chained link (naming it) and keeps c -> .', async () => {
    const ws = fresh('ws');
    fs.symlinkSync('.', path.join(ws, 'c'));
    fs.symlinkSync('c/c/c/../../../etc/passwd', path.join(ws, 'a'));
    fs.symlinkSync('c/sub/../f.txt', path.join(ws, 'inner'));
    fs.writeFileSync(path.join(ws, 'f.txt'), 'x');
    const walked = await walkWorkspace(ws);
    assert.deepEqual(
      walked.links.map((l) => l.path),
      ['c', 'inner'],
    );
    assert.deepEqual(walked.skipped, [
      { path: 'a', reason: 'symbolic link to c/c/c/../../../etc/passwd leaves the workspace' },
    ]);
  });
});

describe('private copies', () => {
  it('keep relative links relative, so writes through them stay in the copy', async () => {
    const src = fresh('copy-src');
    fs.writeFileSync(path.join(src, 'data.txt'), 'original');
    fs.symlinkSync('data.txt', path.join(src, 'alias.txt'));
    fs.symlinkSync('../outside', path.join(src, 'out'));
    const dest = path.join(tmp, 'copy-dest');
    const { droppedLinks } = await copyTreePrivately(src, dest);
    assert.equal(fs.readlinkSync(path.join(dest, 'alias.txt')), 'data.txt');
    fs.writeFileSync(path.join(dest, 'alias.txt'), 'changed in the copy');
    assert.equal(fs.readFileSync(path.join(src, 'data.txt'), 'utf8'), 'original');
    assert.deepEqual(droppedLinks, [{ path: 'out', target: '../outside' }]);
    assert.equal(fs.existsSync(path.join(dest, 'out')), false);
    assert.deepEqual(resolveInTree(diskLookup(dest), '', 'alias.txt'), { path: 'data.txt' });
  });

  it('no fs.cp without verbatimSymlinks is left in the fuzzing and replay copies', () => {
    const root = path.join(__dirname, '..', '..');
    for (const file of ['backend/fuzzing.ts', 'toolbox/modules/fuzzing/campaign.ts']) {
      const source = fs.readFileSync(path.join(root, file), 'utf8');
      assert.doesNotMatch(source, /fs\.(promises\.)?cp(Sync)?\(/, file);
    }
  });
});

describe('crash records from storage', () => {
  const record = (id: string, runId = 'r1'): CrashRecord => {
    const prefix = `runs/${runId}/crashes/${id}/`;
    return {
      id,
      engine: 'atheris',
      harness: 'h',
      harnessFile: 'h.py',
      kind: 'ValueError',
      summary: 's',
      frames: [],
      hits: 1,
      firstSeen: '2026-01-01T00:00:00Z',
      lastSeen: '2026-01-01T00:00:00Z',
      inputKey: `${prefix}input`,
      inputBytes: 1,
      stackKey: `${prefix}stack.txt`,
      reproduce: 'x',
    };
  };

  it('a record whose id is a path, or whose keys point elsewhere, is skipped with the reason', async () => {
    const good = record('0123456789abcdef');
    const evil = { ...record('0123456789abcdee'), id: '../../../tmp/pwned' };
    const elsewhere = { ...record('0123456789abcded'), inputKey: 'runs/other/crashes/x/input' };
    const objects: Record<string, CrashRecord> = {
      'runs/r1/crashes/0123456789abcdef/crash.json': good,
      'runs/r1/crashes/0123456789abcdee/crash.json': evil,
      'runs/r1/crashes/0123456789abcded/crash.json': elsewhere,
    };
    const store = {
      buckets: { targets: 't', results: 'r' },
      list: () => Promise.resolve(Object.keys(objects).map((key) => ({ key, size: 1 }))),
      getJson: (_b: string, key: string) => Promise.resolve(objects[key]),
    } as unknown as ObjectStore;
    const skipped: string[] = [];
    const records = await readCrashRecords(store, 'r1', (key, reason) => skipped.push(`${key}: ${reason}`));
    assert.deepEqual(
      records.map((r) => r.id),
      ['0123456789abcdef'],
    );
    assert.deepEqual(skipped, [
      'runs/r1/crashes/0123456789abcdee/crash.json: its id "../../../tmp/pwned" is not a crash signature (hex)',
      'runs/r1/crashes/0123456789abcded/crash.json: its inputKey is not runs/r1/crashes/0123456789abcded/input',
    ]);
    assert.equal(crashRecordProblem(good, 'r1', 'runs/r1/crashes/0123456789abcdef/crash.json'), undefined);
  });

  it('saving a crash whose id is a path is refused before anything is written', async () => {
    const conn = {
      storage: { endpoint: 'http://127.0.0.1:9', accessKey: 'a', secretKey: 'b' },
      buckets: { targets: 't', results: 'r' },
    } as unknown as BackendConnection;
    const dir = path.join(tmp, 'saved');
    await assert.rejects(
      saveCrashes(conn, [{ ...record('0123456789abcdef'), id: '../escaped' }], dir),
      /refusing to save crash "..\/escaped"/,
    );
    assert.equal(fs.existsSync(path.join(tmp, 'crash-..')), false);
    assert.deepEqual(fs.existsSync(dir) ? fs.readdirSync(dir) : [], []);
  });
});
