// The fuzzing engines' harness side: how each finds harnesses by its language's convention, builds
// them and replays one input. The backend replays crashes with it on the user's machine and the
// toolbox's engines (toolbox/modules/fuzzing/engines.ts) extend it with fuzzing, so replay builds
// exactly what the campaign built. No Temporal here.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FuzzEngineName, FuzzParams, Harness } from '../../toolbox/shared/fuzzing';
import { toolEnv } from '../environment';
import { killGroup } from '../processGroup';
import { toolDirs, toolSearchPath } from '../toolbox/tools';

/** Folders never searched for harnesses. */
const SKIP_DIRS = new Set([
  '.git',
  'node_modules',
  'target',
  'vendor',
  '.venv',
  'venv',
  '__pycache__',
  '.tox',
  'build',
  'dist',
]);

/** Every file under `root` (posix paths relative to it) whose name passes `accept`. */
export async function walk(root: string, accept: (rel: string) => boolean, limit = 200_000): Promise<string[]> {
  const out: string[] = [];
  const queue = [''];
  let seen = 0;
  while (queue.length > 0 && seen < limit) {
    const rel = queue.shift() as string;
    let entries: fs.Dirent[];
    try {
      entries = await fs.promises.readdir(path.join(root, rel), { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      seen++;
      const child = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (!SKIP_DIRS.has(e.name) && !e.name.startsWith('.')) {
          queue.push(child);
        }
      } else if (e.isFile() && accept(child)) {
        out.push(child);
      }
    }
  }
  return out;
}

async function contains(file: string, pattern: RegExp): Promise<boolean> {
  try {
    const stat = await fs.promises.stat(file);
    if (stat.size > 4 * 1024 * 1024) {
      return false;
    }
    return pattern.test(await fs.promises.readFile(file, 'utf8'));
  } catch {
    return false;
  }
}

/** A command to run: no shell, argument array. */
export interface Command {
  command: string;
  args: string[];
  cwd: string;
  env?: Record<string, string>;
}

/** Where one campaign keeps its files on the worker. */
export interface CampaignDirs {
  /** Private writable copy of the workspace. */
  work: string;
  /** Built harness binaries (kept between campaigns of the same workspace content). */
  build: string;
  /** The harness's corpus (synchronised with storage). */
  corpus: string;
  /** Where the engine writes crashing inputs. */
  artifacts: string;
}

/** What an engine knows about its harnesses: where they are, how to build one, how to replay an input. */
export interface HarnessEngine {
  name: FuzzEngineName;
  vertical: string;
  /** The command that must be installed on the worker. */
  tool: string;
  /** The tool's name in workers/<vertical>/vertical.yaml (absent: the vertical's toolchain is enough). */
  toolName?: string;
  /** The workflow that runs this engine. */
  workflow: string;
  discover(root: string): Promise<Harness[]>;
  /**
   * Build the harness (throws BuildError with the compiler output). Returns the build as a shell
   * command run from the workspace root, when people need one to reproduce a crash.
   */
  build(h: Harness, dirs: CampaignDirs, params: FuzzParams, tick?: () => void): Promise<string | void>;
  /** Replay one input (absolute path); exits non-zero when it reproduces. */
  replayCommand(h: Harness, dirs: CampaignDirs, input: string): Command;
  /** Run one input under the toolchain's debugger, so that the crash stops the program where it happens. */
  debugTarget(h: Harness, dirs: CampaignDirs, input: string): DebugTarget;
}

/**
 * What a debugger launches to run one input once, by the debug adapter that runs it: `python`
 * (debugpy) runs `code` with `args` as sys.argv[1:]; `native` (lldb-vscode) runs a binary; `go-test`
 * (Delve) builds and runs the test package in `program` with test flags in `args`.
 */
export type DebugTarget =
  | { adapter: 'python'; python: string; code: string; args: string[]; cwd: string; env: Record<string, string> }
  | { adapter: 'native'; program: string; args: string[]; cwd: string; env: Record<string, string> }
  | {
      adapter: 'go-test';
      program: string;
      args: string[];
      cwd: string;
      env: Record<string, string>;
      /** Where Delve writes the test binary it builds. */
      output: string;
    };

export class BuildError extends Error {
  constructor(
    readonly harness: string,
    readonly output: string,
  ) {
    super(`building harness ${harness} failed:\n${output.trim().split('\n').slice(-60).join('\n')}`);
    this.name = 'BuildError';
  }
}

export function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function shellLine(parts: readonly string[]): string {
  return parts.map(quote).join(' ');
}

// ---------------------------------------------------------------------------------------------
// atheris (Python)

const atheris: HarnessEngine = {
  name: 'atheris',
  vertical: 'python',
  tool: 'python3',
  toolName: 'atheris',
  workflow: 'atheris_fuzzing',
  async discover(root) {
    const files = await walk(root, (rel) => rel.endsWith('.py'));
    const out: Harness[] = [];
    for (const file of files) {
      if (
        await contains(path.join(root, file), /\bTestOneInput\b[\s\S]*\batheris\b|\batheris\b[\s\S]*\bTestOneInput\b/)
      ) {
        out.push({ name: path.posix.basename(file, '.py'), file, dir: path.posix.dirname(file) });
      }
    }
    return out;
  },
  async build(h, dirs, _params, tick) {
    // Nothing to compile; a syntax error or a missing import shows up as a build error here.
    const check = await runQuick(pythonFor(), ['-m', 'py_compile', h.file], dirs.work, {}, tick);
    if (check.code !== 0) {
      throw new BuildError(h.name, check.output);
    }
  },
  replayCommand(h, dirs, input) {
    return {
      command: pythonFor(),
      args: [path.join(dirs.work, h.file), input],
      cwd: path.join(dirs.work, h.dir),
      env: pythonEnv(dirs, h),
    };
  },
  debugTarget(h, dirs, input) {
    return {
      adapter: 'python',
      python: pythonFor(),
      code: ATHERIS_DEBUG_RUNNER,
      args: [path.join(dirs.work, h.file), input],
      cwd: path.join(dirs.work, h.dir),
      env: pythonEnv(dirs, h),
    };
  },
};

/**
 * Under a debugger the harness's TestOneInput is called directly, not through atheris.Fuzz():
 * atheris catches the exception in native code and exits, so the debugger would only see that
 * exit; called from Python, the exception stays uncaught and the debugger stops where it is raised.
 * The harness is imported under another name than `__main__`, so its own `atheris.Fuzz()` does not run.
 */
export const ATHERIS_DEBUG_RUNNER = [
  'import importlib.util, sys',
  'spec = importlib.util.spec_from_file_location("fuzzforge_harness", sys.argv[1])',
  'harness = importlib.util.module_from_spec(spec)',
  'sys.modules[spec.name] = harness',
  'spec.loader.exec_module(harness)',
  'with open(sys.argv[2], "rb") as f:',
  '    data = f.read()',
  'harness.TestOneInput(data)',
  '',
].join('\n');

/** The python of the tools virtualenv (where atheris is installed), else python3 on PATH. */
export function pythonFor(): string {
  const venv = path.join(toolDirs().venv, 'bin', 'python');
  return fs.existsSync(venv) ? venv : 'python3';
}

export function pythonEnv(dirs: CampaignDirs, h: Harness): Record<string, string> {
  const extra = [path.join(dirs.work, h.dir), dirs.work, path.join(dirs.work, 'src')];
  return {
    PYTHONPATH: [...extra, process.env.PYTHONPATH ?? ''].filter(Boolean).join(path.delimiter),
    PYTHONDONTWRITEBYTECODE: '1',
  };
}

// ---------------------------------------------------------------------------------------------
// cargo-fuzz (Rust)

const RUST_TRIPLE = 'x86_64-unknown-linux-gnu';

export function cargoEnv(dirs: CampaignDirs): Record<string, string> {
  return {
    CARGO_TARGET_DIR: dirs.build,
    // cargo-fuzz passes -Z flags; this lets a stable toolchain accept them when no nightly is set.
    RUSTC_BOOTSTRAP: process.env.RUSTC_BOOTSTRAP ?? '1',
  };
}

export function cargoBinary(h: Harness, dirs: CampaignDirs): string {
  return path.join(dirs.build, RUST_TRIPLE, 'release', h.name);
}

const cargoFuzz: HarnessEngine = {
  name: 'cargo-fuzz',
  vertical: 'rust',
  tool: 'cargo-fuzz',
  toolName: 'cargo-fuzz',
  workflow: 'cargo_fuzzing',
  async discover(root) {
    const files = await walk(root, (rel) => /(^|\/)fuzz_targets\/[^/]+\.rs$/.test(rel));
    return files
      .filter((f) => fs.existsSync(path.join(root, path.posix.dirname(path.posix.dirname(f)), 'Cargo.toml')))
      .map((file) => ({
        name: path.posix.basename(file, '.rs'),
        file,
        // The fuzz crate; `cargo fuzz` runs from the crate it fuzzes (its parent).
        dir: path.posix.dirname(path.posix.dirname(file)),
      }));
  },
  async build(h, dirs, params, tick) {
    const sanitizer = params.sanitizer && params.sanitizer !== 'none' ? params.sanitizer : 'address';
    const res = await runQuick(
      'cargo',
      ['fuzz', 'build', '--fuzz-dir', path.join(dirs.work, h.dir), '--sanitizer', sanitizer, h.name],
      path.join(dirs.work, parentOf(h.dir)),
      cargoEnv(dirs),
      tick,
    );
    if (res.code !== 0 || !fs.existsSync(cargoBinary(h, dirs))) {
      throw new BuildError(h.name, res.output);
    }
  },
  replayCommand: (h, dirs, input) => ({ command: cargoBinary(h, dirs), args: [input], cwd: dirs.work }),
  debugTarget: (h, dirs, input) => nativeDebugTarget(cargoBinary(h, dirs), input, dirs.work),
};

/**
 * A libFuzzer binary run once on the input under lldb. AddressSanitizer aborts instead of exiting
 * after its report, so the debugger stops at the faulting frame's caller chain (SIGABRT); leak
 * detection is off since LeakSanitizer cannot run under a debugger.
 */
function nativeDebugTarget(program: string, input: string, cwd: string): DebugTarget {
  return {
    adapter: 'native',
    program,
    args: [input],
    cwd,
    env: { ASAN_OPTIONS: 'abort_on_error=1:detect_leaks=0', UBSAN_OPTIONS: 'halt_on_error=1:abort_on_error=1' },
  };
}

export function parentOf(dir: string): string {
  const p = path.posix.dirname(dir);
  return p === '.' ? '' : p;
}

// ---------------------------------------------------------------------------------------------
// libFuzzer (C/C++ with clang)

const C_SOURCE = /\.(c|cc|cpp|cxx)$/;
const TEST_DIR = /(^|\/)(tests?|examples?|benchmarks?|docs?|third_party)(\/|$)/;

/** clang++ as installed by Debian (`clang++` or a versioned name). */
export function clangxx(): string {
  return process.env.FUZZFORGE_CLANGXX ?? (findOnPath('clang++') ? 'clang++' : 'clang++-14');
}

function findOnPath(command: string): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir && fs.existsSync(path.join(dir, command)));
}

export function sanitizerFlag(params: FuzzParams): string {
  const s = params.sanitizer ?? 'address';
  return s === 'none' ? '-fsanitize=fuzzer' : `-fsanitize=fuzzer,${s}`;
}

const libFuzzer: HarnessEngine = {
  name: 'libfuzzer',
  vertical: 'cpp',
  tool: 'clang++',
  toolName: 'clang',
  workflow: 'libfuzzer_fuzzing',
  async discover(root) {
    const files = await walk(root, (rel) => C_SOURCE.test(rel));
    const out: Harness[] = [];
    for (const file of files) {
      if (await contains(path.join(root, file), /\bLLVMFuzzerTestOneInput\s*\(/)) {
        out.push({ name: path.posix.basename(file).replace(C_SOURCE, ''), file, dir: path.posix.dirname(file) });
      }
    }
    return out;
  },
  async build(h, dirs, params, tick) {
    const out = path.join(dirs.build, h.name);
    if (params.build_command) {
      // OSS-Fuzz convention: the project's own script builds $OUT/<harness>.
      const res = await runQuick(
        'sh',
        ['-c', params.build_command],
        dirs.work,
        {
          CC: clangxx().replace(/\+\+/, ''),
          CXX: clangxx(),
          CFLAGS: `-g -O1 ${sanitizerFlag(params).replace('fuzzer', 'fuzzer-no-link')}`,
          CXXFLAGS: `-g -O1 ${sanitizerFlag(params).replace('fuzzer', 'fuzzer-no-link')}`,
          LIB_FUZZING_ENGINE: '-fsanitize=fuzzer',
          OUT: dirs.build,
        },
        tick,
      );
      if (res.code !== 0 || !fs.existsSync(out)) {
        throw new BuildError(
          h.name,
          `${res.output}\n(build_command must leave the harness binary at $OUT/${h.name}; $OUT=${dirs.build})`,
        );
      }
      const cflags = `-g -O1 ${sanitizerFlag(params).replace('fuzzer', 'fuzzer-no-link')}`;
      return `mkdir -p /tmp/ff-out && OUT=/tmp/ff-out CC=clang CXX=clang++ CFLAGS=${quote(cflags)} CXXFLAGS=${quote(cflags)} LIB_FUZZING_ENGINE=-fsanitize=fuzzer sh -c ${quote(params.build_command)}`;
    }
    // Default: the harness plus every C/C++ source of the workspace that is not a test, another
    // harness or a program (`main`), with every folder holding headers on the include path.
    const all = await walk(dirs.work, (rel) => C_SOURCE.test(rel) || /\.(h|hh|hpp|hxx)$/.test(rel));
    const sources = [h.file];
    for (const f of all) {
      if (f === h.file || !C_SOURCE.test(f) || TEST_DIR.test(f)) {
        continue;
      }
      const abs = path.join(dirs.work, f);
      if (await contains(abs, /\bLLVMFuzzerTestOneInput\s*\(|\bint\s+main\s*\(/)) {
        continue;
      }
      sources.push(f);
    }
    const includes = [...new Set(all.filter((f) => /\.(h|hh|hpp|hxx)$/.test(f)).map((f) => path.posix.dirname(f)))];
    const objects: string[] = [];
    const flags = ['-g', '-O1', '-fno-omit-frame-pointer', sanitizerFlag(params).replace('fuzzer', 'fuzzer-no-link')];
    // C files compile as C (clang++ would treat them as C++ and reject valid C).
    let log = '';
    for (const [i, src] of sources.entries()) {
      const obj = path.join(dirs.build, `${h.name}.${i}.o`);
      const isC = src.endsWith('.c');
      const res = await runQuick(
        isC ? clangxx().replace(/\+\+/, '') : clangxx(),
        [...flags, ...includes.map((d) => `-I${d || '.'}`), '-c', src, '-o', obj],
        dirs.work,
        {},
        tick,
      );
      log += res.output;
      if (res.code !== 0) {
        throw new BuildError(h.name, log);
      }
      objects.push(obj);
    }
    const link = await runQuick(clangxx(), [sanitizerFlag(params), ...objects, '-o', out], dirs.work, {}, tick);
    if (link.code !== 0) {
      throw new BuildError(h.name, log + link.output);
    }
    // The same steps for a person, from the workspace root, into /tmp/ff-out.
    const steps = sources.map((src, i) =>
      shellLine([
        src.endsWith('.c') ? 'clang' : 'clang++',
        ...flags,
        ...includes.map((d) => `-I${d || '.'}`),
        '-c',
        src,
        '-o',
        `/tmp/ff-out/${h.name}.${i}.o`,
      ]),
    );
    const linkStep = shellLine([
      'clang++',
      sanitizerFlag(params),
      ...sources.map((_, i) => `/tmp/ff-out/${h.name}.${i}.o`),
      '-o',
      `/tmp/ff-out/${h.name}`,
    ]);
    return ['mkdir -p /tmp/ff-out', ...steps, linkStep].join(' && ');
  },
  replayCommand: (h, dirs, input) => ({ command: path.join(dirs.build, h.name), args: [input], cwd: dirs.work }),
  debugTarget: (h, dirs, input) => nativeDebugTarget(path.join(dirs.build, h.name), input, dirs.work),
};

// ---------------------------------------------------------------------------------------------
// go test -fuzz

const goFuzz: HarnessEngine = {
  name: 'go-fuzz',
  vertical: 'go',
  tool: 'go',
  workflow: 'go_fuzzing',
  async discover(root) {
    const files = await walk(root, (rel) => rel.endsWith('_test.go'));
    const out: Harness[] = [];
    for (const file of files) {
      let text: string;
      try {
        text = await fs.promises.readFile(path.join(root, file), 'utf8');
      } catch {
        continue;
      }
      for (const m of text.matchAll(/^func (Fuzz\w*)\s*\(\s*\w+\s+\*testing\.F\s*\)/gm)) {
        out.push({ name: m[1] as string, file, dir: path.posix.dirname(file) });
      }
    }
    // Two packages with the same fuzz function name: qualify by folder.
    const counts = new Map<string, number>();
    for (const h of out) {
      counts.set(h.name, (counts.get(h.name) ?? 0) + 1);
    }
    return out.map((h) => ((counts.get(h.name) ?? 0) > 1 ? { ...h, name: `${h.dir}/${h.name}` } : h));
  },
  async build(h, dirs, _params, tick) {
    // Compile the fuzz-instrumented test binary before the clock starts: a build failure is
    // reported with the compiler output, and `go test -fuzz` then finds it in the build cache
    // instead of spending the campaign's first seconds (all of them, on a cold cache) compiling.
    fs.mkdirSync(dirs.build, { recursive: true });
    const fn = goFuncName(h);
    const res = await runQuick(
      'go',
      ['test', '-c', '-fuzz', `^${fn}$`, '-o', path.join(dirs.build, `${fn}.test`), '.'],
      path.join(dirs.work, h.dir),
      goEnv(),
      tick,
    );
    if (res.code !== 0) {
      throw new BuildError(h.name, res.output);
    }
  },
  replayCommand(h, dirs, input) {
    // `go test` replays inputs from testdata/fuzz/<Fuzz>/; put it there under a fixed name.
    const fn = goFuncName(h);
    const dest = path.join(dirs.work, h.dir, 'testdata', 'fuzz', fn, 'fuzzforge-replay');
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    if (path.resolve(input) !== dest) {
      fs.copyFileSync(input, dest);
    }
    return {
      command: 'go',
      args: ['test', '-count=1', '-run', goReplayPattern(h), '.'],
      cwd: path.join(dirs.work, h.dir),
      env: goEnv(),
    };
  },
  debugTarget(h, dirs, input) {
    // Delve builds the package's tests without optimisations and runs the same stored input.
    const replay = this.replayCommand(h, dirs, input);
    return {
      adapter: 'go-test',
      program: replay.cwd,
      args: ['-test.count=1', '-test.run', goReplayPattern(h)],
      cwd: replay.cwd,
      env: goEnv(),
      output: path.join(dirs.build, `${goFuncName(h)}.debug.test`),
    };
  },
};

/** `-run` pattern of the one stored input replay puts in testdata/fuzz/<Fuzz>/. */
function goReplayPattern(h: Harness): string {
  return `^${goFuncName(h)}$/^fuzzforge-replay$`;
}

export function goFuncName(h: Harness): string {
  return h.name.split('/').pop() as string;
}

export function goEnv(): Record<string, string> {
  // Module downloads come from the configured proxy; nothing else is fetched.
  return { GOFLAGS: process.env.GOFLAGS ?? '-mod=mod' };
}

export const HARNESS_ENGINES: Record<FuzzEngineName, HarnessEngine> = {
  atheris,
  'cargo-fuzz': cargoFuzz,
  libfuzzer: libFuzzer,
  'go-fuzz': goFuzz,
};

/** Pick harnesses by `target` (name or file path); all when it is empty. Throws naming the choices. */
export function selectHarnesses(
  found: readonly Harness[],
  target: string | undefined,
  engine: FuzzEngineName,
): Harness[] {
  if (found.length === 0) {
    throw new Error(`no ${engine} harness found in the workspace (${HARNESS_CONVENTION[engine]})`);
  }
  if (!target) {
    return [...found];
  }
  const picked = found.filter((h) => h.name === target || h.file === target || h.file === target.replace(/^\.\//, ''));
  if (picked.length === 0) {
    throw new Error(
      `no ${engine} harness named "${target}"; found: ${found.map((h) => `${h.name} (${h.file})`).join(', ')}`,
    );
  }
  return picked;
}

export const HARNESS_CONVENTION: Record<FuzzEngineName, string> = {
  atheris: 'Python files that define TestOneInput and use atheris',
  'cargo-fuzz': 'fuzz/fuzz_targets/*.rs in a crate made by `cargo fuzz init`',
  libfuzzer: 'C/C++ files that define LLVMFuzzerTestOneInput',
  'go-fuzz': 'func FuzzXxx(f *testing.F) in _test.go files',
};

/** Run a short command (build, check), collecting output; never throws on a non-zero exit. */
export async function runQuick(
  command: string,
  args: readonly string[],
  cwd: string,
  env: Record<string, string> = {},
  tick?: () => void,
): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], {
      cwd,
      // Builds run workspace code (build scripts, proc macros): no backend credentials.
      env: { ...toolEnv(), ...env, PATH: [...toolSearchPath(), process.env.PATH ?? ''].join(path.delimiter) },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    // Heartbeat (and notice a cancel) while it runs; a cancel kills the whole process group.
    const timer = tick
      ? setInterval(() => {
          try {
            tick();
          } catch (err) {
            killGroup(child.pid);
            clearInterval(timer);
            reject(err instanceof Error ? err : new Error(String(err)));
          }
        }, 2000)
      : undefined;
    const chunks: Buffer[] = [];
    let bytes = 0;
    const keep = (c: Buffer) => {
      chunks.push(c);
      bytes += c.length;
      while (bytes > 256 * 1024 && chunks.length > 1) {
        bytes -= (chunks.shift() as Buffer).length;
      }
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (err) => {
      clearInterval(timer);
      resolve({ code: 127, output: `${command}: ${err.message}` });
    });
    child.on('close', (code, signal) => {
      clearInterval(timer);
      resolve({ code: code ?? (signal ? 128 : 1), output: Buffer.concat(chunks).toString('utf8') });
    });
  });
}
