/** Run `fn` over `items` with at most `limit` calls in flight; rejects on the first failure. */
export async function mapPool<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        results[index] = await fn(items[index] as T, index);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  });
  await Promise.all(workers);
  return results;
}

/** The longest delay setTimeout honours; a longer one (or NaN) fires after 1 ms instead. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A delay setTimeout keeps as asked: at least 0, at most MAX_TIMER_MS (about 24.8 days). */
export function timerDelayMs(ms: number): number {
  return Number.isFinite(ms) ? Math.min(MAX_TIMER_MS, Math.max(0, ms)) : MAX_TIMER_MS;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, timerDelayMs(ms)));
}
