// FuzzForge's own secret detector for the secret_detection workflow, and the judge of
// security_assessment's credential rules (../analyzers/credentials).
//
// Pure code (no I/O, no Node built-ins): callers pass a file's text and its path and get findings
// back, so the same code runs in the worker, in unit tests and as the scrubber that redacts other
// tools' output. It finds
//   - tokens whose format announces them (AWS key ids, GitHub, GitLab, Slack, Stripe, Google,
//     Twilio, SendGrid, npm, PyPI, JWTs), wherever they appear;
//   - PEM private key blocks that hold key material;
//   - URLs with an inline password (postgres://user:pass@host);
//   - values assigned to secret-ish names (`aws_secret_access_key`, `API_TOKEN`, `"password":`)
//     that look random: Shannon entropy over the value's alphabet, minimum lengths, and checks
//     against words, sequences and repetition; or that a person chose as a password (letters
//     mixed with digits or punctuation, within half a bit of the entropy floor, see
//     chosenEntropyFloor), in each language's assignment and declaration forms;
//   - the same, after decoding: base64 / hex of text, escapes, escaped JSON, `KEY=value` lines
//     in comments and multi-line string bodies, and, in source files, the constant string
//     expressions ./constants evaluates (concatenation, joins, reversal, ROT13, XOR, decoders);
// and deliberately does not report what is not a live secret: documentation example keys,
// values read from the environment or templated in, hashes and integrity digests, UUIDs and
// placeholders. Every output field carries the secret redacted: at most its first 4 characters.

import { languageOf } from '../analyzers/lexer';
import { analyzeConstants, decodeLiteral, unescape, type DerivedValue } from './constants';

export type SecretKind =
  | 'aws-access-key-id'
  | 'aws-secret-access-key'
  | 'github-token'
  | 'gitlab-token'
  | 'slack-token'
  | 'stripe-key'
  | 'google-api-key'
  | 'twilio-api-key'
  | 'sendgrid-api-key'
  | 'npm-token'
  | 'pypi-token'
  | 'jwt'
  | 'private-key'
  | 'connection-string'
  | 'generic-secret';

export interface SecretRule {
  /** `ff-secret-<kind>`. */
  id: string;
  kind: SecretKind;
  /** PascalCase. */
  name: string;
  /** One sentence: what was found. */
  description: string;
  /** Why it matters and what to do, plain text. */
  help: string;
  /** The CWE-798 page. */
  helpUri: string;
  level: 'error' | 'warning' | 'note';
  precision: 'very-high' | 'high' | 'medium' | 'low';
  cwe: string[];
}

export interface SecretFinding {
  ruleId: string;
  kind: SecretKind;
  /** 1-based. */
  line: number;
  /** 1-based column of the secret value. */
  column: number;
  /** 1-based, exclusive. */
  endColumn: number;
  /** Names the kind of secret and shows it redacted. */
  message: string;
  /** The trimmed line (at most 200 characters) with every secret on it redacted. */
  snippet: string;
  /** The secret as shown: its first 4 characters and "…", or "****". */
  redacted: string;
  /** Bits per character, for secrets found by entropy. */
  entropy?: number;
}

export interface DetectOptions {
  /**
   * Bits per character a value over the base64 (or wider) alphabet must reach to be reported as
   * a generic secret; hex values need 0.5 less because their alphabet has 16 symbols, not 64, and
   * so do chosen passwords and decoded values (see chosenEntropyFloor).
   */
  minEntropy?: number;
}

/** Random 20-character base64 strings score about 4.0, English-like identifiers 3.5 to 3.9. */
export const DEFAULT_MIN_ENTROPY = 3.5;
/** Shortest values the entropy check considers, per alphabet (shorter ones are too weak a signal). */
export const MIN_SECRET_LENGTH = { hex: 20, base64: 16, other: 12 } as const;
/** Lines longer than this are minified or generated; tokens there are gitleaks' to find. */
export const MAX_LINE_LENGTH = 20_000;
const MAX_SNIPPET_LENGTH = 200;

// ---------------------------------------------------------------------------------------------
// Rule table
// ---------------------------------------------------------------------------------------------

const CWE_798 = 'https://cwe.mitre.org/data/definitions/798.html';
const ROTATE =
  'Revoke or rotate it now (removing it from the code does not remove it from the history or from copies), ' +
  'then load the replacement at run time from the environment or a secrets manager.';

function rule(
  kind: SecretKind,
  name: string,
  label: string,
  description: string,
  advice: string,
  level: SecretRule['level'],
  precision: SecretRule['precision'],
): SecretRule & { label: string } {
  return Object.freeze({
    id: `ff-secret-${kind}`,
    kind,
    name,
    label,
    description,
    help: `${description} ${advice} ${ROTATE}`,
    helpUri: CWE_798,
    level,
    precision,
    cwe: ['CWE-798'],
  });
}

const RULE_LIST = [
  rule(
    'aws-access-key-id',
    'AwsAccessKeyId',
    'AWS access key ID',
    'An AWS access key ID is hard-coded.',
    'Key ids are usually committed with their secret access key, which together give access to the account. ' +
      'Deactivate the key in IAM and use the default credential provider chain (roles, SSO, environment).',
    'error',
    'high',
  ),
  rule(
    'aws-secret-access-key',
    'AwsSecretAccessKey',
    'AWS secret access key',
    'An AWS secret access key is hard-coded.',
    'With the matching key id it signs any request the IAM principal may make. Deactivate the key pair in IAM ' +
      'and use the default credential provider chain (roles, SSO, environment).',
    'error',
    'high',
  ),
  rule(
    'github-token',
    'GitHubToken',
    'GitHub token',
    'A GitHub access token (ghp_, gho_, ghs_, ghu_, ghr_ or github_pat_) is hard-coded.',
    'It acts as its owner on every repository and organisation it was granted. Revoke it in the GitHub settings ' +
      '(or the app installation) and use a short-lived token such as GITHUB_TOKEN in CI.',
    'error',
    'high',
  ),
  rule(
    'gitlab-token',
    'GitLabToken',
    'GitLab personal access token',
    'A GitLab personal access token (glpat-) is hard-coded.',
    'It acts as its owner with the scopes it was created with. Revoke it under User Settings > Access Tokens.',
    'error',
    'high',
  ),
  rule(
    'slack-token',
    'SlackToken',
    'Slack token',
    'A Slack bot, user, app or refresh token (xoxb-, xoxp-, xoxa-, xoxr-) is hard-coded.',
    'It can read and post messages in the workspace as the bot or user. Revoke it in the app configuration.',
    'error',
    'high',
  ),
  rule(
    'stripe-key',
    'StripeLiveKey',
    'Stripe live key',
    'A Stripe live secret or restricted key (sk_live_, rk_live_) is hard-coded.',
    'Live keys move real money and read customer data. Roll the key in the Stripe dashboard.',
    'error',
    'high',
  ),
  rule(
    'google-api-key',
    'GoogleApiKey',
    'Google API key',
    'A Google API key (AIza...) is hard-coded.',
    'Anyone holding it can call the APIs it is enabled for, at the expense of the project owner. Delete or ' +
      'restrict it in the Google Cloud console.',
    'error',
    'high',
  ),
  rule(
    'twilio-api-key',
    'TwilioCredential',
    'Twilio credential',
    'A Twilio API key SID (SK...) or auth token is hard-coded.',
    'It can send messages and place calls billed to the account. Delete the key or rotate the auth token in the ' +
      'Twilio console.',
    'error',
    'high',
  ),
  rule(
    'sendgrid-api-key',
    'SendGridApiKey',
    'SendGrid API key',
    'A SendGrid API key (SG.) is hard-coded.',
    'It can send mail as the account, which is how phishing gets a trusted sender. Delete it in the SendGrid settings.',
    'error',
    'high',
  ),
  rule(
    'npm-token',
    'NpmAccessToken',
    'npm access token',
    'An npm access token (npm_) is hard-coded.',
    'With publish rights it lets anyone push a malicious version of your packages. Revoke it with `npm token revoke` ' +
      'and use a granular, CI-only token kept in the CI secret store.',
    'error',
    'high',
  ),
  rule(
    'pypi-token',
    'PyPiApiToken',
    'PyPI API token',
    'A PyPI API token (pypi-) is hard-coded.',
    'It can upload releases of your projects. Remove it in the PyPI account settings and prefer trusted publishing.',
    'error',
    'high',
  ),
  rule(
    'jwt',
    'JsonWebToken',
    'JSON Web Token',
    'A signed JSON Web Token is hard-coded.',
    'A bearer token is accepted from whoever presents it until it expires; long-lived service tokens often never do. ' +
      'Invalidate it (rotate the signing key if needed) and obtain tokens at run time.',
    'warning',
    'medium',
  ),
  rule(
    'private-key',
    'PrivateKeyBlock',
    'private key',
    'A PEM or OpenSSH private key block with key material is embedded.',
    'Everything the key signs or decrypts is compromised once the repository is readable. Revoke and reissue the ' +
      'key pair and load keys from a file or store outside the repository.',
    'error',
    'high',
  ),
  rule(
    'connection-string',
    'ConnectionStringPassword',
    'connection string password',
    'A URL or connection string carries an inline password (scheme://user:password@host).',
    'The password opens the database, broker or server directly. Build the URL at run time from a password kept in ' +
      'the environment or a secrets manager.',
    'error',
    'high',
  ),
  rule(
    'generic-secret',
    'HighEntropySecret',
    'secret',
    'A random-looking or deliberately chosen value is assigned to a secret-ish name (password, secret, token, API key).',
    'High-entropy literals under such names are almost always real credentials or signing keys; so are chosen ' +
      'passwords that mix letters with digits or punctuation, and values the code decodes or assembles from ' +
      'constants (base64, hex, ROT13, reversed or split strings) to keep them out of sight.',
    'warning',
    'medium',
  ),
];

export const SECRET_RULES: readonly SecretRule[] = Object.freeze(
  RULE_LIST.map(({ label: _label, ...r }) => Object.freeze({ ...r, cwe: [...r.cwe] })),
);

const LABELS = new Map<SecretKind, string>(RULE_LIST.map((r) => [r.kind, r.label]));

function ruleId(kind: SecretKind): string {
  return `ff-secret-${kind}`;
}

// ---------------------------------------------------------------------------------------------
// Value heuristics (exported for tests and for the gitleaks scrubber)
// ---------------------------------------------------------------------------------------------

/** How a secret is shown anywhere: its first 4 characters and "…", or "****" when it is short. */
export function redact(value: string): string {
  return value.length >= 12 ? `${value.slice(0, 4)}…` : '****';
}

/** Shannon entropy of the string's own characters, in bits per character. */
export function shannonEntropy(value: string): number {
  if (value.length === 0) {
    return 0;
  }
  const counts = new Map<string, number>();
  for (const ch of value) {
    counts.set(ch, (counts.get(ch) ?? 0) + 1);
  }
  let bits = 0;
  for (const n of counts.values()) {
    const p = n / value.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

export type Alphabet = 'hex' | 'base64' | 'other';

export function alphabetOf(value: string): Alphabet {
  if (/^[0-9a-fA-F]+$/.test(value)) {
    return 'hex';
  }
  return /^[A-Za-z0-9+/_-]+={0,2}$/.test(value) ? 'base64' : 'other';
}

/** The entropy a value of this alphabet must reach (see DetectOptions.minEntropy). */
export function entropyThreshold(alphabet: Alphabet, minEntropy = DEFAULT_MIN_ENTROPY): number {
  return alphabet === 'hex' ? minEntropy - 0.5 : minEntropy;
}

/** `abcdef`, `0123456789`, `zyxw`: most neighbouring characters are consecutive. */
function isSequential(value: string): boolean {
  const lower = value.toLowerCase();
  let steps = 0;
  for (let i = 1; i < lower.length; i++) {
    if (Math.abs(lower.charCodeAt(i) - lower.charCodeAt(i - 1)) === 1) {
      steps++;
    }
  }
  return steps >= (lower.length - 1) / 2;
}

/** `abcabcabc`, `passwordpassword`: the value is a shorter unit repeated. */
function isRepetitive(value: string): boolean {
  for (let period = 1; period <= value.length / 2; period++) {
    let repeats = true;
    for (let i = period; i < value.length && repeats; i++) {
      repeats = value.charAt(i) === value.charAt(i - period);
    }
    if (repeats) {
      return true;
    }
  }
  return false;
}

/** A letter run that reads like a word: a vowel in every 4 letters or fewer, no 4-consonant cluster. */
function pronounceable(run: string): boolean {
  const lower = run.toLowerCase();
  const vowels = lower.match(/[aeiouy]/g)?.length ?? 0;
  return lower.length >= 3 && vowels / lower.length >= 0.25 && !/[^aeiouy]{4}/.test(lower);
}

/**
 * Share of the value made of pronounceable letter runs (split at case changes, digits and
 * punctuation): over 0.6 for `SuperSecretPassword123` or `development_key_do_not_use`; random
 * strings rarely get there (about 3% of 16-character and under 0.5% of 32-character alphanumeric
 * ones, 2% of 32-character lowercase-and-digit ones).
 */
function wordiness(value: string): number {
  const runs = value.match(/[A-Z]?[a-z]+|[A-Z]+(?![a-z])/g) ?? [];
  return runs.filter(pronounceable).reduce((n, r) => n + r.length, 0) / value.length;
}

function characterClasses(value: string): number {
  return [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((re) => re.test(value)).length;
}

export interface RandomnessVerdict {
  random: boolean;
  entropy: number;
  alphabet: Alphabet;
  /** Why not, for tests and debugging. */
  reason?: string;
}

/** Is `value` random enough to be a key or token (rather than a word, identifier or pattern)? */
export function assessRandomness(value: string, minEntropy = DEFAULT_MIN_ENTROPY): RandomnessVerdict {
  const alphabet = alphabetOf(value);
  const entropy = shannonEntropy(value);
  const verdict = (reason?: string): RandomnessVerdict =>
    reason ? { random: false, entropy, alphabet, reason } : { random: true, entropy, alphabet };
  if (value.length < MIN_SECRET_LENGTH[alphabet]) {
    return verdict(`shorter than ${MIN_SECRET_LENGTH[alphabet]}`);
  }
  if (entropy < entropyThreshold(alphabet, minEntropy)) {
    return verdict(`entropy ${entropy.toFixed(2)} below ${entropyThreshold(alphabet, minEntropy)}`);
  }
  if (alphabet === 'hex' ? !/[0-9]/.test(value) || !/[a-fA-F]/.test(value) : characterClasses(value) < 2) {
    return verdict('too few character classes');
  }
  if (isSequential(value) || isRepetitive(value)) {
    return verdict('a sequence or a repeated unit');
  }
  if (alphabet !== 'hex' && wordiness(value) >= 0.6) {
    return verdict('made of words');
  }
  return verdict();
}

/** Documentation example credentials, published by their vendors as non-working samples. */
const KNOWN_EXAMPLES: ReadonlySet<string> = new Set([
  'AKIAIOSFODNN7EXAMPLE',
  'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  'AKIAI44QH8DHBEXAMPLE',
  'je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY',
  'ghp_16C7e42F292c6912E7710c838347Ae178B4a',
  'AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe',
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c',
]);

const PLACEHOLDER_ANYWHERE =
  /example|sample|dummy|placeholder|change[_-]?me|change[_-]?it|replace[_-]?me|redacted|insert[_-]|your[_-]|[_-]here$|xxxx|\*{3}|\.{3}|…|<[^>]*>|^\[[^\]]*\]$|^\{[^}]*\}$/i;
const PLACEHOLDER_WHOLE =
  /^(?:test|testing|none|null|nil|undefined|empty|secret|password|passwd|pass|token|key|apikey|api[_-]?key|todo|tbd|fixme|foo|bar|baz|fake|mock|default|string|value|true|false|notset|unset)$/i;
const PLACEHOLDER_AFFIX = /^(?:test|fake|dummy|mock|sample)[_-]|[_-](?:test|fake|dummy|mock)$/i;

/** changeme, <token>, xxx, ***, your_key_here, dummy, example, test and the like. */
export function isPlaceholder(value: string): boolean {
  return (
    KNOWN_EXAMPLES.has(value) ||
    PLACEHOLDER_ANYWHERE.test(value) ||
    PLACEHOLDER_WHOLE.test(value) ||
    PLACEHOLDER_AFFIX.test(value) ||
    /^(.)\1+$/.test(value)
  );
}

const REFERENCE =
  /\$\{|\$\(|\{\{|\}\}|#\{|%\(|<%|^\$[A-Za-z_]|^%[A-Za-z_]\w*%$|^@[\w.]+@$|\bos\.environ|\bprocess\.env|getenv|\bENV\[|System\.getenv|Environment\.GetEnvironmentVariable|secretKeyRef|valueFrom/;

/** A value taken from the environment or filled in by a template: `${VAR}`, `$VAR`, `{{ x }}`... */
export function isReference(value: string): boolean {
  return REFERENCE.test(value);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Digests with their algorithm's prefix, and password hashes in crypt / Django / passlib form. */
const HASH_PREFIX =
  /^(?:(?:sha(?:1|224|256|384|512)?|md5|blake2[bs]?|h1|xxh\d*)[:-]|\$(?:2[abxy]?|1|5|6|7|y|gy|apr1|argon2(?:id|i|d)|scrypt|pbkdf2(?:-sha\d+)?|sha1|md5)\$|(?:pbkdf2_sha\d+|bcrypt(?:_sha256)?|argon2|scrypt)\$)/i;
const SRI_HASH = /\bsha(?:1|256|384|512)-[A-Za-z0-9+/]{20,}={0,2}/g;

// ---------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------

function nameWords(name: string): string[] {
  return name
    .replace(/^[$@:]+/, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w !== '');
}

const SECRET_WORDS = new Set(
  (
    'secret secrets token tokens password passwords passwd pwd pass passphrase credential credentials ' +
    'apikey authtoken accesstoken secretkey privatekey bearer authorization auth'
  ).split(' '),
);
const KEY_QUALIFIERS = new Set(
  (
    'api access auth private secret signing encryption master session client app license account consumer ' +
    'service webhook stripe github gitlab slack twilio sendgrid openai anthropic aws azure mailgun mailchimp ' +
    'paypal shopify heroku datadog'
  ).split(' '),
);
/** Names that describe a secret without holding it: `password_hash`, `token_url`, `client_id`. */
const NOT_SECRET_WORDS = new Set(
  (
    'hash hashed sha md5 checksum digest integrity fingerprint public pub publishable id ids name type ' +
    'url uri endpoint path file filename dir header field param prefix length len size count version ' +
    'format expiry expires expiration ttl timeout policy enabled required label hint pattern regex env ' +
    'ref arn'
  ).split(' '),
);
const NOT_SECRET_COMPACT = /hash|digest|checksum|integrity|fingerprint|sha(?:1|224|256|384|512)|md5/;

/** Does the name announce a secret (`DB_PASSWORD`, `apiKey`, `"client_secret"`, `auth.token`)? */
export function isSecretName(name: string): boolean {
  const words = nameWords(name);
  const compact = words.join('');
  if (words.length === 0 || words.some((w) => NOT_SECRET_WORDS.has(w)) || NOT_SECRET_COMPACT.test(compact)) {
    return false;
  }
  if (words.some((w) => SECRET_WORDS.has(w)) || /password|passwd|apikey|secret(?!ar)/.test(compact)) {
    return true;
  }
  return words.some((w, i) => w === 'key' && i > 0 && KEY_QUALIFIERS.has(words[i - 1] ?? ''));
}

function isAwsSecretName(name: string): boolean {
  const compact = nameWords(name).join('');
  return (compact.includes('aws') && compact.includes('secret')) || compact.includes('secretaccesskey');
}

function isTwilioSecretName(name: string): boolean {
  const compact = nameWords(name).join('');
  return compact.includes('twilio') && /token|secret|auth/.test(compact);
}

// ---------------------------------------------------------------------------------------------
// Token formats
// ---------------------------------------------------------------------------------------------

interface TokenFormat {
  kind: SecretKind;
  re: RegExp;
  /** The part after the fixed prefix, which must look random. */
  body: (token: string) => string;
  /** Extra structural check. */
  valid?: (token: string) => boolean;
}

function afterPrefix(prefix: RegExp): (token: string) => string {
  return (token) => token.replace(prefix, '');
}

const TOKEN_FORMATS: readonly TokenFormat[] = [
  {
    kind: 'aws-access-key-id',
    re: /(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Za-z0-9])/g,
    body: afterPrefix(/^..../),
  },
  {
    kind: 'github-token',
    re: /(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})(?![A-Za-z0-9_])/g,
    body: afterPrefix(/^(?:gh[pousr]|github_pat)_/),
  },
  {
    kind: 'gitlab-token',
    re: /(?<![A-Za-z0-9_-])glpat-[A-Za-z0-9_-]{20,64}(?![A-Za-z0-9_-])/g,
    body: afterPrefix(/^glpat-/),
  },
  {
    kind: 'slack-token',
    re: /(?<![A-Za-z0-9-])xox[abpr]-\d{6,15}-\d{6,15}(?:-[A-Za-z0-9]{4,64}){1,2}(?![A-Za-z0-9-])/g,
    body: (t) => t.slice(t.lastIndexOf('-') + 1),
  },
  {
    kind: 'stripe-key',
    re: /(?<![A-Za-z0-9_])[sr]k_live_[A-Za-z0-9]{24,247}(?![A-Za-z0-9_])/g,
    body: afterPrefix(/^[sr]k_live_/),
  },
  {
    kind: 'google-api-key',
    re: /(?<![A-Za-z0-9_-])AIza[A-Za-z0-9_-]{35}(?![A-Za-z0-9_-])/g,
    body: afterPrefix(/^AIza/),
  },
  {
    kind: 'twilio-api-key',
    re: /(?<![A-Za-z0-9])SK[0-9a-f]{32}(?![A-Za-z0-9])/g,
    body: afterPrefix(/^SK/),
  },
  {
    kind: 'sendgrid-api-key',
    re: /(?<![A-Za-z0-9_.-])SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/g,
    body: afterPrefix(/^SG\./),
  },
  {
    kind: 'npm-token',
    re: /(?<![A-Za-z0-9_])npm_[A-Za-z0-9]{36}(?![A-Za-z0-9_])/g,
    body: afterPrefix(/^npm_/),
  },
  {
    // A PyPI token is a macaroon: base64 of a binary header naming pypi.org (or test.pypi.org).
    kind: 'pypi-token',
    re: /(?<![A-Za-z0-9_-])pypi-AgE(?:IcHlwaS5vcmc|NdGVzdC5weXBpLm9yZw)[A-Za-z0-9_-]{50,}(?![A-Za-z0-9_-])/g,
    body: afterPrefix(/^pypi-AgE(?:IcHlwaS5vcmc|NdGVzdC5weXBpLm9yZw)/),
  },
  {
    kind: 'jwt',
    re: /(?<![A-Za-z0-9_.-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}(?![A-Za-z0-9_.-])/g,
    body: (t) => t.slice(t.lastIndexOf('.') + 1),
    valid: isSignedJwt,
  },
];

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Decode base64url (or base64) to a latin-1 string; undefined on a bad character. */
function decodeBase64Url(text: string): string | undefined {
  let bits = 0;
  let acc = 0;
  let out = '';
  for (const ch of text.replace(/=+$/, '')) {
    const v = BASE64URL.indexOf(ch === '+' ? '-' : ch === '/' ? '_' : ch);
    if (v < 0) {
      return undefined;
    }
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += String.fromCharCode((acc >> bits) & 0xff);
    }
  }
  return out;
}

function decodeJson(segment: string): Record<string, unknown> | undefined {
  const text = decodeBase64Url(segment);
  if (text === undefined) {
    return undefined;
  }
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Header and payload decode to JSON objects, the header names a real algorithm, and it is not jwt.io's sample. */
function isSignedJwt(token: string): boolean {
  const [header, payload] = token.split('.');
  const h = decodeJson(header ?? '');
  const p = decodeJson(payload ?? '');
  if (!h || !p || typeof h['alg'] !== 'string' || h['alg'].toLowerCase() === 'none') {
    return false;
  }
  return !isSampleJwt(token);
}

/** The token of the JWT introduction (and its copies in countless docs): subject 1234567890, John Doe. */
function isSampleJwt(token: string): boolean {
  const p = decodeJson(token.split('.')[1] ?? '');
  return p !== undefined && p['name'] === 'John Doe' && p['sub'] === '1234567890';
}

function tokenBodyIsRandom(body: string): boolean {
  if (body.length < 8 || /^(.)\1+$/.test(body) || isRepetitive(body) || isSequential(body)) {
    return false;
  }
  // Bodies are random over 32 to 64 symbols; a floor well under that rejects 0000.../abab... fillers.
  return shannonEntropy(body) >= (body.length >= 24 ? 3.0 : 2.5);
}

// ---------------------------------------------------------------------------------------------
// Assignments
// ---------------------------------------------------------------------------------------------

// name (bare, dotted, quoted or `$`-prefixed; a C array `name[]`), an optional type annotation,
// then a separator.
const ASSIGNMENT =
  /(?<![\w$.-])(?:(["'])([A-Za-z_$@][\w$.-]*)\1\]?|([A-Za-z_$@][\w$.-]*)(?:\[\w*\])?)(?:\s*:\s*[A-Za-z_][\w.[\]<>]*(?=\s+=))?\s*(:=|=>|\|\|=|\?\?=|\?=|=(?![=~>])|:(?![:=/]))[ \t]*/g;
// Declarations whose name is not next to the value: Go's `var name Type = `, PHP's `define('NAME', `.
const DECLARATIONS: readonly RegExp[] = [
  /\b(?:var|const)\s+([A-Za-z_]\w*)\s+[A-Za-z_][\w.]*\s*=\s*/g,
  /\bdefine\s*\(\s*["']([\w.-]+)["']\s*,\s*/g,
];
/** After a literal: an operator that joins it with a value computed at run time, or a format call. */
const JOINED_AFTER = /^\s*(?:\+(?![+=])|%(?![=>}])|\.\s*format(?:ted)?\s*\(|\.(?=\s*\$))/;
const XML_ELEMENT = /<([A-Za-z_][\w.-]*)>([^<>\s]+)<\/\1>/g;
const C_DEFINE = /^\s*#\s*define\s+([A-Za-z_]\w*)\s+/;
const QUOTED_PREFIX = /^(?:[rRbBuUfF]{1,2}|@|\$)?(["'`])/;
const UNQUOTED_VALUE = /^[^\s,;&"'`)\]}<>]+/;

/** Files whose values are written unquoted (`KEY=value`, `key: value`): config, env and shell files. */
function allowsUnquotedValues(path: string): boolean {
  const base = path.slice(path.lastIndexOf('/') + 1).toLowerCase();
  if (/^\.env(?:\..*)?$|\.env$|^\.envrc$|^dockerfile|^containerfile|^\.npmrc$|^\.pypirc$/.test(base)) {
    return true;
  }
  const dot = base.lastIndexOf('.');
  if (dot <= 0) {
    return true; // no extension: credentials, config, shell scripts
  }
  return /^(?:ya?ml|ini|cfg|conf|cnf|properties|toml|sh|bash|zsh|ksh|tfvars|env)$/.test(base.slice(dot + 1));
}

interface Assignment {
  name: string;
  value: string;
  /** Offset of the value in the line. */
  start: number;
  /**
   * The literal is joined with data computed at run time (`"prefix" + name`, `"%s-key" % x`): part
   * of a value, not the value. Still redacted where another tool reports it.
   */
  joined?: boolean;
}

/** The literal value that starts at `at`, if the text there is one. */
function valueAt(line: string, at: number, unquoted: boolean): Omit<Assignment, 'name'> | undefined {
  const rest = line.slice(at);
  const q = QUOTED_PREFIX.exec(rest);
  if (q) {
    const quote = q[1] ?? '"';
    const open = at + q[0].length;
    let i = open;
    while (i < line.length && line.charAt(i) !== quote) {
      i += line.charAt(i) === '\\' ? 2 : 1;
    }
    if (i >= line.length) {
      return undefined; // unterminated on this line: a multi-line string, not a single value
    }
    if (/[fF$]/.test(q[0]) && /\{[^}]*\}/.test(line.slice(open, i))) {
      return undefined; // f-string / interpolated string
    }
    return { value: line.slice(open, i), start: open, joined: JOINED_AFTER.test(line.slice(i + 1)) };
  }
  if (!unquoted || /^[|>!&*]/.test(rest)) {
    return undefined; // code expression, or a YAML block scalar, tag, anchor or alias
  }
  const m = UNQUOTED_VALUE.exec(rest);
  return m ? { value: m[0], start: at } : undefined;
}

function assignments(line: string, unquoted: boolean): Assignment[] {
  const out: Assignment[] = [];
  for (const m of line.matchAll(ASSIGNMENT)) {
    const name = m[2] ?? m[3] ?? '';
    if (m[4] === ':' && /\?\s*$/.test(line.slice(0, m.index))) {
      continue; // `cond ? password : "x"` is a ternary, not a key
    }
    const v = valueAt(line, (m.index ?? 0) + m[0].length, unquoted);
    if (v) {
      out.push({ name, ...v });
    }
  }
  for (const re of DECLARATIONS) {
    for (const m of line.matchAll(re)) {
      const v = valueAt(line, (m.index ?? 0) + m[0].length, false);
      if (v) {
        out.push({ name: m[1] ?? '', ...v });
      }
    }
  }
  for (const m of line.matchAll(XML_ELEMENT)) {
    const value = m[2] ?? '';
    out.push({ name: m[1] ?? '', value, start: (m.index ?? 0) + m[0].indexOf('>') + 1 });
  }
  const define = C_DEFINE.exec(line);
  if (define) {
    const v = valueAt(line, define[0].length, false);
    if (v) {
      out.push({ name: define[1] ?? '', ...v });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Connection strings and private keys
// ---------------------------------------------------------------------------------------------

const CONNECTION_STRING =
  /\b([A-Za-z][A-Za-z0-9+.-]{1,30}):\/\/([^\s:/?#@'"`<>]{1,128}):([^\s/?#@'"`<>]{1,256})@([^\s/?#'"`<>:]+)/g;
/** Passwords of local development set-ups and tutorials: not worth a finding. */
const DEFAULT_PASSWORDS = new Set(
  'password passwd pass secret postgres mysql root admin guest user test redis rabbitmq mongo sa'.split(' '),
);

const PEM_HEADER = /-----BEGIN ((?:[A-Z0-9]+ ){0,3})PRIVATE KEY(?: BLOCK)?-----/;
const KEY_MATERIAL = /[A-Za-z0-9+/]{40,}={0,2}/;

/** Base64 key material right after the header (same line, `\n`-escaped) or on the next lines. */
function keyMaterial(lines: readonly string[], index: number, afterHeader: number, minEntropy: number): boolean {
  const candidates = [(lines[index] ?? '').slice(afterHeader)];
  for (let k = index + 1; k < lines.length && k <= index + 4; k++) {
    const next = lines[k] ?? '';
    if (/^\s*(?:Proc-Type|DEK-Info|Comment|Version):|^\s*$/.test(next)) {
      continue; // encrypted PEM / PGP armour headers come before the material
    }
    candidates.push(next);
    break;
  }
  return candidates.some((text) => {
    const m = KEY_MATERIAL.exec(text.replace(/\\n/g, '\n'));
    return m !== null && !isPlaceholder(m[0]) && shannonEntropy(m[0]) >= minEntropy;
  });
}

// ---------------------------------------------------------------------------------------------
// Detection
// ---------------------------------------------------------------------------------------------

interface Candidate {
  kind: SecretKind;
  start: number;
  end: number;
  value: string;
  /** Lower wins when spans overlap: specific formats before context rules before entropy. */
  priority: number;
  message: string;
  entropy?: number;
}

const LOCKFILES =
  /(?:^|\/)(?:package-lock\.json|npm-shrinkwrap\.json|yarn\.lock|pnpm-lock\.yaml|bun\.lock|composer\.lock|Gemfile\.lock|Cargo\.lock|poetry\.lock|Pipfile\.lock|uv\.lock|pdm\.lock|go\.sum|packages\.lock\.json|mix\.lock|pubspec\.lock|flake\.lock)$/;
const LOCKFILE_HASH_LINE = /["']?(?:integrity|checksum|shasum|sha\d*|hash|hashes|content-hash|narHash)["']?\s*[:=]/i;

/** Is `path` a dependency lockfile (whose integrity hashes are never secrets)? */
export function isLockfile(path: string): boolean {
  return LOCKFILES.test(path);
}

function label(kind: SecretKind): string {
  return LABELS.get(kind) ?? 'secret';
}

function lineCandidates(
  raw: string,
  lines: readonly string[],
  index: number,
  unquoted: boolean,
  minEntropy: number,
  prose = false,
): Candidate[] {
  // Subresource-integrity digests (`sha512-...`) look random but are hashes: blank them, columns kept.
  const line = raw.replace(SRI_HASH, (h) => ' '.repeat(h.length));
  const out: Candidate[] = [];
  for (const format of TOKEN_FORMATS) {
    for (const m of line.matchAll(format.re)) {
      const token = m[0];
      if (isPlaceholder(token) || !tokenBodyIsRandom(format.body(token)) || (format.valid && !format.valid(token))) {
        continue;
      }
      const start = m.index ?? 0;
      out.push({
        kind: format.kind,
        start,
        end: start + token.length,
        value: token,
        priority: 0,
        message: `Hard-coded ${label(format.kind)} (${redact(token)})`,
      });
    }
  }
  const pem = PEM_HEADER.exec(line);
  if (pem && keyMaterial(lines, index, pem.index + pem[0].length, minEntropy)) {
    const type = (pem[1] ?? '').trim();
    out.push({
      kind: 'private-key',
      start: pem.index,
      end: pem.index + pem[0].length,
      value: pem[0],
      priority: 0,
      message: `Embedded ${type ? `${type} ` : ''}private key block`,
    });
  }
  for (const m of line.matchAll(CONNECTION_STRING)) {
    const [, scheme = '', user = '', password = ''] = m;
    let decoded = password;
    try {
      decoded = decodeURIComponent(password);
    } catch {
      // Not percent-encoded after all: judge it as written.
    }
    if (
      decoded.length < 4 ||
      decoded === user ||
      DEFAULT_PASSWORDS.has(decoded.toLowerCase()) ||
      isPlaceholder(decoded) ||
      isReference(decoded) ||
      /^[$%{]/.test(decoded)
    ) {
      continue;
    }
    const start = (m.index ?? 0) + scheme.length + 3 + user.length + 1;
    out.push({
      kind: 'connection-string',
      start,
      end: start + password.length,
      value: password,
      priority: 1,
      message: `Hard-coded password (${redact(password)}) of user ${redactUser(user)} in a ${scheme} URL`,
    });
  }
  for (const a of [...assignments(line, unquoted), ...escapedAssignments(line, unquoted)]) {
    if (a.joined === true) {
      continue;
    }
    let { value, start } = a;
    const bearer = /^(?:Bearer|Basic|Token|token)\s+(\S+)$/.exec(value);
    if (bearer && /auth/i.test(a.name)) {
      start += value.length - (bearer[1] ?? '').length;
      value = bearer[1] ?? '';
    }
    // Escaped printable characters (`\x67\x68…`) and base64 or hex of text are judged decoded.
    const escaped = /\\(?:x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4})/.test(value) ? unescape(value, false) : undefined;
    const decoded = escaped?.hidden ? escaped.value : decodeLiteral(value);
    const c =
      decoded === undefined
        ? judgeValue([a.name], value, start, start + value.length, minEntropy, false, undefined, prose)
        : judgeDecoded(
            [a.name],
            decoded,
            start,
            start + value.length,
            minEntropy,
            escaped?.hidden ? 'written as escapes' : 'decoded from base64 or hex',
            prose,
          );
    if (c) {
      out.push(c);
    }
  }
  return out;
}

/**
 * A secret assigned to `name` as `value` (plain: the value as written), or undefined. `prose`: the
 * line is a comment, docstring or heredoc of a source file, where values are often examples.
 */
function judgeValue(
  names: readonly string[],
  value: string,
  start: number,
  end: number,
  minEntropy: number,
  hidden: boolean,
  how?: string,
  prose = false,
): Candidate | undefined {
  if (isPlaceholder(value) || isReference(value) || UUID.test(value) || HASH_PREFIX.test(value)) {
    return undefined;
  }
  const suffix = how ? `, ${how}` : '';
  for (const name of names) {
    if (isAwsSecretName(name) && /^[A-Za-z0-9/+]{40}$/.test(value)) {
      const verdict = assessRandomness(value, minEntropy);
      if (verdict.random) {
        return {
          kind: 'aws-secret-access-key',
          start,
          end,
          value,
          priority: 1,
          message: `Hard-coded AWS secret access key (${redact(value)}) in ${name}${suffix}`,
          entropy: verdict.entropy,
        };
      }
    }
    if (isTwilioSecretName(name) && /^[0-9a-f]{32}$/.test(value) && tokenBodyIsRandom(value)) {
      return {
        kind: 'twilio-api-key',
        start,
        end,
        value,
        priority: 1,
        message: `Hard-coded Twilio auth token (${redact(value)}) in ${name}${suffix}`,
      };
    }
  }
  const name = names.find(isSecretName);
  if (name === undefined || /\s/.test(value)) {
    return undefined;
  }
  if (!hidden && !looksLikeReferenceValue(value)) {
    const verdict = assessRandomness(value, minEntropy);
    if (verdict.random) {
      return {
        kind: 'generic-secret',
        start,
        end,
        value,
        priority: 2,
        message: `Hard-coded secret (${redact(value)}, ${verdict.entropy.toFixed(1)} bits/char) in ${name}${suffix}`,
        entropy: verdict.entropy,
      };
    }
  }
  // A chosen password in prose gets no allowance: `access_token=h480djs93hd8` there is an example.
  const entropy = shannonEntropy(value);
  const floor = prose ? minEntropy - (hidden ? 0.5 : 0) : chosenEntropyFloor(value, minEntropy);
  if (entropy >= floor && credentialShaped(value, hidden)) {
    return {
      kind: 'generic-secret',
      start,
      end,
      value,
      priority: 3,
      message: `Hard-coded ${/pass(?:w(?:or)?d)?|pwd/i.test(name) ? 'password' : 'secret'} (${redact(value)}) in ${name}${suffix}`,
      entropy,
    };
  }
  return undefined;
}

/**
 * A value the program decodes or assembles from constants: vendor token formats anywhere in it
 * (a base64-wrapped GitHub token is still one), then the checks of an assigned value, relaxed
 * because nobody encodes or splits a value they do not mean to hide.
 */
function judgeDecoded(
  names: readonly string[],
  value: string,
  start: number,
  end: number,
  minEntropy: number,
  how: string,
  prose = false,
): Candidate | undefined {
  for (const format of TOKEN_FORMATS) {
    for (const m of value.matchAll(format.re)) {
      const token = m[0];
      if (isPlaceholder(token) || !tokenBodyIsRandom(format.body(token)) || (format.valid && !format.valid(token))) {
        continue;
      }
      return {
        kind: format.kind,
        start,
        end,
        value: token,
        priority: 0,
        message: `Hard-coded ${label(format.kind)} (${redact(token)}), ${how}`,
      };
    }
  }
  if (KNOWN_EXAMPLES.has(value) || /EXAMPLE/.test(value) || [...value].some((c) => c < ' ' && !'\t\r\n'.includes(c))) {
    return undefined;
  }
  return judgeValue(names, value, start, end, minEntropy, true, how, prose);
}

/**
 * The entropy a chosen (or hidden) value needs: half a bit under min_entropy, as hex values get,
 * and lower by as much as its length keeps it under the default floor: a value of n characters has
 * at most log2(n) bits/char (3.17 for 9), so a short password such as `r3p0rt!db` is judged against
 * what its length allows. From 12 characters on this is min_entropy - 0.5, and min_entropy always
 * gates it: raising it raises the floor.
 */
export function chosenEntropyFloor(value: string, minEntropy = DEFAULT_MIN_ENTROPY): number {
  return minEntropy - 0.5 - Math.max(0, DEFAULT_MIN_ENTROPY - Math.log2(Math.max(value.length, 1)));
}

/** `abcdefgh`, `12345678`: nearly every neighbouring pair of characters is consecutive. */
function mostlySequence(value: string): boolean {
  let steps = 0;
  for (let i = 1; i < value.length; i++) {
    if (Math.abs(value.charCodeAt(i) - value.charCodeAt(i - 1)) === 1) {
      steps++;
    }
  }
  return steps >= 0.9 * (value.length - 1);
}

/**
 * A value a person chose as a password or key under a secret name, random or not: 8 to 200
 * characters without spaces, not a placeholder, reference, path, filler sequence, code or pattern
 * (brackets), and mixing letters with at least 3 digits, or with digits and both cases, or with
 * punctuation. A hidden value (decoded or assembled by the program) needs only letters: nobody
 * hides a name or a path.
 */
export function credentialShaped(value: string, hidden: boolean): boolean {
  if (value.length < 8 || value.length > 200 || /\s/.test(value) || !/[A-Za-z]/.test(value)) {
    return false;
  }
  if (isPlaceholder(value) || isReference(value) || UUID.test(value) || isRepetitive(value) || mostlySequence(value)) {
    return false;
  }
  if (/^(?:[a-z][a-z0-9+.-]*:\/\/|\.{0,2}\/|~\/)/i.test(value) || /^[\w.-]*\/[\w./-]*\.\w{1,5}$/.test(value)) {
    return false; // a URL or a file path
  }
  if (hidden) {
    return true;
  }
  // `bcrypt.hashSync(password` in a commented-out line: a call, i.e. code, not a literal.
  if (/^[A-Za-z_$][\w$.]*\(/.test(value) || looksLikeReferenceValue(value) || /^v?\d+(?:\.\d+)+(?:[-+.][\w.]+)?$/.test(value)) {
    return false;
  }
  if (/[[\]{}()]/.test(value)) {
    return false; // code or a pattern (`initTokens[name`, `%[a-f0-9]{2}`), not a password someone typed
  }
  const digits = value.match(/[0-9]/g)?.length ?? 0;
  const upper = /[A-Z]/.test(value);
  const lower = /[a-z]/.test(value);
  const punctuation = /[^A-Za-z0-9_.-]/.test(value);
  return digits >= 3 || (digits >= 1 && upper && lower) || (punctuation && (digits >= 1 || (upper && lower)));
}

/** Assignments inside a string that holds escaped JSON or code (`"{\"api_key\":\"…\"}"`), columns mapped back. */
function escapedAssignments(line: string, unquoted: boolean): Assignment[] {
  if (!/\\["']/.test(line)) {
    return [];
  }
  let text = '';
  const at: number[] = [];
  for (let i = 0; i < line.length; i++) {
    if (line.charAt(i) === '\\' && /["'\\/]/.test(line.charAt(i + 1))) {
      i++;
    }
    text += line.charAt(i);
    at.push(i);
  }
  return assignments(text, unquoted)
    .filter((a) => !/\\/.test(a.value))
    .map((a) => ({ ...a, start: at[a.start] ?? a.start }));
}

/** Identifiers, dotted references, paths and URLs: what code and config assign that is not a literal secret. */
function looksLikeReferenceValue(value: string): boolean {
  return (
    /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$/.test(value) || // an environment variable's name
    /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+$/.test(value) || // settings.SECRET, os.environ
    /^(?:[a-z][a-z0-9+.-]*:\/\/|\.{0,2}\/|~\/)/i.test(value) // a URL or a path
  );
}

function redactUser(user: string): string {
  return user.length > 24 ? redact(user) : user;
}

/** Replace the secret spans of a line with their redacted form (spans must not overlap). */
function redactSpans(line: string, spans: readonly { start: number; end: number; value: string }[]): string {
  let text = line;
  for (const s of [...spans].sort((a, b) => b.start - a.start)) {
    text = text.slice(0, s.start) + redact(s.value) + text.slice(s.end);
  }
  for (const s of spans) {
    if (s.value.length >= 8) {
      text = text.split(s.value).join(redact(s.value)); // the same secret repeated on the line
    }
  }
  return text;
}

// Runs of base64-ish characters long enough to be key material or a token.
const TOKENISH = /[A-Za-z0-9+/_-]{20,}={0,2}/g;

/** Mask any random-looking run of 20+ characters that the rules did not claim (defence in depth). */
function maskRandomRuns(text: string): string {
  return text.replace(TOKENISH, (run) => (assessRandomness(run).random ? redact(run) : run));
}

function snippetOf(line: string, spans: readonly Candidate[]): string {
  // A private key's header is not secret and says what leaked; its material is masked below.
  let text = redactSpans(
    line,
    spans.filter((s) => s.kind !== 'private-key'),
  );
  const pem = PEM_HEADER.exec(text);
  if (pem) {
    text = text.slice(0, pem.index + pem[0].length) + text.slice(pem.index + pem[0].length).replace(KEY_MATERIAL, '…');
  }
  text = maskRandomRuns(text).trim();
  return text.length > MAX_SNIPPET_LENGTH ? `${text.slice(0, MAX_SNIPPET_LENGTH - 1)}…` : text;
}

/** Source files larger than this are scanned line by line only (their constants are not evaluated). */
const MAX_EVALUATED_LENGTH = 1_000_000;

/** Descriptor words a fixed regular expression carries in its name (`PASSWORD_REGEX`). */
const PATTERN_WORDS = new Set(['regex', 'regexp', 'pattern', 're', 'rx']);

/** The finding for a value the program decodes or assembles (see ./constants), if it is a secret. */
function derivedCandidate(d: DerivedValue, minEntropy: number): Candidate | undefined {
  // A regular expression without metacharacters matches one string: that string is the value.
  const names = d.regex
    ? d.names.map((n) => nameWords(n).filter((w) => !PATTERN_WORDS.has(w)).join('_'))
    : d.names;
  const how = d.regex
    ? 'as a fixed regular expression'
    : d.hidden
      ? 'decoded or assembled at run time'
      : 'assembled from constants';
  const c = d.hidden
    ? judgeDecoded(names, d.value, d.column, d.endColumn, minEntropy, how)
    : judgeValue(names, d.value, d.column, d.endColumn, minEntropy, false, how);
  // Ahead of the same span read as written: the decoded value is what the finding is about.
  return c ? { ...c, priority: c.priority - 0.5 } : undefined;
}

/**
 * Finds the secrets in one file. `path` (posix, relative) selects format-specific behaviour: lockfile
 * hash lines are skipped and unquoted `KEY=value` forms are read only in config, env and shell
 * files. Findings are sorted by line, column and rule id; spans never overlap.
 */
export function detectSecrets(text: string, path: string, options: DetectOptions = {}): SecretFinding[] {
  const minEntropy = options.minEntropy ?? DEFAULT_MIN_ENTROPY;
  if (/(?:^|\/)go\.sum$/.test(path)) {
    return []; // nothing but module hashes
  }
  const lockfile = isLockfile(path);
  const unquoted = allowsUnquotedValues(path);
  const lines = (text.charCodeAt(0) === 0xfeff ? ` ${text.slice(1)}` : text).split(/\r?\n/);
  const language = languageOf(path);
  const constants = language && text.length <= MAX_EVALUATED_LENGTH ? analyzeConstants(text, language) : undefined;
  const derived = new Map<number, Candidate[]>();
  for (const d of constants?.derived ?? []) {
    const c = derivedCandidate(d, minEntropy);
    if (c) {
      derived.set(d.line, [...(derived.get(d.line) ?? []), c]);
    }
  }
  const findings: SecretFinding[] = [];
  lines.forEach((line, index) => {
    if (line.length > MAX_LINE_LENGTH || (lockfile && LOCKFILE_HASH_LINE.test(line))) {
      return;
    }
    // Comments and multi-line string bodies (heredocs, raw strings) hold `KEY=value` text even in code.
    const prose = !unquoted && constants?.textLines.has(index) === true;
    const candidates = [
      ...lineCandidates(line, lines, index, unquoted || prose, minEntropy, prose),
      ...(derived.get(index) ?? []),
    ].sort(
      (a, b) => a.priority - b.priority || a.start - b.start,
    );
    const kept: Candidate[] = [];
    for (const c of candidates) {
      if (!kept.some((k) => c.start < k.end && k.start < c.end)) {
        kept.push(c);
      }
    }
    if (kept.length === 0) {
      return;
    }
    const snippet = snippetOf(line, kept);
    for (const c of kept) {
      findings.push({
        ruleId: ruleId(c.kind),
        kind: c.kind,
        line: index + 1,
        column: c.start + 1,
        endColumn: c.end + 1,
        message: c.message,
        snippet,
        redacted: c.kind === 'private-key' ? c.value : redact(c.value),
        ...(c.entropy !== undefined ? { entropy: Math.round(c.entropy * 100) / 100 } : {}),
      });
    }
  });
  return findings.sort(
    (a, b) => a.line - b.line || a.column - b.column || (a.ruleId < b.ruleId ? -1 : a.ruleId > b.ruleId ? 1 : 0),
  );
}

/**
 * Redact every secret in free text (another tool's message or snippet, a stderr excerpt): what
 * the rules find, plus any random-looking run of 20+ characters.
 */
export function scrubText(text: string): string {
  return text
    .split('\n')
    .map((line) => {
      const spans = lineCandidates(line, [line], 0, true, DEFAULT_MIN_ENTROPY).sort(
        (a, b) => a.priority - b.priority || a.start - b.start,
      );
      const kept: Candidate[] = [];
      for (const c of spans) {
        if (!kept.some((k) => c.start < k.end && k.start < c.end)) {
          kept.push(c);
        }
      }
      return maskRandomRuns(redactSpans(line, kept));
    })
    .join('\n');
}

// ---------------------------------------------------------------------------------------------
// Other tools' findings
// ---------------------------------------------------------------------------------------------

const HASH_WORDS = new Set('hash hashed sha md5 checksum digest integrity fingerprint'.split(' '));
const PUBLIC_WORDS = new Set('public pub publishable'.split(' '));

function valueDecoyReason(name: string | undefined, value: string): string | undefined {
  const words = name === undefined ? [] : nameWords(name);
  if (KNOWN_EXAMPLES.has(value) || /EXAMPLE/.test(value) || isSampleJwt(value)) {
    return 'a documentation example';
  }
  if (isReference(value)) {
    return 'read from the environment or a template';
  }
  if (UUID.test(value)) {
    return 'a UUID';
  }
  if (HASH_PREFIX.test(value) || words.some((w) => HASH_WORDS.has(w)) || NOT_SECRET_COMPACT.test(words.join(''))) {
    return 'a hash';
  }
  if (words.some((w) => PUBLIC_WORDS.has(w))) {
    return 'a public key';
  }
  return isPlaceholder(value) ? 'a placeholder' : undefined;
}

/**
 * Why what another scanner reported on `line` between offsets [start, end) is not a live secret,
 * by the same rules as our own detector (documentation examples, environment references, UUIDs,
 * hashes, public keys, placeholders); undefined when it may well be one. The value is the literal
 * of an assignment overlapping the span, or else the token-like runs inside the span.
 */
export function decoyReason(line: string, start: number, end: number, path: string): string | undefined {
  const overlapping = assignments(line, allowsUnquotedValues(path)).filter(
    (a) => a.start < end && start < a.start + a.value.length,
  );
  if (overlapping.length > 0) {
    const reasons = overlapping.map((a) => valueDecoyReason(a.name, a.value));
    return reasons.every((r) => r !== undefined) ? reasons[0] : undefined;
  }
  const runs = line.slice(Math.max(0, start), Math.max(start, end)).match(/[A-Za-z0-9+/=_.-]{8,}/g) ?? [];
  const reasons = runs.map((run) => valueDecoyReason(undefined, run));
  return runs.length > 0 && reasons.every((r) => r !== undefined) ? reasons[0] : undefined;
}

/**
 * The snippet and message preview for a secret another scanner reported on `line` between
 * offsets [start, end): the value of an assignment overlapping the span is redacted (or, when
 * there is none, the span itself), then the line is scrubbed like our own snippets.
 */
export function redactRegion(
  line: string,
  start: number,
  end: number,
  path: string,
): { snippet: string; preview: string } {
  const from = Math.max(0, Math.min(start, line.length));
  const to = Math.max(from, Math.min(end, line.length));
  const pem = PEM_HEADER.exec(line);
  if (pem && from < pem.index + pem[0].length && pem.index < Math.max(to, from + 1)) {
    // A key block: the header says what leaked and is not secret; the material after it is.
    return { snippet: snippetOf(line, []), preview: pem[0] };
  }
  const values = assignments(line, allowsUnquotedValues(path))
    .filter((a) => a.start < to && from < a.start + a.value.length && a.value.length > 0)
    .map((a) => ({ start: a.start, end: a.start + a.value.length, value: a.value }));
  const spans = values.length > 0 ? values : [{ start: from, end: to, value: line.slice(from, to) }];
  const kept = spans.filter((s, i) => !spans.slice(0, i).some((k) => s.start < k.end && k.start < s.end));
  let text = maskRandomRuns(redactSpans(line, kept)).trim();
  text = scrubText(text);
  if (text.length > MAX_SNIPPET_LENGTH) {
    text = `${text.slice(0, MAX_SNIPPET_LENGTH - 1)}…`;
  }
  return { snippet: text, preview: redact(kept[0]?.value ?? '') };
}
