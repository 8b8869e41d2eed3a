// Run on save under a burst of saves, inside a real extension host against the real backend: 50
// edit+saves of python/app.py within about 10 s, toggling an eval() line, give one run, and the
// markers are exactly those of the file as last saved; saves that go on while a run of the
// previous burst is still on the backend supersede (cancel) it and one final run gives the markers;
// a save soon after the markers asks its run to pause before baseline matching, one after a longer
// look does not. The backend's RunService is the judge of how many runs there were.
import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { sleep } from '../../../backend/concurrency';
import { stateDir } from '../../../backend/paths';
import { embeddedConnection, runningEmbedded } from '../../../backend/services/embedded';
import { RunService, type RunInfo } from '../../../backend/temporal/runs';
import { workspaceIdentity } from '../../../backend/workspace';
import type { FuzzforgeApi } from '../../../extension/extension';
import { expected, key, patternMarkers } from './fixture';
import { note, test } from './harness';

const WORKFLOW = 'security_assessment';
const FILE = path.join('python', 'app.py');
const EVAL_LINE = 'print(eval(x))';
const SAVES = 50;
/** A save every 200 ms (on a fixed schedule): 50 saves in about 10 s. */
const PACE_MS = 200;

let folder: vscode.WorkspaceFolder;
let runs: RunService | undefined;
let original = '';

const markers = () => patternMarkers(folder).map(key).sort();

/** app.py as the fixture has it plus, when `evalAt` is given, `blank` empty lines and the eval() line. */
function variant(evalAt: number | undefined): string {
  if (evalAt === undefined) {
    return original;
  }
  const lines = original.replace(/\n$/, '').split('\n');
  const blanks = evalAt - lines.length - 2;
  assert.ok(blanks >= 0, `eval line ${evalAt} lies after the fixture's ${lines.length} lines`);
  return [...lines, ...Array<string>(blanks).fill(''), 'x = input()', EVAL_LINE, ''].join('\n');
}

/** The markers the file `evalAt` describes should get: the fixture's plus the eval() line's. */
function markersFor(evalAt: number | undefined): string[] {
  const extra = evalAt === undefined ? [] : [{ ruleId: 'ff-code-evaluation', file: FILE, line: evalAt }];
  return [...expected, ...extra].map(key).sort();
}

async function saveAs(doc: vscode.TextDocument, text: string): Promise<void> {
  const edit = new vscode.WorkspaceEdit();
  edit.replace(doc.uri, new vscode.Range(0, 0, doc.lineCount, 0), text);
  assert.ok(await vscode.workspace.applyEdit(edit), 'the edit applies');
  assert.ok(await doc.save(), 'the save succeeds');
}

/**
 * `count` edit+saves one every PACE_MS; save i puts the eval() line at `at(i)` (undefined: none).
 * Returns how long the burst took, the longest gap between two saves, and how many gaps came near
 * or past the debounce (a loaded machine can stall the editor that long: each such gap may
 * rightly end a burst).
 */
async function burst(
  doc: vscode.TextDocument,
  count: number,
  at: (i: number) => number | undefined,
): Promise<{ ms: number; longest: number; stretched: number }> {
  const start = Date.now();
  let last = 0;
  let longest = 0;
  let stretched = 0;
  for (let i = 0; i < count; i++) {
    await saveAs(doc, variant(at(i)));
    const now = Date.now();
    if (last) {
      longest = Math.max(longest, now - last);
      stretched += now - last > 0.8 * delayMs() ? 1 : 0;
    }
    last = now;
    if (i < count - 1) {
      // On a fixed schedule: a slow save is made up by the next pauses.
      await sleep(Math.max(0, start + (i + 1) * PACE_MS - Date.now()));
    }
  }
  return { ms: Date.now() - start, longest, stretched };
}

/** Runs of the workspace's WORKFLOW on the backend that are not in `before`, oldest first. */
async function newRuns(before: Set<string>): Promise<RunInfo[]> {
  assert.ok(runs);
  const all = await runs.list({ workspaceId: workspaceIdentity(folder.uri.fsPath).id, workflow: WORKFLOW, limit: 200 });
  return all
    .filter((r) => !before.has(r.runId))
    .sort((a, b) => (a.startTime?.getTime() ?? 0) - (b.startTime?.getTime() ?? 0));
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const got = await probe();
    if (got !== undefined) {
      return got;
    }
    if (Date.now() > end) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await sleep(500);
  }
}

const delayMs = () => vscode.workspace.getConfiguration('fuzzforge').get<number>('runOnSave.delayMs') ?? 1500;

/** Quiet after the last run ended: long enough for a late debounced run to have started. */
const settle = () => sleep(2 * delayMs() + 5000);

async function setUp(): Promise<{ doc: vscode.TextDocument; before: Set<string> }> {
  const ext = vscode.extensions.getExtension<FuzzforgeApi>('fuzzforge.fuzzforge-vscode');
  assert.ok(ext);
  await ext.activate();
  folder = vscode.workspace.workspaceFolders![0]!;
  const state = runningEmbedded(stateDir());
  assert.ok(state, `the test backend runs in ${stateDir()}`);
  runs ??= await RunService.connect(embeddedConnection(state));
  const uri = vscode.Uri.file(path.join(folder.uri.fsPath, FILE));
  const doc = await vscode.workspace.openTextDocument(uri);
  original ||= doc.getText();
  await vscode.window.showTextDocument(doc);
  const before = new Set((await newRuns(new Set())).map((r) => r.runId));
  // Default debounce (1.5 s), set globally: the workspace's files stay as the fixture has them.
  await vscode.workspace
    .getConfiguration('fuzzforge')
    .update('runOnSave.workflow', WORKFLOW, vscode.ConfigurationTarget.Global);
  return { doc, before };
}

async function tearDown(doc: vscode.TextDocument | undefined): Promise<void> {
  await vscode.workspace
    .getConfiguration('fuzzforge')
    .update('runOnSave.workflow', undefined, vscode.ConfigurationTarget.Global);
  if (doc && original) {
    await saveAs(doc, original);
  }
}

test('run on save: 50 saves in about 10 s give one run, and exactly the last save’s markers', async () => {
  let doc: vscode.TextDocument | undefined;
  try {
    const setup = await setUp();
    doc = setup.doc;
    const lines = original.replace(/\n$/, '').split('\n').length;
    // Odd saves add the eval() line, each at another line; the last (the 50th) puts it at `final`.
    const at = (i: number) => (i % 2 === 1 ? lines + 3 + (i % 7) : undefined);
    const final = at(SAVES - 1)!;
    const { ms, longest, stretched } = await burst(doc, SAVES, at);
    note(
      `${SAVES} saves in ${ms} ms, longest gap ${longest} ms, ${stretched} gap(s) near the debounce (${delayMs()} ms)`,
    );
    // More than one run is right only where the machine stretched a gap to the debounce.
    const allowed = 1 + stretched;
    const done = await waitFor(
      'the run of the burst to end with the final markers',
      async () => {
        const got = await newRuns(setup.before);
        return got.length > 0 &&
          got.every((r) => r.status !== 'running') &&
          markers().join() === markersFor(final).join()
          ? got
          : undefined;
      },
      240_000,
    );
    await settle();
    const after = await newRuns(setup.before);
    note(`runs after the burst: ${after.map((r) => `${r.runId} ${r.status}`).join(', ')}`);
    assert.deepEqual(
      after.map((r) => r.runId),
      done.map((r) => r.runId),
      'no run started after the first ended',
    );
    assert.ok(after.length >= 1 && after.length <= allowed, `${after.length} run(s) for one burst`);
    assert.equal(after.at(-1)!.status, 'completed');
    assert.deepEqual(
      after.filter((r) => r.status === 'running'),
      [],
      'no run left running',
    );
    assert.deepEqual(markers(), markersFor(final), 'the markers are those of the file as last saved');
  } finally {
    await tearDown(doc);
  }
}, 360_000);

test('run on save: saves while the previous burst’s run is on the backend supersede it; one final run gives the markers', async () => {
  let doc: vscode.TextDocument | undefined;
  const state = runningEmbedded(stateDir());
  assert.ok(state);
  // The generic worker stops (SIGSTOP), so the first burst's run stays on the backend while the
  // second burst is saved.
  const worker = state.workers.find((w) => w.vertical === 'generic')?.pid;
  assert.ok(worker, 'the generic worker has a pid');
  let stopped = false;
  try {
    const setup = await setUp();
    doc = setup.doc;
    const lines = original.replace(/\n$/, '').split('\n').length;
    const first = lines + 4;
    const second = lines + 9;
    process.kill(worker, 'SIGSTOP');
    stopped = true;
    await burst(doc, 20, (i) => (i % 2 === 1 ? first : undefined));
    const [running] = await waitFor(
      'the first burst’s run on the backend',
      async () => {
        const got = await newRuns(setup.before);
        return got.length > 0 ? got : undefined;
      },
      120_000,
    );
    assert.ok(running);
    assert.equal(running.status, 'running');
    await burst(doc, 20, (i) => (i % 2 === 1 ? second : undefined));
    await waitFor(
      'the second burst’s run on the backend',
      async () => ((await newRuns(setup.before)).length > 1 ? true : undefined),
      120_000,
    );
    process.kill(worker, 'SIGCONT');
    stopped = false;
    const done = await waitFor(
      'both runs to end with the second burst’s markers',
      async () => {
        const got = await newRuns(setup.before);
        return got.every((r) => r.status !== 'running') && markers().join() === markersFor(second).join()
          ? got
          : undefined;
      },
      240_000,
    );
    await settle();
    const after = await newRuns(setup.before);
    note(`runs: ${after.map((r) => `${r.runId} ${r.status}`).join(', ')}`);
    assert.deepEqual(
      after.map((r) => r.runId),
      done.map((r) => r.runId),
      'no run started after they ended',
    );
    assert.equal(after.length, 2, 'one run per burst');
    assert.equal(after[0]!.runId, running.runId);
    assert.match(after[0]!.status, /^(canceled|terminated)$/, 'the superseded run was stopped');
    assert.equal(after[1]!.status, 'completed');
    assert.deepEqual(markers(), markersFor(second), 'the markers are those of the file as last saved');
  } finally {
    if (stopped) {
      process.kill(worker, 'SIGCONT');
    }
    await tearDown(doc);
  }
}, 480_000);

test('supersede: of two scans of one workflow, the one asked for last wins, even when the earlier one’s upload ends later', async () => {
  // The earlier scan uploads a folder of 32 MB (slow to pack and send); the later one the
  // workspace, whose upload cache is warm: its run starts first.
  const big = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-suite-big-'));
  try {
    for (let i = 0; i < 32; i++) {
      fs.writeFileSync(path.join(big, `blob-${i}.txt`), crypto.randomBytes(512 * 1024).toString('hex'));
    }
    const ext = vscode.extensions.getExtension<FuzzforgeApi>('fuzzforge.fuzzforge-vscode');
    assert.ok(ext);
    const api = await ext.activate();
    folder = vscode.workspace.workspaceFolders![0]!;
    const outcome = (p: Promise<{ runId: string }>) =>
      p.then(
        (r) => `finished ${r.runId}`,
        (err: unknown) => (err as Error).name,
      );
    const earlier = outcome(api.scan(vscode.Uri.file(big), WORKFLOW));
    const later = outcome(api.scan(folder.uri, WORKFLOW));
    const [first, second] = await Promise.all([earlier, later]);
    note(`earlier scan: ${first}; later scan: ${second}`);
    assert.equal(first, 'Cancelled', 'the earlier scan was superseded');
    assert.match(second, /^finished /, 'the later scan ran to its end');
    assert.deepEqual(markers(), markersFor(undefined), 'the markers are the later scan’s');
  } finally {
    fs.rmSync(big, { recursive: true, force: true });
    await runs?.close();
    runs = undefined;
  }
}, 300_000);

/** The baseline a run's workflow input names (with its pause before matching, if any). */
async function baselineInput(runId: string): Promise<{ runId: string; matchAfterMs?: number } | undefined> {
  assert.ok(runs);
  const history = await runs.client.workflow.getHandle(runId).fetchHistory();
  const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.data;
  assert.ok(payload, `run ${runId} has an input`);
  return (JSON.parse(Buffer.from(payload).toString('utf8')) as { baseline?: { runId: string; matchAfterMs?: number } })
    .baseline;
}

test('run on save: a save soon after the markers pauses its run before matching; one after a longer look does not', async () => {
  let doc: vscode.TextDocument | undefined;
  const config = vscode.workspace.getConfiguration('fuzzforge');
  try {
    const setup = await setUp();
    doc = setup.doc;
    await config.update('runOnSave.delayMs', 0, vscode.ConfigurationTarget.Global);
    const lines = original.replace(/\n$/, '').split('\n').length;
    /** Save with the eval() line at `evalAt` and wait for the save's run to end with its markers. */
    const saveAndWait = async (evalAt: number, count: number) => {
      await saveAs(doc!, variant(evalAt));
      return waitFor(
        `run ${count} to end with its markers`,
        async () => {
          const got = await newRuns(setup.before);
          return got.length === count &&
            got[count - 1]!.status === 'completed' &&
            markers().join() === markersFor(evalAt).join()
            ? got[count - 1]
            : undefined;
        },
        120_000,
      );
    };
    // A first run, so the next ones have a baseline.
    const zero = await saveAndWait(lines + 3, 1);
    // Well over a second looking at its results, then a save.
    await sleep(2000);
    const slow = await saveAndWait(lines + 4, 2);
    // At once, as a user who fixes one thing after another does.
    const quick = await saveAndWait(lines + 6, 3);
    const slowBaseline = await baselineInput(slow.runId);
    const quickBaseline = await baselineInput(quick.runId);
    note(`baselines: ${JSON.stringify(slowBaseline)}, then ${JSON.stringify(quickBaseline)}`);
    assert.equal(slowBaseline?.runId, zero.runId, 'the second run is compared with the first');
    assert.equal(slowBaseline?.matchAfterMs, undefined, 'a save after a longer look matched at once');
    assert.equal(quickBaseline?.runId, slow.runId, 'the third run is compared with the second');
    assert.equal(quickBaseline?.matchAfterMs, 1000, 'the quick save paused before matching');
  } finally {
    await config.update('runOnSave.delayMs', undefined, vscode.ConfigurationTarget.Global);
    await tearDown(doc);
  }
}, 360_000);
