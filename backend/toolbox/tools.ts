import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cleanInstallEnv } from '../environment';
import { UserError } from '../errors';
import { cacheDir } from '../paths';
import { whichSync } from '../services/binaries';
import { readVerticalSpec, type ToolSpec } from './verticals';

/** Where the project installs analysis tools, per package manager (all under the cache folder). */
export function toolDirs(env: NodeJS.ProcessEnv = process.env): { bin: string; venv: string; npm: string } {
  const root = path.join(cacheDir(env), 'tools');
  return { bin: path.join(root, 'bin'), venv: path.join(root, 'venv'), npm: path.join(root, 'npm') };
}

/** Folders searched for tool commands before PATH. */
export function toolSearchPath(env: NodeJS.ProcessEnv = process.env): string[] {
  const dirs = toolDirs(env);
  return [dirs.bin, path.join(dirs.venv, 'bin'), path.join(dirs.npm, 'node_modules', '.bin')];
}

/** Absolute path of a tool command (our install folders first, then PATH), or undefined. */
export function toolPath(command: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of toolSearchPath(env)) {
    const candidate = path.join(dir, command);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // Not here.
    }
  }
  return whichSync(command, env);
}

/** The command a person runs to install one tool the way `fuzzforge setup --tools` would. */
export function installHint(tool: ToolSpec, env: NodeJS.ProcessEnv = process.env): string {
  const dirs = toolDirs(env);
  const i = tool.install;
  if (i.pip) {
    return `${path.join(dirs.venv, 'bin', 'pip')} install '${i.pip}' (or: fuzzforge setup --tools)`;
  }
  if (i.go) {
    return `GOBIN=${dirs.bin} go install ${i.go} (or: fuzzforge setup --tools)`;
  }
  if (i.npm) {
    return `npm install --prefix ${dirs.npm} ${i.npm} (or: fuzzforge setup --tools)`;
  }
  if (i.apt) {
    return `apt-get install -y ${i.apt} (or: fuzzforge setup --tools, as root)`;
  }
  if (i.cargo) {
    return `cargo install --root ${path.dirname(dirs.bin)} ${i.cargo} (or: fuzzforge setup --tools)`;
  }
  return 'see the tool documentation';
}

/**
 * npm and pip tools are package sets (plugins, extras): an `eslint` elsewhere on PATH (say, a
 * project's node_modules/.bin) lacks our plugins, so only our own install counts for them.
 */
function installedByUs(tool: ToolSpec, env: NodeJS.ProcessEnv): boolean {
  const dirs = toolDirs(env);
  if (tool.install.npm) {
    return fs.existsSync(path.join(dirs.npm, 'node_modules', '.bin', tool.command));
  }
  if (tool.install.pip) {
    return fs.existsSync(path.join(dirs.venv, 'bin', tool.command)) && probePasses(tool, env);
  }
  return toolPath(tool.command, env) !== undefined && probePasses(tool, env);
}

/** A tool that is a library (atheris) is there when its probe command succeeds. */
function probePasses(tool: ToolSpec, env: NodeJS.ProcessEnv): boolean {
  if (!tool.probe) {
    return true;
  }
  const command = toolPath(tool.command, env);
  return !!command && spawnSync(command, tool.probe, { env, stdio: 'ignore', timeout: 30_000 }).status === 0;
}

export interface ToolStatus {
  vertical: string;
  tool: string;
  command: string;
  path?: string;
  /** Why it is missing and how to install it. */
  reason?: string;
}

/** Every tool of the given verticals (default: all with a vertical.yaml), found or missing. */
export function toolStatuses(verticals: readonly string[], env: NodeJS.ProcessEnv = process.env): ToolStatus[] {
  const out: ToolStatus[] = [];
  for (const vertical of verticals) {
    for (const tool of readVerticalSpec(vertical)?.tools ?? []) {
      const found = toolPath(tool.command, env);
      const usable = found && probePasses(tool, env);
      out.push({
        vertical,
        tool: tool.name,
        command: tool.command,
        ...(usable ? { path: found } : { reason: `not installed: ${installHint(tool, env)}` }),
      });
    }
  }
  return out;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv, onLine: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    // A nested install must not take an outer `npm run`'s configuration as its own.
    const child = spawn(command, args, { env: cleanInstallEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    const tail: string[] = [];
    const collect = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim()) {
          tail.push(line);
          if (tail.length > 20) {
            tail.shift();
          }
        }
      }
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) {
        resolve();
      } else {
        onLine(tail.join('\n'));
        reject(new UserError(`${command} ${args.join(' ')} failed (exit ${code})`, tail.slice(-3).join(' | ')));
      }
    });
  });
}

/** apt-get options: wait up to 10 minutes for the dpkg lock another apt-get holds. */
const APT_LOCK_WAIT = ['-o', 'DPkg::Lock::Timeout=600'];

/**
 * Install the missing tools of the given verticals with their package manager, under the cache
 * folder (pip into a virtualenv, `go install` into tools/bin, npm into tools/npm; apt system-wide
 * when running as root). Idempotent: present tools are left alone. Returns what is still missing.
 */
export async function installTools(
  verticals: readonly string[],
  onProgress: (line: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ToolStatus[]> {
  const dirs = toolDirs(env);
  const missing: { vertical: string; tool: ToolSpec }[] = [];
  for (const vertical of verticals) {
    for (const tool of readVerticalSpec(vertical)?.tools ?? []) {
      if (!installedByUs(tool, env)) {
        missing.push({ vertical, tool });
      }
    }
  }
  const pip = missing.filter((m) => m.tool.install.pip);
  if (pip.length > 0) {
    const python = whichSync('python3', env);
    if (!python) {
      onProgress('python3 is missing: cannot install pip tools (apt-get install python3 python3-venv)');
    } else {
      if (!fs.existsSync(path.join(dirs.venv, 'bin', 'pip'))) {
        onProgress(`creating the tools virtualenv in ${dirs.venv}`);
        await run(python, ['-m', 'venv', dirs.venv], env, onProgress);
      }
      const specs = pip.map((m) => m.tool.install.pip as string);
      onProgress(`pip install ${specs.join(' ')}`);
      await run(
        path.join(dirs.venv, 'bin', 'pip'),
        ['install', '--disable-pip-version-check', '--quiet', ...specs],
        env,
        onProgress,
      );
    }
  }
  for (const m of missing.filter((x) => x.tool.install.go)) {
    const go = whichSync('go', env);
    if (!go) {
      onProgress(`go is missing: cannot install ${m.tool.name}`);
      continue;
    }
    fs.mkdirSync(dirs.bin, { recursive: true });
    onProgress(`go install ${m.tool.install.go}`);
    await run(go, ['install', m.tool.install.go as string], { ...env, GOBIN: dirs.bin }, onProgress);
  }
  for (const m of missing.filter((x) => x.tool.install.cargo)) {
    const cargo = whichSync('cargo', env);
    if (!cargo) {
      onProgress(`cargo is missing: cannot install ${m.tool.name}`);
      continue;
    }
    onProgress(`cargo install ${m.tool.install.cargo}`);
    await run(cargo, ['install', '--root', path.dirname(dirs.bin), m.tool.install.cargo as string], env, onProgress);
  }
  const npmTools = missing.filter((m) => m.tool.install.npm);
  if (npmTools.length > 0) {
    fs.mkdirSync(dirs.npm, { recursive: true });
    const specs = npmTools.map((m) => m.tool.install.npm as string).flatMap((s) => s.split(/\s+/));
    onProgress(`npm install ${specs.join(' ')}`);
    await run('npm', ['install', '--prefix', dirs.npm, '--no-audit', '--no-fund', ...specs], env, onProgress);
  }
  const apt = missing.filter((m) => m.tool.install.apt);
  if (apt.length > 0) {
    const packages = [...new Set(apt.flatMap((m) => (m.tool.install.apt as string).split(/\s+/)))];
    if (process.getuid?.() !== 0) {
      onProgress(`not root: install with sudo apt-get install -y ${packages.join(' ')}`);
    } else {
      onProgress(`apt-get install ${packages.join(' ')}`);
      const aptEnv = { ...env, DEBIAN_FRONTEND: 'noninteractive' };
      // Another apt-get (an editor setup, unattended upgrades) may hold the dpkg lock: wait for it
      // instead of failing the whole setup.
      const aptGet = (args: string[]) => run('apt-get', [...APT_LOCK_WAIT, ...args], aptEnv, onProgress);
      try {
        await aptGet(['install', '-y', '--no-install-recommends', ...packages]);
      } catch {
        // A fresh machine has no package lists yet.
        await aptGet(['update']);
        await aptGet(['install', '-y', '--no-install-recommends', ...packages]);
      }
    }
  }
  return toolStatuses(verticals, env).filter((s) => !s.path);
}
