// VS Code entry point: wires features; each feature owns its disposables. The backend library
// does the work, exactly as it does for the CLI.
import * as vscode from 'vscode';
import { describeError } from '../backend/errors';
import { stateDir } from '../backend/paths';
import {
  checkHealth,
  defaultEmbeddedOptions,
  runningEmbedded,
  startEmbedded,
  stopEmbedded,
} from '../backend/services/embedded';

type CommandId = 'fuzzforge.startBackend' | 'fuzzforge.stopBackend' | 'fuzzforge.showBackendStatus';

export interface FuzzforgeApi {
  readonly log: vscode.OutputChannel;
}

export function activate(context: vscode.ExtensionContext): FuzzforgeApi {
  const log = vscode.window.createOutputChannel('FuzzForge', { log: true });
  context.subscriptions.push(log);

  const commands: Record<CommandId, () => Promise<void>> = {
    'fuzzforge.startBackend': async () => {
      const result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: 'FuzzForge: starting backend' },
        (progress) =>
          startEmbedded(defaultEmbeddedOptions(stateDir()), (line) => {
            log.info(line);
            progress.report({ message: line });
          }),
      );
      void vscode.window.showInformationMessage(
        result.attached
          ? 'FuzzForge backend already running.'
          : `FuzzForge backend ready (Temporal UI ${result.state.temporal.uiUrl}).`,
      );
    },
    'fuzzforge.stopBackend': async () => {
      const stopped = await stopEmbedded(stateDir());
      void vscode.window.showInformationMessage(
        stopped ? 'FuzzForge backend stopped.' : 'FuzzForge backend was not running.',
      );
    },
    'fuzzforge.showBackendStatus': async () => {
      const state = runningEmbedded(stateDir());
      if (!state) {
        const choice = await vscode.window.showWarningMessage('FuzzForge backend is not running.', 'Start Backend');
        if (choice) {
          await vscode.commands.executeCommand('fuzzforge.startBackend');
        }
        return;
      }
      const health = await checkHealth(state);
      const text = `Temporal ${health.temporal ? 'healthy' : 'down'} (${state.temporal.address}), MinIO ${health.storage ? 'healthy' : 'down'} (${state.storage.endpoint}), workers: ${health.workers.map((w) => `${w.vertical} ${w.status}`).join(', ') || 'none'}`;
      log.info(text);
      void vscode.window.showInformationMessage(`FuzzForge: ${text}`);
    },
  };

  for (const [id, handler] of Object.entries(commands) as [CommandId, () => Promise<void>][]) {
    context.subscriptions.push(
      vscode.commands.registerCommand(id, async () => {
        try {
          await handler();
        } catch (err) {
          log.error(`${id} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
          void vscode.window.showErrorMessage(`FuzzForge: ${describeError(err)}`, 'Show Log').then((choice) => {
            if (choice) {
              log.show();
            }
          });
        }
      }),
    );
  }
  return { log };
}

export function deactivate(): void {
  // The embedded backend outlives the window on purpose; nothing to stop here.
}
