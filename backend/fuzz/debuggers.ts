// The debug adapters that debug a crash on this machine: the ones the toolchains ship (debugpy,
// lldb-vscode, Delve), declared as tools in workers/<vertical>/vertical.yaml so `fuzzforge setup
// --tools` installs them and a missing one is reported with the same install command as any tool.
import { spawn } from 'node:child_process';
import { UserError } from '../errors';
import { replayEnv } from '../fuzzing';
import { killGroup } from '../processGroup';
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

/** How long a DAP server may take to say where it listens. */
const DAP_SERVER_START_MS = 30_000;

/**
 * Start a debug adapter that serves DAP on a port (Delve: `dlv dap --listen`, it has no stdio
 * mode) on a free loopback port, in its own process group with a replay's environment; resolves
 * with the port it announces and its pid (kill its group when the session ends).
 */
export function startDapServer(
  command: string,
  args: readonly string[],
  cwd: string | undefined,
  onOutput?: (text: string) => void,
): Promise<{ port: number; pid: number }> {
  return new Promise((resolve, reject) => {
    // Delve builds from its own folder (`go test -c` needs the module of the package there).
    const child = spawn(command, [...args, '--listen=127.0.0.1:0'], {
      cwd,
      env: replayEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let text = '';
    const timer = setTimeout(() => {
      killGroup(child.pid);
      reject(
        new Error(
          `${command} did not say where it listens within ${DAP_SERVER_START_MS / 1000} s: ${text.slice(-500)}`,
        ),
      );
    }, DAP_SERVER_START_MS);
    const onData = (chunk: Buffer) => {
      const part = chunk.toString('utf8');
      onOutput?.(part.trimEnd());
      if (text.length < 64 * 1024) {
        text += part;
      }
      // Delve: "DAP server listening at: 127.0.0.1:40123"
      const m = /listening at:?\s*(?:\S*:)?(\d+)/i.exec(text);
      if (m && child.pid !== undefined) {
        clearTimeout(timer);
        resolve({ port: Number(m[1]), pid: child.pid });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited (code ${code}) before listening: ${text.slice(-500)}`));
    });
  });
}
