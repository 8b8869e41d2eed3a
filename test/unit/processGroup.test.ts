// The watchdog every fuzzer runs under: real processes (sh, sleep) started here and ended by pid.
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { spawnWatched } from '../../backend/processGroup';

/** Exit code, signal and stdout of a watched child, once its pipes have closed. */
function finished(
  child: ReturnType<typeof spawnWatched>,
): Promise<{ code: number | null; signal: string | null; out: string }> {
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  child.stderr.resume();
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, out }));
  });
}

describe('spawnWatched', () => {
  it(
    'reports the command’s end and exit code without waiting for the watcher’s next poll',
    { timeout: 60_000 },
    async () => {
      // A watcher polling once an hour: if it held the pipes, close would come an hour late and
      // the test would time out.
      const child = spawnWatched('sh', ['-c', 'echo "$0 $1"; exit 3', 'two words', '$HOME;'], {
        cwd: process.cwd(),
        env: process.env,
        pollSeconds: 3600,
      });
      const { code, signal, out } = await finished(child);
      assert.deepEqual({ code, signal, out }, { code: 3, signal: null, out: 'two words $HOME;\n' });
    },
  );

  it('ends the whole group when the watched process dies', { timeout: 60_000 }, async () => {
    const watched = spawn('sleep', ['300'], { stdio: 'ignore' });
    assert.ok(watched.pid);
    const child = spawnWatched('sleep', ['301'], {
      cwd: process.cwd(),
      env: process.env,
      watch: watched.pid,
      pollSeconds: 0.2,
    });
    const done = finished(child);
    watched.kill('SIGKILL');
    // close means every holder of the pipes, the `sleep 301` included, is gone.
    const { code, signal } = await done;
    assert.deepEqual({ code, signal }, { code: null, signal: 'SIGKILL' });
  });
});
