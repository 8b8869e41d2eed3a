import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { UserError } from '../../backend/errors';
import {
  discoverWorkflows,
  forgetCheckedFolders,
  formatProblem,
  parseDurationSeconds,
  type ToolboxProblem,
} from '../../backend/toolbox/discovery';

const formatProblems = (problems: ToolboxProblem[]) => problems.map(formatProblem).join('\n');
import { parseParamArgs, validateParams } from '../../backend/toolbox/params';
import { isTerminal, newRunId, toRunStatus } from '../../backend/temporal/runs';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-toolbox-'));
// Discoveries keep their checks in the cache folder: this file's own.
const userCache = process.env.FUZZFORGE_CACHE_DIR;
process.env.FUZZFORGE_CACHE_DIR = path.join(tmp, 'cache');
after(() => {
  if (userCache === undefined) {
    delete process.env.FUZZFORGE_CACHE_DIR;
  } else {
    process.env.FUZZFORGE_CACHE_DIR = userCache;
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

function workflowFolder(
  root: string,
  name: string,
  metadata: string,
  source = `export async function ${name}() {}\n`,
): void {
  const dir = path.join(root, 'workflows', name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'metadata.yaml'), metadata);
  fs.writeFileSync(path.join(dir, 'workflow.ts'), source);
}

const GOOD = `name: good_one
version: 1.2.3
description: A fine workflow.
vertical: generic
outputs: [sarif]
default_timeout: 10m
parameters:
  type: object
  properties:
    depth: { type: integer, minimum: 1, default: 3 }
    mode: { enum: [fast, slow], default: fast }
    paths: { type: array, items: { type: string }, default: [] }
    verbose: { type: boolean, default: false }
    label: { type: string }
`;

describe('discoverWorkflows', () => {
  const root = path.join(tmp, 'toolbox');
  workflowFolder(root, 'good_one', GOOD);
  workflowFolder(root, 'bad_yaml', 'name: bad_yaml\n  version: [1.0\n');
  workflowFolder(
    root,
    'bad_fields',
    'name: bad_fields\nversion: one\ndescription: x\nvertical: generic\noutputs: [pdf]\nparameters: {type: object, properties: {}}\ncolour: red\n',
  );
  workflowFolder(root, 'wrong_name', GOOD.replace('good_one', 'other_name'));
  workflowFolder(
    root,
    'bad_default',
    GOOD.replace('name: good_one', 'name: bad_default').replace('default: 3', 'default: 0'),
  );
  fs.mkdirSync(path.join(root, 'workflows', 'no_metadata'));
  fs.mkdirSync(path.join(root, 'workflows', '_shared'));

  it('loads the good folder and reports each bad one with file and field', () => {
    const scan = discoverWorkflows(root);
    assert.deepEqual(
      scan.workflows.map((w) => w.name),
      ['good_one'],
    );
    const wf = scan.workflows[0];
    assert.equal(wf?.defaultTimeoutSeconds, 600);
    assert.equal(wf?.parameters.additionalProperties, false);
    const problems = scan.problems.map((p) => `${path.relative(root, p.file)}|${p.field ?? ''}|${p.message}`);
    assert.ok(
      problems.some((p) => /^workflows\/bad_yaml\/metadata\.yaml:\d+:\d+\|\|is not valid YAML/.test(p)),
      problems.join('\n'),
    );
    assert.ok(
      problems.includes('workflows/bad_fields/metadata.yaml|/version|must be a semantic version like 1.0.0'),
      problems.join('\n'),
    );
    assert.ok(problems.includes('workflows/bad_fields/metadata.yaml|/colour|is not a known field'));
    assert.ok(problems.some((p) => p.startsWith('workflows/bad_fields/metadata.yaml|/outputs/0|must be one of')));
    assert.ok(problems.includes('workflows/wrong_name/metadata.yaml|/name|must equal the folder name "wrong_name"'));
    assert.ok(
      problems.some((p) =>
        p.startsWith(
          'workflows/bad_default/metadata.yaml|/parameters/properties/depth/default|does not match its own schema',
        ),
      ),
    );
    assert.ok(problems.includes('workflows/no_metadata/metadata.yaml||is missing: every workflow folder needs one'));
    assert.ok(!problems.some((p) => p.includes('_shared')));
  });

  it('filters by vertical', () => {
    assert.equal(discoverWorkflows(root, { vertical: 'python' }).workflows.length, 0);
  });

  it('checks a folder again when its metadata changes or its workflow.ts goes, not otherwise', () => {
    const own = path.join(tmp, 'changing');
    workflowFolder(own, 'good_one', GOOD);
    const first = discoverWorkflows(own);
    assert.equal(first.workflows[0]?.description, 'A fine workflow.');
    assert.equal(discoverWorkflows(own).workflows[0], first.workflows[0], 'an unchanged folder is not checked again');
    // Same size, so only the file's times and contents differ.
    fs.writeFileSync(path.join(own, 'workflows', 'good_one', 'metadata.yaml'), GOOD.replace('A fine', 'A good'));
    assert.equal(discoverWorkflows(own).workflows[0]?.description, 'A good workflow.');
    fs.writeFileSync(
      path.join(own, 'workflows', 'good_one', 'metadata.yaml'),
      GOOD.replace('default: 3', 'default: 0'),
    );
    assert.match(formatProblems(discoverWorkflows(own).problems), /depth\/default does not match its own schema/);
    fs.writeFileSync(path.join(own, 'workflows', 'good_one', 'metadata.yaml'), GOOD);
    fs.rmSync(path.join(own, 'workflows', 'good_one', 'workflow.ts'));
    const gone = discoverWorkflows(own);
    assert.equal(gone.workflows.length, 0);
    assert.match(formatProblems(gone.problems), /workflow\.ts: is missing/);
  });

  it('takes the checks an earlier process stored while the metadata reads the same, and only then', () => {
    const own = path.join(tmp, 'stored');
    workflowFolder(own, 'good_one', GOOD);
    workflowFolder(
      own,
      'bad_default',
      GOOD.replace('name: good_one', 'name: bad_default').replace('default: 3', 'default: 0'),
    );
    const first = discoverWorkflows(own);
    const file = path.join(tmp, 'cache', 'toolbox-checks.json');
    const entries = JSON.parse(fs.readFileSync(file, 'utf8')) as [
      string,
      { definition?: { description: string; dir: string } },
    ][];
    // A new process takes the stored check without compiling anything: mark the stored one to see it.
    const good = entries.find(([, check]) => check.definition?.dir === path.join(own, 'workflows', 'good_one'));
    assert.ok(good?.[1].definition, 'the good folder was not stored');
    good[1].definition.description = 'as stored';
    fs.writeFileSync(file, JSON.stringify(entries));
    forgetCheckedFolders();
    const second = discoverWorkflows(own);
    assert.equal(second.workflows[0]?.description, 'as stored');
    assert.equal(formatProblems(second.problems), formatProblems(first.problems), 'stored problems are the same');
    // Other contents (same size): checked again.
    fs.writeFileSync(path.join(own, 'workflows', 'good_one', 'metadata.yaml'), GOOD.replace('A fine', 'A good'));
    forgetCheckedFolders();
    assert.equal(discoverWorkflows(own).workflows[0]?.description, 'A good workflow.');
    // A torn file is no check at all, and is written again.
    fs.writeFileSync(file, '[["x", {"prob');
    forgetCheckedFolders();
    assert.equal(discoverWorkflows(own).workflows[0]?.description, 'A good workflow.');
    assert.ok(Array.isArray(JSON.parse(fs.readFileSync(file, 'utf8'))));
  });

  it('reports a missing toolbox instead of throwing', () => {
    const scan = discoverWorkflows(path.join(tmp, 'nowhere'));
    assert.equal(scan.workflows.length, 0);
    assert.match(scan.problems[0]?.message ?? '', /cannot read the toolbox/);
  });
});

describe('parameters', () => {
  const wf = discoverWorkflows(path.join(tmp, 'toolbox')).workflows[0]!;

  it('coerces --param strings by schema type and fills defaults', () => {
    const params = parseParamArgs(wf, ['depth=7', 'verbose=yes', 'paths=a/,b/', 'label=x=y']);
    assert.deepEqual(params, { depth: 7, verbose: true, paths: ['a/', 'b/'], label: 'x=y' });
    assert.deepEqual(validateParams(wf, params), {
      depth: 7,
      verbose: true,
      paths: ['a/', 'b/'],
      label: 'x=y',
      mode: 'fast',
    });
    assert.deepEqual(validateParams(wf, {}), { depth: 3, mode: 'fast', paths: [], verbose: false });
  });

  it('passes parameters by name: order on the command line does not matter', () => {
    assert.deepEqual(
      validateParams(wf, parseParamArgs(wf, ['mode=slow', 'depth=2'])),
      validateParams(wf, parseParamArgs(wf, ['depth=2', 'mode=slow'])),
    );
  });

  it('rejects bad values and unknown names, naming each', () => {
    assert.throws(() => parseParamArgs(wf, ['depth=lots']), /--param depth=lots: expected a integer/);
    assert.throws(() => parseParamArgs(wf, ['nonsense']), /is not key=value/);
    assert.throws(
      () => validateParams(wf, { depth: 0, mode: 'medium', colour: 'red' }),
      (err: unknown) => {
        assert.ok(err instanceof UserError);
        assert.match(err.message, /depth must be >= 1/);
        assert.match(err.message, /mode must be one of "fast", "slow"/);
        assert.match(err.message, /colour is not a parameter of good_one/);
        assert.match(err.hint ?? '', /depth, mode, paths, verbose, label/);
        return true;
      },
    );
  });

  it('does not modify its input', () => {
    const input = { depth: 2 };
    validateParams(wf, input);
    assert.deepEqual(input, { depth: 2 });
  });

  it('checks each workflow by its own schema, whatever object it comes in and whatever $id it names', () => {
    // A definition read again or sent over a channel is a copy: checked the same.
    const copy = structuredClone(wf);
    assert.deepEqual(validateParams(copy, {}), validateParams(wf, {}));
    // Two toolbox authors who gave their schemas the same $id: neither is checked by the other's.
    const withId = (name: string, properties: Record<string, Record<string, unknown>>) => ({
      ...wf,
      name,
      parameters: { $id: 'params', type: 'object' as const, properties },
    });
    const first = withId('first', { size: { type: 'integer', default: 1 } });
    const second = withId('second', { colour: { type: 'string', default: 'red' } });
    assert.deepEqual(validateParams(first, {}), { size: 1 });
    assert.deepEqual(validateParams(second, {}), { colour: 'red' });
    assert.throws(() => validateParams(second, { size: 2 }), /size is not a parameter of second/);
  });
});

describe('run states', () => {
  it('maps both spellings of canceled and treats every closed state as terminal', () => {
    assert.equal(toRunStatus('CANCELLED'), 'canceled');
    assert.equal(toRunStatus('CANCELED'), 'canceled');
    assert.equal(toRunStatus('WORKFLOW_EXECUTION_STATUS_TIMED_OUT'), 'timed_out');
    for (const s of ['COMPLETED', 'FAILED', 'CANCELED', 'TERMINATED', 'TIMED_OUT', 'CONTINUED_AS_NEW']) {
      assert.equal(isTerminal(toRunStatus(s)), true, s);
    }
    assert.equal(isTerminal(toRunStatus('RUNNING')), false);
    assert.equal(isTerminal(toRunStatus('PAUSED')), false);
    assert.equal(toRunStatus('whatever'), 'unknown');
  });

  it('makes readable, unique run ids', () => {
    const now = new Date('2026-11-24T01:02:03Z');
    const a = newRunId('security_assessment', now);
    assert.match(a, /^security_assessment-20261124-010203-[0-9a-f]{6}$/);
    assert.notEqual(a, newRunId('security_assessment', now));
  });

  it('parses durations', () => {
    assert.equal(parseDurationSeconds('45s'), 45);
    assert.equal(parseDurationSeconds('2h'), 7200);
    assert.equal(parseDurationSeconds(90), 90);
    assert.throws(() => parseDurationSeconds('soon'));
  });
});
