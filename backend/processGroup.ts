// Tools run detached in their own process group, so a cancel or timeout can end the tool and
// everything it started (compilers, fuzzer workers) at once.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';

/** Kill a process group we started (detached), ignoring one that is already gone. */
export function killGroup(pid: number | undefined, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (!pid) {
    return;
  }
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

export interface WatchedOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** The process whose end ends the group (default: this one). */
  watch?: number;
  /** Seconds between checks that `watch` is alive (default 1). */
  pollSeconds?: number;
}

/**
 * The shell that starts a watched command: the command in the background, beside it a watcher
 * that kills the whole group once the watched process is gone, then the command's exit status.
 * The watcher's output goes nowhere, so the pipes close the moment the command ends (a watcher
 * holding them in its `sleep` reported every end up to a poll period late).
 */
const WATCHED =
  'p=$1; t=$2; shift 2; "$@" & c=$!; ' +
  '( while kill -0 "$p" 2>/dev/null; do sleep "$t"; done; kill -9 -$$ ) </dev/null >/dev/null 2>&1 & w=$!; ' +
  'wait $c; s=$?; kill $w 2>/dev/null; exit $s';

/** First word of a watched process group's shell: lets a process list tell the shell from the command. */
export const WATCHED_SHELL_NAME = 'fuzzforge-fuzz';

/**
 * Start `command` detached in its own process group (no shell parses its arguments) under a
 * watchdog that ends the group when the watched process (this worker) dies, so a killed worker
 * leaves no fuzzer running. The child's exit code is the command's.
 */
export function spawnWatched(
  command: string,
  args: readonly string[],
  options: WatchedOptions,
): ChildProcessByStdio<null, Readable, Readable> {
  return spawn(
    '/bin/sh',
    [
      '-c',
      WATCHED,
      WATCHED_SHELL_NAME,
      String(options.watch ?? process.pid),
      String(options.pollSeconds ?? 1),
      command,
      ...args,
    ],
    { cwd: options.cwd, env: options.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
}
