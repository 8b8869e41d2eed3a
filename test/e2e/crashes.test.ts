// The crash workflow in a real VS Code (code-server + headless Chromium), with this checkout as a
// development extension against a real embedded backend with the python worker: an atheris
// campaign on a copy of test/fixtures/fuzz-python, started before VS Code opens (so the editor
// only knows it from the backend), finds its IndexError; the crash shows in the Crashes view
// (run -> harness -> crash); selecting it opens the detail panel with the stack's workspace frame;
// the panel's Replay reports that it reproduced; Copy Input Path and Save as Regression Input (into
// the run's seed_corpus, never over a file) work. Then the same workspace opened untrusted: the
// panel's Replay and Save are refused, saying why, and nothing is written. Needs a fresh build (node esbuild.js --quiet) and
// test/e2e/setup.sh. Screenshots and logs go to test-output/e2e/.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { toolboxDir } from '../../backend/paths';
import { findWorkflow, startScan } from '../../backend/scan';
import { copyFixture, startTestBackend, type TestBackend } from '../integration/harness';
import { missingSetup, startVSCode, waitForRows, type FrameLocator, type TreeRow, type VSCode } from './vscode';

const projectRoot = path.resolve(__dirname, '..', '..');
const outputDir = path.join(projectRoot, 'test-output', 'e2e');
const skip = missingSetup();

/**
 * Waits for a notification matching `text` in the notification center (it keeps every
 * notification, also those whose toast was already hidden); returns its text.
 */
async function waitForNotice(vsc: VSCode, text: RegExp, timeoutMs: number): Promise<string> {
  await vsc.runCommand('Notifications: Show Notifications');
  const end = Date.now() + timeoutMs;
  let shown: string[] = [];
  while (Date.now() < end) {
    const center = await vsc.page.locator('.notifications-center .notification-list-item-message').allInnerTexts();
    shown = [...center, ...(await vsc.notifications())].map((t) => t.trim());
    const hit = shown.find((t) => text.test(t));
    if (hit !== undefined) {
      return hit;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`no notification matching ${String(text)}; shown: ${JSON.stringify(shown)}`);
}

/** The line under the panel's buttons that says how its last action ended. */
async function actionResult(page: FrameLocator, action: string, timeoutMs: number): Promise<string> {
  const line = page.locator(`[data-part="action-result"][data-action="${action}"]`);
  await line.waitFor({ state: 'visible', timeout: timeoutMs });
  return line.innerText();
}

/** The page of the active webview panel (VS Code nests it: the webview's iframe, then its content). */
function activeWebview(vsc: VSCode): FrameLocator {
  return vsc.page.frameLocator('iframe.webview.ready').frameLocator('iframe#active-frame');
}

describe('e2e: crashes in the editor (Crashes view, detail panel, replay, trust)', () => {
  let tmp: string | undefined;
  let backend: TestBackend | undefined;
  let vsc: VSCode | undefined;
  let workspace = '';
  let runId = '';

  const open = (name: string, settings: Record<string, unknown> = {}, untrusted = false) =>
    startVSCode({
      workspace,
      untrusted,
      outputDir,
      name,
      development: { extensionPath: projectRoot },
      env: {
        FUZZFORGE_STATE_DIR: backend!.stateDir,
        FUZZFORGE_TOOLBOX: backend!.env.FUZZFORGE_TOOLBOX,
        FUZZFORGE_WORKER_CACHE: process.env.FUZZFORGE_WORKER_CACHE,
      },
      settings: { 'fuzzforge.backend.mode': 'embedded', ...settings },
    });

  /** Shows the Crashes view and waits for the fixture's crash row (level 3: run -> harness -> crash). */
  async function crashRow(v: VSCode): Promise<TreeRow> {
    await v.runCommand('FuzzForge: Show Crashes');
    const rows = await waitForRows(
      v,
      'Crashes',
      (r) => r.some((x) => x.level === 3 && /IndexError/.test(x.label)),
      180_000,
    );
    return rows.find((x) => x.level === 3 && /IndexError/.test(x.label))!;
  }

  before(async () => {
    if (skip) {
      return;
    }
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-e2e-crashes-'));
    backend = await startTestBackend({ verticals: ['python'] });
    workspace = copyFixture('fuzz-python', path.join(tmp, 'workspace'));
    // The campaign starts before VS Code: the editor knows it only from the backend.
    const wf = findWorkflow(toolboxDir(), 'atheris_fuzzing');
    runId = (
      await startScan(backend.conn, backend.runs, {
        path: workspace,
        workflow: wf,
        params: { max_total_time: 15, seed_corpus: 'seeds', minimize_time: 0 },
      })
    ).run.runId;
  });

  // Each test's VS Code stops after it, also when the test failed.
  afterEach(async () => {
    await vsc?.stop();
    vsc = undefined;
  });

  after(async () => {
    await vsc?.stop();
    await backend?.stop();
    if (tmp) {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it(
    "the campaign's crash shows in the Crashes view, its panel shows the stack, and Replay reproduces it",
    { skip, timeout: 600_000 },
    async () => {
      vsc = await open('crashes');
      const row = await crashRow(vsc);
      const rows = await vsc.viewRows('Crashes');
      assert.ok(
        rows.some((r) => r.level === 1 && r.label.includes(runId)),
        `run row: ${JSON.stringify(rows)}`,
      );
      assert.ok(
        rows.some((r) => r.level === 2 && r.label.includes('fuzz_parser')),
        'harness row',
      );
      // kind, top workspace frame, hits, input size
      assert.match(row.label, /^IndexError, parser\.py:34 \S+, \d+ hits?, input \d+(\.\d)? (B|KiB)$/);
      await vsc.screenshot('crashes-1-view');

      await vsc.clickViewRow('Crashes', /^IndexError/);
      const page = activeWebview(vsc);
      const frames = page.locator('[data-part="frames"]');
      await frames.waitFor({ state: 'visible', timeout: 60_000 });
      const stack = await frames.innerText();
      assert.match(stack, /parser\.py:34/);
      assert.equal(
        await page.locator('[data-part="frames"] a').first().isVisible(),
        true,
        'workspace frames are links',
      );
      assert.match(await page.locator('[data-part="reproduce"]').innerText(), /fuzz_parser\.py/);
      assert.match(await page.locator('[data-part="input-hex"]').innerText(), /^00000000 {2}[0-9a-f]{2}/);
      await vsc.screenshot('crashes-2-detail');

      await page.locator('vscode-button[data-action="replay"]').click();
      // The replay runs in a terminal (named after the crash) that ends with REPRODUCED; the panel
      // and a notification say it too.
      const said = await actionResult(page, 'replay', 240_000);
      await vsc.screenshot('crashes-3-replayed');
      assert.match(said, /^Reproduced: the harness failed on the input \(exit [1-9]\d*\)/);
      assert.match(await waitForNotice(vsc, /reproduces/, 30_000), /reproduces: IndexError/);

      // Copy Input Path gives the downloaded input; Save as Regression Input copies it into the
      // run's seed_corpus folder, and a second save leaves that file alone.
      await page.locator('vscode-button[data-action="copyInputPath"]').click();
      const copied = (await actionResult(page, 'copyInputPath', 30_000)).replace(/^Copied /, '');
      assert.match(copied, /\/crash-[0-9a-f]+$/);
      await page.locator('vscode-button[data-action="saveRegression"]').click();
      const saved = (await actionResult(page, 'saveRegression', 30_000)).replace(/^Saved as /, '');
      assert.equal(fs.realpathSync(path.dirname(saved)), fs.realpathSync(path.join(workspace, 'seeds')));
      assert.equal(path.basename(saved), path.basename(copied));
      assert.deepEqual(fs.readFileSync(saved), fs.readFileSync(copied));
      await page.locator('vscode-button[data-action="saveRegression"]').click();
      await page
        .locator('[data-part="action-result"][data-action="saveRegression"]:has-text("already exists")')
        .waitFor({ state: 'visible', timeout: 30_000 });

      // Clicking a frame link opens the workspace file at the crash line.
      await page.locator('[data-part="frames"] a:has-text("parser.py:34")').first().click();
      await vsc.page
        .locator('.tab.active:has-text("parser.py")')
        .first()
        .waitFor({ state: 'visible', timeout: 30_000 });
      await vsc.screenshot('crashes-4-frame-opened');

      // The harness's CodeLens counts the crash and offers a campaign.
      await vsc.openFile('fuzz_parser.py');
      await vsc.page
        .locator('.codelens-decoration:has-text("1 crash")')
        .first()
        .waitFor({ state: 'visible', timeout: 60_000 });
      await vsc.page
        .locator('.codelens-decoration:has-text("Fuzz this target")')
        .first()
        .waitFor({ state: 'visible', timeout: 10_000 });
      await vsc.screenshot('crashes-6-harness-lens');
    },
  );

  it("in an untrusted workspace the panel's Replay is refused, saying why", { skip, timeout: 600_000 }, async () => {
    assert.ok(runId, 'the first test ran the campaign');
    vsc = await open(
      'crashes-untrusted',
      {
        'security.workspace.trust.enabled': true,
        'security.workspace.trust.startupPrompt': 'never',
        'security.workspace.trust.untrustedFiles': 'open',
      },
      true,
    );
    await crashRow(vsc);
    await vsc.clickViewRow('Crashes', /^IndexError/);
    const page = activeWebview(vsc);
    await page.locator('[data-part="frames"]').waitFor({ state: 'visible', timeout: 60_000 });
    assert.match(await page.locator('p.error').first().innerText(), /not trusted/);
    const seedsBefore = fs.readdirSync(path.join(workspace, 'seeds')).sort();
    await page.locator('vscode-button[data-action="replay"]').click();
    assert.match(
      await actionResult(page, 'replay', 60_000),
      /^Replay is refused in an untrusted workspace: it builds and runs the workspace's code/,
    );
    assert.match(await waitForNotice(vsc, /Replay is refused in an untrusted workspace/, 30_000), /FuzzForge: Replay/);
    await page.locator('vscode-button[data-action="saveRegression"]').click();
    assert.match(
      await actionResult(page, 'saveRegression', 60_000),
      /^Saving a regression input is refused in an untrusted workspace/,
    );
    // Debug Crash too: it would build and run the harness.
    await page.locator('vscode-button[data-action="debug"]').click();
    assert.match(
      await waitForNotice(vsc, /does not run in an untrusted workspace/, 30_000),
      /builds and runs the harness/,
    );
    await vsc.screenshot('crashes-5-untrusted-refused');
    assert.deepEqual(
      fs.readdirSync(path.join(workspace, 'seeds')).sort(),
      seedsBefore,
      'nothing was written into the workspace',
    );
  });
});
