import * as crypto from 'node:crypto';

/** One regular file of a packed workspace. */
export interface ManifestFile {
  path: string;
  sha256: string;
  size: number;
  executable: boolean;
}

/** A symbolic link that stays inside the workspace (links that escape are never packed). */
export interface ManifestLink {
  path: string;
  target: string;
}

/**
 * What a target is, by content: identical trees give byte-identical manifests, so the manifest's
 * own hash names the tree and an unchanged workspace maps to an object already stored. This is the
 * form uploads and workers work with; stored, it is a StoredManifest.
 */
export interface TargetManifest {
  version: 1;
  files: ManifestFile[];
  links: ManifestLink[];
}

/** How a workflow finds its target in storage (shared with workflows). */
export type { TargetRef } from '../../toolbox/shared/definitions';

/**
 * A manifest as stored (`manifests/<sha256>.json`, version 2): files as [path, sha256, size, 1 if
 * executable else 0] and links as [path, target], each list by path. Version 1 spelled each
 * field's name in every entry (145 bytes a file against 100); workers read both.
 */
export interface StoredManifest {
  version: 2;
  files: [path: string, sha256: string, size: number, executable: 0 | 1][];
  links: [path: string, target: string][];
}

export function serializeManifest(manifest: TargetManifest): Buffer {
  const stored: StoredManifest = {
    version: 2,
    files: byPath(manifest.files).map((f) => [f.path, f.sha256, f.size, f.executable ? 1 : 0]),
    links: byPath(manifest.links).map((l) => [l.path, l.target]),
  };
  return Buffer.from(JSON.stringify(stored));
}

/** Entries in path order; a walk's list mostly is already, and is then taken as it is. */
function byPath<T extends { path: string }>(entries: readonly T[]): readonly T[] {
  for (let i = 1; i < entries.length; i++) {
    if ((entries[i - 1] as T).path >= (entries[i] as T).path) {
      return [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    }
  }
  return entries;
}

export function sha256(data: Buffer | string): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

/** The digest form the packer produces: a sha256 in lowercase hex (names manifests, blobs, archives). */
export const DIGEST_PATTERN = /^[0-9a-f]{64}$/;

export const blobKey = (digest: string): string => `blobs/${digest.slice(0, 2)}/${digest}`;
/** How a worker says a target's object is not in the store; the client recognises it in a run's failure. */
export const MISSING_OBJECT = 'does not exist (expired or deleted; scanning the workspace again uploads it)';

export const manifestKey = (digest: string): string => `manifests/${digest}.json`;
export const packKey = (digest: string): string => `packs/${digest.slice(0, 2)}/${digest}`;
export const layoutKey = (digest: string): string => `layouts/${digest}.json`;

/** One blob inside a pack: its sha256, where it starts and how long it is. */
export type PackEntry = [digest: string, offset: number, length: number];

/**
 * A pack object: small blobs stored back to back. Its name is the sha256 of its index (the
 * digests and lengths in order), which fixes its bytes since every blob is named by its content:
 * the same blobs packed in the same order make the same object.
 */
export interface PackIndex {
  digest: string;
  size: number;
  blobs: PackEntry[];
}

/**
 * Where a tree's blobs are: the packs holding its small files (only the entries it uses). A blob
 * in no pack is stored on its own at `blobKey`. Kept apart from the manifest so the manifest, and
 * the tree's name, depend on content only. This is the form uploads and workers work with; stored,
 * it is a StoredLayout.
 */
export interface TargetLayout {
  version: 1;
  packs: PackIndex[];
}

/**
 * A layout as stored (`layouts/<sha256>.json`, version 2): the packs by name and size, and for
 * each file of the manifest, in the order its document lists them, the pack (an index into
 * `packs`) and offset of its blob, or null for a blob stored on its own. A blob's length is its
 * file's size. Version 1 stored each pack's entries with their digests: for 5,000 files 418 KB
 * against 65 KB, and a layout is sent again after every edit. Workers read both.
 */
export interface StoredLayout {
  version: 2;
  packs: { digest: string; size: number }[];
  at: ([pack: number, offset: number] | null)[];
}

/** The name of a pack holding `blobs` in this order. */
export function packDigest(blobs: readonly (readonly [string, number])[]): string {
  return sha256(blobs.map(([digest, length]) => `${digest} ${length}\n`).join(''));
}

/** The stored form of `layout` for the tree `manifest` (see StoredLayout). */
export function serializeLayout(layout: TargetLayout, manifest: TargetManifest): Buffer {
  const packs = [...layout.packs].sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
  const where = new Map<string, [number, number]>();
  packs.forEach((pack, i) => {
    for (const [digest, offset] of pack.blobs) {
      if (!where.has(digest)) {
        where.set(digest, [i, offset]);
      }
    }
  });
  const stored: StoredLayout = {
    version: 2,
    packs: packs.map((p) => ({ digest: p.digest, size: p.size })),
    // The manifest's own order: serializeManifest lists files by path.
    at: byPath(manifest.files).map((f) => where.get(f.sha256) ?? null),
  };
  return Buffer.from(JSON.stringify(stored));
}
