import * as fs from 'node:fs';
import * as path from 'node:path';
import YAML from 'yaml';
import { projectRoot } from '../paths';
import { whichSync } from '../services/binaries';
import { discoverWorkflows } from './discovery';

/** An analysis tool a vertical's modules run, and how the project installs it. */
export interface ToolSpec {
  name: string;
  /** Executable name, looked up in the tools folders and on PATH. */
  command: string;
  /** Exactly one of: a pip requirement, a Go package@version, an npm spec, Debian packages, a crate@version. */
  install: { pip?: string; go?: string; npm?: string; apt?: string; cargo?: string };
  /** Arguments to `command` that succeed only when the tool is usable (e.g. `-c "import atheris"`). */
  probe?: string[];
}

/** `workers/<vertical>/vertical.yaml`: what a vertical's worker needs on the host. */
export interface VerticalSpec {
  name: string;
  description: string;
  /** Toolchain commands without which the worker cannot start. */
  requires: { command: string; install: string }[];
  /** Tools its workflows use; a missing one is reported by the workflow, not fatal. */
  tools: ToolSpec[];
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
      tools: Array.isArray(doc?.tools) ? doc.tools : [],
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

/** Every vertical that has a `workers/<name>/vertical.yaml`. */
export function knownVerticals(dir = workersDir()): string[] {
  try {
    return fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory() && fs.existsSync(path.join(dir, e.name, 'vertical.yaml')))
      .map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
}
