// The extension-host suite of test/vscode (the one `npm run test:vscode` gives to
// @vscode/test-electron where VS Code desktop exists) run inside the VS Code server of
// code-server: the extension is loaded from this checkout as a development extension and the
// suite's exit code comes back through the workbench. Needs a build (node esbuild.js --quiet) and
// test/e2e/setup.sh; the suite bundle is built here.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { copyFixture, startTestBackend, type TestBackend } from '../integration/harness';
import type { TestResult } from '../vscode/suite/harness';
import { missingSetup, startVSCode, type VSCode } from './vscode';

const projectRoot = path.resolve(__dirname, '..', '..');
const outputDir = path.join(projectRoot, 'test-output', 'e2e');
const skip = missingSetup();

describe('e2e: the extension-host test suite (test/vscode) in code-server', () => {
  let tmp: string | undefined;
  let backend: TestBackend | undefined;
  let vsc: VSCode | undefined;

  before(async () => {
    if (skip) {
      return;
    }
    execFileSync(process.execPath, [path.join(projectRoot, 'esbuild.js'), '--vscode-suite'], {
      cwd: projectRoot,
      stdio: 'pipe',
    });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-e2e-suite-'));
    // python too: the suite stops a python_sast run while its tools run; cpp for its fuzzing run.
    backend = await startTestBackend({ verticals: ['generic', 'python', 'cpp'] });
  });

  after(async () => {
    await vsc?.stop();
    await backend?.stop();
    if (tmp) {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('passes every test of the suite', { skip, timeout: 900_000 }, async () => {
    assert.ok(tmp && backend);
    const workspace = copyFixture('vulnerable-app', path.join(tmp, 'workspace'));
    const results = path.join(tmp, 'results.json');
    // The suite asks for screenshots (harness.ts screenshot()) by writing <name>.request here.
    const shots = path.join(tmp, 'shots');
    fs.mkdirSync(shots);
    vsc = await startVSCode({
      workspace,
      outputDir,
      name: 'vscode-suite',
      development: {
        extensionPath: projectRoot,
        testsPath: path.join(projectRoot, 'out', 'vscode-suite', 'index.js'),
      },
      env: {
        FUZZFORGE_STATE_DIR: backend.stateDir,
        FUZZFORGE_TOOLBOX: backend.env.FUZZFORGE_TOOLBOX,
        FUZZFORGE_WORKER_CACHE: process.env.FUZZFORGE_WORKER_CACHE,
        FUZZFORGE_VSCODE_TEST_RESULTS: results,
        FUZZFORGE_VSCODE_SCREENSHOTS: shots,
      },
      settings: { 'fuzzforge.backend.mode': 'embedded' },
    });
    const window = vsc;
    let shooting = Promise.resolve();
    const poll = setInterval(() => {
      shooting = shooting.then(async () => {
        for (const f of fs.readdirSync(shots).filter((n) => n.endsWith('.request'))) {
          const name = f.slice(0, -'.request'.length);
          fs.rmSync(path.join(shots, f));
          // The suite waits for <name>.png beside the request; the kept copy goes to the output folder.
          fs.copyFileSync(await window.screenshot(`vscode-suite-${name}`), path.join(shots, `${name}.png`));
        }
      });
    }, 500);
    const code = await vsc.waitForTestsExit({ timeoutMs: 840_000 }).finally(() => clearInterval(poll));
    await shooting;
    await vsc.screenshot('vscode-suite-done');
    assert.ok(fs.existsSync(results), `the suite wrote no results (exit code ${code})`);
    const report = JSON.parse(fs.readFileSync(results, 'utf8')) as { suite: string; results: TestResult[] };
    fs.copyFileSync(results, path.join(outputDir, 'vscode-suite-results.json'));
    for (const r of report.results) {
      console.log(`  ${r.ok ? '✔' : '✖'} [extension host] ${r.name} (${r.ms} ms)`);
      for (const n of r.notes ?? []) {
        console.log(`      ${n}`);
      }
    }
    const failed = report.results.filter((r) => !r.ok);
    assert.deepEqual(
      failed.map((r) => `${r.name}: ${r.error ?? ''}`),
      [],
    );
    // FUZZFORGE_VSCODE_TESTS (inherited by the extension host) picks tests by name.
    assert.ok(
      report.results.length >= (process.env.FUZZFORGE_VSCODE_TESTS ? 1 : 9),
      `${report.results.length} tests ran`,
    );
    assert.equal(code, 0);
  });
});
