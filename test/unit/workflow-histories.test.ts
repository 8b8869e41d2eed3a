// Workflow determinism: histories recorded from real runs (test/fixtures/histories, refreshed by
// `npm run histories:record`) replay against the workflow bundle the workers build from today's
// toolbox. A change to workflow code that would break runs in flight during an upgrade fails here.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { toolboxDir } from '../../backend/paths';
import { discoverWorkflows } from '../../backend/toolbox/discovery';
import {
  HISTORIES_DIR,
  HOME_PATH_PATTERN,
  mapHistoryStrings,
  readCommittedHistories,
  replayAdvice,
  replayHistories,
} from '../histories/histories';

describe('recorded workflow histories', () => {
  const histories = readCommittedHistories();

  it('cover every workflow of the toolbox', () => {
    const recorded = new Set(histories.map((h) => h.workflowType));
    const missing = discoverWorkflows(toolboxDir())
      .workflows.map((w) => w.name)
      .filter((name) => !recorded.has(name));
    assert.deepEqual(missing, [], `no recorded history for ${missing.join(', ')}: run npm run histories:record`);
  });

  it('replay against the current workflow code', { timeout: 300_000 }, async () => {
    const failures = await replayHistories(toolboxDir(), histories);
    assert.equal(failures.length, 0, failures.map(replayAdvice).join('\n'));
  });

  it('hold no absolute home path', () => {
    for (const file of fs.readdirSync(HISTORIES_DIR)) {
      mapHistoryStrings(JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, file), 'utf8')), (s) => {
        assert.doesNotMatch(s, HOME_PATH_PATTERN, file);
        return s;
      });
    }
  });
});
