// The pure parts of the js_sast workflow: eslint's JSON report converted to findings and SARIF,
// its command line, the toolbox's flat config (loaded against stand-in packages), parameters.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, describe, it } from 'node:test';
import { toolboxDir } from '../../backend/paths';
import { findWorkflow } from '../../backend/scan';
import { validateParams } from '../../backend/toolbox/params';
import {
  bundledConfigFile,
  convertEslintReport,
  ESLINT_RULES,
  eslintArgs,
  eslintRun,
  type EslintReport,
} from '../../toolbox/modules/sast/eslint';

const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'ff-sast-js-')));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const TARGET = '/var/cache/ff/worker/t1';
const SECURITY_DOCS = 'https://github.com/eslint-community/eslint-plugin-security/blob/main/docs/rules';

/** What `eslint --format json-with-metadata` writes (trimmed). */
const REPORT: EslintReport = {
  results: [
    {
      filePath: `${TARGET}/src/routes/notes.js`,
      messages: [
        {
          ruleId: 'security/detect-eval-with-expression',
          severity: 1,
          message: 'eval with argument of type MemberExpression',
          line: 11,
          column: 19,
          endLine: 11,
          endColumn: 41,
        },
        {
          ruleId: 'security/detect-object-injection',
          severity: 1,
          message: 'Generic Object Injection Sink',
          line: 20,
          column: 3,
          endLine: 22,
          endColumn: 4,
        },
      ],
    },
    {
      filePath: `${TARGET}/src/broken.js`,
      messages: [{ ruleId: null, fatal: true, severity: 2, message: 'Parsing error: Unexpected token (', line: 1 }],
    },
    {
      filePath: `${TARGET}/src/extra.ts`,
      messages: [{ ruleId: 'no-unused-vars', severity: 2, message: "'ctx' is defined but never used.", line: 4 }],
    },
    // Never expected, but a path outside the target must not leak into the SARIF.
    { filePath: '/etc/elsewhere.js', messages: [{ ruleId: 'no-new-func', severity: 1, message: 'x', line: 1 }] },
  ],
  metadata: {
    rulesMeta: {
      'security/detect-eval-with-expression': {
        type: 'problem',
        docs: {
          description: 'Detects "eval(variable)" which can allow an attacker to run arbitrary code.',
          url: `${SECURITY_DOCS}/detect-eval-with-expression.md`,
        },
      },
      'security/detect-object-injection': {
        docs: { description: 'Detects "variable[key]".', url: `${SECURITY_DOCS}/detect-object-injection.md` },
      },
      'no-unused-vars': {
        docs: { description: 'Disallow unused variables', url: 'https://eslint.org/docs/latest/rules/no-unused-vars' },
      },
    },
  },
};

const LINES: Record<string, string[]> = {
  'src/routes/notes.js': Array.from({ length: 30 }, (_, i) =>
    i === 10 ? '  res.send(String(eval(req.query.expr)));   ' : '',
  ),
};

describe('eslint report conversion', () => {
  const converted = convertEslintReport(REPORT, {
    targetDir: TARGET,
    lineText: (file, line) => LINES[file]?.[line - 1],
  });

  it('turns messages into findings with our levels, positions and snippets', () => {
    assert.deepEqual(converted.findings, [
      {
        ruleId: 'security/detect-eval-with-expression',
        level: 'error',
        message: 'eval with argument of type MemberExpression',
        file: 'src/routes/notes.js',
        line: 11,
        column: 19,
        endColumn: 41,
        snippet: '  res.send(String(eval(req.query.expr)));',
      },
      {
        // A note by our table; the end is on another line, so no endColumn.
        ruleId: 'security/detect-object-injection',
        level: 'note',
        message: 'Generic Object Injection Sink',
        file: 'src/routes/notes.js',
        line: 20,
        column: 3,
      },
      {
        // Not in our table (an extra rule): eslint's severity decides.
        ruleId: 'no-unused-vars',
        level: 'error',
        message: "'ctx' is defined but never used.",
        file: 'src/extra.ts',
        line: 4,
      },
    ]);
  });

  it('reports unparsable files as notifications, not findings', () => {
    assert.deepEqual(converted.notifications, [
      {
        level: 'error',
        text: 'eslint: src/broken.js:1: Parsing error: Unexpected token (',
        file: 'src/broken.js',
        line: 1,
      },
    ]);
  });

  it('describes the rules used: docs link, help, CWE tags, default level', () => {
    assert.deepEqual(
      converted.rules.map((r) => r.id),
      ['no-unused-vars', 'security/detect-eval-with-expression', 'security/detect-object-injection'],
    );
    const evalRule = converted.rules[1];
    assert.equal(evalRule?.name, 'detect-eval-with-expression');
    assert.equal(evalRule?.helpUri, `${SECURITY_DOCS}/detect-eval-with-expression.md`);
    assert.match(evalRule?.help?.text ?? '', /arbitrary code\. \(CWE-95\)$/);
    assert.deepEqual(evalRule?.defaultConfiguration, { level: 'error' });
    assert.deepEqual(evalRule?.properties?.tags, ['security', 'external/cwe/cwe-95']);
    const unused = converted.rules[0];
    assert.equal(unused?.name, undefined, 'no name equal to the id (SARIF1001)');
    assert.deepEqual(unused?.properties?.tags, ['security']);
  });

  it('accepts the plain json format too (no rule docs then)', () => {
    const plain = convertEslintReport(Array.isArray(REPORT) ? REPORT : REPORT.results, { targetDir: TARGET });
    assert.equal(plain.findings.length, 3);
    assert.equal(plain.rules[1]?.helpUri, undefined);
    assert.equal(plain.rules[1]?.shortDescription?.text, 'security/detect-eval-with-expression');
  });

  it('builds one SARIF run: relative URIs, versions, plugins, notifications, level filter', () => {
    const run = eslintRun(converted, {
      rootUri: 'file:///home/dev/api/',
      version: '10.15.0',
      plugins: { 'eslint-plugin-security': '4.1.0' },
    });
    assert.equal(run.tool.driver.name, 'eslint');
    assert.equal(run.tool.driver.version, '10.15.0');
    assert.equal(run.originalUriBaseIds?.SRCROOT?.uri, 'file:///home/dev/api/');
    assert.deepEqual(run.properties, { plugins: { 'eslint-plugin-security': '4.1.0' } });
    assert.deepEqual(run.results?.[0]?.locations?.[0]?.physicalLocation?.artifactLocation, {
      uri: 'src/routes/notes.js',
      uriBaseId: 'SRCROOT',
    });
    for (const result of run.results ?? []) {
      assert.equal(run.tool.driver.rules?.[result.ruleIndex ?? -1]?.id, result.ruleId);
    }
    assert.equal(run.invocations?.[0]?.executionSuccessful, true, 'an unparsable file does not fail the run');
    assert.equal(run.invocations?.[0]?.toolExecutionNotifications?.length, 1);
    const warnings = eslintRun(converted, { rootUri: 'file:///x/', plugins: {}, minLevel: 'warning' });
    assert.deepEqual(
      warnings.results?.map((r) => r.ruleId),
      ['security/detect-eval-with-expression', 'no-unused-vars'],
    );
  });

  it('gives every rule of the table a level and a CWE', () => {
    for (const [id, info] of Object.entries(ESLINT_RULES)) {
      assert.ok(info.cwe.length > 0 && info.cwe.every((c) => /^CWE-\d+$/.test(c)), id);
    }
  });
});

describe('eslint command line', () => {
  it('uses our config and JSON with rule metadata; extra rules only when given', () => {
    const args = eslintArgs('/tb/security.config.mjs', '/s/out.json', ['a.js', '-b.ts'], {});
    assert.deepEqual(args.slice(0, 6), [
      '-c',
      '/tb/security.config.mjs',
      '--format',
      'json-with-metadata',
      '--output-file',
      '/s/out.json',
    ]);
    assert.ok(!args.includes('--rule'));
    assert.deepEqual(args.slice(-2), ['a.js', './-b.ts']);
    const extra = eslintArgs('/c', '/o', ['a.js'], { 'no-alert': 'error' });
    assert.deepEqual(extra.slice(extra.indexOf('--rule'), extra.indexOf('--rule') + 2), [
      '--rule',
      '{"no-alert":"error"}',
    ]);
  });
});

describe('the toolbox eslint config', () => {
  it('is not named eslint.config.* (eslint would pick it up for the files beside it)', () => {
    assert.match(path.basename(bundledConfigFile()), /^(?!eslint\.config\.).*\.mjs$/);
  });

  it('loads the plugin and parser from the installation it is given, every plugin rule on', async () => {
    // Stand-in packages: the config must resolve them from FUZZFORGE_ESLINT_MODULES only.
    const modules = path.join(tmp, 'node_modules');
    const pkg = (name: string, main: string) => {
      fs.mkdirSync(path.join(modules, name), { recursive: true });
      fs.writeFileSync(path.join(modules, name, 'package.json'), JSON.stringify({ name, main: 'index.js' }));
      fs.writeFileSync(path.join(modules, name, 'index.js'), main);
    };
    pkg('eslint', 'module.exports = {};');
    pkg('eslint-plugin-security', "module.exports = { rules: { 'detect-a': {}, 'detect-b': {} } };");
    pkg('@typescript-eslint/parser', "module.exports = { parseForESLint() {}, stand: 'in' };");
    process.env.FUZZFORGE_ESLINT_MODULES = modules;
    try {
      type Block = {
        files?: string[];
        plugins?: Record<string, { rules?: Record<string, unknown> }>;
        rules?: Record<string, string>;
        languageOptions?: { parser?: { stand?: string }; globals?: Record<string, string> };
        linterOptions?: Record<string, unknown>;
      };
      const mod = (await import(pathToFileURL(bundledConfigFile()).href)) as { default: Block[] };
      const blocks = mod.default;
      const js = blocks.find((b) => b.files?.includes('**/*.js'));
      const ts = blocks.find((b) => b.files?.includes('**/*.ts'));
      assert.deepEqual(js?.rules, {
        'security/detect-a': 'warn',
        'security/detect-b': 'warn',
        'no-implied-eval': 'warn',
        'no-new-func': 'warn',
      });
      assert.deepEqual(ts?.rules, js?.rules);
      assert.equal(ts?.languageOptions?.parser?.stand, 'in');
      assert.ok(ts?.files?.includes('**/*.tsx'));
      assert.ok(js?.files?.includes('**/*.cjs') && js.files.includes('**/*.jsx'));
      assert.equal(js?.languageOptions?.globals?.setTimeout, 'readonly');
      assert.equal(blocks[0]?.linterOptions?.reportUnusedDisableDirectives, 'off');
    } finally {
      delete process.env.FUZZFORGE_ESLINT_MODULES;
    }
  });
});

describe('js_sast parameters', () => {
  const wf = findWorkflow(toolboxDir(), 'js_sast');

  it('defaults to eslint at every level with no extra rules', () => {
    assert.equal(wf.vertical, 'node');
    assert.deepEqual(validateParams(wf, {}), {
      exclude: [],
      tools: ['eslint'],
      min_level: 'note',
      extra_eslint_rules: {},
      include_vendored: false,
      report_tests_and_docs: false,
    });
  });

  it('rejects unknown tools and non-object extra rules', () => {
    assert.throws(() => validateParams(wf, { tools: ['jshint'] }), /tools/);
    assert.throws(() => validateParams(wf, { extra_eslint_rules: 'no-alert' }), /extra_eslint_rules/);
  });
});
