// The upload's stat cache: a file is trusted unchanged only when its size, mtime, ctime and inode
// all match and it did not change within the racy window before the cache was written.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import type { TargetLayout } from '../../backend/storage/manifest';
import { fileStamp, RACY_WINDOW_MS, StatCache, statCacheFile } from '../../backend/storage/statCache';

const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'ff-statcache-')));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const SHA = 'a'.repeat(64);
const EMPTY: TargetLayout = { version: 1, packs: [] };
const LATER = () => Date.now() + RACY_WINDOW_MS + 1000;

function workspace(name: string, files: Record<string, string>): string {
  const root = path.join(tmp, name);
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), content);
  }
  return root;
}

const stampOf = (root: string, rel: string) => fileStamp(fs.statSync(path.join(root, rel)));

/** Save a cache of `rels` (all with hash SHA) written at `writtenAt`, and load it back. */
async function saved(root: string, rels: string[], writtenAt: number): Promise<StatCache> {
  const file = path.join(tmp, `${path.basename(root)}.json`);
  const cache = await StatCache.load(root, file);
  await cache.save(
    rels.map((rel) => ({ rel, stamp: stampOf(root, rel), sha256: SHA })),
    EMPTY,
    undefined,
    writtenAt,
  );
  return StatCache.load(root, file);
}

describe('StatCache', () => {
  it('saves twice at the same moment in one process (two uploads of one workspace): both succeed, no temporary file left', async () => {
    const root = workspace('ws-concurrent', { 'a.txt': 'hello', 'b.txt': 'world' });
    const file = path.join(tmp, 'ws-concurrent.stat');
    const caches = await Promise.all([StatCache.load(root, file), StatCache.load(root, file)]);
    const writes = await Promise.allSettled(
      caches.map((c, i) =>
        c.save(
          [{ rel: i === 0 ? 'a.txt' : 'b.txt', stamp: stampOf(root, i === 0 ? 'a.txt' : 'b.txt'), sha256: SHA }],
          EMPTY,
          undefined,
          LATER(),
        ),
      ),
    );
    assert.deepEqual(
      writes.map((w) => (w.status === 'rejected' ? String(w.reason) : w.value)),
      [true, true],
    );
    assert.deepEqual(
      fs.readdirSync(tmp).filter((n) => n.startsWith('ws-concurrent.stat.')),
      [],
      'no temporary file left',
    );
    const loaded = await StatCache.load(root, file);
    // One of the two whole writes won.
    assert.ok(
      loaded.lookup('a.txt', stampOf(root, 'a.txt')) === SHA || loaded.lookup('b.txt', stampOf(root, 'b.txt')) === SHA,
    );
  });

  it('vouches for a file whose stamp matches, once it is older than the racy window', async () => {
    const root = workspace('ws1', { 'a.txt': 'hello' });
    const settled = await saved(root, ['a.txt'], LATER());
    assert.equal(settled.lookup('a.txt', stampOf(root, 'a.txt')), SHA);
    assert.equal(settled.lookup('b.txt', stampOf(root, 'a.txt')), undefined, 'another path');
    // Written just now: the file changed within the window before the write, so it is hashed again.
    const racy = await saved(root, ['a.txt'], Date.now());
    assert.equal(racy.lookup('a.txt', stampOf(root, 'a.txt')), undefined);
  });

  it('misses a same-size rewrite whose mtime was put back (the ctime moved)', async () => {
    const root = workspace('ws2', { 'a.txt': 'hello' });
    // Whole seconds, so that setting the mtime back restores it exactly.
    fs.utimesSync(path.join(root, 'a.txt'), 1_700_000_000, 1_700_000_000);
    const before = fs.statSync(path.join(root, 'a.txt'));
    const cache = await saved(root, ['a.txt'], LATER());
    assert.equal(cache.lookup('a.txt', stampOf(root, 'a.txt')), SHA);
    await new Promise((resolve) => setTimeout(resolve, 20));
    fs.writeFileSync(path.join(root, 'a.txt'), 'jello');
    fs.utimesSync(path.join(root, 'a.txt'), 1_700_000_000, 1_700_000_000);
    const now = fs.statSync(path.join(root, 'a.txt'));
    assert.equal(now.mtimeMs, before.mtimeMs, 'same size and mtime as before');
    assert.equal(cache.lookup('a.txt', stampOf(root, 'a.txt')), undefined);
  });

  it('misses a file replaced by another of the same size, even when only the inode differs', async () => {
    const root = workspace('ws3', { 'a.txt': 'hello', 'b.txt': 'jello' });
    const cache = await saved(root, ['a.txt'], LATER());
    const old = stampOf(root, 'a.txt');
    fs.renameSync(path.join(root, 'b.txt'), path.join(root, 'a.txt'));
    const replaced = fs.statSync(path.join(root, 'a.txt'));
    assert.notDeepEqual(stampOf(root, 'a.txt'), old);
    // Even a stamp differing only in its inode misses.
    const onlyInode = { ...old, ino: replaced.ino };
    assert.notEqual(onlyInode.ino, old.ino);
    assert.equal(cache.lookup('a.txt', onlyInode), undefined);
    assert.equal(cache.lookup('a.txt', old), SHA);
  });

  it('starts empty from a torn file, an old JSON cache, a file of another folder, or a hostile header', async () => {
    const root = workspace('ws4', { 'a.txt': 'hello' });
    const file = path.join(tmp, 'torn.stat');
    const stamp = stampOf(root, 'a.txt');
    fs.writeFileSync(file, '{"version":1,"root":');
    assert.equal((await StatCache.load(root, file)).lookup('a.txt', stamp), undefined);
    const other = workspace('ws4b', { 'a.txt': 'hello' });
    const cache = await StatCache.load(other, file);
    await cache.save([{ rel: 'a.txt', stamp, sha256: SHA }], EMPTY, undefined, LATER());
    assert.equal((await StatCache.load(root, file)).lookup('a.txt', stamp), undefined, 'written for ws4b');
    await (await StatCache.load(root, file)).save([{ rel: 'a.txt', stamp, sha256: SHA }], EMPTY, undefined, LATER());
    const good = fs.readFileSync(file);
    assert.equal((await StatCache.load(root, file)).lookup('a.txt', stamp), SHA);
    assert.equal((await StatCache.load(root, file)).lookup('__proto__', stamp), undefined);
    // Cut short anywhere, or with a pack digest that is not one: empty.
    for (const cut of [4, 20, good.length - 40, good.length - 1]) {
      fs.writeFileSync(file, good.subarray(0, cut));
      assert.equal((await StatCache.load(root, file)).lookup('a.txt', stamp), undefined, `cut at ${cut}`);
    }
    // The same header edit with a real digest loads (so the edit itself is sound), with a path it does not.
    for (const [digest, expected] of [
      ['e'.repeat(64), SHA],
      ['../../x', undefined],
    ] as const) {
      const pack = `["${digest}",1,0]`;
      const edited = Buffer.from(good.toString('latin1').replace('"packs":[]', `"packs":[${pack}]`), 'latin1');
      edited.writeUInt32LE(edited.readUInt32LE(8) + pack.length, 8);
      // Keep the arrays 8-byte aligned after the longer header.
      const at = 12 + edited.readUInt32LE(8);
      const fixed = Buffer.concat([
        edited.subarray(0, at),
        Buffer.alloc((8 - (at % 8)) % 8),
        edited.subarray(at + ((8 - ((at - pack.length) % 8)) % 8)),
      ]);
      fs.writeFileSync(file, fixed);
      assert.equal((await StatCache.load(root, file)).lookup('a.txt', stamp), expected, digest);
    }
  });

  it('keeps the layout: pack digests first, entries decoded on demand, entries past their pack dropped', async () => {
    const root = workspace('ws8', { 'a.txt': 'hello', 'b.txt': 'jello' });
    const file = path.join(tmp, 'ws8.stat');
    const P = 'b'.repeat(64);
    const layout: TargetLayout = {
      version: 1,
      packs: [
        {
          digest: P,
          size: 10,
          blobs: [
            [SHA, 0, 5],
            ['c'.repeat(64), 5, 5],
          ],
        },
      ],
    };
    const entries = ['a.txt', 'b.txt'].map((rel) => ({ rel, stamp: stampOf(root, rel), sha256: SHA }));
    const tree = { manifest: 'd'.repeat(64), files: 2, links: '[]' };
    await (await StatCache.load(root, file)).save(entries, layout, tree, LATER());
    const loaded = await StatCache.load(root, file);
    assert.deepEqual(loaded.packDigests, [P]);
    assert.deepEqual(loaded.packs, layout.packs);
    assert.deepEqual(loaded.tree, tree);
    assert.equal(await loaded.save(entries, layout, tree, LATER()), true, 'nothing looked up: not vouched');
    const same = await StatCache.load(root, file);
    entries.forEach((e) => same.lookup(e.rel, e.stamp));
    assert.equal(await same.save(entries, layout, tree, LATER()), false);
    const bad: TargetLayout = {
      version: 1,
      packs: [
        {
          digest: P,
          size: 8,
          blobs: [
            [SHA, 0, 5],
            [SHA, 5, 5],
          ],
        },
      ],
    };
    await (await StatCache.load(root, file)).save(entries, bad, tree, LATER());
    assert.deepEqual((await StatCache.load(root, file)).packs[0]?.blobs, [[SHA, 0, 5]]);
  });

  it('vouches for all files only when each one matches and none was added or removed, in any order', async () => {
    const root = workspace('ws9', { 'a.txt': 'a', 'b.txt': 'b', 'c/d.txt': 'd' });
    const rels = ['a.txt', 'b.txt', 'c/d.txt'];
    const cache = await saved(root, rels, LATER());
    const files = rels.map((rel) => ({ rel, stamp: stampOf(root, rel) }));
    assert.equal(cache.vouchesForAll(files), true);
    assert.equal(cache.vouchesForAll([...files].reverse()), true, 'order does not matter');
    assert.equal(cache.vouchesForAll(files.slice(1)), false, 'a file removed');
    assert.equal(cache.vouchesForAll([...files.slice(1), { rel: 'e.txt', stamp: files[0]!.stamp }]), false, 'renamed');
    fs.appendFileSync(path.join(root, 'b.txt'), 'more');
    assert.equal(cache.vouchesForAll(rels.map((rel) => ({ rel, stamp: stampOf(root, rel) }))), false, 'b.txt grew');
    // Lookups after it still find the others, out of order too.
    assert.equal(cache.lookup('c/d.txt', stampOf(root, 'c/d.txt')), SHA);
    assert.equal(cache.lookup('a.txt', stampOf(root, 'a.txt')), SHA);
    assert.equal(cache.lookup('b.txt', stampOf(root, 'b.txt')), undefined);
  });

  it('writes only when something changed, readable by the user only', async () => {
    const root = workspace('ws5', { 'a.txt': 'hello', 'b.txt': 'bye' });
    const file = path.join(tmp, 'ws5-cache', 'c.json');
    const entries = () => ['a.txt', 'b.txt'].map((rel) => ({ rel, stamp: stampOf(root, rel), sha256: SHA }));
    assert.equal(await (await StatCache.load(root, file)).save(entries(), EMPTY, undefined, LATER()), true);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const warm = await StatCache.load(root, file);
    for (const e of entries()) {
      assert.equal(warm.lookup(e.rel, e.stamp), SHA);
    }
    assert.equal(await warm.save(entries(), EMPTY, undefined, LATER()), false, 'every file found unchanged');
    const third = await StatCache.load(root, file);
    third.lookup('a.txt', stampOf(root, 'a.txt'));
    assert.equal(await third.save(entries().slice(0, 1), EMPTY, undefined, LATER()), true, 'b.txt is gone');
  });

  it('removes the JSON cache an earlier version kept for the same workspace', async () => {
    const root = workspace('ws10', { 'a.txt': 'a' });
    const legacy = path.join(tmp, 'ws10.json');
    fs.writeFileSync(legacy, '{"version":1}');
    await (
      await StatCache.load(root, path.join(tmp, 'ws10.stat'))
    ).save([{ rel: 'a.txt', stamp: stampOf(root, 'a.txt'), sha256: SHA }], EMPTY, undefined, LATER());
    assert.equal(fs.existsSync(legacy), false);
    assert.equal(fs.existsSync(path.join(tmp, 'ws10.stat')), true);
  });

  it('keeps one file per workspace under FUZZFORGE_UPLOAD_CACHE', () => {
    const env = { FUZZFORGE_UPLOAD_CACHE: path.join(tmp, 'uploads') };
    const a = statCacheFile(workspace('ws6', { x: '' }), env);
    const b = statCacheFile(workspace('ws7', { x: '' }), env);
    assert.notEqual(a, b);
    assert.equal(path.dirname(a), env.FUZZFORGE_UPLOAD_CACHE);
  });
});
