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
  rules: Ignore;
  /** The same rules without the folder-only ones (`name/`), for files. */
  fileRules: Ignore;
}

/** A rule that only matches folders (`build/`, `!keep/`); it can never match a file itself. */
function isFolderOnly(line: string): boolean {
  const rule = line.trimEnd();
  return rule.endsWith('/') && !rule.startsWith('#');
}

/** Rules as the ignore package takes them, plus the subset that can match a file. */
function compile(lines: readonly string[]): { rules: Ignore; fileRules: Ignore } {
  return {
    rules: ignore({ allowRelativePaths: true }).add([...lines]),
    fileRules: ignore({ allowRelativePaths: true }).add(lines.filter((l) => !isFolderOnly(l))),
  };
}

/**
 * Git's ignore semantics over a tree: a .gitignore applies to paths below its folder and deeper
 * files override shallower ones (including `!` re-includes). Default and user excludes are checked
 * first and cannot be re-included by a .gitignore, because people rely on them to keep bulk and
 * private files out of uploads.
 */
export class IgnoreStack {
  private readonly fixed: { rules: Ignore; fileRules: Ignore };
  private readonly layers: Layer[] = [];

  constructor(excludes: readonly string[]) {
    this.fixed = compile(excludes);
  }

  /** Add the rules of `<base>/.gitignore` (base relative to the root, '' for the root). */
  addGitignore(base: string, content: string): void {
    this.layers.push({ base, ...compile(content.split(/\r?\n/)) });
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
    if ((isDir ? this.fixed.rules : this.fixed.fileRules).ignores(probe)) {
      return true;
    }
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const layer = this.layers[i] as Layer;
      if (layer.base !== '' && !rel.startsWith(`${layer.base}/`)) {
        continue;
      }
      const local = layer.base === '' ? probe : probe.slice(layer.base.length + 1);
      const verdict = (isDir ? layer.rules : layer.fileRules).test(local);
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
