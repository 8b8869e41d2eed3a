/**
 * An error meant for a person: a short message plus what to do about it.
 * Everything else that reaches a front end is treated as an internal error and logged in full.
 */
export class UserError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

/** Render any thrown value as one line (plus hint) for a terminal or a popup. */
export function describeError(err: unknown): string {
  if (err instanceof UserError) {
    return err.hint ? `${err.message}\n  hint: ${err.hint}` : err.message;
  }
  if (err instanceof Error) {
    return err.message;
  }
  return String(err);
}

/** True when a Node system error has the given code (ENOENT, EADDRINUSE, ...). */
export function hasErrorCode(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}
