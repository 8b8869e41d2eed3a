// `npm run test:vscode`: the extension-host suite (test/vscode/suite) in VS Code desktop through
// @vscode/test-electron, against a real test backend, on a copy of test/fixtures/vulnerable-app.
//
// VS Code desktop comes from FUZZFORGE_VSCODE_EXECUTABLE (a local `code` binary), else from
// @vscode/test-electron's download (cached in .vscode-test/; FUZZFORGE_VSCODE_VERSION, default
// stable). Where neither works (no internet, no local VS Code) it stops with exit code 2 and says
// what is missing; the same suite still runs in code-server in the e2e tests
// (test/e2e/vscode-suite.test.ts). Exit code 1: a test failed.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { downloadAndUnzipVSCode, runTests } from '@vscode/test-electron';
import { copyFixture, startTestBackend, type TestBackend } from '../integration/harness';
import type { TestResult } from './suite/harness';
import { isExecutable } from '../../backend/services/binaries';

const projectRoot = path.resolve(__dirname, '..', '..');
const suite = path.join(projectRoot, 'out', 'vscode-suite', 'index.js');

class CannotRun extends Error {}

/** The VS Code desktop executable to test in, or CannotRun naming what is missing. */
async function vscodeExecutable(): Promise<string> {
  const given = process.env.FUZZFORGE_VSCODE_EXECUTABLE;
  if (given) {
    if (!isExecutable(given)) {
      throw new CannotRun(
        `FUZZFORGE_VSCODE_EXECUTABLE=${given} is not an executable file: point it at the \`code\` binary of a VS Code desktop install (on Linux e.g. /usr/share/code/code, the Electron binary, not the bin/code shell script)`,
      );
    }
    return given;
  }
  const version = process.env.FUZZFORGE_VSCODE_VERSION || 'stable';
  try {
    return await downloadAndUnzipVSCode({
      version,
      cachePath: path.join(projectRoot, '.vscode-test'),
      timeout: 30_000,
    });
  } catch (err) {
    throw new CannotRun(
      [
        `VS Code desktop (${version}) is not available here: @vscode/test-electron could not download it: ${(err as Error).message}`,
        'Missing: a VS Code desktop build. Either set FUZZFORGE_VSCODE_EXECUTABLE to a local VS Code executable,',
        'or run where update.code.visualstudio.com is reachable (the download is cached in .vscode-test/).',
        'The same suite runs in code-server with `npm run test:e2e` (test/e2e/vscode-suite.test.ts).',
      ].join('\n'),
      { cause: err },
    );
  }
}

async function main(): Promise<number> {
  if (!fs.existsSync(suite) || !fs.existsSync(path.join(projectRoot, 'dist', 'extension.js'))) {
    throw new CannotRun(`${suite} or dist/extension.js missing: run node esbuild.js && node esbuild.js --vscode-suite`);
  }
  const executable = await vscodeExecutable();
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
    console.warn('no DISPLAY: VS Code desktop needs one on Linux; run under xvfb-run if it does not start');
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-vscode-'));
  let backend: TestBackend | undefined;
  try {
    backend = await startTestBackend({ verticals: ['generic', 'python', 'cpp'] });
    const workspace = copyFixture('vulnerable-app', path.join(tmp, 'workspace'));
    const userData = path.join(tmp, 'user-data');
    fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
    fs.writeFileSync(
      path.join(userData, 'User', 'settings.json'),
      JSON.stringify({
        'fuzzforge.backend.mode': 'embedded',
        'security.workspace.trust.enabled': false,
        'telemetry.telemetryLevel': 'off',
        'update.mode': 'none',
      }),
    );
    const results = path.join(tmp, 'results.json');
    const code = await runTests({
      vscodeExecutablePath: executable,
      extensionDevelopmentPath: projectRoot,
      extensionTestsPath: suite,
      launchArgs: [
        workspace,
        '--disable-extensions',
        '--disable-workspace-trust',
        '--skip-welcome',
        '--skip-release-notes',
        '--user-data-dir',
        userData,
        '--extensions-dir',
        path.join(tmp, 'extensions'),
      ],
      extensionTestsEnv: {
        FUZZFORGE_STATE_DIR: backend.stateDir,
        FUZZFORGE_TOOLBOX: backend.env.FUZZFORGE_TOOLBOX,
        FUZZFORGE_WORKER_CACHE: process.env.FUZZFORGE_WORKER_CACHE,
        FUZZFORGE_VSCODE_TEST_RESULTS: results,
      },
    }).catch((err: unknown) => {
      console.error(`VS Code exited with an error: ${(err as Error).message ?? String(err)}`);
      return 1;
    });
    if (fs.existsSync(results)) {
      const report = JSON.parse(fs.readFileSync(results, 'utf8')) as { results: TestResult[] };
      const failed = report.results.filter((r) => !r.ok).length;
      console.log(`${report.results.length - failed} passed, ${failed} failed (VS Code exit code ${code})`);
    }
    return code === 0 ? 0 : 1;
  } finally {
    await backend?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof CannotRun) {
      console.error(`test:vscode cannot run: ${err.message}`);
      process.exit(2);
    }
    console.error(err);
    process.exit(1);
  },
);
