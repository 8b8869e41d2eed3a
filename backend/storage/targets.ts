import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { mapPool } from '../concurrency';
import { UserError } from '../errors';
import { blobKey, manifestKey, serializeManifest, sha256, type TargetRef } from './manifest';
import type { ObjectStore } from './objectStore';
import { packWorkspace, type PackOptions, type PackProgress } from './pack';

export interface UploadProgress {
  phase: 'walking' | 'hashing' | 'checking' | 'uploading' | 'done';
  files: number;
  bytes: number;
  totalFiles?: number;
  totalBytes?: number;
}

export interface UploadResult {
  target: TargetRef;
  totalFiles: number;
  totalBytes: number;
  /** Blobs and manifest actually sent in this upload. */
  uploadedObjects: number;
  uploadedBytes: number;
  skipped: { path: string; reason: string }[];
}

export interface UploadOptions extends PackOptions {
  onUploadProgress?: (progress: UploadProgress) => void;
  /** Parallel PUTs (default 8). */
  concurrency?: number;
  /** Bucket expiry in days; blobs older than this minus one day are re-sent so they outlive the run. */
  targetsRetentionDays?: number;
  /** The time ages are measured at (default now; tests look at a later day). */
  now?: number;
}

/**
 * Plan which blobs to send: the distinct digests that storage lacks or holds too close to expiry.
 * Pure, for tests: `existing` maps digest to the object's age in days.
 */
export function planBlobUploads<T extends { sha256: string }>(
  files: readonly T[],
  existing: ReadonlyMap<string, number>,
  retentionDays: number,
): T[] {
  const seen = new Set<string>();
  const out: T[] = [];
  for (const f of files) {
    if (seen.has(f.sha256)) {
      continue;
    }
    seen.add(f.sha256);
    const age = existing.get(f.sha256);
    const stale = age !== undefined && retentionDays > 0 && age >= retentionDays - 1;
    if (age === undefined || stale) {
      out.push(f);
    }
  }
  return out;
}

/** Client side of targets: packs workspaces and archives into the targets bucket. */
export class TargetStore {
  constructor(private readonly store: ObjectStore) {}

  private get bucket(): string {
    return this.store.buckets.targets;
  }

  /** Pack a folder and upload what storage does not already hold (content addressed). */
  async uploadWorkspace(root: string, options: UploadOptions = {}): Promise<UploadResult> {
    const report = options.onUploadProgress ?? (() => undefined);
    const packed = await packWorkspace(root, {
      ...options,
      onProgress: (p: PackProgress) => report({ ...p, totalBytes: undefined }),
    });
    const { manifest, totalBytes } = packed;
    const manifestBody = serializeManifest(manifest);
    const digest = sha256(manifestBody);
    const key = manifestKey(digest);
    const target: TargetRef = {
      kind: 'tree',
      bucket: this.bucket,
      key,
      digest,
      name: path.basename(path.resolve(root)),
      files: manifest.files.length,
      bytes: totalBytes,
    };
    const retentionDays = options.targetsRetentionDays ?? 0;
    const now = options.now ?? Date.now();
    const ageDays = (d: Date) => (now - d.getTime()) / 86_400_000;
    const nearExpiry = (d: Date) => retentionDays > 0 && ageDays(d) >= retentionDays - 1;

    // Every blob is checked even when the manifest exists: blobs are shared between trees and
    // expire on their own clock (or get deleted), and a manifest naming a missing blob would fail
    // every run on a worker that does not have the tree cached. One HEAD per distinct content.
    const existingManifest = await this.store.stat(this.bucket, key);
    const byDigest = new Map(packed.files.map((f, i) => [manifest.files[i]?.sha256 ?? '', f] as const));
    const distinct = [...new Set(manifest.files.map((f) => f.sha256))];
    const existing = new Map<string, number>();
    let checked = 0;
    await mapPool(distinct, options.concurrency ?? 16, async (d) => {
      const info = await this.store.stat(this.bucket, blobKey(d));
      if (info) {
        existing.set(d, ageDays(info.lastModified));
      }
      if (++checked % 500 === 0) {
        report({ phase: 'checking', files: checked, bytes: 0, totalFiles: distinct.length });
      }
    });
    const toSend = planBlobUploads(manifest.files, existing, retentionDays);
    const sendBytes = toSend.reduce((s, f) => s + f.size, 0);
    let sentFiles = 0;
    let sentBytes = 0;
    await mapPool(toSend, options.concurrency ?? Number(process.env.FUZZFORGE_UPLOAD_CONCURRENCY ?? 16), async (f) => {
      const local = byDigest.get(f.sha256);
      if (!local) {
        throw new Error(`internal: no local file for ${f.sha256}`);
      }
      await this.putVerified(local.abs, f.sha256, f.size);
      sentFiles++;
      sentBytes += f.size;
      report({
        phase: 'uploading',
        files: sentFiles,
        bytes: sentBytes,
        totalFiles: toSend.length,
        totalBytes: sendBytes,
      });
    });
    // The manifest goes last (a partial upload leaves none), and again when it is close to expiry.
    const sendManifest = !existingManifest || nearExpiry(existingManifest.lastModified);
    if (sendManifest) {
      await this.store.putBuffer(this.bucket, key, manifestBody, 'application/json');
    }
    report({ phase: 'done', files: sentFiles, bytes: sentBytes, totalFiles: toSend.length, totalBytes: sendBytes });
    return {
      target,
      totalFiles: manifest.files.length,
      totalBytes,
      uploadedObjects: sentFiles + (sendManifest ? 1 : 0),
      uploadedBytes: sentBytes + (sendManifest ? manifestBody.length : 0),
      skipped: packed.skipped,
    };
  }

  private async putVerified(file: string, digest: string, size: number): Promise<void> {
    // The file may have changed since it was hashed; storing it under a wrong digest would poison
    // every later run. Hash while streaming (one read of the file) and take the object back out
    // if the content no longer matches.
    const hash = crypto.createHash('sha256');
    const body = fs.createReadStream(file, { highWaterMark: 256 * 1024 });
    body.on('data', (chunk) => hash.update(chunk));
    const key = blobKey(digest);
    await this.store.client.putObject(this.bucket, key, body, size);
    if (hash.digest('hex') !== digest) {
      await this.store.client.removeObject(this.bucket, key);
      throw new UserError(`${file} changed while it was being uploaded`, 'run the scan again');
    }
  }

  /** Upload a .tar / .tar.gz / .tgz as a target; the worker validates and extracts it. */
  async uploadArchive(
    file: string,
    options: Pick<UploadOptions, 'targetsRetentionDays' | 'now'> = {},
  ): Promise<UploadResult> {
    const st = await fs.promises.stat(file).catch(() => undefined);
    if (!st?.isFile()) {
      throw new UserError(`${file} is not a file`);
    }
    if (!/\.(tar|tar\.gz|tgz)$/i.test(file)) {
      throw new UserError(`${file} is not a .tar, .tar.gz or .tgz archive`, 'scan a folder, or pack it with tar first');
    }
    const hash = crypto.createHash('sha256');
    await pipeline(fs.createReadStream(file), hash);
    const digest = hash.digest('hex');
    const key = blobKey(digest);
    const info = await this.store.stat(this.bucket, key);
    const retentionDays = options.targetsRetentionDays ?? 0;
    const ageDays = info ? ((options.now ?? Date.now()) - info.lastModified.getTime()) / 86_400_000 : 0;
    // Stored and not about to expire: the run can use it as it is.
    const exists = info !== undefined && !(retentionDays > 0 && ageDays >= retentionDays - 1);
    if (!exists) {
      await this.store.putFile(this.bucket, key, file, st.size);
    }
    return {
      target: {
        kind: 'archive',
        bucket: this.bucket,
        key,
        digest,
        name: path.basename(file),
        files: 0,
        bytes: st.size,
      },
      totalFiles: 1,
      totalBytes: st.size,
      uploadedObjects: exists ? 0 : 1,
      uploadedBytes: exists ? 0 : st.size,
      skipped: [],
    };
  }
}
