// The extension inside a real extension host, through VS Code's own API: activation, commands,
// a scan of a copy of test/fixtures/vulnerable-app against a real backend, the diagnostics, and the
// Runs, Findings and Backend views' models. The runner (test/vscode/run.ts, or
// test/e2e/vscode-suite.test.ts in code-server) opens that copy as the workspace and points
// FUZZFORGE_STATE_DIR at a test backend.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { stateDir } from '../../../backend/paths';
import { parseSarif } from '../../../backend/sarif/log';
import type { SarifLog } from '../../../backend/sarif/types';
import { ObjectStore } from '../../../backend/storage/objectStore';
import { embeddedConnection, runningEmbedded } from '../../../backend/services/embedded';
import { RunService } from '../../../backend/temporal/runs';
import { workerLogName, type WorkerState } from '../../../backend/services/state';
import type { FuzzforgeApi } from '../../../extension/extension';
import type { FindingsNode } from '../../../extension/views/findingsView';
import { expected, key, patternMarkers, projectRoot } from './fixture';
import { test } from './harness';

const EXTENSION_ID = 'fuzzforge.fuzzforge-vscode';
const WORKFLOW = 'security_assessment';

let api: FuzzforgeApi;
let folder: vscode.WorkspaceFolder;
let runId = '';
let count = 0;

const ours = () => patternMarkers(folder);

test('activates and returns its API', async () => {
  const ext = vscode.extensions.getExtension<FuzzforgeApi>(EXTENSION_ID);
  assert.ok(ext, `extension ${EXTENSION_ID} is loaded`);
  api = await ext.activate();
  assert.ok(api.findings && api.runs && api.views.findings && api.views.runs, 'API has findings, runs and views');
  const first = vscode.workspace.workspaceFolders?.[0];
  assert.ok(first, 'a workspace folder is open');
  folder = first;
});

test('registers every command it contributes', async () => {
  const manifest = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON as {
    contributes: { commands: { command: string }[] };
  };
  const registered = new Set(await vscode.commands.getCommands(true));
  const missing = manifest.contributes.commands.map((c) => c.command).filter((c) => !registered.has(c));
  assert.deepEqual(missing, []);
});

test("the Backend view lists the embedded backend's services and its workers by vertical, with their figures and logs", async () => {
  const state = runningEmbedded(stateDir());
  assert.ok(state, `the test backend runs in ${stateDir()}`);
  const view = api.views.backend;
  // Two reads: CPU needs two samples.
  await view.refresh();
  await new Promise((r) => setTimeout(r, 1000));
  await view.refresh();
  assert.equal(view.currentSnapshot.kind, 'embedded');
  const rows = view.currentRows;
  assert.deepEqual(
    rows.filter((r) => r.kind === 'service').map((r) => r.label),
    ['supervisor', 'temporal', 'minio'],
  );
  const verticals = rows.filter((r) => r.kind === 'vertical');
  assert.deepEqual(
    verticals.map((r) => r.label),
    state.workers.map((w) => w.vertical).sort(),
  );
  for (const v of verticals) {
    // The embedded backend's verticals share one worker host, and so its log.
    const served: WorkerState | undefined = state.workers.find((w) => w.vertical === v.label);
    assert.ok(served);
    const logName = workerLogName(served);
    assert.deepEqual(
      v.children?.map((c) => [c.label, c.log]),
      [[`worker-${v.label}`, { kind: 'file', path: path.join(state.logsDir, `${logName}.log`) }]],
    );
    assert.match(v.description, /^running · [\d.]+% CPU · [\d.]+ [KMG]i?B/, `${v.label}: ${v.description}`);
  }
  const temporal = rows.find((r) => r.label === 'temporal')!;
  const item = view.getTreeItem(temporal);
  assert.match(String(item.description), /^healthy · [\d.]+% CPU · [\d.]+ [KMG]i?B$/);
  assert.equal(item.contextValue, 'backend.service.logs');
  assert.equal((item.iconPath as vscode.ThemeIcon).id, 'pass');
  // Show Logs on a row opens that service's log file.
  await vscode.commands.executeCommand('fuzzforge.showServiceLogs', temporal);
  assert.equal(vscode.window.activeTextEditor?.document.uri.fsPath, path.join(state.logsDir, 'temporal.log'));
});

test(`scans the workspace with ${WORKFLOW}: exactly the fixture's findings become diagnostics`, async () => {
  const result = await api.scan(folder.uri, WORKFLOW);
  runId = result.runId;
  count = result.findings;
  const got = ours()
    .map((d) => key(d))
    .sort();
  assert.deepEqual(got, expected.map(key).sort());
  assert.equal(count, expected.length);
}, 300_000);

test('the Findings view groups what the Problems panel has, by severity, file and rule', async () => {
  const view = api.views.findings;
  const original = view.groupBy;
  try {
    for (const by of ['severity', 'file', 'rule'] as const) {
      await vscode.commands.executeCommand('fuzzforge.groupFindingsBy', by);
      assert.equal(view.groupBy, by);
      const groups = view.currentGroups();
      const total = groups.reduce((n, g) => n + g.entries.length, 0);
      assert.equal(total, count, `${by}: every finding once`);
      for (const g of groups) {
        assert.match(g.description, new RegExp(`^${g.entries.length}\\b`), `${by}: ${g.label} shows its count`);
      }
      if (by === 'file') {
        const app = groups.find((g) => g.label === 'python/app.py');
        assert.ok(app, 'a group for python/app.py');
        assert.deepEqual(
          app.entries.map((e) => `${e.ruleId} ${e.line + 1}`),
          expected
            .filter((e) => e.file === 'python/app.py')
            .sort((a, b) => a.line - b.line)
            .map((e) => `${e.ruleId} ${e.line}`),
        );
      }
    }
  } finally {
    await vscode.commands.executeCommand('fuzzforge.groupFindingsBy', original);
  }
});

test('clicking a finding opens its file with the range selected', async () => {
  const view = api.views.findings;
  const groups = view.getChildren();
  const first = groups[0];
  assert.ok(first && first.kind === 'group');
  const node = view.getChildren(first)[0] as FindingsNode & { kind: 'finding' };
  const item = view.getTreeItem(node);
  assert.ok(item.command, 'a finding row has a command');
  await vscode.commands.executeCommand(item.command.command, ...((item.command.arguments ?? []) as unknown[]));
  const editor = vscode.window.activeTextEditor;
  assert.ok(editor, 'an editor is open');
  assert.equal(editor.document.uri.fsPath, node.finding.file);
  assert.equal(editor.selection.start.line, node.finding.line);
});

test('the Runs view lists the completed run with its counts', async () => {
  await api.runs.refresh();
  const run = api.runs.runs.find((r) => r.runId === runId);
  assert.ok(run, `run ${runId} is listed: ${api.runs.runs.map((r) => r.runId).join(', ')}`);
  assert.equal(run.status, 'completed');
  assert.equal(run.workflow, WORKFLOW);
  assert.equal(run.summary?.total, count);
  const item = api.views.runs.getTreeItem(run);
  assert.equal(item.label, WORKFLOW);
  assert.match(String(item.description), new RegExp(`${count} findings`));
  assert.equal(item.contextValue, 'run.completed.sarif');
});

test('showing results again redraws only the files whose markers change; typing below markers moves none', async () => {
  const state = runningEmbedded(stateDir());
  assert.ok(state, 'the test backend runs');
  const rs = await RunService.connect(embeddedConnection(state));
  let log: SarifLog;
  try {
    const summary = await rs.result(runId);
    const body = await new ObjectStore(embeddedConnection(state)).getBuffer(summary.resultsBucket, summary.sarifKey);
    log = parseSarif(body.toString('utf8'), summary.sarifKey);
  } finally {
    await rs.close();
  }
  const appPy = vscode.Uri.file(path.join(folder.uri.fsPath, 'python', 'app.py'));
  const changed: string[] = [];
  const listening = vscode.languages.onDidChangeDiagnostics((e) => changed.push(...e.uris.map((u) => u.fsPath)));
  try {
    const settle = () => new Promise((r) => setTimeout(r, 300));
    // The same results under another run: no file is sent again, and the markers stand for that run.
    assert.equal(api.findings.show(WORKFLOW, 'rerun-same', log, folder.uri.fsPath), count);
    await settle();
    assert.deepEqual(changed, [], 'no marker changed');
    assert.ok(
      api.findings.all().every(({ diagnostic }) => diagnostic.runId === 'rerun-same'),
      'every marker now names the later run',
    );
    // One result of app.py gone: only app.py is sent.
    const fewer = structuredClone(log);
    const results = fewer.runs[0]?.results ?? [];
    const at = results.findIndex((r) => r.locations?.[0]?.physicalLocation?.artifactLocation?.uri?.endsWith('app.py'));
    assert.ok(at >= 0, 'app.py has a result');
    results.splice(at, 1);
    api.findings.show(WORKFLOW, 'rerun-fewer', fewer, folder.uri.fsPath);
    await settle();
    assert.deepEqual([...new Set(changed)], [appPy.fsPath]);
    assert.equal(ours().length, expected.length - 1, 'one marker fewer');
    api.findings.show(WORKFLOW, runId, log, folder.uri.fsPath);
    await settle();
    assert.deepEqual(ours().map(key).sort(), expected.map(key).sort(), 'all the markers are back');
    // Typing below every marker of app.py leaves them alone; a line above them moves them.
    const editor = await vscode.window.showTextDocument(appPy);
    const before = ours()
      .filter((m) => m.file === path.join('python', 'app.py'))
      .map((m) => m.line)
      .sort((a, b) => a - b);
    changed.length = 0;
    const end = editor.document.lineAt(editor.document.lineCount - 1).range.end;
    assert.ok(await editor.edit((b) => b.insert(end, '\nz = 1\n')));
    await settle();
    assert.deepEqual(
      changed.filter((f) => f === appPy.fsPath),
      [],
      'typing below the markers moves none',
    );
    assert.ok(await editor.edit((b) => b.insert(new vscode.Position(0, 0), '# a comment\n')));
    await settle();
    const after = ours()
      .filter((m) => m.file === path.join('python', 'app.py'))
      .map((m) => m.line)
      .sort((a, b) => a - b);
    assert.deepEqual(
      after,
      before.map((l) => l + 1),
      'a line above moves every marker down by one',
    );
  } finally {
    listening.dispose();
    await vscode.commands.executeCommand('workbench.action.files.revert');
    api.findings.show(WORKFLOW, runId, log, folder.uri.fsPath);
  }
});

test("Open SARIF shows the run's merged log in an editor", async () => {
  const run = api.runs.runs.find((r) => r.runId === runId);
  await vscode.commands.executeCommand('fuzzforge.openRunSarif', run);
  const editor = vscode.window.activeTextEditor;
  assert.ok(editor && editor.document.uri.path.endsWith(`/${runId}.sarif`), editor?.document.uri.toString());
  const log = JSON.parse(editor.document.getText()) as { version: string; runs: { results?: unknown[] }[] };
  assert.equal(log.version, '2.1.0');
  assert.ok(log.runs.some((r) => (r.results?.length ?? 0) > 0));
});

test('Re-run scans again with the same workflow and parameters', async () => {
  const run = api.runs.runs.find((r) => r.runId === runId);
  await vscode.commands.executeCommand('fuzzforge.rerun', run);
  await api.runs.refresh();
  const again = api.runs.runs.filter((r) => r.workflow === WORKFLOW && r.status === 'completed');
  assert.ok(again.length >= 2, `two completed ${WORKFLOW} runs: ${again.map((r) => r.runId).join(', ')}`);
  assert.deepEqual(again[0]!.memo?.params, run!.memo?.params);
  assert.deepEqual(
    ours()
      .map((d) => key(d))
      .sort(),
    expected.map(key).sort(),
  );
}, 300_000);

test('Stop Run cancels a running run: it shows as canceled, quietly', async () => {
  // python_sast runs bandit and semgrep for seconds: long enough to be stopped while they run.
  const scan = api.scan(folder.uri, 'python_sast');
  const outcome = scan.then(
    () => 'finished',
    (err: unknown) => (err as Error).name,
  );
  let running;
  const end = Date.now() + 60_000;
  while (!(running = api.runs.runs.find((r) => r.workflow === 'python_sast' && r.status === 'running'))) {
    assert.ok(Date.now() < end, 'the python_sast run shows as running');
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(api.views.runs.getTreeItem(running).contextValue, 'run.running');
  await vscode.commands.executeCommand('fuzzforge.cancelRun', running);
  assert.equal(await outcome, 'Cancelled', 'the scan ends as a cancellation, not an error');
  await api.runs.refresh();
  const canceled = api.runs.runs.find((r) => r.runId === running.runId);
  assert.equal(canceled?.status, 'canceled');
  const item = api.views.runs.getTreeItem(canceled);
  assert.equal((item.iconPath as vscode.ThemeIcon).id, 'circle-slash');
}, 120_000);

test('a fuzzing run: its crash is a diagnostic at the bug, the stats panel opens, and the crash replays', async () => {
  // A copy of the libFuzzer fixture next to the workspace: one known heap-buffer-overflow.
  const fuzzDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-suite-fuzz-'));
  fs.cpSync(path.join(projectRoot, 'test', 'fixtures', 'fuzz-cpp'), fuzzDir, { recursive: true });
  try {
    const { runId: fuzzRun, findings } = await api.scan(vscode.Uri.file(fuzzDir), 'libfuzzer_fuzzing', {
      max_total_time: 5,
      minimize_time: 0,
    });
    assert.equal(findings, 1, 'one unique crash');
    const diags = vscode.languages.getDiagnostics(vscode.Uri.file(path.join(fuzzDir, 'src', 'parse.cc')));
    const crash = diags.find((d) => d.source === 'libFuzzer');
    assert.ok(crash, `a libFuzzer diagnostic in src/parse.cc: ${JSON.stringify(diags.map((d) => d.message))}`);
    assert.equal(crash.range.start.line + 1, 26);
    assert.match(crash.message, /heap-buffer-overflow/);
    await api.runs.refresh();
    const row = api.runs.runs.find((r) => r.runId === fuzzRun) ?? { runId: fuzzRun, status: 'completed' };
    await vscode.commands.executeCommand('fuzzforge.showFuzzingStats', row);
    // The panel's tab appears once the workbench has created it.
    let tabs: string[] = [];
    for (let i = 0; i < 50 && !tabs.includes(`Fuzzing ${fuzzRun}`); i++) {
      await new Promise((r) => setTimeout(r, 200));
      tabs = vscode.window.tabGroups.all.flatMap((g) => g.tabs).map((t) => t.label);
    }
    assert.ok(tabs.includes(`Fuzzing ${fuzzRun}`), `tabs: ${tabs.join(', ')}`);
    const replay = await vscode.commands.executeCommand<{ reproduced: boolean }>('fuzzforge.replayCrash', row);
    assert.equal(replay.reproduced, true);
  } finally {
    fs.rmSync(fuzzDir, { recursive: true, force: true });
  }
}, 300_000);
