import * as fs from 'node:fs';
import * as path from 'node:path';
import ignore from 'ignore';

export interface TargetFile {
  /** Posix path relative to the target root. */
  rel: string;
  abs: string;
  size: number;
}

/**
 * Regular files of a materialised target, sorted, minus the workflow's `exclude` globs
 * (gitignore syntax). Symbolic links are not followed: the packer already kept only inner ones.
 */
export async function listTargetFiles(root: string, exclude: readonly string[] = []): Promise<TargetFile[]> {
  const rules = ignore({ allowRelativePaths: true }).add([...exclude]);
  const out: TargetFile[] = [];
  const visit = async (rel: string) => {
    const entries = await fs.promises.readdir(rel ? path.join(root, rel) : root, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const childRel = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (!rules.ignores(`${childRel}/`)) {
          await visit(childRel);
        }
      } else if (entry.isFile() && !rules.ignores(childRel)) {
        const abs = path.join(root, childRel);
        out.push({ rel: childRel, abs, size: (await fs.promises.stat(abs)).size });
      }
    }
  };
  await visit('');
  return out;
}

/** Read a text file for analysis, or undefined when it is binary (NUL in the first 8 KiB). */
export async function readText(file: string): Promise<string | undefined> {
  const data = await fs.promises.readFile(file);
  if (data.subarray(0, 8192).includes(0)) {
    return undefined;
  }
  return data.toString('utf8');
}
