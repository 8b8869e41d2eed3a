// Fuzzing from the editor in a real VS Code (code-server + headless Chromium), the extension
// loaded from this checkout, against a real embedded backend with the python vertical:
// - a campaign that finished before VS Code started has its crash finding back in the Problems
//   panel without a new scan;
// - the harness of test/fixtures/fuzz-python gets a "Fuzz this target" CodeLens; clicking it
//   starts a campaign on the backend and opens the live statistics panel, whose counters grow;
// - Scan Workspace… sets a parameter through the form (checked as it is typed), the run gets it,
//   and the next palette scan offers it as the last values;
// - in an untrusted folder (workspace trust on), the lens and Start Fuzzing Campaign… refuse with
//   a message that says why, and no run reaches the backend.
// Needs a fresh build (node esbuild.js --quiet) and test/e2e/setup.sh. Screenshots and logs go to
// test-output/e2e/campaign-*.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { toolboxDir } from '../../backend/paths';
import { awaitScan, findWorkflow, startScan } from '../../backend/scan';
import { workspaceIdentity } from '../../backend/workspace';
import { copyFixture, startTestBackend, type TestBackend } from '../integration/harness';
import { missingSetup, startVSCode, type Locator, type VSCode } from './vscode';

const projectRoot = path.resolve(__dirname, '..', '..');
const outputDir = path.join(projectRoot, 'test-output', 'e2e');
const skip = missingSetup();
const HARNESS = 'fuzz_parser.py';

/** playwright's frameLocator (webviews live two iframes down); not in vscode.ts's Page subset. */
interface FrameLocator {
  frameLocator(selector: string): FrameLocator;
  locator(selector: string): Locator;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** "12.3k" / "~1.20M" / "57" as the stats page renders counts (webview/stats/chart.ts compact). */
function parseCompact(text: string): number {
  const m = /^~?([\d.]+)([kMG]?)$/.exec(text.trim());
  if (!m) {
    return NaN;
  }
  return Number(m[1]) * ({ '': 1, k: 1e3, M: 1e6, G: 1e9 }[m[2] as '' | 'k' | 'M' | 'G'] ?? 1);
}

/** The stats panel's harness row: [harness, elapsed, execs, ...], or undefined before the first sample. */
async function statsRow(vsc: VSCode): Promise<string[] | undefined> {
  const page = vsc.page as unknown as { frameLocator(selector: string): FrameLocator };
  const frame = page.frameLocator('iframe.webview.ready').frameLocator('iframe#active-frame');
  // The harness table only: the crashes table below it also has rows once a crash is found.
  const cells = frame.locator(
    'vscode-data-grid[aria-label^="Harness,"] vscode-data-grid-row:not([row-type="header"]) vscode-data-grid-cell',
  );
  const texts = await cells.allInnerTexts().catch(() => [] as string[]);
  return texts.length >= 3 ? texts.map((t) => t.trim()) : undefined;
}

/**
 * Notification texts matching `pattern`, from the toasts and the notification center (a refusal
 * in restricted mode may go straight to the center, behind the bell, without a toast).
 */
async function waitForMessages(vsc: VSCode, pattern: RegExp, count: number, timeoutMs = 30_000): Promise<string[]> {
  const end = Date.now() + timeoutMs;
  let found: string[] = [];
  while (Date.now() < end) {
    await vsc.runCommand('Notifications: Show Notifications');
    await sleep(500);
    const texts = await vsc.page.locator('.notification-list-item-message').allInnerTexts();
    found = [...new Set(texts.map((t) => t.trim()))].filter((t) => pattern.test(t));
    if (found.length >= count) {
      break;
    }
    await sleep(1000);
  }
  return found;
}

/** The lens above the harness's TestOneInput, once VS Code has rendered it. */
async function lens(vsc: VSCode, title: string, timeoutMs = 60_000): Promise<Locator> {
  const link = vsc.page.locator(`.codelens-decoration a:has-text("${title}")`).first();
  await link.waitFor({ state: 'visible', timeout: timeoutMs });
  return link;
}

describe('e2e: fuzzing campaigns from the editor (CodeLens, trust, restored findings)', () => {
  let tmp: string | undefined;
  let backend: TestBackend | undefined;
  let vsc: VSCode | undefined;
  let trusted = '';
  let earlierRunId = '';
  let lensRunId = '';

  const env = () => ({
    FUZZFORGE_STATE_DIR: backend!.stateDir,
    FUZZFORGE_TOOLBOX: backend!.env.FUZZFORGE_TOOLBOX,
    FUZZFORGE_WORKER_CACHE: process.env.FUZZFORGE_WORKER_CACHE,
  });

  before(async () => {
    if (skip) {
      return;
    }
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-e2e-campaign-'));
    backend = await startTestBackend({ verticals: ['python'] });
    trusted = copyFixture('fuzz-python', path.join(tmp, 'trusted'));
    // A short campaign that ends before VS Code starts: its crash is what comes back at start-up.
    const wf = findWorkflow(toolboxDir(), 'atheris_fuzzing');
    const { run } = await startScan(backend.conn, backend.runs, {
      path: trusted,
      workflow: wf,
      params: { max_total_time: 8, minimize_time: 1, seed_corpus: 'seeds' },
    });
    earlierRunId = run.runId;
    const { summary } = await awaitScan(backend.conn, backend.runs, run.runId);
    assert.ok(summary.total > 0, `the earlier campaign found the fixture's crash: ${JSON.stringify(summary)}`);
  });

  after(async () => {
    await vsc?.stop();
    await backend?.stop();
    if (tmp) {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it(
    'shows the findings of a run that finished before VS Code started, without a scan',
    { skip, timeout: 240_000 },
    async () => {
      vsc = await startVSCode({
        workspace: trusted,
        outputDir,
        name: 'campaign-trusted',
        development: { extensionPath: projectRoot },
        env: env(),
        settings: { 'fuzzforge.backend.mode': 'embedded', 'fuzzforge.fuzzing.campaignSeconds': 120 },
      });
      await vsc.openFile(HARNESS);
      const end = Date.now() + 90_000;
      let problems = await vsc.problems();
      while (!problems.some((p) => /IndexError/.test(p.message)) && Date.now() < end) {
        await sleep(1000);
        problems = await vsc.problems();
      }
      await vsc.screenshot('campaign-1-restored-findings');
      const crash = problems.find((p) => /IndexError/.test(p.message));
      assert.ok(crash, `a restored IndexError marker; Problems: ${JSON.stringify(problems)}`);
      assert.equal(crash.file, 'parser.py', crash.label);
      assert.doesNotMatch(crash.message, /\(new\)/, 'restored findings are not marked new');
      assert.match(crash.message, new RegExp(`crash [0-9a-f]+`), crash.message);
      // Only the earlier run exists: nothing was scanned to get it back.
      const runs = await backend!.runs.list({ workspaceId: workspaceIdentity(trusted).id, limit: 10 });
      assert.deepEqual(
        runs.map((r) => r.runId),
        [earlierRunId],
      );
    },
  );

  it(
    'starts a campaign from the harness CodeLens and the stats panel counters grow',
    { skip, timeout: 300_000 },
    async () => {
      assert.ok(vsc && backend);
      await vsc.openFile(HARNESS);
      const fuzz = await lens(vsc, 'Fuzz this target');
      await vsc.screenshot('campaign-2-codelens');
      await fuzz.click();
      // The run reaches the backend with the harness as its target and the setting's length.
      const identity = workspaceIdentity(trusted).id;
      const end = Date.now() + 120_000;
      while (!lensRunId && Date.now() < end) {
        const runs = await backend.runs.list({ workspaceId: identity, limit: 10 });
        lensRunId = runs.find((r) => r.runId !== earlierRunId)?.runId ?? '';
        await sleep(500);
      }
      assert.ok(lensRunId, 'the lens started a run');
      const info = await backend.runs.describe(lensRunId);
      assert.equal(info.workflow, 'atheris_fuzzing');
      assert.equal(info.memo?.params?.target, HARNESS);
      assert.equal(info.memo?.params?.max_total_time, 120);
      // The stats panel opened by itself and its counters grow.
      const tab = vsc.page.locator(`.tab:has-text("Fuzzing ${lensRunId}")`).first();
      await tab.waitFor({ state: 'visible', timeout: 60_000 });
      let first: string[] | undefined;
      const sampleEnd = Date.now() + 90_000;
      while (!first && Date.now() < sampleEnd) {
        first = await statsRow(vsc);
        await sleep(500);
      }
      assert.ok(first, 'the stats panel shows a harness row');
      await vsc.screenshot('campaign-3-stats-first');
      let later: string[] | undefined;
      const growEnd = Date.now() + 60_000;
      while (Date.now() < growEnd) {
        await sleep(2500);
        later = await statsRow(vsc);
        if (later && parseCompact(later[2]!) > parseCompact(first[2]!)) {
          break;
        }
      }
      await vsc.screenshot('campaign-4-stats-later');
      assert.equal(first[0], 'fuzz_parser');
      assert.ok(
        later && parseCompact(later[2]!) > parseCompact(first[2]!),
        `executions grow: ${JSON.stringify(first)} then ${JSON.stringify(later)}`,
      );
      await backend.runs.cancel(lensRunId);
    },
  );

  it(
    'sets a parameter of a palette scan and offers it again as the last values',
    { skip, timeout: 300_000 },
    async () => {
      assert.ok(vsc && backend);
      const page = vsc.page;
      const input = page.locator('.quick-input-widget .quick-input-box input');
      const firstRow = page.locator('.quick-input-widget .quick-input-list .monaco-list-row').first();
      /** Type into the open quick pick and wait until its first row is `label`. */
      const pickRow = async (text: string, label: RegExp) => {
        await input.waitFor({ state: 'visible', timeout: 30_000 });
        await page.keyboard.type(text);
        const end = Date.now() + 20_000;
        let retypeAt = Date.now() + 3000;
        let seen = '';
        while (Date.now() < end) {
          seen = (await firstRow.innerText().catch(() => '')).replace(/\s+/g, ' ').trim();
          if (label.test(seen)) {
            return seen;
          }
          // The widget is shared by one pick after another: text typed while the previous one was
          // still closing went to it. Type it again into the one now open.
          if (text && Date.now() > retypeAt) {
            await page.keyboard.press('Control+A');
            await page.keyboard.type(text);
            retypeAt = Date.now() + 3000;
          }
          await sleep(100);
        }
        throw new Error(`quick pick row ${String(label)} never came first; it shows ${JSON.stringify(seen)}`);
      };
      const workflowPick = page.locator('.quick-input-widget .quick-input-box input[placeholder="Workflow to run"]');
      const scanWithAtheris = async () => {
        // Should the workflow pick close by itself as it opens (seen in CI, with a webview the
        // active editor: its input present but hidden), open it again.
        for (let attempt = 1; attempt <= 3; attempt++) {
          await vsc!.runCommand('FuzzForge: Scan Workspace…', { timeoutMs: 60_000 });
          const shown = await workflowPick
            .first()
            .waitFor({ state: 'visible', timeout: 10_000 })
            .then(
              () => true,
              () => false,
            );
          if (shown) {
            break;
          }
          console.error(
            `palette scan, attempt ${attempt}: the workflow pick is not showing; running the command again`,
          );
          await vsc!.screenshot(`campaign-workflow-pick-hidden-${attempt}`);
        }
        await pickRow('atheris_fuzzing', /^atheris_fuzzing/);
        await page.keyboard.press('Enter');
      };
      const listRuns = async () =>
        new Set(
          (await backend!.runs.list({ workspaceId: workspaceIdentity(trusted).id, limit: 20 })).map((r) => r.runId),
        );
      // The quick input widget is driven through the keyboard, and under load a key can reach a pick
      // that is closing; one more attempt from the start, after closing whatever is open and
      // cancelling a run it may have started, tells that from the form not working.
      const session = vsc;
      const server = backend;
      const fillForm = async (): Promise<string> => {
        const vsc = session;
        const backend = server;
        const before = await listRuns();
        // The test before leaves the lens campaign's statistics panel as the active editor; with a
        // webview active the quick input closed by itself twice in CI, as the pick opened or as a
        // row was clicked. The palette scan is what is tested here: start it from the harness.
        await vsc.openFile(HARNESS);
        await scanWithAtheris();
        await pickRow('Edit parameters', /Edit parameters/);
        await vsc.screenshot('campaign-7-params-choice');
        // Rows are clicked, not taken with Enter: Enter accepts the pick's active item, which can
        // still be the previous first row (Run) while the filtered list already shows this one.
        await firstRow.click();
        await pickRow('max_total_time', /^max_total_time/);
        await vsc.screenshot('campaign-8-params-form');
        await firstRow.click();
        // The input box checks against the schema as it is typed (minimum 1). It replaces the pick in
        // the same widget: wait for the box (its placeholder names the default), or the typing lands
        // in the pick's filter.
        await page
          .locator('.quick-input-widget .quick-input-box input[placeholder="default: 300"]')
          .first()
          .waitFor({ state: 'visible', timeout: 30_000 });
        await page.keyboard.type('0');
        await page.locator('.quick-input-message:has-text("must be >= 1")').first().waitFor({ timeout: 10_000 });
        await vsc.screenshot('campaign-9-params-invalid');
        await page.keyboard.press('Backspace');
        await page.keyboard.type('5');
        await page.keyboard.press('Enter');
        // Back in the form: Run is the first row and says what is set.
        await pickRow('', /Run.*max_total_time=5/);
        await page.keyboard.press('Enter');
        // The run reaches the backend with the parameter set in the form.
        let runId = '';
        const startEnd = Date.now() + 120_000;
        while (!runId && Date.now() < startEnd) {
          const runs = await backend.runs.list({ workspaceId: workspaceIdentity(trusted).id, limit: 20 });
          runId = runs.find((r) => !before.has(r.runId))?.runId ?? '';
          await sleep(500);
        }
        if (!runId) {
          throw new Error('the palette scan started no run');
        }
        const started = await backend.runs.describe(runId);
        if (started.memo?.params?.max_total_time !== 5) {
          throw new Error(`run ${runId} started with ${JSON.stringify(started.memo?.params)}, not the form's values`);
        }
        return runId;
      };
      let runId = '';
      for (let attempt = 1; attempt <= 2 && !runId; attempt++) {
        const before = await listRuns();
        try {
          runId = await fillForm();
        } catch (err) {
          if (attempt === 2) {
            throw err;
          }
          console.error(`palette form, attempt ${attempt}: ${(err as Error).message.split('\n')[0]}; trying again`);
          await vsc.screenshot('campaign-params-attempt-1-failed');
          for (let k = 0; k < 3; k++) {
            await page.keyboard.press('Escape');
          }
          for (const id of await listRuns()) {
            if (!before.has(id)) {
              await backend.runs.cancel(id).catch(() => undefined);
            }
          }
          await sleep(1000);
        }
      }
      assert.ok(runId, 'the palette scan started a run');
      const info = await backend.runs.describe(runId);
      assert.equal(info.workflow, 'atheris_fuzzing');
      assert.equal(info.memo?.params?.max_total_time, 5);
      await vsc.screenshot('campaign-10-params-running');
      // Next time the values are offered first.
      await vsc.openFile(HARNESS);
      await scanWithAtheris();
      const last = await pickRow('', /Last values.*max_total_time=5/);
      await vsc.screenshot('campaign-11-params-last-values');
      assert.match(last, /Last values/);
      await page.keyboard.press('Escape');
    },
  );

  it('refuses campaigns in an untrusted workspace, and nothing runs', { skip, timeout: 240_000 }, async () => {
    assert.ok(backend && tmp);
    await vsc?.stop();
    vsc = undefined;
    const untrusted = copyFixture('fuzz-python', path.join(tmp, 'untrusted'));
    vsc = await startVSCode({
      workspace: untrusted,
      outputDir,
      name: 'campaign-untrusted',
      development: { extensionPath: projectRoot },
      env: env(),
      untrusted: true,
      settings: { 'fuzzforge.backend.mode': 'embedded' },
    });
    await vsc.openFile(HARNESS);
    const fuzz = await lens(vsc, 'Fuzz this target');
    await fuzz.click();
    const afterLens = await waitForMessages(vsc, /not trusted/, 1);
    await vsc.screenshot('campaign-5-untrusted-lens');
    assert.ok(
      afterLens.some((t) =>
        /Fuzzing this target builds and runs this workspace's code, and this workspace is not trusted/.test(t),
      ),
      JSON.stringify(afterLens),
    );
    await vsc.page.keyboard.press('Escape');
    await vsc.runCommand('FuzzForge: Start Fuzzing Campaign…');
    const afterPalette = await waitForMessages(vsc, /not trusted/, 2);
    await vsc.screenshot('campaign-6-untrusted-palette');
    assert.ok(
      afterPalette.some((t) =>
        /A fuzzing campaign builds and runs this workspace's code, and this workspace is not trusted/.test(t),
      ),
      JSON.stringify(afterPalette),
    );
    // Give a wrongly started run time to appear, then check none did.
    await sleep(3000);
    const runs = await backend.runs.list({ workspaceId: workspaceIdentity(untrusted).id, limit: 10 });
    assert.deepEqual(runs, [], 'no run of the untrusted workspace reached the backend');
  });
});
