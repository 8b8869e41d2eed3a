// Process identity, the supervisor lock, the rotating supervisor log and the clean-up of what
// killed workers leave behind: plain Node, real processes (sleep) started and ended by pid here.
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { sleep } from '../../backend/concurrency';
import { killTaggedProcesses, removeWorkerLeftovers, sweepWorkerLeftovers } from '../../backend/services/leftovers';
import {
  acquireLock,
  appendLogLine,
  type BackendState,
  isPidAlive,
  isSameProcess,
  lockHolder,
  ownsPid,
  processToken,
  recordProcessTokens,
  releaseLock,
} from '../../backend/services/state';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-processes-'));
const started: ChildProcess[] = [];
after(() => {
  for (const child of started) {
    child.kill('SIGKILL');
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

function startSleep(env: NodeJS.ProcessEnv = process.env): ChildProcess {
  const child = spawn('sleep', ['300'], { stdio: 'ignore', env });
  started.push(child);
  return child;
}

/** A pid no process has now (spawned and reaped). */
async function deadPid(): Promise<number> {
  const child = spawn('true', { stdio: 'ignore' });
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid as number;
}

function fakeState(pid: number, token: string | undefined): BackendState {
  return {
    version: 1,
    mode: 'embedded',
    status: 'ready',
    supervisorPid: pid,
    startedAt: new Date().toISOString(),
    stateDir: tmp,
    logsDir: tmp,
    temporal: { address: '127.0.0.1:1', namespace: 'default', uiUrl: 'http://127.0.0.1:2', pid },
    storage: { endpoint: 'http://127.0.0.1:3', consoleUrl: 'http://127.0.0.1:4', pid },
    workers: [],
    retention: { targetsDays: 7, resultsDays: 30 },
    ...(token ? { processes: { [pid]: token } } : {}),
  };
}

describe('process identity', () => {
  it('tells a recorded process from another one that has its pid now', () => {
    const child = startSleep();
    const pid = child.pid as number;
    const token = processToken(pid);
    assert.ok(token, 'Linux gives every process a boot id and start time');
    assert.match(token, /^[0-9a-f-]{36}\/\d+$/);
    assert.equal(isSameProcess(pid, token), true);
    // The same pid recorded with another start time: a reused pid, not ours.
    const [boot, start] = token.split('/');
    assert.equal(isSameProcess(pid, `${boot}/${Number(start) + 1}`), false);
    assert.equal(isSameProcess(pid, `00000000-0000-0000-0000-000000000000/${start}`), false, 'another boot');
  });

  it('does not own the pids of a state file whose processes are other processes now', () => {
    const child = startSleep();
    const pid = child.pid as number;
    const token = processToken(pid) as string;
    const stale = fakeState(pid, `${token.split('/')[0]}/1`);
    assert.equal(ownsPid(stale, pid), false);
    const fresh = fakeState(pid, undefined);
    recordProcessTokens(fresh);
    assert.deepEqual(fresh.processes, { [pid]: token });
    assert.equal(ownsPid(fresh, pid), true);
  });

  it('does not count a pid of another user (EPERM) as alive', { skip: process.getuid?.() === 0 }, () => {
    assert.equal(isPidAlive(1), false);
  });
});

describe('supervisor lock', () => {
  it('takes over a lock whose pid now belongs to another process', () => {
    const child = startSleep();
    const pid = child.pid as number;
    const token = processToken(pid) as string;
    const file = path.join(tmp, 'reused.lock');
    fs.writeFileSync(file, `${pid} ${token.split('/')[0]}/1`);
    assert.equal(lockHolder(file), undefined);
    assert.equal(acquireLock(file), true);
    assert.equal(lockHolder(file), process.pid);
    releaseLock(file);
    assert.equal(fs.existsSync(file), false);
  });

  it('keeps a lock whose holder is still the recorded process', () => {
    const child = startSleep();
    const pid = child.pid as number;
    const file = path.join(tmp, 'held.lock');
    fs.writeFileSync(file, `${pid} ${processToken(pid)}`);
    assert.equal(acquireLock(file), false);
    assert.equal(lockHolder(file), pid);
  });

  it('gives a stale lock to exactly one of many processes taking it over at once', async () => {
    for (let round = 0; round < 6; round++) {
      const file = path.join(tmp, `race-${round}.lock`);
      const go = path.join(tmp, `go-${round}`);
      const done = path.join(tmp, `done-${round}`);
      fs.writeFileSync(file, String(await deadPid()));
      const stateModule = path.join(__dirname, '..', '..', 'backend', 'services', 'state.ts');
      // Each racer says it is ready, spins until the go file appears, tries once, reports, and holds
      // what it got until the test has every answer (a late racer would see a dead winner).
      const code = `
        const fs = require('node:fs');
        const { acquireLock } = require(${JSON.stringify(stateModule)});
        process.stdout.write('ready;');
        while (!fs.existsSync(${JSON.stringify(go)})) {}
        process.stdout.write(acquireLock(${JSON.stringify(file)}) ? 'won;' : 'lost;');
        const wait = setInterval(() => fs.existsSync(${JSON.stringify(done)}) && clearInterval(wait), 50);
      `;
      const outputs: string[] = [];
      const racers = Array.from({ length: 12 }, (_, i) => {
        const child = spawn(process.execPath, ['--import', 'tsx', '-e', code], {
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        started.push(child);
        outputs[i] = '';
        child.stdout.on('data', (d: Buffer) => (outputs[i] += d.toString()));
        return new Promise<void>((resolve) => child.once('close', () => resolve()));
      });
      const until = async (check: () => boolean) => {
        while (!check()) {
          await sleep(50);
        }
      };
      await until(() => outputs.every((o) => o.includes('ready;')));
      fs.writeFileSync(go, '');
      await until(() => outputs.every((o) => /won;|lost;/.test(o)));
      fs.writeFileSync(done, '');
      await Promise.all(racers);
      const winners = outputs.filter((o) => o.includes('won;')).length;
      assert.equal(winners, 1, `round ${round}: ${outputs.join(' ')}`);
    }
  });
});

describe('supervisor log', () => {
  it('stays below its size with one previous file beside it', () => {
    const file = path.join(tmp, 'supervisor.log');
    for (let i = 0; i < 500; i++) {
      appendLogLine(file, `line ${i} ${'x'.repeat(40)}`, 2000);
    }
    assert.ok(fs.statSync(file).size <= 2000, `${fs.statSync(file).size} bytes`);
    assert.ok(fs.statSync(`${file}.1`).size <= 2000);
    assert.deepEqual(
      fs.readdirSync(tmp).filter((n) => n.startsWith('supervisor.log')),
      ['supervisor.log', 'supervisor.log.1'],
    );
    assert.match(fs.readFileSync(file, 'utf8'), /line 499 x+\n$/);
  });
});

describe('leftovers of killed workers', () => {
  it('ends the tool processes that carry a dead worker launch tag, and only those', async () => {
    const tag = `ff-test-${process.pid}`;
    const tool = startSleep({ ...process.env, FUZZFORGE_WORKER_TAG: `${tag}.generic.1` });
    const other = startSleep({ ...process.env, FUZZFORGE_WORKER_TAG: `${tag}.generic.11` });
    await sleep(100); // exec done: the environment is the tool's own.
    assert.deepEqual(killTaggedProcesses(`${tag}.generic.1`, true), [tool.pid]);
    await new Promise((resolve) =>
      tool.exitCode === null && tool.signalCode === null ? tool.once('exit', resolve) : resolve(undefined),
    );
    assert.equal(isPidAlive(tool.pid), false);
    assert.equal(isPidAlive(other.pid), true);
  });

  it("removes a dead worker's private cache and its staging folders, not a live worker's", async () => {
    const root = path.join(tmp, 'worker-cache');
    const dead = await deadPid();
    const live = startSleep().pid as number;
    for (const dir of [`generic-${dead}`, `generic-${live}`, 'generic/trees/abc.tmp-0a1b2c3d', 'generic/trees/abc']) {
      fs.mkdirSync(path.join(root, dir), { recursive: true });
    }
    fs.writeFileSync(path.join(root, 'generic', 'blobs.keep'), '');
    fs.mkdirSync(path.join(root, 'generic', 'blobs'), { recursive: true });
    fs.writeFileSync(path.join(root, 'generic', 'blobs', 'def.tmp-00ff'), 'partial');
    fs.writeFileSync(path.join(root, 'generic', '.owner'), String(dead));
    removeWorkerLeftovers(root, 'generic', dead);
    assert.deepEqual(fs.readdirSync(root).sort(), ['generic', `generic-${live}`].sort());
    assert.deepEqual(fs.readdirSync(path.join(root, 'generic', 'trees')), ['abc']);
    assert.deepEqual(fs.readdirSync(path.join(root, 'generic', 'blobs')), []);

    // At start-up the supervisor sweeps the same for every worker that is gone.
    const dead2 = await deadPid();
    fs.mkdirSync(path.join(root, `python-${dead2}`, 'trees'), { recursive: true });
    sweepWorkerLeftovers(root);
    assert.deepEqual(fs.readdirSync(root).sort(), ['generic', `generic-${live}`].sort());
  });
});
