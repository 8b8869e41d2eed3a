import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cleanInstallEnv } from '../environment';
import { UserError } from '../errors';
import { cacheDir } from '../paths';

export type ServiceBinaryName = 'temporal' | 'minio';

interface BinarySpec {
  /** Go package that `go install` builds. */
  goPackage: string;
  /** Pinned module version (MinIO: the pseudo-version `@latest` resolved to when pinned). */
  version: string;
  /** Environment variable that points at a binary and wins over everything else. */
  envOverride: string;
}

export const SERVICE_BINARIES: Record<ServiceBinaryName, BinarySpec> = {
  temporal: {
    goPackage: 'github.com/temporalio/cli/cmd/temporal',
    // Later tags carry `replace` directives and refuse `go install`.
    version: 'v1.5.1',
    envOverride: 'FUZZFORGE_TEMPORAL_BIN',
  },
  minio: {
    goPackage: 'github.com/minio/minio',
    version: 'v0.0.0-20260212201848-7aac2a2c5b7c',
    envOverride: 'FUZZFORGE_MINIO_BIN',
  },
};

export interface BinaryLocation {
  path: string;
  source: 'env' | 'PATH' | 'cache' | 'built';
}

/** A regular file we may execute. */
export function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Search PATH the way a shell would. */
export function whichSync(command: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, command))) {
      return path.join(dir, command);
    }
  }
  return undefined;
}

/** Where our own builds of the service binaries live. */
export function binaryCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(cacheDir(env), 'bin');
}

/** Find a service binary without building anything: env override, then PATH, then our cache. */
export function findServiceBinary(
  name: ServiceBinaryName,
  env: NodeJS.ProcessEnv = process.env,
): BinaryLocation | undefined {
  const spec = SERVICE_BINARIES[name];
  const override = env[spec.envOverride];
  if (override) {
    if (!isExecutable(override)) {
      throw new UserError(
        `${spec.envOverride}=${override} is not an executable file`,
        `point ${spec.envOverride} at the ${name} binary, or unset it to use PATH or the cache`,
      );
    }
    return { path: override, source: 'env' };
  }
  const onPath = whichSync(name, env);
  if (onPath) {
    return { path: onPath, source: 'PATH' };
  }
  const cached = path.join(binaryCacheDir(env), name);
  return isExecutable(cached) ? { path: cached, source: 'cache' } : undefined;
}

/**
 * Find a service binary or build it with `go install` into the cache (idempotent: a later call
 * finds the cached build). `onProgress` receives human-readable lines.
 */
export async function ensureServiceBinary(
  name: ServiceBinaryName,
  onProgress: (line: string) => void = () => undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<BinaryLocation> {
  const found = findServiceBinary(name, env);
  if (found) {
    return found;
  }
  const spec = SERVICE_BINARIES[name];
  const go = whichSync('go', env);
  if (!go) {
    throw new UserError(
      `${name} is not installed and Go is missing, so it cannot be built`,
      `install Go (apt-get install golang-go), or put a ${name} binary on PATH, or set ${spec.envOverride}`,
    );
  }
  const outDir = binaryCacheDir(env);
  fs.mkdirSync(outDir, { recursive: true });
  const target = `${spec.goPackage}@${spec.version}`;
  onProgress(`building ${name} from the Go module proxy (go install ${target}); this takes a few minutes once`);
  const started = Date.now();
  const tail: string[] = [];
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(go, ['install', target], {
      env: { ...cleanInstallEnv(env), GOBIN: outDir, CGO_ENABLED: env.CGO_ENABLED ?? '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim()) {
          tail.push(line);
          if (tail.length > 30) {
            tail.shift();
          }
        }
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const ticker = setInterval(() => {
      onProgress(`  still building ${name} (${Math.round((Date.now() - started) / 1000)} s)`);
    }, 30_000);
    child.on('error', (err) => {
      clearInterval(ticker);
      reject(err);
    });
    child.on('close', (exitCode) => {
      clearInterval(ticker);
      resolve(exitCode);
    });
  });
  const built = path.join(outDir, name);
  if (code !== 0 || !isExecutable(built)) {
    throw new UserError(
      `go install ${target} failed (exit ${code}):\n${tail.join('\n')}`,
      'check that the Go module proxy is reachable (GOPROXY) and that the Go version is recent enough',
    );
  }
  onProgress(`built ${name} in ${Math.round((Date.now() - started) / 1000)} s: ${built}`);
  return { path: built, source: 'built' };
}
