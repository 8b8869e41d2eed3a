// The worker trusts nothing it is sent: runs started DIRECTLY on Temporal (no front end, no
// parameter check on the way) with hostile inputs must fail with a message naming the field, and
// leave the file system alone. Real Temporal, MinIO and workers.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, type Connection, WorkflowFailedError } from '@temporalio/client';
import { connectTemporal } from '../../backend/temporal/connect';
import { manifestKey, serializeManifest, sha256 } from '../../backend/storage/manifest';
import { ObjectStore } from '../../backend/storage/objectStore';
import { TargetStore } from '../../backend/storage/targets';
import { taskQueueFor, type ScanSummary, type TargetRef, type WorkflowInput } from '../../toolbox/shared/definitions';
import { workerCacheName } from '../../backend/services/leftovers';
import { copyFixture, runCli, startTestBackend, type TestBackend } from './harness';

const VERTICALS = ['generic', 'python'];

describe('workflow inputs are checked by the worker', () => {
  let backend: TestBackend;
  let client: Client;
  let connection: Connection;
  let target: TargetRef;
  let seq = 0;

  before(async () => {
    backend = await startTestBackend({ verticals: VERTICALS });
    connection = await connectTemporal(backend.conn.temporal);
    client = new Client({ connection, namespace: backend.conn.temporal.namespace });
    const workspace = copyFixture('vulnerable-app', path.join(backend.root, 'vulnerable-app'));
    target = (await new TargetStore(new ObjectStore(backend.conn)).uploadWorkspace(workspace)).target;
  });
  after(async () => {
    await connection?.close();
    await backend?.stop();
  });

  /** Start a workflow straight on Temporal, as any local account could, and wait for its end. */
  async function runDirect(workflow: string, vertical: string, input: WorkflowInput): Promise<ScanSummary> {
    const handle = await client.workflow.start(workflow, {
      taskQueue: taskQueueFor(vertical),
      workflowId: input.runId,
      args: [input],
      workflowExecutionTimeout: '3m',
    });
    return (await handle.result()) as ScanSummary;
  }

  function input(params: Record<string, unknown>, overrides: Partial<TargetRef> = {}): WorkflowInput {
    return {
      runId: `direct-${process.pid}-${++seq}`,
      target: { ...target, ...overrides },
      params,
      workspace: { id: 'direct', name: 'vulnerable-app', rootUri: 'file:///tmp/vulnerable-app' },
    };
  }

  /** The run failed, and the reason a person sees matches `message`. */
  async function failsWith(run: Promise<unknown>, message: RegExp): Promise<void> {
    await assert.rejects(run, (err: unknown) => {
      assert.ok(err instanceof WorkflowFailedError, `expected a failed run, got ${String(err)}`);
      assert.match(err.cause?.message ?? '', message);
      return true;
    });
  }

  it('a digest that is a path fails the run and the folder it points at still exists', async () => {
    const victim = path.join(backend.root, 'victim');
    fs.mkdirSync(victim);
    fs.writeFileSync(path.join(victim, 'precious.txt'), 'keep me');
    // What the worker's cache would join it with: <worker cache>/<host>/trees/<digest>.
    const trees = path.join(process.env.FUZZFORGE_WORKER_CACHE as string, workerCacheName(VERTICALS), 'trees');
    const digest = path.relative(trees, victim);
    assert.match(digest, /^\.\.\//);
    await failsWith(
      runDirect('security_assessment', 'generic', input({}, { digest })),
      /^invalid input for security_assessment: target\.digest must be 64 lowercase hex digits/,
    );
    assert.equal(fs.readFileSync(path.join(victim, 'precious.txt'), 'utf8'), 'keep me');
  });

  it('a well-formed digest that does not name the manifest at target.key fails', async () => {
    const other = sha256('not this tree');
    await failsWith(
      runDirect('security_assessment', 'generic', input({}, { digest: other, key: manifestKey(other) })),
      /target\.key names no stored target/,
    );
    await failsWith(
      runDirect('security_assessment', 'generic', input({}, { digest: other })),
      /target\.key must be "manifests\/[0-9a-f]{64}\.json"/,
    );
  });

  it('an out-of-range parameter fails the run, naming the parameter', async () => {
    await failsWith(
      runDirect('security_assessment', 'generic', input({ max_file_bytes: 0 })),
      /params\.max_file_bytes must be >= 1/,
    );
    // A fuzzing workflow (the shared campaign): 2000000 s overflowed setTimeout and killed the fuzzer.
    await failsWith(
      runDirect('atheris_fuzzing', 'python', input({ timeout_per_input: 2000000 })),
      /^invalid input for atheris_fuzzing: params\.timeout_per_input must be <= 3600/,
    );
  });

  it('a manifest whose links chain out of the target fails the run, naming the link, and writes nothing', async () => {
    const body = serializeManifest({
      version: 1,
      files: [],
      links: [
        { path: 'c', target: '.' },
        { path: 'a', target: 'c/c/c/../../../etc/passwd' },
      ],
    });
    const digest = sha256(body);
    const store = new ObjectStore(backend.conn);
    await store.putBuffer(store.buckets.targets, manifestKey(digest), body, 'application/json');
    await assert.rejects(
      runDirect('security_assessment', 'generic', input({}, { digest, key: manifestKey(digest) })),
      (err: unknown) => {
        const chain: string[] = [];
        for (let e = err as { message?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
          chain.push(String(e.message));
        }
        assert.match(
          chain.join(' <- '),
          /"a" links to c\/c\/c\/\.\.\/\.\.\/\.\.\/etc\/passwd, which leaves the target/,
        );
        return true;
      },
    );
    const trees = path.join(process.env.FUZZFORGE_WORKER_CACHE as string, workerCacheName(VERTICALS), 'trees');
    assert.deepEqual(
      fs.readdirSync(trees).filter((t) => t.startsWith(digest)),
      [],
    );
  });

  it('fuzzforge scan leaves out a chained escaping link and names it', async () => {
    const ws = path.join(backend.root, 'chained-links');
    fs.mkdirSync(ws);
    fs.writeFileSync(path.join(ws, 'app.py'), 'eval(input())\n');
    fs.symlinkSync('.', path.join(ws, 'c'));
    fs.symlinkSync('c/c/c/../../../etc/passwd', path.join(ws, 'a'));
    const result = await runCli(
      ['scan', ws, '--workflow', 'security_assessment', '--no-baseline', '--fail-on', 'none'],
      backend.env,
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stderr,
      /not uploaded: a \(symbolic link to c\/c\/c\/\.\.\/\.\.\/\.\.\/etc\/passwd leaves the workspace\)/,
    );
  });

  it('fuzzforge scan prints a file name holding a terminal escape sequence escaped', async () => {
    const ws = path.join(backend.root, 'escape-names');
    fs.mkdirSync(ws);
    const name = `evil\u001b]0;owned\u0007\u001b[2J.py`;
    fs.writeFileSync(path.join(ws, name), 'eval(input())\n');
    const result = await runCli(
      ['scan', ws, '--workflow', 'security_assessment', '--no-baseline', '--fail-on', 'none'],
      backend.env,
    );
    assert.equal(result.code, 0, result.stderr);
    // eslint-disable-next-line no-control-regex -- what must not reach the terminal
    const raw = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;
    assert.doesNotMatch(result.stdout, raw);
    assert.doesNotMatch(result.stderr, raw);
    assert.match(result.stdout, /evil\\u001b\]0;owned\\u0007\\u001b\[2J\.py:1/);
  });

  it('a valid direct start still runs, with the parameter defaults filled in by the worker', async () => {
    const summary = await runDirect('security_assessment', 'generic', input({}));
    assert.equal(summary.workflow, 'security_assessment');
    assert.ok(summary.total > 0);
  });
});
