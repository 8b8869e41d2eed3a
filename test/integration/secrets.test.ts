// secret_detection end to end: the secrets-app fixture through MinIO, Temporal and the generic
// worker, with gitleaks (when installed) and without it.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { findingRows } from '../../backend/sarif/log';
import type { SarifLog } from '../../backend/sarif/types';
import { awaitScan, findWorkflow, startScan } from '../../backend/scan';
import { toolboxDir } from '../../backend/paths';
import { ObjectStore } from '../../backend/storage/objectStore';
import type { ScanSummary } from '../../toolbox/shared/definitions';
import { GITLEAKS_BIN_ENV } from '../../toolbox/modules/secrets/gitleaks';
import { toolPath } from '../../backend/toolbox/tools';
import { copyFixture, FIXTURES, startTestBackend, type TestBackend } from './harness';

interface Row {
  ruleId: string;
  file: string;
  line: number;
}

const FIXTURE = path.join(FIXTURES, 'secrets-app');
const expected = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'secrets-app.expected.json'), 'utf8')) as Row[];

function compareRows(a: Row, b: Row): number {
  return a.file.localeCompare(b.file) || a.line - b.line || a.ruleId.localeCompare(b.ruleId);
}

/**
 * gitleaks' own findings on the fixture (its part, before de-duplication): the planted secrets it
 * has rules for, each also one of ours.
 */
const GITLEAKS_ROWS: Row[] = [
  { ruleId: 'slack-bot-token', file: '.env.example', line: 13 },
  { ruleId: 'private-key', file: 'certs/service-key.pem', line: 1 },
  { ruleId: 'aws-access-token', file: 'config/settings.py', line: 24 },
  { ruleId: 'generic-api-key', file: 'config/settings.py', line: 25 },
  { ruleId: 'stripe-access-token', file: 'config/settings.py', line: 30 },
  { ruleId: 'sendgrid-api-token', file: 'config/settings.py', line: 37 },
  { ruleId: 'gcp-api-key', file: 'config/settings.py', line: 39 },
  { ruleId: 'gitlab-pat', file: 'deploy/k8s/app.yaml', line: 9 },
  { ruleId: 'npm-access-token', file: 'scripts/deploy.sh', line: 7 },
  { ruleId: 'pypi-upload-token', file: 'scripts/deploy.sh', line: 12 },
  { ruleId: 'github-pat', file: 'src/config.js', line: 7 },
  { ruleId: 'jwt', file: 'src/config.js', line: 13 },
  { ruleId: 'twilio-api-key', file: 'src/config.js', line: 24 },
  { ruleId: 'generic-api-key', file: 'src/config.js', line: 25 },
  { ruleId: 'generic-api-key', file: 'src/config.js', line: 28 },
];

function rowsOf(sarif: SarifLog): Row[] {
  return findingRows(sarif)
    .map((r) => ({ ruleId: r.ruleId, file: decodeURI(r.file ?? ''), line: r.line ?? 0 }))
    .sort(compareRows);
}

/**
 * The planted secret values, read from the fixture at the spans our detector reported (in the
 * run without gitleaks, whose results are all ours): for a private key, its material lines.
 */
function plantedValues(sarif: SarifLog): string[] {
  const values: string[] = [];
  for (const run of sarif.runs) {
    for (const result of run.results ?? []) {
      const loc = result.locations?.[0]?.physicalLocation;
      const lines = fs
        .readFileSync(path.join(FIXTURE, decodeURI(loc?.artifactLocation?.uri ?? '')), 'utf8')
        .split('\n');
      const line = lines[(loc?.region?.startLine ?? 0) - 1] ?? '';
      if (result.ruleId === 'ff-secret-private-key') {
        const end = lines.findIndex((l) => l.startsWith('-----END'));
        values.push(...lines.slice(loc?.region?.startLine ?? 0, end));
      } else {
        values.push(line.slice((loc?.region?.startColumn ?? 1) - 1, (loc?.region?.endColumn ?? 1) - 1));
      }
    }
  }
  return values;
}

/** Every object the run stored (parts, de-duplicated parts, the merged log) as text. */
async function storedTexts(backend: TestBackend, summary: ScanSummary): Promise<Map<string, string>> {
  const store = new ObjectStore(backend.conn);
  const keys: string[] = [];
  const stream = store.client.listObjectsV2(summary.resultsBucket, `runs/${summary.runId}/`, true);
  for await (const item of stream as AsyncIterable<{ name?: string }>) {
    if (item.name) {
      keys.push(item.name);
    }
  }
  const texts = new Map<string, string>();
  for (const key of keys) {
    texts.set(key, (await store.getBuffer(summary.resultsBucket, key)).toString('utf8'));
  }
  return texts;
}

/** Fixed parts of the formats (and a JWT's standard header), which rule descriptions name: not secret. */
const PUBLIC_PART =
  /^(?:[sr]k_live_|github_pat_|gh[pousr]_|glpat-|xox[abpr]-|npm_|pypi-AgEIcHlwaS5vcmc|SG\.|AIza|AKIA|SK|eyJ[\w-]*\.)/;

function assertNoSecretIn(texts: Map<string, string>, planted: readonly string[]): void {
  for (const secret of planted.map((v) => v.replace(PUBLIC_PART, ''))) {
    assert.ok(secret.length >= 8, `planted value ${secret.slice(0, 4)}… is long enough to check`);
    for (let i = 0; i + 8 <= secret.length; i++) {
      const window = secret.slice(i, i + 8);
      for (const [key, text] of texts) {
        assert.ok(!text.includes(window), `${key} contains part of a planted secret (${secret.slice(0, 4)}…)`);
      }
    }
  }
}

function assertRelativeLocations(sarif: SarifLog, workspace: string): void {
  const root = `${pathToFileURL(fs.realpathSync(workspace)).href}/`;
  for (const run of sarif.runs) {
    if ((run.results ?? []).length > 0) {
      assert.equal(run.originalUriBaseIds?.SRCROOT?.uri, root, run.tool.driver.name);
    }
    for (const result of run.results ?? []) {
      const art = result.locations?.[0]?.physicalLocation?.artifactLocation;
      assert.equal(art?.uriBaseId, 'SRCROOT');
      assert.ok(art?.uri && !art.uri.startsWith('/') && !art.uri.includes('://'), art?.uri);
      const rule = run.tool.driver.rules?.[result.ruleIndex ?? -1];
      assert.equal(rule?.id, result.ruleId, 'ruleIndex points at the rule');
      assert.equal(rule?.helpUri, 'https://cwe.mitre.org/data/definitions/798.html');
      assert.ok(rule?.properties?.tags?.includes('external/cwe/cwe-798'));
    }
  }
}

describe('secret_detection end to end', () => {
  let backend: TestBackend;
  let workspace: string;
  const gitleaksInstalled = toolPath('gitleaks') !== undefined;
  let withoutGitleaks: SarifLog | undefined;

  const scan = async (params: Record<string, unknown>) => {
    const wf = findWorkflow(toolboxDir(), 'secret_detection');
    // No baseline: each run stands alone (a baseline would add the previous run's results as absent).
    const { run } = await startScan(backend.conn, backend.runs, {
      path: workspace,
      workflow: wf,
      params,
      baseline: false,
    });
    return awaitScan(backend.conn, backend.runs, run.runId);
  };

  before(async () => {
    backend = await startTestBackend({ verticals: ['generic'], shareable: true });
    workspace = copyFixture('secrets-app', path.join(backend.root, 'secrets-app'));
  });
  after(async () => {
    await backend?.stop();
  });

  it('without gitleaks, our detector alone finds every planted secret and no decoy', async () => {
    const { summary, sarif } = await scan({ use_gitleaks: false });
    assert.deepEqual(rowsOf(sarif), expected);
    assert.deepEqual(
      summary.tools.map((t) => t.name),
      ['fuzzforge-secrets'],
    );
    assertRelativeLocations(sarif, workspace);
    withoutGitleaks = sarif;
    assertNoSecretIn(await storedTexts(backend, summary), plantedValues(sarif));
  });

  it('with gitleaks, reports exactly the expected findings once each, redacted in every stored object', async () => {
    const { summary, sarif } = await scan({});
    assert.deepEqual(rowsOf(sarif), expected);
    assert.equal(summary.total, expected.length);
    const gitleaks = summary.tools.find((t) => t.name === 'gitleaks');
    assert.ok(gitleaks, 'gitleaks has a part, even when it cannot run');
    if (gitleaksInstalled) {
      assert.equal(gitleaks.error, undefined);
      assert.match(gitleaks.version ?? '', /^\d+\.\d+\.\d+/);
      // It saw the same secrets: its rule ids are kept on our results, its duplicates are gone.
      const ours = sarif.runs.find((r) => r.tool.driver.name === 'fuzzforge-secrets');
      const confirmed = (ours?.results ?? []).filter((r) => Array.isArray(r.properties?.gitleaksRuleIds));
      const run = sarif.runs.find((r) => r.tool.driver.name === 'gitleaks');
      // Every gitleaks finding on the fixture is a planted secret we report too: all of them are
      // dropped as duplicates, each confirming one of ours at its location.
      const gitleaksRows = rowsOf(
        JSON.parse(
          (await storedTexts(backend, summary)).get(`runs/${summary.runId}/parts/gitleaks.sarif`) ?? '{}',
        ) as SarifLog,
      );
      assert.deepEqual(gitleaksRows, GITLEAKS_ROWS, 'gitleaks finds the planted secrets it has rules for');
      assert.equal(run?.properties?.duplicatesOfFuzzforgeSecrets, gitleaksRows.length);
      const where = (r: (typeof confirmed)[number]) =>
        `${decodeURI(r.locations?.[0]?.physicalLocation?.artifactLocation?.uri ?? '')}:${r.locations?.[0]?.physicalLocation?.region?.startLine ?? 0}`;
      assert.deepEqual(
        [...new Set(confirmed.map(where))].sort(),
        [...new Set(gitleaksRows.map((r) => `${r.file}:${r.line}`))].sort(),
      );
    } else {
      assert.match(gitleaks.error ?? '', /gitleaks is not installed/);
    }
    assertRelativeLocations(sarif, workspace);
    assert.ok(withoutGitleaks, 'the first test ran');
    const texts = await storedTexts(backend, summary);
    assertNoSecretIn(texts, plantedValues(withoutGitleaks));
    if (gitleaksInstalled) {
      // gitleaks' own part, before de-duplication: normalised, and only planted secrets left.
      const part = JSON.parse(texts.get(`runs/${summary.runId}/parts/gitleaks.sarif`) ?? '{}') as SarifLog;
      assertRelativeLocations(part, workspace);
      const planted = new Set(expected.map((r) => `${r.file}:${r.line}`));
      const rows = rowsOf(part);
      assert.deepEqual(rows, GITLEAKS_ROWS);
      for (const row of rows) {
        assert.ok(
          planted.has(`${row.file}:${row.line}`),
          `gitleaks ${row.ruleId} at ${row.file}:${row.line} is a decoy`,
        );
      }
      const dropped = part.runs[0]?.properties?.droppedResults as Record<string, number> | undefined;
      assert.deepEqual(dropped, { 'a UUID': 2, 'a hash': 1, 'a public key': 1, 'a documentation example': 1 });
    }
    for (const row of findingRows(sarif)) {
      assert.ok(row.message.length > 0);
    }
  });

  it('keeps our findings and records why when gitleaks fails', { skip: !gitleaksInstalled }, async () => {
    // A project configuration gitleaks cannot parse makes it exit with an error.
    const broken = copyFixture('secrets-app', path.join(backend.root, 'secrets-app-broken'));
    fs.writeFileSync(path.join(broken, '.gitleaks.toml'), 'title = [unterminated\n');
    const wf = findWorkflow(toolboxDir(), 'secret_detection');
    const { run } = await startScan(backend.conn, backend.runs, { path: broken, workflow: wf, params: {} });
    const { summary, sarif } = await awaitScan(backend.conn, backend.runs, run.runId);
    assert.deepEqual(rowsOf(sarif), expected);
    const gitleaks = summary.tools.find((t) => t.name === 'gitleaks');
    assert.match(gitleaks?.error ?? '', /^gitleaks exited with code 1: .*unable to load gitleaks config/s);
    assert.ok(!(gitleaks?.error ?? '').includes(String.fromCharCode(27)), 'no terminal colour codes');
  });

  it('applies exclude and max_file_bytes to both tools', async () => {
    const { sarif } = await scan({ exclude: ['src/'], max_file_bytes: 1200 });
    const sizes = new Map(expected.map((r) => [r.file, fs.statSync(path.join(FIXTURE, r.file)).size]));
    assert.deepEqual(
      rowsOf(sarif),
      expected.filter((r) => !r.file.startsWith('src/') && (sizes.get(r.file) ?? 0) <= 1200),
    );
  });
});

describe('secret_detection when gitleaks is missing', () => {
  let backend: TestBackend;
  const saved = process.env[GITLEAKS_BIN_ENV];

  before(async () => {
    // The worker inherits this: a gitleaks that does not exist, whatever the machine has installed.
    process.env[GITLEAKS_BIN_ENV] = '/nonexistent/gitleaks';
    backend = await startTestBackend({ verticals: ['generic'] });
  });
  after(async () => {
    await backend?.stop();
    if (saved === undefined) {
      delete process.env[GITLEAKS_BIN_ENV];
    } else {
      process.env[GITLEAKS_BIN_ENV] = saved;
    }
  });

  it('records a notification instead of failing, and still reports our findings', async () => {
    const workspace = copyFixture('secrets-app', path.join(backend.root, 'secrets-app'));
    const wf = findWorkflow(toolboxDir(), 'secret_detection');
    const { run } = await startScan(backend.conn, backend.runs, { path: workspace, workflow: wf, params: {} });
    const { summary, sarif } = await awaitScan(backend.conn, backend.runs, run.runId);
    assert.deepEqual(rowsOf(sarif), expected);
    const gitleaks = summary.tools.find((t) => t.name === 'gitleaks');
    assert.match(gitleaks?.error ?? '', /gitleaks is not installed on this worker/);
    const notification = sarif.runs.find((r) => r.tool.driver.name === 'gitleaks');
    assert.equal(notification?.invocations?.[0]?.executionSuccessful, false);
  });
});
