// Commands on findings: how the Findings view groups them, suppressing one, opening its rule's help.
import * as vscode from 'vscode';
import { suppressInIgnoreFile } from '../codeActions';
import { Cancelled } from '../errors';
import { GROUP_BY, parseGroupBy } from '../views/viewModel';
import type { CommandContext, HandlersOf } from './context';

type FindingCommand =
  | 'fuzzforge.groupFindingsBy'
  | 'fuzzforge.suppressOnLine'
  | 'fuzzforge.suppressInIgnoreFile'
  | 'fuzzforge.openRuleHelp';

export function findingCommands(ctx: CommandContext): HandlersOf<FindingCommand> {
  const { config, findingsView } = ctx;
  return {
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
    'fuzzforge.suppressOnLine': async (uri, ruleId) => {
      // The quick fix edits directly; this command serves keybindings and menus.
      await vscode.commands.executeCommand('editor.action.quickFix', uri, ruleId);
    },
    'fuzzforge.suppressInIgnoreFile': (uri, ruleId) => suppressInIgnoreFile(uri, String(ruleId)),
    'fuzzforge.openRuleHelp': async (arg) => {
      // From a quick fix: the URL; from the Findings view: the finding's row.
      const node = arg;
      const target =
        node && typeof node === 'object' && node.kind === 'finding' ? node.finding.diagnostic.helpUri : undefined;
      if (target) {
        await vscode.env.openExternal(target);
      } else if (typeof arg === 'string') {
        await vscode.env.openExternal(vscode.Uri.parse(arg));
      }
    },
  };
}
