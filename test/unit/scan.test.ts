import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalParams } from '../../backend/scan';

describe('canonicalParams', () => {
  it('ignores key order but not values or array order', () => {
    assert.equal(
      canonicalParams({ b: 1, a: { d: [1, 2], c: 'x' } }),
      canonicalParams({ a: { c: 'x', d: [1, 2] }, b: 1 }),
    );
    assert.notEqual(canonicalParams({ a: [1, 2] }), canonicalParams({ a: [2, 1] }));
    assert.notEqual(canonicalParams({ a: 1 }), canonicalParams({ a: '1' }));
    assert.equal(canonicalParams({}), '{}');
  });
});
