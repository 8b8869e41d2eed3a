// The status bar item: backend health, runs in progress, finding counts; a click shows the status.
import * as vscode from 'vscode';
import { stateDir } from '../backend/paths';
import { runningCompose } from '../backend/services/compose';
import { runningEmbedded } from '../backend/services/embedded';
import type { FindingsStore } from './findings';
import type { RunsModel } from './runs';
import type { BackendKind } from './views/backendModel';

export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 50);
  private readonly subscriptions: vscode.Disposable[];
  /** The text on show. */
  private shown: string | undefined;

  constructor(
    private readonly deps: {
      findings: FindingsStore;
      runs: RunsModel;
      /** The backend the mode setting selects (throws on a mode value the setting does not allow). */
      backendKind(): BackendKind;
    },
  ) {
    this.item.command = 'fuzzforge.showBackendStatus';
    this.subscriptions = [
      deps.findings.onDidChangeFindings(() => this.refresh()),
      deps.runs.onDidChangeRuns(() => this.refresh()),
    ];
    this.refresh();
  }

  refresh(): void {
    const counts = this.deps.findings.counts();
    let kind: BackendKind | undefined;
    try {
      kind = this.deps.backendKind();
    } catch {
      // A mode value the setting's enum does not allow: commands report it; the status bar says "stopped".
    }
    const health =
      kind === 'external'
        ? 'external'
        : kind === 'compose'
          ? runningCompose(stateDir())
            ? 'ready (compose)'
            : 'stopped'
          : runningEmbedded(stateDir())
            ? 'ready'
            : 'stopped';
    const inProgress = this.deps.runs.inProgress;
    const text = `$(shield) FuzzForge: ${health}${inProgress ? ` · $(sync~spin) ${inProgress}` : ''} · $(error) ${counts.error} $(warning) ${counts.warning}`;
    // Every assignment is a message to the window and a redraw there, even of the same text; a
    // save's run changes findings and runs several times over.
    if (text !== this.shown) {
      this.shown = text;
      this.item.text = text;
      this.item.tooltip = 'FuzzForge backend and findings (click for status)';
      this.item.show();
    }
  }

  dispose(): void {
    for (const s of this.subscriptions) {
      s.dispose();
    }
    this.item.dispose();
  }
}
