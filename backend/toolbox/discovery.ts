import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as AjvModule from 'ajv';
import type { default as Ajv, ErrorObject, Options as AjvOptions, ValidateFunction } from 'ajv';
import { version as ajvVersion } from 'ajv/package.json';
import YAML from 'yaml';
import { cacheDir } from '../paths';

/** A workflow folder of the toolbox, validated. */
export interface WorkflowDefinition {
  name: string;
  version: string;
  description: string;
  vertical: string;
  /** JSON Schema (type object) of the workflow's parameters, with defaults. */
  parameters: ParameterSchema;
  outputs: WorkflowOutput[];
  /** Default run timeout in seconds. */
  defaultTimeoutSeconds: number;
  tags: string[];
  dir: string;
  metadataFile: string;
  workflowFile: string;
}

export type WorkflowOutput = 'sarif' | 'crashes' | 'corpus' | 'stats';

export interface ParameterSchema {
  type: 'object';
  properties: Record<string, Record<string, unknown>>;
  required?: string[];
  additionalProperties?: boolean;
  [key: string]: unknown;
}

/** Something wrong with one toolbox folder: reported, skipped, the others still load. */
export interface ToolboxProblem {
  file: string;
  /** JSON pointer of the bad field, when the problem is one field. */
  field?: string;
  message: string;
}

export interface ToolboxScan {
  workflows: WorkflowDefinition[];
  problems: ToolboxProblem[];
}

const METADATA_SCHEMA = {
  type: 'object',
  required: ['name', 'version', 'description', 'vertical', 'parameters', 'outputs'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', pattern: '^[a-z][a-z0-9_]{1,63}$' },
    version: { type: 'string', pattern: '^\\d+\\.\\d+\\.\\d+([-+][0-9A-Za-z.-]+)?$' },
    description: { type: 'string', minLength: 1 },
    vertical: { type: 'string', pattern: '^[a-z][a-z0-9-]{0,31}$' },
    parameters: {
      type: 'object',
      required: ['type', 'properties'],
      properties: {
        type: { const: 'object' },
        properties: { type: 'object', additionalProperties: { type: 'object' } },
        required: { type: 'array', items: { type: 'string' } },
        additionalProperties: { type: 'boolean' },
      },
    },
    outputs: {
      type: 'array',
      minItems: 1,
      uniqueItems: true,
      items: { enum: ['sarif', 'crashes', 'corpus', 'stats'] },
    },
    default_timeout: {
      description: 'seconds, or a duration like "30m", "2h", "45s"',
      oneOf: [
        { type: 'integer', minimum: 1 },
        { type: 'string', pattern: '^\\d+(s|m|h|d)$' },
      ],
    },
    tags: { type: 'array', items: { type: 'string' } },
    author: { type: 'string' },
  },
} as const;

const FRIENDLY_PATTERN_MESSAGES: Record<string, string> = {
  '/name': 'must be snake_case (a-z, 0-9, _), 2 to 64 characters, starting with a letter',
  '/version': 'must be a semantic version like 1.0.0',
  '/vertical': 'must be lowercase letters, digits or -, starting with a letter',
};

// One instance each, made on first use: an Ajv instance compiles the JSON Schema meta-schema
// when created, which cost about 0.2 s per workflow folder when each check made its own. The
// metadata validator is compiled on first use too: the bundles that import this file only for its
// types and helpers (the worker's activities, most CLI commands) would pay 50-70 ms at load.
// Ajv itself (35-50 ms to load) comes with the first validator: a worker host starting on stored
// checks does not need it until it validates its first workflow input.
export function newAjv(options: AjvOptions): Ajv {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- see above
  const { default: AjvClass } = require('ajv') as typeof AjvModule;
  return new AjvClass(options);
}
let metadataValidator: ValidateFunction | undefined;
const validateMetadata = () =>
  (metadataValidator ??= newAjv({ allErrors: true, strict: false }).compile(METADATA_SCHEMA));
let strict: Ajv | undefined;
let lenient: Ajv | undefined;
const strictAjv = () => (strict ??= newAjv({ strict: true, useDefaults: true, allErrors: true }));
const lenientAjv = () => (lenient ??= newAjv({ strict: false }));

/** Compile a schema without keeping it in the instance (two folders may use the same $id). */
function compileOnce(instance: Ajv, schema: object): ValidateFunction {
  try {
    return instance.compile(schema);
  } finally {
    instance.removeSchema(schema);
  }
}

/** Parse "30m" / "2h" / 45 into seconds. */
export function parseDurationSeconds(value: string | number): number {
  if (typeof value === 'number') {
    return value;
  }
  const match = /^(\d+)(s|m|h|d)$/.exec(value);
  if (!match) {
    throw new Error(`not a duration: ${value}`);
  }
  const unit = { s: 1, m: 60, h: 3600, d: 86400 }[match[2] as 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}

export function formatAjvErrors(errors: ErrorObject[] | null | undefined): { field: string; message: string }[] {
  return (errors ?? []).map((e) => {
    let field = e.instancePath || '/';
    let message = e.message ?? 'is invalid';
    if (e.keyword === 'additionalProperties') {
      const extra = (e.params as { additionalProperty: string }).additionalProperty;
      field = `${e.instancePath}/${extra}`;
      message = 'is not a known field';
    } else if (e.keyword === 'required') {
      field = `${e.instancePath}/${(e.params as { missingProperty: string }).missingProperty}`;
      message = 'is required';
    } else if (e.keyword === 'enum') {
      message = `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    }
    return { field, message };
  });
}

/** Validate one parsed metadata document; returns the definition or the problems. */
export function parseWorkflowMetadata(
  doc: unknown,
  dir: string,
): { definition?: WorkflowDefinition; problems: ToolboxProblem[] } {
  const metadataFile = path.join(dir, 'metadata.yaml');
  const validate = validateMetadata();
  if (!validate(doc)) {
    // oneOf failures repeat themselves per branch; keep one line per field.
    const seen = new Set<string>();
    const problems: ToolboxProblem[] = [];
    for (const p of formatAjvErrors(validate.errors)) {
      const friendly = FRIENDLY_PATTERN_MESSAGES[p.field];
      if (friendly && p.message.startsWith('must match pattern')) {
        p.message = friendly;
      }
      if (!seen.has(p.field)) {
        seen.add(p.field);
        problems.push({ file: metadataFile, ...p });
      }
    }
    return { problems };
  }
  const meta = doc as {
    name: string;
    version: string;
    description: string;
    vertical: string;
    parameters: ParameterSchema;
    outputs: WorkflowOutput[];
    default_timeout?: string | number;
    tags?: string[];
  };
  const problems: ToolboxProblem[] = [];
  if (meta.name !== path.basename(dir)) {
    problems.push({
      file: metadataFile,
      field: '/name',
      message: `must equal the folder name "${path.basename(dir)}"`,
    });
  }
  try {
    compileOnce(strictAjv(), meta.parameters);
  } catch (err) {
    problems.push({
      file: metadataFile,
      field: '/parameters',
      message: `is not a valid JSON Schema: ${(err as Error).message}`,
    });
  }
  for (const [key, prop] of Object.entries(meta.parameters.properties)) {
    if (!/^[a-z][a-z0-9_]*$/.test(key)) {
      problems.push({
        file: metadataFile,
        field: `/parameters/properties/${key}`,
        message: 'parameter names are snake_case',
      });
    }
    if ('default' in prop) {
      const check = compileOnce(lenientAjv(), prop);
      if (!check(prop.default)) {
        problems.push({
          file: metadataFile,
          field: `/parameters/properties/${key}/default`,
          message: `does not match its own schema: ${formatAjvErrors(check.errors)
            .map((e) => `${e.field} ${e.message}`)
            .join('; ')}`,
        });
      }
    }
  }
  const workflowFile = path.join(dir, 'workflow.ts');
  if (!fs.existsSync(workflowFile)) {
    problems.push({ file: workflowFile, message: 'is missing: a workflow folder needs metadata.yaml and workflow.ts' });
  }
  if (problems.length > 0) {
    return { problems };
  }
  return {
    problems,
    definition: {
      name: meta.name,
      version: meta.version,
      description: meta.description,
      vertical: meta.vertical,
      parameters: { additionalProperties: false, ...meta.parameters },
      outputs: meta.outputs,
      defaultTimeoutSeconds: parseDurationSeconds(meta.default_timeout ?? '1h'),
      tags: meta.tags ?? [],
      dir,
      metadataFile,
      workflowFile,
    },
  };
}

/**
 * Every workflow folder under `<toolbox>/workflows`. Folders whose name starts with `_` or `.` are
 * not workflows. Bad folders are reported in `problems` and skipped.
 */
/**
 * Folders already checked, by metadata file: compiling the parameter schemas is most of a
 * discovery (0.1 to 1 s for the toolbox here), which every run on save would pay again. A changed file (or a workflow.ts that
 * appears or goes) is checked again. Definitions are shared: callers must not change them.
 */
const checkedFolders = new Map<
  string,
  { version: string; problems: ToolboxProblem[]; definition?: WorkflowDefinition }
>();

/** A check as another process made it: what parseWorkflowMetadata returned. */
interface StoredCheck {
  problems: ToolboxProblem[];
  definition?: WorkflowDefinition;
}

/**
 * Checks made by earlier processes, by content. `fuzzforge up`, the worker host and the editor each
 * discover the toolbox as they start, and the schema compiles were most of the time `up` took
 * before it started the backend and the host before it loaded its activities (about 0.2 s each for
 * the toolbox here). A check is kept under a hash of all it reads: the metadata text, the folder,
 * whether workflow.ts is there, the metadata schema and Ajv's version. A missing, torn or foreign
 * file only costs the compiles.
 */
const STORED_CHECKS_MAX = 256;
let storedChecks: Map<string, StoredCheck> | undefined;

/** Forget every check this process made or read, as a new process would start (tests). */
export function forgetCheckedFolders(): void {
  checkedFolders.clear();
  storedChecks = undefined;
}

function storedChecksFile(): string {
  return path.join(cacheDir(), 'toolbox-checks.json');
}

function loadStoredChecks(): Map<string, StoredCheck> {
  if (!storedChecks) {
    storedChecks = new Map();
    try {
      const entries = JSON.parse(fs.readFileSync(storedChecksFile(), 'utf8')) as unknown;
      if (Array.isArray(entries)) {
        for (const entry of entries) {
          if (
            Array.isArray(entry) &&
            typeof entry[0] === 'string' &&
            typeof entry[1] === 'object' &&
            entry[1] !== null &&
            Array.isArray((entry[1] as StoredCheck).problems)
          ) {
            storedChecks.set(entry[0], entry[1] as StoredCheck);
          }
        }
      }
    } catch {
      // None yet, or unreadable: check again.
    }
  }
  return storedChecks;
}

function saveStoredChecks(checks: Map<string, StoredCheck>): void {
  try {
    const file = storedChecksFile();
    fs.mkdirSync(path.dirname(file), { recursive: true });
    // The newest last; the oldest go past the bound.
    const entries = [...checks.entries()].slice(-STORED_CHECKS_MAX);
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(entries));
    fs.renameSync(tmp, file);
  } catch {
    // A cache that cannot be written costs the next start its compiles, nothing else.
  }
}

function checkKey(text: string, dir: string, hasWorkflow: boolean): string {
  return crypto
    .createHash('sha256')
    .update(JSON.stringify([ajvVersion, METADATA_SCHEMA, dir, hasWorkflow, text]))
    .digest('hex');
}

export function discoverWorkflows(toolboxDir: string, filter?: { vertical?: string }): ToolboxScan {
  const root = path.join(toolboxDir, 'workflows');
  const scan: ToolboxScan = { workflows: [], problems: [] };
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(root, { withFileTypes: true });
  } catch (err) {
    scan.problems.push({ file: root, message: `cannot read the toolbox: ${(err as Error).message}` });
    return scan;
  }
  let storedChanged = false;
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const dir = path.join(root, entry.name);
    // A workflow folder may be a symbolic link (shared between toolboxes).
    const isDir =
      entry.isDirectory() || (entry.isSymbolicLink() && fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory());
    if (!isDir || entry.name.startsWith('_') || entry.name.startsWith('.')) {
      continue;
    }
    const metadataFile = path.join(dir, 'metadata.yaml');
    let text: string;
    let version: string;
    let hasWorkflow: boolean;
    try {
      const st = fs.statSync(metadataFile);
      hasWorkflow = fs.existsSync(path.join(dir, 'workflow.ts'));
      // What the folder's check depends on: the metadata file, and whether workflow.ts exists.
      version = `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}:${hasWorkflow}`;
      const seen = checkedFolders.get(metadataFile);
      if (seen?.version === version) {
        scan.problems.push(...seen.problems);
        if (seen.definition && (!filter?.vertical || seen.definition.vertical === filter.vertical)) {
          scan.workflows.push(seen.definition);
        }
        continue;
      }
      text = fs.readFileSync(metadataFile, 'utf8');
    } catch {
      scan.problems.push({ file: metadataFile, message: 'is missing: every workflow folder needs one' });
      continue;
    }
    const stored = loadStoredChecks();
    const key = checkKey(text, dir, hasWorkflow);
    const known = stored.get(key);
    if (known) {
      // Used again: among the newest when this process next writes the file.
      stored.delete(key);
      stored.set(key, known);
      checkedFolders.set(metadataFile, { version, ...known });
      scan.problems.push(...known.problems);
      if (known.definition && (!filter?.vertical || known.definition.vertical === filter.vertical)) {
        scan.workflows.push(known.definition);
      }
      continue;
    }
    const parsed = YAML.parseDocument(text, { prettyErrors: true });
    if (parsed.errors.length > 0) {
      for (const error of parsed.errors) {
        const pos = error.linePos?.[0];
        scan.problems.push({
          file: pos ? `${metadataFile}:${pos.line}:${pos.col}` : metadataFile,
          message: `is not valid YAML: ${error.message.split('\n')[0]}`,
        });
      }
      continue;
    }
    const { definition, problems } = parseWorkflowMetadata(parsed.toJS(), dir);
    checkedFolders.set(metadataFile, { version, problems, ...(definition ? { definition } : {}) });
    stored.set(key, { problems, ...(definition ? { definition } : {}) });
    storedChanged = true;
    scan.problems.push(...problems);
    if (definition && (!filter?.vertical || definition.vertical === filter.vertical)) {
      scan.workflows.push(definition);
    }
  }
  if (storedChanged) {
    saveStoredChecks(loadStoredChecks());
  }
  return scan;
}

export function formatProblem(p: ToolboxProblem): string {
  return p.field ? `${p.file}: ${p.field} ${p.message}` : `${p.file}: ${p.message}`;
}

export type { ValidateFunction };
