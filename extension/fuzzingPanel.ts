// The live fuzzing statistics of one run in a webview (webview/stats), refreshed every 2 s while
// the run goes on, with its unique crashes: open a crash's location, replay it on this machine.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { fuzzStats, listCrashes, replayCrash, ReplayCancelledError } from '../backend/fuzzing';
import { isTerminal } from '../backend/temporal/runs';
import type { StatsRequest, ToStatsPage } from '../webview/protocol';
import type { Connected } from './backendSession';
import { Cancelled } from './errors';
import { STATS_PANEL_STYLE, statsPanelTitle } from './panelHtml';
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

async function openFrame(workspaceRoot: string | undefined, file: string, line: number | undefined): Promise<void> {
  const root = workspaceRoot ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  if (!root) {
    return;
  }
  const uri = vscode.Uri.file(path.join(root, file));
  const pos = new vscode.Position(Math.max(0, (line ?? 1) - 1), 0);
  await vscode.window.showTextDocument(uri, { selection: new vscode.Range(pos, pos), preview: false });
}

/**
 * Replay one crash of a run from the editor: build the harness from the run's workspace (or the
 * open folder), run it on the (minimised) input with the output in the FuzzForge log, and say
 * whether it reproduced, with a way to the crash's location.
 */
export async function replayInEditor(
  deps: Pick<FuzzingPanelDeps, 'connect' | 'log'>,
  runId: string,
  crashId: string,
  workspaceRoot?: string,
): Promise<{ reproduced: boolean; exitCode: number }> {
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
  const result = await vscode.window.withProgress(
    {
      location: vscode.ProgressLocation.Notification,
      title: `Replaying crash ${crash.id.slice(0, 8)}`,
      // Cancel kills the harness's process group and removes the workspace copy.
      cancellable: true,
    },
    async (progress, token) => {
      const cancel = new AbortController();
      const subscription = token.onCancellationRequested(() => cancel.abort());
      try {
        return await replayCrash(conn, crash, {
          workspace: root,
          onProgress: (line) => {
            progress.report({ message: line });
            log.info(line);
          },
          onOutput: (text) => log.info(text.trimEnd()),
          signal: cancel.signal,
        });
      } catch (err) {
        throw err instanceof ReplayCancelledError ? new Cancelled() : err;
      } finally {
        subscription.dispose();
      }
    },
  );
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
          void openFrame(root, top.file, top.line);
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
