// The crash debuggers themselves, without an editor: each fuzzing fixture's harness is built as a
// replay builds it (the engine's build into a private copy), its known crashing input is given to
// the launch configuration Debug Crash sends, and a plain DAP client talks to the real adapter
// (debugpy, lldb-vscode-14, dlv dap) that `fuzzforge setup --tools` installed. Each session must
// stop with the fixture's buggy line on top of the workspace frames, mapped to the workspace.
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { debugAdapterEnv, ENGINE_DEBUG_ADAPTER, findCrashDebugger, startDapServer } from '../../backend/fuzz/debuggers';
import { HARNESS_ENGINES, type CampaignDirs } from '../../backend/fuzz/harnesses';
import { killGroup } from '../../backend/processGroup';
import { copyTreePrivately } from '../../backend/storage/copy';
import { crashLaunchConfig } from '../../extension/debug/launchConfig';
import type { FuzzEngineName } from '../../toolbox/shared/fuzzing';

const root = path.join(__dirname, '..', '..');

interface DapMessage {
  seq: number;
  type: 'request' | 'response' | 'event';
  command?: string;
  event?: string;
  request_seq?: number;
  success?: boolean;
  message?: string;
  body?: Record<string, unknown>;
}

/** The client half of the Debug Adapter Protocol, as an editor speaks it, over any stream pair. */
class DapClient {
  private seq = 1;
  private buffer = Buffer.alloc(0);
  private readonly pending = new Map<number, (m: DapMessage) => void>();
  private readonly waiters: { event: string; resolve: (m: DapMessage) => void }[] = [];
  readonly events: DapMessage[] = [];

  constructor(
    private readonly input: Readable,
    private readonly output: Writable,
  ) {
    input.on('data', (chunk: Buffer) => this.onData(chunk));
  }

  request(command: string, args: unknown = {}): Promise<DapMessage> {
    const seq = this.seq++;
    const text = JSON.stringify({ seq, type: 'request', command, arguments: args });
    this.output.write(`Content-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`);
    return new Promise((resolve) => this.pending.set(seq, resolve));
  }

  /** The first event of that name (one already received counts). */
  event(name: string, timeoutMs: number): Promise<DapMessage> {
    const seen = this.events.find((e) => e.event === name);
    if (seen) {
      return Promise.resolve(seen);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(`no ${name} event within ${timeoutMs} ms; events: ${this.events.map((e) => e.event).join(', ')}`),
          ),
        timeoutMs,
      );
      this.waiters.push({
        event: name,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  }

  private onData(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end < 0) {
        return;
      }
      const length = Number(/Content-Length: (\d+)/i.exec(this.buffer.subarray(0, end).toString())?.[1]);
      if (this.buffer.length < end + 4 + length) {
        return;
      }
      const message = JSON.parse(this.buffer.subarray(end + 4, end + 4 + length).toString()) as DapMessage;
      this.buffer = this.buffer.subarray(end + 4 + length);
      if (message.type === 'response') {
        this.pending.get(message.request_seq ?? -1)?.(message);
      } else if (message.type === 'event') {
        this.events.push(message);
        for (const w of this.waiters.filter((x) => x.event === message.event)) {
          w.resolve(message);
        }
      }
    }
  }
}

interface Case {
  engine: FuzzEngineName;
  fixture: string;
  harness: string;
  input: Buffer;
  /** The crashing line: file (relative to the fixture) and a text on it. */
  file: string;
  line: RegExp;
  harnessFile: string;
}

const only = process.env.FUZZFORGE_TEST_ENGINES?.split(',');
const cases: Case[] = [
  {
    engine: 'atheris',
    fixture: 'fuzz-python',
    harness: 'fuzz_parser',
    input: Buffer.from('FUZZ\x02\x00', 'latin1'),
    file: 'parser.py',
    line: /length = data\[off\]/,
    harnessFile: 'fuzz_parser.py',
  },
  {
    engine: 'libfuzzer',
    fixture: 'fuzz-cpp',
    harness: 'fuzz_parse',
    input: Buffer.from('FUZZ\x01', 'latin1'),
    file: 'src/parse.cc',
    line: /size_t len = data\[off\]/,
    harnessFile: 'fuzz/fuzz_parse.cc',
  },
  {
    engine: 'go-fuzz',
    fixture: 'fuzz-go',
    harness: 'FuzzParse',
    input: Buffer.from('go test fuzz v1\n[]byte("FUZZ\\x01")\n'),
    file: 'parse.go',
    line: /n := int\(data\[off\]\)/,
    harnessFile: 'parse_test.go',
  },
];

describe('crash debuggers: each adapter stops at the fixture bug with workspace frames', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-debug-adapters-'));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  for (const c of cases.filter((x) => !only || only.includes(x.engine))) {
    it(`${c.engine}: ${c.file} on top`, { timeout: 600_000 }, async () => {
      // The workspace and the private copy the harness is built in, as prepareReplay makes them.
      const workspace = fs.realpathSync(fs.mkdtempSync(path.join(tmp, `${c.engine}-ws-`)));
      fs.cpSync(path.join(root, 'test', 'fixtures', c.fixture), workspace, { recursive: true });
      const base = fs.mkdtempSync(path.join(tmp, `${c.engine}-replay-`));
      const dirs: CampaignDirs = {
        work: path.join(base, 'work'),
        build: path.join(base, 'build'),
        corpus: path.join(base, 'corpus'),
        artifacts: path.join(base, 'artifacts'),
      };
      await copyTreePrivately(workspace, dirs.work, new Set());
      fs.mkdirSync(dirs.build, { recursive: true });
      const engine = HARNESS_ENGINES[c.engine];
      const harness = (await engine.discover(workspace)).find((h) => h.name === c.harness);
      assert.ok(harness, `${c.harness} is discovered`);
      await engine.build(harness, dirs, {} as Parameters<typeof engine.build>[2]);
      const input = path.join(base, 'crash-input');
      fs.writeFileSync(input, c.input);
      const config = crashLaunchConfig(engine.debugTarget(harness, dirs, input), {
        name: 'crash',
        key: 'k',
        workspace,
        copy: dirs.work,
      });

      const { command, args } = findCrashDebugger(ENGINE_DEBUG_ADAPTER[c.engine]);
      let child: ChildProcess | undefined;
      let socket: net.Socket | undefined;
      let serverPid: number | undefined;
      let client: DapClient;
      if (c.engine === 'go-fuzz') {
        const server = await startDapServer(command, args, config.cwd as string);
        serverPid = server.pid;
        const s = net.connect(server.port, '127.0.0.1');
        socket = s;
        await new Promise<void>((resolve, reject) => s.once('connect', resolve).once('error', reject));
        client = new DapClient(s, s);
      } else {
        const started = spawn(command, args, {
          env: { ...process.env, ...debugAdapterEnv() },
          stdio: ['pipe', 'pipe', 'pipe'],
          detached: true,
        });
        child = started;
        client = new DapClient(started.stdout, started.stdin);
      }
      try {
        const init = await client.request('initialize', {
          clientID: 'fuzzforge-test',
          adapterID: config.type,
          linesStartAt1: true,
          columnsStartAt1: true,
          pathFormat: 'path',
        });
        assert.equal(init.success, true, init.message);
        // VS Code sends each filter's default; debugpy's `uncaught` is the one on by default.
        const filters = ((init.body?.exceptionBreakpointFilters ?? []) as { filter: string; default?: boolean }[])
          .filter((f) => f.default)
          .map((f) => f.filter);
        const launched = client.request('launch', config);
        // A launch that fails answers before any `initialized`: say why instead of waiting.
        const first = await Promise.race([launched, client.event('initialized', 120_000)]);
        const output = () =>
          client.events
            .filter((e) => e.event === 'output')
            .map((e) => (typeof e.body?.output === 'string' ? e.body.output : ''))
            .join('');
        assert.ok(first.type === 'event' || first.success, `launch failed: ${first.message}\n${output()}`);
        await client.request('setExceptionBreakpoints', { filters });
        await client.request('configurationDone');
        const launch = await launched;
        assert.equal(launch.success, true, `${launch.message}\n${output()}`);
        const stopped = await client.event('stopped', 300_000);
        const trace = await client.request('stackTrace', { threadId: stopped.body?.threadId });
        const frames = (trace.body?.stackFrames ?? []) as { name: string; line: number; source?: { path?: string } }[];
        const listing = frames.map((f) => `${f.name} ${f.source?.path ?? '?'}:${f.line}`).join('\n');
        // The innermost frame in a workspace file is the bug, named by its workspace path.
        const top = frames.find((f) => f.source?.path?.startsWith(`${workspace}/`));
        assert.ok(top, `a workspace frame:\n${listing}`);
        assert.equal(top.source?.path, path.join(workspace, c.file), listing);
        const text = fs.readFileSync(path.join(workspace, c.file), 'utf8').split('\n')[top.line - 1] ?? '';
        assert.match(text, c.line, listing);
        assert.ok(
          frames.some((f) => f.source?.path === path.join(workspace, c.harnessFile)),
          `the harness ${c.harnessFile} is in the call stack:\n${listing}`,
        );
        await Promise.race([
          client.request('disconnect', { terminateDebuggee: true }),
          new Promise((r) => setTimeout(r, 10_000)),
        ]);
      } finally {
        socket?.destroy();
        killGroup(child?.pid);
        killGroup(serverPid);
      }
    });
  }
});
