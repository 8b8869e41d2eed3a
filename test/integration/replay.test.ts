// Replaying a crash is bounded and cancellable: a harness that hangs is killed with the helpers it
// started when the timeout passes or on Ctrl-C, and the private workspace copy is removed in every
// case. Real MinIO holds the crash input; the harness is a Python file (no atheris needed to
// compile it or to run it on one input).
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sleep } from '../../backend/concurrency';
import { distEntry } from '../../backend/paths';
import { replayCrash } from '../../backend/fuzzing';
import { isPidAlive } from '../../backend/services/state';
import { ObjectStore } from '../../backend/storage/objectStore';
import type { CrashRecord } from '../../toolbox/shared/fuzzing';
import { startTestBackend, type TestBackend } from './harness';

const HANG_HARNESS = `# An atheris-style harness (TestOneInput) that starts a helper and never returns on any input.
import os, subprocess, sys, time

def TestOneInput(data):
    helper = subprocess.Popen(['sleep', '300'])
    with open(os.environ['FF_TEST_PIDS'], 'w') as f:
        f.write(f'{os.getpid()} {helper.pid}')
    time.sleep(300)

if __name__ == '__main__':
    with open(sys.argv[1], 'rb') as f:
        TestOneInput(f.read())
`;

describe('crash replay', () => {
  let backend: TestBackend;
  let workspace: string;
  let tmpdir: string;
  let crash: CrashRecord;
  const runId = 'replay-test-run';
  const crashId = 'a1b2c3d4e5f60718';

  before(async () => {
    backend = await startTestBackend({ verticals: [], shareable: true });
    workspace = path.join(backend.root, 'ws');
    fs.mkdirSync(workspace);
    fs.writeFileSync(path.join(workspace, 'fuzz_hang.py'), HANG_HARNESS);
    // Replays copy the workspace under the temp folder: a private one, so leftovers are ours to see.
    tmpdir = path.join(backend.root, 'tmp');
    fs.mkdirSync(tmpdir);
    const prefix = `runs/${runId}/crashes/${crashId}/`;
    crash = {
      id: crashId,
      engine: 'atheris',
      harness: 'fuzz_hang',
      harnessFile: 'fuzz_hang.py',
      kind: 'timeout',
      summary: 'hangs',
      frames: [],
      hits: 1,
      firstSeen: new Date().toISOString(),
      lastSeen: new Date().toISOString(),
      inputKey: `${prefix}input`,
      inputBytes: 3,
      stackKey: `${prefix}stack.txt`,
      reproduce: 'python3 fuzz_hang.py crash',
    };
    const store = new ObjectStore(backend.conn);
    const bucket = backend.conn.buckets.results;
    await store.putBuffer(bucket, crash.inputKey, Buffer.from('abc'));
    await store.putBuffer(bucket, crash.stackKey, Buffer.from('hang\n'));
    await store.putJson(bucket, `${prefix}crash.json`, crash);
  });

  after(async () => {
    await backend?.stop();
  });

  const copies = () => fs.readdirSync(tmpdir).filter((n) => n.startsWith('fuzzforge-replay-'));

  async function helperPids(file: string): Promise<number[]> {
    while (!fs.existsSync(file) || fs.readFileSync(file, 'utf8').trim().split(' ').length < 2) {
      await sleep(100);
    }
    return fs.readFileSync(file, 'utf8').trim().split(' ').map(Number);
  }

  async function gone(pids: number[]): Promise<boolean> {
    for (let i = 0; i < 50 && pids.some((p) => isPidAlive(p)); i++) {
      await sleep(100);
    }
    return pids.every((p) => !isPidAlive(p));
  }

  // Bounded so that a replay without a timeout (the defect) fails here instead of hanging.
  it(
    'kills a hanging harness and its helpers at the timeout, and removes its workspace copy',
    { timeout: 90_000 },
    async () => {
      const pidFile = path.join(backend.root, 'pids-timeout');
      const saved = { TMPDIR: process.env.TMPDIR, FF_TEST_PIDS: process.env.FF_TEST_PIDS };
      process.env.TMPDIR = tmpdir;
      process.env.FF_TEST_PIDS = pidFile;
      let pids: number[] = [];
      try {
        const watcher = helperPids(pidFile).then((p) => (pids = p));
        const result = await replayCrash(backend.conn, crash, { workspace, timeoutMs: 3000 });
        await watcher;
        assert.equal(result.timedOut, true);
        assert.equal(result.reproduced, false);
      } finally {
        process.env.TMPDIR = saved.TMPDIR;
        process.env.FF_TEST_PIDS = saved.FF_TEST_PIDS;
      }
      assert.equal(pids.length, 2);
      assert.ok(await gone(pids), `harness or helper still running: ${pids.join(' ')}`);
      assert.deepEqual(copies(), []);
    },
  );

  it('on Ctrl-C ends the harness and its helpers, removes the copy and exits 130', { timeout: 90_000 }, async () => {
    const pidFile = path.join(backend.root, 'pids-sigint');
    const child = spawn(
      process.execPath,
      [distEntry('cli'), 'replay', runId, crashId, '--workspace', workspace, '--timeout', '600'],
      { env: { ...backend.env, TMPDIR: tmpdir, FF_TEST_PIDS: pidFile }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const closed = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    const pids = await helperPids(pidFile);
    assert.equal(copies().length, 1, 'the replay works in a copy while it runs');
    child.kill('SIGINT');
    const code = await closed;
    assert.equal(code, 130, stderr);
    assert.match(stderr, /replay cancelled/);
    assert.ok(await gone(pids), `harness or helper still running: ${pids.join(' ')}`);
    assert.deepEqual(copies(), []);
  });
});
