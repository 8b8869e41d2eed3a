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

/** What a tree holds at a path (posix, relative to its root): a symbolic link, something else, or nothing. */
export type TreeLookup = (rel: string) => { link: string } | 'present' | undefined;

/** Links followed while resolving one path before it counts as a loop (Linux's own limit). */
const MAX_LINK_HOPS = 40;

export function segments(p: string): string[] {
  return p.split(/[\\/]+/).filter((s) => s !== '' && s !== '.');
}

/**
 * Resolve `target` from the folder `fromDir` the way the system would, following the tree's own
 * links on the way (`c -> .` then `a -> c/c/c/../../../etc/passwd` really is ../../etc/passwd).
 * Returns the resolved path inside the root, or why it leaves the root. Stricter than the system
 * in one way: a path that leaves the root and comes back in is refused too.
 */
export function resolveInTree(
  lookup: TreeLookup,
  fromDir: string,
  target: string,
): { path: string } | { escape: string } {
  let hops = 0;
  const walk = (start: string[], to: string): string[] | string => {
    if (/^([\\/]|[A-Za-z]:)/.test(to)) {
      return `leads to the absolute path ${to}`;
    }
    let cur = start;
    const parts = segments(to);
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i] as string;
      if (part === '..') {
        if (cur.length === 0) {
          return 'leaves the target';
        }
        cur = cur.slice(0, -1);
        continue;
      }
      const next = [...cur, part];
      const found = lookup(next.join('/'));
      if (found === undefined) {
        // Nothing there: the rest are plain names (a tool may create them later).
        cur = next;
        for (const rest of parts.slice(i + 1)) {
          if (rest === '..') {
            if (cur.length === 0) {
              return 'leaves the target';
            }
            cur = cur.slice(0, -1);
          } else {
            cur = [...cur, rest];
          }
        }
        return cur;
      }
      if (found === 'present') {
        cur = next;
        continue;
      }
      if (++hops > MAX_LINK_HOPS) {
        return 'is a loop of links';
      }
      const resolved = walk(cur, found.link);
      if (typeof resolved === 'string') {
        return resolved;
      }
      cur = resolved;
    }
    return cur;
  };
  const result = walk(segments(fromDir), target);
  return typeof result === 'string' ? { escape: result } : { path: result.join('/') };
}

/** A lookup over what is really on disk under `root` (lstat: links are reported, not followed). */
export function diskLookup(root: string): TreeLookup {
  return (rel) => {
    const abs = path.join(root, rel);
    const st = fs.lstatSync(abs, { throwIfNoEntry: false });
    if (!st) {
      return undefined;
    }
    return st.isSymbolicLink() ? { link: fs.readlinkSync(abs) } : 'present';
  };
}

/** The entries of a tree about to be written (an archive's, a manifest's). */
export interface TreeEntries {
  /** Files and folders. */
  paths: readonly string[];
  links: readonly { path: string; target: string }[];
  /** Hard links: `target` is relative to the root. */
  hardLinks?: readonly { path: string; target: string }[];
}

/**
 * Problems of a tree's links judged on the tree as a whole: an entry that would be written
 * through a link (a link among its folders), a link that resolves outside the root through other
 * links, two entries at one path.
 */
export function treeLinkProblems(entries: TreeEntries): ArchiveProblem[] {
  const norm = (p: string) => segments(p).join('/');
  const links = new Map<string, string>();
  const present = new Set<string>();
  const problems: ArchiveProblem[] = [];
  const addParents = (p: string) => {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) {
      present.add(parts.slice(0, i).join('/'));
    }
  };
  for (const l of entries.links) {
    const p = norm(l.path);
    if (links.has(p)) {
      problems.push({ entry: l.path, reason: 'appears twice' });
    }
    links.set(p, l.target);
  }
  for (const p of [...entries.paths, ...(entries.hardLinks ?? []).map((h) => h.path)]) {
    const n = norm(p);
    if (links.has(n)) {
      problems.push({ entry: p, reason: 'is both a link and a file or folder' });
    }
    present.add(n);
    addParents(n);
  }
  for (const p of links.keys()) {
    addParents(p);
  }
  const lookup: TreeLookup = (rel) =>
    links.has(rel) ? { link: links.get(rel) as string } : present.has(rel) ? 'present' : undefined;
  const all = [
    ...entries.paths.map((p) => ({ path: p })),
    ...entries.links.map((l) => ({ path: l.path })),
    ...(entries.hardLinks ?? []).map((h) => ({ path: h.path })),
  ];
  for (const e of all) {
    const parts = norm(e.path).split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      if (links.has(parent)) {
        problems.push({ entry: e.path, reason: `would be written through the link ${parent}` });
        break;
      }
    }
  }
  for (const l of entries.links) {
    const r = resolveInTree(lookup, path.posix.dirname(norm(l.path)), l.target);
    if ('escape' in r) {
      problems.push({ entry: l.path, reason: `links to ${l.target}, which ${r.escape} (following the links in it)` });
    }
  }
  for (const h of entries.hardLinks ?? []) {
    const r = resolveInTree(lookup, '', h.target);
    if ('escape' in r) {
      problems.push({
        entry: h.path,
        reason: `hard-links to ${h.target}, which ${r.escape} (following the links in it)`,
      });
    }
  }
  return problems;
}

/**
 * Check every symbolic link under `root` against what is really on disk; returns the links whose
 * resolved target leaves the root.
 */
export async function escapingLinksOnDisk(root: string): Promise<ArchiveProblem[]> {
  const real = await fs.promises.realpath(root);
  const lookup = diskLookup(real);
  const problems: ArchiveProblem[] = [];
  const visit = async (rel: string) => {
    for (const entry of await fs.promises.readdir(rel ? path.join(real, rel) : real, { withFileTypes: true })) {
      const childRel = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isSymbolicLink()) {
        const target = await fs.promises.readlink(path.join(real, childRel));
        const r = resolveInTree(lookup, rel, target);
        if ('escape' in r) {
          problems.push({ entry: childRel, reason: `links to ${target}, which ${r.escape}` });
        }
      } else if (entry.isDirectory()) {
        await visit(childRel);
      }
    }
  };
  await visit('');
  return problems;
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
  const tree = {
    paths: [] as string[],
    links: [] as { path: string; target: string }[],
    hardLinks: [] as { path: string; target: string }[],
  };
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
          (entry.type === 'Link' ? tree.hardLinks : tree.links).push({
            path: entry.path,
            target: entry.linkpath ?? '',
          });
        } else if (!['File', 'OldFile', 'ContiguousFile', 'Directory'].includes(entry.type)) {
          problems.push({ entry: entry.path, reason: `is a ${entry.type} entry` });
        } else {
          tree.paths.push(entry.path);
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
  if (problems.length === 0) {
    // Lexically fine entry by entry; now as a whole, through the links the archive itself makes.
    problems.push(...treeLinkProblems(tree));
  }
  if (problems.length > 0) {
    throw new UnsafeArchiveError(path.basename(file), problems);
  }
  await fs.promises.mkdir(dest, { recursive: true });
  // node-tar's own protections (preservePaths false, strict) stay on as a second line.
  await tar.x({ file, cwd: dest, strict: true, preservePaths: false, preserveOwner: false });
  // And what is really on disk gets the last word (the caller removes `dest` on error).
  const onDisk = await escapingLinksOnDisk(dest);
  if (onDisk.length > 0) {
    throw new UnsafeArchiveError(path.basename(file), onDisk);
  }
  return { entries, bytes };
}
