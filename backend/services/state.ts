import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { hasErrorCode } from '../errors';

export type ServiceStatus = 'starting' | 'ready' | 'stopping' | 'failed';

export interface WorkerState {
  vertical: string;
  /** The worker process; verticals served by one worker host share it. */
  pid?: number;
  restarts: number;
  status: 'starting' | 'running' | 'restarting' | 'stopped';
  /** Name of its log in the logs folder (`<log>.log`); `worker-<vertical>` when absent. */
  log?: string;
}

/** The log of the embedded backend's worker host (one process for every local vertical). */
export const WORKER_HOST_LOG = 'workers';

/** The log name of a worker, as `fuzzforge logs` and the editor's Backend view show it. */
export function workerLogName(worker: WorkerState): string {
  return worker.log ?? `worker-${worker.vertical}`;
}

/**
 * What the worker host last did with the toolbox (it writes the file named by
 * `FUZZFORGE_TOOLBOX_STATUS_FILE`; the embedded backend's is `toolbox.json` in the state folder).
 */
export interface ToolboxStatus {
  /** Version of the serving toolbox: 1 at start, one more per reload that swapped the workers. */
  version: number;
  loadedAt: string;
  workflows: string[];
  watching: boolean;
  /** The last reload that failed and left the serving version in place, until one succeeds. */
  failedReload?: { at: string; problems: string[] };
  /** The host that wrote this file. */
  pid?: number;
  /**
   * Verticals whose task queue Temporal listed a poller on, asked by the host over its own
   * connection once its first version started: the embedded backend's readiness (a start then
   * needs no Temporal client of its own).
   */
  polling?: string[];
}

export function toolboxStatusPath(stateDir: string): string {
  return path.join(stateDir, 'toolbox.json');
}

/** The worker host's toolbox status, or undefined when none was written (or it is unreadable). */
export function readToolboxStatus(stateDir: string): ToolboxStatus | undefined {
  try {
    const parsed = JSON.parse(fs.readFileSync(toolboxStatusPath(stateDir), 'utf8')) as ToolboxStatus;
    return typeof parsed.version === 'number' && Array.isArray(parsed.workflows) ? parsed : undefined;
  } catch {
    return undefined;
  }
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
  temporal: {
    address: string;
    namespace: string;
    uiUrl: string;
    pid?: number;
    /** `namespace`: private network namespace behind mutual TLS (certificates in `tls/`); absent in older files. */
    isolation?: 'namespace' | 'none';
    /** Why it is not isolated. */
    exposure?: string;
    /** Secret the UI front asks for (`?token=` once, then a cookie). */
    uiToken?: string;
  };
  storage: { endpoint: string; consoleUrl: string; pid?: number };
  workers: WorkerState[];
  retention: { targetsDays: number; resultsDays: number };
  /**
   * Identity of every pid above (`processToken`), so a pid reused after a reboot or a crash is not
   * taken for ours. Absent in state files written before it existed.
   */
  processes?: Record<string, string>;
  /** Marker in the environment of every worker (and so of every tool it starts): finds orphans. */
  workerTag?: string;
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
  try {
    fs.writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
    fs.renameSync(tmp, file);
  } catch (err) {
    // A full disk or a failed rename: the old file stays whole, and no half-written copy is left.
    fs.rmSync(tmp, { force: true });
    throw err;
  }
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

/**
 * Whether some process has this pid. A process of another user (EPERM) is alive but never one of
 * ours; callers that must know whether a pid is *ours* use `isSameProcess` with a recorded token.
 */
export function isPidAlive(pid: number | undefined): boolean {
  if (!pid || pid <= 0) {
    return false;
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    // ESRCH: gone. EPERM: another user's process, so not one we started.
    return false;
  }
}

let bootIdCache: string | undefined;

function bootId(): string | undefined {
  if (bootIdCache === undefined) {
    try {
      bootIdCache = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      bootIdCache = '';
    }
  }
  return bootIdCache || undefined;
}

/**
 * Who a pid is: boot id plus the process's start time (field 22 of /proc/PID/stat, clock ticks
 * since boot). A pid reused by another process, in this boot or after a reboot, gets another
 * token. Undefined when the process is gone or the system has no /proc (then only liveness counts).
 */
export function processToken(pid: number | undefined): string | undefined {
  if (!pid || pid <= 0) {
    return undefined;
  }
  const boot = bootId();
  if (!boot) {
    return undefined;
  }
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces or ')': split after the last one.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const start = fields[22 - 3];
  return start ? `${boot}/${start}` : undefined;
}

/**
 * Whether `pid` is still the process a token was recorded for. Without a token (an old state
 * file) or without /proc, falls back to liveness.
 */
export function isSameProcess(pid: number | undefined, token: string | undefined): boolean {
  if (!pid || pid <= 0) {
    return false;
  }
  if (token === undefined || !bootId()) {
    return isPidAlive(pid);
  }
  return processToken(pid) === token;
}

/** Record the identity of every pid a state names (call before writing it). */
export function recordProcessTokens(state: BackendState): void {
  const pids = [state.supervisorPid, state.temporal.pid, state.storage.pid, ...state.workers.map((w) => w.pid)];
  const previous = state.processes ?? {};
  const next: Record<string, string> = {};
  for (const pid of pids) {
    if (pid) {
      const token = previous[pid] ?? processToken(pid);
      if (token) {
        next[pid] = token;
      }
    }
  }
  state.processes = next;
}

/** Whether a pid named in a state file is still the process that was recorded there. */
export function ownsPid(state: BackendState, pid: number | undefined): boolean {
  return isSameProcess(pid, pid ? state.processes?.[pid] : undefined);
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

interface LockHolder {
  pid: number;
  token?: string;
}

function readLock(file: string): { raw: string; holder?: LockHolder } | undefined {
  let raw: string;
  try {
    raw = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (hasErrorCode(err, 'ENOENT')) {
      return undefined;
    }
    throw err;
  }
  // `PID` (older locks) or `PID TOKEN`.
  const [pid, token] = raw.trim().split(' ');
  const n = Number(pid);
  return { raw, holder: Number.isInteger(n) && n > 0 ? { pid: n, token } : undefined };
}

function lockIsLive(holder: LockHolder | undefined): boolean {
  return Boolean(holder && isSameProcess(holder.pid, holder.token));
}

/** Create `file` holding `content`, atomically and only if it does not exist (a complete file or none). */
function createExclusive(file: string, content: string): boolean {
  const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.new`;
  fs.writeFileSync(tmp, content, { mode: 0o600 });
  try {
    fs.linkSync(tmp, file);
    return true;
  } catch (err) {
    if (hasErrorCode(err, 'EEXIST')) {
      return false;
    }
    throw err;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/**
 * Exclusive lock file naming our pid and its identity token. A stale lock (its holder is gone, or
 * its pid now belongs to another process) is taken over atomically: takers of one stale lock
 * contend for a mutex named after that lock's content, and the winner re-checks the content before
 * replacing it, so two processes can never both come away holding the lock.
 */
export function acquireLock(file: string): boolean {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const mine = `${process.pid} ${processToken(process.pid) ?? ''}`.trim();
  for (let attempt = 0; attempt < 5; attempt++) {
    if (createExclusive(file, mine)) {
      return true;
    }
    const seen = readLock(file);
    if (!seen) {
      continue; // Released between our attempt and our read.
    }
    if (seen.holder?.pid === process.pid && lockIsLive(seen.holder)) {
      return true;
    }
    if (lockIsLive(seen.holder)) {
      return false;
    }
    const mutex = `${file}.takeover-${crypto.createHash('sha256').update(seen.raw).digest('hex').slice(0, 16)}`;
    if (!createExclusive(mutex, mine)) {
      const other = readLock(mutex);
      if (other && !lockIsLive(other.holder)) {
        // A taker that died inside its takeover (a window of microseconds): clear it and retry.
        fs.rmSync(mutex, { force: true });
        continue;
      }
      return false; // Another process is taking this stale lock over.
    }
    try {
      if (readLock(file)?.raw !== seen.raw) {
        continue; // Someone released or replaced it meanwhile: start over.
      }
      fs.rmSync(file, { force: true });
      if (createExclusive(file, mine)) {
        return true;
      }
      // A fresh acquirer created it between our removal and our link: it holds the lock.
      return false;
    } finally {
      fs.rmSync(mutex, { force: true });
    }
  }
  return false;
}

/** The live holder of a lock file, if any. */
export function lockHolder(file: string): number | undefined {
  const seen = readLock(file);
  return seen && lockIsLive(seen.holder) ? seen.holder?.pid : undefined;
}

export function releaseLock(file: string): void {
  try {
    if (readLock(file)?.holder?.pid === process.pid) {
      fs.rmSync(file, { force: true });
    }
  } catch {
    // Already gone.
  }
}

/**
 * Append one line to a log file that is kept below `maxBytes`: when it would grow past that, the
 * current file becomes `<file>.1` (replacing the previous one) and a new file is started.
 */
export function appendLogLine(file: string, line: string, maxBytes: number): void {
  rotateLogIfLarge(file, maxBytes - Buffer.byteLength(line) - 1);
  fs.appendFileSync(file, `${line}\n`);
}

/** Move `file` to `<file>.1` when it is larger than `maxBytes`. */
export function rotateLogIfLarge(file: string, maxBytes: number): void {
  try {
    if (fs.statSync(file).size > Math.max(0, maxBytes)) {
      fs.renameSync(file, `${file}.1`);
    }
  } catch (err) {
    if (!hasErrorCode(err, 'ENOENT')) {
      throw err;
    }
  }
}
