// Running external analysis tools from activities: no shell, argument arrays, bounded time and
// output, heartbeats while they run, and the whole process group killed on cancel or timeout.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { timerDelayMs } from '../../backend/concurrency';
import { toolEnv } from '../../backend/environment';
import { toolPath, toolSearchPath } from '../../backend/toolbox/tools';
import { killGroup } from '../../backend/processGroup';
import { cancellationSignal, checkpoint } from './runtime';

export interface ToolRun {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** True when stdout or stderr was longer than the bound and got cut. */
  truncated: boolean;
  durationMs: number;
}

export interface ToolRunOptions {
  cwd: string;
  timeoutMs?: number;
  /** Per stream; the rest is dropped (default 64 MiB for stdout, 1 MiB for stderr). */
  maxStdoutBytes?: number;
  maxStderrBytes?: number;
  env?: NodeJS.ProcessEnv;
  /** Heartbeat details while the tool runs. */
  progress?: () => unknown;
  /** A lower CPU priority (nice value, 1-19) for work nobody is waiting on. */
  niceness?: number;
}

export class ToolMissingError extends Error {
  constructor(readonly command: string) {
    super(`${command} is not installed on this worker`);
    this.name = 'ToolMissingError';
  }
}

/** Resolve a tool command or throw ToolMissingError (callers turn it into a SARIF notification). */
export function requireTool(command: string): string {
  const found = toolPath(command);
  if (!found) {
    throw new ToolMissingError(command);
  }
  return found;
}

/**
 * Give a tool started in a session of its own (`detached`) a lower CPU priority. Where Linux groups
 * the CPU time of each session (autogroup, on in most desktop kernels), a process's own nice value
 * only ranks it within its session: against every other session it would still get a full share,
 * so the session's nice value is set too. Best effort: a tool that already ended, or a system that
 * refuses, leaves the tool at the normal priority.
 */
function lowerPriority(pid: number, niceness: number): void {
  try {
    // At once, before the tool starts its threads: they inherit it.
    os.setPriority(pid, niceness);
  } catch {
    // Ended already, or refused.
  }
  if (process.platform === 'linux') {
    try {
      // The spawn returned after the child's setsid and exec: this is the tool's own session.
      fs.writeFileSync(`/proc/${pid}/autogroup`, String(niceness));
    } catch {
      // No autogroup in this kernel (the nice value above is then all there is), or ended already.
    }
  }
}

/** Run a tool to completion (any exit code); throws only when it cannot start or on cancel. */
export async function runTool(command: string, args: readonly string[], options: ToolRunOptions): Promise<ToolRun> {
  const started = Date.now();
  const maxOut = options.maxStdoutBytes ?? 64 * 1024 * 1024;
  const maxErr = options.maxStderrBytes ?? 1024 * 1024;
  // Tools run on workspace code: they get no backend credentials and no outer npm configuration.
  const env = {
    ...toolEnv(),
    ...options.env,
    PATH: [...toolSearchPath(), process.env.PATH ?? ''].join(':'),
  };
  const child = spawn(command, [...args], { cwd: options.cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  if (options.niceness && child.pid) {
    lowerPriority(child.pid, Math.max(os.getPriority(), options.niceness));
  }
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let outBytes = 0;
  let errBytes = 0;
  let truncated = false;
  child.stdout.on('data', (chunk: Buffer) => {
    if (outBytes < maxOut) {
      out.push(chunk.subarray(0, maxOut - outBytes));
    } else {
      truncated = true;
    }
    outBytes += chunk.length;
  });
  child.stderr.on('data', (chunk: Buffer) => {
    if (errBytes < maxErr) {
      err.push(chunk.subarray(0, maxErr - errBytes));
    } else {
      truncated = true;
    }
    errBytes += chunk.length;
  });
  let timedOut = false;
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  const timer = options.timeoutMs
    ? setTimeout(() => {
        timedOut = true;
        killGroup(child.pid);
      }, timerDelayMs(options.timeoutMs))
    : undefined;
  let beat: NodeJS.Timeout | undefined;
  // A cancel ends the tool the moment it reaches the activity (at once for a local activity; at a
  // heartbeat's answer for another), not at the next of these heartbeats.
  const signal = cancellationSignal();
  let onAbort = () => undefined as void;
  const cancelled = new Promise<never>((_, reject) => {
    const stop = (cancel: unknown) => {
      killGroup(child.pid);
      reject(cancel instanceof Error ? cancel : new Error(String(cancel)));
    };
    onAbort = () => stop(signal?.reason ?? new Error('cancelled'));
    if (signal?.aborted) {
      onAbort();
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    beat = setInterval(() => {
      try {
        checkpoint(options.progress?.() ?? { tool: command, elapsedMs: Date.now() - started });
      } catch (cancel) {
        stop(cancel);
      }
    }, 2000);
  });
  try {
    const { code, signal } = await Promise.race([closed, cancelled]);
    return {
      exitCode: code,
      signal,
      stdout: Buffer.concat(out).toString('utf8'),
      stderr: Buffer.concat(err).toString('utf8'),
      timedOut,
      truncated,
      durationMs: Date.now() - started,
    };
  } finally {
    clearTimeout(timer);
    clearInterval(beat);
    signal?.removeEventListener('abort', onAbort);
  }
}

/** The last lines of a tool's stderr, for notifications. */
export function stderrExcerpt(stderr: string, lines = 8): string {
  return stderr.trim().split('\n').slice(-lines).join('\n');
}
