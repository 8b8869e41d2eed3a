// Builds a .vsix of this repository's extension into a temp folder, with the project's own vsce.
// dist/extension.js keeps @temporalio/* (and friends) external, so the package must carry the
// production node_modules: a staging copy holds package.json, dist/, toolbox/, workers/ and exactly
// the packages `npm ls --omit=dev` lists, and vsce packages that copy (dependencies included).
// Needs a fresh build first: node esbuild.js --quiet.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';

const projectRoot = path.resolve(__dirname, '..', '..');

export interface BuiltVsix {
  vsix: string;
  bytes: number;
  files: number;
  ms: number;
}

/** The production packages' folders, relative to the project root (node_modules/...). */
function productionPackages(): string[] {
  const out = execFileSync('npm', ['ls', '--omit=dev', '--parseable', '--all'], {
    cwd: projectRoot,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
    maxBuffer: 64 * 1024 * 1024,
  });
  return out
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && path.resolve(l) !== projectRoot)
    .map((l) => path.relative(projectRoot, l))
    .filter((rel) => rel.startsWith('node_modules' + path.sep));
}

export function buildExtensionVsix(dir: string): BuiltVsix {
  const t0 = Date.now();
  const dist = path.join(projectRoot, 'dist', 'extension.js');
  if (!fs.existsSync(dist)) {
    throw new Error(`${dist} missing: run node esbuild.js --quiet first`);
  }
  const stage = path.join(dir, 'extension');
  fs.mkdirSync(stage, { recursive: true });
  const pkg = JSON.parse(fs.readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as Record<string, unknown>;
  fs.writeFileSync(path.join(stage, 'package.json'), JSON.stringify(pkg, null, 2));
  for (const d of ['dist', 'toolbox', 'workers', 'media']) {
    fs.cpSync(path.join(projectRoot, d), path.join(stage, d), { recursive: true, dereference: true });
  }
  // The project README links relative paths vsce cannot resolve without a repository URL.
  fs.writeFileSync(path.join(stage, 'README.md'), '# FuzzForge\n\nPackaged by backend/scripts/package.ts.\n');
  fs.writeFileSync(path.join(stage, 'LICENSE'), 'Apache-2.0\n');
  for (const rel of productionPackages()) {
    const target = path.join(stage, rel);
    if (fs.existsSync(target)) {
      continue; // nested inside one already copied
    }
    fs.cpSync(path.join(projectRoot, rel), target, { recursive: true, dereference: true });
  }
  // What the installed extension needs at run time, nothing of the sources or tests.
  fs.writeFileSync(
    path.join(stage, '.vscodeignore'),
    ['**/*.map', '**/*.d.ts.map', '.vscodeignore', 'node_modules/**/test/**', 'node_modules/**/*.md', ''].join('\n'),
  );
  const vsix = path.join(dir, `fuzzforge-vscode-${String(pkg.version)}.vsix`);
  try {
    execFileSync(
      path.join(projectRoot, 'node_modules', '.bin', 'vsce'),
      [
        'package',
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
  };
}

// Run directly: node --import tsx backend/scripts/package.ts [outDir]
if (require.main === module) {
  const out = process.argv[2] ?? fs.mkdtempSync(path.join(os.tmpdir(), 'ff-vsix-'));
  const r = buildExtensionVsix(out);
  console.log(`${r.vsix}: ${(r.bytes / 1e6).toFixed(1)} MB, ${r.files} files, ${r.ms} ms`);
}
