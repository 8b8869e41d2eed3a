// Workflow determinism on fresh runs: every toolbox workflow runs once for real on the test
// backend (a full_scan whose children are the static workflows, a few seconds of each fuzzing
// workflow, a cancelled campaign), and each history replays against the bundle a worker builds
// from the toolbox (workers/toolboxLoader.ts). The committed histories check older code against
// today's (test/unit/workflow-histories.test.ts); this one checks today's runs, on this machine.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { toolboxDir } from '../../backend/paths';
import { discoverWorkflows } from '../../backend/toolbox/discovery';
import { recordToolboxHistories, RECORDING_VERTICALS } from '../histories/cases';
import { replayAdvice, replayHistories, type NamedHistory } from '../histories/histories';
import { startTestBackend, type TestBackend } from './harness';

describe('workflow histories replay', () => {
  let backend: TestBackend;
  let histories: NamedHistory[];
  before(async () => {
    backend = await startTestBackend({ verticals: RECORDING_VERTICALS, shareable: true });
    histories = await recordToolboxHistories(backend);
  });
  after(async () => {
    await backend?.stop();
  });

  it('every toolbox workflow ran once', () => {
    const ran = new Set(histories.map((h) => h.workflowType));
    assert.deepEqual(
      discoverWorkflows(toolboxDir())
        .workflows.map((w) => w.name)
        .filter((name) => !ran.has(name)),
      [],
    );
  });

  it('each run replays against the bundle its worker builds', async () => {
    // The baseline matching ran too (as a local activity: a marker, not a scheduled activity).
    const compared = histories.find((h) => h.name === 'security_assessment.baseline');
    const markers = (compared?.history.events ?? []).filter((e) => e.markerRecordedEventAttributes).length;
    const scheduled = (compared?.history.events ?? []).map(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name,
    );
    assert.ok(markers > 0 && !scheduled.includes('matchBaseline'), 'matched in a local activity');
    const paused = histories.find((h) => h.name === 'security_assessment.baseline-paused');
    assert.ok(
      paused?.history.events?.some((e) => e.timerFiredEventAttributes),
      'the pause before matching ran (a timer)',
    );
    const failures = await replayHistories(toolboxDir(), histories);
    assert.equal(failures.length, 0, failures.map(replayAdvice).join('\n'));
  });

  it('a change to the workflow code that running workflows would notice fails the replay, with the advice', async () => {
    // The same runs against a toolbox whose security_assessment calls one more activity first:
    // what an unguarded edit would do to a run in flight.
    const changed = path.join(backend.root, 'changed-toolbox');
    fs.cpSync(toolboxDir(), changed, { recursive: true });
    const file = path.join(changed, 'workflows', 'security_assessment', 'workflow.ts');
    const source = fs.readFileSync(file, 'utf8');
    const edited = source.replace(
      '  return sastScan(',
      '  await inventoryFiles({ runId: input.runId, target: input.target, exclude: [] });\n  return sastScan(',
    );
    assert.notEqual(edited, source, 'the edit applies');
    fs.writeFileSync(file, edited);
    const runs = histories.filter((h) => h.workflowType === 'security_assessment');
    assert.equal(runs.length, 3, 'a full_scan child and two compared with a baseline, one of them with a pause');
    const failures = await replayHistories(changed, runs);
    assert.equal(failures.length, runs.length);
    assert.match(replayAdvice(failures[0]!), /DeterminismViolationError.*\n.*patched\('<change-id>'\)/);
  });
});
