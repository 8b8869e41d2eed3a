// Quick fixes on FuzzForge markers: suppress on this line, suppress in .fuzzforge/ignore, rule help.
import * as vscode from 'vscode';
import { ignoreFileLine, isSafeRuleId, suppressionLine } from '../backend/suppressions';
import { FindingDiagnostic } from './findings';

export class FindingCodeActions implements vscode.CodeActionProvider {
  static readonly kinds = [vscode.CodeActionKind.QuickFix];

  provideCodeActions(
    document: vscode.TextDocument,
    _range: vscode.Range,
    context: vscode.CodeActionContext,
  ): vscode.CodeAction[] {
    const actions: vscode.CodeAction[] = [];
    for (const diag of context.diagnostics) {
      if (!(diag instanceof FindingDiagnostic)) {
        continue;
      }
      const line = document.lineAt(diag.range.start.line);
      const comment = suppressionLine(document.fileName, diag.ruleId, line.text);
      if (comment) {
        const fix = new vscode.CodeAction(`Suppress ${diag.ruleId} on this line`, vscode.CodeActionKind.QuickFix);
        fix.edit = new vscode.WorkspaceEdit();
        fix.edit.insert(document.uri, new vscode.Position(line.lineNumber, 0), `${comment}\n`);
        fix.diagnostics = [diag];
        actions.push(fix);
      }
      // A rule id that could break out of the ignore file's line gets no ignore-file fix either.
      if (isSafeRuleId(diag.ruleId)) {
        const ignore = new vscode.CodeAction(
          `Suppress ${diag.ruleId} in .fuzzforge/ignore`,
          vscode.CodeActionKind.QuickFix,
        );
        ignore.command = {
          command: 'fuzzforge.suppressInIgnoreFile',
          title: ignore.title,
          arguments: [document.uri, diag.ruleId],
        };
        ignore.diagnostics = [diag];
        actions.push(ignore);
      }
      if (diag.helpUri) {
        const help = new vscode.CodeAction(`Open help for ${diag.ruleId}`, vscode.CodeActionKind.QuickFix);
        help.command = { command: 'fuzzforge.openRuleHelp', title: help.title, arguments: [diag.helpUri.toString()] };
        actions.push(help);
      }
    }
    return actions;
  }
}

/** Append `RULE path reason` to the workspace folder's .fuzzforge/ignore (created if needed). */
export async function suppressInIgnoreFile(uri: vscode.Uri, ruleId: string): Promise<void> {
  const folder = vscode.workspace.getWorkspaceFolder(uri);
  if (!folder) {
    throw new Error(`${uri.fsPath} is not in a workspace folder`);
  }
  const rel = vscode.workspace.asRelativePath(uri, false);
  const reason = await vscode.window.showInputBox({
    prompt: `Why is ${ruleId} in ${rel} acceptable?`,
    value: 'reviewed',
  });
  if (reason === undefined) {
    return;
  }
  const file = vscode.Uri.joinPath(folder.uri, '.fuzzforge', 'ignore');
  let text: string;
  try {
    text = Buffer.from(await vscode.workspace.fs.readFile(file)).toString('utf8');
  } catch {
    text = '# Reviewed findings: RULE_ID PATH_GLOB reason (see the FuzzForge README)\n';
  }
  const line = ignoreFileLine(ruleId, rel, reason);
  await vscode.workspace.fs.writeFile(
    file,
    Buffer.from(`${text}${text.endsWith('\n') || text === '' ? '' : '\n'}${line}\n`),
  );
}
