// The worker host's renewal after work (workers/renew.ts): when it asks for one, driven by RSS
// readings and busy answers given in turn.
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sleep } from '../../backend/concurrency';
import { DEFAULT_TEMPORAL_RENEW_MIB, temporalRenewMibFromEnv } from '../../backend/services/supervisor';
import { DEFAULT_RENEW_MIB, renewMibFromEnv, renewWhenGrown } from '../../workers/renew';

const MiB = 1048576;

/**
 * Drive a renewal: `readings[0]` is the RSS when it starts, the others one per quiet check; `busy`
 * answers per check (quiet once it runs out). Returns what it renewed with, or undefined.
 */
async function drive(options: {
  readings: number[];
  busy?: boolean[];
  open?: () => Promise<boolean>;
  growth?: number;
  quietMs?: number;
  /** How long to watch (default: long enough for every reading and answer). */
  waitMs?: number;
  /** Gets each reason the host gave to stay. */
  stays?: string[];
}): Promise<{ idle: number; now: number; checks: number } | undefined> {
  let reading = 0;
  let checks = 0;
  let renewed: { idle: number; now: number; checks: number } | undefined;
  const renewal = renewWhenGrown({
    growthBytes: (options.growth ?? 8) * MiB,
    quietMs: options.quietMs ?? 0,
    checkEveryMs: 100,
    busy: () => options.busy?.[checks++] ?? false,
    open: options.open ?? (() => Promise.resolve(false)),
    rss: () => (options.readings[Math.min(reading++, options.readings.length - 1)] ?? 0) * MiB,
    onRenew: (idle, now) => {
      renewed = { idle: idle / MiB, now: now / MiB, checks };
    },
    onStay: (why) => options.stays?.push(why),
  });
  const deadline =
    Date.now() + (options.waitMs ?? ((options.busy?.length ?? 0) + options.readings.length + 4) * 100 + 600);
  while (!renewed && Date.now() < deadline) {
    await sleep(50);
  }
  renewal.stop();
  return renewed;
}

describe('renewWhenGrown', () => {
  it('renews a host that worked, once it holds the growth over the least it held idle', async () => {
    const renewed = await drive({ readings: [140, 132, 135, 139, 141, 150], busy: [true] });
    assert.deepEqual(renewed && { idle: renewed.idle, now: renewed.now }, { idle: 132, now: 141 });
  });

  it('counts the size when it starts as idle (work that came before the first check)', async () => {
    const renewed = await drive({ readings: [130, 145], busy: [true] });
    assert.deepEqual(renewed && { idle: renewed.idle, now: renewed.now }, { idle: 130, now: 145 });
  });

  it('never renews a host that has not worked, however it grows', async () => {
    assert.equal(await drive({ readings: [130, 150, 170, 190] }), undefined);
  });

  it('does not renew below the growth, nor while busy', async () => {
    assert.equal(await drive({ readings: [132, 135, 139, 139, 139], busy: [true] }), undefined);
    assert.equal(await drive({ readings: [132, 160], busy: Array<boolean>(100).fill(true), waitMs: 1500 }), undefined);
  });

  it('does not renew while a workflow is open, nor when asking fails', async () => {
    let asked = 0;
    const open = () => {
      asked++;
      return Promise.resolve(true);
    };
    assert.equal(await drive({ readings: [132, 160], busy: [true], open }), undefined);
    assert.ok(asked > 0, 'asked whether a workflow is open');
    assert.equal(
      await drive({ readings: [132, 160], busy: [true], open: () => Promise.reject(new Error('visibility down')) }),
      undefined,
    );
  });

  it('tells once per quiet spell why it stays, and again after the next work', async () => {
    const stays: string[] = [];
    assert.equal(await drive({ readings: [132, 135, 139, 139, 139, 139], busy: [true], stays }), undefined);
    assert.deepEqual(stays, ['it holds 135 MiB, 3 MiB over its idle 132 MiB: under the 8 MiB that renews it']);
    stays.length = 0;
    const open = () => Promise.resolve(true);
    await drive({ readings: [132, 160], busy: [true, false, false, false, true], open, stays });
    assert.deepEqual(stays, ['a workflow is still open on its queues', 'a workflow is still open on its queues']);
    stays.length = 0;
    await drive({
      readings: [132, 160],
      busy: [true],
      open: () => Promise.reject(new Error('visibility down')),
      stays,
    });
    assert.deepEqual(stays, ['it could not ask whether a workflow is open (Error: visibility down)']);
  });

  it('waits until the host has been quiet long enough', async () => {
    // Busy for three checks, then quiet: without the wait it would renew at the fourth.
    const renewed = await drive({ readings: [132, 150], busy: [true, true, true], quietMs: 350 });
    assert.ok(renewed, 'renewed in the end');
    assert.ok(renewed.checks >= 6, `renewed at check ${renewed.checks}, after 3 busy ones and 350 ms quiet`);
  });
});

describe('renewMibFromEnv', () => {
  it('reads FUZZFORGE_WORKER_RENEW_MIB, with a default and 0 for never', () => {
    assert.equal(renewMibFromEnv({}), DEFAULT_RENEW_MIB);
    assert.equal(renewMibFromEnv({ FUZZFORGE_WORKER_RENEW_MIB: '' }), DEFAULT_RENEW_MIB);
    assert.equal(renewMibFromEnv({ FUZZFORGE_WORKER_RENEW_MIB: '0' }), 0);
    assert.equal(renewMibFromEnv({ FUZZFORGE_WORKER_RENEW_MIB: '24' }), 24);
    assert.throws(() => renewMibFromEnv({ FUZZFORGE_WORKER_RENEW_MIB: 'lots' }), /FUZZFORGE_WORKER_RENEW_MIB=lots/);
    assert.throws(() => renewMibFromEnv({ FUZZFORGE_WORKER_RENEW_MIB: '-1' }), /0 = never renew/);
  });
});

describe('temporalRenewMibFromEnv', () => {
  it('reads FUZZFORGE_TEMPORAL_RENEW_MIB, with a default and 0 for never', () => {
    assert.equal(temporalRenewMibFromEnv({}), DEFAULT_TEMPORAL_RENEW_MIB);
    assert.equal(temporalRenewMibFromEnv({ FUZZFORGE_TEMPORAL_RENEW_MIB: '0' }), 0);
    assert.equal(temporalRenewMibFromEnv({ FUZZFORGE_TEMPORAL_RENEW_MIB: '32' }), 32);
    assert.throws(
      () => temporalRenewMibFromEnv({ FUZZFORGE_TEMPORAL_RENEW_MIB: '1e' }),
      /FUZZFORGE_TEMPORAL_RENEW_MIB=1e is not a number of MiB .*0 = never renew it/,
    );
  });
});
