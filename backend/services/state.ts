import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { hasErrorCode } from '../errors';

export type ServiceStatus = 'starting' | 'ready' | 'stopping' | 'failed';

export interface WorkerState {
  vertical: string;
  pid?: number;
  restarts: number;
  status: 'starting' | 'running' | 'restarting' | 'stopped';
}

/** The embedded backend's state file: how a second CLI or editor window attaches. */
export interface BackendState {
  version: 1;
  mode: 'embedded';
  status: ServiceStatus;
  error?: string;
  supervisorPid: number;
  startedAt: string;
  stateDir: string;
  logsDir: string;
  temporal: { address: string; namespace: string; uiUrl: string; pid?: number };
  storage: { endpoint: string; consoleUrl: string; pid?: number };
  workers: WorkerState[];
  retention: { targetsDays: number; resultsDays: number };
}

const STATE_FILE = 'backend.json';
const CREDENTIALS_FILE = 'credentials.json';

export function statePath(dir: string): string {
  return path.join(dir, STATE_FILE);
}

/** Write JSON atomically (temp file + rename) with owner-only permissions. */
export function writePrivateJson(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

export function readState(dir: string): BackendState | undefined {
  try {
    const parsed = JSON.parse(fs.readFileSync(statePath(dir), 'utf8')) as BackendState;
    return parsed.version === 1 ? parsed : undefined;
  } catch (err) {
    if (hasErrorCode(err, 'ENOENT')) {
      return undefined;
    }
    // A torn or hand-edited state file: treat as absent; the next `up` rewrites it.
    return undefined;
  }
}

export function writeState(dir: string, state: BackendState): void {
  writePrivateJson(statePath(dir), state);
}

export function removeState(dir: string): void {
  fs.rmSync(statePath(dir), { force: true });
}

export function isPidAlive(pid: number | undefined): boolean {
  if (!pid || pid <= 0) {
    return false;
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return hasErrorCode(err, 'EPERM');
  }
}

export interface StorageCredentials {
  accessKey: string;
  secretKey: string;
}

/**
 * Root credentials of the embedded MinIO: generated on first start, kept with 0600 permissions,
 * never printed. Permissions are repaired if someone loosened them.
 */
export function loadOrCreateCredentials(dir: string): StorageCredentials {
  const file = path.join(dir, CREDENTIALS_FILE);
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<StorageCredentials>;
    if (typeof parsed.accessKey === 'string' && typeof parsed.secretKey === 'string') {
      if ((fs.statSync(file).mode & 0o077) !== 0) {
        fs.chmodSync(file, 0o600);
      }
      return { accessKey: parsed.accessKey, secretKey: parsed.secretKey };
    }
  } catch (err) {
    if (!hasErrorCode(err, 'ENOENT')) {
      throw new Error(`cannot read ${file}: ${(err as Error).message}; delete it to generate new credentials`, {
        cause: err,
      });
    }
  }
  const credentials: StorageCredentials = {
    accessKey: `ff-${crypto.randomBytes(6).toString('hex')}`,
    secretKey: crypto.randomBytes(24).toString('base64url'),
  };
  writePrivateJson(file, credentials);
  return credentials;
}

/** Exclusive lock file holding our pid; a stale lock (dead pid) is taken over. */
export function acquireLock(file: string): boolean {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      fs.writeFileSync(file, String(process.pid), { flag: 'wx', mode: 0o600 });
      return true;
    } catch (err) {
      if (!hasErrorCode(err, 'EEXIST')) {
        throw err;
      }
      const holder = Number.parseInt(fs.readFileSync(file, 'utf8'), 10);
      if (isPidAlive(holder) && holder !== process.pid) {
        return false;
      }
      fs.rmSync(file, { force: true });
    }
  }
  return false;
}

export function releaseLock(file: string): void {
  try {
    if (Number.parseInt(fs.readFileSync(file, 'utf8'), 10) === process.pid) {
      fs.rmSync(file, { force: true });
    }
  } catch {
    // Already gone.
  }
}
