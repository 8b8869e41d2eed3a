// The .vsix on its own: unpacked outside the checkout (so nothing resolves from the project's
// node_modules), its dist/extension.js finds every package it requires, and its CLI starts the
// embedded backend the way the extension's Start Backend does (Temporal, MinIO, a worker per
// available vertical, each compiling the packaged toolbox) and scans the fixture with the exact
// known findings, then scans it again and finds every result unchanged (baseline matching with
// the packaged sarif-multitool). Needs a build (node esbuild.js --quiet) and the cached
// Temporal/MinIO binaries.
import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sarifMultitoolExecutable, sarifMultitoolPackage } from '../../backend/sarif/multitool';
import { findServiceBinary } from '../../backend/services/binaries';
import { readState } from '../../backend/services/state';
import { bareImports, buildExtensionVsix, type BuiltVsix } from '../../backend/scripts/package';

const projectRoot = path.resolve(__dirname, '..', '..');
const fixture = path.join(projectRoot, 'test', 'fixtures', 'vulnerable-app');
const skip =
  findServiceBinary('temporal') && findServiceBinary('minio')
    ? undefined
    : 'Temporal/MinIO binaries missing: run npm run setup';

interface Expected {
  ruleId: string;
  file: string;
  line: number;
}

describe('e2e: the packaged .vsix runs on its own', () => {
  let tmp = '';
  let built: BuiltVsix | undefined;
  let ext = '';
  let env: NodeJS.ProcessEnv = {};
  const cli = (args: string[], timeout = 300_000) =>
    spawnSync(process.execPath, [path.join(ext, 'dist', 'cli.js'), ...args], { env, encoding: 'utf8', timeout });

  before(() => {
    if (skip) {
      return;
    }
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-vsix-alone-'));
    built = buildExtensionVsix(tmp);
    console.log(
      `vsix: ${(built.bytes / 1e6).toFixed(1)} MB, ${built.files} files, ${built.packages} packages, ${built.target}`,
    );
    execFileSync('unzip', ['-q', built.vsix, '-d', path.join(tmp, 'unpacked')]);
    ext = path.join(tmp, 'unpacked', 'extension');
    env = {
      ...process.env,
      FUZZFORGE_STATE_DIR: path.join(tmp, 'state'),
      FUZZFORGE_WORKER_CACHE: path.join(tmp, 'wc'),
    };
    // The packaged toolbox, not the checkout's.
    delete env.FUZZFORGE_TOOLBOX;
  });

  after(() => {
    if (!tmp) {
      return;
    }
    if (ext) {
      cli(['down'], 60_000);
    }
    const state = readState(path.join(tmp, 'state'));
    if (state?.supervisorPid) {
      try {
        process.kill(state.supervisorPid, 'SIGKILL');
      } catch {
        // Already stopped by `down`.
      }
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('holds one platform build and nothing the code does not load', { skip }, () => {
    assert.ok(built);
    const listing = execFileSync('unzip', ['-Z1', built.vsix], { encoding: 'utf8', maxBuffer: 64 << 20 }).split('\n');
    const has = (prefix: string) => listing.some((f) => f.startsWith(`extension/${prefix}`));
    assert.ok(has('node_modules/esbuild/'), 'esbuild (workers compile the toolbox with it)');
    assert.ok(has('backend/toolbox/'), 'backend/ sources (toolbox modules import them)');
    assert.ok(has('media/fuzzforge.svg'), 'the views icon');
    // dockerode is shipped now (the compose backend's sources import it); the toolkit is bundled
    // into the webview script, and the build and packaging scripts are not run by the extension;
    // esbuild's command is not run either (its JS API runs the build in @esbuild/<platform>).
    for (const absent of [
      'node_modules/@vscode/webview-ui-toolkit/',
      'backend/scripts/',
      'node_modules/esbuild/bin/',
    ]) {
      assert.ok(!has(absent), `${absent} is not packaged`);
    }
    const releases = new Set(
      listing
        .map((f) => /^extension\/node_modules\/@temporalio\/core-bridge\/releases\/([^/]+)\//.exec(f)?.[1])
        .filter(Boolean),
    );
    assert.equal(releases.size, 1, `one core-bridge build: ${[...releases].join(', ')}`);
    assert.ok(!listing.some((f) => f.endsWith('.map')), 'no source maps');
    // Baseline matching runs the multitool's native build from the package's own node_modules.
    const multitool = `extension/node_modules/${sarifMultitoolPackage()}/${sarifMultitoolExecutable()}`;
    assert.ok(listing.includes(multitool), `${multitool} is packaged`);
    const tool = listing.filter((f) => f.startsWith(path.posix.dirname(multitool)));
    assert.ok(
      !tool.some((f) => /\.pdb$|\/(amd64|arm64|x86)\//.test(f)),
      `no debug symbols or Windows DLLs: ${tool.join(', ')}`,
    );
    const mode = execFileSync('unzip', ['-Z', built.vsix, multitool], { encoding: 'utf8' });
    assert.match(mode, /^-rwx/, `the multitool keeps its exec bit: ${mode}`);
  });

  it('resolves every package dist/extension.js, cli.js, worker.js and activityProcess.js require, from the package alone', { skip }, () => {
    for (const entry of ['extension', 'cli', 'worker', 'activityProcess']) {
      const file = path.join(ext, 'dist', `${entry}.js`);
      const req = createRequire(file);
      for (const name of bareImports(fs.readFileSync(file, 'utf8'))) {
        const resolved = req.resolve(name);
        assert.ok(resolved.startsWith(ext), `${entry}.js: ${name} resolves inside the package (${resolved})`);
      }
    }
  });

  it(
    'starts its own embedded backend and scans the fixture with the exact known findings',
    { skip, timeout: 600_000 },
    () => {
      const up = cli([
        'up',
        '--temporal-port',
        '0',
        '--temporal-ui-port',
        '0',
        '--minio-port',
        '0',
        '--minio-console-port',
        '0',
        '--json',
      ]);
      assert.equal(up.status, 0, `fuzzforge up failed:\n${up.stdout}\n${up.stderr}`);
      const scan = cli(['scan', fixture, '--workflow', 'security_assessment', '--json']);
      assert.equal(scan.status, 0, `scan failed:\n${scan.stderr}`);
      const result = JSON.parse(scan.stdout) as { findings: { ruleId: string; file: string; line: number }[] };
      const expected = JSON.parse(
        fs.readFileSync(path.join(projectRoot, 'test', 'fixtures', 'vulnerable-app.expected.json'), 'utf8'),
      ) as Expected[];
      const key = (e: Expected) => `${e.ruleId} ${e.file}:${e.line}`;
      assert.deepEqual(result.findings.map(key).sort(), expected.map(key).sort());
    },
  );

  it(
    'matches a second scan against the first with its own sarif-multitool: every result unchanged',
    { skip, timeout: 600_000 },
    () => {
      const scan = cli(['scan', fixture, '--workflow', 'security_assessment', '--json']);
      assert.equal(scan.status, 0, `second scan failed:\n${scan.stderr}`);
      assert.doesNotMatch(scan.stderr, /could not compare with baseline/);
      const result = JSON.parse(scan.stdout) as {
        summary: { baseline?: { runId: string; new: number; unchanged: number; error?: string } };
        findings: { ruleId: string; baselineState?: string }[];
      };
      const baseline = result.summary.baseline;
      assert.ok(baseline, 'the second scan has a baseline');
      assert.equal(baseline.error, undefined);
      assert.equal(baseline.new, 0);
      assert.equal(baseline.unchanged, result.findings.length);
      assert.ok(result.findings.length > 0);
      assert.deepEqual(
        result.findings.filter((f) => f.baselineState !== 'unchanged').map((f) => `${f.ruleId}: ${f.baselineState}`),
        [],
      );
    },
  );

  it(
    'runs every vertical it found a toolchain for: full_scan has no tool that did not run',
    { skip, timeout: 600_000 },
    () => {
      const scan = cli(['scan', fixture, '--workflow', 'full_scan', '--json']);
      assert.equal(scan.status, 0, `full_scan failed:\n${scan.stderr}`);
      const result = JSON.parse(scan.stdout) as { summary: { tools: { name: string; error?: string }[] } };
      const failed = result.summary.tools.filter((t) => t.error).map((t) => `${t.name}: ${t.error}`);
      assert.deepEqual(failed, []);
    },
  );
});
