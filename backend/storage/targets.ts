import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { mapPool } from '../concurrency';
import { UserError } from '../errors';
import {
  blobKey,
  layoutKey,
  manifestKey,
  packKey,
  serializeLayout,
  serializeManifest,
  sha256,
  type PackEntry,
  type PackIndex,
  type TargetLayout,
  type TargetManifest,
  type TargetRef,
} from './manifest';
import type { ObjectInfo, ObjectStore } from './objectStore';
import { hashFile, walkWithinLimit, type PackOptions, type PackProgress, type WalkedFile } from './pack';
import { PACK_BLOB_MAX_BYTES, PACK_TARGET_BYTES, PackWriter } from './packWriter';
import { StatCache } from './statCache';

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
  /** Objects (packs, blobs, layout, manifest) actually sent in this upload. */
  uploadedObjects: number;
  uploadedBytes: number;
  /** Files read (hashed) because the stat cache did not vouch for them, or their blob had to be sent. */
  readFiles: number;
  skipped: { path: string; reason: string }[];
  /** Things that did not stop the upload but should be told (an unwritable upload cache). */
  warnings: string[];
}

export interface UploadOptions extends PackOptions {
  onUploadProgress?: (progress: UploadProgress) => void;
  /** Parallel PUTs (default 8). */
  concurrency?: number;
  /** Bucket expiry in days; blobs older than this minus one day are re-sent so they outlive the run. */
  targetsRetentionDays?: number;
  /** The time ages are measured at (default now; tests look at a later day). */
  now?: number;
  /** The workspace's stat cache file (default under the user's cache folder), or false for none. */
  statCache?: string | false;
}

/**
 * The layout of a tree: for each pack holding one of its small blobs, the entries it uses. A blob
 * found both in an earlier pack and a new one is read from the earlier one.
 */
export function treeLayout(
  manifest: TargetManifest,
  located: ReadonlyMap<string, { pack: PackIndex; entry: PackEntry }>,
  newPacks: readonly PackIndex[],
): TargetLayout {
  // The new packs' blobs on top of `located` (not a copy of it: after a one-file edit that is
  // every blob of the tree, to add one).
  const added = new Map<string, { pack: PackIndex; entry: PackEntry }>();
  for (const pack of newPacks) {
    for (const entry of pack.blobs) {
      if (!located.has(entry[0]) && !added.has(entry[0])) {
        added.set(entry[0], { pack, entry });
      }
    }
  }
  const used = new Map<string, PackIndex>();
  const listed = new Set<string>();
  for (const f of manifest.files) {
    const loc = f.size < PACK_BLOB_MAX_BYTES ? (located.get(f.sha256) ?? added.get(f.sha256)) : undefined;
    if (!loc || listed.has(f.sha256)) {
      continue;
    }
    listed.add(f.sha256);
    let pack = used.get(loc.pack.digest);
    if (!pack) {
      pack = { digest: loc.pack.digest, size: loc.pack.size, blobs: [] };
      used.set(pack.digest, pack);
    }
    pack.blobs.push(loc.entry);
  }
  return { version: 1, packs: [...used.values()] };
}

/**
 * How long packs all seen stored stay trusted without asking the store again, in this process
 * (the extension host, where uploads on save come seconds apart). Lifecycle expiry is days away
 * for a pack seen fresh (fresh is not within a day of expiry), so within this window only someone
 * deleting objects by hand or a wiped store can remove one: a wiped store also loses the last
 * tree's manifest or layout, which every upload checks, and a run that finds an object missing
 * makes the next upload check everything (forgetStoredPacks).
 */
export const PACKS_TRUSTED_MS = 60_000;

/** Per store, bucket and stat cache: when the packs it lists were all seen stored. */
const packsSeenStored = new Map<string, { at: number; packs: string }>();

/** Ask the store about every pack again on the next uploads (a run found a target object missing). */
export function forgetStoredPacks(): void {
  packsSeenStored.clear();
}

const open = promisify(fs.open);
const read = promisify(fs.read);
const close = promisify(fs.close);

/**
 * Read a small file whose size the walk saw, never more than that size plus one byte (a file that
 * grew since is caught, not loaded whole). Callback fs calls: for thousands of small files they
 * cost a third less CPU than fs.promises (a FileHandle per file) and leave less for the GC.
 */
async function readSmallFile(file: string, size: number): Promise<Buffer> {
  const fd = await open(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(size + 1);
    let filled = 0;
    for (;;) {
      const { bytesRead } = await read(fd, buffer, filled, buffer.length - filled, filled);
      filled += bytesRead;
      if (bytesRead === 0 || filled === buffer.length) {
        break;
      }
    }
    return buffer.subarray(0, filled);
  } finally {
    await close(fd);
  }
}

/** Client side of targets: packs workspaces and archives into the targets bucket. */
export class TargetStore {
  constructor(private readonly store: ObjectStore) {}

  private get bucket(): string {
    return this.store.buckets.targets;
  }

  /**
   * Pack a folder and upload what storage does not already hold (content addressed): files below
   * PACK_BLOB_MAX_BYTES go into pack objects of a few MB, larger ones are blobs of their own. The
   * workspace's stat cache spares reading unchanged files and says which packs already hold them.
   */
  async uploadWorkspace(root: string, options: UploadOptions = {}): Promise<UploadResult> {
    const report = options.onUploadProgress ?? (() => undefined);
    const retentionDays = options.targetsRetentionDays ?? 0;
    const now = options.now ?? Date.now();
    const nearExpiry = (d: Date) => retentionDays > 0 && (now - d.getTime()) / 86_400_000 >= retentionDays - 1;
    const fresh = (info: ObjectInfo | undefined) => info !== undefined && !nearExpiry(info.lastModified);
    const concurrency = options.concurrency ?? Number(process.env.FUZZFORGE_UPLOAD_CONCURRENCY ?? 16);
    const cache = options.statCache === false ? undefined : await StatCache.load(root, options.statCache);

    // The last upload's packs (checked while walking: a pack counts while it is stored and not
    // about to expire; blobs expire on the bucket's clock, or get deleted), and its manifest and
    // layout: when nothing changed they are this tree's. Packs all seen stored a moment ago are
    // not asked about again (uploads on save come seconds apart), unless the last tree's manifest
    // or layout is gone: then the store lost objects, and every pack is checked.
    const packDigests = cache?.packDigests ?? [];
    const checkPacks = () =>
      mapPool(packDigests, concurrency, async (d) => fresh(await this.store.stat(this.bucket, packKey(d))));
    const seenKey = `${this.store.connection.storage.endpoint}\0${this.bucket}\0${cache?.file ?? ''}`;
    const packList = packDigests.join(',');
    const seen = packsSeenStored.get(seenKey);
    const trustPacks =
      cache !== undefined &&
      seen !== undefined &&
      seen.packs === packList &&
      now >= seen.at &&
      now - seen.at < PACKS_TRUSTED_MS;
    let packsCheckedAt = trustPacks ? seen.at : now;
    const checking = trustPacks ? Promise.resolve(packDigests.map(() => true)) : checkPacks();
    checking.catch(() => undefined); // awaited below; the walk may throw first
    const previousTree = cache?.tree;
    const checkingTree = previousTree
      ? Promise.all([
          this.store.stat(this.bucket, manifestKey(previousTree.manifest)),
          previousTree.layout ? this.store.stat(this.bucket, layoutKey(previousTree.layout)) : undefined,
        ])
      : Promise.resolve(undefined);
    checkingTree.catch(() => undefined);
    const walked = await walkWithinLimit(root, {
      ...options,
      onProgress: (p: PackProgress) => report({ ...p, totalBytes: undefined }),
    });
    const { files, totalBytes } = walked;
    report({ phase: 'checking', files: 0, bytes: 0, totalFiles: packDigests.length });
    const links = JSON.stringify(walked.links);
    const treeObjects = await checkingTree;
    const treeStored =
      previousTree !== undefined &&
      treeObjects !== undefined &&
      fresh(treeObjects[0]) &&
      (previousTree.layout === undefined || fresh(treeObjects[1]));
    let live = await checking;
    if (trustPacks && !treeStored && packDigests.length > 0) {
      live = await checkPacks();
      packsCheckedAt = now;
    }
    // Every file is the one the last upload saw, in packs still stored, under a manifest and
    // layout still stored: the same tree. Only large blobs (stored on their own) are checked.
    const sameTree =
      previousTree !== undefined &&
      treeStored &&
      previousTree.files === files.length &&
      previousTree.links === links &&
      live.every(Boolean) &&
      cache?.vouchesForAll(files) === true;
    const located = new Map<string, { pack: PackIndex; entry: PackEntry }>();
    if (!sameTree) {
      (cache?.packs ?? []).forEach((pack, i) => {
        for (const entry of live[i] ? pack.blobs : []) {
          located.set(entry[0], { pack, entry });
        }
      });
    }

    const digests: (string | undefined)[] = files.map((f) =>
      sameTree && f.size < PACK_BLOB_MAX_BYTES ? undefined : cache?.lookup(f.rel, f.stamp),
    );
    const small: number[] = [];
    const large: number[] = [];
    files.forEach((f, i) => {
      if (f.size >= PACK_BLOB_MAX_BYTES) {
        large.push(i);
      } else if (!sameTree && (digests[i] === undefined || !located.has(digests[i]))) {
        small.push(i);
      }
    });
    let readFiles = 0;
    let readBytes = 0;
    const toRead = small.length + large.filter((i) => digests[i] === undefined).length;
    const progressRead = (size: number) => {
      readFiles++;
      readBytes += size;
      if (readFiles % 250 === 0 || readFiles === toRead) {
        report({ phase: 'hashing', files: readFiles, bytes: readBytes, totalFiles: toRead });
      }
    };
    let sentFiles = 0;
    let sentBytes = 0;
    const progressSent = (bytes: number) => {
      sentFiles++;
      sentBytes += bytes;
      report({ phase: 'uploading', files: sentFiles, bytes: sentBytes });
    };

    // Large files: hashed by streaming unless the stat cache knows them, then sent on their own.
    let largeObjects = 0;
    let largeBytes = 0;
    const largeSent = new Map<string, Promise<void>>();
    const largeJob = mapPool(large, 4, async (i) => {
      const f = files[i] as WalkedFile;
      let digest = digests[i];
      if (digest === undefined) {
        digest = await hashFile(f.abs);
        digests[i] = digest;
        progressRead(f.size);
      }
      const d = digest;
      let job = largeSent.get(d);
      if (!job) {
        job = (async () => {
          if (!fresh(await this.store.stat(this.bucket, blobKey(d)))) {
            await this.putVerified(f.abs, d, f.size);
            largeObjects++;
            largeBytes += f.size;
            progressSent(f.size);
          }
        })();
        largeSent.set(d, job);
      }
      await job;
    });

    // Small files: read once (hash and pack from the same bytes), in walk order so the same files
    // make the same packs, a pack's worth at a time.
    const writer = new PackWriter(this.store, this.bucket, { inFlight: 3, fresh, onSent: progressSent });
    const packed = new Set<string>();
    const smallJob = (async () => {
      for (let start = 0; start < small.length;) {
        let end = start;
        let bytes = 0;
        while (end < small.length && bytes < PACK_TARGET_BYTES) {
          bytes += (files[small[end] as number] as WalkedFile).size;
          end++;
        }
        const chunk = small.slice(start, end);
        start = end;
        const bodies = await mapPool(chunk, 8, async (i) => {
          const f = files[i] as WalkedFile;
          const body = await readSmallFile(f.abs, f.size);
          progressRead(body.length);
          return body;
        });
        for (const [k, i] of chunk.entries()) {
          const body = bodies[k] as Buffer;
          const f = files[i] as WalkedFile;
          if (body.length !== f.size) {
            throw new UserError(`${f.abs} changed while it was being uploaded`, 'run the scan again');
          }
          const digest = sha256(body);
          digests[i] = digest;
          if (!located.has(digest) && !packed.has(digest)) {
            packed.add(digest);
            await writer.add(digest, body);
          }
        }
      }
      // Sealed: every pack's index is known while the last ones are still being sent.
      await writer.seal();
      return writer.packs;
    })();
    const [, newPacks] = await Promise.all([largeJob, smallJob]);
    // The manifest and layout are made while the packs finish storing; they are sent after.
    const packsStored = writer.finish();
    packsStored.catch(() => undefined); // awaited below
    const warnings: string[] = [];
    const name = path.basename(path.resolve(root));
    if (sameTree) {
      await packsStored;
      // Nothing to build, nothing to write.
      packsSeenStored.set(seenKey, { at: packsCheckedAt, packs: packList });
      report({ phase: 'done', files: largeObjects, bytes: largeBytes });
      return {
        target: {
          kind: 'tree',
          bucket: this.bucket,
          key: manifestKey(previousTree.manifest),
          digest: previousTree.manifest,
          ...(previousTree.layout ? { layout: previousTree.layout } : {}),
          name,
          files: files.length,
          bytes: totalBytes,
        },
        totalFiles: files.length,
        totalBytes,
        uploadedObjects: largeObjects,
        uploadedBytes: largeBytes,
        readFiles,
        skipped: walked.skipped,
        warnings,
      };
    }

    const manifest: TargetManifest = {
      version: 1,
      files: files.map((f, i) => ({
        path: f.rel,
        sha256: digests[i] as string,
        size: f.size,
        executable: f.executable,
      })),
      links: walked.links,
    };
    const layout = treeLayout(manifest, located, newPacks);
    let metaObjects = 0;
    let metaBytes = 0;
    /**
     * Store a document under its content address. The last tree's own manifest and layout were
     * asked about at the start (`stored`: there and not about to expire); any other is new content
     * (or an older tree's: sending it again costs what asking would), so it is sent without a HEAD.
     */
    const putDocument = async (key: string, body: Buffer, stored: boolean) => {
      if (!stored) {
        await this.store.putBuffer(this.bucket, key, body, 'application/json');
        metaObjects++;
        metaBytes += body.length;
      }
    };
    // Layout and manifest go after every pack and blob (a partial upload leaves neither), side by
    // side: neither names the other, only the target returned below names both.
    const layoutBody = layout.packs.length > 0 ? serializeLayout(layout, manifest) : undefined;
    const layoutDigest = layoutBody ? sha256(layoutBody) : undefined;
    const manifestBody = serializeManifest(manifest);
    const digest = sha256(manifestBody);
    const key = manifestKey(digest);
    await packsStored;
    // The stat cache is written meanwhile: should a put fail, the next upload finds the tree's
    // manifest or layout missing and checks everything again.
    const saving = cache
      ?.save(
        files.map((f, i) => ({ rel: f.rel, stamp: f.stamp, sha256: digests[i] as string })),
        layout,
        { manifest: digest, ...(layoutDigest ? { layout: layoutDigest } : {}), files: files.length, links },
      )
      .catch((err: unknown) => {
        warnings.push(`the upload cache ${cache.file} could not be written: ${(err as Error).message}`);
      });
    await Promise.all([
      layoutBody && layoutDigest
        ? putDocument(
            layoutKey(layoutDigest),
            layoutBody,
            layoutDigest === previousTree?.layout && fresh(treeObjects?.[1]),
          )
        : undefined,
      putDocument(key, manifestBody, digest === previousTree?.manifest && fresh(treeObjects?.[0])),
      saving,
    ]);
    // This layout's packs: the ones sent now, and the others seen stored at packsCheckedAt.
    packsSeenStored.set(seenKey, { at: packsCheckedAt, packs: layout.packs.map((p) => p.digest).join(',') });
    const uploadedObjects = writer.sentObjects + largeObjects + metaObjects;
    const uploadedBytes = writer.sentBytes + largeBytes + metaBytes;
    report({ phase: 'done', files: uploadedObjects, bytes: uploadedBytes });
    return {
      target: {
        kind: 'tree',
        bucket: this.bucket,
        key,
        digest,
        ...(layoutDigest ? { layout: layoutDigest } : {}),
        name,
        files: files.length,
        bytes: totalBytes,
      },
      totalFiles: files.length,
      totalBytes,
      uploadedObjects,
      uploadedBytes,
      readFiles,
      skipped: walked.skipped,
      warnings,
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
      readFiles: 1,
      skipped: [],
      warnings: [],
    };
  }
}
