// The pure parts of the cpp_sast tools: cppcheck's XML report to findings (and the small XML
// reader under it), flawfinder's SARIF to FuzzForge's shape.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import type { SarifLog } from '../../backend/sarif/types';
import {
  CPPCHECK_SOURCE,
  cppcheckArgs,
  cppcheckFindings,
  cppcheckLevel,
  parseCppcheckXml,
  parseXml,
} from '../../toolbox/modules/sast/cppcheck';
import {
  batches,
  filterByLevel,
  finishFlawfinderRun,
  FLAWFINDER_SOURCE,
  flawfinderArgs,
  hitLevel,
  splitByEncoding,
} from '../../toolbox/modules/sast/flawfinder';
import { listTargetFiles } from '../../toolbox/modules/targetFiles';

const FIXTURES = path.join(__dirname, '..', 'fixtures');

const REPORT = `<?xml version="1.0" encoding="UTF-8"?>
<results version="2">
    <cppcheck version="2.10"/>
    <errors>
        <error id="nullPointer" severity="error" msg="Null pointer dereference: p" verbose="Null pointer dereference: p" cwe="476" file0="src/report.c">
            <location file="src/report.c" line="33" column="13" info="Null pointer dereference"/>
            <location file="src/report.c" line="31" column="15" info="Assignment &apos;p=NULL&apos;, assigned value is 0"/>
            <symbol>p</symbol>
        </error>
        <error id="getsCalled" severity="warning" msg="Obsolete function &apos;gets&apos; called." verbose="With &apos;gets&apos; you&apos;ll get a buffer overrun &amp; more.\\012Use fgets." cwe="477" file0="src/names.c">
            <location file="src/names.c" line="34" column="5"/>
        </error>
        <error id="constVariable" severity="style" msg="Variable &apos;row&apos; can be declared as const array" verbose="x" cwe="398" inconclusive="true" file0="src/table.cpp">
            <location file="./src/table.cpp" line="13" column="13"/>
        </error>
        <error id="uninitvar" severity="error" msg="Uninitialized variable: x" verbose="Uninitialized variable: x" cwe="457">
            <location file="/usr/include/stdio.h" line="10" column="1"/>
        </error>
        <error id="toomanyconfigs" severity="information" msg="Too many #ifdef configurations" verbose="Too many #ifdef configurations"/>
    </errors>
</results>
`;

describe('XML reader', () => {
  it('reads elements, attributes, entities and text', () => {
    const root = parseXml(
      '<?xml version="1.0"?>\n<!-- c --><a x=\'1 &lt; 2\'><b y="&#65;&#x42;"/>t &amp; u<c></c></a>',
    );
    assert.equal(root.name, 'a');
    assert.equal(root.attrs.x, '1 < 2');
    assert.deepEqual(
      root.children.map((c) => [c.name, c.attrs]),
      [
        ['b', { y: 'AB' }],
        ['c', {}],
      ],
    );
    assert.equal(root.text, 't & u');
  });

  it('says what is wrong with malformed XML, and where', () => {
    assert.throws(
      () => parseXml('<a>\n<b>\n</a>', 'r'),
      /r is not well-formed XML: <\/a> does not close <b> on line 3/,
    );
    assert.throws(() => parseXml('<a>\n<b/>', 'r'), /<a> is not closed \(truncated\?\)/);
    assert.throws(() => parseXml('<a t="x & y"/>', 'r'), /bare "&" in <a> on line 1/);
    assert.throws(() => parseXml('<a>&nbsp;</a>', 'r'), /unknown entity &nbsp;/);
    assert.throws(() => parseXml('<a/><b/>', 'r'), /a second root element on line 1/);
    assert.throws(() => parseXml('junk', 'r'), /text outside the root element on line 1/);
    assert.throws(() => parseXml('<a b=1/>', 'r'), /malformed start tag on line 1/);
    assert.throws(() => parseXml('', 'r'), /r is empty: no XML element/);
  });
});

describe('cppcheck report', () => {
  it('reads issues at their first location, with CWE and the cppcheck version', () => {
    const report = parseCppcheckXml(REPORT);
    assert.equal(report.version, '2.10');
    assert.equal(report.issues.length, 5);
    assert.deepEqual(report.issues[0], {
      id: 'nullPointer',
      severity: 'error',
      message: 'Null pointer dereference: p',
      verbose: 'Null pointer dereference: p',
      cwe: 476,
      inconclusive: false,
      file: 'src/report.c',
      line: 33,
      column: 13,
    });
    assert.equal(report.issues[1]?.message, "Obsolete function 'gets' called.");
    assert.equal(report.issues[2]?.inconclusive, true);
    assert.equal(report.issues[4]?.file, undefined);
  });

  it('maps severities to levels', () => {
    assert.deepEqual(['error', 'warning', 'style', 'performance', 'portability', 'information'].map(cppcheckLevel), [
      'error',
      'warning',
      'note',
      'note',
      'note',
      'note',
    ]);
  });

  it('gives sorted findings in the target, one rule per id with CWE, and notes for unlocated messages', () => {
    const { findings, rules, notes } = cppcheckFindings(parseCppcheckXml(REPORT), '/t', '/t');
    assert.deepEqual(findings, [
      {
        ruleId: 'getsCalled',
        level: 'warning',
        message: "Obsolete function 'gets' called.",
        file: 'src/names.c',
        line: 34,
        column: 5,
      },
      {
        ruleId: 'nullPointer',
        level: 'error',
        message: 'Null pointer dereference: p',
        file: 'src/report.c',
        line: 33,
        column: 13,
      },
      {
        ruleId: 'constVariable',
        level: 'note',
        message: "Variable 'row' can be declared as const array (inconclusive)",
        file: 'src/table.cpp',
        line: 13,
        column: 13,
      },
    ]);
    assert.deepEqual(
      rules.map((r) => [r.id, r.defaultConfiguration?.level, r.properties?.cwe, r.helpUri]),
      [
        ['constVariable', 'note', ['CWE-398'], 'https://cwe.mitre.org/data/definitions/398.html'],
        ['getsCalled', 'warning', ['CWE-477'], 'https://cwe.mitre.org/data/definitions/477.html'],
        ['nullPointer', 'error', ['CWE-476'], 'https://cwe.mitre.org/data/definitions/476.html'],
      ],
    );
    assert.equal(rules[1]?.help?.text, "With 'gets' you'll get a buffer overrun & more.\nUse fgets.");
    assert.deepEqual(notes, ['toomanyconfigs: Too many #ifdef configurations']);
  });

  it('rejects reports that are not cppcheck XML v2 or are cut short', () => {
    assert.throws(
      () => parseCppcheckXml('<results version="1"><error/></results>'),
      /not version 2: root <results> version "1"/,
    );
    assert.throws(
      () => parseCppcheckXml('<results version="2"><cppcheck version="2.10"/></results>'),
      /no <errors> element/,
    );
    assert.throws(
      () => parseCppcheckXml(REPORT.slice(0, REPORT.indexOf('<error id="getsCalled"'))),
      /cppcheck XML report is not well-formed XML: <errors> is not closed \(truncated\?\)/,
    );
    assert.throws(
      () => parseCppcheckXml('<results version="2"><errors><error severity="error" msg="m"/></errors></results>'),
      /an <error> without id, severity or msg/,
    );
    assert.throws(
      () => parseCppcheckXml('cppcheck: error: unknown --std value'),
      /not well-formed XML: text outside the root/,
    );
  });

  it('runs the agreed checks with the report in a file and the standard when given', () => {
    assert.deepEqual(cppcheckArgs({ std: '' }, '/s/files.txt', '/s/out.xml', 1), [
      '--xml',
      '--xml-version=2',
      '--enable=warning,style,performance,portability',
      '--inline-suppr',
      '--quiet',
      '--output-file=/s/out.xml',
      '--file-list=/s/files.txt',
    ]);
    assert.deepEqual(cppcheckArgs({ std: 'c++17' }, 'f', 'o', 2).slice(-2), ['--std=c++17', '-j2']);
  });

  it('gives cppcheck translation units and flawfinder headers too', () => {
    assert.ok(['a.c', 'b.cpp', 'c.cc', 'd.cxx', 'e.C'].every((f) => CPPCHECK_SOURCE.test(f)));
    assert.ok(!['a.h', 'b.hpp', 'c.py', 'd.cs'].some((f) => CPPCHECK_SOURCE.test(f)));
    assert.ok(['a.c', 'b.h', 'c.hpp', 'd.cpp'].every((f) => FLAWFINDER_SOURCE.test(f)));
    assert.ok(!FLAWFINDER_SOURCE.test('notes.txt'));
  });
});

/** flawfinder 2.0.19's SARIF for two hits: rank is level / 5. */
function flawfinderLog(): SarifLog {
  const rules = [
    {
      id: 'FF1001',
      name: 'buffer/strcpy',
      defaultConfiguration: { level: 'error' },
      helpUri: 'https://cwe.mitre.org/data/definitions/120.html',
      relationships: [{ target: { id: 'CWE-120', toolComponent: { name: 'CWE' } }, kinds: ['relevant'] }],
    },
    {
      id: 'FF1019',
      name: 'format/snprintf',
      defaultConfiguration: { level: 'error' },
      relationships: [{ target: { id: 'CWE-134', toolComponent: { name: 'CWE' } }, kinds: ['relevant'] }],
    },
  ];
  const hit = (ruleId: string, uri: string, line: number, rank: number, level: 'error' | 'note') => ({
    ruleId,
    level,
    rank,
    message: { text: ruleId },
    locations: [
      {
        physicalLocation: {
          artifactLocation: { uri, uriBaseId: 'SRCROOT' },
          region: { startLine: line, snippet: { text: `line ${line}` } },
        },
      },
    ],
  });
  return {
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: 'Flawfinder', version: '2.0.19', rules } },
        results: [
          hit('FF1019', './src/names.c', 17, 0, 'note'),
          hit('FF1001', './src/names.c', 10, 0.8, 'error'),
          hit('FF1001', './vendor/x.c', 3, 0.8, 'error'),
        ],
      },
    ],
  } as SarifLog;
}

describe('flawfinder SARIF', () => {
  it('tells the files flawfinder can read (UTF-8) from the others', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-enc-'));
    try {
      fs.writeFileSync(path.join(dir, 'ascii.c'), 'int a;\n');
      fs.writeFileSync(path.join(dir, 'utf8.c'), '/* Fran\u00e7ois */\n');
      fs.copyFileSync(path.join(FIXTURES, 'cpp-latin1', 'src', 'legacy.c'), path.join(dir, 'legacy.c'));
      const files = await listTargetFiles(dir);
      const { utf8, other } = await splitByEncoding(files);
      assert.deepEqual(
        utf8.map((f) => f.rel),
        ['ascii.c', 'utf8.c'],
      );
      assert.deepEqual(
        other.map((f) => f.rel),
        ['legacy.c'],
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('asks for SARIF with the level and, when wanted, the false-positive filter', () => {
    assert.deepEqual(flawfinderArgs({ minLevel: 1, falsePositive: false }), ['--sarif', '--minlevel=1']);
    assert.deepEqual(flawfinderArgs({ minLevel: 3, falsePositive: true }), [
      '--sarif',
      '--minlevel=3',
      '--falsepositive',
    ]);
  });

  it('reads risk levels from ranks and applies min_level itself (2.0.19 ignores it for SARIF)', () => {
    const run = flawfinderLog().runs[0];
    assert.ok(run);
    assert.deepEqual(run.results?.map(hitLevel), [0, 4, 4]);
    filterByLevel(run, 1);
    assert.deepEqual(
      run.results?.map((r) => r.ruleId),
      ['FF1001', 'FF1001'],
    );
  });

  it('makes one FuzzForge run: names, relative URIs, CWE tags, used rules only, excludes applied', () => {
    const run = finishFlawfinderRun([flawfinderLog()], {
      targetDir: '/t',
      rootUri: 'file:///home/me/c',
      minLevel: 1,
      exclude: ['vendor/'],
    });
    assert.equal(run.tool.driver.name, 'flawfinder');
    assert.equal(run.tool.driver.version, '2.0.19');
    assert.deepEqual(run.originalUriBaseIds, { SRCROOT: { uri: 'file:///home/me/c/' } });
    assert.deepEqual(
      run.results?.map((r) => [r.ruleId, r.ruleIndex, r.locations?.[0]?.physicalLocation?.artifactLocation?.uri]),
      [['FF1001', 0, 'src/names.c']],
    );
    assert.deepEqual(
      run.tool.driver.rules?.map((r) => r.id),
      ['FF1001'],
    );
    assert.deepEqual(run.tool.driver.rules?.[0]?.properties?.tags, ['external/cwe/cwe-120']);
    assert.ok(run.results?.[0]?.partialFingerprints?.['fuzzforge/v1']);
    assert.deepEqual(run.invocations, [{ executionSuccessful: true }]);
  });

  it('keeps level 0 hits when asked for them', () => {
    const run = finishFlawfinderRun([flawfinderLog()], {
      targetDir: '/t',
      rootUri: 'file:///c',
      minLevel: 0,
      exclude: [],
    });
    assert.equal(run.results?.length, 3);
  });

  it('batches file arguments under the size bound, keeping order', () => {
    assert.deepEqual(batches(['aaa', 'bb', 'c', 'dddd'], 7), [
      ['aaa', 'bb'],
      ['c', 'dddd'],
    ]);
    assert.deepEqual(batches(['much-too-long'], 4), [['much-too-long']]);
    assert.deepEqual(batches([]), []);
  });
});
