// Commands that start a scan from the palette and export the last one's SARIF log.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { UserError } from '../../backend/errors';
import { toolboxDir } from '../../backend/paths';
import { discoverWorkflows, type WorkflowDefinition } from '../../backend/toolbox/discovery';
import { availableVerticals } from '../../backend/toolbox/verticals';
import { Cancelled } from '../errors';
import { requireTrust } from '../campaigns';
import type { CommandContext, HandlersOf } from './context';
import { askScanParams } from './scanParams';

type ScanCommand = 'fuzzforge.scanWorkspace' | 'fuzzforge.exportSarif';

export async function pickFolder(placeHolder = 'Folder to scan'): Promise<vscode.WorkspaceFolder> {
  const folders = vscode.workspace.workspaceFolders ?? [];
  if (folders.length === 0) {
    throw new UserError('open a folder to scan it');
  }
  if (folders.length === 1) {
    return folders[0] as vscode.WorkspaceFolder;
  }
  const folder = await vscode.window.showWorkspaceFolderPick({ placeHolder });
  if (!folder) {
    throw new Cancelled();
  }
  return folder;
}

async function pickWorkflow(): Promise<WorkflowDefinition> {
  const { workflows } = discoverWorkflows(toolboxDir());
  const availability = new Map(availableVerticals(toolboxDir()).map((v) => [v.vertical, v]));
  const pick = await vscode.window.showQuickPick(
    workflows.map((w) => {
      const v = availability.get(w.vertical);
      return {
        label: w.name,
        description: `${w.vertical} · v${w.version}${v?.available ? '' : ' · unavailable'}`,
        detail: v?.available
          ? w.description
          : `Not available here: ${v?.reason ?? 'unknown vertical'}. ${w.description}`,
        workflow: w,
      };
    }),
    { placeHolder: 'Workflow to run', matchOnDetail: true },
  );
  if (!pick) {
    throw new Cancelled();
  }
  return pick.workflow;
}

export function scanCommands(ctx: CommandContext): HandlersOf<ScanCommand> {
  const { scans, extension } = ctx;
  return {
    'fuzzforge.scanWorkspace': async () => {
      const folder = await pickFolder();
      const wf = await pickWorkflow();
      if (wf.tags.includes('fuzzing')) {
        requireTrust(`A ${wf.name} campaign`);
      }
      const params = await askScanParams(wf, extension.workspaceState);
      await scans.scanAndReport(folder.uri, wf, params);
    },
    'fuzzforge.exportSarif': async () => {
      const lastRun = scans.lastRun;
      if (!lastRun) {
        throw new UserError('no run finished in this window yet', 'run FuzzForge: Scan Workspace first');
      }
      const target = await vscode.window.showSaveDialog({
        filters: { SARIF: ['sarif', 'json'] },
        defaultUri: vscode.Uri.file(
          path.join(vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? '.', `${lastRun.runId}.sarif`),
        ),
      });
      if (target) {
        await fs.promises.writeFile(target.fsPath, JSON.stringify(lastRun.log, null, 2));
      }
    },
  };
}
