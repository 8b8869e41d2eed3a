// What the last upload of a workspace learnt, kept under the user's cache folder so the next one
// skips the work: each file's stamp (size, mtime, ctime, inode) with its sha256, so unchanged files
// are not read again, and the layout (which packs held which blobs), so blobs already stored are
// not sent again. Losing or corrupting the file only costs a slower upload.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { uploadCacheDir } from '../paths';
import { workspaceIdentity } from '../workspace';
import { DIGEST_PATTERN, type PackIndex, type TargetLayout } from './manifest';

/**
 * Files changed this close to the cache's writing are hashed again next time: a file rewritten
 * within the timestamp granularity of its file system (a second or two on some) keeps its mtime,
 * and a same-size rewrite would otherwise pass for unchanged.
 */
export const RACY_WINDOW_MS = 2000;

/** What identifies one version of a file on disk without reading it. */
export interface FileStamp {
  size: number;
  /**
   * `size:mtime:ctime:inode` (times in ms with their sub-ms digits): any change (a write, a
   * rename over it, a chmod) changes it.
   */
  stamp: string;
  /** The later of mtime and ctime, in ms. */
  changedMs: number;
}

/** The stamp of a file from its stat (plain numbers: bigint stats cost the walk more in allocation than they add). */
export function fileStamp(st: fs.Stats): FileStamp {
  return {
    size: st.size,
    stamp: `${st.size}:${st.mtimeMs}:${st.ctimeMs}:${st.ino}`,
    changedMs: Math.max(st.mtimeMs, st.ctimeMs),
  };
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

interface StatCacheFile {
  version: 1;
  root: string;
  writtenAt: number;
  files: Record<string, [stamp: string, sha256: string]>;
  layout: TargetLayout;
  tree?: TreeSummary;
}

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

/** The stat cache file of a workspace root. */
export function statCacheFile(root: string, env: NodeJS.ProcessEnv = process.env): string {
  return path.join(uploadCacheDir(env), `${workspaceIdentity(root).id}.json`);
}

function isPackIndex(p: unknown): p is PackIndex {
  const pack = p as Partial<PackIndex> | null;
  return (
    typeof pack?.digest === 'string' &&
    DIGEST_PATTERN.test(pack.digest) &&
    Number.isSafeInteger(pack.size) &&
    Array.isArray(pack.blobs) &&
    pack.blobs.every(
      (e) =>
        Array.isArray(e) &&
        typeof e[0] === 'string' &&
        DIGEST_PATTERN.test(e[0]) &&
        Number.isSafeInteger(e[1]) &&
        Number.isSafeInteger(e[2]),
    )
  );
}

/** A workspace's stat cache: stamps to hashes, and the packs its blobs were last stored in. */
export class StatCache {
  private constructor(
    readonly file: string,
    readonly root: string,
    private readonly previous: StatCacheFile | undefined,
  ) {}

  /** Read the cache of `root` from `file`; anything unreadable or of another root starts empty. */
  static async load(root: string, file = statCacheFile(root)): Promise<StatCache> {
    const real = workspaceIdentity(root).root;
    let doc: StatCacheFile | undefined;
    try {
      const parsed = JSON.parse(await fs.promises.readFile(file, 'utf8')) as Partial<StatCacheFile> | null;
      if (
        parsed?.version === 1 &&
        parsed.root === real &&
        typeof parsed.writtenAt === 'number' &&
        parsed.files !== null &&
        typeof parsed.files === 'object' &&
        parsed.layout?.version === 1 &&
        Array.isArray(parsed.layout.packs) &&
        parsed.layout.packs.every(isPackIndex)
      ) {
        doc = parsed as StatCacheFile;
      }
    } catch {
      // No cache yet, or a torn one: every file is hashed.
    }
    return new StatCache(file, real, doc);
  }

  /** The sha256 recorded for a file whose stamp has not changed, unless it changed too recently to trust. */
  lookup(rel: string, stamp: FileStamp): string | undefined {
    const found = this.find(rel, stamp);
    if (found !== undefined) {
      this.hits++;
    }
    return found;
  }

  private hits = 0;

  private find(rel: string, stamp: FileStamp): string | undefined {
    const prev = this.previous;
    const entry = prev && Object.hasOwn(prev.files, rel) ? prev.files[rel] : undefined;
    if (
      !prev ||
      !Array.isArray(entry) ||
      entry[0] !== stamp.stamp ||
      typeof entry[1] !== 'string' ||
      !DIGEST_PATTERN.test(entry[1]) ||
      stamp.changedMs >= prev.writtenAt - RACY_WINDOW_MS
    ) {
      return undefined;
    }
    return entry[1];
  }

  /** The packs the last upload stored this workspace's small blobs in. */
  get packs(): readonly PackIndex[] {
    return this.previous?.layout.packs ?? [];
  }

  /** The tree the last upload made. */
  get tree(): TreeSummary | undefined {
    const tree = this.previous?.tree;
    return isTreeSummary(tree) ? tree : undefined;
  }

  /** Whether `count` lookups all found their file unchanged, and the last upload had exactly these files. */
  vouchedForAll(count: number): boolean {
    return this.previous !== undefined && this.hits === count && Object.keys(this.previous.files).length === count;
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
    if (
      prev &&
      this.vouchedForAll(files.length) &&
      JSON.stringify(prev.layout) === JSON.stringify(layout) &&
      JSON.stringify(prev.tree) === JSON.stringify(tree)
    ) {
      return false;
    }
    const doc: StatCacheFile = {
      version: 1,
      root: this.root,
      writtenAt: now,
      files: Object.fromEntries(files.map((f) => [f.rel, [f.stamp.stamp, f.sha256]])),
      layout,
      ...(tree ? { tree } : {}),
    };
    await fs.promises.mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.${process.pid}.tmp`;
    await fs.promises.writeFile(tmp, JSON.stringify(doc), { mode: 0o600 });
    await fs.promises.rename(tmp, this.file);
    return true;
  }
}
