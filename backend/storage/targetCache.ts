import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { mapPool } from '../concurrency';
import {
  escapingLinksOnDisk,
  extractArchiveSafe,
  treeLinkProblems,
  unsafeLinkReason,
  unsafePathReason,
  UnsafeArchiveError,
  type ArchiveProblem,
} from './extract';
import type { TargetManifest, TargetRef } from './manifest';
import { blobKey, DIGEST_PATTERN, sha256 } from './manifest';
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

/** Check a downloaded manifest before anything is written from it. */
export function validateManifest(doc: unknown, name: string): TargetManifest {
  const problems: ArchiveProblem[] = [];
  const m = doc as Partial<TargetManifest> | null;
  if (!m || m.version !== 1 || !Array.isArray(m.files) || !Array.isArray(m.links)) {
    throw new UnsafeArchiveError(name, [
      { entry: '(manifest)', reason: 'is not a FuzzForge target manifest (version 1)' },
    ]);
  }
  for (const f of m.files) {
    const reason =
      typeof f?.path !== 'string' ||
      typeof f.sha256 !== 'string' ||
      !/^[0-9a-f]{64}$/.test(f.sha256) ||
      typeof f.size !== 'number'
        ? 'is malformed'
        : unsafePathReason(f.path);
    if (reason) {
      problems.push({ entry: String(f?.path), reason });
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
  return m as TargetManifest;
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
        const body = await this.store.getBuffer(ref.bucket, ref.key);
        if (sha256(body) !== ref.digest) {
          throw new UnsafeArchiveError(ref.name, [
            {
              entry: '(manifest)',
              reason: `at s3://${ref.bucket}/${ref.key} does not hash to the digest ${ref.digest}`,
            },
          ]);
        }
        let doc: unknown;
        try {
          doc = JSON.parse(body.toString('utf8'));
        } catch {
          doc = undefined;
        }
        const manifest = validateManifest(doc, ref.name);
        const pathsOf = new Map<string, string[]>();
        for (const f of manifest.files) {
          const paths = pathsOf.get(f.sha256);
          if (paths) {
            paths.push(f.path);
          } else {
            pathsOf.set(f.sha256, [f.path]);
          }
        }
        await mapPool([...pathsOf.keys()], 8, (d) =>
          this.fetchBlob(d, ref.bucket, blobKey(d)).catch((err: unknown) => {
            // Name the workspace file, not only the object: that is what a person can act on.
            const paths = pathsOf.get(d) ?? [];
            const which = `${JSON.stringify(paths[0])}${paths.length > 1 ? ` (and ${paths.length - 1} more with the same content)` : ''}`;
            const reason =
              (err as { code?: string }).code === 'NoSuchKey'
                ? `s3://${ref.bucket}/${blobKey(d)} does not exist (expired or never uploaded; scanning the workspace again uploads it)`
                : (err as Error).message;
            throw new Error(`target ${ref.name}: cannot fetch the content of ${which}: ${reason}`, { cause: err });
          }),
        );
        bytes = 0;
        await fs.promises.mkdir(staging, { recursive: true });
        for (const f of manifest.files) {
          const dest = path.join(staging, f.path);
          await mkdirNoLinks(staging, path.dirname(f.path));
          // A private copy (reflink where the file system can), never a hard link: tools may write
          // into the tree and must not corrupt the blob store.
          await fs.promises.copyFile(this.pathOf(`blob:${f.sha256}`), dest, fs.constants.COPYFILE_FICLONE);
          if (f.executable) {
            await fs.promises.chmod(dest, 0o755);
          }
          bytes += f.size;
        }
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

  /** Download one blob into the blob store (verified), unless it is there. Returns its path. */
  private async fetchBlob(digest: string, bucket: string, key: string): Promise<string> {
    const bkey = `blob:${digest}`;
    const file = this.pathOf(bkey);
    if (this.index.has(bkey) && fs.existsSync(file)) {
      this.touch(bkey);
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
            yield chunk;
          }
        },
        fs.createWriteStream(tmp),
      );
      const actual = hash.digest('hex');
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
