import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

/** How runs are tied to a workspace: a stable id from its real path, a name, and its URI. */
export interface WorkspaceIdentity {
  id: string;
  name: string;
  root: string;
  rootUri: string;
}

export function workspaceIdentity(root: string): WorkspaceIdentity {
  let real: string;
  try {
    real = fs.realpathSync(root);
  } catch {
    real = path.resolve(root);
  }
  return {
    id: crypto.createHash('sha256').update(real).digest('hex').slice(0, 16),
    name: path.basename(real),
    root: real,
    rootUri: `${pathToFileURL(real).href}/`,
  };
}
