// Hot reload's pure parts: the toolbox fingerprint, the debounce, which problems block a reload,
// the settings and what `fuzzforge status` prints.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { toolboxStatusLines } from '../../backend/cli/format';
import type { ToolboxProblem } from '../../backend/toolbox/discovery';
import {
  ChangeDebouncer,
  formatRejectedReload,
  newProblems,
  toolboxFingerprint,
  toolboxWatchFromEnv,
} from '../../workers/toolboxWatch';

describe('toolbox fingerprint', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-watch-'));
  after(() => fs.rmSync(root, { recursive: true, force: true }));
  const toolbox = path.join(root, 'toolbox');
  fs.mkdirSync(path.join(toolbox, 'workflows', 'a'), { recursive: true });
  fs.writeFileSync(path.join(toolbox, 'workflows', 'a', 'workflow.ts'), 'export const a = 1;\n');
  const shared = path.join(root, 'shared');
  fs.mkdirSync(shared);
  fs.writeFileSync(path.join(shared, 'defs.ts'), 'export const x = 1;\n');
  fs.symlinkSync(shared, path.join(toolbox, 'shared'));

  it('changes on an edit, an added file, a removed file and an edit behind a symbolic link', () => {
    const seen = new Set([toolboxFingerprint(toolbox)]);
    assert.equal(toolboxFingerprint(toolbox), [...seen][0], 'stable while nothing changes');
    fs.writeFileSync(path.join(toolbox, 'workflows', 'a', 'workflow.ts'), 'export const a = 22;\n');
    seen.add(toolboxFingerprint(toolbox));
    fs.mkdirSync(path.join(toolbox, 'workflows', 'b'));
    fs.writeFileSync(path.join(toolbox, 'workflows', 'b', 'metadata.yaml'), 'name: b\n');
    seen.add(toolboxFingerprint(toolbox));
    fs.writeFileSync(path.join(shared, 'defs.ts'), 'export const x = 12345;\n');
    seen.add(toolboxFingerprint(toolbox));
    fs.rmSync(path.join(toolbox, 'workflows', 'b'), { recursive: true });
    seen.add(toolboxFingerprint(toolbox));
    assert.equal(seen.size, 5);
  });

  it('ignores dot folders and node_modules, and survives a link cycle', () => {
    const before = toolboxFingerprint(toolbox);
    fs.mkdirSync(path.join(toolbox, '.git'));
    fs.writeFileSync(path.join(toolbox, '.git', 'HEAD'), 'x');
    fs.mkdirSync(path.join(toolbox, 'node_modules'));
    fs.writeFileSync(path.join(toolbox, 'node_modules', 'x.js'), 'x');
    fs.symlinkSync(toolbox, path.join(toolbox, 'workflows', 'loop'));
    assert.equal(toolboxFingerprint(toolbox), before);
  });
});

describe('ChangeDebouncer', () => {
  it('fires once, after the fingerprint has been still for the quiet time', () => {
    const d = new ChangeDebouncer('v1', 500);
    assert.equal(d.observe('v1', 0), false, 'no change');
    assert.equal(d.observe('v2', 100), false, 'a change starts the quiet time');
    assert.equal(d.observe('v3', 400), false, 'another write restarts it');
    assert.equal(d.observe('v3', 800), false, 'only 400 ms still');
    assert.equal(d.observe('v3', 900), true, '500 ms still: reload');
    assert.equal(d.observe('v3', 2000), false, 'once');
  });

  it('forgets a change that was undone before it settled', () => {
    const d = new ChangeDebouncer('v1', 500);
    assert.equal(d.observe('v2', 0), false);
    assert.equal(d.observe('v1', 200), false);
    assert.equal(d.observe('v1', 5000), false);
    assert.equal(d.observe('v2', 6000), false, 'the same change again waits its quiet time afresh');
    assert.equal(d.observe('v2', 6500), true);
  });
});

describe('reload decision', () => {
  const broken: ToolboxProblem = {
    file: '/t/workflows/bad/metadata.yaml',
    field: '/version',
    message: 'must be string',
  };
  const old = [broken];

  it('blocks on a problem in a file that had none, not on one that was already broken', () => {
    const edit = { file: '/t/workflows/scan/workflow.ts', message: 'line 3: Expected ";" but found "x"' };
    assert.deepEqual(newProblems(old, [...old, edit]), [edit]);
    assert.deepEqual(newProblems(old, [{ ...broken, message: 'changed' }]), []);
    assert.deepEqual(newProblems(old, []), []);
  });

  it('names every file and line of a rejected reload', () => {
    assert.equal(
      formatRejectedReload([
        { file: '/t/workflows/scan/workflow.ts', message: 'line 3: Expected ";" but found "x"' },
        { file: '/t/workflows/b/metadata.yaml', field: '/description', message: 'is required' },
      ]),
      'toolbox reload failed; still serving the previous version: /t/workflows/scan/workflow.ts: line 3: ' +
        'Expected ";" but found "x"; /t/workflows/b/metadata.yaml: /description is required',
    );
  });
});

describe('toolbox watch settings', () => {
  it('is on under the embedded supervisor, off elsewhere, and FUZZFORGE_TOOLBOX_WATCH decides', () => {
    assert.equal(toolboxWatchFromEnv({ FUZZFORGE_SUPERVISED: '1' }).enabled, true);
    assert.equal(toolboxWatchFromEnv({}).enabled, false);
    assert.equal(toolboxWatchFromEnv({ FUZZFORGE_SUPERVISED: '1', FUZZFORGE_TOOLBOX_WATCH: '0' }).enabled, false);
    assert.equal(toolboxWatchFromEnv({ FUZZFORGE_TOOLBOX_WATCH: '1' }).enabled, true);
    assert.equal(toolboxWatchFromEnv({}).graceSeconds, 600);
    assert.equal(toolboxWatchFromEnv({ FUZZFORGE_TOOLBOX_RELOAD_GRACE_SECONDS: '30' }).graceSeconds, 30);
    assert.throws(() => toolboxWatchFromEnv({ FUZZFORGE_TOOLBOX_WATCH: 'yes' }), /FUZZFORGE_TOOLBOX_WATCH=yes/);
    assert.throws(
      () => toolboxWatchFromEnv({ FUZZFORGE_TOOLBOX_RELOAD_GRACE_SECONDS: '-1' }),
      /FUZZFORGE_TOOLBOX_RELOAD_GRACE_SECONDS=-1/,
    );
  });

  it('status shows the version, and a failed reload with its problems (control characters escaped)', () => {
    assert.deepEqual(toolboxStatusLines(undefined), []);
    assert.deepEqual(
      toolboxStatusLines({
        version: 2,
        loadedAt: '2026-01-01T00:00:00.000Z',
        workflows: ['a'],
        watching: true,
        failedReload: { at: '2026-01-01T00:01:00.000Z', problems: ['/t/w.ts: line 3: bad\u001b[31m'] },
      }),
      [
        'toolbox: version 2 loaded 2026-01-01T00:00:00.000Z, reloaded on edits',
        'toolbox reload FAILED at 2026-01-01T00:01:00.000Z; still serving version 2:',
        '  /t/w.ts: line 3: bad\\u001b[31m',
      ],
    );
  });
});
