// A long-lived worker host goes back to its idle size after work. V8 grows its heap during a scan
// (SARIF, tool output, toolbox compiles) and, in a process that then sits waiting on its polls,
// may not run the full collection that would shrink it again for a long time: the host stayed
// ~25-55 MB above its idle size after a full_scan. So when the heap has grown past what the last
// full collection left and nothing has run for a while, collect once.
import * as v8 from 'node:v8';
import * as vm from 'node:vm';

export interface IdleCollector {
  stop(): void;
}

export interface IdleCollectorOptions {
  /** Whether work is running now (activities or workflow activations in flight). */
  busy: () => boolean;
  /** How long nothing must have run before collecting. */
  quietMs?: number;
  /** Growth of the heap since the last collection that is worth one (bytes). */
  growthBytes?: number;
  checkEveryMs?: number;
  onCollect?: (before: number, after: number) => void;
}

let gcFunction: (() => void) | undefined;

/** V8's full collection, made callable without starting Node with --expose-gc. */
export function fullGc(): () => void {
  if (!gcFunction) {
    v8.setFlagsFromString('--expose-gc');
    gcFunction = vm.runInNewContext('gc') as () => void;
  }
  return gcFunction;
}

function heapBytes(): number {
  return v8.getHeapStatistics().total_heap_size;
}

export function collectWhenIdle(options: IdleCollectorOptions): IdleCollector {
  const quietMs = options.quietMs ?? 10_000;
  const growth = options.growthBytes ?? 8 * 1024 * 1024;
  const gc = fullGc();
  // Start-up (loading the toolbox) leaves garbage too: the first quiet moment collects it.
  let baseline = 0;
  let lastBusy = Date.now();
  const timer = setInterval(
    () => {
      if (options.busy()) {
        lastBusy = Date.now();
        return;
      }
      const before = heapBytes();
      if (Date.now() - lastBusy < quietMs || before - baseline < growth) {
        return;
      }
      // The first collection frees; only the next one gives the pages back (a test here: heap
      // 46 MB with 4 MB live was 39 MB after one collection, 6 MB after two).
      gc();
      gc();
      baseline = heapBytes();
      options.onCollect?.(before, baseline);
    },
    Math.max(250, options.checkEveryMs ?? 2000),
  );
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
