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
  const sorted: TargetManifest = {
    version: 1,
    files: [...manifest.files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
    links: [...manifest.links].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
  };
  return Buffer.from(JSON.stringify(sorted));
}

export function sha256(data: Buffer | string): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

/** The digest form the packer produces: a sha256 in lowercase hex (names manifests, blobs, archives). */
export const DIGEST_PATTERN = /^[0-9a-f]{64}$/;

export const blobKey = (digest: string): string => `blobs/${digest.slice(0, 2)}/${digest}`;
export const manifestKey = (digest: string): string => `manifests/${digest}.json`;
