import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { ENGINES, selectHarnesses } from '../../toolbox/modules/fuzzing/engines';
import { buildCrashSarif, crashRuleId } from '../../toolbox/modules/fuzzing/report';
import type { CrashRecord } from '../../toolbox/shared/fuzzing';
import { crashSignature, parseCrash, parseGoFuzzLine, parseLibFuzzerLine } from '../../toolbox/modules/fuzzing/parse';

describe('fuzzer statistics lines', () => {
  it('parses libFuzzer status lines (also printed by atheris and cargo-fuzz)', () => {
    assert.deepEqual(
      parseLibFuzzerLine(
        '#4096\tNEW    cov: 52 ft: 60 corp: 7/33b lim: 43 exec/s: 2048 rss: 31Mb L: 5/7 MS: 1 ChangeBit-',
      ),
      {
        execs: 4096,
        coverage: 52,
        features: 60,
        corpusSize: 7,
        corpusBytes: 33,
        execsPerSec: 2048,
        rssMb: 31,
      },
    );
    assert.deepEqual(parseLibFuzzerLine('#1048576\tpulse  cov: 9 ft: 9 corp: 3/2Kb exec/s: 349525 rss: 44Mb'), {
      execs: 1048576,
      coverage: 9,
      features: 9,
      corpusSize: 3,
      corpusBytes: 2048,
      execsPerSec: 349525,
      rssMb: 44,
    });
    assert.equal(parseLibFuzzerLine('INFO: Seed: 1234'), undefined);
    // -fork=N: the parent's own summary line.
    assert.deepEqual(
      parseLibFuzzerLine(
        '#126264: cov: 7 ft: 9 corp: 4 exec/s 126264 oom/timeout/crash: 0/0/0 time: 2s job: 2 dft_time: 0',
      ),
      { execs: 126264, coverage: 7, features: 9, corpusSize: 4, execsPerSec: 126264 },
    );
    assert.equal(parseLibFuzzerLine('#12 NEW cov: x'), undefined);
  });

  it('parses go test -fuzz progress lines', () => {
    assert.deepEqual(parseGoFuzzLine('fuzz: elapsed: 6s, execs: 123456 (20576/sec), new interesting: 4 (total: 12)'), {
      elapsedSec: 6,
      execs: 123456,
      execsPerSec: 20576,
      newInteresting: 4,
      corpusSize: 12,
    });
    assert.deepEqual(parseGoFuzzLine('fuzz: elapsed: 0s, execs: 0 (0/sec)'), {
      elapsedSec: 0,
      execs: 0,
      execsPerSec: 0,
    });
    assert.equal(parseGoFuzzLine('ok  example.com/x 0.1s'), undefined);
  });
});

const ASAN = `INFO: Running with entropic power schedule
==4242==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x602000000011 at pc 0x55d0 bp 0x7ffd sp 0x7ffd
READ of size 1 at 0x602000000011 thread T0
    #0 0x55d0a1 in parse_header /work/app/src/parser.c:42:13
    #1 0x55d0b2 in LLVMFuzzerTestOneInput /work/app/fuzz/fuzz_parser.c:9:3
    #2 0x55d0c3 in fuzzer::Fuzzer::ExecuteCallback(unsigned char const*, unsigned long) /src/llvm/FuzzerLoop.cpp:611:15

SUMMARY: AddressSanitizer: heap-buffer-overflow /work/app/src/parser.c:42:13 in parse_header
`;

const GO = `--- FAIL: FuzzParse (0.02s)
    --- FAIL: FuzzParse (0.00s)
        testing.go:1591: panic: runtime error: index out of range [5] with length 3
panic: runtime error: index out of range [5] with length 3 [recovered]
goroutine 7 [running]:
example.com/app.parseRecord({0xc000012345, 0x3, 0x8})
\t/work/app/record.go:27 +0x1c5
example.com/app.FuzzParse.func1(0x0?, {0xc000012345, 0x3, 0x8})
\t/work/app/record_test.go:14 +0x2b
`;

const PY = `INFO: Instrumenting functions
=== Uncaught Python exception: ===
ValueError: bad magic number
Traceback (most recent call last):
  File "/work/app/fuzz_decode.py", line 11, in TestOneInput
    decode(data)
  File "/work/app/codec.py", line 30, in decode
    raise ValueError("bad magic number")
==1234== ERROR: libFuzzer: deadly signal
`;

const RUST = `thread '<unnamed>' panicked at src/lib.rs:17:9:
attempt to subtract with overflow
note: run with \`RUST_BACKTRACE=1\` environment variable to display a backtrace
==99== ERROR: libFuzzer: deadly signal
`;

describe('crash reports', () => {
  it('reads sanitizer reports with their frames', () => {
    const crash = parseCrash(ASAN);
    assert.equal(crash?.kind, 'heap-buffer-overflow');
    assert.match(crash?.summary ?? '', /^AddressSanitizer: heap-buffer-overflow on address/);
    assert.deepEqual(crash?.frames.slice(0, 2), [
      { function: 'parse_header', file: '/work/app/src/parser.c', line: 42 },
      { function: 'LLVMFuzzerTestOneInput', file: '/work/app/fuzz/fuzz_parser.c', line: 9 },
    ]);
  });

  it('reads Go panics, Python exceptions and Rust panics', () => {
    const go = parseCrash(GO);
    assert.equal(go?.kind, 'index out of range');
    assert.deepEqual(go?.frames[0], { function: 'example.com/app.parseRecord', file: '/work/app/record.go', line: 27 });
    const py = parseCrash(PY);
    assert.equal(py?.kind, 'ValueError');
    assert.equal(py?.summary, 'ValueError: bad magic number');
    assert.deepEqual(py?.frames[0], { function: 'decode', file: '/work/app/codec.py', line: 30 });
    const rust = parseCrash(RUST);
    assert.equal(rust?.kind, 'rust-panic');
    assert.equal(rust?.summary, 'panicked at src/lib.rs:17: attempt to subtract with overflow');
  });

  it('recognises timeouts and out-of-memory, and returns nothing for clean output', () => {
    assert.equal(parseCrash('==1== ERROR: libFuzzer: timeout after 25 seconds')?.kind, 'timeout');
    assert.equal(parseCrash('==1== ERROR: libFuzzer: out-of-memory (used: 2100Mb; exceeds: 2048Mb)')?.kind, 'oom');
    assert.equal(parseCrash('Done 100000 runs in 3 second(s)'), undefined);
  });
});

describe('crash signatures', () => {
  const inWorkspace = (file: string) => file.startsWith('/work/app/');
  it('are stable across inputs and line shifts, and differ between bugs', () => {
    const a = parseCrash(ASAN)!;
    const shifted = parseCrash(ASAN.replace('parser.c:42:13', 'parser.c:57:13'))!;
    assert.equal(crashSignature(a, inWorkspace), crashSignature(shifted, inWorkspace));
    const other = parseCrash(ASAN.replace(/parse_header/g, 'parse_body'))!;
    assert.notEqual(crashSignature(a, inWorkspace), crashSignature(other, inWorkspace));
    const otherKind = parseCrash(ASAN.replace(/heap-buffer-overflow/g, 'stack-use-after-return'))!;
    assert.notEqual(crashSignature(a, inWorkspace), crashSignature(otherKind, inWorkspace));
  });
  it('ignore frames outside the workspace when there are workspace frames', () => {
    const a = parseCrash(ASAN)!;
    const moreRuntime = parseCrash(ASAN.replace('/src/llvm/FuzzerLoop.cpp:611:15', '/src/llvm/FuzzerLoop.cpp:700:1'))!;
    assert.equal(crashSignature(a, inWorkspace, 5), crashSignature(moreRuntime, inWorkspace, 5));
  });
});

describe('crash reports as the fuzzers print them today', () => {
  it('reads go test -fuzz reports, which indent the panic behind the testing.go location', () => {
    const out = [
      '--- FAIL: FuzzParse (1.45s)',
      '    --- FAIL: FuzzParse (0.00s)',
      '        testing.go:1927: panic: runtime error: index out of range [5] with length 5',
      '            goroutine 42 [running]:',
      '            runtime/debug.Stack()',
      '            \t/usr/local/go/src/runtime/debug/stack.go:26 +0x9b',
      '            example.com/fuzzgo.ParseRecord({0xc000012345, 0x5, 0x5})',
      '            \t/work/ws/parse.go:44 +0x1b6',
      '    Failing input written to testdata/fuzz/FuzzParse/2afbebb46eb7b327',
    ].join('\n');
    const crash = parseCrash(out);
    assert.equal(crash?.kind, 'index out of range');
    assert.deepEqual(
      crash?.frames.map((f) => [f.function, f.file, f.line]),
      [
        ['runtime/debug.Stack', '/usr/local/go/src/runtime/debug/stack.go', 26],
        ['example.com/fuzzgo.ParseRecord', '/work/ws/parse.go', 44],
      ],
    );
  });

  it('reads atheris reports (indented headline) and Rust panics that name the thread id', () => {
    const py = parseCrash(
      ' === Uncaught Python exception: ===\nIndexError: index out of range\nTraceback (most recent call last):\n  File "/w/fuzz_parser.py", line 17, in TestOneInput\n  File "/w/parser.py", line 34, in parse_record\n',
    );
    assert.equal(py?.kind, 'IndexError');
    assert.deepEqual(py?.frames[0], { function: 'parse_record', file: '/w/parser.py', line: 34 });
    const rust = parseCrash(
      "thread '<unnamed>' (12345) panicked at /w/src/lib.rs:42:19:\nindex out of bounds: the len is 5 but the index is 5\n",
    );
    assert.equal(rust?.kind, 'rust-panic');
    assert.deepEqual(rust?.frames[0], { function: 'panic', file: '/w/src/lib.rs', line: 42 });
  });
});

describe('harness discovery and selection', () => {
  const fixtures = path.join(__dirname, '..', 'fixtures');
  it('finds each fixture harness by its language convention', async () => {
    assert.deepEqual(await ENGINES.libfuzzer.discover(path.join(fixtures, 'fuzz-cpp')), [
      { name: 'fuzz_parse', file: 'fuzz/fuzz_parse.cc', dir: 'fuzz' },
    ]);
    assert.deepEqual(await ENGINES.atheris.discover(path.join(fixtures, 'fuzz-python')), [
      { name: 'fuzz_parser', file: 'fuzz_parser.py', dir: '.' },
    ]);
    assert.deepEqual(await ENGINES['go-fuzz'].discover(path.join(fixtures, 'fuzz-go')), [
      { name: 'FuzzParse', file: 'parse_test.go', dir: '.' },
    ]);
    assert.deepEqual(await ENGINES['cargo-fuzz'].discover(path.join(fixtures, 'fuzz-rust')), [
      { name: 'parse', file: 'fuzz/fuzz_targets/parse.rs', dir: 'fuzz' },
    ]);
    // Other engines' harnesses are not mistaken for one's own.
    assert.deepEqual(await ENGINES.atheris.discover(path.join(fixtures, 'fuzz-cpp')), []);
  });

  it('selects by name or path and names the choices when nothing matches', () => {
    const found = [
      { name: 'a', file: 'fuzz/a.cc', dir: 'fuzz' },
      { name: 'b', file: 'fuzz/b.cc', dir: 'fuzz' },
    ];
    assert.deepEqual(selectHarnesses(found, undefined, 'libfuzzer'), found);
    assert.deepEqual(selectHarnesses(found, './fuzz/b.cc', 'libfuzzer'), [found[1]]);
    assert.throws(
      () => selectHarnesses(found, 'c', 'libfuzzer'),
      /no libfuzzer harness named "c"; found: a \(fuzz\/a\.cc\), b/,
    );
    assert.throws(() => selectHarnesses([], undefined, 'go-fuzz'), /no go-fuzz harness found.*FuzzXxx/);
  });
});

describe('crashes as SARIF', () => {
  const crash: CrashRecord = {
    id: '0123456789abcdef',
    engine: 'libfuzzer',
    harness: 'fuzz_parse',
    harnessFile: 'fuzz/fuzz_parse.cc',
    kind: 'heap-buffer-overflow',
    summary: 'AddressSanitizer: heap-buffer-overflow',
    frames: [
      { function: '__asan_memcpy', file: '/usr/lib/llvm/asan.cpp', line: 9 },
      { function: 'parse_record', file: 'src/parse.cc', line: 26 },
      { function: 'LLVMFuzzerTestOneInput', file: 'fuzz/fuzz_parse.cc', line: 16 },
    ],
    hits: 7,
    firstSeen: '2026-11-24T00:00:00.000Z',
    lastSeen: '2026-11-24T00:00:09.000Z',
    inputKey: 'runs/r/crashes/0123456789abcdef/input',
    inputBytes: 6,
    minimizedKey: 'runs/r/crashes/0123456789abcdef/minimized',
    minimizedBytes: 5,
    stackKey: 'runs/r/crashes/0123456789abcdef/stack.txt',
    reproduce: './fuzz_parse crash-0123456789abcdef',
  };

  it('locates the result at the top workspace frame, with the stack as a code flow and the inputs attached', () => {
    const log = buildCrashSarif('libfuzzer', [crash], 'file:///ws', 'results');
    const run = log.runs[0];
    const r = run?.results?.[0];
    assert.equal(run?.tool.driver.name, 'libFuzzer');
    assert.equal(r?.ruleId, 'fuzz/heap-buffer-overflow');
    assert.equal(r?.level, 'error');
    assert.deepEqual(r?.locations?.[0]?.physicalLocation, {
      artifactLocation: { uri: 'src/parse.cc', uriBaseId: 'SRCROOT' },
      region: { startLine: 26 },
    });
    assert.equal(r?.codeFlows?.[0]?.threadFlows[0]?.locations.length, 3);
    // Frames outside the workspace are described, not linked.
    assert.equal(r?.codeFlows?.[0]?.threadFlows[0]?.locations[0]?.location.physicalLocation, undefined);
    assert.deepEqual(
      r?.attachments?.map((a) => a.artifactLocation.uri),
      ['s3://results/runs/r/crashes/0123456789abcdef/input', 's3://results/runs/r/crashes/0123456789abcdef/minimized'],
    );
    assert.match(r?.message.text ?? '', /hit 7 times/);
    assert.equal(r?.partialFingerprints?.['fuzzforge/crash/v1'], crash.id);
    assert.deepEqual(run?.tool.driver.rules?.[0]?.properties?.tags, ['security', 'fuzzing', 'external/cwe/cwe-122']);
  });

  it('rates timeouts and out-of-memory as warnings and falls back to the harness file', () => {
    const log = buildCrashSarif('go-fuzz', [{ ...crash, kind: 'timeout', frames: [] }], 'file:///ws', 'results');
    const r = log.runs[0]?.results?.[0];
    assert.equal(r?.level, 'warning');
    assert.equal(r?.locations?.[0]?.physicalLocation?.artifactLocation?.uri, 'fuzz/fuzz_parse.cc');
    assert.equal(r?.codeFlows, undefined);
    assert.equal(crashRuleId('index out of range'), 'fuzz/index-out-of-range');
  });
});
