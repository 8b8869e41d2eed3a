// What the last upload of a workspace learnt, kept under the user's cache folder so the next one
// skips the work: each file's stamp (size, mtime, ctime, inode) with its sha256, so unchanged files
// are not read again, and the layout (which packs held which blobs), so blobs already stored are
// not sent again. Losing or corrupting the file only costs a slower upload.
//
// The file is binary: an unchanged upload of a large tree is mostly a walk plus this file, and
// parsing thousands of hex digests and stamp strings from JSON (then collecting them) cost it more
// than the walk's stats. Stamps are compared as numbers, digests stay bytes until asked for.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { uploadCacheDir } from '../paths';
import { workspaceIdentity } from '../workspace';
import { DIGEST_PATTERN, type PackEntry, type PackIndex, type TargetLayout } from './manifest';

/**
 * Files changed this close to the cache's writing are hashed again next time: a file rewritten
 * within the timestamp granularity of its file system (a second or two on some) keeps its mtime,
 * and a same-size rewrite would otherwise pass for unchanged.
 */
export const RACY_WINDOW_MS = 2000;

/** What identifies one version of a file on disk without reading it: any write, rename over it or chmod changes it. */
export interface FileStamp {
  size: number;
  /** Times in ms with their sub-ms digits. */
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
}

/** The stamp of a file from its stat (plain numbers: bigint stats cost the walk more in allocation than they add). */
export function fileStamp(st: fs.Stats): FileStamp {
  return { size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino };
}

/** The tree the last upload made, so an unchanged workspace reuses it without rebuilding it. */
export interface TreeSummary {
  /** Digest of the manifest. */
  manifest: string;
  /** Digest of the layout, when the tree has one. */
  layout?: string;
  files: number;
  /** The tree's links, as JSON. */
  links: string;
}

/** The JSON header of the file; the arrays follow it as bytes. */
interface Header {
  root: string;
  writtenAt: number;
  files: number;
  /** The layout's packs: digest, size and how many entries follow for it. */
  packs: [digest: string, size: number, entries: number][];
  tree?: TreeSummary;
}

// File: MAGIC, u32 header length, header (JSON), padding to 8, then per file 4 float64 (size,
// mtime, ctime, inode) and 32 digest bytes, per pack entry 32 digest bytes + u32 offset + u32
// length, then the file paths joined by NUL (no path holds one).
const MAGIC = Buffer.from('FFSTAT2\n');
const STAMP_BYTES = 32;
const DIGEST_BYTES = 32;
const ENTRY_BYTES = DIGEST_BYTES + 8;

function isTreeSummary(t: unknown): t is TreeSummary {
  const tree = t as Partial<TreeSummary> | null;
  return (
    typeof tree?.manifest === 'string' &&
    DIGEST_PATTERN.test(tree.manifest) &&
    (tree.layout === undefined || (typeof tree.layout === 'string' && DIGEST_PATTERN.test(tree.layout))) &&
    Number.isSafeInteger(tree.files) &&
    typeof tree.links === 'string'
  );
}

function isHeader(h: unknown, root: string): h is Header {
  const header = h as Partial<Header> | null;
  return (
    header?.root === root &&
    typeof header.writtenAt === 'number' &&
    Number.isSafeInteger(header.files) &&
    (header.files as number) >= 0 &&
    Array.isArray(header.packs) &&
    header.packs.every(
      (p) =>
        Array.isArray(p) &&
        typeof p[0] === 'string' &&
        DIGEST_PATTERN.test(p[0]) &&
        Number.isSafeInteger(p[1]) &&
        p[1] >= 0 &&
        p[1] < 2 ** 32 &&
        Number.isSafeInteger(p[2]) &&
        p[2] >= 0,
    ) &&
    (header.tree === undefined || isTreeSummary(header.tree))
  );
}

/** The stat cache file of a workspace root. */
export function statCacheFile(root: string, env: NodeJS.ProcessEnv = process.env): string {
  return path.join(uploadCacheDir(env), `${workspaceIdentity(root).id}.stat`);
}

/** What a loaded file holds, views into its bytes. */
interface Loaded {
  header: Header;
  paths: string[];
  stamps: Float64Array;
  digests: Buffer;
  entries: Buffer;
}

function decode(bytes: Buffer, root: string): Loaded | undefined {
  if (bytes.length < MAGIC.length + 4 || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) {
    return undefined;
  }
  const headerLength = bytes.readUInt32LE(MAGIC.length);
  let at = MAGIC.length + 4 + headerLength;
  if (at > bytes.length) {
    return undefined;
  }
  const header = JSON.parse(bytes.toString('utf8', MAGIC.length + 4, at)) as unknown;
  if (!isHeader(header, root)) {
    return undefined;
  }
  at += (8 - (at % 8)) % 8;
  const n = header.files;
  const entryCount = header.packs.reduce((sum, p) => sum + p[2], 0);
  const pathsAt = at + n * (STAMP_BYTES + DIGEST_BYTES) + entryCount * ENTRY_BYTES;
  if (pathsAt > bytes.length) {
    return undefined;
  }
  // A copy: the stamps must be 8-byte aligned for a Float64Array.
  const stamps = new Float64Array(bytes.buffer.slice(bytes.byteOffset + at, bytes.byteOffset + at + n * STAMP_BYTES));
  at += n * STAMP_BYTES;
  const digests = bytes.subarray(at, at + n * DIGEST_BYTES);
  at += n * DIGEST_BYTES;
  const entries = bytes.subarray(at, pathsAt);
  const paths = n === 0 ? [] : bytes.toString('utf8', pathsAt).split('\0');
  if (paths.length !== n) {
    return undefined;
  }
  return { header, paths, stamps, digests, entries };
}

function encode(
  header: Header,
  files: readonly { rel: string; stamp: FileStamp; sha256: string }[],
  entries: Buffer,
): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const pad = (8 - ((MAGIC.length + 4 + json.length) % 8)) % 8;
  const stamps = new Float64Array(files.length * 4);
  const digests = Buffer.allocUnsafe(files.length * DIGEST_BYTES);
  files.forEach((f, i) => {
    stamps[i * 4] = f.stamp.size;
    stamps[i * 4 + 1] = f.stamp.mtimeMs;
    stamps[i * 4 + 2] = f.stamp.ctimeMs;
    stamps[i * 4 + 3] = f.stamp.ino;
    digests.write(f.sha256, i * DIGEST_BYTES, 'hex');
  });
  const length = Buffer.alloc(4);
  length.writeUInt32LE(json.length);
  return Buffer.concat([
    MAGIC,
    length,
    json,
    Buffer.alloc(pad),
    Buffer.from(stamps.buffer),
    digests,
    entries,
    Buffer.from(files.map((f) => f.rel).join('\0')),
  ]);
}

/** A layout's packs as the header lists them, and their entries as bytes. */
function encodeLayout(layout: TargetLayout): { packs: Header['packs']; entries: Buffer } {
  const count = layout.packs.reduce((sum, p) => sum + p.blobs.length, 0);
  const entries = Buffer.allocUnsafe(count * ENTRY_BYTES);
  let at = 0;
  for (const pack of layout.packs) {
    for (const [digest, offset, length] of pack.blobs) {
      entries.write(digest, at, 'hex');
      entries.writeUInt32LE(offset, at + DIGEST_BYTES);
      entries.writeUInt32LE(length, at + DIGEST_BYTES + 4);
      at += ENTRY_BYTES;
    }
  }
  return { packs: layout.packs.map((p) => [p.digest, p.size, p.blobs.length]), entries };
}

/** A workspace's stat cache: stamps to hashes, and the packs its blobs were last stored in. */
export class StatCache {
  private hits = 0;
  /** Where the next lookup is expected: the walk visits files in the order the cache lists them. */
  private cursor = 0;
  private byPath: Map<string, number> | undefined;
  private decodedPacks: PackIndex[] | undefined;

  private constructor(
    readonly file: string,
    readonly root: string,
    private readonly previous: Loaded | undefined,
  ) {}

  /** Read the cache of `root` from `file`; anything unreadable or of another root starts empty. */
  static async load(root: string, file = statCacheFile(root)): Promise<StatCache> {
    const real = workspaceIdentity(root).root;
    let loaded: Loaded | undefined;
    try {
      loaded = decode(await fs.promises.readFile(file), real);
    } catch {
      // No cache yet, or a torn one: every file is hashed.
    }
    return new StatCache(file, real, loaded);
  }

  /** The sha256 recorded for a file whose stamp has not changed, unless it changed too recently to trust. */
  lookup(rel: string, stamp: FileStamp): string | undefined {
    const i = this.matching(rel, stamp);
    if (i < 0) {
      return undefined;
    }
    this.hits++;
    return (this.previous as Loaded).digests.toString('hex', i * DIGEST_BYTES, (i + 1) * DIGEST_BYTES);
  }

  /**
   * Whether every one of `files` is found unchanged and the last upload had exactly these files
   * (no digest is decoded: what an unchanged workspace asks first).
   */
  vouchesForAll(files: readonly { rel: string; stamp: FileStamp }[]): boolean {
    if (this.previous?.header.files !== files.length) {
      return false;
    }
    this.cursor = 0;
    const all = files.every((f) => this.matching(f.rel, f.stamp) >= 0);
    this.cursor = 0;
    return all;
  }

  /** Index of `rel` in the cache when its stamp matches and is older than the racy window, else -1. */
  private matching(rel: string, stamp: FileStamp): number {
    const prev = this.previous;
    if (!prev) {
      return -1;
    }
    let i = this.cursor;
    if (prev.paths[i] !== rel) {
      this.byPath ??= new Map(prev.paths.map((p, k) => [p, k]));
      i = this.byPath.get(rel) ?? -1;
      if (i < 0) {
        return -1;
      }
    }
    this.cursor = i + 1;
    const s = prev.stamps;
    const k = i * 4;
    const changedMs = Math.max(stamp.mtimeMs, stamp.ctimeMs);
    return s[k] === stamp.size &&
      s[k + 1] === stamp.mtimeMs &&
      s[k + 2] === stamp.ctimeMs &&
      s[k + 3] === stamp.ino &&
      changedMs < prev.header.writtenAt - RACY_WINDOW_MS
      ? i
      : -1;
  }

  /** Digests of the packs the last upload stored this workspace's small blobs in. */
  get packDigests(): readonly string[] {
    return this.previous?.header.packs.map((p) => p[0]) ?? [];
  }

  /** The packs the last upload stored this workspace's small blobs in, with their entries. */
  get packs(): readonly PackIndex[] {
    if (this.decodedPacks === undefined) {
      const prev = this.previous;
      const packs: PackIndex[] = [];
      let at = 0;
      for (const [digest, size, count] of prev?.header.packs ?? []) {
        const blobs: PackEntry[] = [];
        for (let k = 0; k < count; k++, at += ENTRY_BYTES) {
          const entries = (prev as Loaded).entries;
          const offset = entries.readUInt32LE(at + DIGEST_BYTES);
          const length = entries.readUInt32LE(at + DIGEST_BYTES + 4);
          // A torn or edited entry pointing past its pack is dropped: its blob is sent again.
          if (offset + length <= size) {
            blobs.push([entries.toString('hex', at, at + DIGEST_BYTES), offset, length]);
          }
        }
        packs.push({ digest, size, blobs });
      }
      this.decodedPacks = packs;
    }
    return this.decodedPacks;
  }

  /** The tree the last upload made. */
  get tree(): TreeSummary | undefined {
    return this.previous?.header.tree;
  }

  /** Whether `count` lookups all found their file unchanged, and the last upload had exactly these files. */
  vouchedForAll(count: number): boolean {
    return this.previous !== undefined && this.hits === count && this.previous.header.files === count;
  }

  /**
   * Write what this upload learnt (atomically; readable by the user only). Nothing is written
   * when every file was found unchanged and the layout is the same (returns false then).
   */
  async save(
    files: readonly { rel: string; stamp: FileStamp; sha256: string }[],
    layout: TargetLayout,
    tree?: TreeSummary,
    now = Date.now(),
  ): Promise<boolean> {
    const prev = this.previous;
    const { packs, entries } = encodeLayout(layout);
    if (
      prev &&
      this.vouchedForAll(files.length) &&
      JSON.stringify(prev.header.packs) === JSON.stringify(packs) &&
      prev.entries.equals(entries) &&
      JSON.stringify(prev.header.tree) === JSON.stringify(tree)
    ) {
      return false;
    }
    const header: Header = { root: this.root, writtenAt: now, files: files.length, packs, ...(tree ? { tree } : {}) };
    await fs.promises.mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
    // A name of its own per write: two uploads of one workspace in one process (a run on save and a
    // palette scan) save at the same moment, and a shared name made the second rename fail.
    const tmp = `${this.file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
    try {
      await fs.promises.writeFile(tmp, encode(header, files, entries), { mode: 0o600 });
      await fs.promises.rename(tmp, this.file);
    } catch (err) {
      // A full disk or a failed rename: the old cache stays whole, and no half-written copy is left.
      await fs.promises.rm(tmp, { force: true });
      throw err;
    }
    if (this.file.endsWith('.stat')) {
      // The JSON cache earlier versions kept beside it is never read again.
      await fs.promises.rm(`${this.file.slice(0, -'.stat'.length)}.json`, { force: true });
    }
    return true;
  }
}
