// No secret of a scanned workspace leaves the worker in clear: every fixture scanned by every
// static workflow through the CLI, then the CLI's output, every object these runs stored in the
// results bucket (merged logs, tool parts, inventories) and the worker logs are searched for the
// fixtures' secret values.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ObjectStore } from '../../backend/storage/objectStore';
import { workspaceIdentity } from '../../backend/workspace';
import { FIXTURES, runCli, startTestBackend, type TestBackend } from './harness';

/** Each static workflow, and how many results it gives over every fixture side by side. */
const WORKFLOWS: Record<string, number> = {
  security_assessment: 140,
  secret_detection: 78,
  python_sast: 65,
  js_sast: 18,
  go_sast: 31,
  cpp_sast: 30,
  full_scan: 247,
};

/**
 * The secret values written in the fixtures (file: values), each one a finding of at least one
 * tool. A redacted value shows at most its first 4 characters.
 */
const SECRETS: Record<string, string[]> = {
  'python-sast/notes/config.py': ['s3cr3t-n0tes-k3y-2024', 'hunter2hunter2'],
  'go-sast/main.go': ['Zq8#vR2mK!x7LpW4tN9s'],
  'secrets-app/.env.example': ['xoxb-16335933273-2512596759372-dPlUI8ONG2W4OpHkikNUxQDV'],
  'secrets-app/certs/service-key.pem': ['MIIEowIBAAKCAQEAuiN1r3Ca2vmbKYsufOy1wh2i/Y4Xc6FiAUG7ipd2Mf7h4IyS'],
  'secrets-app/config/settings.py': [
    'django-insecure-grskqc5#b4qgl)yg&n9=lgh7z^j36s^x@s2(#@%)@9iar1ihh1',
    'AKIAV32F4WMDUDHHVH7J',
    '1X2IwRwSHIMWQO4FH5VSf0+YaQmi55rMbwK/Evs4',
    'sk_live_gYgFpQ39uhUtZiF9SD8oA9Rj',
    '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',
    'AIza1504IWJZTqWiFqTharPwJ5mAshlFaYSbqAu',
  ],
  'secrets-app/deploy/k8s/app.yaml': ['KZ1oxhULAzncWLxaD5QzCHSU', 'glpat-_MrhcQWuFbY-KQxRpBTe'],
  'secrets-app/scripts/deploy.sh': [
    'npm_M2XUFqQ1xs2oQr1G5mYGRXhRPJ75eROCURIg',
    'pypi-AgEIcHlwaS5vcmcs7_0AWizvHvx1yVHUzIaaElKSk0iwGft_lxAO-gC-NtgQaDgLjBH6SjuN4MQ6jyg_-b6T8Yh_Rbtws7cA-6P_',
  ],
  'secrets-app/src/config.js': [
    'ghp_M9EnlXtiUgf0XXavc8siW2zmtGivcS8zeQmb',
    // The JWT's payload and signature (its header is the same in every HS256 token).
    'eyJzdWIiOiJzdmMtcmVwb3J0aW5nIiwiaXNzIjoiYXV0aC5hY21lLmludGVybmFsIiwiYXVkIjoicmVwb3J0cy1hcGkiLCJpYXQiOjE3MzI0MDY0MDAsImV4cCI6MjA0NzkzOTIwMCwic2NvcGUiOiJyZXBvcnRzOnJlYWQgcmVwb3J0czp3cml0ZSJ9',
    '7o1NDoWwBLJ7RbsQ-Omw0S9wVBYCMKuacWqJ19zdGr8',
    'd32vuyQp2XOWFzxu',
    'SKceed5ad8ae63cca58492dd17fe81d96c',
    'df304778c25020fe9c622668d3b5ab57',
    'hpoI3Zx5J3hj67x137dJ7aGIa5sCQpQy',
    'SuperSecretPassword',
  ],
  'vulnerable-app/c/src/report.c': ['c0ffee-5ecret-t0ken', 'r3p0rt!db'],
  'vulnerable-app/go/handlers.go': ['S3cure!Admin#42'],
  'vulnerable-app/java/src/main/java/com/example/inventory/UserRepository.java': ['pg-Adm1n-2023'],
  'vulnerable-app/php/config.php': ['Inv3ntory!Pass'],
  'vulnerable-app/javascript/config.js': ['M4il-P@ssw0rd-2023', 'AKIAD1NZJ0T8N5CQRPEQ'],
  'vulnerable-app/python/storage.py': ['Winter2024!db'],
  'vulnerable-app/ruby/app.rb': ['sk_live_51HfT9aZ0q8wX2bC'],
  'vulnerable-app/ruby/lib/crypto_helpers.rb': ['R0cket-Launch-77'],
  'vulnerable-app/typescript/src/db.ts': ['tok_live_9f8e7d6c5b4a3210'],
  'vulnerable-app/typescript/src/jwt.ts': ['ujlIQeeKqgOFhWf5UtP7v/4BVe9dNXwjAJJC5JGMWCMcSV1hvdw0G7nZnb1MlUNl'],
};

/** What must not appear: the value, and (for longer values) the part after its first 4 characters. */
function needles(value: string): string[] {
  return value.length >= 12 ? [value, value.slice(4, 16)] : [value];
}

/** Every fixture side by side in one workspace. */
function allFixtures(root: string): string {
  const ws = path.join(root, 'fixtures');
  for (const entry of fs.readdirSync(FIXTURES, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      fs.cpSync(path.join(FIXTURES, entry.name), path.join(ws, entry.name), { recursive: true });
    }
  }
  return ws;
}

describe('no secret in any output', () => {
  let backend: TestBackend;
  let ws: string;
  before(async () => {
    backend = await startTestBackend({ verticals: ['generic', 'python', 'node', 'go', 'cpp'], shareable: true });
    ws = allFixtures(backend.root);
  });
  after(async () => {
    await backend?.stop();
  });

  it('the fixtures hold every listed secret (so the search below can find them)', () => {
    for (const [file, values] of Object.entries(SECRETS)) {
      const text = fs.readFileSync(path.join(FIXTURES, file), 'utf8');
      for (const value of values) {
        assert.ok(text.includes(value), `${value} in ${file}`);
      }
    }
  });

  it('every static workflow over every fixture: CLI output, results bucket and worker logs', async () => {
    const outputs: { where: string; text: string }[] = [];
    for (const [workflow, count] of Object.entries(WORKFLOWS)) {
      const json = await runCli(['scan', ws, '--workflow', workflow, '--fail-on', 'none', '--json'], backend.env);
      assert.equal(json.code, 0, `${workflow}: ${json.stderr}`);
      const findings = (JSON.parse(json.stdout) as { findings: unknown[] }).findings;
      assert.equal(findings.length, count, `${workflow}'s results`);
      outputs.push({ where: `CLI --json of ${workflow}`, text: `${json.stdout}\n${json.stderr}` });
    }
    const table = await runCli(['scan', ws, '--workflow', 'full_scan', '--fail-on', 'none'], {
      ...backend.env,
      COLUMNS: '400',
    });
    assert.equal(table.code, 0, table.stderr);
    outputs.push({ where: 'CLI table of full_scan', text: `${table.stdout}\n${table.stderr}` });

    // This file's runs (a full_scan's children are `<id>.<child>`): on a shared backend the results
    // bucket also holds other files' runs.
    const ours = await backend.runs.list({ workspaceId: workspaceIdentity(ws).id, limit: 100 });
    assert.equal(ours.length, Object.keys(WORKFLOWS).length + 1, 'one run per workflow, and the table one');
    const store = new ObjectStore(backend.conn);
    const objects = (await store.list(store.buckets.results, '')).filter((o) =>
      ours.some((r) => o.key.startsWith(`runs/${r.runId}/`) || o.key.startsWith(`runs/${r.runId}.`)),
    );
    assert.ok(
      objects.some((o) => o.key.endsWith('/parts/bandit.sarif')),
      'tool parts are stored',
    );
    for (const o of objects) {
      outputs.push({
        where: `s3://${store.buckets.results}/${o.key}`,
        text: (await store.getBuffer(store.buckets.results, o.key)).toString('utf8'),
      });
    }
    const logs = backend.state.logsDir;
    for (const name of fs.readdirSync(logs)) {
      outputs.push({ where: path.join(logs, name), text: fs.readFileSync(path.join(logs, name), 'utf8') });
    }

    const leaks: string[] = [];
    for (const [file, values] of Object.entries(SECRETS)) {
      for (const value of values) {
        for (const needle of needles(value)) {
          for (const o of outputs.filter((out) => out.text.includes(needle))) {
            leaks.push(`${needle} (${file}) in ${o.where}`);
          }
        }
      }
    }
    assert.deepEqual(leaks, []);
    // The search can fail: bandit's hard-coded password results are there, without their values.
    const merged = outputs.filter((o) => o.where.endsWith('/results.sarif')).map((o) => o.text);
    assert.ok(
      merged.some((t) => t.includes('"B105"')),
      'bandit reported the hard-coded passwords',
    );
    assert.ok(merged.some((t) => t.includes("Possible hardcoded password: '****'")));
  });
});
