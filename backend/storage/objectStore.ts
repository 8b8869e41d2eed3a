import * as fs from 'node:fs';
import type { Readable } from 'node:stream';
import type * as Minio from 'minio';
import type { BackendConnection } from '../services/connection';
import { hasErrorCode, UserError } from '../errors';
import { s3ClientOptions } from './s3Options';

/** Lifecycle expiry of the two buckets, in days. */
export interface Retention {
  targetsDays: number;
  resultsDays: number;
}

export const DEFAULT_RETENTION: Retention = { targetsDays: 7, resultsDays: 30 };

export interface ObjectInfo {
  size: number;
  lastModified: Date;
}

/** Errors of a connection to the storage that broke or was refused (the server is down or restarting). */
const CONNECTION_ERRORS = [
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
];

/**
 * A storage call that failed because the server went away, as a UserError that names the storage
 * and what to do; `during` says what was under way ("the upload"). Other errors are returned as they are.
 */
export function explainStorageOutage(err: unknown, endpoint: string, during: string): unknown {
  const message = (err as Error | undefined)?.message ?? String(err);
  if (CONNECTION_ERRORS.some((code) => hasErrorCode(err, code)) || /socket hang up/i.test(message)) {
    return new UserError(
      `the storage (MinIO at ${endpoint}) stopped answering during ${during}: ${message}`,
      'nothing of the interrupted upload is used; check the backend with `fuzzforge status` (the embedded backend restarts MinIO by itself, or run `fuzzforge up`) and run the scan again',
    );
  }
  return err;
}

/**
 * The MinIO client library, loaded when the first store is made rather than with this file: the
 * commands and the editor code that never touch storage (`fuzzforge up`, say) start without it.
 */
function minio(): typeof Minio {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use (above)
  return require('minio') as typeof Minio;
}

/** How long a read of the targets bucket's expiry is used without asking again. */
const RETENTION_TRUSTED_MS = 60_000;
/** The last read of each targets bucket's expiry, by endpoint and bucket. */
const retentionRead = new Map<string, { at: number; days: Promise<number> }>();

/** The S3 operations FuzzForge uses, over one MinIO/S3 client. */
export class ObjectStore {
  readonly client: Minio.Client;

  constructor(readonly connection: Pick<BackendConnection, 'storage' | 'buckets'>) {
    this.client = new (minio().Client)(s3ClientOptions(connection.storage));
  }

  get buckets(): BackendConnection['buckets'] {
    return this.connection.buckets;
  }

  /**
   * Create both buckets (private) and set their lifecycle expiry. Idempotent. In the results
   * bucket only `runs/` expires: fuzzing corpora under `corpus/` are kept until deleted.
   */
  async ensureBuckets(retention: Retention = DEFAULT_RETENTION): Promise<void> {
    const plan: [string, number, string][] = [
      [this.buckets.targets, retention.targetsDays, ''],
      [this.buckets.results, retention.resultsDays, 'runs/'],
    ];
    retentionRead.delete(this.retentionKey());
    for (const [bucket, days, prefix] of plan) {
      if (!(await this.client.bucketExists(bucket))) {
        try {
          await this.client.makeBucket(bucket, this.connection.storage.region);
        } catch (err) {
          // Another process created it between our check and our call.
          if (!hasErrorCode(err, 'BucketAlreadyOwnedByYou')) {
            throw err;
          }
        }
      }
      if (days > 0) {
        await this.client.setBucketLifecycle(bucket, {
          Rule: [
            {
              ID: 'fuzzforge-expiry',
              Status: 'Enabled',
              Filter: { Prefix: prefix },
              Expiration: { Days: days },
            },
          ],
        });
      }
    }
  }

  /**
   * Days after which the targets bucket's lifecycle rule expires objects (0 when none), read from
   * the bucket itself so every backend mode (embedded, compose, external) reports its own.
   */
  async targetsRetentionDays(now = Date.now()): Promise<number> {
    // Kept for a minute across stores (each upload makes its own): a save's upload waited for
    // this request before it began. Only `ensureBuckets` changes the rule, which forgets it here.
    const key = this.retentionKey();
    const known = retentionRead.get(key);
    if (known && now >= known.at && now - known.at < RETENTION_TRUSTED_MS) {
      return known.days;
    }
    const days = this.readRetentionDays(this.buckets.targets);
    retentionRead.set(key, { at: now, days });
    days.catch(() => {
      if (retentionRead.get(key)?.days === days) {
        retentionRead.delete(key);
      }
    });
    return days;
  }

  private retentionKey(): string {
    return `${this.connection.storage.endpoint}\0${this.buckets.targets}`;
  }

  private async readRetentionDays(bucket: string): Promise<number> {
    let config: Awaited<ReturnType<typeof this.client.getBucketLifecycle>>;
    try {
      config = await this.client.getBucketLifecycle(bucket);
    } catch (err) {
      if (hasErrorCode(err, 'NoSuchLifecycleConfiguration')) {
        return 0;
      }
      throw err;
    }
    // One rule comes back as an object, several as an array; the shortest enabled expiry counts.
    const days = [config?.Rule ?? []]
      .flat()
      .filter((r) => r?.Status !== 'Disabled')
      .map((r) => Number(r?.Expiration?.Days ?? 0))
      .filter((d) => Number.isFinite(d) && d > 0);
    return days.length > 0 ? Math.min(...days) : 0;
  }

  /** Size and age of an object, or undefined when it does not exist. */
  async stat(bucket: string, key: string): Promise<ObjectInfo | undefined> {
    try {
      const info = await this.client.statObject(bucket, key);
      return { size: info.size, lastModified: info.lastModified };
    } catch (err) {
      if (hasErrorCode(err, 'NotFound') || hasErrorCode(err, 'NoSuchKey')) {
        return undefined;
      }
      throw err;
    }
  }

  async putFile(bucket: string, key: string, file: string, size: number): Promise<void> {
    await this.client.putObject(bucket, key, fs.createReadStream(file), size);
  }

  async putBuffer(bucket: string, key: string, body: Buffer, contentType = 'application/octet-stream'): Promise<void> {
    await this.client.putObject(bucket, key, body, body.length, { 'Content-Type': contentType });
  }

  async putJson(bucket: string, key: string, value: unknown): Promise<number> {
    const body = Buffer.from(JSON.stringify(value));
    await this.putBuffer(bucket, key, body, 'application/json');
    return body.length;
  }

  async getStream(bucket: string, key: string): Promise<Readable> {
    return this.client.getObject(bucket, key);
  }

  async getBuffer(bucket: string, key: string, maxBytes = 512 * 1024 * 1024): Promise<Buffer> {
    const stream = await this.client.getObject(bucket, key);
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of stream) {
      const buf = chunk as Buffer;
      total += buf.length;
      if (total > maxBytes) {
        stream.destroy();
        throw new Error(`s3://${bucket}/${key} is larger than ${maxBytes} bytes`);
      }
      chunks.push(buf);
    }
    return Buffer.concat(chunks);
  }

  async getJson<T>(bucket: string, key: string): Promise<T> {
    const body = await this.getBuffer(bucket, key);
    try {
      return JSON.parse(body.toString('utf8')) as T;
    } catch (err) {
      throw new Error(`s3://${bucket}/${key} is not valid JSON: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Every object under a prefix (recursive), in key order. */
  async list(bucket: string, prefix: string): Promise<{ key: string; size: number }[]> {
    const out: { key: string; size: number }[] = [];
    const stream = this.client.listObjectsV2(bucket, prefix, true);
    for await (const item of stream) {
      const obj = item as { name?: string; size?: number };
      if (obj.name) {
        out.push({ key: obj.name, size: obj.size ?? 0 });
      }
    }
    return out.sort((a, b) => a.key.localeCompare(b.key));
  }

  async downloadFile(bucket: string, key: string, file: string): Promise<void> {
    await this.client.fGetObject(bucket, key, file);
  }
}
