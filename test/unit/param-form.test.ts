import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { findWorkflow } from '../../backend/scan';
import type { WorkflowDefinition } from '../../backend/toolbox/discovery';
import {
  describeParams,
  formatParamValue,
  missingParams,
  paramFields,
  parseFieldInput,
  rememberedParams,
} from '../../backend/toolbox/paramForm';

const toolbox = path.join(__dirname, '..', '..', 'toolbox');
const atheris = findWorkflow(toolbox, 'atheris_fuzzing');
const pythonSast = findWorkflow(toolbox, 'python_sast');

/** A workflow with a parameter that is required and has no default (none in the toolbox has one). */
const withRequired: WorkflowDefinition = {
  ...atheris,
  name: 'needs_target',
  parameters: {
    type: 'object',
    additionalProperties: false,
    required: ['target'],
    properties: {
      target: { type: 'string', minLength: 1 },
      max_total_time: { type: 'integer', minimum: 1, maximum: 60, default: 10 },
    },
  },
};

describe('palette scan parameters: the form model', () => {
  it('lists every parameter of the schema with its type, default, bounds and enum', () => {
    const fields = paramFields(atheris);
    assert.deepEqual(
      fields.map((f) => f.name),
      Object.keys(atheris.parameters.properties),
    );
    const time = fields.find((f) => f.name === 'max_total_time');
    assert.deepEqual(
      {
        type: time?.type,
        default: time?.default,
        minimum: time?.minimum,
        maximum: time?.maximum,
        needed: time?.needed,
      },
      { type: 'integer', default: 300, minimum: 1, maximum: 2592000, needed: false },
    );
    assert.deepEqual(paramFields(pythonSast).find((f) => f.name === 'min_level')?.enum, ['note', 'warning', 'error']);
    assert.deepEqual(
      paramFields(withRequired).map((f) => [f.name, f.needed]),
      [
        ['target', true],
        ['max_total_time', false],
      ],
    );
  });

  it('types and checks what is typed with the workflow schema (type, min/max, enum, pattern)', () => {
    assert.deepEqual(parseFieldInput(atheris, 'max_total_time', '60'), { value: 60 });
    assert.match(parseFieldInput(atheris, 'max_total_time', 'soon').problem ?? '', /expected a integer/);
    assert.match(parseFieldInput(atheris, 'max_total_time', '0').problem ?? '', /max_total_time must be >= 1/);
    assert.match(parseFieldInput(atheris, 'jobs', '65').problem ?? '', /jobs must be <= 64/);
    assert.match(parseFieldInput(atheris, 'max_total_time', '1.5').problem ?? '', /must be integer/);
    assert.deepEqual(parseFieldInput(atheris, 'persist_corpus', 'no'), { value: false });
    assert.match(parseFieldInput(atheris, 'target', '../etc/passwd').problem ?? '', /target must match pattern/);
    assert.deepEqual(parseFieldInput(pythonSast, 'tools', 'bandit'), { value: ['bandit'] });
    assert.match(parseFieldInput(pythonSast, 'tools', 'bandit,pylint').problem ?? '', /tools\.1 must be one of/);
    assert.match(
      parseFieldInput(pythonSast, 'min_level', 'loud').problem ?? '',
      /must be one of "note", "warning", "error"/,
    );
    assert.match(parseFieldInput(atheris, 'nope', '1').problem ?? '', /nope is not a parameter of atheris_fuzzing/);
  });

  it('an empty entry unsets an optional parameter and is refused for a required one', () => {
    assert.deepEqual(parseFieldInput(atheris, 'max_total_time', '  '), { value: undefined });
    assert.deepEqual(parseFieldInput(atheris, 'target', ''), { value: undefined });
    assert.match(parseFieldInput(withRequired, 'target', '').problem ?? '', /target is required/);
    assert.deepEqual(missingParams(withRequired, {}), ['target']);
    assert.deepEqual(missingParams(withRequired, { target: 'fuzz_x' }), []);
    assert.deepEqual(missingParams(atheris, {}), []);
  });

  it('reads remembered values back, keeping only known parameters whose value still passes', () => {
    assert.deepEqual(rememberedParams(atheris, { max_total_time: 60, jobs: 2, target: 'fuzz_parser.py' }), {
      max_total_time: 60,
      jobs: 2,
      target: 'fuzz_parser.py',
    });
    // An older schema's parameter, a value out of bounds, a wrong type: dropped one by one.
    assert.deepEqual(rememberedParams(atheris, { max_total_time: 60, removed_param: 1, jobs: 1000, seed_corpus: 7 }), {
      max_total_time: 60,
    });
    for (const junk of [undefined, null, 'x', 42, [1], {}, { jobs: 0 }]) {
      assert.equal(rememberedParams(atheris, junk), undefined, JSON.stringify(junk));
    }
  });

  it('shows values the way they are typed back', () => {
    assert.equal(formatParamValue(['bandit', 'semgrep']), 'bandit,semgrep');
    assert.equal(formatParamValue({ a: [1] }), '{"a":[1]}');
    assert.equal(formatParamValue(true), 'true');
    assert.deepEqual(parseFieldInput(pythonSast, 'tools', formatParamValue(['bandit', 'semgrep'])), {
      value: ['bandit', 'semgrep'],
    });
    assert.equal(describeParams({ max_total_time: 60, jobs: 2 }), 'max_total_time=60, jobs=2');
    assert.equal(describeParams({ target: 'x'.repeat(200) }, 20).length, 20);
  });
});
