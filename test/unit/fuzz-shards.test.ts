// A harness fuzzed by several processes at once reports one sample: counts add up, shared
// measures (coverage, corpus) take the largest, the clock is the longest-running process's.
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { combineShardSamples, type FuzzStatsSample } from '../../toolbox/shared/fuzzing';

function sample(over: Partial<FuzzStatsSample>): FuzzStatsSample {
  return {
    at: 1000,
    harness: 'h',
    execs: 0,
    execsPerSec: 0,
    corpusSize: 0,
    uniqueCrashes: 0,
    crashes: 0,
    timeouts: 0,
    ooms: 0,
    elapsedSec: 0,
    secSinceNewCoverage: 0,
    ...over,
  };
}

describe('combineShardSamples', () => {
  it('adds executions, rates and crash counts; takes the largest coverage, corpus and clock', () => {
    const combined = combineShardSamples([
      sample({
        shard: 0,
        at: 1000,
        execs: 100,
        execsPerSec: 10,
        coverage: 50,
        corpusSize: 7,
        crashes: 2,
        timeouts: 1,
        elapsedSec: 10,
        secSinceNewCoverage: 4,
        uniqueCrashes: 1,
      }),
      sample({
        shard: 1,
        at: 1200,
        execs: 300,
        execsPerSec: 30,
        coverage: 60,
        corpusSize: 5,
        crashes: 1,
        ooms: 1,
        elapsedSec: 9,
        secSinceNewCoverage: 2,
        uniqueCrashes: 2,
        execsEstimated: true,
      }),
    ]);
    assert.deepEqual(combined, {
      at: 1200,
      harness: 'h',
      execs: 400,
      execsEstimated: true,
      execsPerSec: 40,
      coverage: 60,
      corpusSize: 7,
      uniqueCrashes: 2,
      crashes: 3,
      timeouts: 1,
      ooms: 1,
      elapsedSec: 10,
      secSinceNewCoverage: 2,
      shards: 2,
    });
  });

  it('leaves out what no process measured and returns a single sample as it is', () => {
    const one = sample({ execs: 5 });
    assert.equal(combineShardSamples([one]), one);
    assert.equal(combineShardSamples([]), undefined);
    const two = combineShardSamples([sample({}), sample({})]);
    assert.equal(two?.coverage, undefined);
    assert.equal(two?.features, undefined);
    assert.equal('execsEstimated' in (two ?? {}), false);
  });
});
