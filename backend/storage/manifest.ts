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
 * own hash names the tree and an unchanged workspace maps to an object already stored.
 */
export interface TargetManifest {
  version: 1;
  files: ManifestFile[];
  links: ManifestLink[];
}

/** How a workflow finds its target in storage (shared with workflows). */
export type { TargetRef } from '../../toolbox/shared/definitions';

export function serializeManifest(manifest: TargetManifest): Buffer {
  const sorted: { [K in keyof TargetManifest]: Readonly<TargetManifest[K]> } = {
    version: 1,
    files: byPath(manifest.files),
    links: byPath(manifest.links),
  };
  return Buffer.from(JSON.stringify(sorted));
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
 * the tree's name, depend on content only.
 */
export interface TargetLayout {
  version: 1;
  packs: PackIndex[];
}

/** The name of a pack holding `blobs` in this order. */
export function packDigest(blobs: readonly (readonly [string, number])[]): string {
  return sha256(blobs.map(([digest, length]) => `${digest} ${length}\n`).join(''));
}

export function serializeLayout(layout: TargetLayout): Buffer {
  const packs = [...layout.packs]
    .sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0))
    .map((p) => ({ digest: p.digest, size: p.size, blobs: [...p.blobs].sort((a, b) => a[1] - b[1]) }));
  return Buffer.from(JSON.stringify({ version: 1, packs }));
}
