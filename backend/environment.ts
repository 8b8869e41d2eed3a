// Environments for the processes we start. Two hazards cross a process boundary with a copied
// `process.env`: the configuration an outer `npm run` exports (npm_config_user_agent names the
// outer Node, and a nested npm install takes every npm_config_* as its own setting), and the
// backend's own credentials, which must never reach a tool, build or harness that runs on
// workspace code.
import * as path from 'node:path';
import { CONNECTION_VARIABLES } from './services/connection';

/**
 * Variables the backend hands to its own processes only (workers), never to the tools they run:
 * every connection setting (credentials, TLS files, API key, where the services are) and
 * MinIO's root credentials.
 */
const BACKEND_SECRET_VARIABLES: readonly string[] = [...CONNECTION_VARIABLES, 'MINIO_ROOT_USER', 'MINIO_ROOT_PASSWORD'];

/** True for a variable an outer `npm run` / `npx` exported for its own scripts. */
export function isNpmLifecycleVariable(name: string): boolean {
  return /^npm_/i.test(name) || name === 'INIT_CWD' || name === 'NODE' || name === 'COLOR';
}

/**
 * PATH without the folders `npm run` prepends (every `node_modules/.bin` above the package, and
 * npm's own node-gyp shim), so a nested install resolves node-gyp, node and npm as a shell would.
 */
export function pathWithoutNpmRunEntries(value: string | undefined): string {
  return (value ?? '')
    .split(path.delimiter)
    .filter(
      (dir) =>
        dir !== '' &&
        !dir.endsWith(`${path.sep}node_modules${path.sep}.bin`) &&
        !dir.includes(`${path.sep}@npmcli${path.sep}run-script${path.sep}`),
    )
    .join(path.delimiter);
}

/**
 * The environment for a nested package install (npm, pip, go, cargo, apt): the caller's minus
 * everything an outer `npm run` exported. Nothing else changes, so proxies, HOME and caches hold.
 */
export function cleanInstallEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && !isNpmLifecycleVariable(name)) {
      out[name] = value;
    }
  }
  if (env.PATH !== undefined) {
    out.PATH = pathWithoutNpmRunEntries(env.PATH);
  }
  return out;
}

/**
 * The environment for a tool, build or harness run on workspace code: a clean install
 * environment without the backend's credentials and connection settings.
 */
export function toolEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out = cleanInstallEnv(env);
  for (const name of BACKEND_SECRET_VARIABLES) {
    delete out[name];
  }
  return out;
}
