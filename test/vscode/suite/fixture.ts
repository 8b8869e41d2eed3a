// What the suites know of the workspace they run on (a copy of test/fixtures/vulnerable-app): the
// expected findings of security_assessment, and the markers its pattern rules put in VS Code.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';

/** This bundle is out/vscode-suite/index.js: the project root is two folders up. */
export const projectRoot = path.resolve(__dirname, '..', '..');

export interface Expected {
  ruleId: string;
  file: string;
  line: number;
}

export const expected = JSON.parse(
  fs.readFileSync(path.join(projectRoot, 'test', 'fixtures', 'vulnerable-app.expected.json'), 'utf8'),
) as Expected[];

export const key = (e: Expected) => `${e.ruleId} ${e.file}:${e.line}`;

/** The markers of the pattern rules (security_assessment) in every file, relative to `folder`, lines from 1. */
export function patternMarkers(folder: vscode.WorkspaceFolder): (Expected & { diag: vscode.Diagnostic })[] {
  const out: (Expected & { diag: vscode.Diagnostic })[] = [];
  for (const [uri, diags] of vscode.languages.getDiagnostics()) {
    for (const d of diags) {
      if (d.source === 'fuzzforge-patterns') {
        const code = typeof d.code === 'object' ? String(d.code.value) : String(d.code);
        out.push({
          file: path.relative(folder.uri.fsPath, uri.fsPath),
          line: d.range.start.line + 1,
          ruleId: code,
          diag: d,
        });
      }
    }
  }
  return out;
}
