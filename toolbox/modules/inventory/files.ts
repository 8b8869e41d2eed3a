// File inventory: what the target contains, by language, stored as JSON next to the run's SARIF.
import * as path from 'node:path';
import { languageOf } from '../analyzers/patterns';
import { checkpoint, objectStore, runKey, withTarget } from '../runtime';
import type { TargetRef } from '../../shared/definitions';
import { listTargetFiles } from '../targetFiles';

export interface InventoryInput {
  runId: string;
  target: TargetRef;
  exclude: string[];
}

export interface InventorySummary {
  key: string;
  files: number;
  bytes: number;
  languages: Record<string, number>;
}

/** Language (or file kind) of a path for the inventory: analyzable languages plus common others. */
export function inventoryKind(rel: string): string {
  const lang = languageOf(rel);
  if (lang) {
    return lang;
  }
  const ext = path.extname(rel).toLowerCase();
  const others: Record<string, string> = {
    '.rs': 'rust',
    '.cs': 'csharp',
    '.kt': 'kotlin',
    '.swift': 'swift',
    '.sh': 'shell',
    '.md': 'markdown',
    '.json': 'json',
    '.yaml': 'yaml',
    '.yml': 'yaml',
    '.toml': 'toml',
    '.html': 'html',
    '.css': 'css',
    '.sql': 'sql',
  };
  return others[ext] ?? 'other';
}

async function inventoryFiles(input: InventoryInput): Promise<InventorySummary> {
  return withTarget(input.target, async (dir) => {
    checkpoint({ phase: 'inventory' });
    const files = await listTargetFiles(dir, input.exclude);
    const languages: Record<string, number> = {};
    const entries = files.map((f) => {
      const kind = inventoryKind(f.rel);
      languages[kind] = (languages[kind] ?? 0) + 1;
      return { path: f.rel, size: f.size, kind };
    });
    const bytes = files.reduce((s, f) => s + f.size, 0);
    const key = runKey(input.runId, 'inventory.json');
    const store = objectStore();
    await store.putJson(store.buckets.results, key, { target: input.target.name, files: entries, languages, bytes });
    return { key, files: files.length, bytes, languages };
  });
}

export const activities = { inventoryFiles };
