// The worker host reuses its compiled toolbox activities between starts (workers/toolboxLoader.ts)
// only while nothing they were built from changed. Real esbuild, real files.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import * as esbuild from 'esbuild';
import { loadActivities, loaderStats } from '../../workers/toolboxLoader';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-activity-cache-'));
after(async () => {
  fs.rmSync(root, { recursive: true, force: true });
  await esbuild.stop();
});

const HOUR_AGO = new Date(Date.now() - 3600_000);

/** Write a file dated an hour ago (a build never keeps what changed just before it). */
function write(rel: string, text: string): void {
  const file = path.join(root, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  fs.utimesSync(file, HOUR_AGO, HOUR_AGO);
}

/** Load the toolbox's activities; what `hello` answers and whether esbuild ran. */
async function load(): Promise<{ answer: unknown; built: boolean }> {
  const before = loaderStats.activityBuilds;
  const problems: unknown[] = [];
  const activities = await loadActivities(root, problems as never[]);
  assert.deepEqual(problems, []);
  const hello = activities.hello as unknown as () => Promise<unknown>;
  return { answer: await hello(), built: loaderStats.activityBuilds > before };
}

describe('compiled activities cache', () => {
  it('reuses a clean build and rebuilds when an imported file, a folder or the module list changes', async () => {
    write('lib/value.ts', "export const VALUE = 'one';\n");
    write('lib/util/index.ts', "export const WHO = 'index';\n");
    write(
      'modules/greet.ts',
      "import { VALUE } from '../lib/value';\nimport { WHO } from '../lib/util';\n" +
        'export const activities = { hello: async () => `${VALUE} ${WHO}` };\n',
    );
    assert.deepEqual(await load(), { answer: 'one index', built: true });
    assert.deepEqual(await load(), { answer: 'one index', built: false });

    // Same size, same date: only the content tells.
    write('lib/value.ts', "export const VALUE = 'two';\n");
    assert.deepEqual(await load(), { answer: 'two index', built: true });
    assert.deepEqual(await load(), { answer: 'two index', built: false });

    // A file added beside an import that now resolves to it (x.ts before x/index.ts).
    write('lib/util.ts', "export const WHO = 'file';\n");
    assert.deepEqual(await load(), { answer: 'two file', built: true });

    // Another module: another list of modules.
    write('modules/other.ts', 'export const activities = { other: async () => 1 };\n');
    assert.deepEqual(await load(), { answer: 'two file', built: true });
    assert.deepEqual(await load(), { answer: 'two file', built: false });
  });

  it('does not keep a build of files changed just before it', async () => {
    write('modules/greet.ts', "export const activities = { hello: async () => 'fresh' };\n");
    const now = new Date();
    fs.utimesSync(path.join(root, 'modules/greet.ts'), now, now);
    assert.deepEqual(await load(), { answer: 'fresh', built: true });
    assert.deepEqual(await load(), { answer: 'fresh', built: true });
  });
});
