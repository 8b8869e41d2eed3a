// The worker trusts nothing it is sent: every workflow input is checked on the worker side (a run
// started directly on Temporal never went through a front end). These tests feed hostile inputs to
// the same checks the worker runs.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { MAX_TIMER_MS, timerDelayMs } from '../../backend/concurrency';
import { blobKey, manifestKey, serializeManifest, sha256, type TargetManifest } from '../../backend/storage/manifest';
import type { ObjectStore } from '../../backend/storage/objectStore';
import { TargetCache } from '../../backend/storage/targetCache';
import { discoverWorkflows, type WorkflowDefinition } from '../../backend/toolbox/discovery';
import { validateParams } from '../../backend/toolbox/params';
import { checkWorkflowInput, InvalidWorkflowInputError } from '../../backend/toolbox/workflowInput';
import { toolboxDir } from '../../backend/paths';
import { BAD_INPUT, VALIDATE_INPUT_ACTIVITY, type WorkflowInput } from '../../toolbox/shared/definitions';
import { inputValidationActivities, storedInputCheck } from '../../workers/inputValidation';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-input-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const toolbox = discoverWorkflows(toolboxDir());
const byName = (name: string): WorkflowDefinition => {
  const found = toolbox.workflows.find((w) => w.name === name);
  assert.ok(found, `toolbox has ${name}`);
  return found;
};
const FUZZERS = ['atheris_fuzzing', 'cargo_fuzzing', 'go_fuzzing', 'libfuzzer_fuzzing'];

const EMPTY: TargetManifest = { version: 1, files: [], links: [] };
const EMPTY_BODY = serializeManifest(EMPTY);
const EMPTY_DIGEST = sha256(EMPTY_BODY);

function goodInput(overrides: Partial<WorkflowInput> = {}): WorkflowInput {
  return {
    runId: 'security_assessment-20260101-000000-abcdef',
    target: {
      kind: 'tree',
      bucket: 'fuzzforge-targets',
      key: manifestKey(EMPTY_DIGEST),
      digest: EMPTY_DIGEST,
      name: 'app',
      files: 0,
      bytes: 0,
    },
    params: {},
    workspace: { id: '0123456789abcdef', name: 'app', rootUri: 'file:///home/me/app' },
    ...overrides,
  };
}

function refusal(fn: () => unknown): InvalidWorkflowInputError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof InvalidWorkflowInputError, `expected InvalidWorkflowInputError, got ${String(err)}`);
    return err;
  }
  assert.fail('the input was accepted');
}

describe('worker-side workflow input checks', () => {
  it('the toolbox loads without problems (the added maxima and patterns are valid schema)', () => {
    assert.deepEqual(toolbox.problems, []);
  });

  it('accepts a front end input for every workflow and fills the parameter defaults', () => {
    for (const def of toolbox.workflows) {
      const checked = checkWorkflowInput(def, goodInput(), { targetsBucket: 'fuzzforge-targets' });
      assert.deepEqual(checked.params, validateParams(def, {}), def.name);
    }
  });

  it('refuses a digest that is a path, naming target.digest', () => {
    for (const def of toolbox.workflows) {
      const input = goodInput();
      input.target = { ...input.target, digest: '../../../../tmp/x' };
      const err = refusal(() => checkWorkflowInput(def, input));
      assert.match(err.message, new RegExp(`^invalid input for ${def.name}: target\\.digest must be 64 lowercase hex`));
    }
  });

  it('accepts a layout digest on a tree and refuses a path or a layout on an archive, naming target.layout', () => {
    const wf = byName('security_assessment');
    const input = goodInput();
    input.target = { ...input.target, layout: EMPTY_DIGEST };
    assert.equal(checkWorkflowInput(wf, input).target.layout, EMPTY_DIGEST);
    input.target = { ...input.target, layout: '../layouts/x' };
    assert.match(refusal(() => checkWorkflowInput(wf, input)).message, /target\.layout must be 64 lowercase hex/);
    input.target = { ...input.target, kind: 'archive', key: blobKey(EMPTY_DIGEST), layout: EMPTY_DIGEST };
    assert.match(refusal(() => checkWorkflowInput(wf, input)).message, /target\.layout is only for a tree/);
  });

  it('refuses upper-case, short and padded digests', () => {
    for (const digest of [EMPTY_DIGEST.toUpperCase(), EMPTY_DIGEST.slice(1), `${EMPTY_DIGEST}\n`, ` ${EMPTY_DIGEST}`]) {
      const input = goodInput();
      input.target = { ...input.target, digest };
      assert.match(refusal(() => checkWorkflowInput(byName('security_assessment'), input)).message, /target\.digest/);
    }
  });

  it('refuses a key that is not the one the digest names, and another bucket', () => {
    const input = goodInput();
    input.target = { ...input.target, key: 'manifests/../../other.json' };
    assert.match(
      refusal(() => checkWorkflowInput(byName('security_assessment'), input)).message,
      /target\.key must be "manifests\/[0-9a-f]{64}\.json"/,
    );
    const archive = goodInput();
    archive.target = { ...archive.target, kind: 'archive' };
    assert.match(
      refusal(() => checkWorkflowInput(byName('security_assessment'), archive)).message,
      /target\.key must be "blobs\//,
    );
    const bucket = goodInput();
    bucket.target = { ...bucket.target, bucket: 'fuzzforge-results' };
    assert.match(
      refusal(() => checkWorkflowInput(byName('security_assessment'), bucket, { targetsBucket: 'fuzzforge-targets' }))
        .message,
      /target\.bucket must be the targets bucket "fuzzforge-targets"/,
    );
    const badName = goodInput();
    badName.target = { ...badName.target, bucket: '../x' };
    assert.match(
      refusal(() => checkWorkflowInput(byName('security_assessment'), badName)).message,
      /target\.bucket is not a bucket name/,
    );
  });

  it('refuses run ids, workspace ids and baselines that would become other keys or paths', () => {
    const def = byName('security_assessment');
    for (const runId of ['../x', 'a/b', '', 'a..b', 'x'.repeat(201)]) {
      assert.match(refusal(() => checkWorkflowInput(def, goodInput({ runId }))).message, /runId must be/);
    }
    const ws = goodInput({ workspace: { id: '../../x', name: 'app', rootUri: 'file:///a' } });
    assert.match(refusal(() => checkWorkflowInput(def, ws)).message, /workspace\.id must be/);
    const uri = goodInput({ workspace: { id: 'abc', name: 'app', rootUri: 'http://evil/' } });
    assert.match(refusal(() => checkWorkflowInput(def, uri)).message, /workspace\.rootUri must be a file:\/\/ URI/);
    const baseline = goodInput({ baseline: { runId: 'r1', sarifKey: 'runs/other/results.sarif' } });
    assert.match(
      refusal(() => checkWorkflowInput(def, baseline)).message,
      /baseline\.sarifKey must be "runs\/r1\/results\.sarif"/,
    );
    assert.match(refusal(() => checkWorkflowInput(def, 'x')).message, /\(input\) must be one object/);
  });

  it('takes a pause before baseline matching of 0 to 10 s only (a longer one would hold a run open)', () => {
    const def = byName('security_assessment');
    const withPause = (matchAfterMs: unknown) =>
      goodInput({ baseline: { runId: 'r1', sarifKey: 'runs/r1/results.sarif', matchAfterMs: matchAfterMs as number } });
    for (const ok of [0, 500, 10_000]) {
      assert.equal(checkWorkflowInput(def, withPause(ok)).baseline?.matchAfterMs, ok);
    }
    for (const bad of [-1, 10_001, 1.5, '500', Number.POSITIVE_INFINITY, null]) {
      assert.match(
        refusal(() => checkWorkflowInput(def, withPause(bad))).message,
        /baseline\.matchAfterMs must be a whole number of milliseconds from 0 to 10000/,
      );
    }
  });

  it("refuses a run id other than the run's own workflow id (its results would overwrite another run's)", () => {
    const def = byName('security_assessment');
    const input = goodInput();
    assert.match(
      refusal(() => checkWorkflowInput(def, input, { workflowId: 'someone-else' })).message,
      /runId must be the workflow id "someone-else" \(results are stored under it\)/,
    );
    assert.equal(checkWorkflowInput(def, input, { workflowId: input.runId }).runId, input.runId);
  });

  it('refuses timeout_per_input=2000000 (it overflowed setTimeout) for all four fuzzing workflows', () => {
    for (const name of FUZZERS) {
      const err = refusal(() =>
        checkWorkflowInput(byName(name), goodInput({ params: { timeout_per_input: 2000000 } })),
      );
      assert.match(err.message, /params\.timeout_per_input must be <= 3600/, name);
    }
  });

  it('refuses fuzzing paths that leave the workspace, and unknown or mistyped parameters', () => {
    for (const name of FUZZERS) {
      for (const field of ['dictionary', 'seed_corpus', 'target']) {
        for (const value of ['../../etc/passwd', '/etc/passwd', 'a/../../b', 'x\u001b]0;pwned\u0007']) {
          const err = refusal(() => checkWorkflowInput(byName(name), goodInput({ params: { [field]: value } })));
          assert.match(err.message, new RegExp(`params\\.${field} must match pattern`), `${name} ${field}=${value}`);
        }
      }
    }
    const def = byName('security_assessment');
    assert.match(
      refusal(() => checkWorkflowInput(def, goodInput({ params: { max_file_bytes: 2 ** 40 } }))).message,
      /params\.max_file_bytes must be <= 1073741824/,
    );
    assert.match(
      refusal(() => checkWorkflowInput(def, goodInput({ params: { bogus: 1 } }))).message,
      /params\.bogus is not a parameter of security_assessment/,
    );
    assert.match(
      refusal(() => checkWorkflowInput(def, goodInput({ params: [] as never }))).message,
      /params must be an object/,
    );
  });

  it("checks a fuzzing campaign's carried state: harness folders, files and names cannot leave the target", () => {
    const carry = {
      harnesses: [
        { name: 'fuzz_parse', file: 'fuzz/fuzz_parse.py', dir: 'fuzz' },
        { name: 'pkg/FuzzDecode', file: 'pkg/decode_test.go', dir: '' },
      ],
      index: 1,
      before: { execs: 10, elapsedSec: 2, crashes: 0, timeouts: 0, ooms: 0 },
      crashIds: ['0123456789abcdef'],
      series: [{ at: 1, harness: 'fuzz_parse', execs: 10 }],
      finished: [],
    };
    const def = byName('atheris_fuzzing');
    const ok = checkWorkflowInput(def, { ...goodInput(), carry });
    assert.deepEqual((ok as unknown as { carry: unknown }).carry, carry);
    const hostile = {
      ...carry,
      harnesses: [
        { name: '--help', file: 'a.py', dir: '' },
        { name: 'h', file: '/etc/passwd', dir: '../../..' },
      ],
      index: 7,
      crashIds: ['../x'],
    };
    const message = refusal(() => checkWorkflowInput(def, { ...goodInput(), carry: hostile })).message;
    for (const field of [
      'carry.harnesses.0.name',
      'carry.harnesses.1.file',
      'carry.harnesses.1.dir',
      'carry.index',
      'carry.crashIds',
    ]) {
      assert.match(message, new RegExp(`${field.replace(/\./g, '\\.')} must`), field);
    }
  });

  it('every numeric parameter of every workflow: accepted at its limits, refused beyond them by name', () => {
    let checked = 0;
    for (const def of toolbox.workflows) {
      for (const [key, prop] of Object.entries(def.parameters.properties)) {
        if (prop.type !== 'integer' && prop.type !== 'number') {
          continue;
        }
        const step = prop.type === 'integer' ? 1 : 0.5;
        for (const bound of ['minimum', 'maximum'] as const) {
          const limit = prop[bound] as number;
          checkWorkflowInput(def, goodInput({ params: { [key]: limit } }));
          const beyond = bound === 'minimum' ? limit - step : limit + step;
          const message = refusal(() => checkWorkflowInput(def, goodInput({ params: { [key]: beyond } }))).message;
          assert.match(message, new RegExp(`params\\.${key} must be ${bound === 'minimum' ? '>=' : '<='} ${limit}`));
          checked++;
        }
        if (prop.type === 'integer') {
          assert.match(
            refusal(() => checkWorkflowInput(def, goodInput({ params: { [key]: 1.5 } }))).message,
            new RegExp(`params\\.${key} must be integer`),
          );
        }
        for (const wrong of ['10', null, Number.NaN]) {
          assert.throws(
            () => checkWorkflowInput(def, goodInput({ params: { [key]: wrong } })),
            InvalidWorkflowInputError,
          );
        }
      }
    }
    assert.ok(checked >= 40, `only ${checked} limits checked`);
  });

  it('every integer parameter of every workflow has a maximum', () => {
    for (const def of toolbox.workflows) {
      for (const [key, prop] of Object.entries(def.parameters.properties)) {
        if (prop.type === 'integer' || prop.type === 'number') {
          assert.equal(typeof prop.maximum, 'number', `${def.name}.${key} has no maximum`);
        }
      }
    }
  });

  it('the largest allowed fuzzing durations stay inside setTimeout, and longer delays are clamped', () => {
    for (const name of FUZZERS) {
      const props = byName(name).parameters.properties;
      const perInput = props.timeout_per_input?.maximum as number;
      // campaign.ts's hard stop: a 30 min segment + 30 s + twice the per-input timeout.
      assert.ok((1800 + 30) * 1000 + perInput * 2000 <= MAX_TIMER_MS, name);
      assert.ok(((props.minimize_time?.maximum as number) ?? 0) * 1000 <= MAX_TIMER_MS, name);
    }
    assert.equal(timerDelayMs(4_000_000_000), MAX_TIMER_MS);
    assert.equal(timerDelayMs(Number.NaN), MAX_TIMER_MS);
    assert.equal(timerDelayMs(-5), 0);
    assert.equal(timerDelayMs(1500), 1500);
  });
});

/** A storage stand-in for unit tests: one manifest at one key. */
function fakeStore(objects: Record<string, Buffer>): ObjectStore {
  return {
    buckets: { targets: 'fuzzforge-targets', results: 'fuzzforge-results' },
    stat: (_bucket: string, key: string) =>
      Promise.resolve(objects[key] ? { size: objects[key].length, lastModified: new Date() } : undefined),
    getBuffer: (_bucket: string, key: string) =>
      objects[key] ? Promise.resolve(objects[key]) : Promise.reject(new Error(`NoSuchKey ${key}`)),
    getJson: (_bucket: string, key: string) =>
      objects[key]
        ? Promise.resolve(JSON.parse(objects[key].toString('utf8')) as unknown)
        : Promise.reject(new Error('NoSuchKey')),
  } as unknown as ObjectStore;
}

describe('the worker validation activity', () => {
  const validate = (store: ObjectStore) =>
    inputValidationActivities(toolbox.workflows, storedInputCheck(store))[VALIDATE_INPUT_ACTIVITY];

  it('returns the input with defaults when the digest names the stored manifest', async () => {
    const store = fakeStore({ [manifestKey(EMPTY_DIGEST)]: EMPTY_BODY });
    const checked = await validate(store)({ workflow: 'security_assessment', input: goodInput() });
    assert.equal(checked.params.max_file_bytes, 1048576);
  });

  it('fails non-retryably when the manifest at target.key does not hash to target.digest', async () => {
    const other = Buffer.from('{"version":1,"files":[],"links":[]} ');
    const store = fakeStore({ [manifestKey(EMPTY_DIGEST)]: other });
    await assert.rejects(validate(store)({ workflow: 'security_assessment', input: goodInput() }), (err: unknown) => {
      assert.ok(err instanceof ApplicationFailure);
      assert.equal(err.type, BAD_INPUT);
      assert.equal(err.nonRetryable, true);
      assert.match(
        err.message,
        /target\.digest "[0-9a-f]{64}" does not name the manifest at s3:\/\/fuzzforge-targets\/manifests\//,
      );
      return true;
    });
  });

  it('fails non-retryably on a hostile digest and on a missing target, naming the field', async () => {
    const store = fakeStore({});
    const input = goodInput();
    input.target = { ...input.target, digest: '../../../../tmp/x' };
    await assert.rejects(validate(store)({ workflow: 'security_assessment', input }), (err: unknown) => {
      assert.ok(err instanceof ApplicationFailure && err.nonRetryable && err.type === BAD_INPUT);
      assert.match(err.message, /target\.digest must be 64 lowercase hex/);
      return true;
    });
    await assert.rejects(
      validate(store)({ workflow: 'security_assessment', input: goodInput() }),
      /target\.key names no stored target/,
    );
    await assert.rejects(
      validate(store)({ workflow: 'no_such', input: goodInput() }),
      /is not a workflow this worker loaded/,
    );
  });
});

describe('TargetCache with a hostile digest', () => {
  it('refuses a digest that is a path and leaves the folder it points at alone', async () => {
    const victim = path.join(tmp, 'victim');
    fs.mkdirSync(victim, { recursive: true });
    fs.writeFileSync(path.join(victim, 'precious.txt'), 'keep me');
    const cacheDir = path.join(tmp, 'cache', 'worker', 'generic');
    const digest = path.relative(path.join(cacheDir, 'trees'), victim);
    const store = fakeStore({ [manifestKey(digest)]: EMPTY_BODY, k: EMPTY_BODY });
    const cache = new TargetCache(store, cacheDir);
    await assert.rejects(
      cache.acquire({ kind: 'tree', bucket: 'fuzzforge-targets', key: 'k', digest, name: 'evil', files: 0, bytes: 0 }),
      /is not 64 lowercase hex digits/,
    );
    assert.equal(fs.readFileSync(path.join(victim, 'precious.txt'), 'utf8'), 'keep me');
  });

  it('refuses a manifest that does not hash to the digest it is cached under', async () => {
    const store = fakeStore({ k: Buffer.from('{"version":1,"files":[],"links":[]}\n') });
    const cache = new TargetCache(store, path.join(tmp, 'cache2'));
    await assert.rejects(
      cache.acquire({
        kind: 'tree',
        bucket: 'fuzzforge-targets',
        key: 'k',
        digest: EMPTY_DIGEST,
        name: 'x',
        files: 0,
        bytes: 0,
      }),
      /does not hash to the digest/,
    );
  });
});
