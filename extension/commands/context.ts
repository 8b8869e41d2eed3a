// What command handlers work with: the parts activate() builds, passed in rather than reached
// through closures, so each group of commands lives in a file of its own.
import type * as vscode from 'vscode';
import type { BackendControl } from '../backendControl';
import type { CommandHandlers, CommandId } from '../commandIds';
import type { ErrorReporter } from '../errorReporter';
import type { CrashPanelDeps } from '../crashPanel';
import type { HarnessLenses } from '../harnessLens';
import type { RunsModel } from '../runs';
import type { ScanControl } from '../scanControl';
import type { BackendView } from '../views/backendView';
import type { CrashesView } from '../views/crashesView';
import type { FindingsView } from '../views/findingsView';

export interface CommandContext {
  extension: Pick<vscode.ExtensionContext, 'globalStorageUri' | 'workspaceState'>;
  log: vscode.LogOutputChannel;
  reporter: ErrorReporter;
  config: () => vscode.WorkspaceConfiguration;
  backend: BackendControl;
  scans: ScanControl;
  runs: RunsModel;
  findingsView: FindingsView;
  backendView: BackendView;
  /** What the stats and crash panels and the crash actions need. */
  fuzzing: CrashPanelDeps;
  crashesView: CrashesView;
  harnessLenses: HarnessLenses;
}

/** The handlers of some of the commands: each file of commands/ provides one such group. */
export type HandlersOf<K extends CommandId> = Pick<CommandHandlers, K>;
