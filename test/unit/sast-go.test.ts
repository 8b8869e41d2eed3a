// The pure parts of the go_sast tools: go vet JSON and gosec output to findings, Go package
// grouping, and the shared SARIF surgery of native.ts.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import type { SarifRule, SarifRun } from '../../backend/sarif/types';
import { redactRun } from '../../toolbox/modules/reporters/redact';
import {
  finishGosecRun,
  gosecArgs,
  moduleVersionFromBuildInfo,
  parseGosecJson,
  restoreGosecPaths,
} from '../../toolbox/modules/sast/gosec';
import {
  goVetDiagnostics,
  parseJsonStream,
  parsePosn,
  splitLoadable,
  vetFindings,
  vetRule,
} from '../../toolbox/modules/sast/govet';
import {
  describeFailure,
  goPackageGroups,
  keepTargetResults,
  mergeRuns,
  relationshipCwes,
} from '../../toolbox/modules/sast/native';
import { runError } from '../../toolbox/modules/sast/common';

const VET_OUTPUT = `# example.com/app
{
	"example.com/app": {
		"copylocks": [
			{
				"posn": "/w/app/main.go:26:9",
				"end": "/w/app/main.go:26:16",
				"message": "value passes lock by value: example.com/app.counter contains sync.Mutex"
			}
		],
		"printf": [
			{
				"posn": "/w/app/main.go:75:14",
				"message": "fmt.Printf format %d has arg \\"all\\" of wrong type string"
			}
		]
	}
}
{}
{
	"example.com/app/tools": {
		"unusedresult": { "error": "analysis skipped: package has type errors" }
	}
}
`;

describe('go vet -json output', () => {
  it('reads every package object, skipping header lines, with analyzer names as rules', () => {
    const { diagnostics, errors } = goVetDiagnostics(VET_OUTPUT);
    assert.deepEqual(diagnostics, [
      {
        analyzer: 'copylocks',
        file: '/w/app/main.go',
        line: 26,
        column: 9,
        message: 'value passes lock by value: example.com/app.counter contains sync.Mutex',
      },
      {
        analyzer: 'printf',
        file: '/w/app/main.go',
        line: 75,
        column: 14,
        message: 'fmt.Printf format %d has arg "all" of wrong type string',
      },
    ]);
    assert.deepEqual(errors, ['example.com/app/tools: unusedresult: analysis skipped: package has type errors']);
  });

  it('gives no findings for an empty report', () => {
    assert.deepEqual(goVetDiagnostics('{}\n{}\n'), { diagnostics: [], errors: [] });
    assert.deepEqual(goVetDiagnostics(''), { diagnostics: [], errors: [] });
  });

  it('rejects malformed output with the offset and what is wrong', () => {
    assert.throws(
      () => goVetDiagnostics('{"a": {"printf": [ {"posn": '),
      /go vet -json output is not valid JSON: the value at offset 0 is not closed/,
    );
    assert.throws(() => goVetDiagnostics('{}\nvet: exit status 2\n'), /not valid JSON: unexpected "v" at offset 3/);
    assert.throws(() => goVetDiagnostics('{"a": {"printf": [1}]}'), /not valid JSON at offset 0/);
    assert.throws(() => goVetDiagnostics('{"example.com/a": 3}'), /package example.com\/a maps to 3/);
    assert.throws(
      () => goVetDiagnostics('{"p": {"printf": [{"message": "m"}]}}'),
      /printf diagnostic without position or message in p/,
    );
    assert.throws(() => goVetDiagnostics('[1, 2]'), /expected an object per package/);
  });

  it('splits JSON streams whose strings hold brackets and escaped quotes', () => {
    assert.deepEqual(parseJsonStream('{"a": "}{\\"]"}\n[1]\n', 's'), [{ a: '}{"]' }, [1]]);
  });

  it('parses vet positions', () => {
    assert.deepEqual(parsePosn('/a/b.go:12:5'), { file: '/a/b.go', line: 12, column: 5 });
    assert.deepEqual(parsePosn('c:/x.go:3'), { file: 'c:/x.go', line: 3 });
    assert.equal(parsePosn('-'), undefined);
  });

  it('turns diagnostics into findings relative to the target, deduplicated, with the line as snippet', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-vet-'));
    try {
      fs.mkdirSync(path.join(dir, 'pkg'));
      fs.writeFileSync(path.join(dir, 'pkg', 'a.go'), 'package pkg\n\n  fmt.Printf("%d", "x")\n');
      const d = { analyzer: 'printf', file: path.join(dir, 'pkg', 'a.go'), line: 3, column: 3, message: 'bad' };
      const findings = await vetFindings(
        [d, { ...d }, { ...d, file: 'a.go', analyzer: 'assign' }, { ...d, file: '/usr/lib/go/src/fmt/print.go' }],
        path.join(dir, 'pkg'),
        dir,
      );
      assert.deepEqual(findings, [
        {
          ruleId: 'assign',
          level: 'warning',
          message: 'bad',
          file: 'pkg/a.go',
          line: 3,
          column: 3,
          snippet: 'fmt.Printf("%d", "x")',
        },
        {
          ruleId: 'printf',
          level: 'warning',
          message: 'bad',
          file: 'pkg/a.go',
          line: 3,
          column: 3,
          snippet: 'fmt.Printf("%d", "x")',
        },
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('describes analyzers as warning rules with a help link', () => {
    const rule = vetRule('copylocks');
    assert.equal(rule.defaultConfiguration?.level, 'warning');
    assert.match(rule.shortDescription?.text ?? '', /locks .* copied by value/);
    assert.equal(rule.helpUri, 'https://pkg.go.dev/golang.org/x/tools/go/analysis/passes/copylocks');
    assert.match(vetRule('newanalyzer').shortDescription?.text ?? '', /problems found by the newanalyzer analyzer/);
  });

  it('vets only the packages that load', () => {
    assert.deepEqual(
      splitLoadable([
        { Dir: '/m', ImportPath: 'ex.com/m', DepsErrors: [{ Err: 'module lookup disabled by GOPROXY=off' }] },
        { Dir: '/m/util', ImportPath: 'ex.com/m/util' },
        { Dir: '/m/bad', ImportPath: 'ex.com/m/bad', Error: { Err: 'expected package\nmore' } },
      ]),
      {
        dirs: ['/m/util'],
        broken: [
          { pkg: 'ex.com/m', reason: 'module lookup disabled by GOPROXY=off' },
          { pkg: 'ex.com/m/bad', reason: 'expected package' },
        ],
      },
    );
  });
});

describe('Go package groups', () => {
  it('groups package folders by their nearest go.mod, and files outside modules together', () => {
    const groups = goPackageGroups([
      'go.mod',
      'main.go',
      'internal/store/store.go',
      'internal/store/store_test.go',
      'e2e/flow_test.go',
      'tools/go.mod',
      'tools/gen.go',
      'vendor/example.com/lib/lib.go',
      'internal/testdata/bad.go',
      '.hidden/x.go',
      '_old/y.go',
      'README.md',
    ]);
    assert.deepEqual(groups, [
      {
        root: '',
        module: true,
        dirs: ['.', './e2e', './internal/store'],
        buildDirs: ['.', './internal/store'],
      },
      { root: 'tools', module: true, dirs: ['.'], buildDirs: ['.'] },
    ]);
    assert.deepEqual(goPackageGroups(['cmd/a/main.go', 'lib/go.mod', 'lib/lib.go']), [
      { root: '', module: false, dirs: ['./cmd/a'], buildDirs: ['./cmd/a'] },
      { root: 'lib', module: true, dirs: ['.'], buildDirs: ['.'] },
    ]);
    assert.deepEqual(goPackageGroups(['README.md']), []);
  });
});

/** A gosec SARIF run as gosec 2.30 writes it, for a module at /t/mod scanned as `. ./internal/secure`. */
function gosecRun(): SarifRun {
  const loc = (uri: string, line: number, snippet: string) => [
    {
      physicalLocation: {
        artifactLocation: { uri },
        region: { startLine: line, startColumn: 7, snippet: { text: snippet } },
      },
    },
  ];
  return {
    tool: {
      driver: {
        name: 'gosec',
        rules: [
          {
            id: 'G101',
            defaultConfiguration: { level: 'error' },
            properties: { tags: ['security', 'HIGH'], precision: 'low' },
            relationships: [{ target: { id: '798', toolComponent: { name: 'CWE' } }, kinds: ['superset'] }],
          } as SarifRule,
          {
            id: 'G401',
            defaultConfiguration: { level: 'error' },
            properties: { tags: ['security', 'MEDIUM'] },
            relationships: [{ target: { id: '328', toolComponent: { name: 'CWE' } } }],
          } as SarifRule,
        ],
      },
    },
    results: [
      {
        ruleId: 'G101',
        level: 'error',
        message: { text: 'Potential hardcoded credentials' },
        locations: loc('main.go', 17, 'const pw = "hunter2"'),
      },
      {
        ruleId: 'G401',
        level: 'error',
        message: { text: 'Use of weak cryptographic primitive' },
        locations: loc('secure.go', 13, 'md5.Sum(d)'),
      },
      {
        ruleId: 'G401',
        level: 'error',
        message: { text: 'Use of weak cryptographic primitive' },
        locations: loc('/usr/lib/go/src/x.go', 1, 'x'),
      },
    ],
  };
}

const GOSEC_JSON = JSON.stringify({
  'Golang errors': { '/t/mod/broken/b.go': [{ line: 7, column: 2, error: 'could not import example.com/x' }] },
  Issues: [
    { rule_id: 'G101', file: '/t/mod/main.go', line: '17' },
    { rule_id: 'G401', file: '/t/mod/internal/secure/secure.go', line: '13-14' },
    { rule_id: 'G401', file: '/usr/lib/go/src/x.go', line: '1' },
  ],
});

describe('gosec output', () => {
  it('asks for SARIF, JSON on stdout, the filters and no failure on findings', () => {
    assert.deepEqual(
      gosecArgs(
        { severity: 'medium', confidence: 'high', includeRules: ['G101', 'G201'], excludeRules: [] },
        '/o.sarif',
      ),
      [
        '-fmt=sarif',
        '-out=/o.sarif',
        '-no-fail',
        '-stdout',
        '-verbose=json',
        '-severity=medium',
        '-confidence=high',
        '-include=G101,G201',
      ],
    );
  });

  it('reads the module version from go version -m', () => {
    const info = [
      '/root/.cache/fuzzforge/tools/bin/gosec: go1.26.8',
      '\tpath\tgithub.com/securego/gosec/v2/cmd/gosec',
      '\tmod\tgithub.com/securego/gosec/v2\tv2.30.0\th1:abc=',
      '\tdep\tgolang.org/x/tools\tv0.40.0\th1:def=',
    ].join('\n');
    assert.equal(moduleVersionFromBuildInfo(info, 'github.com/securego/gosec/v2'), '2.30.0');
    assert.equal(
      moduleVersionFromBuildInfo('\tmod\tgithub.com/securego/gosec/v2\t(devel)\n', 'github.com/securego/gosec/v2'),
      undefined,
    );
  });

  it('reads type-checking errors and issue paths from the JSON report, and ignores non-JSON', () => {
    const json = parseGosecJson(GOSEC_JSON, '/t/mod', '/t');
    assert.deepEqual(json?.loadErrors, ['mod/broken/b.go:7: could not import example.com/x']);
    assert.deepEqual(json?.issues[1], { ruleId: 'G401', file: '/t/mod/internal/secure/secure.go', line: 13 });
    assert.equal(parseGosecJson('Results:\n', '/t/mod', '/t'), undefined);
  });

  it('restores the folders gosec drops from URIs by pairing SARIF results with the JSON issues', () => {
    const run = gosecRun();
    restoreGosecPaths(run, parseGosecJson(GOSEC_JSON, '/t/mod', '/t'), '/t/mod', ['.', './internal/secure']);
    assert.deepEqual(
      run.results?.map((r) => r.locations?.[0]?.physicalLocation?.artifactLocation?.uri),
      ['/t/mod/main.go', '/t/mod/internal/secure/secure.go', '/usr/lib/go/src/x.go'],
    );
  });

  it('without the JSON report, finds the package folder that holds the file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-gosec-'));
    try {
      fs.mkdirSync(path.join(dir, 'internal', 'secure'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'internal', 'secure', 'secure.go'), 'package secure\n');
      const run = gosecRun();
      restoreGosecPaths(run, undefined, dir, ['.', './internal/secure']);
      assert.equal(
        run.results?.[1]?.locations?.[0]?.physicalLocation?.artifactLocation?.uri,
        path.join(dir, 'internal', 'secure', 'secure.go'),
      );
      assert.equal(
        run.results?.[0]?.locations?.[0]?.physicalLocation?.artifactLocation?.uri,
        path.join(dir, 'main.go'),
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('makes one FuzzForge run: SRCROOT URIs, CWE tags, severity, version, no outside paths, credentials redacted', () => {
    const run = finishGosecRun(
      [
        {
          run: gosecRun(),
          json: parseGosecJson(GOSEC_JSON, '/t/mod', '/t'),
          cwd: '/t/mod',
          dirs: ['.', './internal/secure'],
        },
      ],
      { targetDir: '/t', rootUri: 'file:///home/me/app', version: '2.30.0', exclude: [] },
    );
    assert.equal(run.tool.driver.version, '2.30.0');
    assert.deepEqual(run.originalUriBaseIds, { SRCROOT: { uri: 'file:///home/me/app/' } });
    assert.deepEqual(
      run.results?.map((r) => [r.ruleId, r.ruleIndex, r.locations?.[0]?.physicalLocation?.artifactLocation]),
      [
        ['G101', 0, { uri: 'mod/main.go', uriBaseId: 'SRCROOT' }],
        ['G401', 1, { uri: 'mod/internal/secure/secure.go', uriBaseId: 'SRCROOT' }],
      ],
    );
    const [g101, g401] = run.tool.driver.rules ?? [];
    assert.deepEqual(g101?.properties?.tags, ['security', 'HIGH', 'external/cwe/cwe-798']);
    assert.equal(g101?.properties?.['security-severity'], '8.0');
    assert.equal(g401?.helpUri, 'https://cwe.mitre.org/data/definitions/328.html');
    assert.equal(run.results?.[0]?.locations?.[0]?.physicalLocation?.region?.snippet?.text, 'const pw = "****"');
    assert.ok(run.results?.every((r) => r.partialFingerprints?.['fuzzforge/v1']));

    const excluded = finishGosecRun(
      [
        {
          run: gosecRun(),
          json: parseGosecJson(GOSEC_JSON, '/t/mod', '/t'),
          cwd: '/t/mod',
          dirs: ['.', './internal/secure'],
        },
      ],
      { targetDir: '/t', rootUri: 'file:///home/me/app', exclude: ['internal/'] },
    );
    assert.deepEqual(
      excluded.results?.map((r) => r.ruleId),
      ['G101'],
    );
    assert.deepEqual(
      excluded.tool.driver.rules?.map((r) => r.id),
      ['G101'],
    );
  });

  it('redacts string literals of credential findings only', () => {
    const run = gosecRun();
    redactRun(run);
    assert.equal(run.results?.[0]?.locations?.[0]?.physicalLocation?.region?.snippet?.text, 'const pw = "****"');
    assert.equal(run.results?.[1]?.locations?.[0]?.physicalLocation?.region?.snippet?.text, 'md5.Sum(d)');
  });
});

describe('native tool helpers', () => {
  it('describes a failed tool run with the end of its stderr, or stdout when stderr is empty', () => {
    const base = {
      stdout: '',
      stderr: '',
      timedOut: false,
      truncated: false,
      durationMs: 10,
      signal: null,
      exitCode: 1,
    };
    assert.equal(
      describeFailure('gosec', { ...base, stderr: 'a\nb\nNo rules/analyzers are configured\n' }),
      'gosec exited with code 1: a\nb\nNo rules/analyzers are configured',
    );
    assert.equal(
      describeFailure('cppcheck', { ...base, stdout: "cppcheck: error: unknown --std value 'gnu11'\n" }),
      "cppcheck exited with code 1: cppcheck: error: unknown --std value 'gnu11'",
    );
    assert.equal(
      describeFailure('x', { ...base, exitCode: null, signal: 'SIGSEGV' }),
      'x was killed by SIGSEGV (no output)',
    );
    assert.equal(
      describeFailure('x', { ...base, exitCode: null, timedOut: true }, 60_000),
      'x timed out after 60 s (no output)',
    );
  });

  it('merges runs of one tool, uniting rules and re-pointing rule indexes', () => {
    const a: SarifRun = {
      tool: { driver: { name: 't', rules: [{ id: 'A' }, { id: 'B' }] } },
      results: [{ ruleId: 'B', ruleIndex: 1, message: { text: 'b' } }],
    };
    const b: SarifRun = {
      tool: { driver: { name: 't', rules: [{ id: 'C' }, { id: 'B' }] } },
      results: [
        { ruleIndex: 0, message: { text: 'c' } },
        { ruleId: 'B', ruleIndex: 1, message: { text: 'b2' } },
      ],
    };
    const merged = mergeRuns([a, b]);
    assert.deepEqual(
      merged.tool.driver.rules?.map((r) => r.id),
      ['B', 'C'],
    );
    assert.deepEqual(
      merged.results?.map((r) => [r.ruleId, r.ruleIndex]),
      [
        ['B', 0],
        ['C', 1],
        ['B', 0],
      ],
    );
    assert.throws(() => mergeRuns([]), /at least one run/);
  });

  it("keeps every module's failure and notifications when merging its runs", () => {
    // One gosec run per Go module: the second module's failure must not vanish behind the first's success.
    const ok: SarifRun = {
      tool: { driver: { name: 'gosec', rules: [{ id: 'G101' }] } },
      results: [{ ruleId: 'G101', message: { text: 'a' } }],
      invocations: [{ executionSuccessful: true }],
    };
    const failed: SarifRun = {
      tool: { driver: { name: 'gosec', rules: [] } },
      results: [],
      invocations: [
        { executionSuccessful: false, toolExecutionNotifications: [{ message: { text: 'module b: no go.sum' } }] },
      ],
    };
    const merged = mergeRuns([ok, failed]);
    assert.deepEqual(merged.invocations, [
      { executionSuccessful: false, toolExecutionNotifications: [{ message: { text: 'module b: no go.sum' } }] },
    ]);
    assert.equal(runError(merged), 'module b: no go.sum');
    assert.equal(mergeRuns([ok, ok]).invocations?.[0]?.executionSuccessful, true);
  });

  it('keeps only results under SRCROOT and not excluded', () => {
    const at = (uri: string, base?: string) => ({
      message: { text: uri },
      locations: [{ physicalLocation: { artifactLocation: { uri, ...(base ? { uriBaseId: base } : {}) } } }],
    });
    const run: SarifRun = {
      tool: { driver: { name: 't' } },
      results: [
        at('a/x.go', 'SRCROOT'),
        at('/usr/lib/go/y.go'),
        at('gen/z.go', 'SRCROOT'),
        at('b%20c/w.go', 'SRCROOT'),
      ],
    };
    assert.equal(keepTargetResults(run, ['gen/', 'b c/']), 3);
    assert.deepEqual(
      run.results?.map((r) => r.message.text),
      ['a/x.go'],
    );
  });

  it('reads CWE ids from relationships to the CWE taxonomy only', () => {
    const rule = {
      id: 'R',
      relationships: [
        { target: { id: 'CWE-119', toolComponent: { name: 'CWE' } } },
        { target: { id: '120', toolComponent: { name: 'cwe' } } },
        { target: { id: '7', toolComponent: { name: 'OWASP' } } },
      ],
    };
    assert.deepEqual(relationshipCwes(rule), ['CWE-119', 'CWE-120']);
  });
});
