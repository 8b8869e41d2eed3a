import * as fs from 'node:fs';
import * as path from 'node:path';
import { diskLookup, resolveInTree } from './extract';

export interface PrivateCopyResult {
  /** Links left out because they resolve outside the source (with their targets). */
  droppedLinks: { path: string; target: string }[];
}

/**
 * Copy a tree into a private folder that shares nothing with its source. Links are copied as
 * they are (`verbatimSymlinks`: Node's fs.cp otherwise rewrites a relative link into an absolute
 * link into the source, so writes in the "private" copy land in the workspace or the shared
 * target cache), and links that resolve outside the source are left out, as the packer does.
 * `skip` names (basenames) are not copied.
 */
export async function copyTreePrivately(
  source: string,
  dest: string,
  skip: ReadonlySet<string> = new Set(),
): Promise<PrivateCopyResult> {
  const root = await fs.promises.realpath(source);
  const lookup = diskLookup(root);
  const droppedLinks: PrivateCopyResult['droppedLinks'] = [];
  await fs.promises.cp(root, dest, {
    recursive: true,
    verbatimSymlinks: true,
    filter: async (src) => {
      if (src === root) {
        return true;
      }
      if (skip.has(path.basename(src))) {
        return false;
      }
      const st = await fs.promises.lstat(src);
      if (!st.isSymbolicLink()) {
        return true;
      }
      const rel = path.relative(root, src).split(path.sep).join('/');
      const target = await fs.promises.readlink(src);
      if ('escape' in resolveInTree(lookup, path.posix.dirname(rel), target)) {
        droppedLinks.push({ path: rel, target });
        return false;
      }
      return true;
    },
  });
  return { droppedLinks };
}
