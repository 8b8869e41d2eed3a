// The Crashes view: fuzzing run -> harness -> crash, for the fuzzing runs the Runs model lists
// (running and finished, including those from before the editor started). A run's crashes are
// read from storage when the run first shows and again on each Runs refresh while it runs (the
// Runs model polls only while something runs, so nothing is polled when nothing runs).
import * as vscode from 'vscode';
import type { CrashRecord } from '../../toolbox/shared/fuzzing';
import type { RunEntry, RunsModel } from '../runs';
import { crashRow, groupByHarness, matchesHarness, oneLine, type HarnessGroup } from './crashesModel';
import { runStatusIcon, runStatusLabel } from './viewModel';

export type CrashesNode =
  | { kind: 'run'; run: RunEntry }
  | { kind: 'harness'; run: RunEntry; group: HarnessGroup }
  | { kind: 'crash'; run: RunEntry; crash: CrashRecord };

export function isCrashNode(value: unknown): value is Extract<CrashesNode, { kind: 'crash' }> {
  const v = value as Partial<Extract<CrashesNode, { kind: 'crash' }>> | null | undefined;
  return !!v && typeof v === 'object' && v.kind === 'crash' && !!v.run && !!v.crash;
}

interface RunCrashes {
  status: string;
  crashes?: CrashRecord[];
  error?: string;
}

export class CrashesView implements vscode.TreeDataProvider<CrashesNode>, vscode.Disposable {
  static readonly viewId = 'fuzzforge.crashes';
  readonly treeView: vscode.TreeView<CrashesNode>;
  private readonly _onDidChangeTreeData = new vscode.EventEmitter<CrashesNode | undefined>();
  readonly onDidChangeTreeData = this._onDidChangeTreeData.event;
  private readonly byRun = new Map<string, RunCrashes>();
  private loading: Promise<void> | undefined;
  private again = false;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly model: RunsModel,
    private readonly deps: {
      listCrashes(runId: string): Promise<CrashRecord[]>;
      /** Select a crash: opens its detail panel. */
      openCommand: string;
      log: vscode.LogOutputChannel;
    },
  ) {
    this.treeView = vscode.window.createTreeView(CrashesView.viewId, { treeDataProvider: this, showCollapseAll: true });
    this.disposables.push(
      this.treeView,
      this._onDidChangeTreeData,
      model.onDidChangeRuns(() => void this.reload()),
      this.treeView.onDidChangeVisibility((e) => {
        if (e.visible) {
          void model.refresh();
        }
      }),
    );
  }

  /** The fuzzing runs of the workspace, newest first. */
  private fuzzingRuns(): RunEntry[] {
    return this.model.runs.filter((r) => r.workflow.endsWith('_fuzzing'));
  }

  /**
   * Read the crashes of runs not read yet, of runs still running, and of runs that finished since
   * their last read (their final crashes). Coalesced like the Runs refresh.
   */
  reload(): Promise<void> {
    if (this.loading) {
      this.again = true;
      return this.loading;
    }
    this.loading = (async () => {
      try {
        do {
          this.again = false;
          await this.load();
        } while (this.again);
      } finally {
        this.loading = undefined;
      }
    })();
    return this.loading;
  }

  private async load(): Promise<void> {
    const runs = this.fuzzingRuns();
    const stale = runs.filter((r) => {
      const known = this.byRun.get(r.runId);
      return !known || known.error !== undefined || r.status === 'running' || known.status !== r.status;
    });
    await Promise.all(
      stale.map(async (r) => {
        try {
          this.byRun.set(r.runId, { status: r.status, crashes: await this.deps.listCrashes(r.runId) });
        } catch (err) {
          this.deps.log.warn(`crashes of ${r.runId}: ${(err as Error).message}`);
          this.byRun.set(r.runId, { status: r.status, error: (err as Error).message });
        }
      }),
    );
    const listed = new Set(runs.map((r) => r.runId));
    for (const id of [...this.byRun.keys()]) {
      if (!listed.has(id)) {
        this.byRun.delete(id);
      }
    }
    this._onDidChangeTreeData.fire(undefined);
  }

  getChildren(node?: CrashesNode): CrashesNode[] {
    if (!node) {
      return this.fuzzingRuns().map((run) => ({ kind: 'run', run }));
    }
    if (node.kind === 'run') {
      return groupByHarness(this.byRun.get(node.run.runId)?.crashes ?? []).map((group) => ({
        kind: 'harness',
        run: node.run,
        group,
      }));
    }
    if (node.kind === 'harness') {
      return node.group.crashes.map((crash) => ({ kind: 'crash', run: node.run, crash }));
    }
    return [];
  }

  getParent(node: CrashesNode): CrashesNode | undefined {
    if (node.kind === 'run') {
      return undefined;
    }
    if (node.kind === 'harness') {
      return { kind: 'run', run: node.run };
    }
    const group = groupByHarness(this.byRun.get(node.run.runId)?.crashes ?? []).find((g) =>
      g.crashes.some((c) => c.id === node.crash.id),
    );
    return group ? { kind: 'harness', run: node.run, group } : { kind: 'run', run: node.run };
  }

  getTreeItem(node: CrashesNode): vscode.TreeItem {
    switch (node.kind) {
      case 'run':
        return this.runItem(node.run);
      case 'harness': {
        const item = new vscode.TreeItem(oneLine(node.group.harness, 80), vscode.TreeItemCollapsibleState.Expanded);
        item.id = `${node.run.runId}\0h\0${node.group.harnessFile}\0${node.group.harness}`;
        const n = node.group.crashes.length;
        item.description = `${oneLine(node.group.harnessFile, 100)} · ${n} ${n === 1 ? 'crash' : 'crashes'}`;
        item.iconPath = new vscode.ThemeIcon('beaker');
        item.contextValue = 'crashes.harness';
        return item;
      }
      case 'crash': {
        const row = crashRow(node.crash);
        const item = new vscode.TreeItem(row.label, vscode.TreeItemCollapsibleState.None);
        item.id = `${node.run.runId}\0c\0${node.crash.id}`;
        item.description = row.description;
        item.tooltip = new vscode.MarkdownString(row.tooltip, false);
        item.iconPath = new vscode.ThemeIcon('bug', new vscode.ThemeColor('testing.iconFailed'));
        item.contextValue = 'crashes.crash';
        item.accessibilityInformation = { label: row.accessibilityLabel };
        item.command = { command: this.deps.openCommand, title: 'Show Crash', arguments: [node] };
        return item;
      }
    }
  }

  private runItem(run: RunEntry): vscode.TreeItem {
    const known = this.byRun.get(run.runId);
    const count = known?.crashes?.length ?? 0;
    const item = new vscode.TreeItem(
      oneLine(run.runId, 100),
      count > 0 ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None,
    );
    // VS Code keeps a row's collapsible state by its id: a row first shown with no children
    // ("reading crashes…") would stay a leaf after its crashes are read. The id changes when the
    // run gets children, so the row is rebuilt, expanded.
    item.id = `${run.runId}\0run${count > 0 ? '\0crashes' : ''}`;
    const crashes = known?.error
      ? 'crashes unreadable'
      : !known
        ? 'reading crashes…'
        : count === 0
          ? run.status === 'running'
            ? 'no crash yet'
            : 'no crashes'
          : `${count} ${count === 1 ? 'crash' : 'crashes'}`;
    item.description = `${runStatusLabel(run.status)} · ${crashes}`;
    const icon = runStatusIcon(run.status);
    item.iconPath = new vscode.ThemeIcon(icon.id, icon.color ? new vscode.ThemeColor(icon.color) : undefined);
    item.contextValue = `crashes.run.${run.status}`;
    if (known?.error) {
      item.tooltip = oneLine(known.error, 500);
    }
    return item;
  }

  /**
   * Show the view; with a harness (workspace-relative file), reveal and expand that harness's
   * crashes in every run that has any. Returns how many harness rows were revealed.
   */
  async show(filter?: { harness?: string }): Promise<number> {
    await vscode.commands.executeCommand(`${CrashesView.viewId}.focus`);
    await this.model.refresh();
    await this.reload();
    const harness = filter?.harness;
    if (harness === undefined) {
      return 0;
    }
    let revealed = 0;
    for (const runNode of this.getChildren()) {
      for (const node of this.getChildren(runNode)) {
        if (node.kind === 'harness' && matchesHarness(node.group, harness)) {
          await this.treeView.reveal(node, { expand: true, select: revealed === 0, focus: revealed === 0 });
          revealed++;
        }
      }
    }
    if (revealed === 0) {
      void vscode.window.showInformationMessage(
        `No crash of ${oneLine(harness, 200)} in the fuzzing runs of this workspace.`,
      );
    }
    return revealed;
  }

  dispose(): void {
    for (const d of this.disposables) {
      d.dispose();
    }
  }
}
