// The worker host's collection after work (workers/idleGc.ts), on this process's real V8 heap.
import * as assert from 'node:assert/strict';
import * as v8 from 'node:v8';
import { describe, it } from 'node:test';
import { collectWhenIdle } from '../../workers/idleGc';

/** Garbage: objects made and dropped, about `mb` MB of heap until a full collection. */
function makeGarbage(mb: number): void {
  let keep: unknown[] = [];
  for (let i = 0; i < mb * 1024; i++) {
    keep.push({ text: 'x'.repeat(900) + i, n: i });
    if (keep.length > 4096) {
      keep = [];
    }
  }
}

function waitFor(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  return new Promise((resolve) => {
    const tick = () => (check() ? resolve(true) : Date.now() > deadline ? resolve(false) : setTimeout(tick, 50));
    tick();
  });
}

describe('collectWhenIdle', () => {
  it('collects once the heap grew and nothing has run for the quiet time, and the heap shrinks', async () => {
    const collections: { before: number; after: number }[] = [];
    let busy = true;
    const collector = collectWhenIdle({
      busy: () => busy,
      quietMs: 300,
      growthBytes: 4 * 1024 * 1024,
      checkEveryMs: 250,
      onCollect: (before, after) => collections.push({ before, after }),
    });
    try {
      makeGarbage(64);
      // Busy: nothing is collected however large the heap is.
      await new Promise((r) => setTimeout(r, 800));
      assert.equal(collections.length, 0, 'collected while work was running');
      busy = false;
      assert.ok(await waitFor(() => collections.length > 0, 5000), 'no collection after the quiet time');
      const first = collections[0] as { before: number; after: number };
      assert.ok(first.after < first.before, `the heap did not shrink: ${first.before} -> ${first.after}`);
      // Quiet and no new growth: no second collection.
      const count = collections.length;
      await new Promise((r) => setTimeout(r, 1000));
      assert.equal(collections.length, count, 'collected again without new growth');
      assert.ok(v8.getHeapStatistics().total_heap_size <= first.after + 4 * 1024 * 1024);
    } finally {
      collector.stop();
    }
  });
});
