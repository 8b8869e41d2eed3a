import * as fs from 'node:fs';
import * as path from 'node:path';
import YAML from 'yaml';
import { projectRoot } from '../paths';
import { whichSync } from '../services/binaries';
import { discoverWorkflows } from './discovery';

/** `workers/<vertical>/vertical.yaml`: what a vertical's worker needs on the host. */
export interface VerticalSpec {
  name: string;
  description: string;
  requires: { command: string; install: string }[];
}

export interface VerticalAvailability {
  vertical: string;
  available: boolean;
  /** Why not, and how to fix it. */
  reason?: string;
  workflows: string[];
}

export function workersDir(): string {
  return path.join(projectRoot(), 'workers');
}

export function readVerticalSpec(vertical: string, dir = workersDir()): VerticalSpec | undefined {
  const file = path.join(dir, vertical, 'vertical.yaml');
  try {
    const doc = YAML.parse(fs.readFileSync(file, 'utf8')) as Partial<VerticalSpec> | null;
    return {
      name: doc?.name ?? vertical,
      description: doc?.description ?? '',
      requires: Array.isArray(doc?.requires) ? doc.requires : [],
    };
  } catch {
    return undefined;
  }
}

/** Verticals that have workflows in the toolbox, and whether this host can run their worker. */
export function availableVerticals(toolboxDir: string, env: NodeJS.ProcessEnv = process.env): VerticalAvailability[] {
  const byVertical = new Map<string, string[]>();
  for (const wf of discoverWorkflows(toolboxDir).workflows) {
    byVertical.set(wf.vertical, [...(byVertical.get(wf.vertical) ?? []), wf.name]);
  }
  return [...byVertical.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([vertical, workflows]) => {
      const spec = readVerticalSpec(vertical);
      if (!spec) {
        return {
          vertical,
          workflows,
          available: false,
          reason: `no worker definition at workers/${vertical}/vertical.yaml`,
        };
      }
      const missing = spec.requires.filter((r) => !whichSync(r.command, env));
      if (missing.length > 0) {
        return {
          vertical,
          workflows,
          available: false,
          reason: missing.map((m) => `${m.command} not found (install: ${m.install})`).join('; '),
        };
      }
      return { vertical, workflows, available: true };
    });
}
