// Medium benchmark workspaces made from the small fixtures of test/fixtures: each fixture copied N
// times into c01/, c02/, ... so that every language has a few hundred files whose findings are
// known, instead of synthetic text no tool finds anything in.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { walkWorkspace } from '../../backend/storage/pack';
import { FIXTURES } from '../integration/harness';

export const FIXTURE_NAMES = [
  'vulnerable-app',
  'python-sast',
  'js-sast',
  'go-sast',
  'cpp-sast',
  'secrets-app',
] as const;
export type FixtureName = (typeof FIXTURE_NAMES)[number];

/** The module path of a replicated go-sast: one module, each copy a tree of packages in it. */
export const GO_BENCH_MODULE = 'example.com/bench';
/** The module path the go-sast fixture imports its own packages by. */
const GO_FIXTURE_MODULE = 'example.com/gosast';

/** "c01".."c25": zero-padded so that listings sort in copy order. */
export function copyNames(copies: number): string[] {
  const width = String(copies).length;
  return Array.from({ length: copies }, (_, i) => `c${String(i + 1).padStart(width, '0')}`);
}

function filesUnder(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((rel) => path.join(dir, rel))
    .filter((file) => fs.statSync(file).isFile());
}

/**
 * Copy one fixture `copies` times into `dest`/cNN. go-sast becomes ONE module (go.mod at `dest`)
 * with each copy's packages inside it, imports rewritten to match: that is how a medium Go project
 * looks, it needs only the standard library (works with GOPROXY=off), and gosec and go vet then
 * load every package in one invocation as they would in a real repository, instead of paying a
 * process start per copy. Its nested tools/ module becomes a package of that module.
 */
export function replicateFixture(name: FixtureName, dest: string, copies: number): void {
  const source = path.join(FIXTURES, name);
  fs.mkdirSync(dest, { recursive: true });
  for (const copy of copyNames(copies)) {
    const target = path.join(dest, copy);
    fs.cpSync(source, target, { recursive: true });
    if (name !== 'go-sast') {
      continue;
    }
    for (const file of filesUnder(target)) {
      if (path.basename(file) === 'go.mod' || path.basename(file) === 'go.sum') {
        fs.rmSync(file);
      } else if (file.endsWith('.go')) {
        const text = fs.readFileSync(file, 'utf8');
        fs.writeFileSync(file, text.replaceAll(`"${GO_FIXTURE_MODULE}/`, `"${GO_BENCH_MODULE}/${copy}/`));
      }
    }
  }
  if (name === 'go-sast') {
    fs.writeFileSync(path.join(dest, 'go.mod'), `module ${GO_BENCH_MODULE}\n\ngo 1.21\n`);
  }
}

/** A workspace with the given fixtures side by side, each replicated: `root`/<fixture>/cNN/... */
export function generateWorkspace(root: string, fixtures: readonly FixtureName[], copies: number): void {
  for (const name of fixtures) {
    replicateFixture(name, path.join(root, name), copies);
  }
}

/**
 * Copy exactly the files an upload of `workspace` would send (its .gitignore files, the default
 * excludes) to `dest`: the tree a worker materialises, so tools run directly on it see the same
 * file set as the workflow's activities. Returns the number of files.
 */
export async function materialiseTarget(workspace: string, dest: string): Promise<number> {
  const { files, links } = await walkWorkspace(workspace);
  for (const file of files) {
    const to = path.join(dest, file.rel);
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.copyFileSync(file.abs, to);
  }
  for (const link of links) {
    const at = path.join(dest, link.path);
    fs.mkdirSync(path.dirname(at), { recursive: true });
    fs.symlinkSync(link.target, at);
  }
  return files.length;
}
