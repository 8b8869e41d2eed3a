// The parameters of a palette scan: run with the workflow's defaults, with the values last used in
// this workspace, or edit any parameter of its schema, each checked by the workflow's validator as
// it is typed. The values a scan ran with are remembered per workspace and workflow.
import * as vscode from 'vscode';
import type { WorkflowDefinition } from '../../backend/toolbox/discovery';
import {
  describeParams,
  formatParamValue,
  missingParams,
  paramFields,
  parseFieldInput,
  rememberedParams,
  type ParamField,
} from '../../backend/toolbox/paramForm';
import { Cancelled } from '../errors';

/** workspaceState key: `{ [workflow]: params }` of the last palette scan of each workflow. */
export const LAST_PARAMS_KEY = 'fuzzforge.scanParams';

type Choice = vscode.QuickPickItem & { params?: Record<string, unknown>; edit?: boolean };

/** Ask for a workflow's parameters (see the file comment) and remember the answer. */
export async function askScanParams(wf: WorkflowDefinition, state: vscode.Memento): Promise<Record<string, unknown>> {
  if (paramFields(wf).length === 0) {
    return {};
  }
  const stored = state.get<Record<string, unknown>>(LAST_PARAMS_KEY) ?? {};
  const last = rememberedParams(wf, typeof stored === 'object' && stored ? stored[wf.name] : undefined);
  const choices: Choice[] = [];
  if (last) {
    choices.push({ label: '$(history) Last values', description: describeParams(last), params: last });
  }
  if (missingParams(wf, {}).length === 0) {
    choices.push({ label: '$(check) Run with defaults', params: {} });
  }
  choices.push({
    label: '$(edit) Edit parameters…',
    description: `${paramFields(wf).length} parameter(s)`,
    edit: true,
  });
  const pick =
    choices.length === 1
      ? choices[0]
      : await vscode.window.showQuickPick(choices, { placeHolder: `Parameters of ${wf.name}` });
  if (!pick) {
    throw new Cancelled();
  }
  const params = pick.edit || !pick.params ? await editParams(wf, last ?? {}) : pick.params;
  await state.update(LAST_PARAMS_KEY, { ...(typeof stored === 'object' && stored ? stored : {}), [wf.name]: params });
  return params;
}

/** What a field's row says about its value. */
function valueLabel(field: ParamField, values: Record<string, unknown>): string {
  if (values[field.name] !== undefined) {
    return `= ${formatParamValue(values[field.name])}`;
  }
  if (field.default !== undefined) {
    return `default ${formatParamValue(field.default)}`;
  }
  return field.needed ? 'required' : 'not set';
}

/** What a field accepts, for its input box. */
function fieldHint(field: ParamField): string {
  const bounds = [
    field.minimum !== undefined ? `min ${field.minimum}` : '',
    field.maximum !== undefined ? `max ${field.maximum}` : '',
  ].filter(Boolean);
  const kind =
    field.type === 'array' ? 'comma-separated values or a JSON array' : field.type === 'object' ? 'JSON' : field.type;
  return `${field.name} (${[kind, ...bounds].join(', ')})${field.description ? `: ${field.description}` : ''}`;
}

/** A form of every parameter: pick one to change it, then Run. */
async function editParams(wf: WorkflowDefinition, start: Record<string, unknown>): Promise<Record<string, unknown>> {
  const values: Record<string, unknown> = { ...start };
  const fields = paramFields(wf);
  for (;;) {
    const missing = missingParams(wf, values);
    const run: vscode.QuickPickItem = {
      label: '$(play) Run',
      description: missing.length > 0 ? `set ${missing.join(', ')} first` : describeParams(values) || 'defaults',
    };
    const rows = fields.map((f) => ({
      label: f.name,
      description: valueLabel(f, values),
      detail: f.description,
      field: f,
    }));
    const pick = await vscode.window.showQuickPick<vscode.QuickPickItem & { field?: ParamField }>([run, ...rows], {
      placeHolder: `Parameters of ${wf.name}: pick one to change it`,
      matchOnDetail: true,
    });
    if (!pick) {
      throw new Cancelled();
    }
    if (!pick.field) {
      if (missing.length === 0) {
        return values;
      }
      void vscode.window.showWarningMessage(`FuzzForge: ${wf.name} needs ${missing.join(', ')} before it can run.`);
      continue;
    }
    const field = pick.field;
    const next = await askField(wf, field, values[field.name]);
    if (next === 'unchanged') {
      continue;
    }
    if (next.value === undefined) {
      delete values[field.name];
    } else {
      values[field.name] = next.value;
    }
  }
}

/** One parameter's new value: a list for booleans and enums, a checked input box for the rest. */
async function askField(
  wf: WorkflowDefinition,
  field: ParamField,
  current: unknown,
): Promise<{ value: unknown } | 'unchanged'> {
  const choices = field.enum ?? (field.type === 'boolean' ? [true, false] : undefined);
  if (choices) {
    const items = [
      ...choices.map((v) => ({
        label: formatParamValue(v),
        description: v === current ? 'current' : v === field.default ? 'default' : undefined,
        value: v,
      })),
      ...(field.needed
        ? []
        : [{ label: '(not set)', description: 'the default applies', value: undefined as unknown }]),
    ];
    const pick = await vscode.window.showQuickPick(items, { placeHolder: fieldHint(field) });
    return pick ? { value: pick.value } : 'unchanged';
  }
  const typed = await vscode.window.showInputBox({
    prompt: fieldHint(field),
    value: current === undefined ? '' : formatParamValue(current),
    placeHolder: field.default !== undefined ? `default: ${formatParamValue(field.default)}` : undefined,
    validateInput: (text) => parseFieldInput(wf, field.name, text).problem,
  });
  if (typed === undefined) {
    return 'unchanged';
  }
  const parsed = parseFieldInput(wf, field.name, typed);
  return parsed.problem === undefined ? { value: parsed.value } : 'unchanged';
}
