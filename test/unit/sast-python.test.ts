// The pure parts of the python_sast workflow: bandit's and semgrep's SARIF normalised to
// FuzzForge's shape, their command lines, the shipped semgrep rules file, the workflow's
// parameters, and the shared SAST plumbing (batches, merges, level filter, error excerpts).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import YAML from 'yaml';
import { toolboxDir } from '../../backend/paths';
import type { SarifLog, SarifResult, SarifRun } from '../../backend/sarif/types';
import { findWorkflow } from '../../backend/scan';
import { validateParams } from '../../backend/toolbox/params';
import type { ToolRun } from '../../toolbox/modules/process';
import {
  banditArgs,
  banditJsonToSarif,
  normalizeBanditLog,
  parseBanditVersion,
} from '../../toolbox/modules/sast/bandit';
import {
  addNotifications,
  argBatches,
  describeFailure,
  errorExcerpt,
  filterByLevel,
  mergeRuns,
  reindexRules,
  scanTextFiles,
  ToolFailure,
} from '../../toolbox/modules/sast/common';
import { listTargetFiles } from '../../toolbox/modules/targetFiles';
import {
  bundledRulesFile,
  normalizeSemgrepLog,
  resolveExtraRules,
  ruleReferences,
  semgrepArgs,
  semgrepEnv,
  semgrepErrorLines,
  semgrepErrorNotifications,
  TEMPLATE_EXTENSIONS,
} from '../../toolbox/modules/sast/semgrep';

const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'ff-sast-py-')));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const ROOT_URI = 'file:///home/dev/notes/';

/** What bandit 1.9 writes with -f sarif (trimmed): no levels for MEDIUM, no driver version. */
function banditSample(targetDir: string): SarifLog {
  return {
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'Bandit',
            rules: [
              {
                id: 'B324',
                name: 'hashlib',
                helpUri: 'https://bandit.readthedocs.io/en/1.9.4/plugins/b324_hashlib.html',
                properties: { tags: ['security', 'external/cwe/cwe-327'], precision: 'high' },
              },
              {
                id: 'B608',
                name: 'hardcoded_sql_expressions',
                helpUri: 'https://bandit.readthedocs.io/en/1.9.4/plugins/b608_hardcoded_sql_expressions.html',
                properties: { tags: ['security', 'external/cwe/cwe-89'], precision: 'medium' },
              },
              {
                id: 'B101',
                name: 'assert_used',
                properties: { tags: ['security', 'external/cwe/cwe-703'], precision: 'high' },
              },
            ],
          },
        },
        properties: { metrics: { 'notes/auth.py': { loc: 10 } } },
        invocations: [
          {
            executionSuccessful: true,
            toolConfigurationNotifications: [
              {
                level: 'error',
                message: { text: 'syntax error while parsing AST from file' },
                locations: [{ physicalLocation: { artifactLocation: { uri: 'scripts/old.py' } } }],
              },
            ],
          } as NonNullable<SarifRun['invocations']>[number],
        ],
        results: [
          {
            ruleId: 'B324',
            ruleIndex: 0,
            level: 'error',
            message: { text: 'Use of weak MD5 hash for security.' },
            locations: [
              {
                physicalLocation: {
                  artifactLocation: { uri: 'notes/auth.py' },
                  region: { startLine: 22, snippet: { text: '    return hashlib.md5(p).hexdigest()\n' } },
                },
              },
            ],
          },
          {
            ruleId: 'B608',
            ruleIndex: 1,
            message: { text: 'Possible SQL injection vector through string-based query construction.' },
            locations: [
              {
                physicalLocation: {
                  // An absolute path inside the target, as bandit writes for absolute arguments.
                  artifactLocation: { uri: `${targetDir}/notes/db.py` },
                  region: { startLine: 14 },
                },
              },
            ],
          },
          {
            ruleId: 'B101',
            ruleIndex: 2,
            level: 'note',
            message: { text: 'Use of assert detected.' },
            locations: [
              { physicalLocation: { artifactLocation: { uri: 'tests/test_x.py' }, region: { startLine: 5 } } },
            ],
          },
        ],
      },
    ],
  };
}

describe('bandit', () => {
  const targetDir = '/var/cache/ff/worker/abc';

  it('reads its version', () => {
    assert.equal(parseBanditVersion('bandit 1.9.4\n  python version = 3.11.7 (main)'), '1.9.4');
    assert.equal(parseBanditVersion('usage: bandit [-h]'), undefined);
  });

  it('builds a command line with JSON output, skips, and no file read as an option', () => {
    const args = banditArgs(['a.py', '-x.py'], '/tmp/out.json', ['B101', 'B105']);
    assert.deepEqual(args.slice(0, 5), ['--format', 'json', '--output', '/tmp/out.json', '--quiet']);
    assert.deepEqual(args.slice(5), ['--skip', 'B101,B105', 'a.py', './-x.py']);
    assert.ok(!banditArgs(['a.py'], 'o', []).includes('--skip'));
  });

  it('normalises its SARIF: name, version, relative URIs, levels, help, CWE tags, fingerprints', () => {
    const run = normalizeBanditLog(banditSample(targetDir), { targetDir, rootUri: ROOT_URI, version: '1.9.4' });
    assert.equal(run.tool.driver.name, 'bandit');
    assert.equal(run.tool.driver.version, '1.9.4');
    assert.equal(run.originalUriBaseIds?.SRCROOT?.uri, ROOT_URI);
    assert.deepEqual(
      run.results?.map((r) => [
        r.ruleId,
        r.level,
        r.locations?.[0]?.physicalLocation?.artifactLocation?.uri,
        r.locations?.[0]?.physicalLocation?.artifactLocation?.uriBaseId,
      ]),
      [
        ['B324', 'error', 'notes/auth.py', 'SRCROOT'],
        // No level in bandit's output (MEDIUM severity): SARIF's default, made explicit.
        ['B608', 'warning', 'notes/db.py', 'SRCROOT'],
        ['B101', 'note', 'tests/test_x.py', 'SRCROOT'],
      ],
    );
    for (const result of run.results ?? []) {
      assert.equal(run.tool.driver.rules?.[result.ruleIndex ?? -1]?.id, result.ruleId);
      assert.match(result.partialFingerprints?.['fuzzforge/v1'] ?? '', /^[0-9a-f]{32}$/);
    }
    const b324 = run.tool.driver.rules?.find((r) => r.id === 'B324');
    assert.equal(b324?.shortDescription?.text, 'B324: hashlib');
    assert.equal(b324?.help?.text, 'B324: hashlib. Use of weak MD5 hash for security.');
    assert.ok(b324?.properties?.tags?.includes('external/cwe/cwe-327'));
    assert.equal(run.properties?.metrics, undefined, 'per-file metrics are dropped');
    const inv = run.invocations?.[0] as {
      toolConfigurationNotifications?: { locations?: { physicalLocation?: { artifactLocation?: unknown } }[] }[];
    };
    assert.deepEqual(inv.toolConfigurationNotifications?.[0]?.locations?.[0]?.physicalLocation?.artifactLocation, {
      uri: 'scripts/old.py',
      uriBaseId: 'SRCROOT',
    });
  });

  it('drops results below min_level and keeps rule indexes right', () => {
    const run = normalizeBanditLog(banditSample(targetDir), {
      targetDir,
      rootUri: ROOT_URI,
      version: '1.9.4',
      minLevel: 'warning',
    });
    assert.deepEqual(
      run.results?.map((r) => r.ruleId),
      ['B324', 'B608'],
    );
    for (const result of run.results ?? []) {
      assert.equal(run.tool.driver.rules?.[result.ruleIndex ?? -1]?.id, result.ruleId);
    }
  });
});

// bandit 1.9.4 run on test/fixtures/python-sast with -f json and with -f sarif (same files).
const FIXTURES = path.join(__dirname, '..', 'fixtures');
const banditJson = (): unknown => JSON.parse(fs.readFileSync(path.join(FIXTURES, 'bandit-python-sast.json'), 'utf8'));
const banditSarif = (): SarifLog =>
  JSON.parse(fs.readFileSync(path.join(FIXTURES, 'bandit-python-sast.sarif'), 'utf8')) as SarifLog;

describe('bandit JSON report to SARIF', () => {
  const targetDir = path.join(tmp, 'bandit-json');
  const normalized = (log: SarifLog) => normalizeBanditLog(log, { targetDir, rootUri: ROOT_URI, version: '1.9.4' });
  const view = (run: SarifRun) =>
    (run.results ?? []).map((r) => {
      const loc = r.locations?.[0]?.physicalLocation;
      return {
        ruleId: r.ruleId,
        level: r.level,
        message: r.message.text,
        uri: loc?.artifactLocation?.uri,
        region: loc?.region,
        context: loc?.contextRegion,
        fingerprint: r.partialFingerprints?.['fuzzforge/v1'],
        properties: r.properties,
      };
    });

  it("gives what bandit's own SARIF formatter gives on the same tree, once normalised", () => {
    const fromJson = normalized(banditJsonToSarif(banditJson()));
    const fromSarif = normalized(banditSarif());
    assert.equal(fromJson.results?.length, 31);
    assert.deepEqual(view(fromJson), view(fromSarif));
    assert.deepEqual(
      fromJson.tool.driver.rules?.map((r) => [r.id, r.name, r.helpUri, r.properties, r.help?.text]),
      fromSarif.tool.driver.rules?.map((r) => [r.id, r.name, r.helpUri, r.properties, r.help?.text]),
    );
    const inv = fromJson.invocations?.[0] as {
      toolConfigurationNotifications?: { message: { text: string }; locations?: unknown[] }[];
    };
    assert.deepEqual(
      inv.toolConfigurationNotifications?.map((n) => [n.message.text, n.locations]),
      [
        [
          'syntax error while parsing AST from file',
          [{ physicalLocation: { artifactLocation: { uri: 'scripts/legacy_report.py', uriBaseId: 'SRCROOT' } } }],
        ],
      ],
    );
  });

  it("names the bad fields of a report that is not bandit's", () => {
    assert.throws(
      () => banditJsonToSarif({ errors: [] }),
      (err: Error) => {
        assert.ok(err instanceof ToolFailure);
        assert.match(err.message, /\/results is missing/);
        return true;
      },
    );
    const doc = banditJson() as { results: Record<string, unknown>[] };
    doc.results[2] = { ...doc.results[2], line_number: 'x', filename: 3 };
    assert.throws(
      () => banditJsonToSarif(doc),
      /unusable JSON report: \/results\/2\/filename is not a string; \/results\/2\/line_number is not a line number/,
    );
  });
});

/** What semgrep 1.180 writes with --sarif-output (trimmed). */
function semgrepSample(): SarifLog {
  return {
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'Semgrep OSS',
            semanticVersion: '1.180.0',
            rules: [
              {
                id: 'ff-py-weak-hash',
                name: 'ff-py-weak-hash',
                shortDescription: { text: 'Semgrep Finding: ff-py-weak-hash' },
                fullDescription: { text: 'MD5 and SHA-1 are broken for security purposes. Use SHA-256.' },
                help: { text: 'MD5 and SHA-1 are broken for security purposes. Use SHA-256.' },
                defaultConfiguration: { level: 'warning' },
                properties: { precision: 'very-high', tags: ['CWE-328: Use of Weak Hash', 'security'] },
              },
              {
                id: 'team-no-print',
                name: 'team-no-print',
                fullDescription: { text: 'No print in library code.' },
                defaultConfiguration: { level: 'note' },
                properties: { tags: ['CWE-532: Insertion of Sensitive Information into Log File'] },
              },
            ],
          },
        },
        invocations: [
          {
            executionSuccessful: true,
            // The same errors as the JSON report's, with worker paths: the module keeps the JSON ones.
            toolExecutionNotifications: [{ level: 'warning', message: { text: 'Timeout on /w/t/a.py' } }],
          },
        ],
        results: [
          {
            ruleId: 'ff-py-weak-hash',
            message: { text: 'MD5 and SHA-1 are broken.' },
            locations: [
              {
                physicalLocation: {
                  artifactLocation: { uri: 'notes/auth.py', uriBaseId: '%SRCROOT%' },
                  region: { startLine: 22, snippet: { text: '    return hashlib.md5(p).hexdigest()' } },
                },
              },
            ],
            fingerprints: { 'matchBasedId/v1': 'requires login' },
            properties: {},
          } as SarifResult,
          {
            ruleId: 'team-no-print',
            message: { text: 'No print.' },
            locations: [
              { physicalLocation: { artifactLocation: { uri: 'notes/views.py' }, region: { startLine: 3 } } },
            ],
          },
        ],
      },
    ],
  };
}

describe('semgrep', () => {
  it('runs offline on local rule files, with plain rule ids and both reports', () => {
    const args = semgrepArgs(['/tb/python.yaml', '/t/extra.yaml'], { sarif: '/s/o.sarif', json: '/s/o.json' }, [
      'a.py',
      '-b.py',
    ]);
    for (const flag of ['--metrics=off', '--disable-version-check', '--oss-only', '--no-rewrite-rule-ids']) {
      assert.ok(args.includes(flag), flag);
    }
    assert.deepEqual(args.slice(0, 5), ['scan', '--config', '/tb/python.yaml', '--config', '/t/extra.yaml']);
    assert.ok(args.includes('--sarif-output=/s/o.sarif') && args.includes('--json-output=/s/o.json'));
    assert.ok(!args.includes('--quiet'), 'stderr must keep the [ERROR] lines');
    assert.deepEqual(args.slice(-2), ['a.py', './-b.py']);
    const env = semgrepEnv('/s');
    assert.equal(env.SEMGREP_ENABLE_VERSION_CHECK, '0');
    assert.equal(env.SEMGREP_SEND_METRICS, 'off');
    assert.equal(env.SEMGREP_SETTINGS_FILE, '/s/settings.yml');
  });

  it('normalises its SARIF: name, ids, descriptions, help links, fingerprints, levels', () => {
    const references = new Map([['ff-py-weak-hash', 'https://docs.python.org/3/library/hashlib.html']]);
    const run = normalizeSemgrepLog(semgrepSample(), { targetDir: '/w/t', rootUri: ROOT_URI, references });
    assert.equal(run.tool.driver.name, 'semgrep');
    assert.equal(run.tool.driver.version, '1.180.0');
    assert.deepEqual(run.invocations, [{ executionSuccessful: true }]);
    const [weak, print] = run.tool.driver.rules ?? [];
    assert.equal(weak?.name, undefined, 'a name equal to the id is dropped (SARIF1001)');
    assert.equal(weak?.shortDescription?.text, 'MD5 and SHA-1 are broken for security purposes.');
    assert.equal(weak?.helpUri, 'https://docs.python.org/3/library/hashlib.html');
    assert.ok(weak?.properties?.tags?.includes('external/cwe/cwe-328'));
    // No reference in the rule: the CWE page.
    assert.equal(print?.helpUri, 'https://cwe.mitre.org/data/definitions/532.html');
    const [first, second] = run.results ?? [];
    assert.equal((first as { fingerprints?: unknown }).fingerprints, undefined);
    assert.match(first?.partialFingerprints?.['fuzzforge/v1'] ?? '', /^[0-9a-f]{32}$/);
    assert.equal(first?.level, 'warning');
    assert.equal(second?.level, 'note');
    assert.deepEqual(first?.locations?.[0]?.physicalLocation?.artifactLocation, {
      uri: 'notes/auth.py',
      uriBaseId: 'SRCROOT',
    });
    const filtered = normalizeSemgrepLog(semgrepSample(), {
      targetDir: '/w/t',
      rootUri: ROOT_URI,
      references,
      minLevel: 'warning',
      notifications: [{ level: 'warning', text: 'semgrep Syntax error: x', file: 'a.py', line: 3 }],
    });
    assert.deepEqual(
      filtered.results?.map((r) => r.ruleId),
      ['ff-py-weak-hash'],
    );
    assert.equal(filtered.invocations?.[0]?.executionSuccessful, true);
    assert.deepEqual(filtered.invocations?.[0]?.toolExecutionNotifications, [
      {
        level: 'warning',
        message: { text: 'semgrep Syntax error: x' },
        locations: [
          {
            physicalLocation: {
              artifactLocation: { uri: 'a.py', uriBaseId: 'SRCROOT' },
              region: { startLine: 3 },
            },
          },
        ],
      },
    ]);
  });

  it('turns the JSON report errors into notifications, keeping paths inside the target', () => {
    const notes = semgrepErrorNotifications(
      {
        errors: [
          {
            level: 'warn',
            type: ['PartialParsing', [{}]],
            message: 'Syntax error at line a.py:4:\n `print "x"` was unexpected',
            path: 'scripts/a.py',
            spans: [{ file: 'scripts/a.py', start: { line: 4 } }],
          },
          { level: 'error', type: 'Rule parse error', rule_id: 'r1', message: 'Invalid pattern' },
          { level: 'warn', type: 'Timeout', message: 'timed out', path: '/etc/passwd' },
        ],
      },
      '/w/t',
    );
    assert.deepEqual(notes, [
      {
        level: 'warning',
        text: 'semgrep PartialParsing: Syntax error at line a.py:4:',
        file: 'scripts/a.py',
        line: 4,
      },
      { level: 'error', text: 'semgrep Rule parse error (r1): Invalid pattern' },
      { level: 'warning', text: 'semgrep Timeout: timed out' },
    ]);
    assert.deepEqual(semgrepErrorNotifications('not a report', '/w/t'), []);
  });

  it('keeps the [ERROR] lines of its stderr, not the progress boxes', () => {
    const stderr = [
      '┌─────────────┐',
      '│ Scan Status │',
      '└─────────────┘',
      '[ERROR] Invalid YAML file /w/t/.semgrep/r.yaml:',
      '\twhile scanning a quoted scalar',
      '\t  in "<file>", line 4, column 14',
      '[ERROR] invalid configuration file found (1 configs were invalid)',
      'Ran 0 rules.',
    ].join('\n');
    assert.equal(
      semgrepErrorLines(stderr),
      [
        '[ERROR] Invalid YAML file /w/t/.semgrep/r.yaml:',
        'while scanning a quoted scalar',
        'in "<file>", line 4, column 14',
        '[ERROR] invalid configuration file found (1 configs were invalid)',
      ].join('\n'),
    );
    assert.equal(semgrepErrorLines('all good\n'), '');
  });

  it('accepts extra rule files inside the workspace only', () => {
    const target = path.join(tmp, 'target');
    fs.mkdirSync(path.join(target, '.semgrep'), { recursive: true });
    fs.writeFileSync(path.join(target, '.semgrep', 'rules.yaml'), 'rules: []\n');
    fs.writeFileSync(path.join(tmp, 'outside.yaml'), 'rules: []\n');
    fs.symlinkSync(path.join(tmp, 'outside.yaml'), path.join(target, 'link.yaml'));
    assert.equal(resolveExtraRules(target, '.semgrep/rules.yaml'), path.join(target, '.semgrep', 'rules.yaml'));
    assert.equal(resolveExtraRules(target, './.semgrep/rules.yaml'), path.join(target, '.semgrep', 'rules.yaml'));
    assert.throws(() => resolveExtraRules(target, '../outside.yaml'), /must be a path inside the workspace/);
    assert.throws(() => resolveExtraRules(target, '/etc/passwd'), /must be a path inside the workspace/);
    assert.throws(() => resolveExtraRules(target, 'nope.yaml'), /is not in the workspace/);
    assert.throws(() => resolveExtraRules(target, 'link.yaml'), /points outside the workspace/);
    assert.throws(() => resolveExtraRules(target, '.semgrep'), /is not a file/);
  });

  it('finds help links in rule files and skips broken ones', () => {
    const refs = ruleReferences([
      'rules:\n  - id: a\n    metadata: { references: ["https://example.org/a", "https://example.org/b"] }\n' +
        '  - id: b\n    metadata: { source: "https://example.org/b" }\n  - id: c\n    metadata: {}\n',
      'rules: [unclosed',
    ]);
    assert.deepEqual(
      [...refs],
      [
        ['a', 'https://example.org/a'],
        ['b', 'https://example.org/b'],
      ],
    );
  });
});

describe('the shipped semgrep rules', () => {
  const doc = YAML.parse(fs.readFileSync(bundledRulesFile(), 'utf8')) as {
    rules: {
      id: string;
      languages: string[];
      severity: string;
      message: string;
      metadata: { cwe: string[]; references: string[]; category: string };
      paths?: { include?: string[] };
    }[];
  };

  it('has a dozen and more Python security rules, each with message, severity, CWE and a reference', () => {
    assert.ok(doc.rules.length >= 12, `${doc.rules.length} rules`);
    assert.equal(new Set(doc.rules.map((r) => r.id)).size, doc.rules.length, 'ids are unique');
    for (const rule of doc.rules) {
      assert.match(rule.id, /^ff-py-[a-z0-9-]+$/);
      assert.ok(
        ['python', 'generic'].includes(rule.languages.join(',')),
        `${rule.id}: Python code, or templates (generic)`,
      );
      assert.ok(['ERROR', 'WARNING', 'INFO'].includes(rule.severity), rule.id);
      assert.ok(rule.message.length > 40, `${rule.id} explains itself`);
      assert.ok(rule.metadata.cwe.length > 0 && rule.metadata.cwe.every((c) => /^CWE-\d+: /.test(c)), rule.id);
      assert.match(rule.metadata.references[0] ?? '', /^https:\/\//, rule.id);
      assert.equal(rule.metadata.category, 'security');
    }
  });

  it('reads templates only in template rules, which name exactly the template files semgrep is given', () => {
    const templateRules = doc.rules.filter((r) => r.languages.includes('generic'));
    assert.ok(templateRules.length > 0);
    for (const rule of templateRules) {
      // A generic rule without paths would also match text in every Python file.
      assert.deepEqual(
        rule.paths?.include,
        TEMPLATE_EXTENSIONS.map((e) => `*${e}`),
        rule.id,
      );
    }
  });

  it('tags every HTML escaping rule with CWE-79, the class bandit B308/B703/B704 (and B701, folded) fall in', () => {
    for (const id of ['ff-py-autoescape-disabled', 'ff-py-template-autoescape-off', 'ff-py-request-marked-safe']) {
      const rule = doc.rules.find((r) => r.id === id);
      assert.ok(rule, id);
      assert.match(rule.metadata.cwe[0] ?? '', /^CWE-79: /, id);
    }
  });
});

describe('python_sast parameters', () => {
  const wf = findWorkflow(toolboxDir(), 'python_sast');

  it('defaults to both tools, every level, no extras', () => {
    assert.equal(wf.vertical, 'python');
    assert.deepEqual(validateParams(wf, {}), {
      exclude: [],
      tools: ['bandit', 'semgrep'],
      min_level: 'note',
      bandit_skips: [],
      extra_semgrep_rules: [],
      include_vendored: false,
      report_tests_and_docs: false,
    });
  });

  it('rejects unknown tools, bad test ids and empty tool lists', () => {
    assert.throws(() => validateParams(wf, { tools: ['pylint'] }), /tools/);
    assert.throws(() => validateParams(wf, { tools: [] }), /tools/);
    assert.throws(() => validateParams(wf, { bandit_skips: ['assert'] }), /bandit_skips/);
  });
});

/** A finished tool process, for describeFailure. */
function toolRun(over: Partial<ToolRun>): ToolRun {
  return {
    exitCode: 0,
    signal: null,
    stdout: '',
    stderr: '',
    timedOut: false,
    truncated: false,
    durationMs: 10,
    ...over,
  };
}

describe('shared SAST plumbing', () => {
  it('splits long file lists into bounded command lines, keeping order', () => {
    const files = Array.from({ length: 10 }, (_, i) => `dir/file-${i}.py`);
    const batches = argBatches(files, 50);
    assert.deepEqual(batches.flat(), files);
    assert.ok(batches.length > 1);
    for (const batch of batches) {
      assert.ok(batch.join(' ').length <= 50 || batch.length === 1);
    }
    assert.deepEqual(argBatches([]), []);
    assert.deepEqual(argBatches(['a-very-long-name.py'], 5), [['a-very-long-name.py']]);
  });

  it('keeps the telling lines of a crash, not the stack frames', () => {
    const python = [
      'Traceback (most recent call last):',
      '  File "/venv/bin/bandit", line 8, in <module>',
      '    sys.exit(main())',
      'yaml.scanner.ScannerError: mapping values are not allowed here',
    ].join('\n');
    assert.equal(
      errorExcerpt(python),
      'Traceback (most recent call last):\n    sys.exit(main())\nyaml.scanner.ScannerError: mapping values are not allowed here',
    );
    const node =
      'Oops! Something went wrong! :(\n\nTypeError: Key "rules": bad\n    at throwRuleNotFoundError (x.js:1:1)';
    assert.equal(errorExcerpt(node), 'Oops! Something went wrong! :(\n\nTypeError: Key "rules": bad');
  });

  it('describes a failed tool process', () => {
    assert.equal(
      describeFailure('bandit', toolRun({ exitCode: 2, stderr: 'usage: bandit\nbandit: error: bad' }), 1000),
      'bandit exited with code 2: usage: bandit\nbandit: error: bad',
    );
    assert.equal(
      describeFailure('x', toolRun({ timedOut: true, signal: 'SIGKILL' }), 60_000),
      'x timed out after 60 s (no output)',
    );
    assert.equal(
      describeFailure('x', toolRun({ signal: 'SIGSEGV', exitCode: null }), 1),
      'x was killed by SIGSEGV (no output)',
    );
    assert.equal(describeFailure('x', toolRun({ exitCode: 7 }), 1, 'picked'), 'x exited with code 7: picked');
  });

  it('merges batch runs: rules united and re-indexed, notifications and failures kept', () => {
    const run = (rules: string[], results: [string, number][], ok = true): SarifRun => ({
      tool: { driver: { name: 't', version: '1', rules: rules.map((id) => ({ id })) } },
      results: results.map(([ruleId, line]) => ({
        ruleId,
        ruleIndex: rules.indexOf(ruleId),
        level: 'warning',
        message: { text: ruleId },
        locations: [{ physicalLocation: { artifactLocation: { uri: 'a.py' }, region: { startLine: line } } }],
      })),
      invocations: [
        ok
          ? { executionSuccessful: true }
          : { executionSuccessful: false, toolExecutionNotifications: [{ message: { text: 'half' } }] },
      ],
    });
    const merged = mergeRuns([
      run(['A', 'B'], [['B', 1]]),
      run(
        ['C', 'A'],
        [
          ['A', 2],
          ['C', 3],
        ],
        false,
      ),
    ]);
    assert.deepEqual(
      merged.tool.driver.rules?.map((r) => r.id),
      ['A', 'B', 'C'],
    );
    assert.deepEqual(
      merged.results?.map((r) => [r.ruleId, r.ruleIndex]),
      [
        ['B', 1],
        ['A', 0],
        ['C', 2],
      ],
    );
    assert.deepEqual(merged.invocations, [
      { executionSuccessful: false, toolExecutionNotifications: [{ message: { text: 'half' } }] },
    ]);
    assert.throws(() => mergeRuns([]));
  });

  it('names results by rule id before re-indexing, even in a single run, and drops rules no result uses', () => {
    // A tool may name a result's rule by index only: re-indexing by id alone would cut the result
    // loose from its rule (and then drop the rule as unused).
    const single: SarifRun = {
      tool: { driver: { name: 't', rules: [{ id: 'A' }, { id: 'B' }, { id: 'unused' }] } },
      results: [{ ruleIndex: 1, message: { text: 'b' } }],
      invocations: [{ executionSuccessful: true, toolExecutionNotifications: [{ message: { text: 'kept' } }] }],
    };
    const merged = mergeRuns([single]);
    assert.deepEqual(
      merged.results?.map((r) => [r.ruleId, r.ruleIndex]),
      [['B', 0]],
    );
    assert.deepEqual(
      merged.tool.driver.rules?.map((r) => r.id),
      ['B'],
    );
    assert.deepEqual(merged.invocations, single.invocations, "a single run's invocations are its own");
    // After the level filter, the rules of the dropped results go with them.
    filterByLevel(merged, 'error');
    reindexRules(merged);
    assert.deepEqual(merged.tool.driver.rules, []);
  });

  it('scans text files within the budget: a file the analysis fails on is lost alone', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-scan-'));
    try {
      fs.writeFileSync(path.join(dir, 'a.py'), 'x = 1\n');
      fs.writeFileSync(path.join(dir, 'bad.py'), 'boom\n');
      fs.writeFileSync(path.join(dir, 'big.py'), 'y = 2\n'.repeat(100));
      fs.writeFileSync(path.join(dir, 'blob.bin'), Buffer.from([0, 1, 2, 3]));
      fs.writeFileSync(path.join(dir, 'c.py'), 'z = 3\n');
      const files = await listTargetFiles(dir);
      const seen: string[] = [];
      const heartbeats: unknown[] = [];
      const scan = await scanTextFiles(
        'analyser',
        files,
        { maxFileBytes: 100, deadline: Date.now() + 60_000, heartbeat: (d) => heartbeats.push(d) },
        (text, file) => {
          if (text.startsWith('boom')) {
            throw new Error('unexpected token');
          }
          seen.push(file.rel);
        },
      );
      assert.deepEqual(seen, ['a.py', 'c.py'], 'the files after the failing one are still analysed');
      assert.deepEqual(scan, {
        scanned: 3,
        skipped: 2,
        outOfTime: false,
        notifications: [
          {
            level: 'error',
            text: 'analyser failed on this file, which was not analysed: unexpected token',
            file: 'bad.py',
          },
        ],
      });
      assert.ok(heartbeats.length >= 2);

      const late = await scanTextFiles(
        'analyser',
        files,
        { maxFileBytes: 100, deadline: Date.now() - 1, heartbeat: () => undefined },
        () => {
          assert.fail('nothing is analysed once the budget is spent');
        },
      );
      assert.deepEqual(late, {
        scanned: 0,
        skipped: 0,
        outOfTime: true,
        notifications: [
          { level: 'error', text: 'analyser ran out of its time budget: 5 of 5 files were not analysed' },
        ],
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('attaches notifications located at the file they name', () => {
    const run: SarifRun = { tool: { driver: { name: 't' } }, results: [] };
    addNotifications(run, [{ level: 'warning', text: 'could not parse', file: 'src/a b.py', line: 3 }]);
    assert.deepEqual(run.invocations, [
      {
        executionSuccessful: true,
        toolExecutionNotifications: [
          {
            level: 'warning',
            message: { text: 'could not parse' },
            locations: [
              {
                physicalLocation: {
                  artifactLocation: { uri: 'src/a%20b.py', uriBaseId: 'SRCROOT' },
                  region: { startLine: 3 },
                },
              },
            ],
          },
        ],
      },
    ]);
  });

  it('filters by level and attaches notifications', () => {
    const run: SarifRun = {
      tool: { driver: { name: 't' } },
      results: ['error', 'warning', 'note', undefined].map((level, i) => ({
        ruleId: `r${i}`,
        ...(level ? { level: level as 'error' | 'warning' | 'note' } : {}),
        message: { text: '' },
      })),
    };
    filterByLevel(run, 'note');
    assert.equal(run.results?.length, 4);
    filterByLevel(run, 'warning');
    assert.deepEqual(
      run.results?.map((r) => r.ruleId),
      ['r0', 'r1', 'r3'],
    );
    filterByLevel(run, 'error');
    assert.deepEqual(
      run.results?.map((r) => r.ruleId),
      ['r0'],
    );
    addNotifications(run, []);
    assert.equal(run.invocations, undefined, 'nothing to say, nothing added');
    addNotifications(run, [{ level: 'error', text: 'broken' }], true);
    assert.deepEqual(run.invocations, [
      { executionSuccessful: false, toolExecutionNotifications: [{ level: 'error', message: { text: 'broken' } }] },
    ]);
  });
});
