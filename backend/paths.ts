import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** Folder for state shared by CLI and extension (state file, credentials, service data). */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.FUZZFORGE_STATE_DIR) {
    return path.resolve(env.FUZZFORGE_STATE_DIR);
  }
  const base = env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state');
  return path.join(base, 'fuzzforge');
}

/** Folder for rebuildable things: service binaries, tool installs, worker target cache. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.FUZZFORGE_CACHE_DIR) {
    return path.resolve(env.FUZZFORGE_CACHE_DIR);
  }
  const base = env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'fuzzforge');
}

/** Folder of the per-workspace upload caches (file stamps to hashes, where blobs were stored). */
export function uploadCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.FUZZFORGE_UPLOAD_CACHE ? path.resolve(env.FUZZFORGE_UPLOAD_CACHE) : path.join(cacheDir(env), 'uploads');
}

let cachedRoot: string | undefined;

/** Root of this installation (the folder holding our package.json), from source or from dist/. */
export function projectRoot(): string {
  if (cachedRoot) {
    return cachedRoot;
  }
  let dir = __dirname;
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest)) {
      try {
        const pkg = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: string };
        if (pkg.name === 'fuzzforge-vscode') {
          cachedRoot = dir;
          return dir;
        }
      } catch {
        // An unreadable package.json of some other project: keep walking up.
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) {
      throw new Error(`cannot locate the FuzzForge installation above ${__dirname}`);
    }
    dir = parent;
  }
}

/** The toolbox folder workers and the CLI read workflows from. */
export function toolboxDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.FUZZFORGE_TOOLBOX ? path.resolve(env.FUZZFORGE_TOOLBOX) : path.join(projectRoot(), 'toolbox');
}

/** A built entry point under dist/ (cli.js, worker.js). */
export function distEntry(name: 'cli' | 'worker' | 'activityProcess' | 'temporalFront' | 'supervisor'): string {
  return path.join(projectRoot(), 'dist', `${name}.js`);
}
