// Debug one crash of a run in the editor: prepare it as a replay does (input downloaded, harness
// built in a private copy of the workspace), then start a session of the engine's debugger type on
// that input, which stops where it crashes. The copy is removed when the session ends.
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { ENGINE_DEBUG_ADAPTER, findCrashDebugger } from '../../backend/fuzz/debuggers';
import { UserError } from '../../backend/errors';
import { getCrash, prepareReplay, ReplayCancelledError, type PreparedReplay } from '../../backend/fuzzing';
import type { Connected } from '../backendSession';
import { Cancelled } from '../errors';
import { crashLaunchConfig } from './launchConfig';

export interface DebugCrashDeps {
  connect(): Promise<Connected>;
  log: vscode.LogOutputChannel;
}

/** What the Debug command started. */
export interface CrashDebugSession {
  /** The debug session's name. */
  name: string;
  /** Its debugger type (fuzzforge-python, fuzzforge-lldb, fuzzforge-go). */
  type: string;
  /** The launch configuration's `fuzzforgeCrash` key. */
  key: string;
}

/** Why nothing runs in an untrusted workspace, and what to do. */
export class UntrustedWorkspaceError extends UserError {
  constructor(doing: string) {
    super(
      `${doing} builds and runs the harness, which is code from this workspace: it does not run in an untrusted workspace`,
      'trust the folder first (Workspaces: Manage Workspace Trust)',
    );
    this.name = 'UntrustedWorkspaceError';
  }
}

/** Throws UntrustedWorkspaceError unless the workspace is trusted. */
export function requireTrustedWorkspace(doing: string): void {
  if (!vscode.workspace.isTrusted) {
    throw new UntrustedWorkspaceError(doing);
  }
}

export async function debugCrashInEditor(
  deps: DebugCrashDeps,
  runId: string,
  crashId: string,
  workspaceRoot?: string,
): Promise<CrashDebugSession> {
  requireTrustedWorkspace('Debugging a crash');
  const { conn, runs } = await deps.connect();
  const crash = await getCrash(conn, runId, crashId);
  // Before the build (minutes for a Rust harness): say now which debugger is missing.
  findCrashDebugger(ENGINE_DEBUG_ADAPTER[crash.engine]);
  const found =
    workspaceRoot ??
    (await runs.describe(runId)).memo?.workspaceRoot ??
    vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  if (!found) {
    throw new UserError('open the fuzzed folder to debug its crashes');
  }
  const root = path.resolve(found);
  const log = deps.log;
  log.info(`debugging crash ${crash.id} of ${runId} (${crash.engine}, harness ${crash.harness}) from ${root}`);
  const prepared = await vscode.window.withProgress(
    {
      location: vscode.ProgressLocation.Notification,
      title: `Preparing crash ${crash.id.slice(0, 8)} for the debugger`,
      cancellable: true,
    },
    async (progress, token): Promise<PreparedReplay> => {
      const cancel = new AbortController();
      const subscription = token.onCancellationRequested(() => cancel.abort());
      try {
        return await prepareReplay(conn, crash, {
          workspace: root,
          onProgress: (line) => {
            progress.report({ message: line });
            log.info(line);
          },
          signal: cancel.signal,
        });
      } catch (err) {
        throw err instanceof ReplayCancelledError ? new Cancelled() : err;
      } finally {
        subscription.dispose();
      }
    },
  );
  const key = randomUUID();
  const config = crashLaunchConfig(prepared.engine.debugTarget(prepared.harness, prepared.dirs, prepared.input), {
    name: `Crash ${crash.id.slice(0, 8)}: ${crash.kind} in ${prepared.harness.name}`,
    key,
    workspace: root,
    copy: prepared.dirs.work,
  });
  const dispose = () =>
    prepared.dispose().catch((err: unknown) => log.warn(`removing ${prepared.dirs.work}: ${String(err)}`));
  const ended = vscode.debug.onDidTerminateDebugSession((session) => {
    if (session.configuration.fuzzforgeCrash === key) {
      ended.dispose();
      void dispose();
    }
  });
  let started = false;
  try {
    const folder = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(root));
    started = await vscode.debug.startDebugging(folder, config);
  } finally {
    if (!started) {
      ended.dispose();
      await dispose();
    }
  }
  if (!started) {
    throw new Error(`the ${config.type} debug session did not start (see the Debug Console and the FuzzForge log)`);
  }
  return { name: config.name, type: config.type, key };
}
