// Debug Crash in a real extension host: an atheris campaign on a copy of test/fixtures/fuzz-python
// finds its IndexError; FuzzForge: Debug Crash starts a fuzzforge-python session (debugpy, the
// adapter `fuzzforge setup --tools` installs) that stops on the exception with the workspace's
// harness and parser in the call stack; ending the session removes the prepared copy.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { FuzzforgeApi } from '../../../extension/extension';
import type { CrashDebugSession } from '../../../extension/debug/debugCrash';
import { screenshot, test } from './harness';

/** This bundle is out/vscode-suite/index.js: the project root is two folders up. */
const projectRoot = path.resolve(__dirname, '..', '..');

interface DapFrame {
  name: string;
  line: number;
  source?: { path?: string };
}

/** A frame's file path: in a remote window (code-server) VS Code hands paths back as vscode-remote URIs. */
function framePath(f: DapFrame): string | undefined {
  const p = f.source?.path;
  return p && /^[a-z][\w+.-]*:\/\//i.test(p) ? vscode.Uri.parse(p).path : p;
}

/** Resolves with the first `stopped` event a session of `type` sends, and that session. */
function nextStop(
  type: string,
): { stopped: Promise<{ session: vscode.DebugSession; threadId: number; reason: string }> } & vscode.Disposable {
  let resolve!: (v: { session: vscode.DebugSession; threadId: number; reason: string }) => void;
  const stopped = new Promise<{ session: vscode.DebugSession; threadId: number; reason: string }>((r) => (resolve = r));
  const registration = vscode.debug.registerDebugAdapterTrackerFactory(type, {
    createDebugAdapterTracker: (session) => ({
      onDidSendMessage: (m: { type?: string; event?: string; body?: { threadId?: number; reason?: string } }) => {
        if (m.type === 'event' && m.event === 'stopped') {
          resolve({ session, threadId: m.body?.threadId ?? 0, reason: m.body?.reason ?? '' });
        }
      },
    }),
  });
  return {
    stopped,
    dispose: () => {
      registration.dispose();
    },
  };
}

test('Debug Crash: a python crash stops in the harness under debugpy, with the workspace frames in the call stack', async () => {
  const ext = vscode.extensions.getExtension<FuzzforgeApi>('fuzzforge.fuzzforge-vscode');
  assert.ok(ext);
  const api = await ext.activate();
  // realpath: the call stack names files by their real path (/tmp may be a link).
  const fuzzDir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'ff-suite-debug-')));
  fs.cpSync(path.join(projectRoot, 'test', 'fixtures', 'fuzz-python'), fuzzDir, { recursive: true });
  const watch = nextStop('fuzzforge-python');
  let session: vscode.DebugSession | undefined;
  try {
    const { runId, findings } = await api.scan(vscode.Uri.file(fuzzDir), 'atheris_fuzzing', {
      max_total_time: 30,
      minimize_time: 0,
    });
    assert.equal(findings, 1, 'one unique crash');
    await api.runs.refresh();
    const row = api.runs.runs.find((r) => r.runId === runId) ?? { runId, status: 'completed' };
    const started = await vscode.commands.executeCommand<CrashDebugSession | undefined>('fuzzforge.debugCrash', row);
    assert.ok(started, 'Debug Crash started a session (see the FuzzForge log)');
    assert.equal(started.type, 'fuzzforge-python');
    const stop = await Promise.race([
      watch.stopped,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no stopped event within 60 s')), 60_000)),
    ]);
    session = stop.session;
    assert.equal(stop.reason, 'exception');
    const copy = session.configuration.cwd as string;
    assert.ok(copy && fs.existsSync(copy) && !copy.startsWith(fuzzDir), `runs in a private copy: ${copy}`);
    const trace = (await session.customRequest('stackTrace', { threadId: stop.threadId })) as {
      stackFrames: DapFrame[];
    };
    const frames = trace.stackFrames.map((f) => `${f.name} ${framePath(f) ?? '?'}:${f.line}`);
    // Innermost first: the bug in the parser, then the harness that called it, both the workspace's files.
    const top = trace.stackFrames[0];
    assert.ok(top, 'a call stack');
    assert.equal(framePath(top), path.join(fuzzDir, 'parser.py'), frames.join('\n'));
    assert.equal(top.name, 'parse_record');
    assert.match(
      fs.readFileSync(path.join(fuzzDir, 'parser.py'), 'utf8').split('\n')[top.line - 1] ?? '',
      /length = data\[off\]/,
    );
    assert.ok(
      trace.stackFrames.some((f) => f.name === 'TestOneInput' && framePath(f) === path.join(fuzzDir, 'fuzz_parser.py')),
      frames.join('\n'),
    );
    // The workbench opens the crashing line once it has taken the stop in; the screenshot shows it.
    for (let i = 0; i < 50 && !vscode.window.activeTextEditor?.document.uri.path.endsWith('/parser.py'); i++) {
      await new Promise((r) => setTimeout(r, 200));
    }
    await screenshot('debug-crash-stopped');
    await vscode.debug.stopDebugging(session);
    session = undefined;
    // The prepared copy goes with the session.
    const end = Date.now() + 30_000;
    while (fs.existsSync(copy)) {
      assert.ok(Date.now() < end, `${copy} is removed when the session ends`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    watch.dispose();
    if (session) {
      await vscode.debug.stopDebugging(session);
    }
    fs.rmSync(fuzzDir, { recursive: true, force: true });
  }
}, 300_000);
