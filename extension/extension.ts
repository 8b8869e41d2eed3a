// VS Code entry point: wires features in dependency order; each feature owns its disposables.
// The backend library does the work, exactly as it does for the CLI.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import * as vscode from 'vscode';
import { describeError, UserError } from '../backend/errors';
import { stateDir, toolboxDir } from '../backend/paths';
import { awaitScan, describeLeftOut, fetchSarif, findWorkflow, startScan } from '../backend/scan';
import { parseBackendMode } from '../backend/services/backend';
import { whichSync } from '../backend/services/binaries';
import {
  composeConnection,
  composeContainers,
  composeLogs,
  defaultComposeOptions,
  ensureComposeWorker,
  readComposeState,
  runningCompose,
  startCompose,
  stopCompose,
  stopComposeWorkers,
  workerService,
} from '../backend/services/compose';
import {
  checkHealth,
  defaultEmbeddedOptions,
  runningEmbedded,
  startEmbedded,
  stopEmbedded,
} from '../backend/services/embedded';
import { workerLogName } from '../backend/services/state';
import { listCrashes } from '../backend/fuzzing';
import { RunFailedError, type RunService } from '../backend/temporal/runs';
import { discoverWorkflows, type WorkflowDefinition } from '../backend/toolbox/discovery';
import { parseParamArgs } from '../backend/toolbox/params';
import { availableVerticals, knownVerticals } from '../backend/toolbox/verticals';
import type { SarifLog } from '../backend/sarif/types';
import { BackendSession, type Connected } from './backendSession';
import { BackendStatus, currentBackendKind } from './backendStatus';
import { FindingCodeActions, suppressInIgnoreFile } from './codeActions';
import { COMMAND_IDS, type CommandId } from './commandIds';
import { ErrorReporter } from './errorReporter';
import { BackendDownError, Cancelled, MissingServiceBinaryError, missingServiceBinaries } from './errors';
import { FindingsStore } from './findings';
import { FuzzingPanel, replayInEditor, type FuzzingPanelDeps } from './fuzzingPanel';
import { RunsModel, type RunEntry } from './runs';
import { flattenRows, type BackendKind, type BackendRow } from './views/backendModel';
import { BackendView } from './views/backendView';
import { FindingsView, type FindingsNode } from './views/findingsView';
import { RunsView } from './views/runsView';
import { GROUP_BY, parseGroupBy, runRow, runStatusLabel, temporalRunUrl } from './views/viewModel';

export interface FuzzforgeApi {
  readonly log: vscode.LogOutputChannel;
  readonly findings: FindingsStore;
  readonly runs: RunsModel;
  readonly views: { readonly runs: RunsView; readonly findings: FindingsView; readonly backend: BackendView };
  /** Scan a folder with a workflow, as the palette command does (for tests). */
  scan(
    folder: vscode.Uri,
    workflow: string,
    params?: Record<string, unknown>,
  ): Promise<{ runId: string; findings: number }>;
}

interface LastRun {
  runId: string;
  workflow: string;
  log: SarifLog;
}

/** What Backend view actions receive: a row of the view, or nothing (from the palette). */
function backendRowArg(arg: unknown): BackendRow | undefined {
  return arg && typeof arg === 'object' && 'contextValue' in arg && 'health' in arg ? (arg as BackendRow) : undefined;
}

/** What run actions receive: a row of the Runs view, or nothing (from the palette: pick one). */
function runArg(arg: unknown): RunEntry | undefined {
  return arg && typeof arg === 'object' && 'runId' in arg && 'status' in arg ? (arg as RunEntry) : undefined;
}

export function activate(context: vscode.ExtensionContext): FuzzforgeApi {
  const log = vscode.window.createOutputChannel('FuzzForge', { log: true });
  const reporter = new ErrorReporter(log);
  const findings = new FindingsStore();
  const status = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 50);
  status.command = 'fuzzforge.showBackendStatus';
  const config = () => vscode.workspace.getConfiguration('fuzzforge');
  const session = new BackendSession(() => config().get<string>('backend.mode'), log);
  const runsModel = new RunsModel(session, {
    log,
    reattach: (run, folder) => reattach(run, folder),
    onError: (err) => void reporter.report(err, 'listing runs', { once: 'runs' }),
    startedAt: new Date(),
  });
  const runsView = new RunsView(runsModel);
  const findingsView = new FindingsView(findings);
  const backendStatus = new BackendStatus({
    mode: () => config().get<string>('backend.mode'),
    stateDir: () => stateDir(),
    log,
    onError: (err) => void reporter.report(err, 'reading the backend', { once: 'backendView' }),
  });
  const backendView = new BackendView(backendStatus);
  context.subscriptions.push(
    log,
    findings,
    status,
    session,
    runsModel,
    runsView,
    findingsView,
    backendStatus,
    backendView,
  );
  /** Compose service logs, one output channel per service, made when first shown. */
  const serviceLogChannels = new Map<string, vscode.OutputChannel>();
  context.subscriptions.push({ dispose: () => serviceLogChannels.forEach((c) => c.dispose()) });
  /** The running scans this window started, by workflow: a new one supersedes (cancels) the old. */
  const running = new Map<string, { runId: string; cancel: () => Promise<void> }>();
  let lastRun: LastRun | undefined;

  /** The backend the mode setting selects now: what Start Backend starts and the Backend view shows. */
  const backendKind = (): BackendKind =>
    currentBackendKind(parseBackendMode(config().get<string>('backend.mode')), stateDir());

  const refreshStatus = () => {
    const counts = findings.counts();
    let kind: BackendKind | undefined;
    try {
      kind = backendKind();
    } catch {
      // A mode value the setting's enum does not allow: commands report it; the status bar says "stopped".
    }
    const health =
      kind === 'external'
        ? 'external'
        : kind === 'compose'
          ? runningCompose(stateDir())
            ? 'ready (compose)'
            : 'stopped'
          : runningEmbedded(stateDir())
            ? 'ready'
            : 'stopped';
    const inProgress = runsModel.inProgress;
    status.text = `$(shield) FuzzForge: ${health}${inProgress ? ` · $(sync~spin) ${inProgress}` : ''} · $(error) ${counts.error} $(warning) ${counts.warning}`;
    status.tooltip = 'FuzzForge backend and findings (click for status)';
    status.show();
  };
  context.subscriptions.push(findings.onDidChangeFindings(refreshStatus), runsModel.onDidChangeRuns(refreshStatus));
  refreshStatus();

  /** The backend this window uses; offers to start the embedded one when it is down. */
  const connect = async (): Promise<Connected> => {
    try {
      return await session.connect();
    } catch (err) {
      if (err instanceof BackendDownError && config().get<string>('backend.mode') !== 'external') {
        const choice = await vscode.window.showWarningMessage('The FuzzForge backend is not running.', 'Start Backend');
        if (choice !== 'Start Backend') {
          throw new Cancelled();
        }
        await startBackend();
        return session.connect();
      }
      throw err;
    }
  };

  /** Start the backend the mode setting selects (or attach to it), with progress in a notification. */
  const startBackend = async (): Promise<{ attached: boolean; uiUrl: string }> => {
    const kind = backendKind();
    if (kind === 'external') {
      throw new UserError(
        'the backend mode is external: FuzzForge connects to that backend but does not start it',
        'start your Temporal and S3 services, or set fuzzforge.backend.mode to embedded or compose',
      );
    }
    const started =
      kind === 'compose'
        ? await vscode.window.withProgress(
            { location: vscode.ProgressLocation.Notification, title: 'FuzzForge: starting the compose backend' },
            async (progress) => {
              const { state, attached } = await startCompose(defaultComposeOptions(stateDir()), (line) => {
                log.info(line);
                progress.report({ message: line });
              });
              log.info(`compose backend ready: project ${state.project} on ${state.dockerHost}`);
              return { attached, uiUrl: composeConnection(state).temporal.uiUrl ?? '' };
            },
          )
        : await startEmbeddedBackend();
    reporter.reset('runs');
    refreshStatus();
    void runsModel.refresh();
    void backendView.refresh();
    return started;
  };

  const startEmbeddedBackend = async () => {
    // Temporal and MinIO come from the Go module proxy: say how to get them before trying.
    const missing = missingServiceBinaries();
    if (missing.length > 0) {
      if (!whichSync('go')) {
        throw new MissingServiceBinaryError(missing);
      }
      const choice = await vscode.window.showWarningMessage(
        `FuzzForge needs ${missing.join(' and ')}, which ${missing.length > 1 ? 'are' : 'is'} not installed yet. Build ${missing.length > 1 ? 'them' : 'it'} now with Go (a few minutes, once)? \`npm run setup\` in the FuzzForge checkout does the same.`,
        'Build and Start',
      );
      if (!choice) {
        throw new Cancelled();
      }
    }
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'FuzzForge: starting backend' },
      (progress) =>
        startEmbedded(defaultEmbeddedOptions(stateDir()), (line) => {
          log.info(line);
          progress.report({ message: line });
        }),
    );
    log.info(`backend ready: Temporal ${result.state.temporal.address}, MinIO ${result.state.storage.endpoint}`);
    return { attached: result.attached, uiUrl: result.state.temporal.uiUrl };
  };

  /** Log what explains a failed run: its pending activities' failures and where the worker logs are. */
  const logRunFailure = async (runs: RunService, runId: string, taskQueue: string | undefined) => {
    const info = await runs.describe(runId).catch(() => undefined);
    for (const a of info?.pendingActivities ?? []) {
      log.error(`  ${a.type} (attempt ${a.attempt}): ${a.lastFailure ?? 'no failure recorded'}`);
    }
    const state = runningEmbedded(stateDir());
    const vertical = taskQueue?.replace(/^fuzzforge-/, '');
    const worker = state?.workers.find((w) => w.vertical === vertical);
    if (state && vertical) {
      log.error(
        `  worker log: ${path.join(state.logsDir, `${worker ? workerLogName(worker) : `worker-${vertical}`}.log`)}`,
      );
    } else if (vertical && runningCompose(stateDir())) {
      log.error(
        `  worker log: Show Logs on ${vertical} in the Backend view, or \`fuzzforge logs ${workerService(vertical)}\``,
      );
    }
  };

  /** Wait for a run this window did not start (it was running when the editor started). */
  const reattach = (run: RunEntry, folder: vscode.WorkspaceFolder) => {
    void (async () => {
      log.info(`run ${run.runId} (${run.workflow}) was running when the editor started: waiting for its results`);
      runsModel.track(run, folder);
      try {
        const { conn, runs } = await session.connect();
        try {
          const { sarif } = await awaitScan(conn, runs, run.runId);
          lastRun = { runId: run.runId, workflow: run.workflow, log: sarif };
          const shown = findings.show(run.workflow, run.runId, sarif, folder.uri.fsPath);
          log.info(`re-attached run ${run.runId}: ${shown} finding(s)`);
        } catch (err) {
          if (err instanceof RunFailedError) {
            await logRunFailure(runs, run.runId, run.taskQueue);
            if (err.status === 'canceled') {
              throw new Cancelled();
            }
          }
          throw err;
        }
      } catch (err) {
        await reporter.report(err, `re-attached run ${run.runId}`, { once: run.runId });
      } finally {
        runsModel.untrack(run.runId);
      }
    })();
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
    const { conn, runs } = await connect();
    // Settings that stand for workflow parameters, where the workflow has them and the caller
    // did not set them.
    const withSettings = { ...params };
    for (const [setting, name] of [
      ['includeVendored', 'include_vendored'],
      ['reportTestsAndDocs', 'report_tests_and_docs'],
    ] as const) {
      if (name in workflow.parameters.properties && withSettings[name] === undefined && config().get<boolean>(setting)) {
        withSettings[name] = true;
      }
    }
    const work = async (progress: vscode.Progress<{ message?: string }>, token: vscode.CancellationToken) => {
      const t0 = Date.now();
      progress.report({ message: 'packing and uploading' });
      const excludes = config().get<string[]>('exclude') ?? [];
      const { run, upload } = await startScan(conn, runs, {
        path: folder.fsPath,
        workflow,
        params: withSettings,
        excludes,
        onUploadProgress: (p) =>
          progress.report({ message: `${p.phase} ${p.files}${p.totalFiles ? `/${p.totalFiles}` : ''} files` }),
        onNotice: (line) => log.warn(line),
      });
      const t1 = Date.now();
      log.info(`run ${run.runId} started (${upload.uploadedObjects} objects uploaded, ${t1 - t0} ms)`);
      for (const w of upload.warnings) {
        log.warn(w);
      }
      const previous = running.get(workflow.name);
      if (previous) {
        await previous.cancel();
      }
      running.set(workflow.name, {
        runId: run.runId,
        cancel: async () => {
          await runs.cancel(run.runId).catch(() => undefined);
        },
      });
      runsModel.track(run, vscode.workspace.getWorkspaceFolder(folder));
      const cancel = token.onCancellationRequested(() => {
        void runs.cancel(run.runId).catch((err: unknown) => log.error(`cancel ${run.runId}: ${describeError(err)}`));
      });
      try {
        progress.report({ message: 'queued' });
        const { summary, sarif } = await awaitScan(conn, runs, run.runId, (p) => progress.report({ message: p.phase }));
        for (const tool of summary.tools.filter((t) => t.error)) {
          log.warn(`${tool.name}: ${tool.error ?? ''}`);
        }
        const leftOut = describeLeftOut(summary.leftOut, (param) =>
          param === 'include_vendored' ? 'the setting fuzzforge.includeVendored' : 'the setting fuzzforge.reportTestsAndDocs',
        );
        if (leftOut) {
          log.info(`run ${run.runId}: ${leftOut}`);
        }
        lastRun = { runId: run.runId, workflow: workflow.name, log: sarif };
        const t2 = Date.now();
        const shown = findings.show(workflow.name, run.runId, sarif, folder.fsPath);
        log.info(
          `run ${run.runId}: ${shown} finding(s) shown; pack and upload ${t1 - t0} ms, run and SARIF ${t2 - t1} ms, markers ${Date.now() - t2} ms`,
        );
        return { runId: run.runId, findings: shown };
      } catch (err) {
        if (err instanceof RunFailedError) {
          await logRunFailure(runs, run.runId, run.taskQueue);
          // Stopped on purpose (Stop Run, a superseding save, the CLI): not an error.
          if (err.status === 'canceled') {
            log.info(`run ${run.runId} was cancelled`);
            throw new Cancelled();
          }
        }
        throw err;
      } finally {
        cancel.dispose();
        if (running.get(workflow.name)?.runId === run.runId) {
          running.delete(workflow.name);
        }
        runsModel.untrack(run.runId);
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
  };

  /** A palette or Re-run scan: progress, then a notification with the count. */
  const scanAndReport = async (folder: vscode.Uri, wf: WorkflowDefinition, params: Record<string, unknown>) => {
    const { runId, findings: count } = await scan(folder, wf, params);
    void vscode.window
      .showInformationMessage(`FuzzForge ${wf.name}: ${count} finding(s) (run ${runId}).`, 'Show Problems')
      .then((choice) => (choice ? vscode.commands.executeCommand('workbench.actions.view.problems') : undefined));
  };

  const openUrl = async (which: 'temporal' | 'minio') => {
    const { conn } = await connect();
    const url = which === 'temporal' ? conn.temporal.uiUrl : conn.storage.consoleUrl;
    if (!url) {
      throw new UserError(
        `no ${which === 'temporal' ? 'Temporal UI' : 'storage console'} address is known for this ${conn.mode} backend`,
      );
    }
    await vscode.env.openExternal(vscode.Uri.parse(url));
  };

  /** The compose stack that Start/Stop Workers act on; a clear error in the other modes. */
  const requireCompose = () => {
    const state = runningCompose(stateDir());
    if (!state) {
      throw new UserError(
        'workers start and stop one vertical at a time only on a running compose backend',
        backendKind() === 'compose'
          ? 'start it with FuzzForge: Start Backend'
          : 'the embedded backend runs one worker per available vertical: use Start Backend and Stop Backend',
      );
    }
    return state;
  };

  /** The vertical a worker action is for: the row it was invoked on, or one picked from a list. */
  const pickVertical = async (arg: unknown, verticals: string[], placeHolder: string): Promise<string> => {
    const row = backendRowArg(arg);
    if (row?.vertical) {
      return row.vertical;
    }
    if (verticals.length === 0) {
      throw new UserError('no vertical to choose from', 'see the Backend view');
    }
    const pick = verticals.length === 1 ? verticals[0] : await vscode.window.showQuickPick(verticals, { placeHolder });
    if (!pick) {
      throw new Cancelled();
    }
    return pick;
  };

  /** Open a service's log: the embedded log file in an editor, a compose container's log in an output channel. */
  const showServiceLogs = async (row: BackendRow) => {
    const source = row.log;
    if (!source) {
      throw new UserError(`${row.label} has no log to show`);
    }
    if (source.kind === 'file') {
      if (!fs.existsSync(source.path)) {
        throw new UserError(`${source.path} does not exist (yet)`, 'the service writes it when it starts');
      }
      const editor = await vscode.window.showTextDocument(vscode.Uri.file(source.path), { preview: true });
      const end = new vscode.Position(Math.max(0, editor.document.lineCount - 1), 0);
      editor.selection = new vscode.Selection(end, end);
      editor.revealRange(new vscode.Range(end, end), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
      return;
    }
    const state = readComposeState(stateDir());
    if (!state) {
      throw new BackendDownError('the compose backend is not running');
    }
    let channel = serviceLogChannels.get(source.service);
    if (!channel) {
      channel = vscode.window.createOutputChannel(`FuzzForge: ${source.service}`, 'log');
      serviceLogChannels.set(source.service, channel);
    }
    const target = channel;
    target.clear();
    const tail = 2000;
    target.appendLine(`# ${source.service}: the last ${tail} lines of each container (${new Date().toLocaleString()})`);
    await composeLogs(state, source.service, {
      follow: false,
      tail,
      out: new Writable({
        write(chunk: Buffer | string, _encoding, done) {
          target.append(chunk.toString());
          done();
        },
      }),
    });
    target.show(true);
  };

  /** The run a run action is for: the row it was invoked on, or one picked from the Runs view's list. */
  const pickRun = async (
    arg: unknown,
    wanted: (r: RunEntry) => boolean,
    placeHolder: string,
    none: string,
  ): Promise<RunEntry> => {
    const given = runArg(arg);
    if (given) {
      return runsModel.find(given.runId) ?? given;
    }
    await runsModel.refresh();
    const candidates = runsModel.runs.filter(wanted);
    if (candidates.length === 0) {
      void vscode.window.showInformationMessage(none);
      throw new Cancelled();
    }
    const pick =
      candidates.length === 1
        ? { run: candidates[0]! }
        : await vscode.window.showQuickPick(
            candidates.map((run) => {
              const row = runRow(run);
              return { label: row.label, description: row.description, detail: run.runId, run };
            }),
            { placeHolder },
          );
    if (!pick) {
      throw new Cancelled();
    }
    return pick.run;
  };

  const fuzzingDeps: FuzzingPanelDeps = {
    extensionUri: context.extensionUri,
    connect: () => connect(),
    log,
    report: (err, doing) => void reporter.report(err, doing),
  };

  const commands: Record<CommandId, (...args: unknown[]) => Promise<unknown>> = {
    'fuzzforge.startBackend': async () => {
      const result = await startBackend();
      void vscode.window.showInformationMessage(
        result.attached
          ? 'FuzzForge backend already running.'
          : `FuzzForge backend ready (Temporal UI ${result.uiUrl}).`,
      );
    },
    'fuzzforge.stopBackend': async () => {
      // Whichever runs: the embedded backend, the compose stack, or both.
      await session.reset();
      const stopped: string[] = [];
      try {
        await vscode.window.withProgress(
          { location: vscode.ProgressLocation.Notification, title: 'FuzzForge: stopping the backend' },
          async (progress) => {
            if (await stopEmbedded(stateDir())) {
              stopped.push('embedded');
            }
            if (readComposeState(stateDir())) {
              progress.report({ message: 'compose stack (compose down; volumes are kept)' });
              if (await stopCompose(stateDir())) {
                stopped.push('compose');
              }
            }
          },
        );
      } finally {
        refreshStatus();
        void runsModel.refresh();
        void backendView.refresh();
      }
      void vscode.window.showInformationMessage(
        stopped.length > 0
          ? `FuzzForge ${stopped.join(' and ')} backend stopped.`
          : backendKind() === 'external'
            ? 'FuzzForge does not stop an external backend, and no local one was running.'
            : 'FuzzForge backend was not running.',
      );
    },
    'fuzzforge.refreshBackendView': () => backendView.refresh(),
    'fuzzforge.startWorkers': async (arg) => {
      const state = requireCompose();
      const vertical = await pickVertical(arg, knownVerticals(), 'Vertical whose worker to start');
      await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `FuzzForge: starting the ${vertical} worker` },
        (progress) =>
          ensureComposeWorker(state, vertical, (line) => {
            log.info(line);
            progress.report({ message: line });
          }),
      );
      log.info(`${vertical} worker running and polling`);
      await backendView.refresh();
    },
    'fuzzforge.stopWorkers': async (arg) => {
      const state = requireCompose();
      const running = [
        ...new Set(
          (await composeContainers(state, false)).flatMap((c) =>
            c.vertical && c.state === 'running' ? [c.vertical] : [],
          ),
        ),
      ].sort();
      const vertical = await pickVertical(arg, running, 'Vertical whose workers to stop');
      await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `FuzzForge: stopping the ${vertical} workers` },
        () => stopComposeWorkers(state, vertical),
      );
      log.info(`${vertical} workers stopped (work for ${vertical} starts one again)`);
      await backendView.refresh();
    },
    'fuzzforge.showServiceLogs': async (arg) => {
      let row = backendRowArg(arg);
      if (!row) {
        await backendView.refresh();
        const candidates = flattenRows(backendView.currentRows).filter((r) => r.log && r.kind !== 'vertical');
        if (candidates.length === 0) {
          throw new BackendDownError('no FuzzForge backend service is running');
        }
        const pick = await vscode.window.showQuickPick(
          candidates.map((r) => ({ label: r.label, description: r.description, row: r })),
          { placeHolder: 'Service whose log to show' },
        );
        if (!pick) {
          throw new Cancelled();
        }
        row = pick.row;
      }
      await showServiceLogs(row);
    },
    'fuzzforge.showBackendStatus': async () => {
      const compose = backendKind() === 'compose' ? readComposeState(stateDir()) : undefined;
      if (compose) {
        const containers = await composeContainers(compose, false);
        const text = `compose project ${compose.project} ${compose.status}: ${containers.map((c) => `${c.service} ${c.health ?? c.state}`).join(', ') || 'no containers'}`;
        log.info(text);
        void vscode.window.showInformationMessage(`FuzzForge: ${text}`);
        return;
      }
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
      await scanAndReport(folder.uri, wf, params);
    },
    'fuzzforge.cancelRun': async (arg) => {
      const run = await pickRun(
        arg,
        (r) => r.status === 'running',
        'Run to stop',
        'No FuzzForge run is in progress in this workspace.',
      );
      const { runs } = await connect();
      const how = await runs.cancel(run.runId);
      log.info(
        how === 'requested'
          ? `cancel requested for run ${run.runId}`
          : `run ${run.runId} terminated: no worker could act on a cancellation`,
      );
      await runsModel.refresh();
    },
    'fuzzforge.rerun': async (arg) => {
      const run = await pickRun(arg, () => true, 'Run to run again', 'No FuzzForge run in this workspace yet.');
      const root = run.memo?.workspaceRoot ?? run.folder?.uri.fsPath;
      if (!root) {
        throw new UserError(`run ${run.runId} does not say which folder it scanned`, 'start a new scan instead');
      }
      const wf = findWorkflow(toolboxDir(), run.memo?.workflow ?? run.workflow);
      await scanAndReport(vscode.Uri.file(root), wf, run.memo?.params ?? {});
    },
    'fuzzforge.openRunSarif': async (arg) => {
      const run = await pickRun(
        arg,
        (r) => r.status === 'completed',
        'Run whose SARIF to open',
        'No completed FuzzForge run in this workspace yet.',
      );
      if (run.status !== 'completed') {
        throw new UserError(
          `run ${run.runId} is ${runStatusLabel(run.status)}${run.failure ? `: ${run.failure}` : ''}`,
          'only a completed run has a SARIF log',
        );
      }
      const { conn, runs } = await connect();
      const summary = run.summary ?? (await runs.result(run.runId));
      const sarif = await fetchSarif(conn, summary);
      const dir = vscode.Uri.joinPath(context.globalStorageUri, 'sarif');
      await vscode.workspace.fs.createDirectory(dir);
      const file = vscode.Uri.joinPath(dir, `${run.runId}.sarif`);
      await vscode.workspace.fs.writeFile(file, Buffer.from(JSON.stringify(sarif, null, 2)));
      await vscode.window.showTextDocument(file, { preview: false });
    },
    'fuzzforge.openRunInTemporalUi': async (arg) => {
      const run = await pickRun(
        arg,
        () => true,
        'Run to open in the Temporal UI',
        'No FuzzForge run in this workspace yet.',
      );
      const { conn } = await connect();
      if (!conn.temporal.uiUrl) {
        throw new UserError(
          `no Temporal UI address is known for this ${conn.mode} backend`,
          `open your Temporal UI and look for workflow id ${run.runId}`,
        );
      }
      await vscode.env.openExternal(
        vscode.Uri.parse(temporalRunUrl(conn.temporal.uiUrl, conn.temporal.namespace, run.runId, run.executionRunId)),
      );
    },
    'fuzzforge.refreshRuns': () => runsModel.refresh(),
    'fuzzforge.groupFindingsBy': async (arg) => {
      let by = typeof arg === 'string' ? parseGroupBy(arg) : undefined;
      if (!by) {
        const current = findingsView.groupBy;
        const pick = await vscode.window.showQuickPick(
          GROUP_BY.map((g) => ({ label: g, description: g === current ? 'current' : undefined })),
          { placeHolder: 'Group FuzzForge findings by' },
        );
        if (!pick) {
          throw new Cancelled();
        }
        by = pick.label;
      }
      // Where the setting lives now (workspace or user), so the change takes effect.
      const inspect = config().inspect<string>('findings.groupBy');
      const target =
        inspect?.workspaceFolderValue !== undefined || inspect?.workspaceValue !== undefined
          ? vscode.ConfigurationTarget.Workspace
          : vscode.ConfigurationTarget.Global;
      await config().update('findings.groupBy', by, target);
      findingsView.refresh();
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
    'fuzzforge.showFuzzingStats': async (arg) => {
      const run = await pickRun(
        arg,
        (r) => r.workflow.endsWith('_fuzzing'),
        'Fuzzing run to show',
        'No fuzzing run in this workspace yet (start one with FuzzForge: Scan Workspace… and a *_fuzzing workflow).',
      );
      FuzzingPanel.show(fuzzingDeps, run.runId);
    },
    'fuzzforge.replayCrash': async (arg, crashArg) => {
      const run = await pickRun(
        arg,
        (r) => r.workflow.endsWith('_fuzzing'),
        'Fuzzing run whose crash to replay',
        'No fuzzing run in this workspace yet.',
      );
      let crashId = typeof crashArg === 'string' ? crashArg : undefined;
      if (!crashId) {
        const { conn } = await connect();
        const crashes = await listCrashes(conn, run.runId);
        if (crashes.length === 0) {
          void vscode.window.showInformationMessage(`Run ${run.runId} has found no crash (yet).`);
          return undefined;
        }
        const pick =
          crashes.length === 1
            ? { id: crashes[0]!.id }
            : await vscode.window.showQuickPick(
                crashes.map((c) => ({
                  label: `${c.kind} in ${c.harness}`,
                  description: `hit ${c.hits}x, ${c.inputBytes} B`,
                  detail: `${c.id}: ${c.summary}`,
                  id: c.id,
                })),
                { placeHolder: 'Crash to replay on this machine' },
              );
        if (!pick) {
          throw new Cancelled();
        }
        crashId = pick.id;
      }
      return replayInEditor(fuzzingDeps, run.runId, crashId, run.memo?.workspaceRoot ?? run.folder?.uri.fsPath);
    },
    'fuzzforge.showLogs': () => {
      log.show();
      return Promise.resolve();
    },
    'fuzzforge.suppressOnLine': async (uri, ruleId) => {
      // The quick fix edits directly; this command serves keybindings and menus.
      await vscode.commands.executeCommand('editor.action.quickFix', uri, ruleId);
    },
    'fuzzforge.suppressInIgnoreFile': (uri, ruleId) => suppressInIgnoreFile(uri as vscode.Uri, String(ruleId)),
    'fuzzforge.openRuleHelp': async (arg) => {
      // From a quick fix: the URL; from the Findings view: the finding's row.
      const node = arg as FindingsNode | undefined;
      const target =
        node && typeof node === 'object' && node.kind === 'finding' ? node.finding.diagnostic.helpUri : undefined;
      if (target) {
        await vscode.env.openExternal(target);
      } else if (typeof arg === 'string') {
        await vscode.env.openExternal(vscode.Uri.parse(arg));
      }
    },
  };

  // One wrapper for every command: cancellation is quiet, errors are short popups with the full
  // text in the log channel and a button that fixes them when there is one.
  for (const id of COMMAND_IDS) {
    context.subscriptions.push(
      vscode.commands.registerCommand(id, async (...args: unknown[]) => {
        try {
          return await commands[id](...args);
        } catch (err) {
          await reporter.report(err, `${id} failed`);
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
      const workflowName = config().get<string>('runOnSave.workflow') ?? '';
      if (!workflowName || !vscode.workspace.isTrusted) {
        return;
      }
      const folder = vscode.workspace.getWorkspaceFolder(doc.uri);
      if (!folder) {
        return;
      }
      log.info(`saved ${vscode.workspace.asRelativePath(doc.uri)}: ${workflowName} runs on save`);
      clearTimeout(saveTimer);
      saveTimer = setTimeout(
        () => {
          void (async () => {
            try {
              const wf = findWorkflow(toolboxDir(), workflowName);
              await scan(folder.uri, wf, parseParamArgs(wf, []), true);
            } catch (err) {
              // A popup once per distinct failure: saving again does not repeat it.
              await reporter.report(err, `run on save (${workflowName})`, { once: 'runOnSave' });
            }
          })();
        },
        config().get<number>('runOnSave.delayMs') ?? 1500,
      );
    }),
    { dispose: () => clearTimeout(saveTimer) },
  );

  // Another mode is another backend: reconnect, and show it in the status bar and the Backend view.
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('fuzzforge.backend.mode')) {
        void session.reset().then(() => runsModel.refresh());
        refreshStatus();
        void backendView.refresh();
      }
    }),
  );

  // The first listing re-attaches runs that were running before the editor started; it waits for
  // activate() to return (nothing slow happens during activation).
  const firstListing = setTimeout(() => void runsModel.refresh(), 0);
  context.subscriptions.push({ dispose: () => clearTimeout(firstListing) });

  return {
    log,
    findings,
    runs: runsModel,
    views: { runs: runsView, findings: findingsView, backend: backendView },
    scan: (folder, workflow, params = {}) => scan(folder, findWorkflow(toolboxDir(), workflow), params),
  };
}

export function deactivate(): void {
  // The embedded backend outlives the window on purpose; nothing to stop here.
}
