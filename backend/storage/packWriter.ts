// Client side of pack objects: small blobs are gathered into packs of a few MB and sent with one
// PUT each, a bounded number in flight while the next pack is read.
import { packDigest, packKey, type PackEntry, type PackIndex } from './manifest';
import type { ObjectInfo, ObjectStore } from './objectStore';

/** Files at least this large are stored as blobs of their own; smaller ones go into packs. */
export const PACK_BLOB_MAX_BYTES = 1024 * 1024;
/** A pack is sealed once it holds this much (so a pack is at most this plus one small file). */
export const PACK_TARGET_BYTES = 4 * 1024 * 1024;
/** Packs at least this large are asked about (HEAD) before they are sent: see PackWriter.send. */
export const ASK_FIRST_MIN_BYTES = 1024 * 1024;
/** The largest pack a worker accepts (well above what the packer makes). */
export const PACK_MAX_BYTES = 64 * 1024 * 1024;

export interface PackWriterOptions {
  /** Packs being sent at once. */
  inFlight: number;
  /** Whether a stored pack is usable as it is (present and not about to expire). */
  fresh: (info: ObjectInfo | undefined) => boolean;
  onSent?: (bytes: number) => void;
}

/** Collects blobs into packs and sends each sealed pack, unless an identical one is stored. */
export class PackWriter {
  private blobs: { digest: string; body: Buffer }[] = [];
  private pendingBytes = 0;
  private readonly running = new Set<Promise<void>>();
  private failure: Error | undefined;
  /** Packs this upload made, with where each blob went. */
  readonly packs: PackIndex[] = [];
  sentObjects = 0;
  sentBytes = 0;

  constructor(
    private readonly store: ObjectStore,
    private readonly bucket: string,
    private readonly options: PackWriterOptions,
  ) {}

  /** Add a blob; seals and sends the pack when it is full (waits when too many are in flight). */
  async add(digest: string, body: Buffer): Promise<void> {
    this.blobs.push({ digest, body });
    this.pendingBytes += body.length;
    if (this.pendingBytes >= PACK_TARGET_BYTES) {
      await this.seal();
    }
  }

  /** Seal the current pack (if any) and start sending it. */
  async seal(): Promise<void> {
    this.throwIfFailed();
    if (this.blobs.length === 0) {
      return;
    }
    const blobs = this.blobs;
    this.blobs = [];
    this.pendingBytes = 0;
    const entries: PackEntry[] = [];
    let offset = 0;
    for (const b of blobs) {
      entries.push([b.digest, offset, b.body.length]);
      offset += b.body.length;
    }
    const index: PackIndex = {
      digest: packDigest(blobs.map((b) => [b.digest, b.body.length] as const)),
      size: offset,
      blobs: entries,
    };
    this.packs.push(index);
    while (this.running.size >= this.options.inFlight) {
      await Promise.race(this.running);
    }
    const job = this.send(
      index,
      blobs.map((b) => b.body),
    ).catch((err: unknown) => {
      this.failure ??= err instanceof Error ? err : new Error(`storing pack ${index.digest} failed: ${String(err)}`);
    });
    this.running.add(job);
    void job.finally(() => this.running.delete(job));
  }

  /** Seal the last pack and wait until every pack is stored; throws the first failure. */
  async finish(): Promise<PackIndex[]> {
    await this.seal();
    await Promise.all(this.running);
    this.throwIfFailed();
    return this.packs;
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) {
      throw this.failure;
    }
  }

  private async send(index: PackIndex, parts: Buffer[]): Promise<void> {
    const key = packKey(index.digest);
    // Same blobs in the same order make the same pack: after a lost upload cache, or when a
    // workspace returns to an earlier state, the stored one serves. A small pack is sent without
    // asking: on the loopback its PUT costs about the HEAD that could spare it, and asking made
    // every upload on save wait a round trip more.
    if (index.size >= ASK_FIRST_MIN_BYTES && this.options.fresh(await this.store.stat(this.bucket, key))) {
      return;
    }
    await this.store.putBuffer(this.bucket, key, Buffer.concat(parts, index.size));
    this.sentObjects++;
    this.sentBytes += index.size;
    this.options.onSent?.(index.size);
  }
}
