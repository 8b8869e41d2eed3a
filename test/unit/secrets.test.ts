import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import type { SarifLog, SarifResult } from '../../backend/sarif/types';
import { dedupSecretLogs, GITLEAKS_RULE_IDS, locationKey, pruneRules } from '../../toolbox/modules/secrets/dedup';
import {
  assessRandomness,
  decoyReason,
  DEFAULT_MIN_ENTROPY,
  detectSecrets,
  entropyThreshold,
  isLockfile,
  isPlaceholder,
  isReference,
  isSecretName,
  MIN_SECRET_LENGTH,
  redact,
  redactRegion,
  scrubText,
  SECRET_RULES,
  shannonEntropy,
  type SecretFinding,
  type SecretKind,
} from '../../toolbox/modules/secrets/detector';
import { generator } from './seededRandom';

const FIXTURE = path.resolve(__dirname, '..', 'fixtures', 'secrets-app');
const EXPECTED = path.resolve(__dirname, '..', 'fixtures', 'secrets-app.expected.json');

// ---------------------------------------------------------------------------------------------
// Test secrets are generated, never written out: a seeded generator keeps them stable between runs
// while this file holds no credential-shaped literal for other scanners to trip over.
// ---------------------------------------------------------------------------------------------

const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const DIGITS = '0123456789';
const ALNUM = UPPER + LOWER + DIGITS;
const BASE64 = `${ALNUM}+/`;
const BASE64URL = `${ALNUM}-_`;
const HEX = '0123456789abcdef';
const BASE32 = `${UPPER}234567`;

const rand = generator(0x5eed);
const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

const T = {
  awsId: `AKIA${rand(16, BASE32)}`,
  awsTempId: `ASIA${rand(16, BASE32)}`,
  awsSecret: rand(40, BASE64),
  ghp: `ghp_${rand(36, ALNUM)}`,
  gho: `gho_${rand(36, ALNUM)}`,
  ghs: `ghs_${rand(36, ALNUM)}`,
  githubPat: `github_pat_${rand(22, ALNUM)}_${rand(59, ALNUM)}`,
  glpat: `glpat-${rand(20, BASE64URL)}`,
  xoxb: `xoxb-${rand(11, DIGITS)}-${rand(13, DIGITS)}-${rand(24, ALNUM)}`,
  xoxp: `xoxp-${rand(11, DIGITS)}-${rand(11, DIGITS)}-${rand(12, DIGITS)}-${rand(32, HEX)}`,
  xoxa: `xoxa-${rand(10, DIGITS)}-${rand(12, DIGITS)}-${rand(28, ALNUM)}`,
  xoxr: `xoxr-${rand(9, DIGITS)}-${rand(10, DIGITS)}-${rand(40, ALNUM)}`,
  stripe: `sk_live_${rand(24, ALNUM)}`,
  stripeRestricted: `rk_live_${rand(99, ALNUM)}`,
  google: `AIza${rand(35, BASE64URL)}`,
  twilioKey: `SK${rand(32, HEX)}`,
  twilioToken: rand(32, HEX),
  sendgrid: `SG.${rand(22, BASE64URL)}.${rand(43, BASE64URL)}`,
  npm: `npm_${rand(36, ALNUM)}`,
  pypi: `pypi-AgEIcHlwaS5vcmc${rand(150, BASE64URL)}`,
  jwt: `${b64url({ alg: 'RS256', typ: 'JWT' })}.${b64url({ sub: 'svc-billing', exp: 2000000000 })}.${rand(86, BASE64URL)}`,
  keyMaterial: Array.from({ length: 6 }, () => rand(64, BASE64)),
  dbPassword: rand(20, ALNUM),
  apiKey: rand(32, ALNUM),
  hexSecret: rand(64, HEX),
  symbolPassword: `${rand(6, ALNUM)}#${rand(5, ALNUM)}!${rand(6, ALNUM)}`,
};

/** Text from lines. */
function src(...lines: string[]): string {
  return `${lines.join('\n')}\n`;
}

function kindsIn(text: string, file: string, minEntropy?: number): string[] {
  return detectSecrets(text, file, minEntropy === undefined ? {} : { minEntropy }).map((f) => `${f.line}:${f.kind}`);
}

/** Asserts exactly one finding, of `kind`, and that its columns select `value`. */
function assertFinds(text: string, file: string, kind: SecretKind, value: string): SecretFinding {
  const found = detectSecrets(text, file);
  assert.equal(found.length, 1, `${file}: expected one ${kind} in\n${text}got ${JSON.stringify(found, null, 1)}`);
  const f = found[0] as SecretFinding;
  assert.equal(f.kind, kind, text);
  assert.equal(f.ruleId, `ff-secret-${kind}`);
  const line = text.split('\n')[f.line - 1] ?? '';
  assert.equal(line.slice(f.column - 1, f.endColumn - 1), value, 'columns select the secret');
  return f;
}

function assertClean(text: string, file: string, minEntropy?: number): void {
  const options = minEntropy === undefined ? {} : { minEntropy };
  assert.deepEqual(detectSecrets(text, file, options), [], `${file}: expected nothing in\n${text}`);
}

/** No 8-character piece of the secret's random part appears in `output`. */
function assertRedacted(output: string, secret: string): void {
  const random = secret.replace(
    /^(?:[sr]k_live_|github_pat_|gh[pousr]_|glpat-|xox[abpr]-|npm_|pypi-AgEIcHlwaS5vcmc|SG\.|AIza|AKIA|ASIA|SK|eyJ[\w-]*\.)/,
    '',
  );
  for (let i = 0; i + 8 <= random.length; i++) {
    assert.ok(!output.includes(random.slice(i, i + 8)), `output shows part of ${redact(secret)}: ${output}`);
  }
}

// ---------------------------------------------------------------------------------------------

describe('secret rule table', () => {
  const kinds: SecretKind[] = [
    'aws-access-key-id',
    'aws-secret-access-key',
    'github-token',
    'gitlab-token',
    'slack-token',
    'stripe-key',
    'google-api-key',
    'twilio-api-key',
    'sendgrid-api-key',
    'npm-token',
    'pypi-token',
    'jwt',
    'private-key',
    'connection-string',
    'generic-secret',
  ];

  it('has one well-formed rule per kind', () => {
    assert.deepEqual(SECRET_RULES.map((r) => r.kind).sort(), [...kinds].sort());
    assert.equal(new Set(SECRET_RULES.map((r) => r.id)).size, SECRET_RULES.length);
    assert.equal(new Set(SECRET_RULES.map((r) => r.name)).size, SECRET_RULES.length);
    for (const rule of SECRET_RULES) {
      assert.equal(rule.id, `ff-secret-${rule.kind}`);
      assert.match(rule.name, /^[A-Z][A-Za-z]+$/, rule.id);
      assert.match(rule.description, /^[A-Z].*\.$/, rule.id);
      assert.ok(rule.help.startsWith(rule.description) && rule.help.length > rule.description.length + 40, rule.id);
      assert.equal(rule.helpUri, 'https://cwe.mitre.org/data/definitions/798.html');
      assert.deepEqual(rule.cwe, ['CWE-798']);
      assert.ok(['error', 'warning', 'note'].includes(rule.level), rule.id);
      assert.ok(['very-high', 'high', 'medium', 'low'].includes(rule.precision), rule.id);
      assert.ok(Object.isFrozen(rule), rule.id);
    }
    assert.ok(Object.isFrozen(SECRET_RULES));
  });

  it('reports only rule ids of the table, and the fixture uses every rule', () => {
    const ids = new Set(SECRET_RULES.map((r) => r.id));
    const expected = JSON.parse(fs.readFileSync(EXPECTED, 'utf8')) as { ruleId: string }[];
    for (const row of expected) {
      assert.ok(ids.has(row.ruleId), row.ruleId);
    }
    assert.deepEqual(new Set(expected.map((r) => r.ruleId)), ids);
  });
});

describe('token formats', () => {
  const cases: [string, SecretKind, string][] = [
    ['awsId', 'aws-access-key-id', T.awsId],
    ['awsTempId', 'aws-access-key-id', T.awsTempId],
    ['ghp', 'github-token', T.ghp],
    ['gho', 'github-token', T.gho],
    ['ghs', 'github-token', T.ghs],
    ['githubPat', 'github-token', T.githubPat],
    ['glpat', 'gitlab-token', T.glpat],
    ['xoxb', 'slack-token', T.xoxb],
    ['xoxp', 'slack-token', T.xoxp],
    ['xoxa', 'slack-token', T.xoxa],
    ['xoxr', 'slack-token', T.xoxr],
    ['stripe', 'stripe-key', T.stripe],
    ['stripeRestricted', 'stripe-key', T.stripeRestricted],
    ['google', 'google-api-key', T.google],
    ['twilioKey', 'twilio-api-key', T.twilioKey],
    ['sendgrid', 'sendgrid-api-key', T.sendgrid],
    ['npm', 'npm-token', T.npm],
    ['pypi', 'pypi-token', T.pypi],
    ['jwt', 'jwt', T.jwt],
  ];

  for (const [name, kind, token] of cases) {
    it(`finds ${name} in code, config and prose`, () => {
      assertFinds(src(`client = Client("${token}")`), 'app.py', kind, token);
      assertFinds(src(`  value: ${token}`), 'values.yaml', kind, token);
      assertFinds(src(`Use ${token} to log in.`), 'NOTES.md', kind, token);
      // Any name, even one that says nothing about secrets: the format is enough.
      assertFinds(src(`const x = '${token}';`), 'a.js', kind, token);
    });
  }

  it('does not take a longer word for a token', () => {
    assertClean(src(`x = "${T.ghp}Z"`, `y = "Q${T.npm}"`, `z = "${T.awsId}7"`), 'a.py');
  });

  it('rejects filler, sequences and placeholders in token shapes', () => {
    assertClean(
      src(
        `a = "ghp_${'x'.repeat(36)}"`,
        `b = "ghp_${'0'.repeat(36)}"`,
        `c = "npm_${'ab'.repeat(18)}"`,
        `d = "AKIA${'ABCDEFGHIJKLMNOP'}"`,
        `e = "sk_live_${'1234567890'.repeat(3)}"`,
        `f = "xoxb-12345678901-1234567890123-${'X'.repeat(24)}"`,
        `g = "AIza${'Example'.repeat(5)}"`,
      ),
      'a.py',
    );
  });

  it('needs a decodable, signed JWT that is not the jwt.io sample', () => {
    const unsigned = `${b64url({ alg: 'none' })}.${b64url({ sub: 'x-service' })}.${rand(30, BASE64URL)}`;
    const garbage = `eyJ${rand(20, ALNUM)}.eyJ${rand(20, ALNUM)}.${rand(30, BASE64URL)}`;
    const sample =
      'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';
    assertClean(src(`a = "${unsigned}"`, `b = "${garbage}"`, `token = "${sample}"`), 'a.py');
  });

  it('reports a private key block with material, at its header', () => {
    const pem = src('-----BEGIN OPENSSH PRIVATE KEY-----', ...T.keyMaterial, '-----END OPENSSH PRIVATE KEY-----');
    const f = assertFinds(pem, 'id_ed25519', 'private-key', '-----BEGIN OPENSSH PRIVATE KEY-----');
    assert.equal(f.snippet, '-----BEGIN OPENSSH PRIVATE KEY-----');
    // Embedded in JSON with escaped newlines (a cloud service-account file).
    const json = src(
      `{"private_key": "-----BEGIN PRIVATE KEY-----\\n${T.keyMaterial.join('\\n')}\\n-----END PRIVATE KEY-----\\n"}`,
    );
    const embedded = assertFinds(json, 'sa.json', 'private-key', '-----BEGIN PRIVATE KEY-----');
    for (const material of T.keyMaterial) {
      assertRedacted(embedded.snippet, material);
    }
    // Encrypted PEM: material after the armour headers.
    const encrypted = src(
      '-----BEGIN RSA PRIVATE KEY-----',
      'Proc-Type: 4,ENCRYPTED',
      'DEK-Info: AES-128-CBC,0F1E2D3C4B5A69788796A5B4C3D2E1F0',
      '',
      ...T.keyMaterial,
      '-----END RSA PRIVATE KEY-----',
    );
    assert.deepEqual(kindsIn(encrypted, 'key.pem'), ['1:private-key']);
  });

  it('does not report key headers without material, or public keys and certificates', () => {
    assertClean(src('-----BEGIN RSA PRIVATE KEY-----', '...', '-----END RSA PRIVATE KEY-----'), 'README.md');
    assertClean(src('-----BEGIN PRIVATE KEY-----', '<your key here>', '-----END PRIVATE KEY-----'), 'a.txt');
    assertClean(src('-----BEGIN PUBLIC KEY-----', ...T.keyMaterial, '-----END PUBLIC KEY-----'), 'k.pub');
    assertClean(src('-----BEGIN CERTIFICATE-----', ...T.keyMaterial, '-----END CERTIFICATE-----'), 'c.crt');
    assertClean(src('if (line.startsWith("-----BEGIN PRIVATE KEY-----")) {', '  parse(line);', '}'), 'pem.js');
  });
});

describe('secrets found by context', () => {
  it('finds AWS secret access keys under AWS names only', () => {
    for (const [file, line] of [
      ['settings.py', `AWS_SECRET_ACCESS_KEY = "${T.awsSecret}"`],
      ['credentials', `aws_secret_access_key = ${T.awsSecret}`],
      ['template.yaml', `  SecretAccessKey: ${T.awsSecret}`],
      ['config.js', `const awsSecret = '${T.awsSecret}';`],
    ] as const) {
      assertFinds(src(line), file, 'aws-secret-access-key', T.awsSecret);
    }
    // 40 random characters under a generic secret name are a generic secret.
    assert.deepEqual(kindsIn(src(`client_secret = "${T.awsSecret}"`), 'a.py'), ['1:generic-secret']);
    assert.deepEqual(kindsIn(src(`blob = "${T.awsSecret}"`), 'a.py'), []);
  });

  it('finds a Twilio auth token under a Twilio name', () => {
    assertFinds(src(`TWILIO_AUTH_TOKEN = "${T.twilioToken}"`), 'a.py', 'twilio-api-key', T.twilioToken);
  });

  it('finds passwords in connection strings of any scheme', () => {
    for (const url of [
      `postgres://svc_billing:${T.dbPassword}@db.internal:5432/billing`,
      `postgresql://app:${T.dbPassword}@10.0.0.5/app?sslmode=require`,
      `mysql://root:${T.dbPassword}@mysql:3306/shop`,
      `mongodb+srv://reporter:${T.dbPassword}@cluster0.abcde.mongodb.net/db`,
      `redis://default:${T.dbPassword}@cache:6379/0`,
      `amqps://worker:${T.dbPassword}@mq.internal/vhost`,
      `https://deploy:${T.dbPassword}@git.internal/repo.git`,
    ]) {
      assertFinds(src(`DATABASE_URL = "${url}"`), 'settings.py', 'connection-string', T.dbPassword);
    }
  });

  it('does not report connection strings whose password is a reference, a default or a placeholder', () => {
    assertClean(
      src(
        'a = "postgres://app:${DB_PASSWORD}@db/app"',
        'b = "postgres://app:$DB_PASSWORD@db/app"',
        'c = "postgres://postgres:postgres@localhost:5432/app"',
        'd = "postgres://user:password@localhost/app"',
        'e = "mysql://root:changeme@localhost/app"',
        'f = "postgres://app:<password>@db/app"',
        'g = "amqp://guest:guest@localhost:5672/"',
        'h = "postgres://app:{password}@db/app"',
        'i = "postgres://app:%(password)s@db/app"',
        'j = "https://user:pass@example.com/"',
        'k = "ssh://git@github.com/acme/repo.git"',
      ),
      'settings.py',
    );
  });

  it('finds high-entropy values under secret-ish names in every common syntax', () => {
    const v = T.apiKey;
    const cases: [string, string][] = [
      ['app.py', `API_KEY = "${v}"`],
      ['app.py', `api_key: str = '${v}'`],
      ['app.py', `config["client_secret"] = "${v}"`],
      ['app.py', `self.auth_token = b"${v}"`],
      ['app.js', `const apiKey = "${v}";`],
      ['app.ts', `  clientSecret: '${v}',`],
      ['app.ts', `headers: { Authorization: 'Bearer ${v}' },`],
      ['main.go', `apiToken := "${v}"`],
      ['Main.java', `private static final String SECRET_KEY = "${v}";`],
      ['app.rb', `  :access_token => '${v}',`],
      ['app.rb', `  secret_key_base: "${v}"`],
      ['index.php', `$db_password = '${v}';`],
      ['config.h', `#define API_SECRET "${v}"`],
      ['report.c', `static const char api_key[] = "${v}";`],
      ['main.go', `var apiKey string = "${v}"`],
      ['config.php', `define('API_SECRET', '${v}');`],
      ['db.py', `conn = connect(user="app", password="${v}")`],
      ['appsettings.json', `  "SigningKey": "${v}",`],
      ['web.config', `<password>${v}</password>`],
      ['.env', `SESSION_SECRET=${v}`],
      ['.env.production', `export WEBHOOK_SECRET="${v}"`],
      ['config.yaml', `  password: ${v}`],
      ['app.properties', `spring.datasource.password=${v}`],
      ['Cargo.toml', `token = "${v}"`],
      ['deploy.sh', `export DEPLOY_TOKEN=${v}`],
    ];
    for (const [file, line] of cases) {
      assertFinds(src(line), file, 'generic-secret', v);
    }
    assertFinds(src(`PASSWORD = "${T.symbolPassword}"`), 'a.py', 'generic-secret', T.symbolPassword);
    assertFinds(src(`api_secret = "${T.hexSecret}"`), 'a.py', 'generic-secret', T.hexSecret);
  });

  it('finds a short chosen password, judged against the entropy its length allows', () => {
    // 9 distinct characters: 3.17 bits/char, the most 9 characters can have, under the 3.5 default floor.
    const distinct = (n: number, alphabet: string) => [...new Set(rand(40, alphabet))].slice(0, n).join('');
    const chosen = `${distinct(5, LOWER)}${distinct(2, DIGITS)}!${distinct(1, UPPER)}`;
    assert.equal(shannonEntropy(chosen), Math.log2(9));
    assertFinds(src(`db_password = "${chosen}"`), 'report.c', 'generic-secret', chosen);
    assertClean(src(`db_password = "${chosen}"`), 'report.c', 4.01); // min_entropy still gates it
    // In a docstring or comment such a value is usually an example: it gets no allowance there.
    const docstring = src('def connect():', '    """Example:', `    db_password=${chosen}`, '    """', '    return 1');
    assertClean(docstring, 'db.py');
    assertFinds(docstring.replace(chosen, T.symbolPassword), 'db.py', 'generic-secret', T.symbolPassword);
  });

  it('does not read unquoted code expressions as values', () => {
    assertClean(
      src(
        `api_key = get_key_from_vault${rand(12, ALNUM)}`,
        'secret = settings.SECRET_KEY',
        'password = DEFAULT_DB_PASSWORD',
        'token = request.headers["Authorization"]',
      ),
      'app.py',
    );
  });

  it('does not take a literal joined with run-time data, or a ternary branch, for the value', () => {
    const v = T.apiKey;
    assertClean(src(`api_key = "${v}" + suffix`, `secret = "${v}" % (x,)`, `token = "${v}".format(x)`), 'app.py');
    assertClean(src(`const key = cond ? password : '${v}';`), 'app.js');
    assertClean(src('<?php', `$password = '${v}' . $suffix;`), 'app.php');
  });

  it('ignores names that describe a secret without holding it', () => {
    for (const name of [
      'password_hash',
      'token_sha256',
      'api_key_digest',
      'secret_checksum',
      'passwordHash',
      'public_key',
      'publishable_key',
      'client_id',
      'access_key_id',
      'token_url',
      'secret_name',
      'password_file',
      'token_type',
    ]) {
      assert.equal(isSecretName(name), false, name);
      assertClean(src(`${name} = "${T.apiKey}"`), 'a.py');
    }
    for (const name of [
      'password',
      'DB_PASSWORD',
      'apiKey',
      'APIKey',
      'api-key',
      'client_secret',
      'auth.token',
      'secretKeyBase',
      'passwd',
      'GITHUB_TOKEN',
      'private_key',
      'signing_key',
      'credentials',
    ]) {
      assert.equal(isSecretName(name), true, name);
    }
  });
});

describe('decoys', () => {
  it('skips documentation example keys', () => {
    assertClean(
      src(
        '[default]',
        'aws_access_key_id = AKIAIOSFODNN7EXAMPLE',
        'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
        'export AWS_ACCESS_KEY_ID=AKIAI44QH8DHBEXAMPLE',
        'export AWS_SECRET_ACCESS_KEY=je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY',
        'key = "AKIA1234567890EXAMPL"',
      ),
      'credentials',
    );
    assertClean(src('token = "ghp_16C7e42F292c6912E7710c838347Ae178B4a"'), 'docs.py');
  });

  it('skips values read from the environment or templated in', () => {
    assertClean(
      src(
        'SECRET_KEY = os.environ["SECRET_KEY"]',
        'password = os.environ.get("DB_PASSWORD")',
        'token = os.getenv("API_TOKEN", "")',
        'API_TOKEN = ENV["API_TOKEN"]',
        'api_key = System.getenv("API_KEY");',
      ),
      'app.py',
    );
    assertClean(src('const apiKey = process.env.API_KEY;', 'const secret = `${process.env.SECRET}`;'), 'a.js');
    assertClean(
      src(
        'API_KEY=${API_KEY}',
        'DB_PASSWORD=$DB_PASSWORD',
        'SECRET="$(cat /run/secrets/app)"',
        'TOKEN="${TOKEN:?missing}"',
        'password: "{{ .Values.db.password }}"',
        'secret: ${{ secrets.DEPLOY_KEY }}',
        'auth_token: "%(auth_token)s"',
        'password: !vault |',
        'api_key: <%= ENV["API_KEY"] %>',
      ),
      '.env',
    );
    assertClean(src('          secretKeyRef:', '            key: DB_PASSWORD'), 'deploy.yaml');
  });

  it('skips hashes, integrity digests and lockfile hash lines', () => {
    const sha = rand(64, HEX);
    assertClean(
      src(
        `sha256 = "${sha}"`,
        `checksum: ${sha}`,
        `file_digest = "${sha}"`,
        `integrity = "sha512-${rand(86, BASE64)}=="`,
        `content_hash = "sha256:${sha}"`,
      ),
      'a.yaml',
    );
    // Password hashes stored for seeded accounts: hashes, even under a password name.
    assertClean(
      src(
        `  "password": "$2a$10$${rand(53, BASE64.replace(/[+=]/g, ''))}",`,
        `  password: "$argon2id$v=19$m=65536,t=3,p=4$${rand(22, BASE64.replace(/[+=]/g, ''))}$${rand(43, BASE64.replace(/[+=]/g, ''))}",`,
        `  password = "pbkdf2_sha256$600000$${rand(22, BASE64.replace(/[+=]/g, ''))}$${rand(44, BASE64)}"`,
      ),
      'seed.js',
    );
    const lock = src(
      '{',
      '  "packages": {',
      '    "node_modules/ms": {',
      `      "integrity": "sha512-${rand(86, BASE64)}==",`,
      `      "shasum": "${rand(40, HEX)}"`,
      '    }',
      '  }',
      '}',
    );
    assertClean(lock, 'package-lock.json');
    assertClean(src(`golang.org/x/text v0.22.0 h1:${rand(43, BASE64)}=`), 'go.sum');
    assert.ok(isLockfile('web/yarn.lock') && isLockfile('Cargo.lock') && !isLockfile('lock.json'));
    // Subresource integrity in code is a hash wherever it appears.
    assertClean(src(`const scriptSecret = 'sha384-${rand(64, BASE64)}';`), 'a.js');
  });

  it('skips UUIDs', () => {
    assertClean(
      src('API_KEY = "3f2b8c1e-9d4a-4f6b-8e2c-1a7d5b9c0e3f"', "session_token = 'C56A4180-65AA-42EC-A945-5FD21DEC0538'"),
      'a.py',
    );
  });

  it('skips placeholders', () => {
    for (const value of [
      'changeme',
      'change-me-in-production',
      '<token>',
      '<your-api-key>',
      'xxx',
      'xxxxxxxxxxxxxxxxxxxxxxxx',
      '***',
      '********',
      'your_key_here',
      'your-secret-key',
      'dummy',
      'dummy_token_for_tests',
      'example',
      'example-secret-0123456789abcdef',
      'test',
      'test_api_key_1234567890',
      'REPLACE_ME',
      'TODO',
      'null',
      '...',
      '[redacted]',
    ]) {
      assert.ok(isPlaceholder(value), value);
      assertClean(src(`API_SECRET = "${value}"`), 'a.py');
    }
  });

  it('skips low-entropy strings, words, sequences and repetition', () => {
    assertClean(
      src(
        'password = "SuperSecretPassword"',
        'secret = "my_super_secret_password_value"',
        'token = "correct-horse-battery-staple"',
        'api_key = "aaaaaaaaaaaaaaaaaaaaaaaa"',
        'secret_key = "0123456789abcdef0123456789abcdef"',
        'client_secret = "abcdefghijklmnopqrstuvwx"',
        'auth_token = "abc123abc123abc123abc123"',
        'password = "hunter2"',
        'secret = "development_secret_key_do_not_use"',
        `secret = "${'12345678901234567890'}"`,
      ),
      'a.py',
    );
  });
});

describe('entropy', () => {
  it('computes Shannon entropy in bits per character', () => {
    assert.equal(shannonEntropy(''), 0);
    assert.equal(shannonEntropy('aaaa'), 0);
    assert.equal(shannonEntropy('abab'), 1);
    assert.equal(shannonEntropy('abcd'), 2);
    assert.equal(shannonEntropy('0123456789abcdef'), 4);
  });

  it('uses per-alphabet thresholds and minimum lengths', () => {
    assert.equal(entropyThreshold('base64'), DEFAULT_MIN_ENTROPY);
    assert.equal(entropyThreshold('other'), DEFAULT_MIN_ENTROPY);
    assert.equal(entropyThreshold('hex'), DEFAULT_MIN_ENTROPY - 0.5);
    assert.equal(entropyThreshold('hex', 4), 3.5);
    assert.deepEqual(MIN_SECRET_LENGTH, { hex: 20, base64: 16, other: 12 });
    const v = T.apiKey;
    assert.equal(assessRandomness(v.slice(0, 16)).random, true);
    assert.equal(assessRandomness(v.slice(0, 15)).random, false);
    assert.equal(assessRandomness(T.hexSecret.slice(0, 20)).alphabet, 'hex');
    assert.equal(assessRandomness(T.hexSecret.slice(0, 19)).random, false);
    assert.equal(assessRandomness(T.symbolPassword).alphabet, 'other');
    assert.equal(assessRandomness(T.symbolPassword.slice(0, 11)).random, false);
  });

  it('reports a value exactly when its entropy reaches min_entropy (a chosen-password shape: half a bit less)', () => {
    const value = T.apiKey; // 32 random alphanumerics: about 4.5 bits per character
    const entropy = shannonEntropy(value);
    assert.ok(entropy > 4 && entropy < 5, String(entropy));
    const text = src(`api_key = "${value}"`);
    assert.deepEqual(kindsIn(text, 'a.py', entropy), ['1:generic-secret']);
    // Letters mixed with digits is also the shape of a chosen password, judged half a bit lower.
    assert.deepEqual(kindsIn(text, 'a.py', entropy + 0.5), ['1:generic-secret']);
    assert.deepEqual(kindsIn(text, 'a.py', entropy + 0.51), []);
    const letters = T.apiKey.replace(/[0-9]/g, '').slice(0, 24); // random, but not a password's shape
    const lettersText = src(`api_key = "${letters}"`);
    assert.deepEqual(kindsIn(lettersText, 'a.py', shannonEntropy(letters)), ['1:generic-secret']);
    assert.deepEqual(kindsIn(lettersText, 'a.py', shannonEntropy(letters) + 0.01), []);
    const hex = T.hexSecret;
    const hexText = src(`api_secret = "${hex}"`);
    assert.deepEqual(kindsIn(hexText, 'a.py', shannonEntropy(hex) + 0.5), ['1:generic-secret']);
    assert.deepEqual(kindsIn(hexText, 'a.py', shannonEntropy(hex) + 0.51), []);
    // Format rules do not depend on min_entropy.
    assert.deepEqual(kindsIn(src(`t = "${T.ghp}"`), 'a.py', 6), ['1:github-token']);
    const found = detectSecrets(text, 'a.py')[0];
    assert.equal(found?.entropy, Math.round(entropy * 100) / 100);
  });

  it('accepts nearly all random keys of realistic lengths', () => {
    const random = generator(42);
    const share = (n: number, alphabet: string) =>
      Array.from({ length: 400 }, () => random(n, alphabet)).filter((v) => assessRandomness(v).random).length / 400;
    assert.ok(share(32, ALNUM) >= 0.98, `alphanumeric 32: ${share(32, ALNUM)}`);
    assert.ok(share(40, BASE64) >= 0.98, `base64 40: ${share(40, BASE64)}`);
    assert.ok(share(32, HEX) >= 0.98, `hex 32: ${share(32, HEX)}`);
    assert.ok(share(32, LOWER + DIGITS) >= 0.95, `lowercase and digits 32: ${share(32, LOWER + DIGITS)}`);
    assert.ok(share(20, ALNUM) >= 0.9, `alphanumeric 20: ${share(20, ALNUM)}`);
  });

  it('tells random keys from words and patterns', () => {
    for (const phrase of [
      'my_super_secret_password_value',
      'development_secret_key_do_not_use',
      'ProductionDatabasePassword2024',
      'insecure-dev-only-signing-key',
      'thisisnotasecretvalue',
    ]) {
      assert.equal(assessRandomness(phrase).random, false, phrase);
    }
    assert.equal(assessRandomness('SuperSecretPassword123').reason, 'made of words');
    assert.equal(assessRandomness('0123456789abcdef0123').reason, 'a sequence or a repeated unit');
    assert.match(assessRandomness('aaaaaaaaaaaaaaaaaaaa').reason ?? '', /entropy/);
    assert.equal(assessRandomness('ABCDEFGHJKLMNPQRSTUV').random, false);
  });
});

describe('redaction', () => {
  it('keeps at most the first 4 characters', () => {
    assert.equal(redact('abcdefghijkl'), 'abcd…');
    assert.equal(redact('abcdefghijk'), '****');
    assert.equal(redact(''), '****');
  });

  it('never shows a secret in a message, snippet or any other field', () => {
    const planted: [string, string][] = [
      ['a.py', `GITHUB = "${T.ghp}"  # same again: ${T.ghp}`],
      ['a.py', `AWS_ACCESS_KEY_ID = "${T.awsId}"; AWS_SECRET_ACCESS_KEY = "${T.awsSecret}"`],
      ['a.yaml', `url: postgres://svc:${T.dbPassword}@db/app`],
      ['a.js', `const cfg = { apiKey: '${T.apiKey}', jwt: '${T.jwt}', pypi: '${T.pypi}' };`],
      ['.env', `SLACK=${T.xoxp} STRIPE=${T.stripeRestricted} SENDGRID=${T.sendgrid}`],
      ['x.json', `{"k": "-----BEGIN PRIVATE KEY-----\\n${T.keyMaterial.join('\\n')}\\n-----END PRIVATE KEY-----"}`],
    ];
    const secrets = [T.ghp, T.awsId, T.awsSecret, T.dbPassword, T.apiKey, T.jwt, T.pypi, T.xoxp, T.stripeRestricted];
    secrets.push(T.sendgrid, ...T.keyMaterial);
    let total = 0;
    for (const [file, line] of planted) {
      const found = detectSecrets(src(line), file);
      assert.ok(found.length > 0, line);
      total += found.length;
      const output = JSON.stringify(found);
      for (const secret of secrets) {
        assertRedacted(output, secret);
      }
    }
    assert.equal(total, 12);
  });

  it("scrubs free text and other tools' regions the same way", () => {
    const message = `leak in config: token=${T.ghp}, key ${rand(40, BASE64)} and ${T.apiKey}`;
    const scrubbed = scrubText(message);
    assertRedacted(scrubbed, T.ghp);
    assertRedacted(scrubbed, T.apiKey);
    assert.match(scrubbed, /^leak in config: token=ghp_…, key /);
    assert.equal(scrubText('nothing secret here: src/app/config.py:12'), 'nothing secret here: src/app/config.py:12');

    const line = `    "deploy_key": "${T.apiKey}",`;
    const start = line.indexOf('"deploy_key"');
    const region = redactRegion(line, start, line.length - 1, 'a.json');
    assert.equal(region.snippet, `"deploy_key": "${T.apiKey.slice(0, 4)}…",`);
    assert.equal(region.preview, `${T.apiKey.slice(0, 4)}…`);
    const bare = `run --token ${T.npm} now`;
    const at = bare.indexOf('npm_');
    assert.equal(redactRegion(bare, at, at + T.npm.length, 'run.sh').snippet, 'run --token npm_… now');
  });
});

describe("decoyReason (other scanners' findings)", () => {
  const reason = (line: string, file = 'a.py') => decoyReason(line, 0, line.length, file);

  it('names why a finding is not a live secret', () => {
    assert.equal(reason('API_KEY = "3f2b8c1e-9d4a-4f6b-8e2c-1a7d5b9c0e3f"'), 'a UUID');
    assert.equal(reason(`upload_token_hash = "${T.hexSecret}"`), 'a hash');
    assert.equal(reason(`STRIPE_PUBLISHABLE_KEY = "pk_live_${rand(24, ALNUM)}"`), 'a public key');
    assert.equal(
      reason('aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'credentials'),
      'a documentation example',
    );
    assert.equal(reason('token = os.environ["TOKEN"]'), 'read from the environment or a template');
    assert.equal(reason('API_KEY=${API_KEY}', '.env'), 'read from the environment or a template');
    assert.equal(reason('password = "changeme"'), 'a placeholder');
    assert.equal(reason(`  AKIAIOSFODNN7EXAMPLE`), 'a documentation example');
  });

  it('keeps what may be a secret', () => {
    assert.equal(reason(`token = "${T.ghp}"`), undefined);
    assert.equal(reason(`client_secret = "${T.apiKey}"`), undefined);
    assert.equal(reason(`  ${T.google}`), undefined);
  });
});

describe('helpers', () => {
  it('recognises references', () => {
    assert.ok(isReference('${DB_PASSWORD}'));
    assert.ok(isReference('$DB_PASSWORD'));
    assert.ok(isReference('{{ secret }}'));
    assert.ok(!isReference(T.apiKey));
  });
});

// ---------------------------------------------------------------------------------------------
// De-duplication
// ---------------------------------------------------------------------------------------------

function result(ruleId: string, uri: string, line: number, ruleIndex?: number): SarifResult {
  return {
    ruleId,
    ...(ruleIndex === undefined ? {} : { ruleIndex }),
    level: 'error',
    message: { text: `${ruleId} at ${uri}:${line}` },
    locations: [{ physicalLocation: { artifactLocation: { uri, uriBaseId: 'SRCROOT' }, region: { startLine: line } } }],
  };
}

function log(tool: string, rules: string[], results: SarifResult[]): SarifLog {
  return {
    version: '2.1.0',
    runs: [{ tool: { driver: { name: tool, rules: rules.map((id) => ({ id })) } }, results }],
  };
}

describe('dedupSecretLogs', () => {
  const ours = log(
    'fuzzforge-secrets',
    ['ff-secret-github-token', 'ff-secret-generic-secret'],
    [
      result('ff-secret-github-token', 'src/config.js', 7, 0),
      result('ff-secret-generic-secret', 'config/settings.py', 25, 1),
    ],
  );
  const theirs = log(
    'gitleaks',
    ['github-pat', 'generic-api-key', 'slack-bot-token'],
    [
      result('github-pat', 'src/config.js', 7, 0),
      result('generic-api-key', 'config/settings.py', 25, 1),
      result('generic-api-key', 'src/config.js', 7, 1),
      result('slack-bot-token', '.env', 3, 2),
      result('github-pat', 'src/config.js', 8, 0),
    ],
  );

  it("keeps our result for a location both report, noting gitleaks' rule ids on it", () => {
    const out = dedupSecretLogs(ours, theirs);
    assert.equal(out.dropped, 3);
    const kept = out.theirs.runs[0]?.results ?? [];
    assert.deepEqual(
      kept.map((r) => locationKey(r)),
      ['.env:3', 'src/config.js:8'],
    );
    const mine = out.ours.runs[0]?.results ?? [];
    assert.deepEqual(mine[0]?.properties?.[GITLEAKS_RULE_IDS], ['generic-api-key', 'github-pat']);
    assert.deepEqual(mine[1]?.properties?.[GITLEAKS_RULE_IDS], ['generic-api-key']);
  });

  it('prunes gitleaks rules nobody refers to and renumbers ruleIndex', () => {
    const out = dedupSecretLogs(ours, theirs);
    const run = out.theirs.runs[0];
    assert.deepEqual(
      run?.tool.driver.rules?.map((r) => r.id),
      ['github-pat', 'slack-bot-token'],
    );
    for (const r of run?.results ?? []) {
      assert.equal(run?.tool.driver.rules?.[r.ruleIndex ?? -1]?.id, r.ruleId);
    }
  });

  it('leaves its inputs alone and is idempotent', () => {
    const before = JSON.stringify([ours, theirs]);
    const once = dedupSecretLogs(ours, theirs);
    assert.equal(JSON.stringify([ours, theirs]), before);
    const twice = dedupSecretLogs(once.ours, once.theirs);
    assert.equal(twice.dropped, 0);
    assert.deepEqual(twice.ours, once.ours);
    assert.deepEqual(twice.theirs, once.theirs);
  });

  it('keeps everything when the locations differ or gitleaks only sent a notification', () => {
    const other = log('gitleaks', ['x'], [result('x', 'src/config.js', 70, 0)]);
    assert.equal(dedupSecretLogs(ours, other).dropped, 0);
    const notification: SarifLog = {
      version: '2.1.0',
      runs: [{ tool: { driver: { name: 'gitleaks' } }, results: [], invocations: [{ executionSuccessful: false }] }],
    };
    const out = dedupSecretLogs(ours, notification);
    assert.equal(out.dropped, 0);
    assert.deepEqual(out.theirs, notification);
    assert.deepEqual(out.ours, ours);
  });

  it('pruneRules resolves results that only carry a ruleIndex', () => {
    const run = log('t', ['a', 'b', 'c'], [{ ruleIndex: 2, message: { text: 'm' } }]).runs[0];
    assert.ok(run);
    pruneRules(run);
    assert.deepEqual(
      run.tool.driver.rules?.map((r) => r.id),
      ['c'],
    );
    assert.equal(run.results?.[0]?.ruleIndex, 0);
  });
});

// ---------------------------------------------------------------------------------------------
// The fixture
// ---------------------------------------------------------------------------------------------

describe('secrets-app fixture', () => {
  it('our detector alone finds exactly the expected findings', () => {
    const files: string[] = [];
    const visit = (rel: string) => {
      for (const entry of fs.readdirSync(path.join(FIXTURE, rel), { withFileTypes: true })) {
        const child = rel ? `${rel}/${entry.name}` : entry.name;
        if (entry.isDirectory()) {
          visit(child);
        } else {
          files.push(child);
        }
      }
    };
    visit('');
    const rows = files.flatMap((file) =>
      detectSecrets(fs.readFileSync(path.join(FIXTURE, file), 'utf8'), file).map((f) => ({
        ruleId: f.ruleId,
        file,
        line: f.line,
      })),
    );
    rows.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.ruleId.localeCompare(b.ruleId));
    assert.deepEqual(rows, JSON.parse(fs.readFileSync(EXPECTED, 'utf8')));
  });
});
