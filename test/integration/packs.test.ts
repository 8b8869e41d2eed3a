// Pack objects in real MinIO: a workspace of many small files, a few large ones and odd names
// goes up as a handful of packs and comes back byte for byte on the worker side; a corrupted pack
// or layout is refused naming the object; an edit sends a pack of the changed file only.
import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sleep } from '../../backend/concurrency';
import { UnsafeArchiveError } from '../../backend/storage/extract';
import {
  layoutKey,
  manifestKey,
  MISSING_OBJECT,
  packKey,
  sha256,
  type PackIndex,
  type StoredLayout,
  type TargetRef,
} from '../../backend/storage/manifest';
import { ObjectStore } from '../../backend/storage/objectStore';
import { PACK_BLOB_MAX_BYTES, PACK_TARGET_BYTES } from '../../backend/storage/packWriter';
import { RACY_WINDOW_MS } from '../../backend/storage/statCache';
import { TargetCache, validateLayout, validateManifest } from '../../backend/storage/targetCache';
import { forgetStoredPacks, PACKS_TRUSTED_MS, TargetStore, type UploadResult } from '../../backend/storage/targets';
import { startTestBackend, type TestBackend } from './harness';

const SMALL_FILES = 1200;
const ODD_NAMES = [
  'odd/with space.txt',
  'odd/quote"and\'apostrophe.txt',
  'odd/ünïcödé-名前.py',
  'odd/-leading-dash',
  'odd/#hash%percent&amp.txt',
  'odd/new\nline.txt',
  `odd/${'long'.repeat(50)}.txt`,
  'odd/empty',
];

/** Every file under `root` (following nothing) with its content hash, mode and link target. */
function snapshot(root: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const rel of fs.readdirSync(root, { recursive: true, encoding: 'utf8' })) {
    const abs = path.join(root, rel);
    const st = fs.lstatSync(abs);
    if (st.isSymbolicLink()) {
      out.set(rel, `link ${fs.readlinkSync(abs)}`);
    } else if (st.isFile()) {
      const hash = crypto.createHash('sha256').update(fs.readFileSync(abs)).digest('hex');
      out.set(rel, `${hash} ${(st.mode & 0o111) !== 0 ? 'x' : '-'}`);
    }
  }
  return out;
}

function makeWorkspace(root: string): void {
  // About 6 MB of small files (two packs or more), with repeated contents.
  for (let i = 0; i < SMALL_FILES; i++) {
    const file = path.join(root, `src${i % 12}`, `file_${i}.c`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `/* ${i % 1100} */\n${'int x = 1;\n'.repeat(400 + (i % 1100))}`);
  }
  for (const rel of ODD_NAMES) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), rel.endsWith('empty') ? '' : `content of ${rel}\n`);
  }
  // Large files stay blobs of their own; two with the same content are stored once.
  const big = crypto.randomBytes(PACK_BLOB_MAX_BYTES + 12_345);
  fs.mkdirSync(path.join(root, 'assets'));
  fs.writeFileSync(path.join(root, 'assets', 'big.bin'), big);
  fs.writeFileSync(path.join(root, 'assets', 'big-copy.bin'), big);
  fs.writeFileSync(path.join(root, 'assets', 'other.bin'), crypto.randomBytes(2 * PACK_BLOB_MAX_BYTES));
  fs.writeFileSync(path.join(root, 'run.sh'), '#!/bin/sh\necho hi\n');
  fs.chmodSync(path.join(root, 'run.sh'), 0o755);
  fs.symlinkSync('../run.sh', path.join(root, 'src0', 'run-link'));
}

describe('pack objects in real MinIO', () => {
  let backend: TestBackend;
  let store: ObjectStore;
  let targets: TargetStore;
  let ws: string;
  let cold: UploadResult;
  let caches = 0;
  const bucket = () => backend.conn.buckets.targets;
  const freshCache = () => new TargetCache(store, path.join(backend.root, `cache${++caches}`));
  /** A stored tree's packs, each with the entries its layout places in it, read as a worker reads them. */
  const storedPacks = async (target: TargetRef): Promise<PackIndex[]> => {
    const manifest = validateManifest(
      JSON.parse((await store.getBuffer(bucket(), target.key)).toString('utf8')),
      target.name,
    );
    const layout: unknown = JSON.parse(
      (await store.getBuffer(bucket(), layoutKey(target.layout ?? ''))).toString('utf8'),
    );
    const packs = new Map<string, PackIndex>();
    for (const { pack, entry } of validateLayout(layout, target.name, manifest).values()) {
      const p = packs.get(pack.digest) ?? { digest: pack.digest, size: pack.size, blobs: [] };
      p.blobs.push(entry);
      packs.set(pack.digest, p);
    }
    return [...packs.values()];
  };

  before(async () => {
    backend = await startTestBackend({ verticals: [] });
    store = new ObjectStore(backend.conn);
    targets = new TargetStore(store);
    ws = path.join(backend.root, 'ws');
    makeWorkspace(ws);
    // Files written a moment ago are hashed again on every upload (the stat cache's racy window).
    await sleep(RACY_WINDOW_MS + 100);
    cold = await targets.uploadWorkspace(ws);
  });
  after(async () => {
    await backend?.stop();
  });

  it('stores small files in a few packs and large ones on their own, each content once', async () => {
    assert.equal(cold.totalFiles, SMALL_FILES + ODD_NAMES.length + 4);
    const packs = await store.list(bucket(), 'packs/');
    const blobs = await store.list(bucket(), 'blobs/');
    assert.equal(blobs.length, 2, 'big.bin and its copy are one blob; other.bin the second');
    assert.equal(packs.length, 3, 'the small files and odd names fill three packs');
    for (const p of packs) {
      assert.ok(p.size <= PACK_TARGET_BYTES + PACK_BLOB_MAX_BYTES, `${p.key} is ${p.size} bytes`);
    }
    assert.equal(cold.uploadedObjects, packs.length + blobs.length + 2, 'plus the layout and the manifest');
    assert.ok(cold.target.layout);
  });

  it('materialises the tree byte for byte: odd names, executable bits, links, empty files', async () => {
    const lease = await freshCache().acquire(cold.target);
    try {
      assert.deepEqual(snapshot(lease.dir), snapshot(ws));
    } finally {
      lease.release();
    }
  });

  it('sends nothing for an unchanged workspace and reads no file', async () => {
    const again = await targets.uploadWorkspace(ws);
    assert.equal(again.target.digest, cold.target.digest);
    assert.equal(again.target.layout, cold.target.layout);
    assert.equal(again.uploadedObjects, 0);
    assert.equal(again.readFiles, 0, 'the stat cache vouches for every file');
  });

  it('sends a deleted manifest again, and notices a new link, when no file changed', async () => {
    await store.client.removeObject(bucket(), cold.target.key);
    const again = await targets.uploadWorkspace(ws);
    assert.equal(again.target.digest, cold.target.digest);
    assert.equal(again.uploadedObjects, 1, 'the manifest');
    assert.ok(await store.stat(bucket(), cold.target.key));
    fs.symlinkSync('file_1.c', path.join(ws, 'src1', 'new-link'));
    try {
      const linked = await targets.uploadWorkspace(ws);
      assert.notEqual(linked.target.digest, cold.target.digest);
      assert.equal(linked.readFiles, 0);
      assert.equal(linked.uploadedObjects, 1, 'a manifest with the link, nothing else');
    } finally {
      fs.rmSync(path.join(ws, 'src1', 'new-link'));
    }
  });

  it('after a one-file edit sends a pack of that file, the layout and the manifest, reading that file only', async () => {
    const edited = path.join(ws, 'src3', 'file_3.c');
    fs.appendFileSync(edited, 'int y = 2;\n');
    const edit = await targets.uploadWorkspace(ws);
    assert.equal(edit.readFiles, 1);
    assert.equal(edit.uploadedObjects, 3);
    const layoutBody = await store.getBuffer(bucket(), layoutKey(edit.target.layout ?? ''));
    // Version 2: pack names and sizes, and a pack and offset per file (no digests again).
    assert.equal((JSON.parse(layoutBody.toString('utf8')) as StoredLayout).version, 2);
    assert.ok(layoutBody.length < 40 * (SMALL_FILES + ODD_NAMES.length), `layout of ${layoutBody.length} bytes`);
    const newPack = (await storedPacks(edit.target)).find((p) => p.size === fs.statSync(edited).size);
    assert.ok(newPack, 'a pack holding only the edited file');
    assert.equal(newPack.blobs.length, 1);
    assert.equal(
      edit.uploadedBytes,
      newPack.size + layoutBody.length + (await store.stat(bucket(), edit.target.key))!.size,
    );
    // A worker that has the first tree cached materialises the edited one.
    const cache = freshCache();
    (await cache.acquire(cold.target)).release();
    const lease = await cache.acquire(edit.target);
    try {
      assert.deepEqual(snapshot(lease.dir), snapshot(ws));
    } finally {
      lease.release();
    }
  });

  it('refuses a corrupted pack, naming the pack object and the file', async () => {
    const victim = (await storedPacks(cold.target))[0]!;
    const key = packKey(victim.digest);
    const original = await store.getBuffer(bucket(), key);
    const corrupt = Buffer.from(original);
    const [digest, offset] = victim.blobs[0]!;
    const manifest = validateManifest(JSON.parse((await store.getBuffer(bucket(), cold.target.key)).toString()), 'ws');
    const names = manifest.files.filter((f) => f.sha256 === digest).map((f) => `not to ${digest} (${f.path})`);
    corrupt[offset] = corrupt[offset]! ^ 0xff;
    await store.putBuffer(bucket(), key, corrupt);
    try {
      await assert.rejects(freshCache().acquire(cold.target), (err: unknown) => {
        assert.ok(err instanceof UnsafeArchiveError, String(err));
        assert.ok(err.message.includes(`s3://${bucket()}/${key}`), err.message);
        assert.match(err.message, /hash to [0-9a-f]{64}, not to/);
        assert.ok(
          names.some((n) => err.message.includes(n)),
          `names the file: ${err.message}`,
        );
        return true;
      });
      // A truncated pack is refused by its size before any blob is read.
      await store.putBuffer(bucket(), key, original.subarray(0, original.length - 1));
      await assert.rejects(freshCache().acquire(cold.target), /is \d+ bytes where the layout says \d+/);
    } finally {
      await store.putBuffer(bucket(), key, original);
    }
  });

  it('refuses a layout that does not hash to its name, or that points outside its packs', async () => {
    const key = layoutKey(cold.target.layout ?? '');
    const original = await store.getBuffer(bucket(), key);
    const layout = JSON.parse(original.toString('utf8')) as StoredLayout;
    const placed = layout.at.findIndex((e) => e !== null);
    const entry = layout.at[placed]!;
    entry[1] += 1;
    try {
      await store.putBuffer(bucket(), key, Buffer.from(JSON.stringify(layout)));
      await assert.rejects(freshCache().acquire(cold.target), (err: unknown) => {
        assert.ok(err instanceof UnsafeArchiveError);
        assert.match(
          err.message,
          /"\(layout\)" at s3:\/\/\S+\/layouts\/[0-9a-f]{64}\.json does not hash to the digest/,
        );
        return true;
      });
    } finally {
      await store.putBuffer(bucket(), key, original);
    }
    // Well named (stored under its own hash) but hostile: an entry past the end of its pack.
    const first = layout.packs[entry[0]]!;
    entry[1] = first.size;
    const body = Buffer.from(JSON.stringify(layout));
    await store.putBuffer(bucket(), layoutKey(sha256(body)), body);
    await assert.rejects(freshCache().acquire({ ...cold.target, layout: sha256(body) }), (err: unknown) => {
      assert.ok(err instanceof UnsafeArchiveError);
      assert.ok(err.message.includes(`(layout) ${packKey(first.digest)}`), err.message);
      assert.match(err.message, /past its end/);
      return true;
    });
  });

  it('re-sends the packs of an unchanged workspace after they expired', async () => {
    const before = await targets.uploadWorkspace(ws);
    const packs = await store.list(bucket(), 'packs/');
    const used = (
      JSON.parse((await store.getBuffer(bucket(), layoutKey(before.target.layout ?? ''))).toString()) as StoredLayout
    ).packs;
    await store.client.removeObjects(
      bucket(),
      packs.map((p) => p.key),
    );
    // Expiry comes days later: well past the time packs seen stored are trusted.
    const after = await targets.uploadWorkspace(ws, { now: Date.now() + PACKS_TRUSTED_MS });
    assert.equal(after.target.digest, before.target.digest);
    // The three packs of the first upload and the one of the edited file, sent again; the layout
    // and the manifest are still there.
    assert.equal(used.length, 4);
    assert.equal(after.uploadedObjects, used.length, 'every pack of the layout again, nothing else');
    const lease = await freshCache().acquire(after.target);
    try {
      assert.deepEqual(snapshot(lease.dir), snapshot(ws));
    } finally {
      lease.release();
    }
  });

  it('trusts packs it saw stored a moment ago, and asks again once a run found one missing or the manifest is gone', async () => {
    forgetStoredPacks();
    const checked = await targets.uploadWorkspace(ws);
    const gone = (await storedPacks(checked.target))[0];
    assert.ok(gone);
    await store.client.removeObject(bucket(), packKey(gone.digest));

    // Within the window the pack is not asked about: the tree is the same, nothing is sent...
    const trusted = await targets.uploadWorkspace(ws);
    assert.equal(trusted.uploadedObjects, 0);
    // ...and the worker that needs it names the object and a file it holds.
    await assert.rejects(freshCache().acquire(trusted.target), (err: Error) => {
      assert.ok(err.message.includes(`s3://${bucket()}/${packKey(gone.digest)} ${MISSING_OBJECT}`), err.message);
      assert.match(err.message, /cannot fetch the content of "/);
      return true;
    });
    // What a scan does when its run fails that way: the next upload checks every pack.
    forgetStoredPacks();
    const resent = await targets.uploadWorkspace(ws);
    assert.equal(resent.uploadedObjects, 1, 'the missing pack, nothing else');
    assert.ok(await store.stat(bucket(), packKey(gone.digest)));

    // A wiped store loses the manifest too: that alone makes the upload check every pack.
    await store.client.removeObjects(bucket(), [packKey(gone.digest), manifestKey(resent.target.digest)]);
    const rebuilt = await targets.uploadWorkspace(ws);
    assert.equal(rebuilt.uploadedObjects, 2, 'the pack and the manifest');
    const lease = await freshCache().acquire(rebuilt.target);
    try {
      assert.deepEqual(snapshot(lease.dir), snapshot(ws));
    } finally {
      lease.release();
    }
  });
});
