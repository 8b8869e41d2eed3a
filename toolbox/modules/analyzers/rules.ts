// The rule table of the security_assessment pattern analyzer: ids, names, help text, levels,
// categories and CWEs. The detectors that implement each rule live in ./sinks and ./credentials.

export type RuleLevel = 'error' | 'warning' | 'note';
export type RuleCategory = 'injection' | 'eval' | 'deserialization' | 'crypto' | 'credentials';

export interface PatternRule {
  /** Kebab-case, language-agnostic, prefixed "ff-". */
  id: string;
  /** PascalCase. */
  name: string;
  shortDescription: string;
  /** Why it is dangerous and how to fix it, plain text. */
  help: string;
  /** The CWE page of the first entry of `cwe`. */
  helpUri: string;
  level: RuleLevel;
  category: RuleCategory;
  cwe: string[];
  precision: 'high' | 'medium' | 'low';
}

// ---------------------------------------------------------------------------------------------
// Rule table
// ---------------------------------------------------------------------------------------------

export type RuleId =
  | 'ff-command-injection'
  | 'ff-sql-injection'
  | 'ff-code-evaluation'
  | 'ff-unsafe-deserialization'
  | 'ff-weak-hash'
  | 'ff-weak-cipher'
  | 'ff-ecb-mode'
  | 'ff-autoescape-disabled'
  | 'ff-open-redirect'
  | 'ff-ssrf'
  | 'ff-nosql-injection'
  | 'ff-hardcoded-credential'
  | 'ff-aws-access-key'
  | 'ff-private-key';

export function cweUri(cwe: string): string {
  return `https://cwe.mitre.org/data/definitions/${cwe.replace(/^CWE-/, '')}.html`;
}

export function rule(r: Omit<PatternRule, 'helpUri'> & { id: RuleId }): PatternRule {
  return Object.freeze({ ...r, cwe: [...r.cwe], helpUri: cweUri(r.cwe[0] ?? '') });
}

export const PATTERN_RULES: readonly PatternRule[] = Object.freeze([
  rule({
    id: 'ff-command-injection',
    name: 'CommandInjection',
    shortDescription: 'An operating-system command built from non-constant data is run through a shell.',
    help:
      'When a command string that contains variable data is handed to a shell, characters such as ;, | and $() ' +
      'in that data let an attacker run commands of their choosing. Pass the program and its arguments as a list ' +
      'to an API that does not start a shell (for example subprocess.run([...]), execFile or exec.Command(name, ' +
      'args...)) and validate any value that selects what is run.',
    level: 'error',
    category: 'injection',
    cwe: ['CWE-78'],
    precision: 'high',
  }),
  rule({
    id: 'ff-sql-injection',
    name: 'SqlInjection',
    shortDescription: 'A SQL statement built by string concatenation, formatting or interpolation is executed.',
    help:
      'Splicing values into SQL text lets crafted input change the structure of the query and read or modify ' +
      'data it should not reach. Use parameterised queries or prepared statements with placeholders (?, %s, $1 ' +
      'or :name) and pass the values separately. Identifiers that cannot be parameterised, such as table or ' +
      'column names, must be checked against an allow-list.',
    level: 'error',
    category: 'injection',
    cwe: ['CWE-89'],
    precision: 'medium',
  }),
  rule({
    id: 'ff-code-evaluation',
    name: 'CodeEvaluation',
    shortDescription: 'Code is evaluated from a string that is built at run time.',
    help:
      'Evaluating strings as code (eval, exec, new Function, string timers, assert with a string, ' +
      'ScriptEngine.eval, instance_eval and similar) runs whatever an attacker can get into that string with the ' +
      'full privileges of the application. Replace it with explicit parsing (JSON, ast.literal_eval), a lookup ' +
      'table of allowed operations, or a function or block instead of a string.',
    level: 'error',
    category: 'eval',
    cwe: ['CWE-95'],
    precision: 'high',
  }),
  rule({
    id: 'ff-unsafe-deserialization',
    name: 'UnsafeDeserialization',
    shortDescription: 'Data is deserialised with a format that can instantiate arbitrary objects or run code.',
    help:
      'Native serialisation formats such as pickle, marshal, Java serialization, PHP unserialize, Ruby Marshal ' +
      'and full YAML loaders can construct arbitrary objects, and crafted input can use that to execute code ' +
      'while it is being loaded. Only use them on trusted data; for untrusted input use a data-only format such ' +
      'as JSON, a safe loader (yaml.safe_load, YAML.safe_load) or an allow-list of classes.',
    level: 'error',
    category: 'deserialization',
    cwe: ['CWE-502'],
    precision: 'high',
  }),
  rule({
    id: 'ff-weak-hash',
    name: 'WeakHashAlgorithm',
    shortDescription: 'A broken hash algorithm (MD5, MD4 or SHA-1) is used.',
    help:
      'MD5 and SHA-1 are open to practical collision attacks, so they must not protect integrity, signatures or ' +
      'certificates, and they are far too fast for storing passwords. Use SHA-256 or stronger for integrity and ' +
      'Argon2, scrypt or bcrypt for passwords. If the digest is only a non-security checksum, say so explicitly ' +
      '(for example hashlib.md5(data, usedforsecurity=False)).',
    level: 'warning',
    category: 'crypto',
    cwe: ['CWE-328', 'CWE-327'],
    precision: 'high',
  }),
  rule({
    id: 'ff-weak-cipher',
    name: 'WeakCipherAlgorithm',
    shortDescription: 'A broken or weak cipher (DES, 3DES, RC4, RC2 or Blowfish) is used.',
    help:
      'DES and RC2 keys can be brute-forced, RC4 has exploitable keystream biases, and 64-bit block ciphers such ' +
      'as 3DES and Blowfish are open to birthday attacks (Sweet32) when a key encrypts a lot of data. Use an ' +
      'authenticated modern cipher such as AES-GCM or ChaCha20-Poly1305 from a well-reviewed library.',
    level: 'warning',
    category: 'crypto',
    cwe: ['CWE-327'],
    precision: 'high',
  }),
  rule({
    id: 'ff-ecb-mode',
    name: 'EcbModeEncryption',
    shortDescription: 'A block cipher is used in ECB mode.',
    help:
      'Electronic Codebook mode encrypts identical plaintext blocks to identical ciphertext blocks, which leaks ' +
      'the structure of the data, and it gives no integrity protection. Use an authenticated mode such as ' +
      'AES-GCM with a unique nonce per message. Java\'s Cipher.getInstance("AES") silently selects ECB.',
    level: 'warning',
    category: 'crypto',
    cwe: ['CWE-327'],
    precision: 'high',
  }),
  rule({
    id: 'ff-hardcoded-credential',
    name: 'HardcodedCredential',
    shortDescription: 'A password, token, secret or API key is hard-coded as a string literal.',
    help:
      'Secrets committed to source code are readable by everyone with access to the repository and its history, ' +
      'and they cannot be rotated without a code change. Read the value at run time from the environment, a ' +
      'secrets manager or an uncommitted configuration file, and rotate the exposed secret.',
    level: 'error',
    category: 'credentials',
    cwe: ['CWE-798', 'CWE-259'],
    precision: 'medium',
  }),
  rule({
    id: 'ff-aws-access-key',
    name: 'AwsAccessKeyId',
    shortDescription: 'An AWS access key ID is embedded in the source.',
    help:
      'AWS access key IDs are normally committed together with their secret access key and give direct access ' +
      'to the account. Deactivate and rotate the key in IAM, then obtain credentials at run time from the ' +
      'default provider chain (environment, shared configuration or an instance or task role).',
    level: 'error',
    category: 'credentials',
    cwe: ['CWE-798'],
    precision: 'high',
  }),
  rule({
    id: 'ff-autoescape-disabled',
    name: 'TemplateAutoescapeDisabled',
    shortDescription: 'HTML autoescaping of a template engine is switched off.',
    help:
      'With autoescaping off, every value a template prints goes into the page as markup: a name or comment ' +
      'holding <script> runs in the browser of everyone who views it (stored or reflected XSS). Keep ' +
      'autoescaping on (it is the default of swig, nunjucks, jinja2 with select_autoescape, Twig and Handlebars) ' +
      'and mark only trusted, already-escaped fragments as safe, one by one.',
    level: 'error',
    category: 'injection',
    cwe: ['CWE-79', 'CWE-116'],
    precision: 'high',
  }),
  rule({
    id: 'ff-open-redirect',
    name: 'OpenRedirect',
    shortDescription: 'A redirect goes to a location taken from the request.',
    help:
      "A link to this site that redirects to whatever its query says lends the site's name to phishing pages and " +
      'can leak tokens in the URL to another host. Redirect only to paths of this site or to an allow-list of ' +
      'hosts, and check the parsed URL, not a prefix of the string.',
    level: 'warning',
    category: 'injection',
    cwe: ['CWE-601'],
    precision: 'medium',
  }),
  rule({
    id: 'ff-ssrf',
    name: 'ServerSideRequestForgery',
    shortDescription: 'The server requests a URL taken from the request.',
    help:
      'A URL chosen by the caller lets them make the server reach what only it can reach: internal services, the ' +
      "cloud provider's metadata endpoint (credentials), local files. Build the URL from a fixed base and " +
      'validated parts, or check the resolved host against an allow-list before connecting.',
    level: 'error',
    category: 'injection',
    cwe: ['CWE-918'],
    precision: 'medium',
  }),
  rule({
    id: 'ff-nosql-injection',
    name: 'NoSqlInjection',
    shortDescription: 'A NoSQL query is built from request data or a $where clause from a dynamic string.',
    help:
      'A $where clause is JavaScript the database runs: values spliced into it can run any code there. A query ' +
      'object taken straight from a request body can hold operators ({"$gt": ""} matches every user). Use query ' +
      'operators with typed values instead of $where, and build query objects field by field from validated ' +
      'values (or use a library that strips operators).',
    level: 'error',
    category: 'injection',
    cwe: ['CWE-943'],
    precision: 'medium',
  }),
  rule({
    id: 'ff-private-key',
    name: 'EmbeddedPrivateKey',
    shortDescription: 'A PEM-encoded private key is embedded in the source.',
    help:
      'A private key in the source tree can be copied by anyone who can read the repository, which compromises ' +
      'everything it signs or decrypts. Remove it, revoke and reissue the key pair, and load keys at run time ' +
      'from a secrets store or a file kept outside the repository.',
    level: 'error',
    category: 'credentials',
    cwe: ['CWE-321'],
    precision: 'high',
  }),
]);
