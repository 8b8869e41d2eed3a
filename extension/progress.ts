// Progress messages as the window should get them: each one is a redraw there.
import type * as vscode from 'vscode';

/** How often the same step's counts (files hashed, sent) may update the progress message. */
const PROGRESS_COUNT_MS = 250;

/**
 * `progress` without repeats, and with a step's changing counts at most every PROGRESS_COUNT_MS:
 * each message is a redraw in the window, and a one-file upload alone reported a handful within
 * 0.1 s. A new step (the message's first word) shows at once.
 */
export function steadyProgress(
  progress: vscode.Progress<{ message?: string }>,
  now: () => number = Date.now,
): vscode.Progress<{ message?: string }> {
  let last: string | undefined;
  let at = 0;
  return {
    report(value) {
      const message = value.message ?? '';
      if (message === last) {
        return;
      }
      const step = (text: string | undefined) => text?.split(' ')[0];
      if (step(message) === step(last) && now() - at < PROGRESS_COUNT_MS) {
        return;
      }
      last = message;
      at = now();
      progress.report(value);
    },
  };
}
