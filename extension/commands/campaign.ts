// Commands that start fuzzing campaigns: on one harness from its CodeLens, or on harnesses picked
// from the palette for a chosen length. Both open the live statistics panel of each run.
import * as vscode from 'vscode';
import { UserError } from '../../backend/errors';
import { HARNESS_CONVENTION } from '../../backend/fuzz/harnesses';
import {
  CAMPAIGN_DURATIONS,
  formatCampaignDuration,
  parseCampaignDuration,
  type WorkspaceHarness,
} from '../../backend/fuzz/workspaceHarnesses';
import { toolboxDir } from '../../backend/paths';
import { findWorkflow } from '../../backend/scan';
import { parseFieldInput } from '../../backend/toolbox/paramForm';
import { requireTrust, startCampaigns, type CampaignDeps } from '../campaigns';
import { Cancelled } from '../errors';
import type { HarnessTarget } from '../harnessLens';
import type { CommandContext, HandlersOf } from './context';
import { pickFolder } from './scan';

type CampaignCommand = 'fuzzforge.fuzzHarness' | 'fuzzforge.startCampaign';

/** The campaign length last chosen from the palette in this workspace (offered first next time). */
const LAST_DURATION_KEY = 'fuzzforge.campaign.seconds';

/** What the lens passed, checked: any caller can run a command with anything. */
function harnessTargetArg(arg: unknown): HarnessTarget | undefined {
  const t = arg as Partial<HarnessTarget> | null | undefined;
  return t &&
    typeof t === 'object' &&
    typeof t.folder === 'string' &&
    typeof t.file === 'string' &&
    typeof t.name === 'string'
    ? { folder: t.folder, file: t.file, name: t.name }
    : undefined;
}

/** The length of a campaign on these harnesses: one of the usual ones, or typed (checked against each workflow). */
async function pickDuration(harnesses: readonly WorkspaceHarness[], last: number | undefined): Promise<number> {
  const workflows = [...new Set(harnesses.map((h) => h.workflow))].map((name) => findWorkflow(toolboxDir(), name));
  const problemOf = (seconds: number) =>
    workflows.map((wf) => parseFieldInput(wf, 'max_total_time', String(seconds)).problem).find((p) => p !== undefined);
  const items: (vscode.QuickPickItem & { seconds?: number })[] = [
    ...(last && !CAMPAIGN_DURATIONS.some((d) => d.seconds === last)
      ? [{ label: formatCampaignDuration(last), description: 'last used', seconds: last }]
      : []),
    ...CAMPAIGN_DURATIONS.map((d) => ({
      label: d.label,
      description: d.seconds === last ? 'last used' : undefined,
      seconds: d.seconds,
    })),
    { label: 'Other length…', description: 'seconds, or 10m, 2h, 1d' },
  ];
  const pick = await vscode.window.showQuickPick(items, {
    placeHolder: 'How long to fuzz each harness',
  });
  if (!pick) {
    throw new Cancelled();
  }
  if (pick.seconds !== undefined) {
    return pick.seconds;
  }
  const typed = await vscode.window.showInputBox({
    prompt: 'Seconds of fuzzing per harness, or a number with s, m, h or d',
    value: last ? String(last) : '',
    validateInput: (text) => {
      const parsed = parseCampaignDuration(text);
      return 'problem' in parsed ? parsed.problem : problemOf(parsed.seconds);
    },
  });
  const parsed = typed === undefined ? undefined : parseCampaignDuration(typed);
  if (!parsed || 'problem' in parsed) {
    throw new Cancelled();
  }
  return parsed.seconds;
}

export function campaignCommands(ctx: CommandContext): HandlersOf<CampaignCommand> {
  const { extension, harnessLenses, scans, reporter, log, fuzzing } = ctx;
  const deps: CampaignDeps = { scans, reporter, log, fuzzing };
  // The setting's schema bounds it; a hand-edited settings.json may still hold anything.
  const lensSeconds = () => {
    const v = ctx.config().get<unknown>('fuzzing.campaignSeconds');
    return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : 300;
  };
  const lastDuration = () => {
    const v = extension.workspaceState.get<unknown>(LAST_DURATION_KEY);
    return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined;
  };
  return {
    'fuzzforge.fuzzHarness': async (arg) => {
      requireTrust('Fuzzing this target');
      const target = harnessTargetArg(arg);
      const folder = target
        ? vscode.workspace.workspaceFolders?.find((f) => f.uri.toString() === target.folder)
        : undefined;
      if (!target || !folder) {
        throw new UserError('Fuzz this target needs a harness of an open workspace folder', 'use its CodeLens');
      }
      // Only a harness the workers would discover: the lens may be older than the file.
      const harness = (await harnessLenses.harnesses(folder)).find(
        (h) => h.harness.file === target.file && h.harness.name === target.name,
      );
      if (!harness) {
        throw new UserError(
          `${target.file} no longer defines the harness ${target.name}`,
          'save the file; its lens follows what a campaign would discover',
        );
      }
      return startCampaigns(deps, folder.uri, [harness], lensSeconds());
    },
    'fuzzforge.startCampaign': async () => {
      requireTrust('A fuzzing campaign');
      const folder = await pickFolder('Folder whose harnesses to fuzz');
      const found = await harnessLenses.harnesses(folder);
      if (found.length === 0) {
        throw new UserError(
          `no fuzz harness found in ${folder.name}`,
          `harnesses are ${Object.values(HARNESS_CONVENTION).join('; ')}`,
        );
      }
      let picked: readonly WorkspaceHarness[] = found;
      if (found.length > 1) {
        const items = await vscode.window.showQuickPick(
          found.map((h) => ({ label: h.harness.name, description: `${h.engine} · ${h.harness.file}`, harness: h })),
          { placeHolder: 'Harnesses to fuzz (one campaign each)', canPickMany: true, matchOnDescription: true },
        );
        if (!items || items.length === 0) {
          throw new Cancelled();
        }
        picked = items.map((i) => i.harness);
      }
      const seconds = await pickDuration(picked, lastDuration());
      await extension.workspaceState.update(LAST_DURATION_KEY, seconds);
      return startCampaigns(deps, folder.uri, picked, seconds);
    },
  };
}
