// The activity process: `node dist/activityProcess.js <compiled toolbox module file>`, started by
// the worker host (workers/activityProcess.ts) over an IPC channel. It loads the toolbox's compiled
// activities and runs each one the host sends, inside an activity context of its own whose
// heartbeats, logs and result go back to the host and whose cancellation comes from it. It ends
// when the host disconnects (the host's idle stop, or the host's own end).
import { asyncLocalStorage, Context, type Info } from '@temporalio/activity';
import { CancelledFailure, noopMetricMeter, type LogMetadata, type Logger } from '@temporalio/common';
import { activitiesOf, type CompiledModules } from './activityModules';
import { encodeError, type FromActivityProcess, type LogLevel, type ToActivityProcess } from './activityProtocol';

function send(message: FromActivityProcess): void {
  if (!process.connected) {
    return;
  }
  try {
    process.send!(message);
  } catch (err) {
    // A value the channel cannot carry (a function in a result, say): send what it can.
    if (message.t === 'done') {
      process.send!({
        t: 'done',
        id: message.id,
        error: encodeError(
          new Error(
            `the activity's ${message.error ? 'error' : 'result'} cannot be sent to the worker: ${(err as Error).message}`,
          ),
        ),
      } satisfies FromActivityProcess);
    } else if (message.t === 'heartbeat') {
      process.send!({ t: 'heartbeat', id: message.id } satisfies FromActivityProcess);
    } else if (message.t === 'log') {
      process.send!({ ...message, meta: undefined });
    }
  }
}

/** A log attribute as the channel can carry it (an Error as its stack). */
function plainMeta(meta: LogMetadata | undefined): Record<string, unknown> | undefined {
  if (!meta) {
    return undefined;
  }
  return Object.fromEntries(
    Object.entries(meta).map(([k, v]) => [k, v instanceof Error ? (v.stack ?? v.message) : v]),
  );
}

function loggerFor(id: number): Logger {
  const at =
    (level: LogLevel) =>
    (message: string, meta?: LogMetadata): void =>
      send({ t: 'log', id, level, message, meta: plainMeta(meta) });
  return {
    log: (level, message, meta) => at(level)(message, meta),
    trace: at('TRACE'),
    debug: at('DEBUG'),
    info: at('INFO'),
    warn: at('WARN'),
    error: at('ERROR'),
  };
}

const moduleFile = process.argv[2];
if (!moduleFile || !process.send) {
  console.error('usage: started by the worker host: activityProcess.js <compiled toolbox modules>');
  process.exit(2);
}
const running = new Map<number, (reason: string, details?: unknown) => void>();

// Registered before anything else, so no message of the host is missed; the module below loads in
// the same tick.
process.on('message', (message: ToActivityProcess) => {
  if (message.t === 'cancel') {
    running.get(message.id)?.(message.reason, message.details);
  } else if (message.t === 'run') {
    void run(message);
  }
});
// The host is gone or has no more work for this process: end (a tool still running is ended by its
// watchdog, which watches this process).
process.on('disconnect', () => process.exit(0));

// eslint-disable-next-line @typescript-eslint/no-require-imports -- code compiled at run time by the host
const activities = activitiesOf(require(moduleFile) as CompiledModules, []);
send({ t: 'ready', names: Object.keys(activities) });

async function run(message: Extract<ToActivityProcess, { t: 'run' }>): Promise<void> {
  const { id, name, args } = message;
  const fn = activities[name];
  if (!fn) {
    send({ t: 'done', id, error: encodeError(new Error(`activity ${name} is not in ${moduleFile}`)) });
    return;
  }
  const abort = new AbortController();
  const holder: { details?: unknown } = {};
  let rejectCancelled: (err: CancelledFailure) => void = () => undefined;
  const cancelled = new Promise<never>((_, reject) => {
    rejectCancelled = reject;
  });
  cancelled.catch(() => undefined);
  running.set(id, (reason, details) => {
    holder.details = details;
    const err = new CancelledFailure(reason);
    abort.abort(err);
    rejectCancelled(err);
  });
  const context = new Context(
    message.info as Info,
    cancelled,
    abort.signal,
    (details?: unknown) => send({ t: 'heartbeat', id, details }),
    undefined,
    loggerFor(id),
    noopMetricMeter,
    holder as never,
  );
  try {
    const value = await asyncLocalStorage.run(context, () => (fn as (...a: unknown[]) => Promise<unknown>)(...args));
    send({ t: 'done', id, value });
  } catch (err) {
    send({ t: 'done', id, error: encodeError(err) });
  } finally {
    running.delete(id);
  }
}
