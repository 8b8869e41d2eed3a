import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compact, polylinePoints } from '../../webview/stats/chart';

describe('fuzzing statistics chart', () => {
  const box = { width: 100, height: 50, pad: 0 };

  it('spreads samples by time and scales values to the box, maximum at the top', () => {
    const { points, max } = polylinePoints(
      [
        { at: 1000, value: 0 },
        { at: 2000, value: 50 },
        { at: 5000, value: 100 },
      ],
      box,
    );
    assert.equal(max, 100);
    assert.equal(points, '0.0,50.0 25.0,25.0 100.0,0.0');
  });

  it('skips unknown values and draws nothing for an empty series', () => {
    assert.deepEqual(polylinePoints([], box), { points: '', max: 0 });
    const { points } = polylinePoints(
      [
        { at: 0, value: undefined },
        { at: 10, value: 4 },
        { at: 20, value: Number.NaN },
        { at: 30, value: 2 },
      ],
      box,
    );
    assert.equal(points, '0.0,0.0 100.0,25.0');
  });

  it('formats large counts compactly', () => {
    assert.deepEqual(
      [compact(undefined), compact(999), compact(12_345), compact(1_234_567), compact(2_500_000_000)],
      ['-', '999', '12.3k', '1.23M', '2.50G'],
    );
  });
});
