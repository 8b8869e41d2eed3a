import type { Ajv, ValidateFunction } from 'ajv';
import { UserError } from '../errors';
import { formatAjvErrors, newAjv, type WorkflowDefinition } from './discovery';

/**
 * Turn `--param key=value` strings into typed values using the workflow's schema: numbers,
 * booleans, arrays (JSON or comma-separated) and objects (JSON). Unknown keys are kept so that
 * validation can name them.
 */
export function parseParamArgs(definition: WorkflowDefinition, args: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq <= 0) {
      throw new UserError(
        `--param ${arg} is not key=value`,
        `for example --param ${Object.keys(definition.parameters.properties)[0] ?? 'name'}=value`,
      );
    }
    const key = arg.slice(0, eq);
    const raw = arg.slice(eq + 1);
    out[key] = coerceParam(definition.parameters.properties[key], raw, key);
  }
  return out;
}

/**
 * One parameter's value from what a person typed, typed by the workflow's schema (the rules of
 * `--param key=value`). Throws a UserError saying what was expected.
 */
export function parseParamValue(definition: WorkflowDefinition, key: string, raw: string): unknown {
  return coerceParam(definition.parameters.properties[key], raw, key);
}

function coerceParam(schema: Record<string, unknown> | undefined, raw: string, key: string): unknown {
  const type = schema?.type;
  const fail = (what: string) => new UserError(`--param ${key}=${raw}: ${what}`);
  switch (type) {
    case 'integer':
    case 'number': {
      const value = Number(raw);
      if (raw.trim() === '' || Number.isNaN(value)) {
        throw fail(`expected a ${type}`);
      }
      return value;
    }
    case 'boolean':
      if (['true', '1', 'yes', 'on'].includes(raw.toLowerCase())) {
        return true;
      }
      if (['false', '0', 'no', 'off'].includes(raw.toLowerCase())) {
        return false;
      }
      throw fail('expected true or false');
    case 'array':
      if (raw.trim().startsWith('[')) {
        try {
          return JSON.parse(raw) as unknown;
        } catch {
          throw fail('expected a JSON array or comma-separated values');
        }
      }
      return raw === ''
        ? []
        : raw
            .split(',')
            .map((item) => coerceParam(schema?.items as Record<string, unknown> | undefined, item.trim(), key));
    case 'object':
      try {
        return JSON.parse(raw) as unknown;
      } catch {
        throw fail('expected a JSON object');
      }
    default:
      return raw;
  }
}

/** One bad parameter: its name (empty for the object itself) and what is wrong with it. */
export interface ParamProblem {
  field: string;
  message: string;
}

/**
 * Validators by the text of the schema they check, compiled by one Ajv instance. By text, not by
 * object: a definition read again from its folder (each save's run on save) or sent over a
 * channel (the worker's input check, for every run) is a new object, and each used to cost a new
 * instance, the JSON Schema meta-schema and the schema compiled again (about 15 ms a run).
 */
const compiled = new Map<string, ValidateFunction>();
let paramsAjv: Ajv | undefined;
/** Distinct schemas kept at most (a watched toolbox edited all day makes new ones). */
const MAX_COMPILED = 256;

function paramsValidator(definition: WorkflowDefinition): ValidateFunction {
  const schema = {
    ...definition.parameters,
    additionalProperties: definition.parameters.additionalProperties ?? false,
  };
  const key = JSON.stringify(schema);
  let validate = compiled.get(key);
  if (!validate) {
    if (compiled.size >= MAX_COMPILED) {
      // The instance keeps every schema it compiled: start both afresh.
      compiled.clear();
      paramsAjv = undefined;
    }
    const options = { allErrors: true, useDefaults: true, strict: false };
    try {
      validate = (paramsAjv ??= newAjv(options)).compile(schema);
    } catch (err) {
      // Another workflow's schema with the same $id in the shared instance: this one on its own.
      if (!/already exists/.test((err as Error).message)) {
        throw err;
      }
      validate = newAjv(options).compile(schema);
    }
    compiled.set(key, validate);
  }
  return validate;
}

/**
 * Check parameters against the workflow's schema and fill defaults: the one validator of the front
 * ends and of the workers. Returns a new object (the input is not modified) or the problems.
 */
export function checkParams(
  definition: WorkflowDefinition,
  params: unknown,
): { params: Record<string, unknown>; problems: [] } | { problems: ParamProblem[] } {
  const validate = paramsValidator(definition);
  if (typeof params !== 'object' || params === null || Array.isArray(params)) {
    return { problems: [{ field: '', message: 'must be an object' }] };
  }
  const copy = structuredClone(params) as Record<string, unknown>;
  if (validate(copy)) {
    return { params: copy, problems: [] };
  }
  return {
    problems: formatAjvErrors(validate.errors).map((e) =>
      e.message === 'is not a known field'
        ? { field: e.field.slice(1), message: `is not a parameter of ${definition.name}` }
        : { field: e.field.slice(1).replace(/\//g, '.'), message: e.message },
    ),
  };
}

/**
 * Validate parameters against the workflow's schema and fill defaults. Throws a UserError naming
 * every bad field; returns a new object (the input is not modified).
 */
export function validateParams(
  definition: WorkflowDefinition,
  params: Record<string, unknown>,
): Record<string, unknown> {
  const checked = checkParams(definition, params);
  if (checked.problems.length > 0) {
    const known = Object.keys(definition.parameters.properties);
    const lines = checked.problems.map((p) => `${p.field || '(parameters)'} ${p.message}`);
    throw new UserError(
      `invalid parameters for ${definition.name}:\n  ${lines.join('\n  ')}`,
      `parameters of ${definition.name}: ${known.join(', ') || '(none)'}; see \`fuzzforge workflows ${definition.name}\``,
    );
  }
  return (checked as { params: Record<string, unknown> }).params;
}
