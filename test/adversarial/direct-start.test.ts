// Hostile workflow inputs and hostile objects in MinIO, sent by a client that bypasses the CLI
// (any local account can reach Temporal and, with the credentials, MinIO). Each run ends with a
// clear error naming the field or entry, or a safe result; nothing outside its root is written;
// and afterwards the same worker still runs a normal scan. Cases already covered elsewhere are not
// repeated: a digest that is a path, a digest for another manifest and an out-of-range parameter
// (integration/worker-input), chained escaping links in a manifest (integration/worker-input), a
// "../" archive entry (integration/scan, integration/storage).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tar from 'tar';
import { blobKey, manifestKey, serializeManifest, sha256 } from '../../backend/storage/manifest';
import { ObjectStore } from '../../backend/storage/objectStore';
import type { ScanSummary, TargetRef } from '../../toolbox/shared/definitions';
import { startTestBackend, type TestBackend } from '../integration/harness';
import {
  assertStillServes,
  directClient,
  directId,
  failsWith,
  runDirect,
  uploadFixture,
  wellFormedInput,
  workerPid,
  type DirectClient,
} from './common';

describe('hostile workflow inputs started directly on Temporal', () => {
  let backend: TestBackend;
  let direct: DirectClient;
  let store: ObjectStore;
  let target: TargetRef;
  let pid: number | undefined;

  before(async () => {
    backend = await startTestBackend({ verticals: ['generic'] });
    direct = await directClient(backend);
    store = new ObjectStore(backend.conn);
    target = await uploadFixture(backend);
    pid = workerPid(backend);
  });
  after(async () => {
    await direct?.close();
    await backend?.stop();
  });

  const run = (args: unknown[], workflow = 'security_assessment', id?: string) =>
    runDirect(direct, workflow, 'generic', args, id);

  it('an input of the wrong type, or none, fails naming the input', async () => {
    for (const args of [[], ['scan everything'], [null], [[1, 2, 3]], [42]]) {
      await failsWith(run(args), /^invalid input for security_assessment: \(input\) must be one object/);
    }
  });

  it('fields of the wrong type fail, each named', async () => {
    const input = {
      ...wellFormedInput(target),
      params: { exclude: 5, max_file_bytes: '1', languages: 'python' },
      workspace: { id: 7, name: ['x'], rootUri: 'https://evil.invalid/' },
    };
    const reason = await failsWith(run([input]), /^invalid input for security_assessment: /);
    for (const field of [
      'workspace.id',
      'workspace.name',
      'workspace.rootUri',
      'params.exclude',
      'params.max_file_bytes',
      'params.languages',
    ]) {
      assert.ok(reason.includes(field), `${field} is named in: ${reason}`);
    }
    await failsWith(
      run([{ ...wellFormedInput(target), target: { ...target, files: '12' } }]),
      /target\.files must be a non-negative integer/,
    );
    await failsWith(run([{ ...wellFormedInput(target), params: [] }]), /params/);
  });

  it('huge strings fail with a short message naming the fields', async () => {
    const huge = 'A'.repeat(400_000);
    const reason = await failsWith(
      run([{ ...wellFormedInput(target, huge), workspace: { id: 'x', name: huge, rootUri: 'file:///tmp/x' } }]),
      /runId must be .*workspace\.name must be a string of at most 255 characters/,
    );
    assert.ok(reason.length < 1000, `the message stays short (${reason.length} characters)`);
  });

  it('path traversal in ids and parameters fails naming the field', async () => {
    await failsWith(run([wellFormedInput(target, '../../../../tmp/x')]), /runId must be letters, digits/);
    await failsWith(
      run([{ ...wellFormedInput(target), workspace: { id: '../..', name: 'x', rootUri: 'file:///tmp/x' } }]),
      /workspace\.id must be 1 to 64 of/,
    );
    await failsWith(
      run([{ ...wellFormedInput(target), params: { workflows: ['../../etc/passwd'] } }], 'full_scan'),
      /^invalid input for full_scan: params\.workflows\.0 /,
    );
  });

  it('a workflow name the worker does not serve fails or is stuck with a reason naming it; the worker survives', async () => {
    // Names that are properties of every JavaScript object reach the SDK's lookup in the bundle's
    // exports: "constructor" and "toString" find functions there, and the input check refuses them.
    for (const name of ['no_such_workflow', 'constructor', '__proto__', 'toString', 'atheris_fuzzing']) {
      const id = directId('unknown');
      const handle = await direct.client.workflow.start(name, {
        taskQueue: 'fuzzforge-generic',
        workflowId: id,
        args: [wellFormedInput(target, id)],
        workflowExecutionTimeout: '3m',
      });
      let reason: string | undefined;
      for (let i = 0; i < 240 && !reason; i++) {
        const status = (await backend.runs.describe(id)).status;
        if (status === 'failed') {
          reason = await handle.result().then(
            () => 'completed',
            (err: unknown) => String((err as { cause?: { message?: string } }).cause?.message),
          );
        } else if (status !== 'running') {
          reason = status;
        } else {
          reason = await backend.runs.stuckReason(id).catch(() => undefined);
        }
        if (!reason) {
          await new Promise((r) => setTimeout(r, 250));
        }
      }
      assert.ok(reason?.includes(name), `${name}: ${reason}`);
      if ((await backend.runs.describe(id)).status === 'running') {
        await handle.terminate('test: a workflow the worker does not serve');
      }
    }
  });

  it("a target or baseline pointing at another run's results fails naming the field", async () => {
    const victim = (await run([wellFormedInput(target)])) as ScanSummary;
    const sarifKey = victim.sarifKey;
    await failsWith(
      run([{ ...wellFormedInput(target), target: { ...target, bucket: victim.resultsBucket, key: sarifKey } }]),
      /target\.bucket must be the targets bucket .*target\.key must be "manifests\//,
    );
    await failsWith(
      run([{ ...wellFormedInput(target), baseline: { runId: 'someone-else', sarifKey } }]),
      /baseline\.sarifKey must be "runs\/someone-else\/results\.sarif"/,
    );
  });

  it("a run id that names another run fails, and that run's results stay as they were", async () => {
    const victimId = directId('victim');
    const victim = (await run([wellFormedInput(target, victimId)], 'security_assessment', victimId)) as ScanSummary;
    const before = await store.getBuffer(victim.resultsBucket, victim.sarifKey);
    // A run of an empty tree that would write its (empty) results over the victim's.
    const body = serializeManifest({ version: 1, files: [], links: [] });
    const digest = sha256(body);
    await store.putBuffer(store.buckets.targets, manifestKey(digest), body, 'application/json');
    const empty = { ...target, digest, key: manifestKey(digest), files: 0, bytes: 0 };
    // Started under an id of its own: the run id inside names the victim.
    await failsWith(
      run([wellFormedInput(empty, victimId)], 'security_assessment', directId('thief')),
      new RegExp(
        `runId must be the workflow id "hostile-thief-[0-9-]+" \\(results are stored under it\\), got "${victimId}"`,
      ),
    );
    assert.deepEqual(await store.getBuffer(victim.resultsBucket, victim.sarifKey), before);
  });

  describe('hostile objects in MinIO', () => {
    /** Store `body` as a tree's manifest and return the target that names it (with no layout: every blob its own). */
    async function manifestTarget(body: Buffer): Promise<TargetRef> {
      const digest = sha256(body);
      await store.putBuffer(store.buckets.targets, manifestKey(digest), body, 'application/json');
      const { layout: _layout, ...rest } = target;
      return { ...rest, digest, key: manifestKey(digest) };
    }

    /** Store `body` as an archive and return the target that names it. */
    async function archiveTarget(body: Buffer, name = 'hostile.tar.gz'): Promise<TargetRef> {
      const digest = sha256(body);
      await store.putBuffer(store.buckets.targets, blobKey(digest), body);
      return {
        kind: 'archive',
        bucket: store.buckets.targets,
        key: blobKey(digest),
        digest,
        name,
        files: 0,
        bytes: body.length,
      };
    }

    const trees = () => path.join(process.env.FUZZFORGE_WORKER_CACHE as string, 'generic', 'trees');

    it('a manifest that is not JSON, or not a manifest, fails naming the manifest', async () => {
      for (const body of ['not json at all', '{"version":3,"files":[],"links":[]}', '{"version":1,"files":"x"}']) {
        await failsWith(
          run([wellFormedInput(await manifestTarget(Buffer.from(body)))]),
          /manifests\/[0-9a-f]{64}\.json|manifest/i,
        );
      }
    });

    it('a manifest with absolute, "..", NUL and duplicate paths fails naming each entry, and writes nothing', async () => {
      const blob = sha256('x = 1\n');
      await store.putBuffer(store.buckets.targets, blobKey(blob), Buffer.from('x = 1\n'));
      const file = (p: string) => ({ path: p, sha256: blob, size: 6, executable: false });
      const hostile = await manifestTarget(
        Buffer.from(
          JSON.stringify({
            version: 1,
            files: [file('/etc/cron.d/x'), file('a/../../../x'), file('nul\u0000.py'), file('ok.py'), file('ok.py')],
            links: [{ path: 'l', target: '/etc/passwd' }],
          }),
        ),
      );
      const reason = await failsWith(run([wellFormedInput(hostile)]), /\/etc\/cron\.d\/x/);
      for (const entry of [
        '"a/../../../x" contains a ".." segment',
        'contains a NUL byte',
        '"l" links to the absolute path /etc/passwd',
      ]) {
        assert.ok(reason.includes(entry), `${entry} in ${reason}`);
      }
      assert.deepEqual(
        fs.readdirSync(trees()).filter((t) => t.startsWith(hostile.digest)),
        [],
      );
    });

    it('a manifest naming a blob that is missing or does not match its digest fails naming the file', async () => {
      const missing = sha256('never stored');
      await failsWith(
        run([
          wellFormedInput(
            await manifestTarget(
              serializeManifest({
                version: 1,
                files: [{ path: 'gone.py', sha256: missing, size: 3, executable: false }],
                links: [],
              }),
            ),
          ),
        ]),
        /cannot fetch the content of "gone\.py": s3:\/\/\S+\/blobs\/[0-9a-f]{2}\/[0-9a-f]{64} does not exist/,
      );
      // A blob whose content was replaced in storage (same size, so only the digest can tell).
      const claimed = sha256('print("hello")\n');
      await store.putBuffer(store.buckets.targets, blobKey(claimed), Buffer.from('eval(input())#\n'));
      const swapped = await manifestTarget(
        serializeManifest({
          version: 1,
          files: [{ path: 'app.py', sha256: claimed, size: 15, executable: false }],
          links: [],
        }),
      );
      await failsWith(run([wellFormedInput(swapped)]), /cannot fetch the content of "app\.py": .* is corrupt/);
      // Another tree's layout does not fit this manifest (it places another count of files).
      assert.ok(target.layout, 'the uploaded workspace has a layout');
      await failsWith(
        run([wellFormedInput({ ...swapped, layout: target.layout })]),
        /"\(layout\)" places \d+ files where the manifest lists 1/,
      );
    });

    it('an archive that is not a tar, or whose header claims 50 GiB, fails naming the archive', async () => {
      await failsWith(
        run([wellFormedInput(await archiveTarget(Buffer.from('this is not a tar archive at all'.repeat(40))))]),
        /cannot be read as tar/,
      );
      const header = Buffer.alloc(512);
      new tar.Header({ path: 'big.bin', mode: 0o644, size: 50 * 1024 ** 3, type: 'File', mtime: new Date(0) }).encode(
        header,
        0,
      );
      await failsWith(
        run([wellFormedInput(await archiveTarget(Buffer.concat([header, Buffer.alloc(4096)]), 'bomb.tar'))]),
        /bomb\.tar|cannot be read as tar: .*Truncated input/,
      );
    });

    it('an archive with device files, a hard link to /etc/passwd and an absolute path fails naming them', async () => {
      const entries = [
        { path: 'ok.py', type: 'File' as const, size: 6, body: 'x = 1\n' },
        { path: 'dev/null', type: 'CharacterDevice' as const, size: 0, devmaj: 1, devmin: 3 },
        { path: 'dev/sda', type: 'BlockDevice' as const, size: 0, devmaj: 8, devmin: 0 },
        { path: 'passwd', type: 'Link' as const, size: 0, linkpath: '/etc/passwd' },
        { path: '/tmp/abs.py', type: 'File' as const, size: 6, body: 'x = 2\n' },
      ];
      const blocks: Buffer[] = [];
      for (const e of entries) {
        const header = Buffer.alloc(512);
        new tar.Header({ mode: 0o644, mtime: new Date(0), ...e }).encode(header, 0);
        blocks.push(header);
        if (e.body) {
          const data = Buffer.alloc(Math.ceil(e.size / 512) * 512);
          data.write(e.body);
          blocks.push(data);
        }
      }
      blocks.push(Buffer.alloc(1024));
      const hostile = await archiveTarget(Buffer.concat(blocks), 'devices.tar');
      const reason = await failsWith(run([wellFormedInput(hostile)]), /refusing to extract/);
      for (const entry of ['dev/null', 'dev/sda', 'passwd', '/tmp/abs.py']) {
        assert.ok(reason.includes(entry), `${entry} in ${reason}`);
      }
      assert.ok(!fs.existsSync('/tmp/abs.py'));
    });
  });

  it('afterwards the same worker still runs a normal scan to its known findings', async () => {
    await assertStillServes(backend, pid);
  });
});
