import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { mapPool } from '../concurrency';
import {
  escapingLinksOnDisk,
  extractArchiveSafe,
  segments,
  treeLinkProblems,
  unsafeLinkReason,
  unsafePathReason,
  UnsafeArchiveError,
  type ArchiveProblem,
} from './extract';
import type { ManifestFile, PackEntry, PackIndex, TargetManifest, TargetRef } from './manifest';
import { blobKey, DIGEST_PATTERN, layoutKey, MISSING_OBJECT, packKey, sha256 } from './manifest';
import { PACK_MAX_BYTES } from './packWriter';
import type { ObjectStore } from './objectStore';

interface CacheEntry {
  bytes: number;
  lastUsed: number;
}

export interface CachedTarget {
  /** Folder holding the target's files. */
  dir: string;
  /** Whether the tree was already cached (no download). */
  hit: boolean;
  /** Let the cache evict this tree again. */
  release(): void;
}

export const DEFAULT_CACHE_BYTES = 10 * 1024 * 1024 * 1024;

/**
 * Create the folder `rel` under `root` one level at a time, refusing to go through a symbolic
 * link (or anything else that is not a folder) that is already there: nothing is ever written
 * through a link created earlier.
 */
async function mkdirNoLinks(root: string, rel: string): Promise<void> {
  let cur = root;
  for (const part of rel.split(/[\\/]+/).filter((p) => p !== '' && p !== '.')) {
    cur = path.join(cur, part);
    const st = await fs.promises.lstat(cur).catch(() => undefined);
    if (!st) {
      await fs.promises.mkdir(cur);
    } else if (!st.isDirectory()) {
      throw new UnsafeArchiveError(path.basename(root), [
        {
          entry: path.relative(root, cur),
          reason: st.isSymbolicLink() ? 'is a link that entries would be written through' : 'is not a folder',
        },
      ]);
    }
  }
}

/** How much a manifest may make a worker write. */
export interface ManifestLimits {
  maxBytes: number;
  maxFiles: number;
}

/**
 * A version 2 manifest's entries as objects (see StoredManifest); an entry of the wrong shape
 * becomes one the checks below call malformed.
 */
function manifestFromStored(files: unknown[], links: unknown[]): Partial<TargetManifest> {
  return {
    version: 1,
    files: files.map((e) => {
      const [p, sha256, size, x] = Array.isArray(e) && e.length === 4 ? (e as unknown[]) : [];
      return {
        path: p as string,
        sha256: sha256 as string,
        // A flag other than 0 or 1 makes the entry one the size check refuses as malformed.
        size: x === 0 || x === 1 ? (size as number) : -1,
        executable: x === 1,
      };
    }),
    links: links.map((e) => {
      const [p, target] = Array.isArray(e) && e.length === 2 ? (e as unknown[]) : [];
      return { path: p as string, target: target as string };
    }),
  };
}

/** Check a downloaded manifest before anything is written from it. */
export function validateManifest(
  doc: unknown,
  name: string,
  limits: ManifestLimits = { maxBytes: DEFAULT_CACHE_BYTES, maxFiles: 500_000 },
): TargetManifest {
  const problems: ArchiveProblem[] = [];
  const raw = doc as { version?: unknown; files?: unknown; links?: unknown } | null;
  if (!raw || (raw.version !== 1 && raw.version !== 2) || !Array.isArray(raw.files) || !Array.isArray(raw.links)) {
    throw new UnsafeArchiveError(name, [
      { entry: '(manifest)', reason: 'is not a FuzzForge target manifest (version 1 or 2)' },
    ]);
  }
  const m = (raw.version === 2 ? manifestFromStored(raw.files, raw.links) : raw) as TargetManifest;
  for (const f of m.files) {
    const reason =
      typeof f?.path !== 'string' ||
      typeof f.sha256 !== 'string' ||
      !/^[0-9a-f]{64}$/.test(f.sha256) ||
      !Number.isSafeInteger(f.size) ||
      f.size < 0
        ? 'is malformed'
        : unsafePathReason(f.path);
    if (reason) {
      problems.push({ entry: String(f?.path), reason });
    }
  }
  if (problems.length === 0) {
    const sizes = new Map<string, number>();
    // Files are written in parallel into folders made first: two files at one path, or a file
    // where another entry needs a folder, are refused here rather than left to the order of writes.
    const filePaths = new Set<string>();
    const folders = new Set<string>();
    let total = 0;
    for (const f of m.files) {
      const parts = segments(f.path);
      const norm = parts.join('/');
      if (filePaths.has(norm)) {
        problems.push({ entry: f.path, reason: 'appears twice' });
      }
      filePaths.add(norm);
      for (let i = 1; i < parts.length; i++) {
        folders.add(parts.slice(0, i).join('/'));
      }
      total += f.size;
      if ((sizes.get(f.sha256) ?? f.size) !== f.size) {
        problems.push({ entry: f.path, reason: `gives the content ${f.sha256} another size than an earlier file` });
      }
      sizes.set(f.sha256, f.size);
    }
    for (const p of filePaths) {
      if (folders.has(p)) {
        problems.push({ entry: p, reason: 'is both a file and a folder of other files' });
      }
    }
    if (m.files.length > limits.maxFiles) {
      problems.push({
        entry: '(manifest)',
        reason: `has ${m.files.length} files, over the limit of ${limits.maxFiles}`,
      });
    }
    if (total > limits.maxBytes) {
      problems.push({ entry: '(manifest)', reason: `adds up to ${total} bytes, over the limit of ${limits.maxBytes}` });
    }
  }
  for (const l of m.links) {
    const reason =
      typeof l?.path !== 'string' || typeof l.target !== 'string'
        ? 'is malformed'
        : (unsafePathReason(l.path) ?? unsafeLinkReason(l.path, l.target, false));
    if (reason) {
      problems.push({ entry: String(l?.path), reason });
    }
  }
  if (problems.length === 0) {
    // Entry by entry it is fine; now the links as a whole (chains of links, writes through links).
    problems.push(...treeLinkProblems({ paths: m.files.map((f) => f.path), links: m.links }));
  }
  if (problems.length > 0) {
    throw new UnsafeArchiveError(name, problems);
  }
  return m;
}

/**
 * Check a downloaded layout against the manifest it serves: well-formed, packs of a sane size,
 * every entry inside its pack and as long as the manifest says its blob is. Returns where each
 * blob of the manifest that is in a pack can be read. Reads the stored form uploads write
 * (version 2, StoredLayout) and the one earlier versions wrote (version 1, TargetLayout), which
 * stays in storage until it expires.
 */
export function validateLayout(
  doc: unknown,
  name: string,
  manifest: TargetManifest,
): Map<string, { pack: PackIndex; entry: PackEntry }> {
  const l = doc as { version?: unknown; packs?: unknown; at?: unknown } | null;
  const v2 = l?.version === 2 && Array.isArray(l.at);
  if (!l || !Array.isArray(l.packs) || !(l.version === 1 || v2)) {
    throw new UnsafeArchiveError(name, [
      { entry: '(layout)', reason: 'is not a FuzzForge target layout (version 1 or 2)' },
    ]);
  }
  const sizes = new Map(manifest.files.map((f) => [f.sha256, f.size]));
  const problems: ArchiveProblem[] = [];
  const where = new Map<string, { pack: PackIndex; entry: PackEntry }>();
  /** One entry: inside its pack, as long as the manifest says; the first place of a blob is kept. */
  const place = (pack: PackIndex, digest: string, offset: number, length: number) => {
    const label = `(layout) ${packKey(pack.digest)}`;
    if (offset + length > pack.size) {
      problems.push({
        entry: label,
        reason: `places blob ${digest} at ${offset}+${length}, past its end (${pack.size} bytes)`,
      });
    } else if (sizes.has(digest) && sizes.get(digest) !== length) {
      problems.push({
        entry: label,
        reason: `gives blob ${digest} ${length} bytes where the manifest says ${sizes.get(digest)}`,
      });
    } else if (sizes.has(digest) && !where.has(digest)) {
      where.set(digest, { pack, entry: [digest, offset, length] });
    }
  };
  const isCount = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;
  // The packs, each checked once; a malformed or oversized one is undefined.
  const packs = (l.packs as unknown[]).map((p, i): PackIndex | undefined => {
    const pack = p as Partial<PackIndex> | null;
    if (
      typeof pack?.digest !== 'string' ||
      !DIGEST_PATTERN.test(pack.digest) ||
      !isCount(pack.size) ||
      (!v2 && !Array.isArray(pack.blobs))
    ) {
      problems.push({ entry: `(layout) pack ${i}`, reason: 'is malformed' });
      return undefined;
    }
    if (pack.size > PACK_MAX_BYTES) {
      problems.push({
        entry: `(layout) ${packKey(pack.digest)}`,
        reason: `is ${pack.size} bytes, over the limit of ${PACK_MAX_BYTES}`,
      });
      return undefined;
    }
    return { digest: pack.digest, size: pack.size, blobs: [] };
  });
  if (v2) {
    const at = l.at as unknown[];
    if (at.length !== manifest.files.length) {
      problems.push({
        entry: '(layout)',
        reason: `places ${at.length} files where the manifest lists ${manifest.files.length}`,
      });
    } else {
      at.forEach((e, i) => {
        if (e === null) {
          return;
        }
        const file = manifest.files[i] as ManifestFile;
        const [index, offset] = Array.isArray(e) && e.length === 2 ? (e as unknown[]) : [];
        if (!isCount(index) || !isCount(offset) || index >= packs.length) {
          problems.push({
            entry: '(layout)',
            reason: `has a malformed entry ${JSON.stringify(e)?.slice(0, 100)} for ${JSON.stringify(file.path)}`,
          });
        } else if (packs[index]) {
          place(packs[index], file.sha256, offset, file.size);
        }
      });
    }
  } else {
    (l.packs as Partial<PackIndex>[]).forEach((raw, i) => {
      const pack = packs[i];
      for (const e of pack ? (raw.blobs as unknown[]) : []) {
        const [digest, offset, length] = Array.isArray(e) ? (e as unknown[]) : [];
        if (typeof digest !== 'string' || !DIGEST_PATTERN.test(digest) || !isCount(offset) || !isCount(length)) {
          problems.push({
            entry: `(layout) ${packKey((pack as PackIndex).digest)}`,
            reason: `has a malformed entry ${JSON.stringify(e)?.slice(0, 100)}`,
          });
        } else {
          place(pack as PackIndex, digest, offset, length);
        }
      }
    });
  }
  if (problems.length > 0) {
    throw new UnsafeArchiveError(name, problems);
  }
  return where;
}

/**
 * Worker-side cache of targets: content-addressed blobs plus materialised trees, bounded in size
 * and evicted least-recently-used first. Trees in use by a running activity are never evicted.
 * One cache folder belongs to one worker process.
 */
export class TargetCache {
  private index = new Map<string, CacheEntry>();
  private readonly leases = new Map<string, number>();
  private readonly pending = new Map<string, Promise<string>>();

  constructor(
    private readonly store: ObjectStore,
    readonly dir: string,
    readonly maxBytes = DEFAULT_CACHE_BYTES,
  ) {
    fs.mkdirSync(path.join(dir, 'blobs'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'trees'), { recursive: true });
    this.loadIndex();
  }

  get totalBytes(): number {
    let sum = 0;
    for (const e of this.index.values()) {
      sum += e.bytes;
    }
    return sum;
  }

  private indexFile(): string {
    return path.join(this.dir, 'index.json');
  }

  private loadIndex(): void {
    try {
      const raw = JSON.parse(fs.readFileSync(this.indexFile(), 'utf8')) as Record<string, CacheEntry>;
      this.index = new Map(
        Object.entries(raw).filter(
          ([key]) => DIGEST_PATTERN.test(key.split(':')[1] ?? '') && fs.existsSync(this.pathOf(key)),
        ),
      );
    } catch {
      // No index or a torn one: the cache is rebuildable, so start empty.
      fs.rmSync(path.join(this.dir, 'blobs'), { recursive: true, force: true });
      fs.rmSync(path.join(this.dir, 'trees'), { recursive: true, force: true });
      fs.mkdirSync(path.join(this.dir, 'blobs'), { recursive: true });
      fs.mkdirSync(path.join(this.dir, 'trees'), { recursive: true });
      this.index = new Map();
    }
  }

  private saveIndex(): void {
    const tmp = `${this.indexFile()}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(Object.fromEntries(this.index)));
    fs.renameSync(tmp, this.indexFile());
  }

  private pathOf(key: string): string {
    const [kind, digest] = key.split(':') as [string, string];
    // The digest becomes a folder name that is removed and replaced: only the packer's exact form.
    if (!DIGEST_PATTERN.test(digest ?? '')) {
      throw new UnsafeArchiveError(key, [{ entry: '(digest)', reason: 'is not 64 lowercase hex digits (a sha256)' }]);
    }
    return kind === 'blob' ? path.join(this.dir, 'blobs', digest) : path.join(this.dir, 'trees', digest);
  }

  private touch(key: string, bytes?: number): void {
    const entry = this.index.get(key);
    this.index.set(key, { bytes: bytes ?? entry?.bytes ?? 0, lastUsed: Date.now() });
  }

  /** Make the target available on disk and lease it until `release()`. */
  async acquire(ref: TargetRef): Promise<CachedTarget> {
    const key = `tree:${ref.digest}`;
    this.pathOf(key); // refuses a digest that is not a sha256 before anything else
    this.leases.set(key, (this.leases.get(key) ?? 0) + 1);
    let released = false;
    const release = () => {
      if (!released) {
        released = true;
        this.leases.set(key, (this.leases.get(key) ?? 1) - 1);
      }
    };
    try {
      const hit = this.index.has(key) && fs.existsSync(this.pathOf(key));
      let dir: string;
      if (hit) {
        dir = this.pathOf(key);
        this.touch(key);
      } else {
        let job = this.pending.get(key);
        if (!job) {
          job = this.materialize(ref).finally(() => this.pending.delete(key));
          this.pending.set(key, job);
        }
        dir = await job;
      }
      this.evict();
      this.saveIndex();
      return { dir, hit, release };
    } catch (err) {
      release();
      throw err;
    }
  }

  private async materialize(ref: TargetRef): Promise<string> {
    const key = `tree:${ref.digest}`;
    const final = this.pathOf(key);
    const staging = `${final}.tmp-${crypto.randomBytes(4).toString('hex')}`;
    try {
      let bytes: number;
      if (ref.kind === 'archive') {
        const blob = await this.fetchBlob(ref.digest, ref.bucket, ref.key);
        const result = await extractArchiveSafe(blob, staging, { maxBytes: this.maxBytes / 2, maxEntries: 500_000 });
        bytes = result.bytes;
      } else {
        // The tree is cached under the digest, so the manifest must really be the one it names.
        const manifest = validateManifest(
          await this.readDocument(ref, ref.key, ref.digest, '(manifest)'),
          ref.name,
          // A tree larger than the whole cache could never be held; the blobs count against it too.
          { maxBytes: this.maxBytes, maxFiles: 500_000 },
        );
        const where = ref.layout
          ? validateLayout(
              await this.readDocument(ref, layoutKey(ref.layout), ref.layout, '(layout)'),
              ref.name,
              manifest,
            )
          : new Map<string, { pack: PackIndex; entry: PackEntry }>();
        const sizes = new Map(manifest.files.map((f) => [f.sha256, f.size]));
        const missing = [...sizes.keys()].filter((d) => !this.hasBlob(d));
        const byPack = new Map<string, { pack: PackIndex; entries: PackEntry[] }>();
        const single: string[] = [];
        for (const d of missing) {
          const loc = where.get(d);
          if (!loc) {
            single.push(d);
            continue;
          }
          const group = byPack.get(loc.pack.digest) ?? { pack: loc.pack, entries: [] };
          group.entries.push(loc.entry);
          byPack.set(loc.pack.digest, group);
        }
        const paths = new Map(manifest.files.map((f) => [f.sha256, f.path]));
        const copies = new Map<string, number>();
        for (const f of manifest.files) {
          copies.set(f.sha256, (copies.get(f.sha256) ?? 0) + 1);
        }
        await mapPool([...byPack.values()], 4, (g) => this.fetchFromPack(ref, g.pack, g.entries, paths));
        await mapPool(single, 8, (d) =>
          this.fetchBlob(d, ref.bucket, blobKey(d), sizes.get(d)).catch((err: unknown) => {
            // Name the workspace file, not only the object: that is what a person can act on.
            const more = (copies.get(d) ?? 1) - 1;
            const which = `${JSON.stringify(paths.get(d) ?? d)}${more > 0 ? ` (and ${more} more with the same content)` : ''}`;
            const reason =
              (err as { code?: string }).code === 'NoSuchKey'
                ? `s3://${ref.bucket}/${blobKey(d)} ${MISSING_OBJECT}`
                : (err as Error).message;
            throw new Error(`target ${ref.name}: cannot fetch the content of ${which}: ${reason}`, { cause: err });
          }),
        );
        await fs.promises.mkdir(staging, { recursive: true });
        // Each folder once, its parent first, still refusing anything but a folder in the way (the
        // links come only after every file).
        const made = new Set<string>(['.']);
        const makeFolder = async (folder: string): Promise<void> => {
          if (made.has(folder)) {
            return;
          }
          const parent = path.dirname(folder);
          await makeFolder(parent);
          await mkdirNoLinks(path.join(staging, parent), path.basename(folder));
          made.add(folder);
        };
        for (const f of manifest.files) {
          await makeFolder(path.dirname(f.path));
        }
        // Many small copies at once: one at a time, a tree of thousands of files took seconds.
        await mapPool(manifest.files, 16, async (f) => {
          const dest = path.join(staging, f.path);
          // A private copy (reflink where the file system can), never a hard link: tools may write
          // into the tree and must not corrupt the blob store.
          await fs.promises.copyFile(this.pathOf(`blob:${f.sha256}`), dest, fs.constants.COPYFILE_FICLONE);
          if (f.executable) {
            await fs.promises.chmod(dest, 0o755);
          }
        });
        bytes = manifest.files.reduce((sum, f) => sum + f.size, 0);
        for (const l of manifest.links) {
          const dest = path.join(staging, l.path);
          await mkdirNoLinks(staging, path.dirname(l.path));
          await fs.promises.symlink(l.target, dest);
        }
        // The manifest was checked as a whole; what is on disk now gets the last word.
        const escaping = await escapingLinksOnDisk(staging);
        if (escaping.length > 0) {
          throw new UnsafeArchiveError(ref.name, escaping);
        }
      }
      await fs.promises.rm(final, { recursive: true, force: true });
      await fs.promises.rename(staging, final);
      this.touch(key, bytes);
      return final;
    } catch (err) {
      await fs.promises.rm(staging, { recursive: true, force: true });
      throw err;
    }
  }

  /** Download a document named by its sha256 (manifest, layout) and parse it; anything else is refused. */
  private async readDocument(ref: TargetRef, key: string, digest: string, what: string): Promise<unknown> {
    const body = await this.store.getBuffer(ref.bucket, key, 256 * 1024 * 1024);
    if (sha256(body) !== digest) {
      throw new UnsafeArchiveError(ref.name, [
        { entry: what, reason: `at s3://${ref.bucket}/${key} does not hash to the digest ${digest}` },
      ]);
    }
    try {
      return JSON.parse(body.toString('utf8'));
    } catch {
      return undefined;
    }
  }

  private hasBlob(digest: string): boolean {
    const bkey = `blob:${digest}`;
    if (this.index.has(bkey) && fs.existsSync(this.pathOf(bkey))) {
      this.touch(bkey);
      return true;
    }
    return false;
  }

  /**
   * Download one pack whole (a few MB: one GET costs less than a ranged GET per blob) and store
   * the blobs the tree needs from it, each verified against its digest.
   */
  private async fetchFromPack(
    ref: TargetRef,
    pack: PackIndex,
    entries: readonly PackEntry[],
    paths: ReadonlyMap<string, string>,
  ): Promise<void> {
    const key = packKey(pack.digest);
    const where = `s3://${ref.bucket}/${key}`;
    const body = await this.store.getBuffer(ref.bucket, key, pack.size).catch((err: unknown) => {
      if ((err as { code?: string }).code !== 'NoSuchKey') {
        throw err;
      }
      const files = entries.map(([d]) => JSON.stringify(paths.get(d) ?? d));
      throw new Error(
        `target ${ref.name}: cannot fetch the content of ${files.slice(0, 3).join(', ')}${files.length > 3 ? ` and ${files.length - 3} more files` : ''}: ` +
          `${where} ${MISSING_OBJECT}`,
        { cause: err },
      );
    });
    if (body.length !== pack.size) {
      throw new UnsafeArchiveError(ref.name, [
        { entry: where, reason: `is ${body.length} bytes where the layout says ${pack.size}` },
      ]);
    }
    for (const [digest, offset, length] of entries) {
      const blob = body.subarray(offset, offset + length);
      const actual = sha256(blob);
      if (actual !== digest) {
        throw new UnsafeArchiveError(ref.name, [
          {
            entry: where,
            reason: `holds at ${offset}+${length} bytes that hash to ${actual}, not to ${digest} (${paths.get(digest) ?? 'unknown file'})`,
          },
        ]);
      }
      const bkey = `blob:${digest}`;
      const file = this.pathOf(bkey);
      const tmp = `${file}.tmp-${crypto.randomBytes(4).toString('hex')}`;
      try {
        await fs.promises.writeFile(tmp, blob);
        await fs.promises.rename(tmp, file);
      } catch (err) {
        await fs.promises.rm(tmp, { force: true });
        throw err;
      }
      this.touch(bkey, length);
    }
  }

  /** Download one blob into the blob store (verified), unless it is there. Returns its path. */
  private async fetchBlob(digest: string, bucket: string, key: string, expectedSize?: number): Promise<string> {
    const bkey = `blob:${digest}`;
    const file = this.pathOf(bkey);
    if (this.hasBlob(digest)) {
      return file;
    }
    const tmp = `${file}.tmp-${crypto.randomBytes(4).toString('hex')}`;
    const hash = crypto.createHash('sha256');
    let size = 0;
    try {
      const body = await this.store.getStream(bucket, key);
      await pipeline(
        body,
        async function* (source: AsyncIterable<Buffer>) {
          for await (const chunk of source) {
            hash.update(chunk);
            size += chunk.length;
            if (expectedSize !== undefined && size > expectedSize) {
              throw new UnsafeArchiveError(key, [
                {
                  entry: `s3://${bucket}/${key}`,
                  reason: `is larger than the ${expectedSize} bytes the manifest says`,
                },
              ]);
            }
            yield chunk;
          }
        },
        fs.createWriteStream(tmp),
      );
      const actual = hash.digest('hex');
      if (expectedSize !== undefined && size !== expectedSize) {
        throw new UnsafeArchiveError(key, [
          { entry: `s3://${bucket}/${key}`, reason: `is ${size} bytes where the manifest says ${expectedSize}` },
        ]);
      }
      if (actual !== digest) {
        throw new Error(`s3://${bucket}/${key} is corrupt: its content hashes to ${actual}`);
      }
      await fs.promises.rename(tmp, file);
    } catch (err) {
      await fs.promises.rm(tmp, { force: true });
      throw err;
    }
    this.touch(bkey, size);
    return file;
  }

  /** Drop least-recently-used entries until the cache fits; leased trees stay. */
  evict(): void {
    let total = this.totalBytes;
    if (total <= this.maxBytes) {
      return;
    }
    const candidates = [...this.index.entries()].sort((a, b) => a[1].lastUsed - b[1].lastUsed);
    for (const [key, entry] of candidates) {
      if (total <= this.maxBytes) {
        break;
      }
      if ((this.leases.get(key) ?? 0) > 0 || this.pending.has(key)) {
        continue;
      }
      fs.rmSync(this.pathOf(key), { recursive: true, force: true });
      this.index.delete(key);
      total -= entry.bytes;
    }
  }
}
