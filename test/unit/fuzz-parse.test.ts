import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
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
