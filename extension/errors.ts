// Errors a person can act on, and which button each one gets. Pure (no vscode import) so the
// mapping is unit-tested; errorReporter.ts shows them.
import { UserError } from '../backend/errors';
import { findServiceBinary, SERVICE_BINARIES, type ServiceBinaryName } from '../backend/services/binaries';
import { RunFailedError } from '../backend/temporal/runs';

/** Cancellation by the user: quiet, no popup. */
export class Cancelled extends Error {
  constructor() {
    super('cancelled');
    this.name = 'Cancelled';
  }
}

/** The backend is not running (the embedded one) or not reachable: what "Start Backend" fixes. */
export class BackendDownError extends UserError {
  constructor(message = 'the FuzzForge backend is not running') {
    super(message, 'start it with FuzzForge: Start Backend (or `fuzzforge up`)');
    this.name = 'BackendDownError';
  }
}

/** Temporal or MinIO is not installed and cannot be built here (no Go). */
export class MissingServiceBinaryError extends UserError {
  constructor(readonly missing: ServiceBinaryName[]) {
    const names = missing
      .map((n) => (n === 'temporal' ? 'the Temporal CLI (temporal)' : 'MinIO (minio)'))
      .join(' and ');
    const overrides = missing.map((n) => SERVICE_BINARIES[n].envOverride).join(' / ');
    super(
      `${names} ${missing.length > 1 ? 'are' : 'is'} not installed, and Go is not on PATH to build ${missing.length > 1 ? 'them' : 'it'}`,
      `run \`npm run setup\` in the FuzzForge checkout (or \`fuzzforge setup\`): it builds them from the Go module proxy into ~/.cache/fuzzforge/bin; or put the binaries on PATH, or set ${overrides}`,
    );
    this.name = 'MissingServiceBinaryError';
  }
}

/** The service binaries the embedded backend needs that are nowhere to be found. */
export function missingServiceBinaries(env: NodeJS.ProcessEnv = process.env): ServiceBinaryName[] {
  return (Object.keys(SERVICE_BINARIES) as ServiceBinaryName[]).filter((name) => {
    try {
      return findServiceBinary(name, env) === undefined;
    } catch {
      // A bad FUZZFORGE_*_BIN override: startEmbedded reports it with the variable's name.
      return false;
    }
  });
}

export type ErrorAction = 'Start Backend' | 'Show Logs';

/** The buttons a popup for this error offers, most useful first. */
export function errorActions(err: unknown): ErrorAction[] {
  if (err instanceof BackendDownError) {
    return ['Start Backend', 'Show Logs'];
  }
  return ['Show Logs'];
}

/** A failed, timed-out or terminated run: its reason, for the popup and the Runs view. */
export function runFailureReason(err: unknown): string | undefined {
  return err instanceof RunFailedError ? err.reason : undefined;
}
