// The debug adapters that debug a crash on this machine: the ones the toolchains ship (debugpy,
// lldb-vscode, Delve), declared as tools in workers/<vertical>/vertical.yaml so `fuzzforge setup
// --tools` installs them and a missing one is reported with the same install command as any tool.
import { UserError } from '../errors';
import { replayEnv } from '../fuzzing';
import { installHint, toolStatuses } from '../toolbox/tools';
import { readVerticalSpec } from '../toolbox/verticals';
import type { FuzzEngineName } from '../../toolbox/shared/fuzzing';
import type { DebugTarget } from './harnesses';

export type DebugAdapterKind = DebugTarget['adapter'];

export interface CrashDebugger {
  /** The vertical.yaml that declares the tool, and the tool's name there. */
  vertical: string;
  tool: string;
  /** What a person reads in a message. */
  label: string;
  /** Arguments after the tool's command that start the adapter. */
  args: string[];
}

export const CRASH_DEBUGGERS: Record<DebugAdapterKind, CrashDebugger> = {
  python: {
    vertical: 'python',
    tool: 'debugpy',
    label: 'debugpy (python -m debugpy.adapter)',
    args: ['-m', 'debugpy.adapter'],
  },
  native: { vertical: 'cpp', tool: 'lldb', label: 'lldb-vscode-14 (Debian package lldb-14)', args: [] },
  // Delve's DAP server listens on a port (it has no stdio mode): the editor connects to it.
  'go-test': { vertical: 'go', tool: 'delve', label: 'Delve (dlv dap)', args: ['dap'] },
};

/** Which debug adapter runs each engine's crashes (the `adapter` of its engine's debugTarget). */
export const ENGINE_DEBUG_ADAPTER: Record<FuzzEngineName, DebugAdapterKind> = {
  atheris: 'python',
  libfuzzer: 'native',
  'cargo-fuzz': 'native',
  'go-fuzz': 'go-test',
};

/** The adapter's command line; throws a UserError naming the missing debugger and its install command. */
export function findCrashDebugger(
  kind: DebugAdapterKind,
  env: NodeJS.ProcessEnv = process.env,
): { command: string; args: string[] } {
  const d = CRASH_DEBUGGERS[kind];
  const status = toolStatuses([d.vertical], env).find((t) => t.tool === d.tool);
  if (status?.path) {
    return { command: status.path, args: d.args };
  }
  const spec = readVerticalSpec(d.vertical)?.tools.find((t) => t.name === d.tool);
  throw new UserError(
    `the debugger ${d.label} is not installed`,
    spec ? `install it: ${installHint(spec, env)}` : `workers/${d.vertical}/vertical.yaml declares no tool ${d.tool}`,
  );
}

/**
 * Variables to set on a debug adapter the editor starts with its own environment merged in: the
 * harness it runs is workspace code, so whatever a replay's environment leaves out (the backend's
 * credentials and connection settings) is set empty here, and PATH finds the project's tools.
 */
export function debugAdapterEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const clean = replayEnv({}, env);
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(clean)) {
    if (value !== undefined) {
      out[key] = value;
    }
  }
  for (const key of Object.keys(env)) {
    if (!(key in clean)) {
      out[key] = '';
    }
  }
  return out;
}
