// The launch configuration of a crash's debug session, from the engine's debug target. Pure (no
// vscode import) so it is unit-tested; adapters.ts starts the debug adapters of these types.
import type { DebugAdapterKind } from '../../backend/fuzz/debuggers';
import type { DebugTarget } from '../../backend/fuzz/harnesses';

/** The debugger types package.json contributes, one per debug adapter. */
export const CRASH_DEBUG_TYPES: Record<DebugAdapterKind, string> = {
  python: 'fuzzforge-python',
  native: 'fuzzforge-lldb',
  'go-test': 'fuzzforge-go',
};

/** The adapter behind a contributed debugger type, or undefined for another type. */
export function adapterOfDebugType(type: string): DebugAdapterKind | undefined {
  return (Object.keys(CRASH_DEBUG_TYPES) as DebugAdapterKind[]).find((k) => CRASH_DEBUG_TYPES[k] === type);
}

export interface CrashLaunchConfig {
  type: string;
  request: 'launch';
  name: string;
  /** Ties the session to the prepared copy it runs in (removed when the session ends). */
  fuzzforgeCrash: string;
  [attribute: string]: unknown;
}

export interface CrashLaunchPlace {
  /** Session name shown in the debug toolbar and call stack. */
  name: string;
  /** The session's key (see CrashLaunchConfig.fuzzforgeCrash). */
  key: string;
  /** The workspace folder the crash is debugged for: call-stack frames open its files. */
  workspace: string;
  /** The private copy the harness was built from and runs in. */
  copy: string;
}

/**
 * The launch request for the target's adapter. The harness runs in the private copy; each
 * adapter's path mapping shows the workspace's own files in the call stack instead, so a frame
 * opens (and a breakpoint lands in) the file the person edits.
 */
export function crashLaunchConfig(target: DebugTarget, place: CrashLaunchPlace): CrashLaunchConfig {
  const base = { request: 'launch' as const, name: place.name, fuzzforgeCrash: place.key, cwd: target.cwd };
  switch (target.adapter) {
    case 'python':
      // debugpy: `code` runs like `python -c`; stops on the uncaught exception (its
      // `uncaught` exception filter is on by default) in any frame, library ones included.
      return {
        ...base,
        type: CRASH_DEBUG_TYPES.python,
        python: [target.python],
        code: target.code,
        args: target.args,
        env: target.env,
        justMyCode: false,
        stopOnEntry: false,
        console: 'internalConsole',
        pathMappings: [{ localRoot: place.workspace, remoteRoot: place.copy }],
      };
    case 'native':
      // lldb-vscode: stops on the sanitizer's report or the signal; env is a list of NAME=value.
      return {
        ...base,
        type: CRASH_DEBUG_TYPES.native,
        program: target.program,
        args: target.args,
        env: Object.entries(target.env).map(([k, v]) => `${k}=${v}`),
        stopOnEntry: false,
        sourceMap: [[place.copy, place.workspace]],
      };
    case 'go-test':
      // Delve: builds the package's tests unoptimised (from its folder: the adapter starts in `cwd`)
      // and stops on the unrecovered panic.
      return {
        ...base,
        type: CRASH_DEBUG_TYPES['go-test'],
        mode: 'test',
        program: target.program,
        args: target.args,
        env: target.env,
        output: target.output,
        stopOnEntry: false,
        substitutePath: [{ from: place.workspace, to: place.copy }],
      };
    default: {
      const never: never = target;
      throw new Error(`unknown debug target ${JSON.stringify(never)}`);
    }
  }
}
