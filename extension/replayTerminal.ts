// A terminal a long piece of work writes into while it runs (a crash replay: build, then the
// harness's output), so people can watch it; Ctrl-C or closing the terminal cancels it.
import * as vscode from 'vscode';

export interface TerminalWork {
  /** Write text (any line endings) to the terminal. */
  write: (text: string) => void;
  /** Aborted on Ctrl-C or when the terminal is closed. */
  signal: AbortSignal;
}

/** Run `work` with a new terminal named `name` as its output; the terminal stays open after it. */
export async function runInTerminal<T>(name: string, work: (t: TerminalWork) => Promise<T>): Promise<T> {
  const writeEmitter = new vscode.EventEmitter<string>();
  const cancel = new AbortController();
  let opened!: () => void;
  const ready = new Promise<void>((resolve) => (opened = resolve));
  const pty: vscode.Pseudoterminal = {
    onDidWrite: writeEmitter.event,
    open: () => opened(),
    close: () => cancel.abort(),
    handleInput: (data) => {
      if (data === '\x03') {
        writeEmitter.fire('^C\r\n');
        cancel.abort();
      }
    },
  };
  const terminal = vscode.window.createTerminal({ name, pty, iconPath: new vscode.ThemeIcon('debug-rerun') });
  terminal.show(true);
  // The terminal writes nothing before it is opened; do not wait forever for a hidden panel.
  await Promise.race([ready, new Promise((resolve) => setTimeout(resolve, 2000))]);
  const write = (text: string) => writeEmitter.fire(text.replace(/\r?\n/g, '\r\n'));
  try {
    return await work({ write, signal: cancel.signal });
  } finally {
    write('\n');
  }
}
