import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runsToRestore } from '../../extension/restoreModel';

describe('findings restored at start-up: which runs', () => {
  const startedAt = new Date('2026-01-02T00:00:00Z');
  const run = (runId: string, workflow: string, status: 'completed' | 'failed' | 'running', closed: string) => ({
    runId,
    workflow,
    status,
    startTime: new Date(new Date(closed).getTime() - 60_000),
    closeTime: status === 'running' ? undefined : new Date(closed),
  });

  it('takes the newest completed run of each workflow that closed before the editor started', () => {
    const picked = runsToRestore(
      [
        run('sast-old', 'python_sast', 'completed', '2026-01-01T10:00:00Z'),
        run('sast-new', 'python_sast', 'completed', '2026-01-01T11:00:00Z'),
        run('sast-failed', 'python_sast', 'failed', '2026-01-01T12:00:00Z'),
        run('sast-after', 'python_sast', 'completed', '2026-01-02T00:05:00Z'),
        run('secrets', 'secret_detection', 'completed', '2026-01-01T09:00:00Z'),
        run('running', 'js_sast', 'running', '2026-01-01T23:59:00Z'),
      ],
      startedAt,
      new Set(),
    );
    assert.deepEqual(picked.map((r) => r.runId).sort(), ['sast-new', 'secrets']);
  });

  it('leaves alone the workflows this window already shows', () => {
    const picked = runsToRestore(
      [
        run('sast', 'python_sast', 'completed', '2026-01-01T10:00:00Z'),
        run('secrets', 'secret_detection', 'completed', '2026-01-01T09:00:00Z'),
      ],
      startedAt,
      new Set(['python_sast']),
    );
    assert.deepEqual(
      picked.map((r) => r.runId),
      ['secrets'],
    );
  });
});
