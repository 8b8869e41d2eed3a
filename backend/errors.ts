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

/**
 * A write that failed for want of space (ENOSPC, EDQUOT) as a UserError naming the folder it was
 * for and what to do; any other error is returned unchanged.
 */
export function explainFullDisk(err: unknown, folder: string): unknown {
  if (hasErrorCode(err, 'ENOSPC') || hasErrorCode(err, 'EDQUOT')) {
    return new UserError(
      `${folder} is full (${(err as Error).message})`,
      `free space on the file system that holds ${folder} (or point FUZZFORGE_STATE_DIR to a folder with room), then try again`,
    );
  }
  return err;
}
