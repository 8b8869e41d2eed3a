// The backend this window uses: the kind the mode setting selects, connecting to it (offering to
// start it when it is down), starting and stopping it with progress in a notification.
import * as vscode from 'vscode';
import { UserError } from '../backend/errors';
import { stateDir } from '../backend/paths';
import { parseBackendMode } from '../backend/services/backend';
import { whichSync } from '../backend/services/binaries';
import {
  composeConnection,
  defaultComposeOptions,
  readComposeState,
  startCompose,
  stopCompose,
} from '../backend/services/compose';
import { defaultEmbeddedOptions, startEmbedded, stopEmbedded } from '../backend/services/embedded';
import type { BackendSession, Connected } from './backendSession';
import { currentBackendKind } from './backendStatus';
import type { ErrorReporter } from './errorReporter';
import { BackendDownError, Cancelled, MissingServiceBinaryError, missingServiceBinaries } from './errors';
import type { BackendKind } from './views/backendModel';

export interface BackendControlDeps {
  session: BackendSession;
  log: vscode.LogOutputChannel;
  reporter: ErrorReporter;
  /** The `fuzzforge.backend.mode` setting as it is now. */
  mode(): string | undefined;
  /** What shows the backend reads it again: the status bar, the Runs view, the Backend view. */
  refreshStatus(): void;
  refreshRuns(): Promise<void>;
  refreshBackendView(): Promise<void>;
}

export class BackendControl {
  constructor(private readonly deps: BackendControlDeps) {}

  /** The backend the mode setting selects now: what Start Backend starts and the Backend view shows. */
  kind(): BackendKind {
    return currentBackendKind(parseBackendMode(this.deps.mode()), stateDir());
  }

  /** The backend this window uses; offers to start the embedded one when it is down. */
  async connect(): Promise<Connected> {
    try {
      return await this.deps.session.connect();
    } catch (err) {
      if (err instanceof BackendDownError && this.deps.mode() !== 'external') {
        const choice = await vscode.window.showWarningMessage('The FuzzForge backend is not running.', 'Start Backend');
        if (choice !== 'Start Backend') {
          throw new Cancelled();
        }
        await this.start();
        return this.deps.session.connect();
      }
      throw err;
    }
  }

  /** Start the backend the mode setting selects (or attach to it), with progress in a notification. */
  async start(): Promise<{ attached: boolean; uiUrl: string }> {
    const { log } = this.deps;
    const kind = this.kind();
    if (kind === 'external') {
      throw new UserError(
        'the backend mode is external: FuzzForge connects to that backend but does not start it',
        'start your Temporal and S3 services, or set fuzzforge.backend.mode to embedded or compose',
      );
    }
    const started =
      kind === 'compose'
        ? await vscode.window.withProgress(
            { location: vscode.ProgressLocation.Notification, title: 'FuzzForge: starting the compose backend' },
            async (progress) => {
              const { state, attached } = await startCompose(defaultComposeOptions(stateDir()), (line) => {
                log.info(line);
                progress.report({ message: line });
              });
              log.info(`compose backend ready: project ${state.project} on ${state.dockerHost}`);
              return { attached, uiUrl: composeConnection(state).temporal.uiUrl ?? '' };
            },
          )
        : await this.startEmbedded();
    this.deps.reporter.reset('runs');
    this.refreshAll();
    return started;
  }

  private async startEmbedded(): Promise<{ attached: boolean; uiUrl: string }> {
    const { log } = this.deps;
    // Temporal and MinIO come from the Go module proxy: say how to get them before trying.
    const missing = missingServiceBinaries();
    if (missing.length > 0) {
      if (!whichSync('go')) {
        throw new MissingServiceBinaryError(missing);
      }
      const choice = await vscode.window.showWarningMessage(
        `FuzzForge needs ${missing.join(' and ')}, which ${missing.length > 1 ? 'are' : 'is'} not installed yet. Build ${missing.length > 1 ? 'them' : 'it'} now with Go (a few minutes, once)? \`npm run setup\` in the FuzzForge checkout does the same.`,
        'Build and Start',
      );
      if (!choice) {
        throw new Cancelled();
      }
    }
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'FuzzForge: starting backend' },
      (progress) =>
        startEmbedded(defaultEmbeddedOptions(stateDir()), (line) => {
          log.info(line);
          progress.report({ message: line });
        }),
    );
    // Started here, or attached to the one another window or `fuzzforge up` started (or was starting).
    log.info(
      `backend ${result.attached ? 'already running, attached' : 'started'}: Temporal ${result.state.temporal.address}, MinIO ${result.state.storage.endpoint} (supervisor pid ${result.state.supervisorPid})`,
    );
    return { attached: result.attached, uiUrl: result.state.temporal.uiUrl };
  }

  /** Stop whichever local backend runs (the embedded one, the compose stack, or both): what stopped. */
  async stop(): Promise<string[]> {
    await this.deps.session.reset();
    const stopped: string[] = [];
    try {
      await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: 'FuzzForge: stopping the backend' },
        async (progress) => {
          if (await stopEmbedded(stateDir())) {
            stopped.push('embedded');
          }
          if (readComposeState(stateDir())) {
            progress.report({ message: 'compose stack (compose down; volumes are kept)' });
            if (await stopCompose(stateDir())) {
              stopped.push('compose');
            }
          }
        },
      );
    } finally {
      this.refreshAll();
    }
    return stopped;
  }

  /** Another mode is another backend: reconnect, and show it in the status bar and the Backend view. */
  watchModeSetting(): vscode.Disposable {
    return vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('fuzzforge.backend.mode')) {
        void this.deps.session.reset().then(() => this.deps.refreshRuns());
        this.deps.refreshStatus();
        void this.deps.refreshBackendView();
      }
    });
  }

  private refreshAll(): void {
    this.deps.refreshStatus();
    void this.deps.refreshRuns();
    void this.deps.refreshBackendView();
  }
}
