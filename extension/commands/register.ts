// One wrapper for every command: cancellation is quiet, errors are short popups with the full
// text in the log channel and a button that fixes them when there is one.
import * as vscode from 'vscode';
import { COMMAND_IDS, type CommandHandlers } from '../commandIds';
import type { ErrorReporter } from '../errorReporter';

export function registerCommands(
  disposables: vscode.Disposable[],
  handlers: CommandHandlers,
  reporter: ErrorReporter,
): void {
  for (const id of COMMAND_IDS) {
    // The arguments are whatever the caller passed; each handler checks the ones it uses.
    const handler = handlers[id] as (...args: unknown[]) => Promise<unknown>;
    disposables.push(
      vscode.commands.registerCommand(id, async (...args: unknown[]) => {
        try {
          return await handler(...args);
        } catch (err) {
          await reporter.report(err, `${id} failed`);
          return undefined;
        }
      }),
    );
  }
}
