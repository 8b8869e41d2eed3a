// Builds the extension's .vsix with the project's own vsce, for this platform (vsce --target).
//
// The .vsix must run the embedded backend on its own: the extension spawns dist/supervisor.js,
// which starts workers from dist/worker.js, and workers compile toolbox/ (which
// imports backend/) with esbuild and bundle workflows with Temporal's webpack at start-up. So the
// package holds dist/, toolbox/, workers/, backend/ (sources the toolbox imports), media/, and the
// node_modules closure of what that code loads: the packages dist/*.js require at run time plus
// those toolbox/, workers/ and backend/ import, with their dependencies, found the way Node finds
// them. Programs the shipped code runs rather than loads go in too: sarif-multitool's native build
// for the target (baseline matching). Nothing else of node_modules goes in (the webview toolkit is
// bundled into the page script), nor other platforms' native builds of Temporal's core or of the
// multitool, its debug symbols and API docs, Temporal's Rust sources, type declarations, maps, docs
// or tests.
// Needs a fresh build first: node esbuild.js (--production for a release).
import * as fs from 'node:fs';
import { builtinModules } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { checkSarifMultitool, sarifMultitoolExecutable, sarifMultitoolPackage } from '../sarif/multitool';

const projectRoot = path.resolve(__dirname, '..', '..');

export interface BuiltVsix {
  vsix: string;
  bytes: number;
  files: number;
  ms: number;
  /** vsce's platform target, e.g. linux-x64. */
  target: string;
  /** Packages in the .vsix's node_modules. */
  packages: number;
}

/** Folders copied into the package as they are. */
const PROJECT_FOLDERS = ['dist', 'toolbox', 'workers', 'backend', 'media'];

/** Left out of the package (gitignore syntax, relative to the staging folder). */
const VSCODEIGNORE = [
  '**/*.map',
  '**/*.d.ts',
  '**/*.d.mts',
  '**/*.d.cts',
  '**/*.md',
  '**/*.markdown',
  'node_modules/**/test/**',
  'node_modules/**/tests/**',
  'node_modules/**/__tests__/**',
  'node_modules/**/example/**',
  'node_modules/**/examples/**',
  'node_modules/**/.github/**',
  // Temporal's packages ship their TypeScript sources beside lib/ (only lib/ is loaded).
  'node_modules/@temporalio/*/src/**',
  // esbuild's install step copies its native build over the `esbuild` command (bin/esbuild) to
  // start it faster; the JS API the workers use runs the one in @esbuild/<platform>.
  'node_modules/esbuild/bin/**',
  'backend/scripts/**',
  '.vscodeignore',
];

/** vsce's name for this machine's platform. */
export function vsceTarget(platform: string = process.platform, arch: string = process.arch): string {
  return `${platform}-${arch}`;
}

/** The folder name of Temporal's core bridge build for a platform (see its common.js). */
function coreBridgeRelease(platform: string, arch: string): string {
  const a = ({ x64: 'x86_64', arm64: 'aarch64' } as Record<string, string>)[arch] ?? arch;
  const p =
    ({ darwin: 'apple-darwin', linux: 'unknown-linux-gnu', win32: 'pc-windows-msvc' } as Record<string, string>)[
      platform
    ] ?? platform;
  return `${a}-${p}`;
}

const BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** `@scope/name/sub/path` → `@scope/name`; `name/sub` → `name`. */
export function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/**
 * Bare module specifiers a piece of code loads (require calls, import statements). A specifier
 * holds no white space, so text in string literals that merely looks like `from '…` is no import.
 * `requireOnly` for CommonJS bundles (esbuild's output): there only require calls load anything,
 * and the bundled libraries' own strings must not be read as import statements.
 */
export function bareImports(source: string, requireOnly = false): string[] {
  const out = new Set<string>();
  const quoted = `["']([^"'./\\s][^"'\\s]*)["']`;
  const patterns = [
    new RegExp(`\\brequire\\(\\s*${quoted}\\s*\\)`, 'g'),
    ...(requireOnly
      ? []
      : [
          new RegExp(`\\bfrom\\s+${quoted}`, 'g'),
          new RegExp(`\\bimport\\s*\\(\\s*${quoted}\\s*\\)`, 'g'),
          new RegExp(`^\\s*import\\s+${quoted}`, 'gm'),
        ]),
  ];
  for (const re of patterns) {
    for (const m of source.matchAll(re)) {
      const spec = m[1]!;
      if (!BUILTINS.has(spec) && !BUILTINS.has(packageName(spec)) && spec !== 'vscode') {
        out.add(packageName(spec));
      }
    }
  }
  return [...out].sort();
}

function filesUnder(dir: string, ext: RegExp): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== 'node_modules') {
      out.push(...filesUnder(full, ext));
    } else if (entry.isFile() && ext.test(entry.name)) {
      out.push(full);
    }
  }
  return out;
}

/** The packages the shipped code loads directly: dist bundles' requires, sources' imports. */
function runtimeRoots(): string[] {
  const roots = new Set<string>();
  for (const f of ['extension', 'cli', 'worker', 'activityProcess']) {
    for (const p of bareImports(fs.readFileSync(path.join(projectRoot, 'dist', `${f}.js`), 'utf8'), true)) {
      roots.add(p);
    }
  }
  for (const d of ['toolbox', 'workers', 'backend']) {
    for (const file of filesUnder(path.join(projectRoot, d), /\.(ts|js|mjs|cjs)$/)) {
      if (file.includes(`${path.sep}scripts${path.sep}`) && d === 'backend') {
        continue; // build and packaging scripts are not shipped
      }
      for (const p of bareImports(fs.readFileSync(file, 'utf8'))) {
        roots.add(p);
      }
    }
  }
  return [...roots].sort();
}

/** Where Node would find package `name` when required from `fromDir`. */
function resolvePackageDir(name: string, fromDir: string): string | undefined {
  let dir = fromDir;
  for (;;) {
    const candidate = path.join(dir, 'node_modules', name);
    if (fs.existsSync(path.join(candidate, 'package.json'))) {
      return candidate;
    }
    if (dir === projectRoot || path.dirname(dir) === dir) {
      return undefined;
    }
    dir = path.dirname(dir);
  }
}

/**
 * The node_modules folders (relative to the project root) of `roots` and everything they depend
 * on (dependencies, optional and peer dependencies that are installed).
 */
export function dependencyClosure(roots: readonly string[]): { folders: string[]; missing: string[] } {
  const seen = new Set<string>();
  const missing: string[] = [];
  const visit = (name: string, fromDir: string, optional: boolean) => {
    const dir = resolvePackageDir(name, fromDir);
    if (!dir) {
      if (!optional) {
        missing.push(name);
      }
      return;
    }
    if (seen.has(dir)) {
      return;
    }
    seen.add(dir);
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
      optionalDependencies?: Record<string, string>;
      peerDependencies?: Record<string, string>;
    };
    for (const dep of Object.keys(pkg.dependencies ?? {})) {
      visit(dep, dir, Boolean(pkg.optionalDependencies?.[dep]));
    }
    for (const dep of Object.keys(pkg.optionalDependencies ?? {})) {
      visit(dep, dir, true);
    }
    for (const dep of Object.keys(pkg.peerDependencies ?? {})) {
      visit(dep, dir, true);
    }
  };
  for (const root of roots) {
    visit(root, projectRoot, false);
  }
  return { folders: [...seen].map((d) => path.relative(projectRoot, d)).sort(), missing: [...new Set(missing)] };
}

/**
 * Packages the shipped code runs as programs (no import names them), for a target platform: the
 * multitool's native build. Refuses to package a target the build cannot run on, since that
 * extension would fail every baseline comparison.
 */
export function toolPackages(platform: string, arch: string): string[] {
  const pkg = sarifMultitoolPackage(platform);
  const { path: exe, problem } = checkSarifMultitool(projectRoot, platform, arch);
  if (!pkg || !exe) {
    throw new Error(`cannot package for ${platform}-${arch}: ${problem ?? 'no sarif-multitool build'}`);
  }
  return [pkg];
}

/**
 * The multitool package holds more than the program: debug symbols (.pdb), API docs (.xml beside
 * each assembly), the `dotnet tool` manifest, and Windows-only DLL folders (symbol reading and
 * tracing) even in the Linux and macOS packages. None of it is loaded when the program runs.
 */
function slimSarifMultitool(stage: string, platform: string): void {
  const pkg = sarifMultitoolPackage(platform);
  if (!pkg) {
    return;
  }
  const dir = path.join(stage, 'node_modules', ...pkg.split('/'));
  const entries = fs.readdirSync(dir, { withFileTypes: true });
  const names = new Set(entries.map((e) => e.name));
  const unused = entries.filter((e) =>
    e.isDirectory()
      ? platform !== 'win32' && ['amd64', 'arm64', 'x86'].includes(e.name)
      : e.name.endsWith('.pdb') ||
        e.name === 'DotnetToolSettings.xml' ||
        (e.name.endsWith('.xml') && names.has(e.name.replace(/\.xml$/, '.pdb'))),
  );
  for (const entry of unused) {
    fs.rmSync(path.join(dir, entry.name), { recursive: true, force: true });
  }
  // vsce keeps file modes: make sure the program is executable whatever the install left.
  fs.chmodSync(path.join(dir, sarifMultitoolExecutable(platform)), 0o755);
}

/** Drop what Temporal's core bridge carries for other platforms and for building it from source. */
function slimCoreBridge(stage: string, platform: string, arch: string): void {
  const bridge = path.join(stage, 'node_modules', '@temporalio', 'core-bridge');
  if (!fs.existsSync(bridge)) {
    return;
  }
  const keep = coreBridgeRelease(platform, arch);
  const releases = path.join(bridge, 'releases');
  if (!fs.existsSync(path.join(releases, keep, 'index.node'))) {
    throw new Error(`@temporalio/core-bridge has no build for ${keep}: cannot package for ${platform}-${arch}`);
  }
  for (const r of fs.readdirSync(releases)) {
    if (r !== keep) {
      fs.rmSync(path.join(releases, r), { recursive: true, force: true });
    }
  }
  for (const d of ['sdk-core', 'src', 'bridge-macros', 'scripts', 'Cargo.toml', 'Cargo.lock']) {
    fs.rmSync(path.join(bridge, d), { recursive: true, force: true });
  }
}

export function buildExtensionVsix(dir: string): BuiltVsix {
  const t0 = Date.now();
  for (const f of ['extension', 'cli', 'worker', 'activityProcess']) {
    if (!fs.existsSync(path.join(projectRoot, 'dist', `${f}.js`))) {
      throw new Error(`dist/${f}.js missing: run node esbuild.js first`);
    }
  }
  const target = vsceTarget();
  fs.mkdirSync(dir, { recursive: true });
  // A private staging folder: `dir` may be the checkout itself (npm run package), whose extension/
  // folder holds sources.
  const stageRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-vsix-stage-'));
  const stage = path.join(stageRoot, 'extension');
  fs.mkdirSync(stage);
  try {
    return packageStage(stage, dir, target, t0);
  } finally {
    fs.rmSync(stageRoot, { recursive: true, force: true });
  }
}

function packageStage(stage: string, dir: string, target: string, t0: number): BuiltVsix {
  const pkg = JSON.parse(fs.readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as Record<string, unknown>;
  const roots = [...runtimeRoots(), ...toolPackages(process.platform, process.arch)].sort();
  const { folders, missing } = dependencyClosure(roots);
  if (missing.length > 0) {
    throw new Error(`packages the shipped code loads are not installed: ${missing.join(', ')} (run npm install)`);
  }
  // The staged manifest depends on exactly what the shipped code loads, at the installed versions
  // (esbuild included: a dev tool here, a run-time need of the worker), so vsce's `npm list`
  // packs the staged tree and nothing else.
  const installedVersion = (name: string) =>
    (
      JSON.parse(fs.readFileSync(path.join(projectRoot, 'node_modules', name, 'package.json'), 'utf8')) as {
        version: string;
      }
    ).version;
  const staged = {
    ...pkg,
    dependencies: Object.fromEntries(roots.map((r) => [r, installedVersion(r)])),
    devDependencies: {},
    scripts: {},
  };
  fs.writeFileSync(path.join(stage, 'package.json'), JSON.stringify(staged, null, 2));
  for (const d of PROJECT_FOLDERS) {
    fs.cpSync(path.join(projectRoot, d), path.join(stage, d), { recursive: true, dereference: true });
  }
  // The project README links relative paths vsce cannot resolve without a repository URL.
  fs.writeFileSync(path.join(stage, 'README.md'), '# FuzzForge\n\nPackaged by backend/scripts/package.ts.\n');
  fs.writeFileSync(path.join(stage, 'LICENSE'), 'Apache-2.0\n');
  for (const rel of folders) {
    const to = path.join(stage, rel);
    // Copy the package without its nested node_modules: those are in the closure on their own.
    fs.cpSync(path.join(projectRoot, rel), to, {
      recursive: true,
      dereference: true,
      filter: (src) => !path.relative(path.join(projectRoot, rel), src).split(path.sep).includes('node_modules'),
    });
  }
  slimCoreBridge(stage, process.platform, process.arch);
  slimSarifMultitool(stage, process.platform);
  fs.writeFileSync(path.join(stage, '.vscodeignore'), `${VSCODEIGNORE.join('\n')}\n`);
  const vsix = path.resolve(dir, `fuzzforge-vscode-${String(pkg.version)}-${target}.vsix`);
  try {
    execFileSync(
      path.join(projectRoot, 'node_modules', '.bin', 'vsce'),
      [
        'package',
        '--target',
        target,
        '--allow-missing-repository',
        '--allow-star-activation',
        '--skip-license',
        '--allow-package-secrets',
        'github',
        '-o',
        vsix,
      ],
      { cwd: stage, stdio: 'pipe', timeout: 300_000, maxBuffer: 64 * 1024 * 1024 },
    );
  } catch (e) {
    const err = e as { stderr?: Buffer; stdout?: Buffer };
    throw new Error(`vsce package failed:\n${String(err.stdout ?? '')}${String(err.stderr ?? '')}`, { cause: e });
  }
  const listing = execFileSync('unzip', ['-Z1', vsix], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return {
    vsix,
    bytes: fs.statSync(vsix).size,
    files: listing.split('\n').filter(Boolean).length,
    ms: Date.now() - t0,
    target,
    packages: folders.length,
  };
}

// Run directly: node --import tsx backend/scripts/package.ts [outDir]
if (require.main === module) {
  const out = path.resolve(process.argv[2] ?? fs.mkdtempSync(path.join(os.tmpdir(), 'ff-vsix-')));
  const r = buildExtensionVsix(out);
  console.log(
    `${r.vsix}: ${(r.bytes / 1e6).toFixed(1)} MB, ${r.files} files, ${r.packages} packages, ${r.target}, ${r.ms} ms`,
  );
}
