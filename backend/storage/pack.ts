import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { mapPool } from '../concurrency';
import { UserError } from '../errors';
import { diskLookup, resolveInTree } from './extract';
import { DEFAULT_EXCLUDES, IgnoreStack } from './ignore';
import type { ManifestFile, ManifestLink, TargetManifest } from './manifest';
import { fileStamp, type FileStamp } from './statCache';

export interface PackOptions {
  /** Extra gitignore-style patterns (CLI --exclude, editor setting). */
  excludes?: readonly string[];
  /** Apply DEFAULT_EXCLUDES (default true). */
  defaultExcludes?: boolean;
  /** Refuse workspaces larger than this (sum of packed file sizes). */
  maxTotalBytes?: number;
  onProgress?: (progress: PackProgress) => void;
}

export interface PackProgress {
  phase: 'walking' | 'hashing';
  files: number;
  bytes: number;
  totalFiles?: number;
}

export interface PackResult {
  manifest: TargetManifest;
  totalBytes: number;
  /** Paths left out with a reason (escaping symlinks, special files, unreadable entries). */
  skipped: { path: string; reason: string }[];
}

export const DEFAULT_MAX_TOTAL_BYTES = 2 * 1024 * 1024 * 1024;

/** A file of `.fuzzforge/exclude` (gitignore syntax) at the workspace root adds user excludes. */
export const USER_EXCLUDE_FILE = '.fuzzforge/exclude';

export interface WalkedFile {
  rel: string;
  abs: string;
  size: number;
  executable: boolean;
  /** What the file was when walked (for the stat cache). */
  stamp: FileStamp;
}

/** List what would be packed: honours .gitignore at every level, defaults and user excludes. */
export async function walkWorkspace(
  root: string,
  options: PackOptions = {},
): Promise<{ files: WalkedFile[]; links: ManifestLink[]; skipped: PackResult['skipped'] }> {
  const rootStat = await fs.promises.stat(root).catch(() => undefined);
  if (!rootStat?.isDirectory()) {
    throw new UserError(`${root} is not a folder`, 'pass the folder of the project to scan');
  }
  const excludes = [...(options.defaultExcludes === false ? [] : DEFAULT_EXCLUDES), ...(options.excludes ?? [])];
  const userFile = await fs.promises.readFile(path.join(root, USER_EXCLUDE_FILE), 'utf8').catch(() => '');
  excludes.push(...userFile.split('\n'));
  const stack = new IgnoreStack(excludes.filter((l) => l.trim() !== ''));
  const files: WalkedFile[] = [];
  const links: ManifestLink[] = [];
  const skipped: PackResult['skipped'] = [];
  const onDisk = diskLookup(await fs.promises.realpath(root));
  let bytes = 0;
  // Directory listings and stats are synchronous calls, a few hundred between yields to the event
  // loop: one await per file costs a thread-pool round trip each, 5-10x the whole walk on a busy
  // machine, while a few hundred stats block for a millisecond or two.
  let sinceYield = 0;
  const yieldNow = async () => {
    if (++sinceYield >= 256) {
      sinceYield = 0;
      await new Promise((resolve) => setImmediate(resolve));
    }
  };

  // Depth-first with sorted entries, so .gitignore layers push and pop in walk order.
  const visit = async (rel: string): Promise<void> => {
    stack.popTo(rel);
    const abs = rel === '' ? root : path.join(root, rel);
    let entries: fs.Dirent[];
    try {
      await yieldNow();
      entries = fs.readdirSync(abs, { withFileTypes: true });
    } catch (err) {
      skipped.push({ path: rel || '.', reason: `unreadable folder: ${(err as Error).message}` });
      return;
    }
    if (entries.some((e) => e.name === 'pyvenv.cfg') && rel !== '') {
      skipped.push({ path: rel, reason: 'virtualenv' });
      return;
    }
    const gitignore = entries.find((e) => e.name === '.gitignore' && e.isFile());
    if (gitignore) {
      stack.addGitignore(rel, await fs.promises.readFile(path.join(abs, '.gitignore'), 'utf8'));
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const prefix = abs.endsWith(path.sep) ? abs : `${abs}${path.sep}`;
    for (const entry of entries) {
      const childRel = rel === '' ? entry.name : `${rel}/${entry.name}`;
      // A plain concatenation: path.join would normalise the same folder prefix for every entry.
      const childAbs = `${prefix}${entry.name}`;
      if (entry.isDirectory()) {
        if (!stack.ignores(childRel, true)) {
          await visit(childRel);
          stack.popTo(rel);
        }
      } else if (entry.isFile()) {
        if (stack.ignores(childRel, false)) {
          continue;
        }
        try {
          await yieldNow();
          const st = fs.statSync(childAbs);
          const stamp = fileStamp(st);
          files.push({ rel: childRel, abs: childAbs, size: st.size, executable: (st.mode & 0o111) !== 0, stamp });
          bytes += stamp.size;
          if (files.length % 500 === 0) {
            options.onProgress?.({ phase: 'walking', files: files.length, bytes });
          }
        } catch (err) {
          skipped.push({ path: childRel, reason: `unreadable: ${(err as Error).message}` });
        }
      } else if (entry.isSymbolicLink()) {
        if (stack.ignores(childRel, false)) {
          continue;
        }
        const target = await fs.promises.readlink(childAbs);
        // Resolved through the links really on disk: `c -> .` makes `c/c/../../x` leave the root.
        const resolved = resolveInTree(onDisk, rel, target);
        if ('escape' in resolved) {
          skipped.push({ path: childRel, reason: `symbolic link to ${target} leaves the workspace` });
        } else {
          links.push({ path: childRel, target });
        }
      } else {
        skipped.push({ path: childRel, reason: 'not a regular file' });
      }
    }
  };
  await visit('');
  return { files, links, skipped };
}

export function isInside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** A readable account of what makes a workspace too big: largest files and folders. */
export function largestOffenders(files: readonly { rel: string; size: number }[], count = 5): string[] {
  const byFolder = new Map<string, number>();
  for (const f of files) {
    const top = f.rel.includes('/') ? `${f.rel.split('/')[0]}/` : f.rel;
    byFolder.set(top, (byFolder.get(top) ?? 0) + f.size);
  }
  const folders = [...byFolder.entries()].sort((a, b) => b[1] - a[1]).slice(0, count);
  const biggest = [...files].sort((a, b) => b.size - a.size).slice(0, count);
  return [
    ...folders.map(([name, size]) => `${name} ${formatBytes(size)}`),
    ...biggest.map((f) => `${f.rel} ${formatBytes(f.size)}`),
  ];
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** The sha256 of a file, streamed. */
export async function hashFile(file: string): Promise<string> {
  const hash = crypto.createHash('sha256');
  await pipeline(fs.createReadStream(file, { highWaterMark: 256 * 1024 }), hash);
  return hash.digest('hex');
}

/** Walk and enforce the size limit (the error names the largest folders and files). */
export async function walkWithinLimit(
  root: string,
  options: PackOptions = {},
): Promise<Awaited<ReturnType<typeof walkWorkspace>> & { totalBytes: number }> {
  const walked = await walkWorkspace(root, options);
  const totalBytes = walked.files.reduce((sum, f) => sum + f.size, 0);
  const limit = options.maxTotalBytes ?? DEFAULT_MAX_TOTAL_BYTES;
  if (totalBytes > limit) {
    throw new UserError(
      `${root} packs to ${formatBytes(totalBytes)}, over the ${formatBytes(limit)} limit. Largest:\n  ${largestOffenders(walked.files).join('\n  ')}`,
      `exclude generated or vendored content with --exclude GLOB or a ${USER_EXCLUDE_FILE} file, or raise the limit with --max-upload-size`,
    );
  }
  return { ...walked, totalBytes };
}

/** Walk, enforce the size limit, and hash every file (streaming, bounded concurrency). */
export async function packWorkspace(
  root: string,
  options: PackOptions = {},
): Promise<PackResult & { files: WalkedFile[] }> {
  const { files, links, skipped, totalBytes } = await walkWithinLimit(root, options);
  let hashedFiles = 0;
  let hashedBytes = 0;
  const entries: ManifestFile[] = await mapPool(files, 8, async (f) => {
    const digest = await hashFile(f.abs);
    hashedFiles++;
    hashedBytes += f.size;
    if (hashedFiles % 250 === 0 || hashedFiles === files.length) {
      options.onProgress?.({ phase: 'hashing', files: hashedFiles, bytes: hashedBytes, totalFiles: files.length });
    }
    return { path: f.rel, sha256: digest, size: f.size, executable: f.executable };
  });
  return { manifest: { version: 1, files: entries, links }, totalBytes, skipped, files };
}
