// Commands of fuzzing runs: their live statistics panel, and replaying one of their crashes here.
import * as vscode from 'vscode';
import { listCrashes } from '../../backend/fuzzing';
import { Cancelled } from '../errors';
import { FuzzingPanel, replayInEditor } from '../fuzzingPanel';
import type { RunEntry } from '../runs';
import type { CommandContext, HandlersOf } from './context';
import { pickRun } from './runs';
import { isCrashNode } from '../views/crashesView';

type FuzzingCommand = 'fuzzforge.showFuzzingStats' | 'fuzzforge.replayCrash';

export function fuzzingCommands(ctx: CommandContext): HandlersOf<FuzzingCommand> {
  const { runs: runsModel, fuzzing } = ctx;
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
      const picked = await pickCrash(ctx, arg, crashArg, 'replay');
      if (!picked) {
        return undefined;
      }
      const { run, crashId } = picked;
      return replayInEditor(fuzzing, run.runId, crashId, run.memo?.workspaceRoot ?? run.folder?.uri.fsPath);
    },
  };
}

/**
 * The run and crash a crash command works on: the ones it was given, else picked from the
 * workspace's fuzzing runs and that run's crashes. Undefined when the run has no crash (said).
 */
export async function pickCrash(
  ctx: Pick<CommandContext, 'backend' | 'runs'>,
  arg: unknown,
  crashArg: unknown,
  verb: string,
): Promise<{ run: RunEntry; crashId: string } | undefined> {
  // A row of the Crashes view names both.
  if (isCrashNode(arg)) {
    return { run: ctx.runs.find(arg.run.runId) ?? arg.run, crashId: arg.crash.id };
  }
  const run = await pickRun(
    ctx.runs,
    arg,
    (r) => r.workflow.endsWith('_fuzzing'),
    `Fuzzing run whose crash to ${verb}`,
    'No fuzzing run in this workspace yet.',
  );
  if (typeof crashArg === 'string' && crashArg) {
    return { run, crashId: crashArg };
  }
  const { conn } = await ctx.backend.connect();
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
          { placeHolder: `Crash to ${verb} on this machine` },
        );
  if (!pick) {
    throw new Cancelled();
  }
  return { run, crashId: pick.id };
}
