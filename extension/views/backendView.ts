// The Backend view: the services and the workers (grouped by vertical) of the backend the mode
// setting selects, with state, CPU and memory, read from BackendStatus every few seconds while the
// view is visible. Rows come from backendModel.ts; actions are commands on the rows.
import * as vscode from 'vscode';
import type { BackendStatus } from '../backendStatus';
import { backendRows, backendViewDescription, type BackendRow, type BackendSnapshot } from './backendModel';

export class BackendView implements vscode.TreeDataProvider<BackendRow>, vscode.Disposable {
  static readonly viewId = 'fuzzforge.backend';
  /** How often the backend is read while the view is visible. */
  static readonly refreshMs = 5000;
  readonly treeView: vscode.TreeView<BackendRow>;
  private readonly _onDidChangeTreeData = new vscode.EventEmitter<BackendRow | undefined>();
  readonly onDidChangeTreeData = this._onDidChangeTreeData.event;
  private readonly disposables: vscode.Disposable[] = [];
  private rows: BackendRow[] = [];
  private timer: NodeJS.Timeout | undefined;
  private disposed = false;

  constructor(private readonly status: BackendStatus) {
    this.treeView = vscode.window.createTreeView(BackendView.viewId, { treeDataProvider: this });
    this.disposables.push(
      this.treeView,
      this._onDidChangeTreeData,
      status.onDidChangeBackendStatus((snapshot) => this.show(snapshot)),
      this.treeView.onDidChangeVisibility(() => this.schedule(0)),
    );
    // Until the first read the view is empty without its "not running" welcome (the context key
    // the welcome waits for is unset).
    this.schedule(0);
  }

  /** The rows shown now (top level; groups carry their workers as children). */
  get currentRows(): readonly BackendRow[] {
    return this.rows;
  }

  get currentSnapshot(): BackendSnapshot {
    return this.status.snapshot;
  }

  /** Read the backend now (and go on polling from there while visible). */
  async refresh(): Promise<void> {
    await this.status.refresh();
  }

  getChildren(element?: BackendRow): BackendRow[] {
    return element ? (element.children ?? []) : this.rows;
  }

  getTreeItem(row: BackendRow): vscode.TreeItem {
    const item = new vscode.TreeItem(
      row.label,
      row.children && row.children.length > 0
        ? vscode.TreeItemCollapsibleState.Expanded
        : vscode.TreeItemCollapsibleState.None,
    );
    item.id = row.id;
    item.description = row.description;
    item.tooltip = row.tooltip;
    item.iconPath = new vscode.ThemeIcon(
      row.icon.id,
      row.icon.color ? new vscode.ThemeColor(row.icon.color) : undefined,
    );
    item.contextValue = row.contextValue;
    item.accessibilityInformation = { label: row.accessibilityLabel };
    return item;
  }

  private show(snapshot: BackendSnapshot): void {
    this.rows = backendRows(snapshot);
    this.treeView.description = backendViewDescription(snapshot);
    const running = snapshot.kind === 'embedded' || snapshot.kind === 'compose';
    void vscode.commands.executeCommand('setContext', 'fuzzforge.backendView.running', running);
    this._onDidChangeTreeData.fire(undefined);
    this.schedule(BackendView.refreshMs);
  }

  /** While the view is visible, read again `delayMs` from now; stop when hidden. */
  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.disposed || !this.treeView.visible) {
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // A read that failed fires no change: poll on regardless.
      void this.status.refresh().then(() => this.schedule(BackendView.refreshMs));
    }, delayMs);
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.timer);
    for (const d of this.disposables) {
      d.dispose();
    }
  }
}
