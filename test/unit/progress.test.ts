// steadyProgress: what the window gets of a scan's progress messages.
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { steadyProgress } from '../../extension/progress';

describe('steadyProgress', () => {
  it('passes each new step at once, drops repeats, and a step’s counts at most every 250 ms', () => {
    const shown: string[] = [];
    let clock = 1000;
    const p = steadyProgress({ report: (v) => shown.push(v.message ?? '') }, () => clock);
    p.report({ message: 'packing and uploading' });
    p.report({ message: 'packing and uploading' });
    p.report({ message: 'hashing 1/3 files' });
    clock += 10;
    p.report({ message: 'hashing 2/3 files' });
    p.report({ message: 'uploading 1 files' });
    clock += 100;
    p.report({ message: 'uploading 2 files' });
    clock += 200;
    p.report({ message: 'uploading 3 files' });
    p.report({ message: 'queued' });
    assert.deepEqual(shown, [
      'packing and uploading',
      'hashing 1/3 files',
      'uploading 1 files',
      'uploading 3 files',
      'queued',
    ]);
  });
});
