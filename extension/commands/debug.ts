// Debugging a crash of a fuzzing run in the editor, with the toolchain's own debugger.
import { debugCrashInEditor, requireTrustedWorkspace } from '../debug/debugCrash';
import type { CommandContext, HandlersOf } from './context';
import { pickCrash } from './fuzzing';

type DebugCommand = 'fuzzforge.debugCrash';

export function debugCommands(ctx: CommandContext): HandlersOf<DebugCommand> {
  return {
    'fuzzforge.debugCrash': async (arg, crashArg) => {
      // Before any pick: nothing is chosen for a session that cannot start.
      requireTrustedWorkspace('Debugging a crash');
      const picked = await pickCrash(ctx, arg, crashArg, 'debug');
      if (!picked) {
        return undefined;
      }
      const { run, crashId } = picked;
      return debugCrashInEditor(ctx.fuzzing, run.runId, crashId, run.memo?.workspaceRoot ?? run.folder?.uri.fsPath);
    },
  };
}
