// The one error path: commands, tree actions, run on save, re-attached runs and polling all end
// here. Cancellation is quiet; a popup says what went wrong in a line and offers what fixes it; the
// log channel gets the full error and stack; a loop does not repeat a popup it already showed.
import * as vscode from 'vscode';
import { describeError } from '../backend/errors';
import { Cancelled, errorActions } from './errors';

export class ErrorReporter {
  private readonly shownOnce = new Set<string>();

  constructor(private readonly log: vscode.LogOutputChannel) {}

  /**
   * Log `err` in full and show it. `once`: a key; a second error with the same key and message is
   * only logged (polling, run on save).
   */
  async report(err: unknown, where: string, options: { once?: string } = {}): Promise<void> {
    if (err instanceof Cancelled) {
      return;
    }
    this.log.error(`${where}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    const text = describeError(err);
    if (options.once !== undefined) {
      const key = `${options.once}\n${text}`;
      if (this.shownOnce.has(key)) {
        return;
      }
      this.shownOnce.add(key);
    }
    const choice = await vscode.window.showErrorMessage(`FuzzForge: ${text}`, ...errorActions(err));
    if (choice === 'Start Backend') {
      await vscode.commands.executeCommand('fuzzforge.startBackend');
    } else if (choice === 'Show Logs') {
      this.log.show();
    }
  }

  /** Forget the popups shown for `key` (the condition went away; show it again if it returns). */
  reset(key: string): void {
    for (const k of this.shownOnce) {
      if (k.startsWith(`${key}\n`)) {
        this.shownOnce.delete(k);
      }
    }
  }
}
