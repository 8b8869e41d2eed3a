// The e2e machinery itself, on a throwaway extension: install a .vsix into a real VS Code (code-server
// in headless Chromium), run its command from the palette by title, see its notification, read the
// diagnostic it publishes from the Problems panel, and take screenshots under test-output/e2e/.
// Skips only when test/e2e/setup.sh has not been run.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { missingSetup, startVSCode, type VSCode } from './vscode';

const projectRoot = path.resolve(__dirname, '..', '..');
const outputDir = path.join(projectRoot, 'test-output', 'e2e');
const skip = missingSetup();

const PROBE_MESSAGE = 'Hello from the e2e probe';
const PROBE_FINDING = 'e2e probe finding';

/** A tiny extension, packaged with the project's own vsce: one command, one notification, one diagnostic. */
function buildProbeVsix(dir: string): string {
  const ext = path.join(dir, 'probe-extension');
  fs.mkdirSync(ext, { recursive: true });
  fs.writeFileSync(
    path.join(ext, 'package.json'),
    JSON.stringify(
      {
        name: 'e2e-probe',
        displayName: 'E2E Probe',
        description: 'Throwaway extension for the e2e harness test',
        version: '0.0.1',
        publisher: 'fuzzforge-test',
        license: 'MIT',
        engines: { vscode: '^1.90.0' },
        main: './extension.js',
        activationEvents: ['onCommand:e2eProbe.hello'],
        contributes: { commands: [{ command: 'e2eProbe.hello', title: 'Hello', category: 'E2E Probe' }] },
      },
      null,
      2,
    ),
  );
  fs.writeFileSync(
    path.join(ext, 'extension.js'),
    `const vscode = require('vscode');
exports.activate = (context) => {
  const diagnostics = vscode.languages.createDiagnosticCollection('e2eProbe');
  context.subscriptions.push(
    diagnostics,
    vscode.commands.registerCommand('e2eProbe.hello', async () => {
      const folder = vscode.workspace.workspaceFolders && vscode.workspace.workspaceFolders[0];
      if (folder) {
        const d = new vscode.Diagnostic(new vscode.Range(1, 4, 1, 9), ${JSON.stringify(PROBE_FINDING)}, vscode.DiagnosticSeverity.Warning);
        d.source = 'e2e-probe';
        diagnostics.set(vscode.Uri.joinPath(folder.uri, 'sample.py'), [d]);
      }
      void vscode.window.showInformationMessage(${JSON.stringify(PROBE_MESSAGE)});
    }),
  );
};
exports.deactivate = () => {};
`,
  );
  fs.writeFileSync(
    path.join(ext, 'README.md'),
    '# E2E Probe\n\nThrowaway extension built by test/e2e/probe.test.ts.\n',
  );
  fs.writeFileSync(path.join(ext, 'LICENSE'), 'MIT\n');
  const vsix = path.join(dir, 'e2e-probe-0.0.1.vsix');
  execFileSync(
    path.join(projectRoot, 'node_modules', '.bin', 'vsce'),
    ['package', '--no-dependencies', '--allow-missing-repository', '--skip-license', '-o', vsix],
    { cwd: ext, stdio: 'pipe', timeout: 60_000 },
  );
  return vsix;
}

describe('e2e harness: a real VS Code (code-server + headless Chromium)', () => {
  let tmp: string | undefined;
  let vsc: VSCode | undefined;

  before(async () => {
    if (skip) {
      return;
    }
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-e2e-probe-'));
    const vsix = buildProbeVsix(tmp);
    const workspace = path.join(tmp, 'workspace');
    fs.mkdirSync(workspace);
    fs.writeFileSync(path.join(workspace, 'sample.py'), 'import os\nres = os.system(input())\nprint(res)\n');
    vsc = await startVSCode({ workspace, extensions: [vsix], outputDir, name: 'probe' });
  });

  after(async () => {
    await vsc?.stop();
    if (tmp) {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('opens the workspace in the workbench', { skip }, async () => {
    assert.ok(vsc);
    await vsc.page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ timeout: 30_000 });
    const rows = await vsc.page.locator('.explorer-folders-view .monaco-list-row').allInnerTexts();
    assert.ok(
      rows.some((r) => r.includes('sample.py')),
      `explorer rows: ${JSON.stringify(rows)}`,
    );
    await vsc.screenshot('probe-1-workbench');
  });

  it('runs the extension command from the palette by its title and shows its notification', { skip }, async () => {
    assert.ok(vsc);
    await vsc.runCommand('E2E Probe: Hello');
    const text = await vsc.waitForNotification(PROBE_MESSAGE, { timeoutMs: 30_000 });
    assert.equal(text, PROBE_MESSAGE);
    await vsc.screenshot('probe-2-notification');
  });

  it('reads the Problems panel', { skip }, async () => {
    assert.ok(vsc);
    await vsc.openFile('sample.py');
    const problems = await vsc.problems();
    await vsc.screenshot('probe-3-problems');
    const finding = problems.find((p) => p.message === PROBE_FINDING);
    assert.ok(finding, `problems: ${JSON.stringify(problems)}`);
    assert.equal(finding.severity, 'warning');
    assert.equal(finding.line, 2);
    assert.equal(finding.column, 5);
    assert.equal(finding.file, 'sample.py');
  });
});
