// The live fuzzing statistics of one run in a webview (webview/stats), refreshed every 2 s while
// the run goes on, with its unique crashes: open a crash's location, replay it on this machine.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { UserError } from '../backend/errors';
import { fuzzStats, listCrashes, replayCrash, ReplayCancelledError, REPLAY_TIMEOUT_MS } from '../backend/fuzzing';
import { isTerminal } from '../backend/temporal/runs';
import type { StatsRequest, ToStatsPage } from '../webview/protocol';
import type { Connected } from './backendSession';
import { Cancelled } from './errors';
import { STATS_PANEL_STYLE, statsPanelTitle } from './panelHtml';
import { runInTerminal } from './replayTerminal';
import { assertNever, WebviewPanelHost, type PanelHostDeps, type PanelPage } from './webviewPanel';

export interface FuzzingPanelDeps extends PanelHostDeps {
  connect(): Promise<Connected>;
}

const REFRESH_MS = 2000;

export class FuzzingPanel extends WebviewPanelHost<ToStatsPage, StatsRequest> {
  private static readonly open = new Map<string, FuzzingPanel>();
  private timer: NodeJS.Timeout | undefined;
  private workspaceRoot: string | undefined;

  private static page(runId: string): PanelPage {
    return {
      viewType: 'fuzzforge.fuzzingStats',
      tabTitle: statsPanelTitle(runId),
      title: `Fuzzing ${runId}`,
      script: 'stats.js',
      style: STATS_PANEL_STYLE,
      // It polls every 2 s while the run goes on.
      retainContextWhenHidden: true,
    };
  }

  /** Show (or reveal) the statistics of a run. */
  static show(deps: FuzzingPanelDeps, runId: string): FuzzingPanel {
    const existing = FuzzingPanel.open.get(runId);
    if (existing) {
      existing.panel.reveal();
      return existing;
    }
    const page = FuzzingPanel.page(runId);
    const created = new FuzzingPanel(deps, runId, WebviewPanelHost.createPanel(deps, page), page);
    FuzzingPanel.open.set(runId, created);
    return created;
  }

  private constructor(
    protected override readonly deps: FuzzingPanelDeps,
    readonly runId: string,
    panel: vscode.WebviewPanel,
    page: PanelPage,
  ) {
    super(deps, panel, page);
  }

  protected onViewLoaded(): Promise<void> {
    return this.refresh();
  }

  protected async onRequest(message: StatsRequest): Promise<void> {
    switch (message.type) {
      case 'cancel': {
        const { runs } = await this.deps.connect();
        await runs.cancel(this.runId);
        await this.refresh();
        return;
      }
      case 'openFrame':
        await openFrame(this.workspaceRoot, message.file, message.line);
        return;
      case 'replay':
        await this.replay(message.crashId);
        return;
      default:
        assertNever(message, 'fuzzing stats request');
    }
  }

  protected doing(message: StatsRequest | { type: 'viewLoaded' }): string {
    return message.type === 'replay' ? 'replaying the crash' : 'updating fuzzing statistics';
  }

  /** Ask the workflow and storage again, post the page, and keep polling while the run goes on. */
  async refresh(): Promise<void> {
    if (this.disposed) {
      return;
    }
    clearTimeout(this.timer);
    const { conn, runs } = await this.deps.connect();
    const info = await runs.describe(this.runId);
    this.workspaceRoot = info.memo?.workspaceRoot;
    let view;
    let error: string | undefined;
    try {
      view = await fuzzStats(runs, this.runId);
    } catch (err) {
      error = isTerminal(info.status) ? undefined : (err as Error).message;
    }
    const crashes = await listCrashes(conn, this.runId);
    await this.post({
      type: 'update',
      runId: this.runId,
      workflow: info.workflow,
      status: info.status,
      ...(view ? { view } : {}),
      crashes,
      ...(error ? { error } : {}),
    });
    if (!isTerminal(info.status) && !this.disposed) {
      this.timer = setTimeout(() => {
        this.refresh().catch((err: unknown) => this.deps.log.warn(`fuzzing stats of ${this.runId}: ${String(err)}`));
      }, REFRESH_MS);
    }
  }

  /** Build the harness from the run's workspace and run it on the crash input; say what happened. */
  async replay(crashId: string): Promise<{ reproduced: boolean }> {
    return replayInEditor(this.deps, this.runId, crashId, this.workspaceRoot);
  }

  protected onDidClose(): void {
    clearTimeout(this.timer);
    FuzzingPanel.open.delete(this.runId);
  }
}

/**
 * Open a stack frame's file at its line. Frames come from crash records (hostile): only a relative
 * path that stays inside the workspace is opened.
 */
export async function openFrame(
  workspaceRoot: string | undefined,
  file: string,
  line: number | undefined,
): Promise<void> {
  const root = workspaceRoot ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  if (!root || typeof file !== 'string') {
    return;
  }
  const abs = path.resolve(root, file);
  if (path.isAbsolute(file) || (abs !== root && !abs.startsWith(path.resolve(root) + path.sep))) {
    throw new Error(`${file.slice(0, 200)} is not a file of the workspace`);
  }
  const uri = vscode.Uri.file(abs);
  const lineNo = typeof line === 'number' && Number.isInteger(line) && line > 0 ? line : 1;
  const pos = new vscode.Position(lineNo - 1, 0);
  await vscode.window.showTextDocument(uri, { selection: new vscode.Range(pos, pos), preview: false });
}

/** The bound of one replayed harness run, from the setting fuzzforge.replay.timeoutSeconds. */
export function replayTimeoutMs(): number {
  const seconds = vscode.workspace.getConfiguration('fuzzforge').get<number>('replay.timeoutSeconds');
  return typeof seconds === 'number' && Number.isFinite(seconds) && seconds >= 1
    ? Math.round(seconds * 1000)
    : REPLAY_TIMEOUT_MS;
}

/** Refuse an action in an untrusted workspace, saying why (`because`: what it would do). */
export function requireTrust(action: string, because = "it builds and runs the workspace's code"): void {
  if (!vscode.workspace.isTrusted) {
    throw new UserError(
      `${action} is refused in an untrusted workspace: ${because}`,
      'trust the folder (Workspaces: Manage Workspace Trust) to allow it',
    );
  }
}

/**
 * Replay one crash of a run from the editor: build the harness from the run's workspace (or the
 * open folder), run it on the (minimised) input in a terminal people can watch and stop (bounded
 * by fuzzforge.replay.timeoutSeconds), and say whether it reproduced, with a way to the crash's
 * location. Refused in an untrusted workspace: it builds and runs the workspace's code.
 */
export async function replayInEditor(
  deps: Pick<FuzzingPanelDeps, 'connect' | 'log'>,
  runId: string,
  crashId: string,
  workspaceRoot?: string,
): Promise<{ reproduced: boolean; exitCode: number }> {
  requireTrust('Replay');
  const { conn, runs } = await deps.connect();
  const crashes = await listCrashes(conn, runId);
  const crash = crashes.find((c) => c.id === crashId);
  if (!crash) {
    throw new Error(`run ${runId} has no crash ${crashId}`);
  }
  const root =
    workspaceRoot ??
    (await runs.describe(runId)).memo?.workspaceRoot ??
    vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  if (!root) {
    throw new Error('open the fuzzed folder to replay its crashes');
  }
  const log = deps.log;
  log.info(`replaying crash ${crash.id} of ${runId} (${crash.engine}, harness ${crash.harness}) in ${root}`);
  const timeoutMs = replayTimeoutMs();
  // In a terminal people can watch (build, then the harness's output) and stop with Ctrl-C.
  const result = await runInTerminal(`Replay ${crash.id.slice(0, 8)}`, async ({ write, signal }) => {
    write(`FuzzForge: replaying crash ${crash.id} of ${runId}\n${crash.summary}\n`);
    write(`(harness ${crash.harness}, ${crash.engine}; timeout ${Math.round(timeoutMs / 1000)} s; Ctrl-C stops)\n\n`);
    try {
      const r = await replayCrash(conn, crash, {
        workspace: root,
        timeoutMs,
        onProgress: (line) => {
          write(`> ${line}\n`);
          log.info(line);
        },
        onOutput: (text) => {
          write(text);
          log.info(text.trimEnd());
        },
        signal,
      });
      write(
        r.timedOut
          ? `\nNOT REPRODUCED: the harness did not finish within ${Math.round(timeoutMs / 1000)} s and was stopped (a hang?)\n`
          : r.reproduced
            ? `\nREPRODUCED: the harness failed on the ${r.input} (exit ${r.exitCode})\n`
            : `\nNOT REPRODUCED: the harness ran the ${r.input} without failing (exit ${r.exitCode})\n`,
      );
      return r;
    } catch (err) {
      write(
        `\n${err instanceof ReplayCancelledError ? 'Replay stopped.' : `Replay failed: ${(err as Error).message}`}\n`,
      );
      throw err instanceof ReplayCancelledError ? new Cancelled() : err;
    }
  });
  if (result.timedOut) {
    void vscode.window.showWarningMessage(
      `Crash ${crash.id.slice(0, 8)}: the harness did not finish within the replay timeout (a hang?).`,
    );
    return { reproduced: false, exitCode: result.exitCode };
  }
  const top = crash.frames.find((f) => f.file && !f.file.startsWith('/'));
  log.info(`crash ${crash.id}: ${result.reproduced ? 'reproduced' : 'did not reproduce'} (exit ${result.exitCode})`);
  if (result.reproduced) {
    void vscode.window
      .showWarningMessage(
        `Crash ${crash.id.slice(0, 8)} reproduces: ${crash.summary}`,
        ...(top?.file ? ['Open Location'] : []),
        'Show Output',
      )
      .then((choice) => {
        if (choice === 'Open Location' && top?.file) {
          openFrame(root, top.file, top.line).catch((err: unknown) => log.warn(String(err)));
        } else if (choice === 'Show Output') {
          log.show(true);
        }
      });
  } else {
    void vscode.window.showInformationMessage(
      `Crash ${crash.id.slice(0, 8)} did not reproduce (exit ${result.exitCode}): the bug may be fixed.`,
    );
  }
  return { reproduced: result.reproduced, exitCode: result.exitCode };
}
