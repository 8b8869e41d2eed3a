// The embedded backend's supervisor stays up all day: its bundle (dist/supervisor.js) must not pull
// in the Temporal or MinIO clients, the toolbox's metadata parsers, or any other package: the
// checks that need them run in a short-lived child (backend/services/supervisor.ts).
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { builtinModules } from 'node:module';
import { describe, it } from 'node:test';
import * as esbuild from 'esbuild';
import { dropProcessOnlyEnv, minioEnv, PROCESS_ONLY_ENV, serviceEnv } from '../../backend/services/supervisor';

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

describe('the backend processes malloc settings', () => {
  it('are defaults the user overrides, listed so the worker host can keep them from its tools', () => {
    const env = serviceEnv({ PATH: '/bin', MALLOC_ARENA_MAX: '4' });
    assert.equal(env.MALLOC_ARENA_MAX, '4');
    assert.equal(env.MALLOC_MMAP_THRESHOLD_, '65536');
    assert.equal(env.MALLOC_TRIM_THRESHOLD_, '1048576');
    assert.equal(env[PROCESS_ONLY_ENV], 'MALLOC_MMAP_THRESHOLD_,MALLOC_TRIM_THRESHOLD_');
    dropProcessOnlyEnv(env);
    // What the tools get: the user's own setting, none of ours.
    assert.deepEqual(env, { PATH: '/bin', MALLOC_ARENA_MAX: '4' });
  });

  it('drop nothing else, whatever the list names', () => {
    const env = { PATH: '/bin', [PROCESS_ONLY_ENV]: 'PATH,HOME', HOME: '/root' };
    dropProcessOnlyEnv(env);
    assert.deepEqual(env, { PATH: '/bin', HOME: '/root' });
  });
});

describe("MinIO's environment", () => {
  const credentials = { accessKey: 'user', secretKey: 'secret' };
  it('limits its memory to 240 MiB unless the user chose a limit', () => {
    const env = minioEnv(credentials, { PATH: '/bin' });
    assert.equal(env.MINIO_MEMLIMIT, '240MiB');
    assert.equal(env.MINIO_ROOT_USER, 'user');
    assert.equal(env.MINIO_ROOT_PASSWORD, 'secret');
    assert.equal(env.PATH, '/bin');
    assert.equal(minioEnv(credentials, { MINIO_MEMLIMIT: '1GiB' }).MINIO_MEMLIMIT, '1GiB');
    // Set but empty: MinIO would refuse it; the default applies.
    assert.equal(minioEnv(credentials, { MINIO_MEMLIMIT: '' }).MINIO_MEMLIMIT, '240MiB');
  });
});
