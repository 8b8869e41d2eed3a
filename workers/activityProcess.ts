// The worker host runs its toolbox activities in a child process, the activity process
// (workers/activityProcessMain.ts), started when work comes and ended once none has come for a
// while (FUZZFORGE_ACTIVITY_IDLE_SECONDS). Two reasons:
// - memory: what an activity leaves in a process (the code compiled for its first run, the heap's
//   high-water mark, malloc's freed pages) is given back to the system with the process, so a host
//   left up all day returns to its idle size after work;
// - faults: an activity that takes its process down (out of memory in a huge tool output, a native
//   crash) fails only the activities running in it, which Temporal retries; the host's Workers
//   keep polling.
// The host's Temporal Worker still owns each task: a proxy activity forwards its arguments and
// info, relays heartbeats and logs back to the real activity context and the cancellation to the
// process, and throws what the activity threw.
import { fork, type ChildProcess } from 'node:child_process';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityMap } from './activityModules';
import { decodeError, type FromActivityProcess, type ToActivityProcess } from './activityProtocol';
import { amountFromEnv } from '../backend/settings';

/** The failure type of the activities running in an activity process that ended under them. */
export const ACTIVITY_PROCESS_EXITED = 'ActivityProcessExited';

/** Default seconds without work before the activity process ends. */
export const DEFAULT_ACTIVITY_IDLE_SECONDS = 60;

/** Seconds from the environment (FUZZFORGE_ACTIVITY_IDLE_SECONDS; 0 ends it after each batch). */
export function activityIdleSecondsFromEnv(env: NodeJS.ProcessEnv): number {
  return amountFromEnv(
    env,
    'FUZZFORGE_ACTIVITY_IDLE_SECONDS',
    DEFAULT_ACTIVITY_IDLE_SECONDS,
    'seconds (how long the activity process stays without work)',
  );
}

export interface ActivityProcessOptions {
  /** The program (dist/activityProcess.js). */
  entry: string;
  /** The compiled toolbox modules it loads; must stay while this lives. */
  moduleFile: string;
  idleSeconds: number;
  log: (line: string) => void;
}

interface Pending {
  name: string;
  child: ChildProcess;
  context: Context;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

export class ActivityProcess {
  private child: ChildProcess | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private idleTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Runs waiting for a process to start. */
  private starting = 0;
  /**
   * A process told to stop that has not exited yet: the next one waits for it, since the folders
   * it owns (the target cache) go to the next process only when it is gone.
   */
  private exiting: Promise<void> | undefined;
  /** Processes started (tests, logs). */
  started = 0;

  constructor(private readonly options: ActivityProcessOptions) {}

  /** The pid of the running activity process, if one runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Activities running in the process now. */
  get running(): number {
    return this.pending.size;
  }

  /** A proxy for each named activity. */
  proxies(names: readonly string[]): ActivityMap {
    return Object.fromEntries(names.map((name) => [name, (...args: unknown[]) => this.run(name, args)] as const));
  }

  /** No new work; the process ends once its running activities have (the generation stopped). */
  close(): void {
    this.closed = true;
    if (this.idle()) {
      this.stop();
    }
  }

  private idle(): boolean {
    return this.pending.size === 0 && this.starting === 0;
  }

  private async ensure(): Promise<ChildProcess> {
    await this.exiting;
    if (this.child) {
      return this.child;
    }
    const child = fork(this.options.entry, [this.options.moduleFile], {
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      // Not the host's flags (a heap limit or inspector meant for the host).
      execArgv: [],
    });
    this.started++;
    this.child = child;
    child.on('message', (message: FromActivityProcess) => this.onMessage(message));
    child.on('error', (err) => this.options.log(`activity process: ${err.message}`));
    child.on('exit', (code, signal) => {
      if (this.child === child) {
        this.child = undefined;
      }
      this.failRunning(child, code, signal);
    });
    return child;
  }

  /**
   * Run one activity in the process (started if it does not run), from inside the host's activity
   * of that task: its context's heartbeats, logs and cancellation are relayed.
   */
  async run(name: string, args: unknown[]): Promise<unknown> {
    const context = Context.current();
    if (this.closed) {
      throw ApplicationFailure.retryable(
        `${name} reached a toolbox version that is being replaced`,
        ACTIVITY_PROCESS_EXITED,
      );
    }
    clearTimeout(this.idleTimer);
    this.starting++;
    let child: ChildProcess;
    try {
      child = await this.ensure();
    } finally {
      this.starting--;
    }
    const id = this.nextId++;
    const onCancel = () => {
      const reason = context.cancellationSignal.reason as Error | undefined;
      this.sendTo(child, {
        t: 'cancel',
        id,
        reason: reason?.message ?? 'CANCELLED',
        details: plain(context.cancellationDetails),
      });
    };
    return new Promise<unknown>((resolve, reject) => {
      this.pending.set(id, { name, child, context, resolve, reject });
      const sent = this.sendTo(child, { t: 'run', id, name, args, info: context.info });
      if (!sent) {
        this.pending.delete(id);
        reject(
          ApplicationFailure.retryable(
            `${name} could not be sent to the activity process (pid ${child.pid}); Temporal retries it`,
            ACTIVITY_PROCESS_EXITED,
          ),
        );
        return;
      }
      if (context.cancellationSignal.aborted) {
        onCancel();
      } else {
        context.cancellationSignal.addEventListener('abort', onCancel, { once: true });
      }
    }).finally(() => {
      context.cancellationSignal.removeEventListener('abort', onCancel);
      this.pending.delete(id);
      if (this.idle()) {
        if (this.closed) {
          this.stop();
        } else {
          this.armIdle();
        }
      }
    });
  }

  private sendTo(child: ChildProcess, message: ToActivityProcess): boolean {
    if (!child.connected) {
      return false;
    }
    try {
      child.send(message);
      return true;
    } catch (err) {
      this.options.log(`activity process: could not send ${message.t}: ${(err as Error).message}`);
      return false;
    }
  }

  private onMessage(message: FromActivityProcess): void {
    if (message.t === 'ready') {
      return;
    }
    const pending = this.pending.get(message.id);
    if (!pending) {
      return;
    }
    if (message.t === 'heartbeat') {
      pending.context.heartbeat(message.details);
    } else if (message.t === 'log') {
      pending.context.log.log(message.level, message.message, message.meta);
    } else if (message.error) {
      pending.reject(decodeError(message.error));
    } else {
      pending.resolve(message.value);
    }
  }

  private failRunning(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    const how = signal ? `was killed (${signal})` : `exited with code ${code}`;
    const lost = [...this.pending].filter(([, p]) => p.child === child);
    if (lost.length > 0) {
      this.options.log(`activity process ${child.pid} ${how} while running ${lost.map(([, p]) => p.name).join(', ')}`);
    }
    for (const [id, pending] of lost) {
      this.pending.delete(id);
      pending.reject(
        ApplicationFailure.retryable(
          `the activity process (pid ${child.pid}) ${how} while running ${pending.name}; ` +
            'Temporal retries the activity (its output above in the worker log)',
          ACTIVITY_PROCESS_EXITED,
        ),
      );
    }
  }

  private armIdle(): void {
    clearTimeout(this.idleTimer);
    if (!this.child || !this.idle()) {
      return;
    }
    this.idleTimer = setTimeout(() => {
      if (this.idle()) {
        this.stop();
      }
    }, this.options.idleSeconds * 1000);
    this.idleTimer.unref();
  }

  /** End the process (it exits when its channel closes; killed if it has not after 5 s). */
  private stop(): void {
    clearTimeout(this.idleTimer);
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      return;
    }
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
    kill.unref();
    this.exiting = exited.then(() => {
      clearTimeout(kill);
      if (this.exiting === waiting) {
        this.exiting = undefined;
      }
    });
    const waiting = this.exiting;
    if (child.connected) {
      child.disconnect();
    }
  }
}

/** A cancellation's details as the channel can carry them. */
function plain(value: unknown): unknown {
  try {
    return value === undefined ? undefined : (JSON.parse(JSON.stringify(value)) as unknown);
  } catch {
    return undefined;
  }
}
