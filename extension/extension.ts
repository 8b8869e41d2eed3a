// VS Code entry point: builds the features in dependency order and pushes each into the
// extension's subscriptions; the features own their behaviour (commands/, views/, the status bar,
// run on save, scans, the backend control). The backend library does the work, as for the CLI.
import * as vscode from 'vscode';
import { stateDir, toolboxDir } from '../backend/paths';
import { findWorkflow } from '../backend/scan';
import { BackendControl } from './backendControl';
import { BackendSession } from './backendSession';
import { BackendStatus } from './backendStatus';
import { FindingCodeActions } from './codeActions';
import { commandHandlers } from './commands';
import { activateCrashDebuggers } from './debug/adapters';
import { registerCommands } from './commands/register';
import { ErrorReporter } from './errorReporter';
import { FindingsStore } from './findings';
import { listCrashes } from '../backend/fuzzing';
import type { CrashPanelDeps } from './crashPanel';
import { activateFindingsRestore } from './findingsRestore';
import { HarnessLenses } from './harnessLens';
import { RunsModel } from './runs';
import { activateRunOnSave } from './runOnSave';
import { ScanControl } from './scanControl';
import { StatusBar } from './statusBar';
import { BackendView } from './views/backendView';
import { CrashesView } from './views/crashesView';
import { FindingsView } from './views/findingsView';
import { RunsView } from './views/runsView';

export interface FuzzforgeApi {
  readonly log: vscode.LogOutputChannel;
  readonly findings: FindingsStore;
  readonly runs: RunsModel;
  readonly views: {
    readonly runs: RunsView;
    readonly findings: FindingsView;
    readonly backend: BackendView;
    readonly crashes: CrashesView;
  };
  /** The harnesses a campaign would fuzz, and their CodeLens. */
  readonly harnesses: HarnessLenses;
  /** Scan a folder with a workflow, as the palette command does (for tests). */
  scan(
    folder: vscode.Uri,
    workflow: string,
    params?: Record<string, unknown>,
  ): Promise<{ runId: string; findings: number }>;
}

export function activate(context: vscode.ExtensionContext): FuzzforgeApi {
  const subscriptions = context.subscriptions;
  const log = vscode.window.createOutputChannel('FuzzForge', { log: true });
  const reporter = new ErrorReporter(log);
  const findings = new FindingsStore();
  const config = () => vscode.workspace.getConfiguration('fuzzforge');
  const mode = () => config().get<string>('backend.mode');
  const session = new BackendSession(mode, log);
  const startedAt = new Date();
  const runsModel: RunsModel = new RunsModel(session, {
    log,
    // The first listing happens after activate() returns, when `scans` exists.
    reattach: (run, folder) => scans.reattach(run, folder),
    onError: (err) => void reporter.report(err, 'listing runs', { once: 'runs' }),
    startedAt,
  });
  const runsView = new RunsView(runsModel);
  const findingsView = new FindingsView(findings);
  const backendStatus = new BackendStatus({
    mode,
    stateDir: () => stateDir(),
    log,
    onError: (err) => void reporter.report(err, 'reading the backend', { once: 'backendView' }),
  });
  const backendView = new BackendView(backendStatus);
  const backend: BackendControl = new BackendControl({
    session,
    log,
    reporter,
    mode,
    refreshStatus: () => statusBar.refresh(),
    refreshRuns: () => runsModel.refresh(),
    refreshBackendView: () => backendView.refresh(),
  });
  const statusBar = new StatusBar({ findings, runs: runsModel, backendKind: () => backend.kind() });
  const scans = new ScanControl({ log, reporter, findings, runs: runsModel, session, backend, config });
  const harnessLenses = new HarnessLenses({ runs: runsModel, session, log });
  subscriptions.push(
    log,
    findings,
    statusBar,
    session,
    runsModel,
    runsView,
    findingsView,
    backendStatus,
    backendView,
    backend.watchModeSetting(),
    harnessLenses,
  );

  const fuzzing: CrashPanelDeps = {
    extensionUri: context.extensionUri,
    connect: () => backend.connect(),
    log,
    report: (err, doing) => void reporter.report(err, doing),
    storageDir: context.globalStorageUri.fsPath,
  };
  const crashesView = new CrashesView(runsModel, {
    // Listing crashes never asks to start the backend (the Runs model lists runs only when it is up).
    listCrashes: async (runId) => {
      const connected = await session.tryConnect();
      if (!connected) {
        throw new Error('the backend is not running');
      }
      return listCrashes(connected.conn, runId);
    },
    openCommand: 'fuzzforge.openCrash',
    log,
  });
  subscriptions.push(crashesView);
  const handlers = commandHandlers(
    {
      extension: context,
      log,
      reporter,
      config,
      backend,
      scans,
      runs: runsModel,
      findingsView,
      backendView,
      fuzzing,
      crashesView,
      harnessLenses,
    },
    subscriptions,
  );
  registerCommands(subscriptions, handlers, reporter);

  subscriptions.push(
    vscode.languages.registerCodeActionsProvider({ scheme: 'file' }, new FindingCodeActions(), {
      providedCodeActionKinds: FindingCodeActions.kinds,
    }),
  );
  activateRunOnSave(subscriptions, { log, reporter, scans, config });
  subscriptions.push(
    vscode.languages.registerCodeLensProvider(
      ['python', 'c', 'cpp', 'go', 'rust'].map((language) => ({ scheme: 'file', language })),
      harnessLenses,
    ),
  );
  activateFindingsRestore(subscriptions, { runs: runsModel, session, findings, log, startedAt });
  activateCrashDebuggers(subscriptions, log);

  // The first listing re-attaches runs that were running before the editor started; it waits for
  // activate() to return (nothing slow happens during activation).
  const firstListing = setTimeout(() => void runsModel.refresh(), 0);
  subscriptions.push({ dispose: () => clearTimeout(firstListing) });

  return {
    log,
    findings,
    runs: runsModel,
    views: { runs: runsView, findings: findingsView, backend: backendView, crashes: crashesView },
    harnesses: harnessLenses,
    scan: (folder, workflow, params = {}) => scans.scan(folder, findWorkflow(toolboxDir(), workflow), params),
  };
}

export function deactivate(): void {
  // The embedded backend outlives the window on purpose; nothing to stop here.
}
