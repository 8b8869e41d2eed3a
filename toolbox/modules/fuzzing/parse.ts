// Pure parsing of fuzzer output: live statistics lines (libFuzzer, which atheris and cargo-fuzz
// print too, and `go test -fuzz`) and crash reports (sanitizers, Go panics, Python exceptions,
// Rust panics), plus the signature that deduplicates crashes. No I/O here.
import * as crypto from 'node:crypto';

/** The statistics every fuzzing vertical reports (missing values stay undefined). */
export interface FuzzStats {
  execs?: number;
  execsPerSec?: number;
  coverage?: number;
  features?: number;
  corpusSize?: number;
  corpusBytes?: number;
  rssMb?: number;
  /** Seconds since the fuzzer started, when the line says. */
  elapsedSec?: number;
  newInteresting?: number;
}

const SIZE = /^(\d+)(b|Kb|Mb|Gb)$/;

function bytes(text: string): number | undefined {
  const m = SIZE.exec(text);
  if (!m) {
    return undefined;
  }
  const mult = { b: 1, Kb: 1024, Mb: 1024 ** 2, Gb: 1024 ** 3 }[m[2] as 'b' | 'Kb' | 'Mb' | 'Gb'];
  return Number(m[1]) * mult;
}

/**
 * A libFuzzer status line, e.g. `#4096	NEW    cov: 52 ft: 60 corp: 7/33b lim: 43 exec/s: 2048 rss: 31Mb`,
 * or undefined for any other line.
 */
export function parseLibFuzzerLine(line: string): FuzzStats | undefined {
  // Fork mode (-fork=N, our `jobs`): the parent's summary of its jobs.
  const fork = /^#(\d+): cov: (\d+) ft: (\d+) corp: (\d+) exec\/s:? (\d+)/.exec(line.trim());
  if (fork) {
    return {
      execs: Number(fork[1]),
      coverage: Number(fork[2]),
      features: Number(fork[3]),
      corpusSize: Number(fork[4]),
      execsPerSec: Number(fork[5]),
    };
  }
  const m = /^#(\d+)\s+(\w+)\s+(.*)$/.exec(line.trim());
  if (!m) {
    return undefined;
  }
  const stats: FuzzStats = { execs: Number(m[1]) };
  const fields = m[3] ?? '';
  const num = (key: string) => {
    const f = new RegExp(`(?:^|\\s)${key}:\\s*(\\S+)`).exec(fields);
    return f?.[1];
  };
  const cov = num('cov');
  if (cov !== undefined) {
    stats.coverage = Number(cov);
  }
  const ft = num('ft');
  if (ft !== undefined) {
    stats.features = Number(ft);
  }
  const corp = num('corp');
  if (corp) {
    const [count, size] = corp.split('/');
    stats.corpusSize = Number(count);
    const b = size ? bytes(size) : undefined;
    if (b !== undefined) {
      stats.corpusBytes = b;
    }
  }
  const eps = num('exec/s');
  if (eps !== undefined) {
    stats.execsPerSec = Number(eps);
  }
  const rss = num('rss');
  if (rss) {
    stats.rssMb = Number(rss.replace(/Mb$/, ''));
  }
  return Object.values(stats).some((v) => Number.isNaN(v)) ? undefined : stats;
}

/**
 * A `go test -fuzz` progress line, e.g.
 * `fuzz: elapsed: 6s, execs: 123456 (20576/sec), new interesting: 4 (total: 12)`.
 */
export function parseGoFuzzLine(line: string): FuzzStats | undefined {
  const m = /fuzz: elapsed: (\d+)s, execs: (\d+) \((\d+)\/sec\)(?:, new interesting: (\d+) \(total: (\d+)\))?/.exec(
    line,
  );
  if (!m) {
    return undefined;
  }
  return {
    elapsedSec: Number(m[1]),
    execs: Number(m[2]),
    execsPerSec: Number(m[3]),
    ...(m[4] !== undefined ? { newInteresting: Number(m[4]), corpusSize: Number(m[5]) } : {}),
  };
}

export interface StackFrame {
  function: string;
  file?: string;
  line?: number;
}

export interface CrashReport {
  /** e.g. heap-buffer-overflow, SEGV, panic: index out of range, ValueError, timeout, oom. */
  kind: string;
  /** The report's headline, for people. */
  summary: string;
  frames: StackFrame[];
}

const ASAN_HEAD = /==\d+==ERROR: (\w+Sanitizer|libFuzzer): ([\w-]+(?: on unknown address)?)/;
const ASAN_FRAME = /^\s*#\d+ 0x[0-9a-f]+ in (.+?) (\/[^:\s]+|[\w./-]+\.\w+):(\d+)(?::\d+)?\s*$/;
// `go test -fuzz` indents the report and prefixes it with the testing.go location.
const GO_PANIC = /^\s*(?:\S+\.go:\d+: )?panic: (.+)$/m;
const GO_FRAME_FN = /^([\w./*()-]+(?:\.[\w*()-]+)+)\(.*\)$/;
const GO_FRAME_LOC = /^\s*(\S+\.go):(\d+)/;
const PY_EXC = /^\s*=== Uncaught Python exception: ===\n(\w+(?:\.\w+)*)(?::\s*(.*))?$/m;
const PY_FRAME = /^\s*File "([^"]+)", line (\d+), in (\S+)/;
const RUST_PANIC = /thread '[^']*'(?: \(\d+\))? panicked at ([^:\n]+):(\d+):\d+:\n(.*)/;

/** Parse the first crash report in a fuzzer's output, or undefined when there is none. */
export function parseCrash(output: string): CrashReport | undefined {
  if (/ERROR: libFuzzer: timeout/.test(output)) {
    return { kind: 'timeout', summary: 'libFuzzer: timeout', frames: asanFrames(output) };
  }
  if (/ERROR: libFuzzer: out-of-memory/.test(output)) {
    return { kind: 'oom', summary: 'libFuzzer: out-of-memory', frames: asanFrames(output) };
  }
  const rust = RUST_PANIC.exec(output);
  if (rust) {
    return {
      kind: 'rust-panic',
      summary: `panicked at ${rust[1]}:${rust[2]}: ${rust[3]?.trim() ?? ''}`,
      frames: [{ function: 'panic', file: rust[1], line: Number(rust[2]) }, ...asanFrames(output)],
    };
  }
  const py = PY_EXC.exec(output);
  if (py) {
    const frames: StackFrame[] = [];
    for (const line of output.slice(py.index).split('\n')) {
      const f = PY_FRAME.exec(line);
      if (f) {
        frames.push({ function: f[3] as string, file: f[1], line: Number(f[2]) });
      }
    }
    // Python tracebacks list the innermost call last; crash frames go innermost first.
    return { kind: py[1] as string, summary: `${py[1]}${py[2] ? `: ${py[2]}` : ''}`, frames: frames.reverse() };
  }
  const asan = ASAN_HEAD.exec(output);
  if (asan) {
    const kind = (asan[2] as string).replace(/ on unknown address$/, '');
    const line = output.slice(asan.index).split('\n')[0] ?? '';
    return { kind, summary: line.replace(/^==\d+==ERROR: /, ''), frames: asanFrames(output.slice(asan.index)) };
  }
  const go = GO_PANIC.exec(output);
  if (go) {
    const lines = output.slice(go.index).split('\n');
    const frames: StackFrame[] = [];
    for (let i = 0; i < lines.length - 1; i++) {
      const fn = GO_FRAME_FN.exec((lines[i] ?? '').trim());
      const loc = GO_FRAME_LOC.exec(lines[i + 1] ?? '');
      if (fn && loc) {
        frames.push({ function: fn[1] as string, file: loc[1], line: Number(loc[2]) });
      }
    }
    const message = (go[1] as string).replace(/ \[recovered\]$/, '');
    const kind = message.startsWith('runtime error: ')
      ? message.replace(/ \[.*$/, '').replace(/^runtime error: /, '')
      : 'panic';
    return { kind, summary: `panic: ${message}`, frames: frames.filter((f) => !f.function.startsWith('panic')) };
  }
  return undefined;
}

function asanFrames(text: string): StackFrame[] {
  const frames: StackFrame[] = [];
  for (const line of text.split('\n')) {
    const f = ASAN_FRAME.exec(line);
    if (f) {
      frames.push({ function: f[1] as string, file: f[2], line: Number(f[3]) });
    } else if (frames.length > 0 && line.trim() === '') {
      break;
    }
  }
  return frames;
}

/**
 * The identity of a crash: its kind plus the top frames that lie in the workspace (by file path),
 * so the same bug hit through many inputs is stored once. Falls back to the top frames overall
 * when none is in the workspace.
 */
export function crashSignature(crash: CrashReport, isWorkspaceFile: (file: string) => boolean, depth = 3): string {
  const own = crash.frames.filter((f) => f.file && isWorkspaceFile(f.file));
  const frames = (own.length > 0 ? own : crash.frames).slice(0, depth);
  // Functions and files, not line numbers: an unrelated edit above the bug must not make the same
  // crash look new in the next campaign.
  const text = [crash.kind, ...frames.map((f) => `${f.function}@${(f.file ?? '').split('/').pop() ?? ''}`)].join('|');
  return crypto.createHash('sha256').update(text).digest('hex').slice(0, 16);
}
