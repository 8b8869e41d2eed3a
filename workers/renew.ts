// Renewal of the embedded worker host after work. What a bout of work leaves in the host is mostly
// outside V8's heap (the SDK's native core, malloc's pages, compiled code), and neither its idle
// collection nor a toolbox generation swap gives it back: the host stayed 12-16 MiB above its idle
// size. So once the host has been quiet for a while with nothing open, and has grown past its idle
// size by a threshold, it stops its Workers cleanly and exits with WORKER_RENEW_EXIT_CODE
// (backend/services/supervisor.ts); the supervisor starts a fresh host at once (a warm start, the
// workflow bundle is cached: about 1.5 s, during which a run that comes waits in its queue).
// Nothing is lost: no task is in flight, no workflow is cached and none is open on the host's
// queues when it renews. With nothing open in the whole namespace either, the host exits with
// WORKER_RENEW_QUIET_EXIT_CODE instead, and the supervisor may renew Temporal too.
import * as fs from 'node:fs';
import { amountFromEnv } from '../backend/settings';

/** Default growth over the idle size (MiB) that makes a quiet host renew itself. */
export const DEFAULT_RENEW_MIB = 8;

/** MiB from the environment (FUZZFORGE_WORKER_RENEW_MIB; 0: never renew). */
export function renewMibFromEnv(env: NodeJS.ProcessEnv): number {
  return amountFromEnv(
    env,
    'FUZZFORGE_WORKER_RENEW_MIB',
    DEFAULT_RENEW_MIB,
    'MiB (how far the worker host may grow past its idle size; 0 = never renew)',
  );
}

/** This process's resident memory (bytes), from /proc (what the footprint benchmark reads). */
export function residentBytes(): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (match) {
      return Number(match[1]) * 1024;
    }
  } catch {
    // Not Linux: what Node reports.
  }
  return process.memoryUsage.rss();
}

export interface RenewOptions {
  /**
   * Whether the host is working now, or has since the last check (tasks in flight, workflows
   * cached, an activity started): cheap, asked at every check.
   */
  busy: () => boolean;
  /**
   * Whether a workflow is still open on the host's queues (one waiting on a timer is cached by no
   * worker): asked only when the host would renew. A check that fails should answer true: a host
   * never renews because it could not ask.
   */
  open: () => Promise<boolean>;
  /** Growth over the idle size that is worth a renewal (bytes). */
  growthBytes: number;
  /** How long the host must have been quiet. */
  quietMs?: number;
  checkEveryMs?: number;
  rss?: () => number;
  /** Called once, when the host should renew: the idle size and what it holds now (bytes). */
  onRenew: (idleBytes: number, nowBytes: number) => void;
  /**
   * Called at most once per quiet spell after work, when the host has been quiet long enough but
   * stays: why (it has not grown enough, a workflow is open, or the question failed).
   */
  onStay?: (why: string) => void;
}

export interface Renewal {
  stop(): void;
}

/**
 * Watch the host: its idle size is the least it held when this started or while quiet since; once
 * it has worked, then been quiet for `quietMs`, and holds `growthBytes` more than that idle size,
 * with no workflow open, call `onRenew` (once). A host that has not worked never renews.
 */
export function renewWhenGrown(options: RenewOptions): Renewal {
  const quietMs = options.quietMs ?? 60_000;
  const rss = options.rss ?? residentBytes;
  let idle = rss();
  let worked = false;
  let lastBusy = Date.now();
  let checking = false;
  let done = false;
  // Whether this quiet spell's reason to stay was told.
  let told = false;
  const stay = (why: string) => {
    if (!told) {
      told = true;
      options.onStay?.(why);
    }
  };
  const mib = (bytes: number) => Math.round(bytes / 1048576);
  const timer = setInterval(
    () => {
      if (checking || done) {
        return;
      }
      if (options.busy()) {
        worked = true;
        lastBusy = Date.now();
        told = false;
        return;
      }
      const now = rss();
      idle = Math.min(idle, now);
      if (!worked || Date.now() - lastBusy < quietMs) {
        return;
      }
      if (now - idle < options.growthBytes) {
        stay(
          `it holds ${mib(now)} MiB, ${mib(now - idle)} MiB over its idle ${mib(idle)} MiB: ` +
            `under the ${mib(options.growthBytes)} MiB that renews it`,
        );
        return;
      }
      checking = true;
      void options
        .open()
        .then(
          (open) => (open ? 'a workflow is still open on its queues' : undefined),
          (err: unknown) => `it could not ask whether a workflow is open (${String(err)})`,
        )
        .then((why) => {
          if (why !== undefined) {
            stay(why);
            lastBusy = Date.now();
          } else if (!done) {
            done = true;
            clearInterval(timer);
            options.onRenew(idle, now);
          }
        })
        .finally(() => {
          checking = false;
        });
    },
    Math.max(100, options.checkEveryMs ?? 2000),
  );
  timer.unref();
  return {
    stop: () => {
      done = true;
      clearInterval(timer);
    },
  };
}
