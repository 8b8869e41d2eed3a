import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tar from 'tar';

/** Why an archive or manifest entry is refused, or undefined when its path is safe. */
export function unsafePathReason(entryPath: string): string | undefined {
  if (entryPath === '' || entryPath === '.' || entryPath === './') {
    return undefined;
  }
  if (entryPath.includes('\0')) {
    return 'contains a NUL byte';
  }
  if (entryPath.startsWith('/') || entryPath.startsWith('\\') || /^[A-Za-z]:/.test(entryPath)) {
    return 'is an absolute path';
  }
  const segments = entryPath.split(/[\\/]+/);
  if (segments.includes('..')) {
    return 'contains a ".." segment';
  }
  return undefined;
}

/**
 * Why a link at `entryPath` pointing at `linkTarget` would escape the extraction root, or
 * undefined when it stays inside. `hard` links are relative to the root, symbolic ones to the
 * link's folder.
 */
export function unsafeLinkReason(entryPath: string, linkTarget: string, hard: boolean): string | undefined {
  if (linkTarget.startsWith('/') || /^[A-Za-z]:/.test(linkTarget)) {
    return `links to the absolute path ${linkTarget}`;
  }
  const base = hard ? '.' : path.posix.dirname(entryPath.replace(/\\/g, '/'));
  // normalize() keeps leading '..' of relative paths, so an escape shows up as a '..' prefix.
  const joined = path.posix.normalize(path.posix.join(base, linkTarget.replace(/\\/g, '/')));
  if (joined === '..' || joined.startsWith('../')) {
    return `links to ${linkTarget}, outside the target`;
  }
  return undefined;
}

export interface ArchiveProblem {
  entry: string;
  reason: string;
}

export class UnsafeArchiveError extends Error {
  constructor(
    readonly archive: string,
    readonly problems: ArchiveProblem[],
  ) {
    super(
      `refusing to extract ${archive}: ${problems
        .slice(0, 5)
        .map((p) => `"${p.entry}" ${p.reason}`)
        .join('; ')}${problems.length > 5 ? `; and ${problems.length - 5} more` : ''}`,
    );
    this.name = 'UnsafeArchiveError';
  }
}

export interface ExtractLimits {
  /** Sum of entry sizes allowed (defends against archive bombs). */
  maxBytes: number;
  maxEntries: number;
}

/**
 * Extract a tar (optionally gzip) into `dest` only if every entry is safe: no absolute paths, no
 * `..`, no links leaving the root, no device files, within the size limits. The archive is read
 * twice (check, then extract) so nothing is written from a refused archive.
 */
export async function extractArchiveSafe(
  file: string,
  dest: string,
  limits: ExtractLimits,
): Promise<{ entries: number; bytes: number }> {
  const problems: ArchiveProblem[] = [];
  let entries = 0;
  let bytes = 0;
  try {
    await tar.t({
      file,
      strict: true,
      onReadEntry: (entry) => {
        entries++;
        bytes += entry.size ?? 0;
        const reason = unsafePathReason(entry.path);
        if (reason) {
          problems.push({ entry: entry.path, reason });
        } else if (entry.type === 'SymbolicLink' || entry.type === 'Link') {
          const linkReason = unsafeLinkReason(entry.path, entry.linkpath ?? '', entry.type === 'Link');
          if (linkReason) {
            problems.push({ entry: entry.path, reason: linkReason });
          }
        } else if (!['File', 'OldFile', 'ContiguousFile', 'Directory'].includes(entry.type)) {
          problems.push({ entry: entry.path, reason: `is a ${entry.type} entry` });
        }
        entry.resume();
      },
    });
  } catch (err) {
    throw new UnsafeArchiveError(file, [
      { entry: '(archive)', reason: `cannot be read as tar: ${(err as Error).message}` },
    ]);
  }
  if (entries > limits.maxEntries) {
    problems.push({ entry: '(archive)', reason: `has ${entries} entries, over the limit of ${limits.maxEntries}` });
  }
  if (bytes > limits.maxBytes) {
    problems.push({ entry: '(archive)', reason: `expands to ${bytes} bytes, over the limit of ${limits.maxBytes}` });
  }
  if (problems.length > 0) {
    throw new UnsafeArchiveError(path.basename(file), problems);
  }
  await fs.promises.mkdir(dest, { recursive: true });
  // node-tar's own protections (preservePaths false, strict) stay on as a second line.
  await tar.x({ file, cwd: dest, strict: true, preservePaths: false, preserveOwner: false });
  return { entries, bytes };
}
