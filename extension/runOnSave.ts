// Run on save: the workflow `fuzzforge.runOnSave.workflow` names runs after a save, debounced; a new
// save supersedes (cancels) the previous run of that workflow. Only in trusted workspaces.
import * as vscode from 'vscode';
import { toolboxDir } from '../backend/paths';
import { findWorkflow } from '../backend/scan';
import { parseParamArgs } from '../backend/toolbox/params';
import type { ErrorReporter } from './errorReporter';
import type { ScanControl } from './scanControl';

/**
 * How long a run on save waits, once its results are stored, before they are matched against the
 * previous run (their new/unchanged marks), when saves come quickly. The next save's run cancels
 * it: a save that follows the markers within this time no longer pays for matching results it
 * replaces (a .NET process of about 0.4 s of CPU that shared the two cores with the next run).
 */
export const RUN_ON_SAVE_MATCH_AFTER_MS = 1000;
/**
 * Saves come quickly when this one came less than this long after the previous run's results
 * showed: its run likely gets superseded too, so it pauses before matching. A save after a longer
 * look at the results gets its marks at once (a pause would only move the matching closer to the
 * next save).
 */
export const RUN_ON_SAVE_QUICK_MS = 1000;

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
              const quick = scans.sinceResultsShown(wf.name) < RUN_ON_SAVE_QUICK_MS;
              await scans.scan(folder.uri, wf, parseParamArgs(wf, []), {
                silent: true,
                ...(quick ? { matchAfterMs: RUN_ON_SAVE_MATCH_AFTER_MS } : {}),
              });
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
