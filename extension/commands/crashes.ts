// Commands of the Crashes view: show it (optionally on one harness's crashes), open a crash's
// detail panel, copy its input's path, keep it as a regression input. Replay is
// fuzzforge.replayCrash (commands/fuzzing.ts), which also takes a Crashes view row.
import { UserError } from '../../backend/errors';
import { copyInputPath, saveAsRegression } from '../crashActions';
import { CrashPanel } from '../crashPanel';
import { isCrashNode, type CrashesNode } from '../views/crashesView';
import type { CommandContext, HandlersOf } from './context';

type CrashCommand =
  'fuzzforge.showCrashes' | 'fuzzforge.openCrash' | 'fuzzforge.copyCrashInputPath' | 'fuzzforge.saveCrashAsRegression';

/** The crash row a command was invoked on (these commands are only offered on crash rows). */
function crashArg(arg: unknown, command: string): Extract<CrashesNode, { kind: 'crash' }> {
  if (!isCrashNode(arg)) {
    throw new UserError(`${command} works on a crash of the Crashes view`, 'pick a crash in the Crashes view');
  }
  return arg;
}

export function crashCommands(ctx: CommandContext): HandlersOf<CrashCommand> {
  const { fuzzing, crashesView, runs } = ctx;
  // The Runs model's copy of the run is the newest (status, folder).
  const current = (node: Extract<CrashesNode, { kind: 'crash' }>) => runs.find(node.run.runId) ?? node.run;
  return {
    'fuzzforge.showCrashes': async (filter) => {
      const harness =
        filter && typeof filter === 'object' && typeof filter.harness === 'string' ? filter.harness : undefined;
      return crashesView.show(harness !== undefined ? { harness } : undefined);
    },
    'fuzzforge.openCrash': async (arg) => {
      const node = crashArg(arg, 'Show Crash Details');
      const panel = CrashPanel.show(fuzzing, current(node), node.crash);
      return Promise.resolve({ runId: panel.run.runId, crashId: panel.crash.id });
    },
    'fuzzforge.copyCrashInputPath': async (arg) => {
      const node = crashArg(arg, 'Copy Input Path');
      return copyInputPath(fuzzing, current(node), node.crash);
    },
    'fuzzforge.saveCrashAsRegression': async (arg) => {
      const node = crashArg(arg, 'Save as Regression Input');
      return saveAsRegression(fuzzing, current(node), node.crash);
    },
  };
}
