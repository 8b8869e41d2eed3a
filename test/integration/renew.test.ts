// The embedded worker host renews itself after work (workers/renew.ts): once it has worked, been
// quiet and grown past its idle size, it exits with WORKER_RENEW_EXIT_CODE, the supervisor starts a
// fresh host at once (not counted as a restart), and the next run is served by it. It does not
// renew while a toolbox edit is refused: a fresh host would load the broken folder.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sleep } from '../../backend/concurrency';
import { isPidAlive, readState, readToolboxStatus, WORKER_HOST_LOG } from '../../backend/services/state';
import {
  copyFixture,
  copyToolbox,
  runCli,
  startTestBackend,
  testEnv,
  waitForPollers,
  type TestBackend,
} from './harness';

describe('worker host renewal', () => {
  let backend: TestBackend;
  let root: string;
  let toolbox: string;
  let ws: string;
  const env = testEnv();
  before(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-renew-'));
    // A copy of the toolbox the test can break.
    toolbox = copyToolbox(root);
    // Renew on a quarter MiB of growth, after 5 s without work (the activity process ends after 2 s).
    env.set('FUZZFORGE_WORKER_RENEW_MIB', '0.25');
    env.set('FUZZFORGE_ACTIVITY_IDLE_SECONDS', '2');
    // And renew Temporal with it on a quarter MiB of growth over its size 30 s after it started.
    env.set('FUZZFORGE_TEMPORAL_RENEW_MIB', '0.25');
    backend = await startTestBackend({ toolbox });
    ws = copyFixture('vulnerable-app', path.join(root, 'app'));
  });
  after(async () => {
    await backend?.stop();
    env.restore();
    fs.rmSync(root, { recursive: true, force: true });
  });

  const scan = async () => {
    const cli = await runCli(
      ['scan', ws, '-w', 'security_assessment', '--json', '--no-baseline', '--fail-on', 'none'],
      backend.env,
    );
    assert.equal(cli.code, 0, cli.stderr);
    assert.ok((JSON.parse(cli.stdout) as { findings: unknown[] }).findings.length > 0, 'the scan found the fixture');
  };
  const hostPid = () => readState(backend.stateDir)?.workers[0]?.pid;
  const hostLogs = () =>
    [`${WORKER_HOST_LOG}.log`, `${WORKER_HOST_LOG}.log.1`]
      .map((f) => path.join(backend.stateDir, 'logs', f))
      .filter((f) => fs.existsSync(f))
      .map((f) => fs.readFileSync(f, 'utf8'))
      .join('\n');
  /** The pid of the host that replaced `previous`, once it runs (undefined after `timeoutMs`). */
  const renewedFrom = async (previous: number, timeoutMs = 60_000, until = () => false) => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && !until()) {
      const pid = hostPid();
      if (pid && pid !== previous && isPidAlive(pid)) {
        return pid;
      }
      await sleep(250);
    }
    return undefined;
  };
  const stays = () => hostLogs().match(/quiet after work, not renewing: .*/g) ?? [];
  /**
   * The pid of the host that replaced `previous` after it worked and went quiet. A bout of work
   * does not always leave the host bigger than its idle size (a collection may give back as much
   * as the work took), and then it says so and stays: work again, up to `rounds` times.
   */
  const renewedAfterWork = async (previous: number, rounds = 6) => {
    for (let round = 1; round <= rounds; round++) {
      const told = stays().length;
      const renewed = await renewedFrom(previous, 60_000, () => stays().length > told);
      if (renewed) {
        if (round > 1) {
          console.log(
            `renewed after ${round} bouts of work; before that:\n${stays()
              .slice(-(round - 1))
              .join('\n')}`,
          );
        }
        return renewed;
      }
      if (stays().length === told) {
        break;
      }
      await scan();
    }
    assert.fail(`no fresh host took over after ${rounds} quiet spells after work; host log:\n${hostLogs()}`);
  };

  const supervisorLog = () => fs.readFileSync(path.join(backend.stateDir, 'logs', 'supervisor.log'), 'utf8');

  it('renews a quiet host that grew, and Temporal with it; the fresh ones serve the next run', async () => {
    const first = hostPid();
    assert.ok(first);
    // Temporal's size is read 30 s after it started: only then can it be renewed.
    const deadline = Date.now() + 90_000;
    while (!/temporal settled at \d+ MiB/.test(supervisorLog())) {
      assert.ok(Date.now() < deadline, `Temporal's settled size was never read:\n${supervisorLog()}`);
      await sleep(500);
    }
    const temporal = readState(backend.stateDir)?.temporal.pid;
    assert.ok(temporal);
    await scan();
    assert.equal(hostPid(), first, 'no renewal while the run was open');
    const renewed = await renewedAfterWork(first);
    assert.equal(isPidAlive(first), false, 'the renewed host has exited');
    assert.equal(hostPid(), renewed, 'the fresh host is the one the state names');
    assert.equal(readState(backend.stateDir)?.workers[0]?.restarts, 0, 'a renewal is not counted as a crash');
    assert.match(hostLogs(), /renewing: the host holds \d+ MiB after work, \d+ MiB idle/);
    assert.match(supervisorLog(), /renewed itself/);
    assert.match(supervisorLog(), /temporal holds \d+ MiB, \d+ MiB once settled, and nothing is open: renewing it/);
    assert.equal(isPidAlive(temporal), false, 'the renewed Temporal has exited');
    const freshTemporal = readState(backend.stateDir)?.temporal.pid;
    assert.ok(freshTemporal !== undefined && freshTemporal !== temporal, 'a fresh Temporal runs');
    await waitForPollers(backend, 'generic');
    await scan();
  });

  it('keeps the serving version while a toolbox edit is refused, and renews once it is repaired', async () => {
    // Work on the current host first, so that it would renew.
    await waitForPollers(backend, 'generic');
    await scan();
    const host = hostPid();
    assert.ok(host);
    const file = path.join(toolbox, 'workflows', 'security_assessment', 'workflow.ts');
    const good = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, `${good}\nexport const broken = ;\n`);
    const deadline = Date.now() + 60_000;
    while (!readToolboxStatus(backend.stateDir)?.failedReload) {
      assert.ok(Date.now() < deadline, `the broken edit was not refused; host log:\n${hostLogs()}`);
      await sleep(200);
    }
    assert.equal(await renewedFrom(host, 15_000), undefined, 'no renewal while the edit is refused');
    await scan();
    fs.writeFileSync(file, good);
    // The reload that takes the repaired folder is work too.
    await renewedAfterWork(host);
    await waitForPollers(backend, 'generic');
    await scan();
  });
});
