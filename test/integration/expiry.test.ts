// Targets outlive the targets bucket's expiry: a re-scan of an unchanged workspace after its blobs
// expired (deleted here, as the lifecycle rule would) re-uploads them, so a worker without the tree
// cached still gets every file; blobs and manifests close to expiry are sent again. Real MinIO,
// real Temporal, the real generic worker.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sleep } from '../../backend/concurrency';
import { toolboxDir } from '../../backend/paths';
import { awaitScan, findWorkflow, startScan } from '../../backend/scan';
import { isPidAlive, readState } from '../../backend/services/state';
import { ObjectStore } from '../../backend/storage/objectStore';
import { MISSING_OBJECT } from '../../backend/storage/manifest';
import { forgetStoredPacks, TargetStore } from '../../backend/storage/targets';
import {
  comparableRows,
  copyFixture,
  readExpected,
  startTestBackend,
  waitForPollers,
  type TestBackend,
} from './harness';

describe('targets after blob expiry', () => {
  let backend: TestBackend;
  let store: ObjectStore;
  let workspace: string;
  before(async () => {
    backend = await startTestBackend();
    store = new ObjectStore(backend.conn);
    workspace = copyFixture('vulnerable-app', path.join(backend.root, 'vulnerable-app'));
  });
  after(async () => {
    await backend?.stop();
  });

  /** Objects holding file contents: packs of small files, blobs of large ones. */
  async function contentObjects(): Promise<{ key: string }[]> {
    const bucket = backend.conn.buckets.targets;
    return [...(await store.list(bucket, 'blobs/')), ...(await store.list(bucket, 'packs/'))];
  }

  /** Expire every pack and blob of the targets bucket, as its lifecycle rule does after N days. */
  async function expireBlobs(): Promise<number> {
    const objects = await contentObjects();
    await store.client.removeObjects(
      backend.conn.buckets.targets,
      objects.map((b) => b.key),
    );
    assert.deepEqual(await contentObjects(), []);
    // Expiry comes days after the packs were last seen stored: nothing this process saw is trusted
    // any more (the next test deletes packs within the trusted minute instead).
    forgetStoredPacks();
    return objects.length;
  }

  /** A worker that has not seen the tree: empty its cache and let the supervisor start a new one. */
  async function freshWorker(): Promise<void> {
    const before = readState(backend.stateDir)?.workers[0]?.pid;
    assert.ok(before);
    fs.rmSync(path.join(backend.root, 'worker-cache'), { recursive: true, force: true });
    process.kill(before, 'SIGKILL');
    for (;;) {
      const now = readState(backend.stateDir)?.workers[0]?.pid;
      if (now && now !== before && isPidAlive(now)) {
        break;
      }
      await sleep(200);
    }
    await waitForPollers(backend, 'generic');
  }

  it('re-uploads expired blobs of an unchanged workspace, and a worker without the tree cached completes the scan', async () => {
    const wf = findWorkflow(toolboxDir(), 'security_assessment');
    const first = await startScan(backend.conn, backend.runs, { path: workspace, workflow: wf, params: {} });
    const firstResult = await awaitScan(backend.conn, backend.runs, first.run.runId);
    const expected = readExpected('vulnerable-app')
      .map((r) => `${r.file}:${r.line} ${r.ruleId}`)
      .sort();
    const rows = (log: typeof firstResult.sarif) =>
      comparableRows(log)
        .map((r) => `${r.file}:${r.line} ${r.ruleId}`)
        .sort();
    assert.deepEqual(rows(firstResult.sarif), expected);

    const expired = await expireBlobs();
    assert.ok(expired > 0);
    await freshWorker();

    for (let round = 0; round < 2; round++) {
      const again = await startScan(backend.conn, backend.runs, {
        path: workspace,
        workflow: wf,
        params: {},
        baseline: false,
      });
      assert.equal(again.upload.target.digest, first.upload.target.digest, 'the same tree');
      // Round 0 sends every expired pack again, the same packs since the same files make the same
      // packs (manifest and layout are still there); round 1 nothing.
      assert.equal(again.upload.uploadedObjects, round === 0 ? expired : 0, `round ${round}`);
      const result = await awaitScan(backend.conn, backend.runs, again.run.runId);
      assert.deepEqual(rows(result.sarif), expected, `round ${round}`);
    }
  });

  it("sends blobs and the manifest again when they are within a day of the bucket's expiry", async () => {
    assert.equal(await store.targetsRetentionDays(), 7, 'read from the bucket lifecycle rule');
    const targets = new TargetStore(store);
    const fresh = await targets.uploadWorkspace(workspace, { targetsRetentionDays: 7 });
    assert.equal(fresh.uploadedObjects, 0);
    const stored = (await contentObjects()).length;
    // The same workspace six and a half days later: everything it stored is about to expire.
    const later = await targets.uploadWorkspace(workspace, {
      targetsRetentionDays: 7,
      now: Date.now() + 6.5 * 86_400_000,
    });
    assert.equal(later.uploadedObjects, stored + 2, 'every pack and blob of the tree, its layout and its manifest');
    const fiveDaysLater = await targets.uploadWorkspace(workspace, {
      targetsRetentionDays: 7,
      now: Date.now() + 5 * 86_400_000,
    });
    assert.equal(fiveDaysLater.uploadedObjects, 0, 'not yet close to expiry');
  });

  it('a pack deleted by hand right after a scan fails the next run naming it, and the scan after sends it again', async () => {
    const wf = findWorkflow(toolboxDir(), 'security_assessment');
    const scan = () =>
      startScan(backend.conn, backend.runs, { path: workspace, workflow: wf, params: {}, baseline: false });
    const first = await scan();
    await awaitScan(backend.conn, backend.runs, first.run.runId);
    const packs = await store.list(backend.conn.buckets.targets, 'packs/');
    assert.ok(packs.length > 0);
    await store.client.removeObjects(
      backend.conn.buckets.targets,
      packs.map((p) => p.key),
    );
    await freshWorker();

    // Seen stored a moment ago, the packs are not asked about: the run is the one to find out.
    const trusted = await scan();
    assert.equal(trusted.upload.uploadedObjects, 0);
    await assert.rejects(awaitScan(backend.conn, backend.runs, trusted.run.runId), (err: Error) => {
      assert.ok(err.message.includes(MISSING_OBJECT), err.message);
      assert.match(err.message, /s3:\/\/[^ ]+\/packs\//);
      return true;
    });
    // That failure makes the next upload check every pack.
    const again = await scan();
    assert.equal(again.upload.uploadedObjects, packs.length, 'the deleted packs, sent again');
    const result = await awaitScan(backend.conn, backend.runs, again.run.runId);
    assert.deepEqual(
      comparableRows(result.sarif)
        .map((r) => `${r.file}:${r.line} ${r.ruleId}`)
        .sort(),
      readExpected('vulnerable-app')
        .map((r) => `${r.file}:${r.line} ${r.ruleId}`)
        .sort(),
    );
  });

  it('reads the expiry again once the buckets are set up with another one', async () => {
    // A store of its own (each upload makes one) shares what was read a moment ago.
    assert.equal(await new ObjectStore(backend.conn).targetsRetentionDays(), 7);
    try {
      await store.ensureBuckets({ targetsDays: 9, resultsDays: 30 });
      assert.equal(await new ObjectStore(backend.conn).targetsRetentionDays(), 9, 'not the 7 read before');
    } finally {
      await store.ensureBuckets({ targetsDays: 7, resultsDays: 30 });
    }
    assert.equal(await new ObjectStore(backend.conn).targetsRetentionDays(), 7);
  });
});
