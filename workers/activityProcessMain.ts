// The activity process: `node dist/activityProcess.js [<compiled toolbox module file>]`, started by
// the worker host (workers/activityProcess.ts) over an IPC channel. It loads the toolbox's compiled
// activities and runs each one the host sends (and the host's input check, built in), inside an
// activity context of its own whose heartbeats, logs and result go back to the host and whose
// cancellation comes from it. It ends when the host disconnects (the host's idle stop, or the
// host's own end).
import { asyncLocalStorage, Context, type Info } from '@temporalio/activity';
import { CancelledFailure, noopMetricMeter, type LogMetadata, type Logger } from '@temporalio/common';
import { connectionFromEnv } from '../backend/services/connection';
import { ObjectStore } from '../backend/storage/objectStore';
import type { WorkflowDefinition } from '../backend/toolbox/discovery';
import { VALIDATE_INPUT_ACTIVITY } from '../toolbox/shared/definitions';
import { activitiesOf, type ActivityMap, type CompiledModules } from './activityModules';
import { encodeError, type FromActivityProcess, type LogLevel, type ToActivityProcess } from './activityProtocol';
import { storedInputCheck, type InputCheck, type ValidationRequest } from './inputValidation';

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
  return Object.fromEntries(Object.entries(meta).map(([k, v]) => [k, v instanceof Error ? (v.stack ?? v.message) : v]));
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

// The compiled toolbox modules; empty when the toolbox has none (the input check still runs here).
const moduleFile = process.argv[2] ?? '';
if (!process.send) {
  console.error('usage: started by the worker host: activityProcess.js [<compiled toolbox modules>]');
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

let inputCheck: InputCheck | undefined;
/** The host's own activity, run here: the input check (the host looks up the definition and sends it). */
const builtIn: ActivityMap = {
  [VALIDATE_INPUT_ACTIVITY]: async (definition: WorkflowDefinition, request: ValidationRequest) => {
    if (!inputCheck) {
      const connection = connectionFromEnv(process.env);
      if (!connection) {
        throw new Error('the worker was started without FUZZFORGE_S3_* / FUZZFORGE_TEMPORAL_* settings');
      }
      inputCheck = storedInputCheck(new ObjectStore(connection));
    }
    return inputCheck(definition, request);
  },
};
// The built-in activity wins over a toolbox activity of the same name, as in the host.
const activities: ActivityMap = {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- code compiled at run time by the host
  ...(moduleFile ? activitiesOf(require(moduleFile) as CompiledModules, []) : {}),
  ...builtIn,
};
send({ t: 'ready', names: Object.keys(activities) });

async function run(message: Extract<ToActivityProcess, { t: 'run' }>): Promise<void> {
  const { id, name, args } = message;
  const fn = activities[name];
  if (!fn) {
    send({
      t: 'done',
      id,
      error: encodeError(new Error(`activity ${name} is not in ${moduleFile || 'this process'}`)),
    });
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
