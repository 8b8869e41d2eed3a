// Run on save: the workflow `fuzzforge.runOnSave.workflow` names runs after a save, debounced; a new
// save supersedes (cancels) the previous run of that workflow. Only in trusted workspaces.
import * as vscode from 'vscode';
import { toolboxDir } from '../backend/paths';
import { findWorkflow } from '../backend/scan';
import { parseParamArgs } from '../backend/toolbox/params';
import type { ErrorReporter } from './errorReporter';
import type { ScanControl } from './scanControl';

export function activateRunOnSave(
  disposables: vscode.Disposable[],
  deps: {
    log: vscode.LogOutputChannel;
    reporter: ErrorReporter;
    scans: ScanControl;
    config: () => vscode.WorkspaceConfiguration;
  },
): void {
  const { log, reporter, scans, config } = deps;
  let saveTimer: NodeJS.Timeout | undefined;
  disposables.push(
    vscode.workspace.onDidSaveTextDocument((doc) => {
      const workflowName = config().get<string>('runOnSave.workflow') ?? '';
      if (!workflowName || !vscode.workspace.isTrusted) {
        return;
      }
      const folder = vscode.workspace.getWorkspaceFolder(doc.uri);
      if (!folder) {
        return;
      }
      log.info(`saved ${vscode.workspace.asRelativePath(doc.uri)}: ${workflowName} runs on save`);
      clearTimeout(saveTimer);
      saveTimer = setTimeout(
        () => {
          void (async () => {
            try {
              const wf = findWorkflow(toolboxDir(), workflowName);
              await scans.scan(folder.uri, wf, parseParamArgs(wf, []), { silent: true });
            } catch (err) {
              // A popup once per distinct failure: saving again does not repeat it.
              await reporter.report(err, `run on save (${workflowName})`, { once: 'runOnSave' });
            }
          })();
        },
        config().get<number>('runOnSave.delayMs') ?? 1500,
      );
    }),
    { dispose: () => clearTimeout(saveTimer) },
  );
}
