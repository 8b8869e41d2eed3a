// Unique crashes as SARIF: one result per crash, located at its top workspace frame, with the
// stack as a code flow and the crashing input as an attachment. Pure: no I/O.
import type { SarifLocation, SarifLog, SarifResult, SarifRule } from '../../../backend/sarif/types';
import { version as fuzzforgeVersion } from '../../../package.json';
import type { CrashRecord, FuzzEngineName } from '../../shared/fuzzing';

const SRCROOT = 'SRCROOT';

const DRIVER: Record<FuzzEngineName, { name: string; informationUri: string }> = {
  atheris: { name: 'atheris', informationUri: 'https://github.com/google/atheris' },
  'cargo-fuzz': { name: 'cargo-fuzz', informationUri: 'https://rust-fuzz.github.io/book/cargo-fuzz.html' },
  libfuzzer: { name: 'libFuzzer', informationUri: 'https://llvm.org/docs/LibFuzzer.html' },
  'go-fuzz': { name: 'go test -fuzz', informationUri: 'https://go.dev/doc/security/fuzz/' },
};

/** Rule id of a crash kind: `fuzz/heap-buffer-overflow`, `fuzz/index-out-of-range`, `fuzz/ValueError`. */
export function crashRuleId(kind: string): string {
  return `fuzz/${kind.replace(/[^\w.-]+/g, '-').replace(/^-+|-+$/g, '') || 'crash'}`;
}

function levelOf(kind: string): 'error' | 'warning' {
  return kind === 'timeout' || kind === 'oom' || kind === 'leak' ? 'warning' : 'error';
}

const CWE: Record<string, string> = {
  'heap-buffer-overflow': 'CWE-122',
  'stack-buffer-overflow': 'CWE-121',
  'global-buffer-overflow': 'CWE-125',
  'heap-use-after-free': 'CWE-416',
  'double-free': 'CWE-415',
  SEGV: 'CWE-476',
  'index out of range': 'CWE-129',
  'slice bounds out of range': 'CWE-129',
  'integer divide by zero': 'CWE-369',
  'nil pointer dereference': 'CWE-476',
  timeout: 'CWE-835',
  oom: 'CWE-400',
  leak: 'CWE-401',
};

function frameLocation(frame: CrashRecord['frames'][number], inWorkspace: boolean): SarifLocation {
  const text = `${frame.function}${frame.file ? ` (${frame.file}${frame.line ? `:${frame.line}` : ''})` : ''}`;
  if (inWorkspace && frame.file) {
    return {
      physicalLocation: {
        artifactLocation: { uri: encodeURI(frame.file), uriBaseId: SRCROOT },
        ...(frame.line ? { region: { startLine: frame.line } } : {}),
      },
      message: { text },
    };
  }
  return { message: { text } };
}

/** A frame is in the workspace when its file path is relative (the campaign made it so). */
function isWorkspaceFrame(frame: CrashRecord['frames'][number]): boolean {
  return !!frame.file && !frame.file.startsWith('/') && !frame.file.startsWith('<') && !frame.file.includes('\\');
}

export function buildCrashSarif(
  engine: FuzzEngineName,
  crashes: readonly CrashRecord[],
  rootUri: string,
  bucket: string,
): SarifLog {
  const rules = new Map<string, SarifRule>();
  const results: SarifResult[] = [];
  for (const c of [...crashes].sort((a, b) => a.firstSeen.localeCompare(b.firstSeen) || a.id.localeCompare(b.id))) {
    const ruleId = crashRuleId(c.kind);
    if (!rules.has(ruleId)) {
      const cwe = CWE[c.kind];
      rules.set(ruleId, {
        id: ruleId,
        name: c.kind,
        shortDescription: { text: `Fuzzing found a ${c.kind}` },
        help: {
          text: `The fuzzer found an input that makes the harness fail with ${c.kind}. Replay it with \`fuzzforge replay <run> <crash>\`, fix the bug, and keep the input as a regression test.`,
        },
        defaultConfiguration: { level: levelOf(c.kind) },
        properties: { tags: ['security', 'fuzzing', ...(cwe ? [`external/cwe/${cwe.toLowerCase()}`] : [])] },
      });
    }
    const top = c.frames.find(isWorkspaceFrame);
    const location: SarifLocation = top
      ? frameLocation(top, true)
      : {
          physicalLocation: { artifactLocation: { uri: encodeURI(c.harnessFile), uriBaseId: SRCROOT } },
          message: { text: `harness ${c.harness}` },
        };
    const flowFrames = c.frames.filter((f) => f.function || f.file).slice(0, 30);
    results.push({
      ruleId,
      ruleIndex: [...rules.keys()].indexOf(ruleId),
      level: levelOf(c.kind),
      message: {
        text: `${c.summary} (harness ${c.harness}, hit ${c.hits} time${c.hits === 1 ? '' : 's'}, crash ${c.id}; replay: fuzzforge replay <run> ${c.id})`,
      },
      locations: [location],
      ...(flowFrames.length > 0
        ? {
            codeFlows: [
              {
                message: { text: `stack of ${c.kind}, innermost frame first` },
                threadFlows: [
                  {
                    locations: flowFrames.map((f, i) => ({
                      location: frameLocation(f, isWorkspaceFrame(f)),
                      nestingLevel: i,
                    })),
                  },
                ],
              },
            ],
          }
        : {}),
      attachments: [
        {
          description: { text: `crashing input (${c.inputBytes} bytes)` },
          artifactLocation: { uri: `s3://${bucket}/${c.inputKey}` },
        },
        ...(c.minimizedKey
          ? [
              {
                description: { text: `minimised input (${c.minimizedBytes ?? 0} bytes)` },
                artifactLocation: { uri: `s3://${bucket}/${c.minimizedKey}` },
              },
            ]
          : []),
      ],
      partialFingerprints: { 'fuzzforge/crash/v1': c.id },
      properties: {
        crashId: c.id,
        kind: c.kind,
        harness: c.harness,
        hits: c.hits,
        firstSeen: c.firstSeen,
        lastSeen: c.lastSeen,
        reproduce: c.reproduce,
      },
    });
  }
  const driver = DRIVER[engine];
  return {
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: driver.name,
            version: fuzzforgeVersion,
            semanticVersion: fuzzforgeVersion,
            informationUri: driver.informationUri,
            rules: [...rules.values()],
          },
        },
        originalUriBaseIds: { [SRCROOT]: { uri: rootUri.endsWith('/') ? rootUri : `${rootUri}/` } },
        results,
        invocations: [{ executionSuccessful: true }],
      },
    ],
  };
}
