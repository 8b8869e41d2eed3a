// What crosses into nested installs and tool runs: no outer npm configuration, no credentials.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { cleanInstallEnv, pathWithoutNpmRunEntries, toolEnv } from '../../backend/environment';
import { projectRoot } from '../../backend/paths';
import { runTool } from '../../toolbox/modules/process';
import { asyncLocalStorage, Context, type Info } from '@temporalio/activity';
import { CancelledFailure, noopMetricMeter } from '@temporalio/common';

// What `npm run` (npm 11 on Node 20) exports, as read off this machine.
const outerNpm: NodeJS.ProcessEnv = {
  HOME: '/home/someone',
  HTTPS_PROXY: 'http://proxy.invalid:3128',
  PATH: [
    '/work/p/node_modules/.bin',
    '/work/node_modules/.bin',
    '/node_modules/.bin',
    '/usr/lib/node_modules/npm/node_modules/@npmcli/run-script/lib/node-gyp-bin',
    '/usr/local/go/bin',
    '/usr/bin',
  ].join(':'),
  npm_config_user_agent: 'npm/11.19.1 node/v20.20.2 linux x64 workspaces/false',
  npm_config_nodedir: '/usr',
  NPM_CONFIG_PREFIX: '/usr',
  npm_package_name: 'fuzzforge-vscode',
  npm_lifecycle_event: 'test',
  npm_execpath: '/usr/lib/node_modules/npm/bin/npm-cli.js',
  npm_node_execpath: '/usr/bin/node',
  NODE: '/usr/bin/node',
  COLOR: '0',
  INIT_CWD: '/work/p',
};

describe('cleanInstallEnv', () => {
  it('drops every variable an outer npm run exported and keeps the rest', () => {
    const env = cleanInstallEnv(outerNpm);
    assert.deepEqual(Object.keys(env).sort(), ['HOME', 'HTTPS_PROXY', 'PATH']);
    assert.equal(env.HOME, '/home/someone');
    assert.equal(env.HTTPS_PROXY, 'http://proxy.invalid:3128');
  });

  it("removes npm run's PATH entries and keeps the order of the others", () => {
    assert.equal(pathWithoutNpmRunEntries(outerNpm.PATH), '/usr/local/go/bin:/usr/bin');
    assert.equal(pathWithoutNpmRunEntries('/a::/b'), '/a:/b');
  });

  it('leaves the caller environment untouched', () => {
    const copy = { ...outerNpm };
    cleanInstallEnv(copy);
    assert.deepEqual(copy, outerNpm);
  });
});

describe('toolEnv', () => {
  it('holds neither the backend credentials nor its connection settings', () => {
    const env = toolEnv({
      ...outerNpm,
      FUZZFORGE_S3_ACCESS_KEY: 'ff-access',
      FUZZFORGE_S3_SECRET_KEY: 'very-secret',
      FUZZFORGE_S3_ENDPOINT: 'http://127.0.0.1:9000',
      FUZZFORGE_TEMPORAL_ADDRESS: '127.0.0.1:7233',
      FUZZFORGE_VERTICAL: 'python',
    });
    assert.deepEqual(Object.keys(env).sort(), ['FUZZFORGE_VERTICAL', 'HOME', 'HTTPS_PROXY', 'PATH']);
  });

  it('is what a tool run by an activity sees', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, {
      FUZZFORGE_S3_SECRET_KEY: 'very-secret-value',
      FUZZFORGE_S3_ACCESS_KEY: 'ff-access-value',
      npm_config_user_agent: 'npm/11 node/v20',
    });
    try {
      const run = await runTool('/usr/bin/env', [], { cwd: os.tmpdir(), timeoutMs: 10_000 });
      assert.equal(run.exitCode, 0);
      assert.doesNotMatch(run.stdout, /very-secret-value|ff-access-value|npm_config_user_agent/);
      assert.match(run.stdout, /^PATH=/m);
    } finally {
      for (const key of Object.keys(process.env)) {
        if (!(key in saved)) {
          delete process.env[key];
        }
      }
      Object.assign(process.env, saved);
    }
  });

  it('runs a tool at the lower priority asked for, and the threads it starts inherit it', async () => {
    // The shell waits before it reads its niceness and starts a child: both after the spawn.
    const script = 'sleep 0.3; echo "$(nice) $(sh -c nice)"';
    const niced = await runTool('/bin/sh', ['-c', script], { cwd: os.tmpdir(), timeoutMs: 10_000, niceness: 10 });
    const plain = await runTool('/bin/sh', ['-c', script], { cwd: os.tmpdir(), timeoutMs: 10_000 });
    const base = os.getPriority();
    const lower = Math.max(base, 10);
    assert.equal(plain.stdout.trim(), `${base} ${base}`);
    assert.equal(niced.stdout.trim(), `${lower} ${lower}`);
  });

  it('ends a tool as soon as its activity is cancelled, not at its next heartbeat', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-cancel-'));
    const marker = path.join(dir, 'still-running');
    const abort = new AbortController();
    // An activity context of its own, as the activity process makes for each activity.
    const context = new Context(
      { activityType: 'test', attempt: 1, isLocal: true } as Info,
      new Promise<never>(() => undefined),
      abort.signal,
      () => undefined,
      undefined,
      { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} },
      noopMetricMeter,
      {},
    );
    try {
      const running = asyncLocalStorage.run(context, () =>
        // Still there one second on (the heartbeat that used to notice the cancel came at two), it leaves a file.
        runTool('/bin/sh', ['-c', `sleep 1; touch ${JSON.stringify(marker)}; sleep 30`], {
          cwd: dir,
          timeoutMs: 60_000,
        }),
      );
      setTimeout(() => abort.abort(new CancelledFailure('superseded')), 100);
      await assert.rejects(running, /superseded/);
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(fs.existsSync(marker), false, 'the tool outlived the cancel');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('lowers the priority of the whole session of the tool where Linux groups CPU time by session', async (t) => {
    if (!fs.existsSync('/proc/self/autogroup')) {
      t.skip('this kernel has no autogroup: the nice value alone ranks the tool');
      return;
    }
    // A detached tool is its own session, hence its own autogroup: its nice value alone would only
    // rank it within that group, not against the editor or the next run.
    const script = 'sleep 0.3; cat /proc/self/autogroup';
    const niced = await runTool('/bin/sh', ['-c', script], { cwd: os.tmpdir(), timeoutMs: 10_000, niceness: 10 });
    const plain = await runTool('/bin/sh', ['-c', script], { cwd: os.tmpdir(), timeoutMs: 10_000 });
    assert.match(niced.stdout, /^\/autogroup-\d+ nice 10$/m);
    assert.match(plain.stdout, /^\/autogroup-\d+ nice 0$/m);
    // Each its own session's group, not the worker's.
    assert.notEqual(niced.stdout.trim().split(' ')[0], fs.readFileSync('/proc/self/autogroup', 'utf8').split(' ')[0]);
  });
});

describe('backend/scripts/clean-env.sh', () => {
  it('leaves the scripts an environment without the outer npm configuration', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-env-'));
    try {
      const out = execFileSync(
        'bash',
        ['-c', `source ${JSON.stringify(path.join(projectRoot(), 'backend/scripts/clean-env.sh'))}; env`],
        { env: { ...outerNpm, PATH: `${outerNpm.PATH}:/bin` }, cwd: dir, encoding: 'utf8' },
      );
      const names = out
        .split('\n')
        .filter(Boolean)
        .map((line) => line.slice(0, line.indexOf('=')));
      assert.deepEqual(
        names.filter((n) => /^npm_/i.test(n) || ['NODE', 'COLOR', 'INIT_CWD'].includes(n)),
        [],
      );
      assert.match(out, /^PATH=\/usr\/local\/go\/bin:\/usr\/bin:\/bin$/m);
      assert.match(out, /^HTTPS_PROXY=http:\/\/proxy\.invalid:3128$/m);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
