// A workflow's parameters as a form a front end asks through (the editor's palette scan): one
// field per schema property, a value typed the way `--param key=value` types it and checked by
// the one validator (checkParams), and last values read back safely from storage.
import type { WorkflowDefinition } from './discovery';
import { checkParams, parseParamValue } from './params';

/** One parameter of a workflow, as a form shows it. */
export interface ParamField {
  name: string;
  type: string;
  description?: string;
  default?: unknown;
  enum?: readonly unknown[];
  minimum?: number;
  maximum?: number;
  /** Required and without a default: the run cannot start until it is set. */
  needed: boolean;
}

/** The fields of a workflow's parameters, in the schema's order. */
export function paramFields(definition: WorkflowDefinition): ParamField[] {
  const required = new Set(definition.parameters.required ?? []);
  return Object.entries(definition.parameters.properties).map(([name, schema]) => ({
    name,
    type: typeof schema.type === 'string' ? schema.type : 'string',
    ...(typeof schema.description === 'string' ? { description: schema.description.trim() } : {}),
    ...('default' in schema ? { default: schema.default } : {}),
    ...(Array.isArray(schema.enum) ? { enum: schema.enum as unknown[] } : {}),
    ...(typeof schema.minimum === 'number' ? { minimum: schema.minimum } : {}),
    ...(typeof schema.maximum === 'number' ? { maximum: schema.maximum } : {}),
    needed: required.has(name) && !('default' in schema),
  }));
}

/** A value as a person types it back: comma-separated scalars, JSON for anything nested. */
export function formatParamValue(value: unknown): string {
  if (typeof value === 'string') {
    return value;
  }
  if (Array.isArray(value) && value.every((v) => ['string', 'number', 'boolean'].includes(typeof v))) {
    return value.map(String).join(',');
  }
  return JSON.stringify(value) ?? '';
}

/** What is wrong with one field's value in the context of the others, or undefined. */
function fieldProblem(definition: WorkflowDefinition, name: string, value: unknown): string | undefined {
  const checked = checkParams(definition, { [name]: value });
  const own = checked.problems.filter((p) => p.field === name || p.field.startsWith(`${name}.`));
  return own.length > 0 ? own.map((p) => `${p.field} ${p.message}`).join('; ') : undefined;
}

/**
 * What a person typed for one parameter: `{ value }` (undefined: unset, the default applies) or
 * `{ problem }` in words. An empty entry unsets an optional parameter.
 */
export function parseFieldInput(
  definition: WorkflowDefinition,
  name: string,
  raw: string,
): { value: unknown; problem?: undefined } | { problem: string } {
  const field = paramFields(definition).find((f) => f.name === name);
  if (!field) {
    return { problem: `${name} is not a parameter of ${definition.name}` };
  }
  // Spaces are a value of a string parameter, not of a number or a list.
  if (field.type === 'string' ? raw === '' : raw.trim() === '') {
    return field.needed ? { problem: `${name} is required` } : { value: undefined };
  }
  let value: unknown;
  try {
    value = parseParamValue(definition, name, raw);
  } catch (err) {
    return { problem: (err as Error).message.replace(/^--param /, '') };
  }
  const problem = fieldProblem(definition, name, value);
  return problem ? { problem } : { value };
}

/** Parameters that must still be set before a run can start (required, no default, unset). */
export function missingParams(definition: WorkflowDefinition, params: Record<string, unknown>): string[] {
  return paramFields(definition)
    .filter((f) => f.needed && params[f.name] === undefined)
    .map((f) => f.name);
}

/**
 * Last values read back from storage (anything could be there: an older workflow version, a
 * hand-edited state): only known parameters whose value still passes the schema are kept.
 * Undefined when nothing usable is left.
 */
export function rememberedParams(definition: WorkflowDefinition, stored: unknown): Record<string, unknown> | undefined {
  if (!stored || typeof stored !== 'object' || Array.isArray(stored)) {
    return undefined;
  }
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(stored as Record<string, unknown>)) {
    if (name in definition.parameters.properties && value !== undefined && !fieldProblem(definition, name, value)) {
      out[name] = value;
    }
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** A one-line summary of set parameters, `name=value, …`, cut at `max` characters. */
export function describeParams(params: Record<string, unknown>, max = 120): string {
  const text = Object.entries(params)
    .map(([k, v]) => `${k}=${formatParamValue(v)}`)
    .join(', ');
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
