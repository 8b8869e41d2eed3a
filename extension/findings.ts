// Findings as diagnostics: one collection per workflow (a re-run replaces only its own markers),
// diagnostics that carry their SARIF result, and markers that follow or leave edited lines.
import * as vscode from 'vscode';
import { sarifToDiagnostics, type DiagnosticSpec } from '../backend/sarif/diagnostics';
import type { SarifLog, SarifResult } from '../backend/sarif/types';

const SEVERITY: Record<DiagnosticSpec['severity'], vscode.DiagnosticSeverity> = {
  error: vscode.DiagnosticSeverity.Error,
  warning: vscode.DiagnosticSeverity.Warning,
  information: vscode.DiagnosticSeverity.Information,
  hint: vscode.DiagnosticSeverity.Hint,
};

/** A diagnostic that keeps its finding, so quick fixes and views need no lookup. */
export class FindingDiagnostic extends vscode.Diagnostic {
  constructor(
    range: vscode.Range,
    spec: DiagnosticSpec,
    /** The SARIF result and run behind the marker: a later run that shows the same marker takes it over. */
    public result: SarifResult,
    public runId: string,
    readonly workflow: string,
  ) {
    super(range, spec.message, SEVERITY[spec.severity]);
    this.source = spec.source;
    this.code = spec.helpUri ? { value: spec.ruleId, target: vscode.Uri.parse(spec.helpUri) } : spec.ruleId;
    this.relatedInformation = spec.related.map(
      (r) =>
        new vscode.DiagnosticRelatedInformation(
          new vscode.Location(vscode.Uri.file(r.file), new vscode.Position(r.line, r.column)),
          r.message,
        ),
    );
  }

  get ruleId(): string {
    return typeof this.code === 'object' ? String(this.code.value) : String(this.code);
  }

  get helpUri(): vscode.Uri | undefined {
    return typeof this.code === 'object' ? this.code.target : undefined;
  }

  /** What VS Code shows of this marker: two with the same look alike in every view. */
  markerKey(): string {
    const at = (r: vscode.Range) => [r.start.line, r.start.character, r.end.line, r.end.character];
    return JSON.stringify([
      at(this.range),
      this.message,
      this.severity,
      this.source,
      this.ruleId,
      this.helpUri?.toString(),
      this.tags,
      (this.relatedInformation ?? []).map((r) => [r.location.uri.toString(), at(r.location.range), r.message]),
    ]);
  }
}

/** Whether two marker lists of a file look the same, in the same order. */
function sameMarkers(a: readonly FindingDiagnostic[], b: readonly FindingDiagnostic[]): boolean {
  return a.length === b.length && a.every((d, i) => d.markerKey() === b[i]?.markerKey());
}

export class FindingsStore implements vscode.Disposable {
  private readonly collections = new Map<string, vscode.DiagnosticCollection>();
  private readonly disposables: vscode.Disposable[] = [];
  private readonly _onDidChangeFindings = new vscode.EventEmitter<void>();
  readonly onDidChangeFindings = this._onDidChangeFindings.event;

  constructor() {
    this.disposables.push(
      vscode.workspace.onDidChangeTextDocument((e) => this.followEdits(e)),
      this._onDidChangeFindings,
    );
  }

  private collection(workflow: string): vscode.DiagnosticCollection {
    let c = this.collections.get(workflow);
    if (!c) {
      c = vscode.languages.createDiagnosticCollection(`fuzzforge-${workflow}`);
      this.collections.set(workflow, c);
    }
    return c;
  }

  /**
   * Replace the markers of `workflow` with this run's findings; returns how many were shown.
   * `restored`: findings of a run that finished before this window started (not marked new).
   */
  show(
    workflow: string,
    runId: string,
    log: SarifLog,
    workspaceRoot: string,
    options: { restored?: boolean } = {},
  ): number {
    const specs = sarifToDiagnostics(log, workspaceRoot, { markNew: !options.restored });
    const byFile = new Map<string, FindingDiagnostic[]>();
    for (const spec of specs) {
      const result = log.runs[spec.runIndex]?.results?.[spec.resultIndex];
      if (!result) {
        continue;
      }
      const range = new vscode.Range(
        spec.range.startLine,
        spec.range.startColumn,
        spec.range.endLine,
        Math.min(spec.range.endColumn, 1_000_000),
      );
      const list = byFile.get(spec.file) ?? [];
      list.push(new FindingDiagnostic(range, spec, result, runId, workflow));
      byFile.set(spec.file, list);
    }
    // Only the files whose markers change are sent to VS Code: a save's run (its first results,
    // then the same ones marked new or unchanged) mostly repeats the markers already shown, and
    // each file sent redraws its squiggles, the Explorer's badges and the Problems view.
    const collection = this.collection(workflow);
    const gone: vscode.Uri[] = [];
    collection.forEach((uri) => {
      if (!byFile.has(uri.fsPath)) {
        gone.push(uri);
      }
    });
    for (const uri of gone) {
      collection.delete(uri);
    }
    for (const [file, diags] of byFile) {
      const uri = vscode.Uri.file(file);
      const shown = collection.get(uri) as readonly FindingDiagnostic[] | undefined;
      if (shown && shown.every((d) => d instanceof FindingDiagnostic) && sameMarkers(shown, diags)) {
        // The same markers stay; they now stand for this run's results.
        shown.forEach((d, i) => {
          const next = diags[i] as FindingDiagnostic;
          d.result = next.result;
          d.runId = next.runId;
        });
        continue;
      }
      collection.set(uri, diags);
    }
    this._onDidChangeFindings.fire();
    return specs.length;
  }

  /** The workflows whose findings are shown (a run of this window or a restored one). */
  shownWorkflows(): string[] {
    return [...this.collections.keys()];
  }

  /** Every finding currently shown (what the Problems panel has from us), with its file. */
  all(): { uri: vscode.Uri; diagnostic: FindingDiagnostic }[] {
    const out: { uri: vscode.Uri; diagnostic: FindingDiagnostic }[] = [];
    for (const c of this.collections.values()) {
      c.forEach((uri, diags) => {
        for (const d of diags) {
          if (d instanceof FindingDiagnostic) {
            out.push({ uri, diagnostic: d });
          }
        }
      });
    }
    return out;
  }

  /** Every finding currently shown, by severity. */
  counts(): Record<'error' | 'warning' | 'other', number> {
    const counts = { error: 0, warning: 0, other: 0 };
    for (const c of this.collections.values()) {
      c.forEach((_uri, diags) => {
        for (const d of diags) {
          if (d.severity === vscode.DiagnosticSeverity.Error) {
            counts.error++;
          } else if (d.severity === vscode.DiagnosticSeverity.Warning) {
            counts.warning++;
          } else {
            counts.other++;
          }
        }
      });
    }
    return counts;
  }

  /**
   * Markers below an edit move with it; markers on edited lines are dropped until the next run
   * (the finding there may be gone, and a stale squiggle is worse than none).
   */
  private followEdits(event: vscode.TextDocumentChangeEvent): void {
    if (event.contentChanges.length === 0) {
      return;
    }
    let changed = false;
    for (const collection of this.collections.values()) {
      const diags = collection.get(event.document.uri);
      if (!diags || diags.length === 0) {
        continue;
      }
      let next = [...diags] as FindingDiagnostic[];
      // Typing below every marker (the usual case) moves none: the collection stays as it is, so
      // a keystroke costs no marker update in the editor and no refresh of the Findings view.
      let moved = false;
      for (const change of event.contentChanges) {
        const added = change.text.split('\n').length - 1;
        const removed = change.range.end.line - change.range.start.line;
        const delta = added - removed;
        next = next.flatMap((d) => {
          if (d.range.end.line < change.range.start.line) {
            return [d];
          }
          if (d.range.start.line > change.range.end.line) {
            if (delta === 0) {
              return [d];
            }
            moved = true;
            const shifted = new FindingDiagnostic(
              d.range.with(d.range.start.translate(delta), d.range.end.translate(delta)),
              {
                file: event.document.uri.fsPath,
                range: { startLine: 0, startColumn: 0, endLine: 0, endColumn: 0 },
                severity: 'error',
                message: d.message,
                ruleId: d.ruleId,
                ...(d.helpUri ? { helpUri: d.helpUri.toString() } : {}),
                source: d.source ?? '',
                related: [],
                tags: [],
                runIndex: 0,
                resultIndex: 0,
              },
              d.result,
              d.runId,
              d.workflow,
            );
            shifted.severity = d.severity;
            shifted.relatedInformation = d.relatedInformation;
            return [shifted];
          }
          moved = true;
          return [];
        });
      }
      if (!moved) {
        continue;
      }
      collection.set(event.document.uri, next);
      changed = true;
    }
    if (changed) {
      this._onDidChangeFindings.fire();
    }
  }

  dispose(): void {
    for (const c of this.collections.values()) {
      c.dispose();
    }
    for (const d of this.disposables) {
      d.dispose();
    }
  }
}
