// The messages between the worker host and its activity process (workers/activityProcess.ts),
// sent over Node's IPC channel with structured-clone serialization, and the encoding of an
// activity's error so that the host can throw what the activity threw: Temporal's failure
// conversion reads an ApplicationFailure's type, retry flag and details, and a cancellation must
// stay a CancelledFailure for the run to be reported as cancelled.
import { ApplicationFailure, CancelledFailure, type ApplicationFailureCategory } from '@temporalio/common';

export type LogLevel = 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

/** Host to activity process. */
export type ToActivityProcess =
  | { t: 'run'; id: number; name: string; args: unknown[]; info: unknown }
  | { t: 'cancel'; id: number; reason: string; details?: unknown };

/** Activity process to host. */
export type FromActivityProcess =
  | { t: 'ready'; names: string[] }
  | { t: 'heartbeat'; id: number; details?: unknown }
  | { t: 'log'; id: number; level: LogLevel; message: string; meta?: Record<string, unknown> }
  | { t: 'done'; id: number; value?: unknown; error?: EncodedError };

export interface EncodedError {
  kind: 'application' | 'cancelled' | 'error';
  name: string;
  message: string;
  stack?: string;
  type?: string | null;
  nonRetryable?: boolean | null;
  details?: unknown[];
  nextRetryDelay?: string | number;
  category?: ApplicationFailureCategory | null;
  cause?: EncodedError;
}

/** How deep a chain of causes is kept. */
const MAX_CAUSES = 4;

export function encodeError(err: unknown, depth = 0): EncodedError {
  const cause =
    depth < MAX_CAUSES && err instanceof Error && err.cause !== undefined
      ? encodeError(err.cause, depth + 1)
      : undefined;
  const base = err instanceof Error ? { name: err.name, message: err.message, stack: err.stack } : undefined;
  if (err instanceof ApplicationFailure) {
    const delay: unknown = err.nextRetryDelay;
    return {
      kind: 'application',
      ...base!,
      type: err.type ?? null,
      nonRetryable: err.nonRetryable ?? null,
      details: err.details ? [...err.details] : undefined,
      ...(typeof delay === 'number' || typeof delay === 'string' ? { nextRetryDelay: delay } : {}),
      category: err.category ?? null,
      ...(cause ? { cause } : {}),
    };
  }
  if (err instanceof CancelledFailure) {
    return { kind: 'cancelled', ...base!, details: err.details ? [...err.details] : undefined };
  }
  if (base) {
    return { kind: 'error', ...base, ...(cause ? { cause } : {}) };
  }
  return { kind: 'error', name: 'Error', message: typeof err === 'string' ? err : String(err) };
}

/** The error to throw in the host for what the activity threw in its process. */
export function decodeError(encoded: EncodedError): Error {
  const cause = encoded.cause ? decodeError(encoded.cause) : undefined;
  let err: Error;
  if (encoded.kind === 'application') {
    err = ApplicationFailure.create({
      message: encoded.message,
      ...(encoded.type ? { type: encoded.type } : {}),
      nonRetryable: encoded.nonRetryable ?? false,
      ...(encoded.details ? { details: encoded.details } : {}),
      ...(encoded.nextRetryDelay !== undefined ? { nextRetryDelay: encoded.nextRetryDelay as number } : {}),
      ...(encoded.category ? { category: encoded.category } : {}),
      ...(cause ? { cause } : {}),
    });
  } else if (encoded.kind === 'cancelled') {
    err = new CancelledFailure(encoded.message, encoded.details ?? []);
  } else {
    err = new Error(encoded.message, cause ? { cause } : undefined);
    err.name = encoded.name;
  }
  if (encoded.stack) {
    err.stack = encoded.stack;
  }
  return err;
}
