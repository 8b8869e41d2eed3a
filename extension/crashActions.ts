// What can be done with one crash from the Crashes view or its detail panel, besides replay
// (fuzzingPanel.ts replayInEditor): download its files to this machine, copy the input's path,
// keep the input as a regression input in the harness's seed corpus folder.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { UserError } from '../backend/errors';
import { regressionFileName, regressionFolder, saveRegressionInput } from '../backend/fuzz/regression';
import { saveCrashes } from '../backend/fuzzing';
import type { CrashRecord } from '../toolbox/shared/fuzzing';
import type { Connected } from './backendSession';
import { requireTrust } from './fuzzingPanel';
import type { RunEntry } from './runs';

export interface CrashActionDeps {
  connect(): Promise<Pick<Connected, 'conn'>>;
  /** Where downloaded crash files are kept (the extension's global storage). */
  storageDir: string;
}

/** The local files of a crash (downloaded once): input, minimised input when stored, stack text. */
export interface LocalCrash {
  input: string;
  minimized?: string;
  stack: string;
}

/** Download a crash's files into <storage>/crashes/<run id>/ unless they are there already. */
export async function localCrash(deps: CrashActionDeps, runId: string, crash: CrashRecord): Promise<LocalCrash> {
  // Run ids come from Temporal: one plain path segment, nothing else.
  if (!/^[\w.-]{1,200}$/.test(runId) || runId === '.' || runId === '..') {
    throw new UserError(`run id ${JSON.stringify(runId).slice(0, 80)} cannot be a folder name`);
  }
  const dir = path.join(deps.storageDir, 'crashes', runId);
  const input = path.join(dir, `crash-${crash.id}`);
  const files: LocalCrash = {
    input,
    ...(crash.minimizedKey ? { minimized: `${input}.min` } : {}),
    stack: `${input}.txt`,
  };
  if (![files.input, files.minimized, files.stack].every((f) => f === undefined || fs.existsSync(f))) {
    const { conn } = await deps.connect();
    // saveCrashes refuses a record whose id is not a crash signature.
    await saveCrashes(conn, [crash], dir);
  }
  return files;
}

/** Copy the path of the crash's downloaded input to the clipboard; returns it. */
export async function copyInputPath(deps: CrashActionDeps, run: RunEntry, crash: CrashRecord): Promise<string> {
  const { input } = await localCrash(deps, run.runId, crash);
  await vscode.env.clipboard.writeText(input);
  void vscode.window.showInformationMessage(`Copied the path of crash ${crash.id.slice(0, 8)}'s input: ${input}`);
  return input;
}

/**
 * Keep the crash's input (the minimised one when stored: it fails the same way) in the folder
 * its harness's seed corpus uses, so later campaigns start from it. Never overwrites.
 */
export async function saveAsRegression(deps: CrashActionDeps, run: RunEntry, crash: CrashRecord): Promise<string> {
  requireTrust('Saving a regression input', 'it writes into the workspace, and later campaigns and tests run it');
  const root = run.folder?.uri.fsPath ?? run.memo?.workspaceRoot;
  if (!root || !fs.existsSync(root)) {
    throw new UserError(`the folder run ${run.runId} fuzzed is not open`, 'open it to save regression inputs into it');
  }
  const folder = regressionFolder(crash, run.memo?.params?.seed_corpus);
  const local = await localCrash(deps, run.runId, crash);
  const file = await saveRegressionInput(root, folder, regressionFileName(crash), local.minimized ?? local.input);
  void vscode.window
    .showInformationMessage(`Saved crash ${crash.id.slice(0, 8)} as ${path.relative(root, file)}`, 'Open Folder')
    .then((choice) => {
      if (choice === 'Open Folder') {
        void vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(file));
      }
    });
  return file;
}
