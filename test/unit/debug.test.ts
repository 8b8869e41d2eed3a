import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { UserError } from '../../backend/errors';
import {
  CRASH_DEBUGGERS,
  debugAdapterEnv,
  ENGINE_DEBUG_ADAPTER,
  findCrashDebugger,
} from '../../backend/fuzz/debuggers';
import { ATHERIS_DEBUG_RUNNER, HARNESS_ENGINES, pythonFor, type CampaignDirs } from '../../backend/fuzz/harnesses';
import { readVerticalSpec } from '../../backend/toolbox/verticals';
import { adapterOfDebugType, CRASH_DEBUG_TYPES, crashLaunchConfig } from '../../extension/debug/launchConfig';
import type { FuzzEngineName } from '../../toolbox/shared/fuzzing';

const root = path.join(__dirname, '..', '..');
const dirs: CampaignDirs = {
  work: '/tmp/ff-replay-x/work',
  build: '/tmp/ff-replay-x/build',
  corpus: '/tmp/ff-replay-x/corpus',
  artifacts: '/tmp/ff-replay-x/artifacts',
};
const place = { name: 'Crash 0123abcd', key: 'k-1', workspace: '/home/me/project', copy: dirs.work };

describe('crash debug targets and launch configurations', () => {
  it('each engine debugs with the adapter it is declared to use', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-debug-unit-'));
    try {
      const d = { ...dirs, work: path.join(tmp, 'work') };
      const input = path.join(tmp, 'crash');
      fs.writeFileSync(input, 'x');
      for (const name of Object.keys(HARNESS_ENGINES) as FuzzEngineName[]) {
        const target = HARNESS_ENGINES[name].debugTarget(
          { name: 'FuzzX', file: 'pkg/x_test.go', dir: 'pkg' },
          d,
          input,
        );
        assert.equal(target.adapter, ENGINE_DEBUG_ADAPTER[name], name);
      }
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('atheris: the runner calls TestOneInput of the copied harness on the input, under debugpy', () => {
    const h = { name: 'fuzz_parser', file: 'fuzz/fuzz_parser.py', dir: 'fuzz' };
    const target = HARNESS_ENGINES.atheris.debugTarget(h, dirs, '/tmp/ff-replay-x/crash-ab');
    assert.equal(target.adapter, 'python');
    const config = crashLaunchConfig(target, place);
    assert.deepEqual(config, {
      type: 'fuzzforge-python',
      request: 'launch',
      name: 'Crash 0123abcd',
      fuzzforgeCrash: 'k-1',
      cwd: '/tmp/ff-replay-x/work/fuzz',
      python: [pythonFor()],
      code: ATHERIS_DEBUG_RUNNER,
      args: ['/tmp/ff-replay-x/work/fuzz/fuzz_parser.py', '/tmp/ff-replay-x/crash-ab'],
      env: HARNESS_ENGINES.atheris.replayCommand(h, dirs, '/tmp/ff-replay-x/crash-ab').env,
      justMyCode: false,
      stopOnEntry: false,
      console: 'internalConsole',
      pathMappings: [{ localRoot: '/home/me/project', remoteRoot: '/tmp/ff-replay-x/work' }],
    });
  });

  it('libFuzzer and cargo-fuzz: lldb runs the replay binary on the input, sanitizers abort, frames map to the workspace', () => {
    const h = { name: 'fuzz_parse', file: 'fuzz/fuzz_parse.cc', dir: 'fuzz' };
    for (const engine of ['libfuzzer', 'cargo-fuzz'] as const) {
      const replay = HARNESS_ENGINES[engine].replayCommand(h, dirs, '/in/crash');
      const config = crashLaunchConfig(HARNESS_ENGINES[engine].debugTarget(h, dirs, '/in/crash'), place);
      assert.equal(config.type, 'fuzzforge-lldb');
      assert.equal(config.program, replay.command, engine);
      assert.deepEqual(config.args, replay.args);
      assert.equal(config.cwd, replay.cwd);
      assert.deepEqual(config.env, [
        'ASAN_OPTIONS=abort_on_error=1:detect_leaks=0',
        'UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1',
      ]);
      assert.deepEqual(config.sourceMap, [['/tmp/ff-replay-x/work', '/home/me/project']]);
    }
  });

  it('go: Delve tests the package with the -run pattern of the input replay stored in testdata/fuzz', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-debug-unit-'));
    try {
      const d = { ...dirs, work: path.join(tmp, 'work') };
      const input = path.join(tmp, 'crash-1');
      fs.writeFileSync(input, 'go test fuzz v1\n[]byte("FUZZ\\x01")\n');
      const h = { name: 'FuzzParse', file: 'parse/parse_test.go', dir: 'parse' };
      const config = crashLaunchConfig(HARNESS_ENGINES['go-fuzz'].debugTarget(h, d, input), {
        ...place,
        copy: d.work,
      });
      assert.deepEqual(
        { ...config, env: undefined },
        {
          type: 'fuzzforge-go',
          request: 'launch',
          name: 'Crash 0123abcd',
          fuzzforgeCrash: 'k-1',
          cwd: path.join(d.work, 'parse'),
          mode: 'test',
          program: path.join(d.work, 'parse'),
          args: ['-test.count=1', '-test.run', '^FuzzParse$/^fuzzforge-replay$'],
          env: undefined,
          output: path.join(d.build, 'FuzzParse.debug.test'),
          stopOnEntry: false,
          substitutePath: [{ from: '/home/me/project', to: d.work }],
        },
      );
      // The same stored input the replay runs.
      assert.equal(
        fs.readFileSync(path.join(d.work, 'parse', 'testdata', 'fuzz', 'FuzzParse', 'fuzzforge-replay'), 'utf8'),
        fs.readFileSync(input, 'utf8'),
      );
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('package.json contributes exactly the debugger types the adapters are registered for', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
      contributes: { debuggers?: { type: string; label: string }[] };
    };
    const types = (manifest.contributes.debuggers ?? []).map((d) => d.type).sort();
    assert.deepEqual(types, Object.values(CRASH_DEBUG_TYPES).sort());
    for (const t of types) {
      assert.ok(adapterOfDebugType(t), t);
    }
    assert.equal(adapterOfDebugType('python'), undefined);
  });
});

describe('crash debuggers', () => {
  it('are tools of their verticals, installed by `fuzzforge setup --tools`, at the pinned versions', () => {
    const install = (vertical: string, tool: string) =>
      readVerticalSpec(vertical)?.tools.find((t) => t.name === tool)?.install;
    assert.deepEqual(install('python', 'debugpy'), { pip: 'debugpy==1.8.22' });
    assert.deepEqual(install('cpp', 'lldb'), { apt: 'lldb-14' });
    assert.deepEqual(install('rust', 'lldb'), { apt: 'lldb-14' });
    assert.deepEqual(install('go', 'delve'), { go: 'github.com/go-delve/delve/cmd/dlv@v1.27.2' });
    for (const d of Object.values(CRASH_DEBUGGERS)) {
      assert.ok(install(d.vertical, d.tool), `${d.vertical}/${d.tool} is declared`);
    }
  });

  it('a missing debugger is named with the exact command that installs it', () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-debug-cache-'));
    try {
      const env = { PATH: empty, FUZZFORGE_CACHE_DIR: empty, HOME: empty };
      const expect = (kind: keyof typeof CRASH_DEBUGGERS, message: RegExp, hint: RegExp) =>
        assert.throws(
          () => findCrashDebugger(kind, env),
          (err: unknown) => err instanceof UserError && message.test(err.message) && hint.test(err.hint ?? ''),
          kind,
        );
      expect(
        'python',
        /debugpy \(python -m debugpy\.adapter\) is not installed/,
        new RegExp(`install it: ${empty}/tools/venv/bin/pip install 'debugpy==1\\.8\\.22'`),
      );
      expect(
        'native',
        /lldb-vscode-14 \(Debian package lldb-14\) is not installed/,
        /install it: apt-get install -y lldb-14/,
      );
      expect(
        'go-test',
        /Delve \(dlv dap\) is not installed/,
        new RegExp(`install it: GOBIN=${empty}/tools/bin go install github\\.com/go-delve/delve/cmd/dlv@v1\\.27\\.2`),
      );
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });

  it("the adapters' environment blanks the backend's credentials and finds the project's tools first", () => {
    const env = debugAdapterEnv({
      PATH: '/usr/bin',
      MINIO_ROOT_PASSWORD: 'secret',
      HOME: '/home/me',
      FUZZFORGE_CACHE_DIR: '/c',
    });
    assert.equal(env.MINIO_ROOT_PASSWORD, '');
    assert.equal(env.HOME, '/home/me');
    assert.ok(env.PATH?.startsWith('/c/tools/bin:'), env.PATH);
    assert.ok(!Object.values(env).includes('secret'));
  });
});

describe('the atheris debug runner', () => {
  // The python the project installs atheris into (fuzzforge setup --tools).
  const python = pythonFor();
  const fixture = path.join(root, 'test', 'fixtures', 'fuzz-python');

  it('runs TestOneInput once on the input: a crash is an uncaught exception from the workspace code', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-debug-runner-'));
    try {
      const crash = path.join(tmp, 'crash');
      const fine = path.join(tmp, 'fine');
      fs.writeFileSync(crash, Buffer.from('FUZZ\x02\x00', 'latin1'));
      fs.writeFileSync(fine, 'hello');
      const run = (input: string) =>
        spawnSync(python, ['-c', ATHERIS_DEBUG_RUNNER, path.join(fixture, 'fuzz_parser.py'), input], {
          cwd: fixture,
          encoding: 'utf8',
          env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
          timeout: 60_000,
        });
      const crashed = run(crash);
      assert.equal(crashed.status, 1, crashed.stderr);
      // A plain Python traceback through the harness into the parser (atheris.Fuzz() did not run).
      assert.match(
        crashed.stderr,
        /fuzz_parser\.py", line \d+, in TestOneInput[\s\S]*parser\.py", line \d+, in parse_record[\s\S]*IndexError/,
      );
      assert.doesNotMatch(crashed.stderr + crashed.stdout, /Running 1 inputs|libFuzzer/);
      const ok = run(fine);
      assert.equal(ok.status, 0, ok.stderr);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
