// Commands on runs (Runs view rows, or a run picked from the palette): stop, run again, open the
// SARIF log or the Temporal UI, refresh the list.
import * as vscode from 'vscode';
import { UserError } from '../../backend/errors';
import { toolboxDir } from '../../backend/paths';
import { fetchSarif, findWorkflow } from '../../backend/scan';
import { Cancelled } from '../errors';
import type { RunEntry, RunsModel } from '../runs';
import { runRow, runStatusLabel, temporalRunUrl } from '../views/viewModel';
import type { CommandContext, HandlersOf } from './context';

type RunCommand =
  | 'fuzzforge.cancelRun'
  | 'fuzzforge.rerun'
  | 'fuzzforge.openRunSarif'
  | 'fuzzforge.openRunInTemporalUi'
  | 'fuzzforge.refreshRuns';

/** What run actions receive: a row of the Runs view, or nothing (from the palette: pick one). */
function runArg(arg: unknown): RunEntry | undefined {
  return arg && typeof arg === 'object' && 'runId' in arg && 'status' in arg ? (arg as RunEntry) : undefined;
}

/** The run a run action is for: the row it was invoked on, or one picked from the Runs view's list. */
export async function pickRun(
  runsModel: RunsModel,
  arg: unknown,
  wanted: (r: RunEntry) => boolean,
  placeHolder: string,
  none: string,
): Promise<RunEntry> {
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
}

export function runCommands(ctx: CommandContext): HandlersOf<RunCommand> {
  const { log, backend, scans, runs: runsModel } = ctx;
  return {
    'fuzzforge.cancelRun': async (arg) => {
      const run = await pickRun(
        runsModel,
        arg,
        (r) => r.status === 'running',
        'Run to stop',
        'No FuzzForge run is in progress in this workspace.',
      );
      const { runs } = await backend.connect();
      const how = await runs.cancel(run.runId);
      log.info(
        how === 'requested'
          ? `cancel requested for run ${run.runId}`
          : `run ${run.runId} terminated: no worker could act on a cancellation`,
      );
      await runsModel.refresh();
    },
    'fuzzforge.rerun': async (arg) => {
      const run = await pickRun(
        runsModel,
        arg,
        () => true,
        'Run to run again',
        'No FuzzForge run in this workspace yet.',
      );
      const root = run.memo?.workspaceRoot ?? run.folder?.uri.fsPath;
      if (!root) {
        throw new UserError(`run ${run.runId} does not say which folder it scanned`, 'start a new scan instead');
      }
      const wf = findWorkflow(toolboxDir(), run.memo?.workflow ?? run.workflow);
      await scans.scanAndReport(vscode.Uri.file(root), wf, run.memo?.params ?? {});
    },
    'fuzzforge.openRunSarif': async (arg) => {
      const run = await pickRun(
        runsModel,
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
      const { conn, runs } = await backend.connect();
      const summary = run.summary ?? (await runs.result(run.runId));
      const sarif = await fetchSarif(conn, summary);
      const dir = vscode.Uri.joinPath(ctx.extension.globalStorageUri, 'sarif');
      await vscode.workspace.fs.createDirectory(dir);
      const file = vscode.Uri.joinPath(dir, `${run.runId}.sarif`);
      await vscode.workspace.fs.writeFile(file, Buffer.from(JSON.stringify(sarif, null, 2)));
      await vscode.window.showTextDocument(file, { preview: false });
    },
    'fuzzforge.openRunInTemporalUi': async (arg) => {
      const run = await pickRun(
        runsModel,
        arg,
        () => true,
        'Run to open in the Temporal UI',
        'No FuzzForge run in this workspace yet.',
      );
      const { conn } = await backend.connect();
      if (!conn.temporal.uiUrl) {
        throw new UserError(
          `no Temporal UI address is known for this ${conn.mode} backend`,
          `open your Temporal UI and look for workflow id ${run.runId}`,
        );
      }
      await vscode.env.openExternal(
        vscode.Uri.parse(temporalRunUrl(
            conn.temporal.uiUrl,
            conn.temporal.namespace,
            run.runId,
            run.executionRunId,
            conn.temporal.uiToken,
          ),),
      );
    },
    'fuzzforge.refreshRuns': () => runsModel.refresh(),
  };
}
