import ignore, { type Ignore } from 'ignore';

/** Folders and files no scan wants: VCS data, dependencies, build outputs, virtualenvs, caches. */
export const DEFAULT_EXCLUDES: readonly string[] = [
  '.git/',
  '.hg/',
  '.svn/',
  'node_modules/',
  'bower_components/',
  'target/',
  'dist/',
  'build/',
  '.next/',
  '.nuxt/',
  '.gradle/',
  '__pycache__/',
  '*.pyc',
  '.venv/',
  'venv/',
  '.tox/',
  '.nox/',
  '.mypy_cache/',
  '.pytest_cache/',
  '.ruff_cache/',
  '.eggs/',
  '*.egg-info/',
  '.vscode-test/',
  '.idea/',
  '.DS_Store',
];

interface Layer {
  /** Folder (relative to the root, '' for the root) whose .gitignore this is. */
  base: string;
  /** The rules, and the same rules without the folder-only ones (`name/`) for files. */
  set: Compiled;
}

/** A rule that only matches folders (`build/`, `!keep/`); it can never match a file itself. */
function isFolderOnly(line: string): boolean {
  const rule = line.trimEnd();
  return rule.endsWith('/') && !rule.startsWith('#');
}

interface Compiled {
  rules: Ignore;
  fileRules: Ignore;
  /** Paths asked about since compiled: each leaves a verdict in the ignore package's cache. */
  asked: number;
}

/**
 * Compiled rule sets by their text, the most recently used last. The ignore package keeps each
 * path's verdict in its instance, so reusing the instance across walks (uploads on save walk the
 * same tree every few seconds) answers the paths already seen from that cache instead of testing
 * every rule's expression again: a third of an unchanged 5,000-file walk's own CPU.
 */
const compiledSets = new Map<string, Compiled>();
/** How many rule sets stay compiled: the default excludes and the .gitignore files of a few trees. */
export const COMPILED_SETS_KEPT = 64;
/** Past this many paths asked, a set is compiled afresh: its verdict cache is bounded by it. */
export const COMPILED_SET_MAX_ASKED = 200_000;

/** Rules as the ignore package takes them, plus the subset that can match a file. */
function compile(lines: readonly string[]): Compiled {
  const key = lines.join('\n');
  const kept = compiledSets.get(key);
  compiledSets.delete(key);
  if (kept && kept.asked < COMPILED_SET_MAX_ASKED) {
    compiledSets.set(key, kept);
    return kept;
  }
  const fresh: Compiled = {
    rules: ignore({ allowRelativePaths: true }).add([...lines]),
    fileRules: ignore({ allowRelativePaths: true }).add(lines.filter((l) => !isFolderOnly(l))),
    asked: 0,
  };
  compiledSets.set(key, fresh);
  for (const oldest of compiledSets.keys()) {
    if (compiledSets.size <= COMPILED_SETS_KEPT) {
      break;
    }
    compiledSets.delete(oldest);
  }
  return fresh;
}

/**
 * Git's ignore semantics over a tree: a .gitignore applies to paths below its folder and deeper
 * files override shallower ones (including `!` re-includes). Default and user excludes are checked
 * first and cannot be re-included by a .gitignore, because people rely on them to keep bulk and
 * private files out of uploads.
 */
export class IgnoreStack {
  private readonly fixed: Compiled;
  private readonly layers: Layer[] = [];

  constructor(excludes: readonly string[]) {
    this.fixed = compile(excludes);
  }

  /** Add the rules of `<base>/.gitignore` (base relative to the root, '' for the root). */
  addGitignore(base: string, content: string): void {
    this.layers.push({ base, set: compile(content.split(/\r?\n/)) });
  }

  /** Drop layers that do not contain `dir` (called when the walk leaves a folder). */
  popTo(dir: string): void {
    while (this.layers.length > 0) {
      const top = this.layers[this.layers.length - 1] as Layer;
      if (top.base === '' || dir === top.base || dir.startsWith(`${top.base}/`)) {
        break;
      }
      this.layers.pop();
    }
  }

  /**
   * Is `rel` (posix, relative to the root) ignored? `isDir` adds git's trailing slash. As in a
   * walk, the folders above `rel` are taken as already checked (an ignored folder is never
   * entered): a file is tested against the rules that can match a file only, a tenth of the
   * default excludes, which is most of the walk's time on a tree of small files.
   */
  ignores(rel: string, isDir: boolean): boolean {
    const probe = isDir ? `${rel}/` : rel;
    this.fixed.asked++;
    if ((isDir ? this.fixed.rules : this.fixed.fileRules).ignores(probe)) {
      return true;
    }
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const layer = this.layers[i] as Layer;
      if (layer.base !== '' && !rel.startsWith(`${layer.base}/`)) {
        continue;
      }
      const local = layer.base === '' ? probe : probe.slice(layer.base.length + 1);
      layer.set.asked++;
      const verdict = (isDir ? layer.set.rules : layer.set.fileRules).test(local);
      if (verdict.ignored) {
        return true;
      }
      if (verdict.unignored) {
        return false;
      }
    }
    return false;
  }
}
