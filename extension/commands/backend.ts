// Commands of the backend: start, stop, status, workers of a compose stack, service logs, and the
// Temporal UI and storage console of the backend in use.
import * as fs from 'node:fs';
import { Writable } from 'node:stream';
import * as vscode from 'vscode';
import { UserError } from '../../backend/errors';
import { stateDir } from '../../backend/paths';
import { withUiToken } from '../../backend/services/connection';
import {
  composeContainers,
  composeLogs,
  ensureComposeWorker,
  readComposeState,
  runningCompose,
  stopComposeWorkers,
} from '../../backend/services/compose';
import { checkHealth, runningEmbedded } from '../../backend/services/embedded';
import { knownVerticals } from '../../backend/toolbox/verticals';
import { BackendDownError, Cancelled } from '../errors';
import { flattenRows, type BackendRow } from '../views/backendModel';
import type { CommandContext, HandlersOf } from './context';

type BackendCommand =
  | 'fuzzforge.startBackend'
  | 'fuzzforge.stopBackend'
  | 'fuzzforge.showBackendStatus'
  | 'fuzzforge.refreshBackendView'
  | 'fuzzforge.startWorkers'
  | 'fuzzforge.stopWorkers'
  | 'fuzzforge.showServiceLogs'
  | 'fuzzforge.openTemporalUi'
  | 'fuzzforge.openMinioConsole'
  | 'fuzzforge.showLogs';

/** What Backend view actions receive: a row of the view, or nothing (from the palette). */
function backendRowArg(arg: unknown): BackendRow | undefined {
  return arg && typeof arg === 'object' && 'contextValue' in arg && 'health' in arg ? (arg as BackendRow) : undefined;
}

export function backendCommands(ctx: CommandContext, disposables: vscode.Disposable[]): HandlersOf<BackendCommand> {
  const { log, backend, backendView } = ctx;
  /** Compose service logs, one output channel per service, made when first shown. */
  const serviceLogChannels = new Map<string, vscode.OutputChannel>();
  disposables.push({ dispose: () => serviceLogChannels.forEach((c) => c.dispose()) });

  const openUrl = async (which: 'temporal' | 'minio') => {
    const { conn } = await backend.connect();
    const url = which === 'temporal' ? conn.temporal.uiUrl : conn.storage.consoleUrl;
    if (!url) {
      throw new UserError(
        `no ${which === 'temporal' ? 'Temporal UI' : 'storage console'} address is known for this ${conn.mode} backend`,
      );
    }
    await vscode.env.openExternal(
      vscode.Uri.parse(which === 'temporal' ? withUiToken(url, conn.temporal.uiToken) : url),
    );
  };

  /** The compose stack that Start/Stop Workers act on; a clear error in the other modes. */
  const requireCompose = () => {
    const state = runningCompose(stateDir());
    if (!state) {
      throw new UserError(
        'workers start and stop one vertical at a time only on a running compose backend',
        backend.kind() === 'compose'
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

  return {
    'fuzzforge.startBackend': async () => {
      const result = await backend.start();
      void vscode.window.showInformationMessage(
        result.attached
          ? 'FuzzForge backend already running.'
          : `FuzzForge backend ready (Temporal UI ${result.uiUrl}).`,
      );
    },
    'fuzzforge.stopBackend': async () => {
      // Whichever runs: the embedded backend, the compose stack, or both.
      const stopped = await backend.stop();
      void vscode.window.showInformationMessage(
        stopped.length > 0
          ? `FuzzForge ${stopped.join(' and ')} backend stopped.`
          : backend.kind() === 'external'
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
      const compose = backend.kind() === 'compose' ? readComposeState(stateDir()) : undefined;
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
    'fuzzforge.openTemporalUi': () => openUrl('temporal'),
    'fuzzforge.openMinioConsole': () => openUrl('minio'),
    'fuzzforge.showLogs': () => {
      log.show();
      return Promise.resolve();
    },
  };
}
