// What activities share inside one worker process: the storage client and the target cache,
// built lazily from the environment the worker was started with.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { activityInfo, Context, heartbeat } from '@temporalio/activity';
import { Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { cacheDir } from '../../backend/paths';
import { connectionFromEnv } from '../../backend/services/connection';
import { connectTemporal } from '../../backend/temporal/connect';
import { acquireLock } from '../../backend/services/state';
import { UnsafeArchiveError } from '../../backend/storage/extract';
import { ObjectStore } from '../../backend/storage/objectStore';
import { DEFAULT_CACHE_BYTES, TargetCache } from '../../backend/storage/targetCache';
import type { TargetRef } from '../shared/definitions';

let store: ObjectStore | undefined;
let client: Promise<Client> | undefined;

/** A Temporal client on the worker's own server (activities that signal their workflow). */
export function temporalClient(): Promise<Client> {
  if (!client) {
    const connection = connectionFromEnv(process.env);
    if (!connection) {
      throw new Error('the worker was started without FUZZFORGE_TEMPORAL_* settings');
    }
    client = connectTemporal(connection.temporal).then(
      (c) => new Client({ connection: c, namespace: connection.temporal.namespace }),
    );
    client.catch(() => {
      client = undefined;
    });
  }
  return client;
}
let cache: TargetCache | undefined;

/**
 * The vertical whose queue the running activity came from (`fuzzforge-<vertical>`); outside an
 * activity, the worker's single vertical if it has one.
 */
export function currentVertical(): string | undefined {
  try {
    const queue = activityInfo().taskQueue;
    if (queue.startsWith('fuzzforge-')) {
      return queue.slice('fuzzforge-'.length);
    }
  } catch {
    // Not in an activity.
  }
  return process.env.FUZZFORGE_VERTICAL;
}

export function objectStore(): ObjectStore {
  if (!store) {
    const connection = connectionFromEnv(process.env);
    if (!connection) {
      throw new Error('the worker was started without FUZZFORGE_S3_* / FUZZFORGE_TEMPORAL_* settings');
    }
    store = new ObjectStore(connection);
  }
  return store;
}

function targetCache(): TargetCache {
  if (!cache) {
    // A worker of one vertical names its folder after it; a host of several verticals has one.
    const name = process.env.FUZZFORGE_VERTICAL ?? 'all';
    // A cache folder belongs to one worker process: its index and evictions are in-process, and a
    // second process replacing a tree under a running tool loses files. Each worker process gets
    // its own folder, and a second one of the same name on this host gets a private one.
    let dir = path.join(process.env.FUZZFORGE_WORKER_CACHE ?? path.join(cacheDir(), 'worker'), name);
    fs.mkdirSync(dir, { recursive: true });
    if (!acquireLock(path.join(dir, '.owner'))) {
      dir = `${dir}-${process.pid}`;
      process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    }
    const max = Number(process.env.FUZZFORGE_WORKER_CACHE_BYTES ?? DEFAULT_CACHE_BYTES);
    cache = new TargetCache(objectStore(), dir, max);
  }
  return cache;
}

/**
 * Run `fn` with the target's files on disk. Unsafe targets fail the activity without retries:
 * fetching the same archive again cannot make it safe.
 */
export async function withTarget<T>(target: TargetRef, fn: (dir: string) => Promise<T>): Promise<T> {
  let lease;
  try {
    lease = await targetCache().acquire(target);
  } catch (err) {
    if (err instanceof UnsafeArchiveError) {
      throw ApplicationFailure.nonRetryable(err.message, 'UnsafeTarget');
    }
    throw err;
  }
  try {
    return await fn(lease.dir);
  } finally {
    lease.release();
  }
}

/** The running activity's cancellation signal; undefined outside an activity. */
export function cancellationSignal(): AbortSignal | undefined {
  try {
    return Context.current().cancellationSignal;
  } catch {
    return undefined;
  }
}

/** Heartbeat and stop promptly when the run is cancelled. */
export function checkpoint(details?: unknown): void {
  heartbeat(details);
  const signal = Context.current().cancellationSignal;
  if (signal.aborted) {
    throw signal.reason instanceof Error ? signal.reason : new Error('cancelled');
  }
}

// Activities name run artefacts through the runtime; the layout itself is the backend's.
export { runKey } from '../../backend/storage/runKeys';

export function attempt(): number {
  return activityInfo().attempt;
}
