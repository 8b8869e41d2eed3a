// go_sast end to end on a real backend: the go-sast fixture scanned by gosec and go vet on the go
// worker, compared with its expected findings; a failing tool leaves a notification and the other
// tool's results; modules that do not fully load still get what can be analysed.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { SarifLog, SarifRun } from '../../backend/sarif/types';
import { awaitScan, findWorkflow, startScan } from '../../backend/scan';
import { toolboxDir } from '../../backend/paths';
import { findServiceBinary, SERVICE_BINARIES, whichSync } from '../../backend/services/binaries';
import {
  copyFixture,
  startTestBackend,
  type TestBackend,
  sarifValidationProblems,
  readExpected,
  comparableRows,
} from './harness';

const expected = readExpected('go-sast');

function runOf(sarif: SarifLog, tool: string): SarifRun {
  const run = sarif.runs.find((r) => r.tool.driver.name === tool);
  assert.ok(run, `a ${tool} run`);
  return run;
}

describe('go_sast end to end', () => {
  let backend: TestBackend;
  let workspace: string;
  before(async () => {
    // Hermetic: the fixture needs only the standard library, and the module with an unknown
    // dependency must fail to resolve the same way with or without a network. The go worker
    // inherits this: a backend of its own, not the shared one.
    process.env.GOPROXY = 'off';
    backend = await startTestBackend({ verticals: ['go'] });
    workspace = copyFixture('go-sast', path.join(backend.root, 'go-sast'));
  });
  after(async () => {
    await backend?.stop();
  });

  async function scan(target: string, params: Record<string, unknown>) {
    const wf = findWorkflow(toolboxDir(), 'go_sast');
    const { run } = await startScan(backend.conn, backend.runs, { path: target, workflow: wf, params });
    return awaitScan(backend.conn, backend.runs, run.runId);
  }

  it('reports exactly the expected gosec and go vet findings, relative to SRCROOT, with versions', async () => {
    const { summary, sarif } = await scan(workspace, {});
    assert.deepEqual(comparableRows(sarif), expected);
    assert.equal(summary.total, expected.length);
    assert.deepEqual(
      summary.tools.map((t) => [t.name, t.error]),
      [
        ['gosec', undefined],
        ['govet', undefined],
      ],
    );
    for (const run of sarif.runs) {
      assert.match(run.tool.driver.version ?? '', /^\d+\.\d+/, `${run.tool.driver.name} has a version`);
      assert.equal(run.originalUriBaseIds?.SRCROOT?.uri, `${pathToFileURL(fs.realpathSync(workspace)).href}/`);
      for (const result of run.results ?? []) {
        const loc = result.locations?.[0]?.physicalLocation;
        assert.equal(loc?.artifactLocation?.uriBaseId, 'SRCROOT');
        assert.ok(!loc?.artifactLocation?.uri.startsWith('/'), 'URIs are relative to the workspace');
        assert.ok(result.level, 'explicit level');
        assert.equal(run.tool.driver.rules?.[result.ruleIndex ?? -1]?.id, result.ruleId);
        assert.ok(result.partialFingerprints?.['fuzzforge/v1']);
      }
    }
    const gosec = runOf(sarif, 'gosec');
    for (const rule of gosec.tool.driver.rules ?? []) {
      assert.ok(
        rule.properties?.tags?.some((t) => /^external\/cwe\/cwe-\d+$/.test(t)),
        `${rule.id} has a CWE tag`,
      );
    }
    const credential = gosec.results?.find((r) => r.ruleId === 'G101');
    const snippet = credential?.locations?.[0]?.physicalLocation?.region?.snippet?.text ?? '';
    assert.match(snippet, /adminPassword = "Zq8#…"/, 'shown as our detector shows secrets: 4 characters');
    assert.doesNotMatch(JSON.stringify(sarif), /Zq8#vR2mK/, 'the hard-coded password is not copied into the log');
    assert.deepEqual(await sarifValidationProblems(sarif, backend.root), []);
  });

  it('keeps go vet results when gosec fails, with a notification carrying gosec stderr', async () => {
    // A rule id this gosec does not have: it refuses to run with "No rules/analyzers are configured".
    const { summary, sarif } = await scan(workspace, { include_rules: ['G999'] });
    const gosecTool = summary.tools.find((t) => t.name === 'gosec');
    assert.match(gosecTool?.error ?? '', /^gosec exited with code 1: [\s\S]*No rules\/analyzers are configured/);
    assert.equal(gosecTool?.version, runOf(sarif, 'gosec').tool.driver.version);
    const gosec = runOf(sarif, 'gosec');
    assert.equal(gosec.results?.length, 0);
    assert.equal(gosec.invocations?.[0]?.executionSuccessful, false);
    assert.match(
      gosec.invocations?.[0]?.toolExecutionNotifications?.[0]?.message.text ?? '',
      /gosec exited with code 1: [\s\S]*Including rules: G999[\s\S]*No rules\/analyzers are configured/,
    );
    assert.deepEqual(
      comparableRows(sarif),
      expected.filter((r) => r.tool === 'govet'),
    );
    assert.equal(summary.tools.find((t) => t.name === 'govet')?.error, undefined);
  });

  it('analyses what loads in a module with an unresolvable dependency and in files outside any module', async () => {
    const ws = path.join(backend.root, 'partial');
    const write = (rel: string, text: string) => {
      fs.mkdirSync(path.dirname(path.join(ws, rel)), { recursive: true });
      fs.writeFileSync(path.join(ws, rel), text);
    };
    write('loose/main.go', 'package main\n\nimport "fmt"\n\nfunc main() {\n\tfmt.Printf("%d\\n", "loose")\n}\n');
    write('broken/go.mod', 'module example.com/broken\n\ngo 1.21\n\nrequire example.com/unpublished v1.0.0\n');
    write(
      'broken/main.go',
      'package main\n\nimport (\n\t"crypto/md5"\n\t"fmt"\n\n\t"example.com/unpublished"\n)\n\n' +
        'func main() {\n\tfmt.Println(md5.Sum([]byte(unpublished.Name)))\n}\n',
    );
    write(
      'broken/util/util.go',
      'package util\n\nimport "fmt"\n\nfunc Describe(n int) string {\n\treturn fmt.Sprintf("%s items", n)\n}\n',
    );
    const { summary, sarif } = await scan(ws, {});
    assert.deepEqual(comparableRows(sarif), [
      { tool: 'gosec', ruleId: 'G501', file: 'broken/main.go', line: 4 },
      { tool: 'gosec', ruleId: 'G401', file: 'broken/main.go', line: 11 },
      { tool: 'govet', ruleId: 'printf', file: 'broken/util/util.go', line: 6 },
      { tool: 'govet', ruleId: 'printf', file: 'loose/main.go', line: 6 },
    ]);
    assert.deepEqual(
      summary.tools.map((t) => [t.name, t.error]),
      [
        ['gosec', undefined],
        ['govet', undefined],
      ],
    );
    const notes = (tool: string) =>
      (runOf(sarif, tool).invocations?.[0]?.toolExecutionNotifications ?? []).map((n) => n.message.text).join('\n');
    assert.match(notes('gosec'), /type-checking errors, results may be incomplete:\nbroken\/main\.go:7: /);
    assert.match(notes('govet'), /not vetted \(does not load\):\nexample\.com\/broken: .*GOPROXY=off/);
  });
});

// gosec on PATH cannot be hidden from the worker; the other suite still covers the rest.
const gosecOnPath = whichSync('gosec') !== undefined;

describe('go_sast on a worker without gosec', { skip: gosecOnPath && 'gosec is on PATH' }, () => {
  let backend: TestBackend;
  const saved = { ...process.env };
  before(async () => {
    // The worker looks for tools in <cache>/tools first: an empty cache folder hides the gosec
    // that setup installed there. The service binaries are pointed at where they are now.
    for (const name of ['temporal', 'minio'] as const) {
      const found = findServiceBinary(name);
      if (found) {
        process.env[SERVICE_BINARIES[name].envOverride] = found.path;
      }
    }
    process.env.FUZZFORGE_CACHE_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-no-tools-'));
    backend = await startTestBackend({ verticals: ['go'] });
  });
  after(async () => {
    await backend?.stop();
    if (process.env.FUZZFORGE_CACHE_DIR !== saved.FUZZFORGE_CACHE_DIR) {
      fs.rmSync(process.env.FUZZFORGE_CACHE_DIR ?? '', { recursive: true, force: true });
    }
    for (const key of ['FUZZFORGE_CACHE_DIR', ...Object.values(SERVICE_BINARIES).map((b) => b.envOverride)]) {
      if (saved[key] === undefined) {
        delete process.env[key];
      } else {
        process.env[key] = saved[key];
      }
    }
  });

  it('reports gosec as missing, with how to install it, and keeps the go vet results', async () => {
    const workspace = copyFixture('go-sast', path.join(backend.root, 'go-sast'));
    const wf = findWorkflow(toolboxDir(), 'go_sast');
    const { run } = await startScan(backend.conn, backend.runs, { path: workspace, workflow: wf, params: {} });
    const { summary, sarif } = await awaitScan(backend.conn, backend.runs, run.runId);
    assert.match(
      summary.tools.find((t) => t.name === 'gosec')?.error ?? '',
      /^gosec is not installed on this worker \(install: GOBIN=.* go install github\.com\/securego\/gosec\/v2\/cmd\/gosec@v/,
    );
    assert.equal(runOf(sarif, 'gosec').invocations?.[0]?.executionSuccessful, false);
    assert.deepEqual(
      comparableRows(sarif),
      expected.filter((r) => r.tool === 'govet'),
    );
  });
});
