// Every command's handler, from the groups in this folder. The return type is the typed table of
// commandIds.ts: a command without a handler, or a handler with other arguments, fails to compile.
import type * as vscode from 'vscode';
import type { CommandHandlers } from '../commandIds';
import { backendCommands } from './backend';
import { campaignCommands } from './campaign';
import type { CommandContext } from './context';
import { crashCommands } from './crashes';
import { debugCommands } from './debug';
import { findingCommands } from './findings';
import { fuzzingCommands } from './fuzzing';
import { runCommands } from './runs';
import { scanCommands } from './scan';

export function commandHandlers(ctx: CommandContext, disposables: vscode.Disposable[]): CommandHandlers {
  return {
    ...backendCommands(ctx, disposables),
    ...scanCommands(ctx),
    ...runCommands(ctx),
    ...fuzzingCommands(ctx),
    ...findingCommands(ctx),
    ...crashCommands(ctx),
    ...campaignCommands(ctx),
    ...debugCommands(ctx),
  };
}
