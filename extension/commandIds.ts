// Every command the extension contributes. Pure (no vscode import) so a unit test can compare it
// with package.json; extension.ts maps each id to its handler through a typed table.
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
] as const;

export type CommandId = (typeof COMMAND_IDS)[number];

/** Commands only reachable from quick fixes and view rows (hidden from the palette). */
export const INTERNAL_COMMANDS: readonly CommandId[] = [
  'fuzzforge.suppressOnLine',
  'fuzzforge.suppressInIgnoreFile',
  'fuzzforge.openRuleHelp',
];
