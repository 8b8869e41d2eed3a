// What a killed worker leaves behind, and how the supervisor finds it: tool processes that ran
// detached (found by the tag every worker launch puts in its environment, which its tools
// inherit), its private cache folder `<cache>/<vertical>-<pid>`, half-written staging folders in
// the cache it owned, and its per-pid toolbox bundles.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cacheDir, projectRoot } from '../paths';
import { isPidAlive, lockHolder } from './state';

const TAG_VARIABLE = 'FUZZFORGE_WORKER_TAG';

/** The folder that holds the workers' target caches (as toolbox/modules/runtime.ts picks it). */
export function workerCacheRoot(env: NodeJS.ProcessEnv): string {
  return env.FUZZFORGE_WORKER_CACHE ?? path.join(cacheDir(env), 'worker');
}

/**
 * The cache folder name of a worker process serving these verticals: its vertical's name, or
 * `all` for a host of several (toolbox/modules/runtime.ts makes the folder).
 */
export function workerCacheName(verticals: readonly string[]): string {
  return verticals.length === 1 ? (verticals[0] as string) : 'all';
}

/** Pids of this user's processes whose environment carries the tag (exactly, or as a prefix). */
export function taggedProcesses(tag: string, exact = false): number[] {
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return []; // No /proc: nothing to find this way.
  }
  const out: number[] = [];
  for (const entry of entries) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) {
      continue;
    }
    let environ: string;
    try {
      environ = fs.readFileSync(`/proc/${pid}/environ`, 'latin1');
    } catch {
      continue; // Gone, or not ours to read.
    }
    for (const variable of environ.split('\0')) {
      if (variable.startsWith(`${TAG_VARIABLE}=`)) {
        const value = variable.slice(TAG_VARIABLE.length + 1);
        if (exact ? value === tag : value.startsWith(tag)) {
          out.push(pid);
        }
        break;
      }
    }
  }
  return out;
}

/** SIGKILL every process carrying the tag; returns their pids. */
export function killTaggedProcesses(tag: string, exact = false): number[] {
  if (!tag) {
    return [];
  }
  const pids = taggedProcesses(tag, exact);
  for (const pid of pids) {
    try {
      // Each process on its own: a tool's group may be its worker's group, which is the supervisor's.
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  return pids;
}

function removeStaging(cacheDirOfVertical: string): string[] {
  const removed: string[] = [];
  for (const sub of ['blobs', 'trees']) {
    const dir = path.join(cacheDirOfVertical, sub);
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      if (/\.tmp-[0-9a-f]+$/.test(name)) {
        fs.rmSync(path.join(dir, name), { recursive: true, force: true });
        removed.push(path.join(dir, name));
      }
    }
  }
  return removed;
}

function bundleDir(): string {
  return path.join(projectRoot(), 'node_modules', '.cache', 'fuzzforge');
}

function removeBundles(match: (pid: number) => boolean): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = fs.readdirSync(bundleDir());
  } catch {
    return removed;
  }
  for (const name of names) {
    const m = /^(?:activities|workflows)-(\d+)-[0-9a-f]+\.(?:cjs|ts)$/.exec(name);
    if (m && match(Number(m[1]))) {
      fs.rmSync(path.join(bundleDir(), name), { force: true });
      removed.push(path.join(bundleDir(), name));
    }
  }
  return removed;
}

/** After worker `pid` of `vertical` exited: remove its private cache, its staging folders, its bundles. */
export function removeWorkerLeftovers(root: string, vertical: string, pid: number): string[] {
  const removed: string[] = [];
  const privateDir = path.join(root, `${vertical}-${pid}`);
  if (fs.existsSync(privateDir)) {
    fs.rmSync(privateDir, { recursive: true, force: true });
    removed.push(privateDir);
  }
  const shared = path.join(root, vertical);
  const owner = path.join(shared, '.owner');
  if (fs.existsSync(owner) && !lockHolder(owner)) {
    removed.push(...removeStaging(shared));
  }
  removed.push(...removeBundles((p) => p === pid));
  return removed.map((p) => `removed ${p}, left by worker ${pid}`);
}

/** At supervisor start: the same for every worker that is gone (a supervisor killed with its workers). */
export function sweepWorkerLeftovers(root: string): string[] {
  const removed: string[] = [];
  let names: string[] = [];
  try {
    names = fs.readdirSync(root);
  } catch {
    // No cache yet.
  }
  for (const name of names) {
    const dir = path.join(root, name);
    const m = /^.+-(\d+)$/.exec(name);
    if (m) {
      if (!isPidAlive(Number(m[1]))) {
        fs.rmSync(dir, { recursive: true, force: true });
        removed.push(dir);
      }
    } else if (fs.existsSync(path.join(dir, '.owner')) && !lockHolder(path.join(dir, '.owner'))) {
      removed.push(...removeStaging(dir));
    }
  }
  removed.push(...removeBundles((p) => !isPidAlive(p)));
  return removed.map((p) => `removed ${p}, left by a worker that is gone`);
}
