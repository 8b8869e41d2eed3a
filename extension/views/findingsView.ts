// The Findings view: what FindingsStore shows as markers (so it always matches the Problems panel),
// grouped by severity, file or rule (`fuzzforge.findings.groupBy`), with counts on the groups. A
// click opens the file with the finding's range selected.
import * as vscode from 'vscode';
import type { FindingDiagnostic, FindingsStore } from '../findings';
import {
  findingRow,
  findingTooltipMarkdown,
  groupFindings,
  parseGroupBy,
  type FindingEntry,
  type FindingGroup,
  type FindingSeverity,
  type GroupBy,
} from './viewModel';

interface Finding extends FindingEntry {
  uri: vscode.Uri;
  diagnostic: FindingDiagnostic;
}

export type FindingsNode =
  { kind: 'group'; by: GroupBy; group: FindingGroup<Finding> } | { kind: 'finding'; by: GroupBy; finding: Finding };

const SEVERITY: Record<vscode.DiagnosticSeverity, FindingSeverity> = {
  [vscode.DiagnosticSeverity.Error]: 'error',
  [vscode.DiagnosticSeverity.Warning]: 'warning',
  [vscode.DiagnosticSeverity.Information]: 'information',
  [vscode.DiagnosticSeverity.Hint]: 'hint',
};

const ICON: Record<FindingSeverity, [string, string]> = {
  error: ['error', 'problemsErrorIcon.foreground'],
  warning: ['warning', 'problemsWarningIcon.foreground'],
  information: ['info', 'problemsInfoIcon.foreground'],
  hint: ['lightbulb', 'problemsInfoIcon.foreground'],
};

/** Markers change on every keystroke near a finding: rebuild the tree at most this often. */
const REFRESH_DELAY_MS = 150;

export class FindingsView implements vscode.TreeDataProvider<FindingsNode>, vscode.Disposable {
  static readonly viewId = 'fuzzforge.findings';
  readonly treeView: vscode.TreeView<FindingsNode>;
  private readonly _onDidChangeTreeData = new vscode.EventEmitter<FindingsNode | undefined>();
  readonly onDidChangeTreeData = this._onDidChangeTreeData.event;
  private readonly disposables: vscode.Disposable[] = [];
  private groups: FindingGroup<Finding>[] | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly store: FindingsStore) {
    this.treeView = vscode.window.createTreeView(FindingsView.viewId, {
      treeDataProvider: this,
      showCollapseAll: true,
    });
    this.disposables.push(
      this.treeView,
      this._onDidChangeTreeData,
      store.onDidChangeFindings(() => this.scheduleRefresh()),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('fuzzforge.findings.groupBy')) {
          this.refresh();
        }
      }),
      { dispose: () => clearTimeout(this.timer) },
    );
    this.updateTitle();
  }

  get groupBy(): GroupBy {
    return parseGroupBy(vscode.workspace.getConfiguration('fuzzforge').get('findings.groupBy'));
  }

  /** The groups as the view shows them now (tests read these). */
  currentGroups(): FindingGroup<Finding>[] {
    this.groups ??= groupFindings(this.entries(), this.groupBy);
    return this.groups;
  }

  refresh(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.groups = undefined;
    this.updateTitle();
    this._onDidChangeTreeData.fire(undefined);
  }

  private scheduleRefresh(): void {
    this.groups = undefined;
    if (!this.timer) {
      this.timer = setTimeout(() => this.refresh(), REFRESH_DELAY_MS);
    }
  }

  private entries(): Finding[] {
    const multiRoot = (vscode.workspace.workspaceFolders?.length ?? 0) > 1;
    return this.store.all().map(({ uri, diagnostic }) => ({
      uri,
      diagnostic,
      file: uri.fsPath,
      relPath: vscode.workspace.asRelativePath(uri, multiRoot),
      line: diagnostic.range.start.line,
      column: diagnostic.range.start.character,
      severity: SEVERITY[diagnostic.severity],
      ruleId: diagnostic.ruleId,
      message: diagnostic.message,
    }));
  }

  private updateTitle(): void {
    const total = this.currentGroups().reduce((n, g) => n + g.entries.length, 0);
    const description = total > 0 ? `by ${this.groupBy}` : undefined;
    // Each assignment is a message to the window and a redraw of the view's title and the
    // activity bar's badge there: only when they change (a save's run refreshes this twice).
    if (description !== this.treeView.description) {
      this.treeView.description = description;
    }
    if (total !== (this.treeView.badge?.value ?? 0)) {
      this.treeView.badge = total > 0 ? { value: total, tooltip: `${total} FuzzForge finding(s)` } : undefined;
    }
  }

  getChildren(node?: FindingsNode): FindingsNode[] {
    const by = this.groupBy;
    if (!node) {
      return this.currentGroups().map((group) => ({ kind: 'group', by, group }));
    }
    return node.kind === 'group' ? node.group.entries.map((finding) => ({ kind: 'finding', by, finding })) : [];
  }

  getTreeItem(node: FindingsNode): vscode.TreeItem {
    if (node.kind === 'group') {
      const { group, by } = node;
      // Severity groups are few and open; files and rules can be many and start closed.
      const item = new vscode.TreeItem(
        group.label,
        by === 'severity' ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed,
      );
      item.id = `group:${by}:${group.key}`;
      item.description = group.description;
      item.contextValue = `findingGroup.${by}`;
      item.accessibilityInformation = { label: `${group.label}, ${group.description}` };
      if (by === 'file') {
        item.resourceUri = group.entries[0]!.uri;
        item.iconPath = vscode.ThemeIcon.File;
      } else if (by === 'severity') {
        const [id, color] = ICON[group.key as FindingSeverity];
        item.iconPath = new vscode.ThemeIcon(id, new vscode.ThemeColor(color));
      } else {
        item.iconPath = new vscode.ThemeIcon('symbol-key');
      }
      return item;
    }
    const { finding, by } = node;
    const row = findingRow(finding, by);
    const item = new vscode.TreeItem(row.label, vscode.TreeItemCollapsibleState.None);
    item.description = row.description;
    item.accessibilityInformation = { label: row.accessibilityLabel };
    const [id, color] = ICON[finding.severity];
    item.iconPath = new vscode.ThemeIcon(id, new vscode.ThemeColor(color));
    item.contextValue = finding.diagnostic.helpUri ? 'finding.help' : 'finding';
    // Rule ids, messages and paths come from tools and the workspace: escaped, never Markdown.
    item.tooltip = new vscode.MarkdownString(
      findingTooltipMarkdown(finding, finding.diagnostic.source, row.description),
    );
    item.command = {
      command: 'vscode.open',
      title: 'Open Finding',
      arguments: [finding.uri, { selection: finding.diagnostic.range, preserveFocus: false }],
    };
    return item;
  }

  dispose(): void {
    for (const d of this.disposables) {
      d.dispose();
    }
  }
}
