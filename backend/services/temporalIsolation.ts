// Keeping the embedded Temporal to the backend's own user. The dev server has no authentication
// and no TLS: it runs in a private network namespace (its ports exist only there), and the host
// sees one mutual-TLS port and one token-guarded UI port, served by dist/temporalFront.js.
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors';
import { certificateFiles, haveOpenssl, loadOrMakeCertificates } from './certificates';
import type { TemporalTls } from './connection';

export type IsolationSetting = 'auto' | 'namespace' | 'off';

/** How the embedded Temporal runs: `namespace` (guarded) or `none` (reachable by every local account). */
export type TemporalIsolation = 'namespace' | 'none';

/** The name the server certificate carries and clients check. */
export const FRONT_SERVER_NAME = 'localhost';

/**
 * `unshare` options: a user namespace (no privilege needed) owning a network namespace (a loopback
 * of its own) and a pid namespace (its first process ends every process in it when it goes, and
 * `--kill-child` ends that first process when unshare goes).
 */
export const UNSHARE_ARGS = ['--user', '--map-root-user', '--net', '--pid', '--fork', '--kill-child'];

/** `FUZZFORGE_TEMPORAL_ISOLATION`: auto (default), namespace (required) or off. */
export function isolationSetting(env: NodeJS.ProcessEnv = process.env): IsolationSetting {
  const raw = (env.FUZZFORGE_TEMPORAL_ISOLATION ?? '').trim().toLowerCase() || 'auto';
  if (raw === 'auto' || raw === 'namespace' || raw === 'off') {
    return raw;
  }
  throw new UserError(
    `FUZZFORGE_TEMPORAL_ISOLATION=${env.FUZZFORGE_TEMPORAL_ISOLATION} is not auto, namespace or off`,
    'unset it (auto: isolate where the system allows it), or set namespace or off',
  );
}

/** Why a private namespace cannot be made here, or undefined when it can (tried for real). */
export function namespaceProblem(): string | undefined {
  if (!haveOpenssl()) {
    return 'the openssl command is missing (it makes the certificates; Debian: apt-get install openssl)';
  }
  const tried = spawnSync('unshare', [...UNSHARE_ARGS, 'ip', 'link', 'set', 'lo', 'up'], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  if (tried.error) {
    return `unshare could not run (${tried.error.message}); it comes with util-linux`;
  }
  if (tried.status !== 0) {
    const why = tried.stderr.trim().split('\n').pop() ?? `exit code ${tried.status}`;
    return `unshare --user --net failed: ${why} (unprivileged user namespaces are disabled, e.g. kernel.unprivileged_userns_clone=0 or an AppArmor restriction), or iproute2's ip is missing`;
  }
  return undefined;
}

export interface IsolationChoice {
  isolation: TemporalIsolation;
  /** Why Temporal is not isolated (fallback or switched off). */
  reason?: string;
}

/** The isolation the setting asks for and the system allows; `namespace` that cannot be had throws. */
export function chooseIsolation(env: NodeJS.ProcessEnv = process.env): IsolationChoice {
  const setting = isolationSetting(env);
  if (setting === 'off') {
    return { isolation: 'none', reason: 'FUZZFORGE_TEMPORAL_ISOLATION=off' };
  }
  const problem = namespaceProblem();
  if (!problem) {
    return { isolation: 'namespace' };
  }
  if (setting === 'namespace') {
    throw new UserError(
      `FUZZFORGE_TEMPORAL_ISOLATION=namespace, but ${problem}`,
      'allow unprivileged user namespaces, or unset FUZZFORGE_TEMPORAL_ISOLATION to run Temporal unguarded',
    );
  }
  return { isolation: 'none', reason: problem };
}

/** The warning `up`, `status` and the editor show when Temporal is not isolated. */
export function exposureWarning(reason: string | undefined): string {
  return `Temporal is reachable by every local account (no authentication): any of them can start workflows, which run code as this user. Why: ${reason ?? 'unknown'}.`;
}

/** Folder of the backend's CA and certificates (0700; keys 0600). */
export function certificatesDir(stateDir: string): string {
  return path.join(stateDir, 'tls');
}

/** The state folder's CA, server and client certificates, made on first use. */
export function ensureFrontCertificates(stateDir: string) {
  return loadOrMakeCertificates(certificatesDir(stateDir), {
    server: { dns: [FRONT_SERVER_NAME], ips: ['127.0.0.1'] },
    days: 3650,
    name: 'fuzzforge backend',
  });
}

/** TLS settings of a client of the isolated Temporal: the state's CA and client certificate. */
export function frontClientTls(stateDir: string): TemporalTls {
  const files = certificateFiles(certificatesDir(stateDir));
  return {
    serverCaFile: files.ca,
    clientCertFile: files.clientCert,
    clientKeyFile: files.clientKey,
    serverName: FRONT_SERVER_NAME,
  };
}

/** A fresh secret for the UI front. */
export function newUiToken(): string {
  return crypto.randomBytes(24).toString('base64url');
}

/** The pid of the first child of `pid` (unshare's child: the front), if /proc tells. */
export function firstChildPid(pid: number): number | undefined {
  try {
    const children = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/);
    const child = Number(children[0]);
    return Number.isInteger(child) && child > 0 ? child : undefined;
  } catch {
    return undefined;
  }
}
