import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyzeConstants, decodeLiteral, rot13 } from '../../toolbox/modules/secrets/constants';
import { credentialShaped, detectSecrets } from '../../toolbox/modules/secrets/detector';
import { generator } from './seededRandom';

// Secrets are generated (seeded), so this file holds no credential-shaped literal itself.
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const rand = generator(0xdec0de);
const KEY = rand(28, ALNUM);
const GHP = `ghp_${rand(36, ALNUM)}`;
const b64 = (s: string) => Buffer.from(s).toString('base64');
const hex = (s: string) => Buffer.from(s).toString('hex');
const rev = (s: string) => [...s].reverse().join('');
const pyBytes = (s: string) => [...s].map((c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join('');
const chars = (s: string, q = "'") => [...s].map((c) => `${q}${c}${q}`).join(', ');
const codes = (s: string) => [...s].map((c) => c.charCodeAt(0)).join(', ');

/** `line:kind` of every finding, and whether any output field carries `value` in clear. */
function scan(text: string, file: string, value = KEY): { found: string[]; leaked: boolean } {
  const findings = detectSecrets(text, file);
  return {
    found: findings.map((f) => `${f.line}:${f.kind}`),
    leaked: findings.some((f) => [f.message, f.snippet, f.redacted].some((s) => s.includes(value))),
  };
}

describe('decoding before detecting', () => {
  const cases: [string, string, string, string[]][] = [
    ['python base64 literal', 'a.py', `import base64\nAPI_KEY_B64 = "${b64(KEY)}"\n`, ['2:generic-secret']],
    ['python hex literal', 'a.py', `SECRET_HEX = "${hex(KEY)}"\n`, ['1:generic-secret']],
    [
      'python rot13 via codecs',
      'a.py',
      `import codecs\nTOKEN_ROT = "${rot13(KEY)}"\n\ndef token():\n    return codecs.decode(TOKEN_ROT, 'rot_13')\n`,
      ['2:generic-secret'],
    ],
    [
      'python reversal',
      'a.py',
      `_T = "${rev(KEY)}"\nAPI_TOKEN = _T[::-1]\n`,
      ['1:generic-secret'],
    ],
    ['python char list join', 'a.py', `PARTS = [${chars(KEY)}]\nPASSWORD = ''.join(PARTS)\n`, ['1:generic-secret']],
    ['python chr codes', 'a.py', `SECRET = ''.join(map(chr, [${codes(KEY)}]))\n`, ['1:generic-secret']],
    ['python bytes escapes', 'a.py', `AUTH_TOKEN = b'${pyBytes(KEY)}'\n`, ['1:generic-secret']],
    [
      'python concatenation across lines points at the join',
      'a.py',
      `P1 = "${KEY.slice(0, 10)}"\nP2 = "${KEY.slice(10)}"\nDB_PASSWORD = P1 + P2\n`,
      ['3:generic-secret'],
    ],
    ['python base64 of a vendor token under any name', 'a.py', `blob = "${b64(GHP)}"\n`, ['1:github-token']],
    ['js atob', 'a.js', `const apiKey = atob("${b64(KEY)}");\n`, ['1:generic-secret']],
    [
      'js Buffer base64',
      'a.ts',
      `const encoded: string = "${b64(KEY)}";\nexport const secret = Buffer.from(encoded, 'base64').toString();\n`,
      ['1:generic-secret'],
    ],
    [
      'js split reverse join',
      'a.js',
      `const r = '${rev(KEY)}';\nconst token = r.split('').reverse().join('');\n`,
      ['1:generic-secret'],
    ],
    ['js fromCharCode', 'a.js', `const password = String.fromCharCode(${codes(KEY)});\n`, ['1:generic-secret']],
    [
      'js XOR with a constant',
      'a.js',
      `const SECRET_BYTES = [${[...KEY].map((c) => c.charCodeAt(0) ^ 7).join(',')}];\nfunction reveal() {\n  return String.fromCharCode(...SECRET_BYTES.map((c) => c ^ 7));\n}\n`,
      ['1:generic-secret'],
    ],
    [
      'js template with constant parts',
      'a.js',
      `const api_secret = \`${KEY.slice(0, 8)}\${"${KEY.slice(8, 16)}"}\${'${KEY.slice(16)}'}\`;\n`,
      ['1:generic-secret'],
    ],
    ['js escaped JSON', 'a.js', `const cfg = "{\\"client_secret\\":\\"${KEY}\\"}";\n`, ['1:generic-secret']],
    ['js url-encoded', 'a.js', `const password = decodeURIComponent("${encodeURIComponent(`${KEY}!@`)}");\n`, ['1:generic-secret']],
    [
      'go base64 and a one-line function',
      'a.go',
      `package main\n\nconst encoded = "${b64(KEY)}"\n\nfunc key() string {\n\treturn decode(encoded)\n}\n\nfunc decode(s string) string { return strings.ReplaceAll(s, "", "") }\n\nvar apiKey, _ = base64.StdEncoding.DecodeString(encoded)\n`,
      ['3:generic-secret'],
    ],
    [
      'go raw string body',
      'a.go',
      `package main\n\nconst env = \`\nDB_HOST=db\nDB_PASSWORD=${KEY}\n\`\n`,
      ['5:generic-secret'],
    ],
    ['go byte slice', 'a.go', `package main\n\nvar token = string([]byte{${codes(KEY)}})\n`, ['3:generic-secret']],
    [
      'java base64 and StringBuilder reverse',
      'A.java',
      `class A {\n  static final String K = "${b64(KEY)}";\n  String apiKey = new String(Base64.getDecoder().decode(K));\n  static final String R = "${rev(KEY)}";\n  String secretKey = new StringBuilder(R).reverse().toString();\n}\n`,
      ['2:generic-secret', '4:generic-secret'],
    ],
    ['java char array', 'A.java', `class A {\n  char[] password = {${chars(KEY)}};\n}\n`, ['2:generic-secret']],
    ['shell export', 'deploy.sh', `#!/bin/sh\nexport SERVICE_TOKEN=${KEY}\n`, ['2:generic-secret']],
    ['yaml base64 value', 'values.yaml', `auth:\n  api_key: ${b64(KEY)}\n`, ['2:generic-secret']],
    ['yaml base64 with padding', 'values.yaml', `auth:\n  api_key: ${b64(`${KEY}x`)}\n`, ['2:generic-secret']],
    [
      'python value named by the function that returns it',
      'a.py',
      `_R = "${rev(KEY)}"\n\n\ndef webhook_secret():\n    return _R[::-1]\n`,
      ['1:generic-secret'],
    ],
    [
      'go value under a vendor-named key, fixed up by a helper',
      'a.go',
      `package main\n\nconst raw = "strpe_${KEY}"\n\nfunc fix(s string) string { return strings.Replace(s, "strpe_", "stripe_", 1) }\n\nvar stripeKey = fix(raw)\n`,
      ['3:generic-secret'],
    ],
    ['python comment', 'a.py', `# old_api_key = "${KEY}"\nAPI_KEY = os.environ["API_KEY"]\n`, ['1:generic-secret']],
    ['js fixed regex', 'a.js', `const PASSWORD_RE = /${KEY}/;\n`, ['1:generic-secret']],
  ];
  for (const [name, file, text, expected] of cases) {
    it(name, () => {
      const { found, leaked } = scan(text, file);
      assert.deepEqual(found, expected);
      assert.equal(leaked, false, 'no output field shows the decoded secret');
    });
  }

  it('never shows the encoded literal either', () => {
    const encoded = b64(KEY);
    const [f] = detectSecrets(`API_KEY_B64 = "${encoded}"\n`, 'a.py');
    assert.ok(f && !f.snippet.includes(encoded) && !f.message.includes(encoded));
  });
});

describe('decoys stay quiet', () => {
  const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...Array.from({ length: 40 }, (_, i) => (i * 37) % 256)]);
  const decoys: [string, string, string][] = [
    ['base64 of an image', 'a.py', `LOGO_PNG = "${png.toString('base64')}"\n`],
    ['base64 of a placeholder under a secret name', 'a.py', `API_KEY = "${b64('changeme')}"\n`],
    ['base64 of an example key', 'a.py', `AWS_KEY = base64.b64decode("${b64('AKIAIOSFODNN7EXAMPLE')}")\n`],
    ['encoded text under an ordinary name', 'a.py', `GREETING = "${b64('Hello, friendly world 2024')}"\n`],
    ['hex of text under an ordinary name', 'a.js', `const label = "${hex('inventory-service-v2')}";\n`],
    ['reversed placeholder', 'a.py', `PASSWORD = "${rev('your_password_here')}"[::-1]\n`],
    ['char list of a placeholder', 'a.js', `const token = [${chars('xxxxxxxxxx')}].join('');\n`],
    ['sha256 hex', 'a.py', `SHA256 = "${'9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'}"\n`],
    ['token hash', 'a.py', `token_hash = "${hex('a'.repeat(4))}9f86d081884c7d659a2feaa0c55ad015"\n`],
    ['uuid', 'a.js', `const apiToken = "123e4567-e89b-12d3-a456-426614174000";\n`],
    ['placeholder angle brackets', 'a.js', `const apiKey = "<your-api-key>";\n`],
    ['storage key name', 'a.js', `const TOKEN_KEY = 'auth_token';\n`],
    ['environment variable name', 'a.py', `PASSWORD_ENV = "DB_PASSWORD"\nPASSWORD = os.environ[PASSWORD_ENV]\n`],
    ['validation pattern', 'a.js', `const PASSWORD_REGEX = /^(?=.*[A-Z])(?=.*\\d).{12,}$/;\n`],
    ['words joined under an ordinary name', 'a.py', `TITLE = " ".join(["Secret", "Garden", "2024"])\n`],
    ['interpolated template', 'a.js', `const password = \`\${prefix}-\${process.env.SUFFIX}\`;\n`],
    ['decoded from input', 'a.py', `def f(x):\n    password = base64.b64decode(x)\n    return password\n`],
    ['code in a block comment', 'a.js', `/*\n  password: bcrypt.hashSync(password, bcrypt.genSaltSync())\n*/\n`],
    ['version string', 'a.py', `token_version = "1.2.3"\nTOKEN = "v2.10.4-beta"\n`],
  ];
  for (const [name, file, text] of decoys) {
    it(name, () => {
      assert.deepEqual(detectSecrets(text, file), []);
    });
  }
});

describe('constant evaluator', () => {
  it('points at the literal a value comes from, or at the expression that assembles several', () => {
    const src = `A = "${rev(KEY)}"\n\n\ndef get():\n    return A[::-1]\n\nB = "x" + "yz"\nC = B + "${KEY.slice(0, 8)}"\n`;
    const { derived } = analyzeConstants(src, 'python');
    assert.deepEqual(
      derived.map((d) => [d.line, d.value, d.hidden]),
      [
        [0, KEY, true],
        [7, `xyz${KEY.slice(0, 8)}`, false],
      ],
    );
  });

  it('gives up on values that depend on input instead of guessing', () => {
    const { derived } = analyzeConstants('def f(a):\n    return a + "suffix"\nX = f(input())\n', 'python');
    assert.deepEqual(derived, []);
  });

  it('survives self-reference and deep nesting', () => {
    const deep = `${'('.repeat(200)}"a"${')'.repeat(200)}`;
    const { derived } = analyzeConstants(`A = B\nB = A + "x"\nC = ${deep}\n`, 'python');
    assert.deepEqual(derived, []);
  });

  it('marks comment and multi-line string lines as text', () => {
    const { textLines } = analyzeConstants('x = 1  # note\ny = """\nKEY=v\n"""\nz = "one line"\n', 'python');
    assert.deepEqual([...textLines].sort(), [0, 1, 2, 3]);
  });

  it('decodes only base64 or hex of printable text', () => {
    assert.equal(decodeLiteral(b64('hello secret world')), 'hello secret world');
    assert.equal(decodeLiteral(hex('hello secret')), 'hello secret');
    assert.equal(decodeLiteral(KEY), undefined, 'a random key is not base64 of text');
    assert.equal(decodeLiteral('9f86d081884c7d659a2feaa0c55ad015'), undefined, 'a hash decodes to binary');
  });

  it('tells chosen passwords from names, paths and fillers', () => {
    for (const v of ['Summer-Breeze-2024!', 'golang_app_secret_991', 'Tr0ub4dor&3']) {
      assert.ok(credentialShaped(v, false), v);
    }
    for (const v of [
      'auth_token',
      'DB_PASSWORD',
      'config/secrets.json',
      'abcdefgh12',
      'https://x.example/a1b2c3',
      'initTokens[name',
      '%[a-f0-9]{2}',
      '(Optional',
    ]) {
      assert.ok(!credentialShaped(v, false), v);
    }
    assert.ok(credentialShaped('SERVICE_KEY_ALPHA', true), 'a hidden value needs only letters');
  });
});
