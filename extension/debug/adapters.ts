// The debug adapters behind the contributed debugger types (package.json `debuggers`): the
// toolchains' own, so debugging a crash needs no language extension. debugpy and lldb-vscode
// speak DAP on stdio; Delve only on a port, so it is started here and the editor connects to it.
import * as vscode from 'vscode';
import {
  debugAdapterEnv,
  findCrashDebugger,
  startDapServer,
  type DebugAdapterKind,
} from '../../backend/fuzz/debuggers';
import { UserError } from '../../backend/errors';
import { killGroup } from '../../backend/processGroup';
import { CRASH_DEBUG_TYPES } from './launchConfig';

/** Register a descriptor factory for each contributed debugger type. */
export function activateCrashDebuggers(disposables: vscode.Disposable[], log: vscode.LogOutputChannel): void {
  const servers = new Map<string, number>();
  for (const kind of Object.keys(CRASH_DEBUG_TYPES) as DebugAdapterKind[]) {
    disposables.push(
      vscode.debug.registerDebugAdapterDescriptorFactory(CRASH_DEBUG_TYPES[kind], {
        createDebugAdapterDescriptor: async (session) => {
          // VS Code shows only the message of what this throws: the install command goes in it.
          const { command, args } = withHintInMessage(() => findCrashDebugger(kind));
          log.info(`debug adapter for ${session.name}: ${command} ${args.join(' ')}`);
          if (kind !== 'go-test') {
            return new vscode.DebugAdapterExecutable(command, args, { env: debugAdapterEnv() });
          }
          const cwd = typeof session.configuration.cwd === 'string' ? session.configuration.cwd : undefined;
          const server = await startDapServer(command, args, cwd, (line) => log.info(`dlv: ${line}`));
          servers.set(session.id, server.pid);
          return new vscode.DebugAdapterServer(server.port, '127.0.0.1');
        },
      }),
    );
  }
  disposables.push(
    vscode.debug.onDidTerminateDebugSession((session) => {
      const pid = servers.get(session.id);
      if (pid !== undefined) {
        servers.delete(session.id);
        killGroup(pid);
      }
    }),
    { dispose: () => servers.forEach((pid) => killGroup(pid)) },
  );
}

function withHintInMessage<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof UserError && err.hint) {
      throw new UserError(`${err.message}: ${err.hint}`);
    }
    throw err;
  }
}
