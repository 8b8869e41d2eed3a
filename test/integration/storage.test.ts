import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { UnsafeArchiveError } from '../../backend/storage/extract';
import { layoutKey } from '../../backend/storage/manifest';
import { ObjectStore } from '../../backend/storage/objectStore';
import { TargetCache } from '../../backend/storage/targetCache';
import { TargetStore } from '../../backend/storage/targets';
import { startTestBackend, type TestBackend, makeEscapingArchive } from './harness';

function sha(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** A small generated project: several folders, a binary file, duplicate contents. */
function makeWorkspace(root: string): void {
  for (let i = 0; i < 40; i++) {
    const file = path.join(root, `pkg${i % 4}`, `module_${i}.py`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `# module ${i}\n${'value = 1\n'.repeat(50 + i)}`);
  }
  fs.writeFileSync(path.join(root, 'dup_a.txt'), 'same content\n');
  fs.writeFileSync(path.join(root, 'dup_b.txt'), 'same content\n');
  fs.writeFileSync(path.join(root, 'image.bin'), crypto.randomBytes(70_000));
  fs.writeFileSync(path.join(root, '.gitignore'), 'build/\n');
  fs.mkdirSync(path.join(root, 'build'));
  fs.writeFileSync(path.join(root, 'build', 'out.o'), 'never uploaded');
}

describe('targets in real MinIO', () => {
  let backend: TestBackend;
  let store: ObjectStore;
  let targets: TargetStore;
  let ws: string;
  before(async () => {
    backend = await startTestBackend({ verticals: [] });
    store = new ObjectStore(backend.conn);
    targets = new TargetStore(store);
    ws = path.join(backend.root, 'ws');
    makeWorkspace(ws);
  });
  after(async () => {
    await backend?.stop();
  });

  it('uploads each distinct file once, then nothing for an unchanged workspace', async () => {
    const first = await targets.uploadWorkspace(ws);
    assert.equal(first.totalFiles, 44, '40 modules, 2 duplicates, 1 binary, .gitignore; build/ ignored');
    assert.equal(first.uploadedObjects, 3, 'one pack of the 43 distinct contents, its layout, the manifest');
    const packs = await store.list(backend.conn.buckets.targets, 'packs/');
    assert.equal(packs.length, 1);
    const distinct = new Map(
      fs
        .readdirSync(ws, { recursive: true, encoding: 'utf8' })
        .map((rel) => path.join(ws, rel))
        .filter((f) => fs.statSync(f).isFile() && !f.includes(`${path.sep}build${path.sep}`))
        .map((f) => [sha(f), fs.statSync(f).size]),
    );
    assert.equal(
      packs[0]?.size,
      [...distinct.values()].reduce((a, b) => a + b, 0),
      'each content once',
    );
    const second = await targets.uploadWorkspace(ws);
    assert.equal(second.uploadedBytes, 0);
    assert.equal(second.uploadedObjects, 0);
    assert.equal(second.target.digest, first.target.digest, 'same tree, same content address');
  });

  it('after a one-line edit uploads a pack of that file, the layout and the manifest only', async () => {
    const edited = path.join(ws, 'pkg1', 'module_5.py');
    fs.appendFileSync(edited, 'value = 2\n');
    const result = await targets.uploadWorkspace(ws);
    const size = async (key: string) => (await store.stat(backend.conn.buckets.targets, key))?.size ?? -1;
    const manifestSize = await size(result.target.key);
    const layoutSize = await size(layoutKey(result.target.layout ?? ''));
    assert.equal(result.uploadedObjects, 3);
    assert.equal(result.uploadedBytes, fs.statSync(edited).size + layoutSize + manifestSize);
  });

  it('materialises a target on the worker side byte for byte, and caches it', async () => {
    const upload = await targets.uploadWorkspace(ws);
    const cache = new TargetCache(store, path.join(backend.root, 'cache1'));
    const lease = await cache.acquire(upload.target);
    try {
      assert.equal(lease.hit, false);
      for (const rel of ['pkg1/module_5.py', 'image.bin', 'dup_b.txt', '.gitignore']) {
        assert.equal(sha(path.join(lease.dir, rel)), sha(path.join(ws, rel)), rel);
      }
      assert.equal(fs.existsSync(path.join(lease.dir, 'build')), false);
    } finally {
      lease.release();
    }
    const again = await cache.acquire(upload.target);
    assert.equal(again.hit, true);
    again.release();
    // A new cache object over the same folder finds the tree through its index.
    const reopened = new TargetCache(store, path.join(backend.root, 'cache1'));
    const third = await reopened.acquire(upload.target);
    assert.equal(third.hit, true);
    third.release();
  });

  it('evicts least recently used entries to stay within its size, never a tree in use', async () => {
    // Each tree is ~100 KB and so are its blobs: two trees cannot fit in 150 KB.
    const cache = new TargetCache(store, path.join(backend.root, 'cache2'), 150_000);
    const a = await targets.uploadWorkspace(ws);
    fs.writeFileSync(path.join(ws, 'extra.txt'), 'x'.repeat(1000));
    const b = await targets.uploadWorkspace(ws);
    const leaseA = await cache.acquire(a.target);
    const leaseB = await cache.acquire(b.target);
    assert.ok(fs.existsSync(leaseA.dir) && fs.existsSync(leaseB.dir), 'leased trees survive eviction');
    leaseA.release();
    leaseB.release();
    cache.evict();
    assert.ok(cache.totalBytes <= 150_000, `cache holds ${cache.totalBytes} bytes`);
    assert.equal(fs.existsSync(leaseA.dir), false, 'the least recently used tree went first');
    assert.equal(fs.existsSync(leaseB.dir), true);
    const again = await cache.acquire(a.target);
    assert.equal(again.hit, false, 'an evicted tree is fetched again');
    assert.equal(sha(path.join(again.dir, 'image.bin')), sha(path.join(ws, 'image.bin')));
    again.release();
  });

  it('refuses an uploaded archive with ../ entries before writing anything', async () => {
    const archive = await makeEscapingArchive(backend.root);
    const upload = await targets.uploadArchive(archive);
    const cache = new TargetCache(store, path.join(backend.root, 'cache3'));
    await assert.rejects(cache.acquire(upload.target), (err: unknown) => {
      assert.ok(err instanceof UnsafeArchiveError);
      assert.match(err.message, /"\.\.\/escape\.py" contains a "\.\." segment/);
      return true;
    });
    assert.deepEqual(fs.readdirSync(path.join(backend.root, 'cache3', 'trees')), []);
  });
});
