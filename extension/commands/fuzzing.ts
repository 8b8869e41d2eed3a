// Commands of fuzzing runs: their live statistics panel, and replaying one of their crashes here.
import * as vscode from 'vscode';
import { listCrashes } from '../../backend/fuzzing';
import { Cancelled } from '../errors';
import { FuzzingPanel, replayInEditor } from '../fuzzingPanel';
import type { CommandContext, HandlersOf } from './context';
import { pickRun } from './runs';
import { isCrashNode } from '../views/crashesView';

type FuzzingCommand = 'fuzzforge.showFuzzingStats' | 'fuzzforge.replayCrash';

export function fuzzingCommands(ctx: CommandContext): HandlersOf<FuzzingCommand> {
  const { backend, runs: runsModel, fuzzing } = ctx;
  return {
    'fuzzforge.showFuzzingStats': async (arg) => {
      const run = await pickRun(
        runsModel,
        arg,
        (r) => r.workflow.endsWith('_fuzzing'),
        'Fuzzing run to show',
        'No fuzzing run in this workspace yet (start one with FuzzForge: Scan Workspace… and a *_fuzzing workflow).',
      );
      FuzzingPanel.show(fuzzing, run.runId);
    },
    'fuzzforge.replayCrash': async (arg, crashArg) => {
      if (isCrashNode(arg)) {
        const row = runsModel.find(arg.run.runId) ?? arg.run;
        return replayInEditor(fuzzing, row.runId, arg.crash.id, row.folder?.uri.fsPath ?? row.memo?.workspaceRoot);
      }
      const run = await pickRun(
        runsModel,
        arg,
        (r) => r.workflow.endsWith('_fuzzing'),
        'Fuzzing run whose crash to replay',
        'No fuzzing run in this workspace yet.',
      );
      let crashId = typeof crashArg === 'string' ? crashArg : undefined;
      if (!crashId) {
        const { conn } = await backend.connect();
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
      return replayInEditor(fuzzing, run.runId, crashId, run.memo?.workspaceRoot ?? run.folder?.uri.fsPath);
    },
  };
}
