// VS Code entry point: wires features in dependency order; each feature owns its disposables.
// The backend library does the work, exactly as it does for the CLI.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { describeError, UserError } from '../backend/errors';
import { stateDir, toolboxDir } from '../backend/paths';
import { awaitScan, findWorkflow, startScan } from '../backend/scan';
import { parseBackendMode, resolveBackend } from '../backend/services/backend';
import type { BackendConnection } from '../backend/services/connection';
import {
  checkHealth,
  defaultEmbeddedOptions,
  runningEmbedded,
  startEmbedded,
  stopEmbedded,
} from '../backend/services/embedded';
import { RunService } from '../backend/temporal/runs';
import { discoverWorkflows, type WorkflowDefinition } from '../backend/toolbox/discovery';
import { parseParamArgs } from '../backend/toolbox/params';
import { availableVerticals } from '../backend/toolbox/verticals';
import type { SarifLog } from '../backend/sarif/types';
import { FindingCodeActions, suppressInIgnoreFile } from './codeActions';
import { COMMAND_IDS, type CommandId } from './commandIds';
import { FindingsStore } from './findings';

export interface FuzzforgeApi {
  readonly log: vscode.LogOutputChannel;
  readonly findings: FindingsStore;
  /** Scan a folder with a workflow, as the palette command does (for tests). */
  scan(
    folder: vscode.Uri,
    workflow: string,
    params?: Record<string, unknown>,
  ): Promise<{ runId: string; findings: number }>;
}

/** Cancellation by the user: quiet, no popup. */
class Cancelled extends Error {}

interface LastRun {
  runId: string;
  workflow: string;
  log: SarifLog;
}

export function activate(context: vscode.ExtensionContext): FuzzforgeApi {
  const log = vscode.window.createOutputChannel('FuzzForge', { log: true });
  const findings = new FindingsStore();
  const status = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 50);
  status.command = 'fuzzforge.showBackendStatus';
  context.subscriptions.push(log, findings, status);
  const running = new Map<string, { runId: string; cancel: () => Promise<void> }>();
  let lastRun: LastRun | undefined;

  const config = () => vscode.workspace.getConfiguration('fuzzforge');

  const refreshStatus = () => {
    const state = runningEmbedded(stateDir());
    const counts = findings.counts();
    const health = config().get<string>('backend.mode') === 'external' ? 'external' : state ? 'ready' : 'stopped';
    status.text = `$(shield) FuzzForge: ${health}${running.size ? ` · $(sync~spin) ${running.size}` : ''} · $(error) ${counts.error} $(warning) ${counts.warning}`;
    status.tooltip = 'FuzzForge backend and findings (click for status)';
    status.show();
  };
  context.subscriptions.push(findings.onDidChangeFindings(refreshStatus));
  refreshStatus();

  /** The backend this window uses; offers to start the embedded one when it is down. */
  const connect = async (): Promise<BackendConnection> => {
    const mode = parseBackendMode(config().get<string>('backend.mode') ?? 'auto');
    try {
      return await resolveBackend({ mode });
    } catch (err) {
      if (err instanceof UserError && /not running/.test(err.message)) {
        const choice = await vscode.window.showWarningMessage('The FuzzForge backend is not running.', 'Start Backend');
        if (choice !== 'Start Backend') {
          throw new Cancelled();
        }
        await startBackend();
        refreshStatus();
        return resolveBackend({ mode });
      }
      throw err;
    }
  };

  const startBackend = async () => {
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'FuzzForge: starting backend' },
      (progress) =>
        startEmbedded(defaultEmbeddedOptions(stateDir()), (line) => {
          log.info(line);
          progress.report({ message: line });
        }),
    );
    log.info(`backend ready: Temporal ${result.state.temporal.address}, MinIO ${result.state.storage.endpoint}`);
    refreshStatus();
    return result;
  };

  const pickFolder = async (): Promise<vscode.WorkspaceFolder> => {
    const folders = vscode.workspace.workspaceFolders ?? [];
    if (folders.length === 0) {
      throw new UserError('open a folder to scan it');
    }
    if (folders.length === 1) {
      return folders[0] as vscode.WorkspaceFolder;
    }
    const folder = await vscode.window.showWorkspaceFolderPick({ placeHolder: 'Folder to scan' });
    if (!folder) {
      throw new Cancelled();
    }
    return folder;
  };

  const pickWorkflow = async (): Promise<WorkflowDefinition> => {
    const { workflows } = discoverWorkflows(toolboxDir());
    const availability = new Map(availableVerticals(toolboxDir()).map((v) => [v.vertical, v]));
    const pick = await vscode.window.showQuickPick(
      workflows.map((w) => {
        const v = availability.get(w.vertical);
        return {
          label: w.name,
          description: `${w.vertical} · v${w.version}${v?.available ? '' : ' · unavailable'}`,
          detail: v?.available
            ? w.description
            : `Not available here: ${v?.reason ?? 'unknown vertical'}. ${w.description}`,
          workflow: w,
        };
      }),
      { placeHolder: 'Workflow to run', matchOnDetail: true },
    );
    if (!pick) {
      throw new Cancelled();
    }
    return pick.workflow;
  };

  /** Ask only for parameters that are required and have no default. */
  const askParams = async (wf: WorkflowDefinition): Promise<Record<string, unknown>> => {
    const args: string[] = [];
    for (const key of wf.parameters.required ?? []) {
      const schema = wf.parameters.properties[key] ?? {};
      if ('default' in schema) {
        continue;
      }
      const value = await vscode.window.showInputBox({
        prompt: `${wf.name}: ${key}${typeof schema.description === 'string' ? ` (${schema.description})` : ''}`,
      });
      if (value === undefined) {
        throw new Cancelled();
      }
      args.push(`${key}=${value}`);
    }
    return parseParamArgs(wf, args);
  };

  /** One scan with progress; `silent` for run-on-save (status bar only). */
  const scan = async (
    folder: vscode.Uri,
    workflow: WorkflowDefinition,
    params: Record<string, unknown>,
    silent = false,
  ): Promise<{ runId: string; findings: number }> => {
    if (!vscode.workspace.isTrusted) {
      throw new UserError('FuzzForge scans only run in trusted workspaces', 'trust this workspace to scan it');
    }
    const conn = await connect();
    const runs = await RunService.connect(conn);
    try {
      const work = async (progress: vscode.Progress<{ message?: string }>, token: vscode.CancellationToken) => {
        progress.report({ message: 'packing and uploading' });
        const excludes = config().get<string[]>('exclude') ?? [];
        const { run, upload } = await startScan(conn, runs, {
          path: folder.fsPath,
          workflow,
          params,
          excludes,
          onUploadProgress: (p) =>
            progress.report({ message: `${p.phase} ${p.files}${p.totalFiles ? `/${p.totalFiles}` : ''} files` }),
          onNotice: (line) => log.warn(line),
        });
        log.info(`run ${run.runId} started (${upload.uploadedObjects} objects uploaded)`);
        const previous = running.get(workflow.name);
        if (previous) {
          await previous.cancel();
        }
        running.set(workflow.name, { runId: run.runId, cancel: () => runs.cancel(run.runId).catch(() => undefined) });
        refreshStatus();
        const cancel = token.onCancellationRequested(() => {
          void runs.cancel(run.runId).catch((err: unknown) => log.error(`cancel ${run.runId}: ${describeError(err)}`));
        });
        try {
          progress.report({ message: 'queued' });
          const { summary, sarif } = await awaitScan(conn, runs, run.runId, (p) =>
            progress.report({ message: p.phase }),
          );
          for (const tool of summary.tools.filter((t) => t.error)) {
            log.warn(`${tool.name}: ${tool.error ?? ''}`);
          }
          lastRun = { runId: run.runId, workflow: workflow.name, log: sarif };
          const shown = findings.show(workflow.name, run.runId, sarif, folder.fsPath);
          return { runId: run.runId, findings: shown };
        } finally {
          cancel.dispose();
          if (running.get(workflow.name)?.runId === run.runId) {
            running.delete(workflow.name);
          }
          refreshStatus();
        }
      };
      return silent
        ? await vscode.window.withProgress(
            { location: vscode.ProgressLocation.Window, title: `FuzzForge ${workflow.name}` },
            (p) => work(p, new vscode.CancellationTokenSource().token),
          )
        : await vscode.window.withProgress(
            { location: vscode.ProgressLocation.Notification, title: `FuzzForge: ${workflow.name}`, cancellable: true },
            work,
          );
    } finally {
      await runs.close();
    }
  };

  const openUrl = async (which: 'temporal' | 'minio') => {
    const state = runningEmbedded(stateDir());
    if (!state) {
      throw new UserError('the embedded backend is not running', 'run FuzzForge: Start Backend');
    }
    await vscode.env.openExternal(
      vscode.Uri.parse(which === 'temporal' ? state.temporal.uiUrl : state.storage.consoleUrl),
    );
  };

  const commands: Record<CommandId, (...args: unknown[]) => Promise<unknown>> = {
    'fuzzforge.startBackend': async () => {
      const result = await startBackend();
      void vscode.window.showInformationMessage(
        result.attached
          ? 'FuzzForge backend already running.'
          : `FuzzForge backend ready (Temporal UI ${result.state.temporal.uiUrl}).`,
      );
    },
    'fuzzforge.stopBackend': async () => {
      const stopped = await stopEmbedded(stateDir());
      refreshStatus();
      void vscode.window.showInformationMessage(
        stopped ? 'FuzzForge backend stopped.' : 'FuzzForge backend was not running.',
      );
    },
    'fuzzforge.showBackendStatus': async () => {
      const state = runningEmbedded(stateDir());
      if (!state) {
        const choice = await vscode.window.showWarningMessage('FuzzForge backend is not running.', 'Start Backend');
        if (choice) {
          await vscode.commands.executeCommand('fuzzforge.startBackend');
        }
        return;
      }
      const health = await checkHealth(state);
      const text = `Temporal ${health.temporal ? 'healthy' : 'down'} (${state.temporal.address}), MinIO ${health.storage ? 'healthy' : 'down'} (${state.storage.endpoint}), workers: ${health.workers.map((w) => `${w.vertical} ${w.status}`).join(', ') || 'none'}`;
      log.info(text);
      void vscode.window.showInformationMessage(`FuzzForge: ${text}`);
    },
    'fuzzforge.scanWorkspace': async () => {
      const folder = await pickFolder();
      const wf = await pickWorkflow();
      const params = await askParams(wf);
      const { runId, findings: count } = await scan(folder.uri, wf, params);
      const choice = await vscode.window.showInformationMessage(
        `FuzzForge ${wf.name}: ${count} finding(s) (run ${runId}).`,
        'Show Problems',
      );
      if (choice) {
        await vscode.commands.executeCommand('workbench.actions.view.problems');
      }
    },
    'fuzzforge.cancelRun': async () => {
      const items = [...running.entries()].map(([workflow, r]) => ({ label: r.runId, description: workflow, run: r }));
      if (items.length === 0) {
        void vscode.window.showInformationMessage('No FuzzForge run is in progress in this window.');
        return;
      }
      const pick =
        items.length === 1 ? items[0] : await vscode.window.showQuickPick(items, { placeHolder: 'Run to cancel' });
      await pick?.run.cancel();
    },
    'fuzzforge.exportSarif': async () => {
      if (!lastRun) {
        throw new UserError('no run finished in this window yet', 'run FuzzForge: Scan Workspace first');
      }
      const target = await vscode.window.showSaveDialog({
        filters: { SARIF: ['sarif', 'json'] },
        defaultUri: vscode.Uri.file(
          path.join(vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? '.', `${lastRun.runId}.sarif`),
        ),
      });
      if (target) {
        await fs.promises.writeFile(target.fsPath, JSON.stringify(lastRun.log, null, 2));
      }
    },
    'fuzzforge.openTemporalUi': () => openUrl('temporal'),
    'fuzzforge.openMinioConsole': () => openUrl('minio'),
    'fuzzforge.showLogs': () => {
      log.show();
      return Promise.resolve();
    },
    'fuzzforge.suppressOnLine': async (uri, ruleId) => {
      // The quick fix edits directly; this command serves keybindings and menus.
      await vscode.commands.executeCommand('editor.action.quickFix', uri, ruleId);
    },
    'fuzzforge.suppressInIgnoreFile': (uri, ruleId) => suppressInIgnoreFile(uri as vscode.Uri, String(ruleId)),
    'fuzzforge.openRuleHelp': async (uri) => {
      await vscode.env.openExternal(vscode.Uri.parse(String(uri)));
    },
  };

  // One wrapper for every command: cancellation is quiet, errors are short popups with the full
  // text in the log channel.
  for (const id of COMMAND_IDS) {
    context.subscriptions.push(
      vscode.commands.registerCommand(id, async (...args: unknown[]) => {
        try {
          return await commands[id](...args);
        } catch (err) {
          if (err instanceof Cancelled) {
            return undefined;
          }
          log.error(`${id} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
          const choice = await vscode.window.showErrorMessage(`FuzzForge: ${describeError(err)}`, 'Show Log');
          if (choice) {
            log.show();
          }
          return undefined;
        }
      }),
    );
  }

  context.subscriptions.push(
    vscode.languages.registerCodeActionsProvider({ scheme: 'file' }, new FindingCodeActions(), {
      providedCodeActionKinds: FindingCodeActions.kinds,
    }),
  );

  // Run on save: debounced; a new save supersedes (cancels) the previous run of that workflow.
  let saveTimer: NodeJS.Timeout | undefined;
  context.subscriptions.push(
    vscode.workspace.onDidSaveTextDocument((doc) => {
      const workflowName = config().get<string>('runOnSave') ?? '';
      if (!workflowName || !vscode.workspace.isTrusted) {
        return;
      }
      const folder = vscode.workspace.getWorkspaceFolder(doc.uri);
      if (!folder) {
        return;
      }
      clearTimeout(saveTimer);
      saveTimer = setTimeout(
        () => {
          void (async () => {
            try {
              const wf = findWorkflow(toolboxDir(), workflowName);
              await scan(folder.uri, wf, parseParamArgs(wf, []), true);
            } catch (err) {
              if (!(err instanceof Cancelled)) {
                log.error(`run on save (${workflowName}) failed: ${describeError(err)}`);
              }
            }
          })();
        },
        config().get<number>('runOnSave.delayMs') ?? 1500,
      );
    }),
    { dispose: () => clearTimeout(saveTimer) },
  );

  return {
    log,
    findings,
    scan: (folder, workflow, params = {}) => scan(folder, findWorkflow(toolboxDir(), workflow), params),
  };
}

export function deactivate(): void {
  // The embedded backend outlives the window on purpose; nothing to stop here.
}
