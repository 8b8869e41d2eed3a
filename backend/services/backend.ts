import { UserError } from '../errors';
import { stateDir } from '../paths';
import { composeConnection, defaultComposeOptions, runningCompose, startCompose } from './compose';
import { connectionFromEnv, type BackendConnection } from './connection';
import { defaultEmbeddedOptions, embeddedConnection, runningEmbedded, startEmbedded } from './embedded';

export type BackendMode = 'auto' | 'embedded' | 'compose' | 'external';

export const BACKEND_MODES: readonly BackendMode[] = ['auto', 'embedded', 'compose', 'external'];

export interface ResolveOptions {
  mode?: BackendMode;
  /** Start the embedded backend when it is not running (default false). */
  autoStart?: boolean;
  env?: NodeJS.ProcessEnv;
  onProgress?: (line: string) => void;
}

export function parseBackendMode(value: string | undefined): BackendMode {
  const mode = (value ?? 'auto') as BackendMode;
  if (!BACKEND_MODES.includes(mode)) {
    throw new UserError(`unknown backend mode "${value}"`, `use one of ${BACKEND_MODES.join(', ')}`);
  }
  return mode;
}

/**
 * The backend a front end should talk to. `external` reads FUZZFORGE_TEMPORAL_ADDRESS and
 * FUZZFORGE_S3_*; `embedded` attaches to (or starts) the per-user embedded stack; `auto` prefers
 * an explicitly configured external backend, else embedded.
 */
export async function resolveBackend(options: ResolveOptions = {}): Promise<BackendConnection> {
  const env = options.env ?? process.env;
  const mode = options.mode ?? parseBackendMode(env.FUZZFORGE_BACKEND_MODE);
  // Only external and auto read the external settings: a broken one must not stop embedded mode.
  const external = mode === 'external' || mode === 'auto' ? connectionFromEnv(env) : undefined;
  if (mode === 'external' || (mode === 'auto' && external)) {
    if (!external) {
      throw new UserError(
        'backend mode is external but the connection is not configured',
        'set FUZZFORGE_TEMPORAL_ADDRESS, FUZZFORGE_S3_ENDPOINT, FUZZFORGE_S3_ACCESS_KEY and FUZZFORGE_S3_SECRET_KEY',
      );
    }
    return external;
  }
  const dir = stateDir(env);
  const compose = runningCompose(dir);
  // auto: a compose stack that was started (`fuzzforge up --compose`) is the backend to use.
  if (mode === 'compose' || (mode === 'auto' && compose && !runningEmbedded(dir))) {
    if (compose) {
      return composeConnection(compose);
    }
    if (!options.autoStart) {
      throw new UserError('the compose backend is not running', 'start it with `fuzzforge up --compose`');
    }
    options.onProgress?.('the compose backend is not running; starting it (stop it later with `fuzzforge down`)');
    const { state } = await startCompose(defaultComposeOptions(dir, env), options.onProgress);
    return composeConnection(state);
  }
  const running = runningEmbedded(dir);
  if (running?.status === 'ready') {
    return embeddedConnection(running);
  }
  if (!options.autoStart) {
    throw new UserError('the embedded backend is not running', 'start it with `fuzzforge up`');
  }
  options.onProgress?.('the embedded backend is not running; starting it (stop it later with `fuzzforge down`)');
  const { state } = await startEmbedded(defaultEmbeddedOptions(dir, env), options.onProgress);
  return embeddedConnection(state);
}
