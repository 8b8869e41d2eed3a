// The embedded backend's supervisor stays up all day: its bundle (dist/supervisor.js) must not pull
// in the Temporal or MinIO clients, the toolbox's metadata parsers, or any other package: the
// checks that need them run in a short-lived child (backend/services/supervisor.ts).
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { builtinModules } from 'node:module';
import { describe, it } from 'node:test';
import * as esbuild from 'esbuild';

describe('the supervisor bundle', () => {
  it('holds only our own backend code and needs only Node built-ins', async () => {
    const root = path.join(__dirname, '..', '..');
    const result = await esbuild.build({
      entryPoints: [path.join(root, 'backend', 'services', 'supervisorMain.ts')],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      write: false,
      metafile: true,
      logLevel: 'silent',
      absWorkingDir: root,
    });
    await esbuild.stop();
    const inputs = Object.keys(result.metafile.inputs);
    assert.deepEqual(
      inputs.filter((f) => f.includes('node_modules') || !f.startsWith('backend/')),
      [],
      'the supervisor bundles code beyond backend/',
    );
    const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
    const imports = Object.values(result.metafile.outputs).flatMap((o) => o.imports.map((i) => i.path));
    assert.deepEqual(
      imports.filter((i) => !builtins.has(i)),
      [],
      'the supervisor loads packages at run time',
    );
    assert.ok(inputs.includes('backend/services/supervisor.ts'));
  });
});
