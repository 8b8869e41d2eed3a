// Fuzzing campaigns started from the editor (a harness's CodeLens, Start Fuzzing Campaign…): one
// run per harness, its live statistics panel opened as soon as it is queued, its findings shown
// when it ends. Campaigns build and run workspace code: refused in an untrusted workspace.
import * as vscode from 'vscode';
import { UserError } from '../backend/errors';
import { campaignTarget, type WorkspaceHarness } from '../backend/fuzz/workspaceHarnesses';
import { toolboxDir } from '../backend/paths';
import { findWorkflow } from '../backend/scan';
import type { ErrorReporter } from './errorReporter';
import { FuzzingPanel, type FuzzingPanelDeps } from './fuzzingPanel';
import type { ScanControl } from './scanControl';

export interface CampaignDeps {
  scans: ScanControl;
  reporter: ErrorReporter;
  log: vscode.LogOutputChannel;
  fuzzing: FuzzingPanelDeps;
}

/** Throw the reason when the workspace is not trusted: `what` runs workspace code. */
export function requireTrust(what: string): void {
  if (!vscode.workspace.isTrusted) {
    throw new UserError(
      `${what} builds and runs this workspace's code, and this workspace is not trusted`,
      'trust it first (Workspaces: Manage Workspace Trust) if you trust its code',
    );
  }
}

/**
 * Start one campaign per harness for `seconds` each, open each run's statistics panel when it is
 * queued, and return the run ids. The runs go on in the background: their findings become markers
 * when they end, and a failure is reported then.
 */
export async function startCampaigns(
  deps: CampaignDeps,
  folder: vscode.Uri,
  harnesses: readonly WorkspaceHarness[],
  seconds: number,
): Promise<string[]> {
  requireTrust('A fuzzing campaign');
  const { scans, reporter, log, fuzzing } = deps;
  const runIds: string[] = [];
  // One after the other: each uploads the same workspace, the later ones find its blobs stored.
  for (const h of harnesses) {
    const workflow = findWorkflow(toolboxDir(), h.workflow);
    const target = campaignTarget(h);
    const runId = await new Promise<string>((resolve, reject) => {
      let queued = false;
      scans
        .scan(
          folder,
          workflow,
          { target, max_total_time: seconds },
          {
            silent: true,
            supersedes: `${workflow.name}\n${folder.fsPath}\n${target}`,
            onStarted: (run) => {
              queued = true;
              resolve(run.runId);
              FuzzingPanel.show(fuzzing, run.runId);
            },
          },
        )
        .then(
          (done) => {
            log.info(`campaign ${done.runId} on ${target} ended: ${done.findings} finding(s)`);
            void vscode.window.showInformationMessage(
              `FuzzForge: the campaign on ${h.harness.name} ended with ${done.findings} finding(s) (run ${done.runId}).`,
            );
          },
          (err: unknown) => {
            // Before the run is queued the command reports it; after, this is the only place.
            if (queued) {
              void reporter.report(err, `campaign on ${target}`);
            } else {
              reject(err instanceof Error ? err : new Error(String(err)));
            }
          },
        );
    });
    runIds.push(runId);
  }
  return runIds;
}
