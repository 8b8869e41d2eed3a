// The debug adapters behind the contributed debugger types (package.json `debuggers`): the
// toolchains' own, so debugging a crash needs no language extension. debugpy and lldb-vscode
// speak DAP on stdio; Delve only on a port, so it is started here and the editor connects to it.
import { spawn } from 'node:child_process';
import * as vscode from 'vscode';
import { debugAdapterEnv, findCrashDebugger, type DebugAdapterKind } from '../../backend/fuzz/debuggers';
import { replayEnv } from '../../backend/fuzzing';
import { killGroup } from '../../backend/processGroup';
import { CRASH_DEBUG_TYPES } from './launchConfig';

/** How long Delve may take to say where it listens. */
const DELVE_START_MS = 30_000;

/** Register a descriptor factory for each contributed debugger type. */
export function activateCrashDebuggers(disposables: vscode.Disposable[], log: vscode.LogOutputChannel): void {
  const servers = new Map<string, number>();
  for (const kind of Object.keys(CRASH_DEBUG_TYPES) as DebugAdapterKind[]) {
    disposables.push(
      vscode.debug.registerDebugAdapterDescriptorFactory(CRASH_DEBUG_TYPES[kind], {
        createDebugAdapterDescriptor: async (session) => {
          // Throws naming the missing debugger and its install command; VS Code shows it.
          const { command, args } = findCrashDebugger(kind);
          log.info(`debug adapter for ${session.name}: ${command} ${args.join(' ')}`);
          if (kind !== 'go-test') {
            return new vscode.DebugAdapterExecutable(command, args, { env: debugAdapterEnv() });
          }
          const server = await startDelve(command, args, log);
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

/** Start `dlv dap` on a free loopback port; resolves with the port it announces. */
function startDelve(
  command: string,
  args: string[],
  log: vscode.LogOutputChannel,
): Promise<{ port: number; pid: number }> {
  return new Promise((resolve, reject) => {
    // Its own process group: the debuggee it builds and runs goes with it.
    const child = spawn(command, [...args, '--listen=127.0.0.1:0'], {
      env: replayEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let text = '';
    const timer = setTimeout(() => {
      killGroup(child.pid);
      reject(new Error(`dlv dap did not say where it listens within ${DELVE_START_MS / 1000} s: ${text.slice(-500)}`));
    }, DELVE_START_MS);
    const onData = (chunk: Buffer) => {
      const part = chunk.toString('utf8');
      log.info(`dlv: ${part.trimEnd()}`);
      if (text.length < 64 * 1024) {
        text += part;
      }
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
      reject(new Error(`dlv dap exited (code ${code}) before listening: ${text.slice(-500)}`));
    });
  });
}
