// Every command the extension contributes, with the arguments each one receives. Pure (types only
// from vscode) so a unit test can compare it with package.json; commands/ implements the handlers
// through the typed table below, and commands/register.ts registers them all in one loop.
import type { Uri } from 'vscode';
import type { HarnessTarget } from './harnessLens';
import type { RunEntry } from './runs';
import type { BackendRow } from './views/backendModel';
import type { CrashesNode } from './views/crashesView';
import type { FindingsNode } from './views/findingsView';
export const COMMAND_IDS = [
  'fuzzforge.startBackend',
  'fuzzforge.stopBackend',
  'fuzzforge.showBackendStatus',
  'fuzzforge.refreshBackendView',
  'fuzzforge.startWorkers',
  'fuzzforge.stopWorkers',
  'fuzzforge.showServiceLogs',
  'fuzzforge.scanWorkspace',
  'fuzzforge.cancelRun',
  'fuzzforge.rerun',
  'fuzzforge.openRunSarif',
  'fuzzforge.openRunInTemporalUi',
  'fuzzforge.refreshRuns',
  'fuzzforge.groupFindingsBy',
  'fuzzforge.showFuzzingStats',
  'fuzzforge.replayCrash',
  'fuzzforge.exportSarif',
  'fuzzforge.openTemporalUi',
  'fuzzforge.openMinioConsole',
  'fuzzforge.showLogs',
  'fuzzforge.suppressOnLine',
  'fuzzforge.suppressInIgnoreFile',
  'fuzzforge.openRuleHelp',
  'fuzzforge.showCrashes',
  'fuzzforge.openCrash',
  'fuzzforge.copyCrashInputPath',
  'fuzzforge.saveCrashAsRegression',
  'fuzzforge.startCampaign',
  'fuzzforge.fuzzHarness',
  'fuzzforge.debugCrash',
] as const;

export type CommandId = (typeof COMMAND_IDS)[number];

/** Commands only reachable from quick fixes and view rows (hidden from the palette). */
export const INTERNAL_COMMANDS: readonly CommandId[] = [
  'fuzzforge.suppressOnLine',
  'fuzzforge.suppressInIgnoreFile',
  'fuzzforge.openRuleHelp',
  'fuzzforge.openCrash',
  'fuzzforge.copyCrashInputPath',
  'fuzzforge.saveCrashAsRegression',
  'fuzzforge.fuzzHarness',
];

/**
 * What each command receives: nothing from the palette; the row from a view's item menu; the
 * arguments a quick fix or a welcome link passes. Handlers still check them at run time, since
 * anything (a keybinding, another extension) can call a command with anything.
 */
export interface CommandArgs {
  'fuzzforge.startBackend': [];
  'fuzzforge.stopBackend': [];
  'fuzzforge.showBackendStatus': [];
  'fuzzforge.refreshBackendView': [];
  'fuzzforge.startWorkers': [row?: BackendRow];
  'fuzzforge.stopWorkers': [row?: BackendRow];
  'fuzzforge.showServiceLogs': [row?: BackendRow];
  'fuzzforge.scanWorkspace': [];
  'fuzzforge.cancelRun': [run?: RunEntry];
  'fuzzforge.rerun': [run?: RunEntry];
  'fuzzforge.openRunSarif': [run?: RunEntry];
  'fuzzforge.openRunInTemporalUi': [run?: RunEntry];
  'fuzzforge.refreshRuns': [];
  /** `severity`, `file` or `rule`; none: pick one. */
  'fuzzforge.groupFindingsBy': [by?: string];
  'fuzzforge.showFuzzingStats': [run?: RunEntry];
  /** The run, then the crash id (none: pick one of the run's crashes); or a Crashes view row. */
  'fuzzforge.replayCrash': [run?: RunEntry | CrashesNode, crashId?: string];
  'fuzzforge.exportSarif': [];
  'fuzzforge.openTemporalUi': [];
  'fuzzforge.openMinioConsole': [];
  'fuzzforge.showLogs': [];
  /** The document and the rule id of the finding on the line. */
  'fuzzforge.suppressOnLine': [uri: Uri, ruleId: string];
  'fuzzforge.suppressInIgnoreFile': [uri: Uri, ruleId: string];
  /** From a quick fix: the help URL; from the Findings view: the finding's row. */
  'fuzzforge.openRuleHelp': [target?: FindingsNode | string];
  /** Focus the Crashes view; with a harness (workspace-relative file path), reveal its crashes. */
  'fuzzforge.showCrashes': [filter?: { harness?: string }];
  /** A crash row of the Crashes view. */
  'fuzzforge.openCrash': [crash?: CrashesNode];
  'fuzzforge.copyCrashInputPath': [crash?: CrashesNode];
  'fuzzforge.saveCrashAsRegression': [crash?: CrashesNode];
  /** Returns the ids of the runs it started. */
  'fuzzforge.startCampaign': [];
  /** From a harness's CodeLens: which harness (returns the id of the run it started). */
  'fuzzforge.fuzzHarness': [target?: HarnessTarget];
  /** As replayCrash: the run, then the crash id (none: pick one of the run's crashes). */
  'fuzzforge.debugCrash': [run?: RunEntry | CrashesNode, crashId?: string];
}

/** One handler per command id, typed by its arguments. */
export type CommandHandlers = { [K in CommandId]: (...args: CommandArgs[K]) => Promise<unknown> };

// CommandArgs names exactly the ids of COMMAND_IDS: a missing or extra entry fails to compile.
type SameKeys<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export const COMMAND_ARGS_MATCH_IDS: SameKeys<keyof CommandArgs, CommandId> = true;
