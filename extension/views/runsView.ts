// The Runs view: one row per run of this workspace, newest first (see RunsModel for where they
// come from). Labels and icons come from viewModel.ts; actions are commands on the row.
import * as vscode from 'vscode';
import type { RunEntry, RunsModel } from '../runs';
import { runRow, runTooltipMarkdown } from './viewModel';

export class RunsView implements vscode.TreeDataProvider<RunEntry>, vscode.Disposable {
  static readonly viewId = 'fuzzforge.runs';
  readonly treeView: vscode.TreeView<RunEntry>;
  private readonly _onDidChangeTreeData = new vscode.EventEmitter<RunEntry | undefined>();
  readonly onDidChangeTreeData = this._onDidChangeTreeData.event;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly model: RunsModel) {
    this.treeView = vscode.window.createTreeView(RunsView.viewId, { treeDataProvider: this });
    this.disposables.push(
      this.treeView,
      this._onDidChangeTreeData,
      model.onDidChangeRuns(() => this._onDidChangeTreeData.fire(undefined)),
      // Opening the view lists the runs (a backend started from a terminal is noticed then).
      this.treeView.onDidChangeVisibility((e) => {
        if (e.visible) {
          void model.refresh();
        }
      }),
    );
  }

  getChildren(element?: RunEntry): RunEntry[] {
    return element ? [] : [...this.model.runs];
  }

  getTreeItem(run: RunEntry): vscode.TreeItem {
    const multiRoot = (vscode.workspace.workspaceFolders?.length ?? 0) > 1;
    const row = runRow(
      {
        runId: run.runId,
        workflow: run.workflow,
        status: run.status,
        startTime: run.startTime,
        closeTime: run.closeTime,
        summary: run.summary,
        failure: run.failure,
        workspaceName: run.folder?.name ?? run.memo?.workspaceName,
      },
      new Date(),
      multiRoot,
    );
    const item = new vscode.TreeItem(row.label, vscode.TreeItemCollapsibleState.None);
    item.id = run.runId;
    item.description = row.description;
    item.iconPath = new vscode.ThemeIcon(
      row.icon.id,
      row.icon.color ? new vscode.ThemeColor(row.icon.color) : undefined,
    );
    item.contextValue = row.contextValue;
    item.accessibilityInformation = { label: row.accessibilityLabel };
    item.tooltip = this.tooltip(run);
    return item;
  }

  private tooltip(run: RunEntry): vscode.MarkdownString {
    // Built from escaped parts: run ids and names come from Temporal, which anyone local can write to.
    return new vscode.MarkdownString(runTooltipMarkdown(run), true);
  }

  dispose(): void {
    for (const d of this.disposables) {
      d.dispose();
    }
  }
}
