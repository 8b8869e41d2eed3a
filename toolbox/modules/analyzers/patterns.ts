// Language-aware security pattern rules for the security_assessment workflow.
//
// Pure code (no I/O, no Node built-ins): callers pass source text and get findings back. A small
// per-language lexer first blanks comments, so commented-out code never matches, and records string
// literals, so rules can tell `os.system("ls")` from `os.system(cmd)` and read credential values.
// Rules then run line by line on that comment-free text.

import { CLOSERS, CODE, COMMENT, lex, QUOTES, STR, type Language } from './lexer';

export { languageOf, type Language } from './lexer';
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

export interface PatternFinding {
  ruleId: string;
  /** 1-based. */
  line: number;
  /** 1-based start column of the match. */
  column: number;
  /** 1-based, exclusive. */
  endColumn: number;
  message: string;
  /** The trimmed source line (at most 200 characters) with secret values replaced by "***". */
  snippet: string;
}

export interface ScanOptions {
  /** Only run these rule ids (unknown ids are ignored). All rules when omitted. */
  ruleIds?: readonly string[];
}

/** Lines longer than this are minified or generated code: skipped. */
export const MAX_LINE_LENGTH = 10_000;
const MAX_SNIPPET_LENGTH = 200;

// ---------------------------------------------------------------------------------------------
// Rule table
// ---------------------------------------------------------------------------------------------

type RuleId =
  | 'ff-command-injection'
  | 'ff-sql-injection'
  | 'ff-code-evaluation'
  | 'ff-unsafe-deserialization'
  | 'ff-weak-hash'
  | 'ff-weak-cipher'
  | 'ff-ecb-mode'
  | 'ff-hardcoded-credential'
  | 'ff-aws-access-key'
  | 'ff-private-key';

function cweUri(cwe: string): string {
  return `https://cwe.mitre.org/data/definitions/${cwe.replace(/^CWE-/, '')}.html`;
}

function rule(r: Omit<PatternRule, 'helpUri'> & { id: RuleId }): PatternRule {
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


// ---------------------------------------------------------------------------------------------
// Per-line view of a lexed file
// ---------------------------------------------------------------------------------------------

interface StrLit {
  /** Column of the opening delimiter (0-based, including any prefix). */
  col: number;
  /** Line and column just past the literal (for heredocs: past the opening token). */
  endLine: number;
  endCol: number;
  /** Column of the first content character; only meaningful when !multiline. */
  valueCol: number;
  value: string;
  quote: string;
  interpolated: boolean;
  multiline: boolean;
}

interface Line {
  index: number;
  /** Offset of the line in the source. */
  start: number;
  /** The source line without its line break. */
  raw: string;
  /** Comments blanked with spaces. */
  full: string;
  /** Comments and string contents blanked with spaces (delimiters kept). */
  code: string;
  kinds: Uint8Array;
  strings: StrLit[];
  byCol: Map<number, StrLit>;
  skip: boolean;
}

interface Secret {
  start: number;
  end: number;
  replacement: string;
  value: string;
}

interface Ctx {
  lang: Language;
  lines: Line[];
  /** The whole comment-free source, for file-level conditions such as imports. */
  text: string;
  memo: Map<string, unknown>;
}

function render(src: string, kinds: Uint8Array, hideStrings: boolean): string {
  const parts: string[] = [];
  let i = 0;
  while (i < src.length) {
    const k = kinds[i] ?? CODE;
    let j = i + 1;
    while (j < src.length && kinds[j] === k) {
      j++;
    }
    const chunk = src.slice(i, j);
    parts.push(k === COMMENT || (hideStrings && k === STR) ? chunk.replace(/[^\r\n]/g, ' ') : chunk);
    i = j;
  }
  return parts.join('');
}

function buildContext(src: string, lang: Language): Ctx {
  const { kinds, strings } = lex(src, lang);
  const full = render(src, kinds, false);
  const code = render(src, kinds, true);
  const lines: Line[] = [];
  let pos = 0;
  for (;;) {
    let eol = src.indexOf('\n', pos);
    const last = eol < 0;
    if (last) {
      eol = src.length;
    }
    const end = eol > pos && src.charAt(eol - 1) === '\r' ? eol - 1 : eol;
    lines.push({
      index: lines.length,
      start: pos,
      raw: src.slice(pos, end),
      full: full.slice(pos, end),
      code: code.slice(pos, end),
      kinds: kinds.subarray(pos, end),
      strings: [],
      byCol: new Map(),
      skip: end - pos > MAX_LINE_LENGTH,
    });
    if (last) {
      break;
    }
    pos = eol + 1;
  }
  const lineOf = (offset: number): number => {
    let lo = 0;
    let hi = lines.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((lines[mid]?.start ?? 0) <= offset) {
        lo = mid;
      } else {
        hi = mid - 1;
      }
    }
    return lo;
  };
  strings.sort((a, b) => a.start - b.start);
  for (const s of strings) {
    const li = lineOf(s.start);
    const line = lines[li];
    if (!line) {
      continue;
    }
    const endLine = lineOf(s.end);
    const value = src.slice(s.contentStart, s.contentEnd);
    const lit: StrLit = {
      col: s.start - line.start,
      endLine,
      endCol: s.end - (lines[endLine]?.start ?? 0),
      valueCol: s.contentStart - line.start,
      value,
      quote: s.quote,
      interpolated: s.interpolated,
      multiline: endLine !== li || value.includes('\n') || s.contentStart > s.end,
    };
    line.strings.push(lit);
    line.byCol.set(lit.col, lit);
  }
  return { lang, lines, text: full, memo: new Map() };
}

function memo<T>(ctx: Ctx, key: string, compute: () => T): T {
  if (!ctx.memo.has(key)) {
    ctx.memo.set(key, compute());
  }
  return ctx.memo.get(key) as T;
}

function skipWs(s: string, i: number): number {
  let j = i;
  while (j < s.length && (s.charAt(j) === ' ' || s.charAt(j) === '\t')) {
    j++;
  }
  return j;
}

/** The next line that has code on it (within a few lines), for arguments continued on a new line. */
function nextCodeLine(ctx: Ctx, index: number): Line | undefined {
  for (let k = index + 1; k < ctx.lines.length && k <= index + 3; k++) {
    const line = ctx.lines[k];
    if (line && !line.skip && line.code.trim() !== '') {
      return line;
    }
  }
  return undefined;
}

interface Segment {
  line: Line;
  from: number;
  to: number;
}

/**
 * The argument list of a call whose arguments start at (index, col): up to the matching `)` when
 * `paren`, else to the end of the line. Follows at most 10 lines.
 */
function callRegion(ctx: Ctx, index: number, col: number, paren = true): Segment[] {
  const segments: Segment[] = [];
  let depth = 0;
  let from = col;
  for (let li = index; li < ctx.lines.length && li < index + 10; li++) {
    const line = ctx.lines[li];
    if (!line || line.skip) {
      break;
    }
    const code = line.code;
    for (let j = from; j < code.length; j++) {
      const ch = code.charAt(j);
      if (ch === '(' || ch === '[' || ch === '{') {
        depth++;
      } else if (ch === ')' || ch === ']' || ch === '}') {
        if (depth === 0) {
          segments.push({ line, from, to: j });
          return segments;
        }
        depth--;
      }
    }
    segments.push({ line, from, to: code.length });
    if (!paren) {
      break;
    }
    from = 0;
  }
  return segments;
}

function callText(ctx: Ctx, index: number, col: number, view: 'code' | 'full' = 'code'): string {
  return callRegion(ctx, index, col)
    .map((s) => s.line[view].slice(s.from, s.to))
    .join('\n');
}

type How = 'concatenation' | 'formatting' | 'interpolation';

const FORMAT_CALL_BEFORE = /(?:\bSprintf|\bString\s*\.\s*format|\bsn?printf|\bformat)\s*\((?:[^()]|\([^()]*\))*$/;
const FORMAT_VERB = /%[-+ #0-9.]*[sdvqifxXu]/;

/** How a literal is turned into a dynamic string, or undefined when it stays constant. */
function dynamicHow(ctx: Ctx, startLine: Line, lit: StrLit): How | undefined {
  if (lit.interpolated) {
    return 'interpolation';
  }
  const lang = ctx.lang;
  let line = ctx.lines[lit.endLine] ?? startLine;
  let j = lit.endCol;
  for (let guard = 0; guard < 64; guard++) {
    const code = line.code;
    j = skipWs(code, j);
    const rest = code.slice(j, j + 16);
    if ((lang === 'python' || lang === 'ruby') && /^%(?!=)/.test(rest)) {
      return 'formatting';
    }
    if (/^\.\s*(?:format|formatted)\s*\(/.test(rest)) {
      return 'formatting';
    }
    const op = lang === 'php' ? /^\.(?![=\d.])/.exec(rest) : /^(?:\+(?![+=])|<<(?!=))/.exec(rest);
    if (!op || (op[0] === '<<' && lang !== 'ruby')) {
      break;
    }
    let k = skipWs(code, j + op[0].length);
    if (k >= code.length) {
      const next = nextCodeLine(ctx, line.index);
      if (!next) {
        return 'concatenation';
      }
      line = next;
      k = skipWs(next.code, 0);
    }
    const other = line.byCol.get(k);
    if (!other) {
      return 'concatenation';
    }
    if (other.interpolated) {
      return 'interpolation';
    }
    line = ctx.lines[other.endLine] ?? line;
    j = other.endCol;
  }
  const after = skipWs(line.code, j);
  if (
    line.code.charAt(after) === ',' &&
    FORMAT_VERB.test(lit.value) &&
    FORMAT_CALL_BEFORE.test(startLine.code.slice(Math.max(0, lit.col - 200), lit.col))
  ) {
    return 'formatting';
  }
  return undefined;
}

type Arg =
  | { kind: 'none' }
  | { kind: 'const'; lit: StrLit }
  | { kind: 'string'; lit: StrLit; how: How }
  | { kind: 'list' }
  | { kind: 'expr'; text: string };

/** Classifies the first argument of a call, which starts at (line, col). */
function argAt(ctx: Ctx, start: Line, col: number): Arg {
  let line = start;
  let i = skipWs(line.code, col);
  if (i >= line.code.length) {
    const next = nextCodeLine(ctx, line.index);
    if (!next) {
      return { kind: 'none' };
    }
    line = next;
    i = skipWs(next.code, 0);
  }
  const rest = line.code.slice(i, i + 24);
  if (rest === '' || /^[),;]/.test(rest)) {
    return { kind: 'none' };
  }
  if (ctx.lang === 'ruby' && /^(?:do\b|\{|&|if\b|unless\b)/.test(rest)) {
    return { kind: 'none' }; // a block, not a string
  }
  if (/^(?:\[|new\s+String\s*\[\s*\]|array\s*\(|%[wi][([{<])/.test(rest)) {
    return { kind: 'list' };
  }
  const lit = line.byCol.get(i);
  if (lit) {
    const how = dynamicHow(ctx, line, lit);
    return how ? { kind: 'string', lit, how } : { kind: 'const', lit };
  }
  return { kind: 'expr', text: line.code.slice(i, i + 80) };
}

function isDynamic(a: Arg): boolean {
  return a.kind === 'string' || a.kind === 'expr';
}

/** True when every argument of the call starting at (line, col) is a constant string literal. */
function allArgsConstant(ctx: Ctx, line: Line, col: number): boolean {
  let i = col;
  for (let guard = 0; guard < 32; guard++) {
    const a = argAt(ctx, line, i);
    if (a.kind === 'none') {
      return true;
    }
    if (a.kind !== 'const' || a.lit.endLine !== line.index) {
      return false;
    }
    const j = skipWs(line.code, a.lit.endCol);
    const ch = line.code.charAt(j);
    if (ch !== ',') {
      return ch === ')';
    }
    i = j + 1;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Detectors
// ---------------------------------------------------------------------------------------------

type Emit = (line: Line, start: number, end: number, message: string) => void;

interface Detector {
  rule: RuleId;
  langs: readonly Language[];
  run(ctx: Ctx, emit: Emit): void;
}

interface PatternSpec {
  /**
   * Run on each comment-free line; the `g` and `d` flags are added. A match must start in code or on a
   * string delimiter, never inside a literal. A `hit` group sets the reported span.
   */
  re: RegExp;
  message: string | ((m: RegExpExecArray) => string);
  /** Condition on the first argument, which starts right after the match. */
  arg?: 'dynamic' | 'string';
  when?: (ctx: Ctx) => boolean;
  accept?: (m: RegExpExecArray, line: Line, ctx: Ctx) => boolean;
}

const PY: readonly Language[] = ['python'];
const JS: readonly Language[] = ['javascript', 'typescript'];
const GO: readonly Language[] = ['go'];
const JAVA: readonly Language[] = ['java'];
const PHP: readonly Language[] = ['php'];
const RUBY: readonly Language[] = ['ruby'];
const C: readonly Language[] = ['c'];
const ALL: readonly Language[] = ['python', 'javascript', 'typescript', 'go', 'java', 'php', 'ruby', 'c'];

// Declarations such as `def eval(` or `function exec(` are not calls.
const DEFINITION_BEFORE = /\b(?:def|function|func)\s+$/;

function group(m: RegExpExecArray, name: string): string {
  return (m.groups?.[name] ?? '').replace(/\s+/g, '');
}

function spanOf(m: RegExpExecArray): [number, number] {
  const hit = m.indices?.groups?.['hit'];
  if (hit) {
    return hit;
  }
  return [m.index, m.index + m[0].replace(/[\s(]+$/, '').length];
}

function hasText(re: RegExp): (ctx: Ctx) => boolean {
  return (ctx) => re.test(ctx.text);
}

function pattern(rule: RuleId, langs: readonly Language[], spec: PatternSpec): Detector {
  const flags = [...new Set(`${spec.re.flags}gd`)].join('');
  const re = new RegExp(spec.re.source, flags);
  return {
    rule,
    langs,
    run(ctx, emit) {
      if (spec.when && !spec.when(ctx)) {
        return;
      }
      for (const line of ctx.lines) {
        if (line.skip || line.code.trim() === '') {
          continue;
        }
        re.lastIndex = 0;
        let m: RegExpExecArray | null;
        while ((m = re.exec(line.full)) !== null) {
          const at = m.index;
          re.lastIndex = at + 1; // retry overlapping positions after a rejected match
          const kind = line.kinds[at];
          if (kind === COMMENT || kind === STR) {
            continue;
          }
          if (DEFINITION_BEFORE.test(line.code.slice(Math.max(0, at - 24), at))) {
            continue;
          }
          if (spec.arg) {
            const a = argAt(ctx, line, at + m[0].length);
            if (spec.arg === 'dynamic' ? !isDynamic(a) : a.kind !== 'string' && a.kind !== 'const') {
              continue;
            }
          }
          if (spec.accept && !spec.accept(m, line, ctx)) {
            continue;
          }
          const [s, e] = spanOf(m);
          emit(line, s, e, typeof spec.message === 'string' ? spec.message : spec.message(m));
          break;
        }
      }
    },
  };
}

/** Reports string literals themselves (backtick commands and the like). */
function literal(
  rule: RuleId,
  langs: readonly Language[],
  accept: (lit: StrLit) => boolean,
  message: (lit: StrLit) => string,
): Detector {
  return {
    rule,
    langs,
    run(ctx, emit) {
      for (const line of ctx.lines) {
        if (line.skip) {
          continue;
        }
        const lit = line.strings.find(accept);
        if (lit) {
          const end = lit.endLine === line.index ? lit.endCol : line.raw.length;
          emit(line, lit.col, lit.quote.startsWith('<<') ? lit.col + lit.quote.length : end, message(lit));
        }
      }
    },
  };
}

// --- command injection -------------------------------------------------------------------------

const CHILD_PROCESS = /\b(?:require\s*\(\s*|from\s+|import\s*\(\s*)(["'])(?:node:)?child_process\1/;

function childProcessBindings(ctx: Ctx): Set<string> {
  return memo(ctx, 'child_process', () => {
    const names = new Set(['child_process']);
    const res = [
      /(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*=\s*require\s*\(\s*["'](?:node:)?child_process["']\s*\)/g,
      /import\s+(?:\*\s+as\s+)?([A-Za-z_$][\w$]*)\s+from\s+["'](?:node:)?child_process["']/g,
      /import\s+([A-Za-z_$][\w$]*)\s*=\s*require\s*\(\s*["'](?:node:)?child_process["']\s*\)/g,
    ];
    for (const re of res) {
      for (const m of ctx.text.matchAll(re)) {
        if (m[1]) {
          names.add(m[1]);
        }
      }
    }
    return names;
  });
}

function javaRuntimeVars(ctx: Ctx): Set<string> {
  return memo(ctx, 'runtime', () => {
    const names = new Set<string>();
    for (const m of ctx.text.matchAll(/\bRuntime\s+([A-Za-z_$][\w$]*)\s*=\s*Runtime\s*\.\s*getRuntime\s*\(/g)) {
      if (m[1]) {
        names.add(m[1]);
      }
    }
    return names;
  });
}

/** Ruby's system/exec/spawn only use a shell for a single command string (not for program + args). */
function rubySingleCommand(m: RegExpExecArray, line: Line, ctx: Ctx): boolean {
  const argStart = m.index + m[0].length;
  if (!isDynamic(argAt(ctx, line, argStart))) {
    return false;
  }
  const paren = m[0].trimEnd().endsWith('(');
  let depth = 0;
  for (const seg of callRegion(ctx, line.index, argStart, paren)) {
    const code = seg.line.code;
    for (let j = seg.from; j < seg.to; j++) {
      const ch = code.charAt(j);
      if ('([{'.includes(ch)) {
        depth++;
      } else if (')]}'.includes(ch)) {
        depth--;
      } else if (ch === ',' && depth === 0) {
        // Trailing keyword options (exception: true) still leave a single command string.
        return /^\s*\w+:\s/.test(code.slice(j + 1));
      }
    }
  }
  return true;
}

const COMMAND_INJECTION: Detector[] = [
  pattern('ff-command-injection', PY, {
    re: /(?<![\w.])(?<hit>os\s*\.\s*(?:system|popen[234]?)|commands\s*\.\s*get(?:status)?output|subprocess\s*\.\s*get(?:status)?output)\s*\(/,
    arg: 'dynamic',
    message: (m) => `${group(m, 'hit')}() runs a command built from non-constant data through a shell`,
  }),
  pattern('ff-command-injection', PY, {
    re: /(?<![\w.])(?<hit>(?:subprocess\s*\.\s*)?(?:call|run|Popen|check_call|check_output))\s*\(/,
    when: hasText(/\bsubprocess\b/),
    arg: 'dynamic',
    accept: (m, line, ctx) => /\bshell\s*=\s*True\b/.test(callText(ctx, line.index, m.index + m[0].length)),
    message: (m) => `${group(m, 'hit')}() with shell=True runs a command built from non-constant data through a shell`,
  }),
  pattern('ff-command-injection', ALL, {
    // ["sh", "-c", cmd] / exec.Command("bash", "-c", cmd) / ProcessBuilder("sh", "-c", cmd) / execl(...)
    re: /(?<hit>(["'])(?:\/usr)?(?:\/bin\/)?(?:ba|z|da|k)?sh\2)\s*,\s*(?:\[\s*)?(["'])-c\3\s*,\s*/,
    arg: 'dynamic',
    message: (m) => `${group(m, 'hit')} -c runs a command string built from non-constant data through a shell`,
  }),
  pattern('ff-command-injection', JS, {
    re: /(?<![\w$.])(?<hit>exec|execSync)\s*\(/,
    when: hasText(CHILD_PROCESS),
    arg: 'dynamic',
    message: (m) => `child_process.${group(m, 'hit')}() runs a command built from non-constant data through a shell`,
  }),
  pattern('ff-command-injection', JS, {
    re: /(?<![\w$.])(?<obj>[A-Za-z_$][\w$]*)\s*\.\s*(?<fn>exec|execSync)\s*\(/,
    when: hasText(CHILD_PROCESS),
    arg: 'dynamic',
    accept: (m, _line, ctx) => childProcessBindings(ctx).has(group(m, 'obj')),
    message: (m) => `child_process.${group(m, 'fn')}() runs a command built from non-constant data through a shell`,
  }),
  pattern('ff-command-injection', JS, {
    re: /(?<![\w$.])(?:[A-Za-z_$][\w$]*\s*\.\s*)?(?<fn>spawn|spawnSync|execFile|execFileSync)\s*\(/,
    when: hasText(CHILD_PROCESS),
    arg: 'dynamic',
    accept: (m, line, ctx) => /\bshell\s*:\s*true\b/.test(callText(ctx, line.index, m.index + m[0].length)),
    message: (m) => `child_process.${group(m, 'fn')}() with shell: true runs a non-constant command through a shell`,
  }),
  pattern('ff-command-injection', JAVA, {
    re: /(?<hit>\bRuntime\s*\.\s*getRuntime\s*\(\s*\)\s*\.\s*exec)\s*\(/,
    arg: 'dynamic',
    message: 'Runtime.getRuntime().exec() runs a command built from non-constant data',
  }),
  pattern('ff-command-injection', JAVA, {
    re: /(?<![\w$.])(?<obj>[A-Za-z_$][\w$]*)\s*\.\s*exec\s*\(/,
    arg: 'dynamic',
    accept: (m, _line, ctx) => javaRuntimeVars(ctx).has(group(m, 'obj')),
    message: 'Runtime.exec() runs a command built from non-constant data',
  }),
  pattern('ff-command-injection', PHP, {
    re: /(?<![\w$>:])(?<hit>system|exec|shell_exec|passthru|popen|proc_open|pcntl_exec)\s*\(/,
    arg: 'dynamic',
    message: (m) => `${group(m, 'hit')}() runs a command built from non-constant data through a shell`,
  }),
  literal(
    'ff-command-injection',
    PHP,
    (lit) => lit.quote === '`' && lit.interpolated,
    () => 'The backtick operator runs a shell command that interpolates variables',
  ),
  pattern('ff-command-injection', RUBY, {
    re: /(?<![\w.:$@])(?<hit>(?:Kernel\s*\.\s*)?(?:system|exec|spawn)|IO\s*\.\s*popen|Open3\s*\.\s*(?:capture2e?|capture3|popen2e?|popen3|pipeline(?:_r|_w|_rw)?))(?:\s*\(|[ \t]+(?=["'%\w:@$<]))/,
    accept: rubySingleCommand,
    message: (m) => `${group(m, 'hit')} runs a single command string built from non-constant data through a shell`,
  }),
  literal(
    'ff-command-injection',
    RUBY,
    (lit) => (lit.quote === '`' || lit.quote.startsWith('%x')) && lit.interpolated,
    (lit) => `${lit.quote === '`' ? 'Backticks run' : '%x() runs'} a shell command built with #{} interpolation`,
  ),
  pattern('ff-command-injection', C, {
    re: /(?<![\w.>$])(?<hit>system|popen|_popen|_wsystem|_wpopen)\s*\(/,
    arg: 'dynamic',
    accept: (m, line) => !/^\s*(?:const|char|void|wchar_t)\b/.test(line.code.slice(m.index + m[0].length)),
    message: (m) => `${group(m, 'hit')}() runs a command built from non-constant data through the shell`,
  }),
];

// --- SQL injection ------------------------------------------------------------------------------

const SQL_TEXT =
  /^\s*(?:select\b[\s\S]*\bfrom\b|select\s+\*|insert\s+into\b|update\s+\S+\s+set\b|delete\s+from\b|replace\s+into\b|merge\s+into\b|(?:create|drop|alter|truncate)\s+table\b)/i;

const SQL_SINKS: Readonly<Partial<Record<Language, RegExp>>> = {
  python: /(?:\.|->)\s*(?<hit>execute|executemany|executescript|mogrify|raw|read_sql|read_sql_query)\s*\(/,
  javascript:
    /\.\s*(?<hit>query|execute|exec|run|all|get|each|prepare|raw|unsafe|\$queryRawUnsafe|\$executeRawUnsafe)\s*\(/,
  typescript:
    /\.\s*(?<hit>query|execute|exec|run|all|get|each|prepare|raw|unsafe|\$queryRawUnsafe|\$executeRawUnsafe)\s*\(/,
  go: /\.\s*(?<hit>Query|QueryRow|QueryContext|QueryRowContext|Exec|ExecContext|Prepare|PrepareContext|Raw|Select|Get|MustExec|Queryx|QueryRowx)\s*\(/,
  java: /\.\s*(?<hit>executeQuery|executeUpdate|executeLargeUpdate|execute|addBatch|prepareStatement|prepareCall|createQuery|createNativeQuery|createSQLQuery|query|queryForObject|queryForList|queryForMap|queryForRowSet|update|batchUpdate)\s*\(/,
  php: /(?:(?:->|::)\s*(?<m>query|exec|prepare|execute|multi_query|real_query|unprepared|select|statement|raw|whereRaw|selectRaw|orderByRaw|havingRaw)|(?<![\w$>:])(?<f>mysql_query|mysqli_query|mysqli_multi_query|mysqli_real_query|pg_query|pg_send_query|sqlite_query|odbc_exec|db2_exec|mssql_query))\s*\(/,
  ruby: /\.\s*(?<hit>execute|exec|exec_query|exec_params|query|select_all|select_one|select_value|select_values|select_rows|find_by_sql|count_by_sql)(?:\s*\(|[ \t]+(?=["'%<\w@$]))/,
  c: /(?<![\w.>])(?<hit>sqlite3_exec|sqlite3_prepare(?:_v2|_v3|16(?:_v2|_v3)?)?|mysql_query|mysql_real_query|PQexec|PQexecParams|PQsendQuery|SQLExecDirect)\s*\(/,
};

const ASSIGNMENT =
  /(?<![\w$.>])(\$?[A-Za-z_][\w]*)(?:\[\w*\])?\s*(?::\s*[A-Za-z_][\w.<>]*\s*)?(:=|\+=|\.=|<<|=)(?![=~>])\s*/g;
const C_STRING_WRITE = /(?<![\w.>])(sn?printf|strn?cpy|strn?cat)\s*\(\s*([A-Za-z_]\w*)\s*,/g;
const RHS_LEAD = /^\s*(?:[\w.]+\s*\(\s*(?:[\w&]+\s*,\s*)*|\(\s*)?$/;

interface Taint {
  line: number;
  how: How;
}

function calleeName(line: Line, at: number, name: string): string {
  const before = /([A-Za-z_$][\w$]*)\s*(\.|->|::)\s*$/.exec(line.code.slice(Math.max(0, at - 64), at));
  return before ? `${before[1] ?? ''}${before[2] ?? ''}${name}` : name;
}

function sqlDetector(lang: Language, sink: RegExp): Detector {
  const re = new RegExp(sink.source, 'gd');
  return {
    rule: 'ff-sql-injection',
    langs: [lang],
    run(ctx, emit) {
      const tainted = new Map<string, Taint>();
      const sqlVars = new Set<string>();
      for (const line of ctx.lines) {
        if (line.skip || line.code.trim() === '') {
          continue;
        }
        checkSinks(ctx, line, re, tainted, emit);
        trackAssignments(ctx, line, tainted, sqlVars);
      }
    },
  };
}

function checkSinks(ctx: Ctx, line: Line, re: RegExp, tainted: Map<string, Taint>, emit: Emit): void {
  re.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(line.full)) !== null) {
    re.lastIndex = m.index + 1;
    const kind = line.kinds[m.index];
    if (kind === STR || kind === COMMENT) {
      continue;
    }
    const name = m.groups?.['hit'] ?? m.groups?.['m'] ?? m.groups?.['f'] ?? '';
    const span = m.indices?.groups?.['hit'] ?? m.indices?.groups?.['m'] ?? m.indices?.groups?.['f'];
    const [s, e] = span ?? [m.index, m.index + m[0].length];
    const argStart = m.index + m[0].length;
    const paren = m[0].trimEnd().endsWith('(');
    const callee = `${calleeName(line, s, name)}()`;
    const region = callRegion(ctx, line.index, argStart, paren);
    let message: string | undefined;
    for (const seg of region) {
      for (const lit of seg.line.strings) {
        if (lit.col < seg.from || lit.col >= seg.to || !SQL_TEXT.test(lit.value)) {
          continue;
        }
        const how = dynamicHow(ctx, seg.line, lit);
        if (how) {
          message = `${callee} executes SQL built by string ${how}`;
          break;
        }
      }
      if (message) {
        break;
      }
    }
    if (!message && tainted.size > 0) {
      for (const seg of region) {
        for (const id of seg.line.code.slice(seg.from, seg.to).matchAll(/\$?[A-Za-z_]\w*/g)) {
          const t = tainted.get(id[0]);
          if (t) {
            message = `${callee} executes SQL from ${id[0]}, which is built by string ${t.how} on line ${t.line + 1}`;
            break;
          }
        }
        if (message) {
          break;
        }
      }
    }
    if (message) {
      emit(line, s, e, message);
      return;
    }
  }
}

/** Follows `q = "SELECT ..." + x`, `q += x`, `sprintf(q, "SELECT ... %s", x)` to later sinks. */
function trackAssignments(ctx: Ctx, line: Line, tainted: Map<string, Taint>, sqlVars: Set<string>): void {
  const record = (name: string, lit: StrLit | undefined, how: How | undefined): void => {
    if (lit && SQL_TEXT.test(lit.value)) {
      if (how) {
        tainted.set(name, { line: line.index, how });
      } else {
        sqlVars.add(name);
        tainted.delete(name);
      }
    } else {
      tainted.delete(name);
      sqlVars.delete(name);
    }
  };
  const firstLitFrom = (col: number): StrLit | undefined => {
    const lit = line.strings.find((l) => l.col >= col);
    return lit && RHS_LEAD.test(line.code.slice(col, lit.col)) ? lit : undefined;
  };
  for (const m of line.code.matchAll(ASSIGNMENT)) {
    const name = m[1] ?? '';
    const op = m[2] ?? '=';
    const rhs = (m.index ?? 0) + m[0].length;
    if ((op === '.=' && ctx.lang !== 'php') || (op === '<<' && ctx.lang !== 'ruby')) {
      continue;
    }
    if (op === '+=' || op === '.=' || op === '<<') {
      if (sqlVars.has(name) || tainted.has(name)) {
        const a = argAt(ctx, line, rhs);
        if (isDynamic(a)) {
          tainted.set(name, { line: line.index, how: a.kind === 'string' ? a.how : 'concatenation' });
        }
      }
      continue;
    }
    // q = q + " AND x = " + y
    const self = new RegExp(`^\\s*${name.replace(/\$/g, '\\$')}\\s*(?:\\+|\\.(?!\\w))`).exec(line.code.slice(rhs));
    if (self && (sqlVars.has(name) || tainted.has(name))) {
      const a = argAt(ctx, line, rhs + self[0].length);
      if (isDynamic(a)) {
        tainted.set(name, { line: line.index, how: a.kind === 'string' ? a.how : 'concatenation' });
      }
      continue;
    }
    const lit = firstLitFrom(rhs);
    record(name, lit, lit ? dynamicHow(ctx, line, lit) : undefined);
  }
  if (ctx.lang === 'c') {
    for (const m of line.code.matchAll(C_STRING_WRITE)) {
      const fn = m[1] ?? '';
      const name = m[2] ?? '';
      const argStart = (m.index ?? 0) + m[0].length;
      if (fn.endsWith('cat')) {
        if ((sqlVars.has(name) || tainted.has(name)) && isDynamic(argAt(ctx, line, argStart))) {
          tainted.set(name, { line: line.index, how: 'concatenation' });
        }
        continue;
      }
      const lit = line.strings.find((l) => l.col >= argStart);
      record(name, lit, lit && fn.includes('printf') ? dynamicHow(ctx, line, lit) : undefined);
    }
  }
}

const SQL_INJECTION: Detector[] = [
  ...Object.entries(SQL_SINKS).map(([lang, re]) => sqlDetector(lang as Language, re)),
  pattern('ff-sql-injection', RUBY, {
    // ActiveRecord query fragments: where("name = '#{name}'")
    re: /\.\s*(?<hit>where|order|reorder|group|having|joins|pluck|from|select|find_by|exists\?|delete_all|update_all|calculate|lock)(?:\s*\(|[ \t]+(?=["'%<]))/,
    accept: (m, line, ctx) => argAt(ctx, line, m.index + m[0].length).kind === 'string',
    message: (m) => `ActiveRecord ${group(m, 'hit')}() receives an SQL fragment built from non-constant data`,
  }),
];

// --- code evaluation ---------------------------------------------------------------------------

function hasEvalModifier(regex: string): boolean {
  const pattern = regex.trimStart();
  const delimiter = pattern.charAt(0);
  if (delimiter === '' || /[\w\s\\]/.test(delimiter)) {
    return false;
  }
  const end = pattern.lastIndexOf(CLOSERS[delimiter] ?? delimiter);
  if (end <= 0) {
    return false;
  }
  const modifiers = pattern.slice(end + 1);
  return /^[a-zA-Z]*$/.test(modifiers) && modifiers.includes('e');
}

const CODE_EVALUATION: Detector[] = [
  pattern('ff-code-evaluation', PY, {
    re: /(?<![\w.])(?<hit>eval|exec)\s*\(/,
    arg: 'dynamic',
    message: (m) =>
      group(m, 'hit') === 'eval'
        ? 'eval() evaluates a Python expression built from non-constant data'
        : 'exec() runs Python code built from non-constant data',
  }),
  pattern('ff-code-evaluation', JS, {
    re: /(?<![\w$.])(?<hit>eval)\s*\(/,
    arg: 'dynamic',
    message: 'eval() runs JavaScript built from non-constant data',
  }),
  pattern('ff-code-evaluation', JS, {
    re: /\bnew\s+Function\s*\(/,
    accept: (m, line, ctx) => !allArgsConstant(ctx, line, m.index + m[0].length),
    message: 'new Function() compiles JavaScript from strings built at run time',
  }),
  pattern('ff-code-evaluation', JS, {
    re: /(?<![\w$.])(?:(?:window|globalThis|global)\s*\.\s*)?(?<hit>setTimeout|setInterval|setImmediate)\s*\(/,
    arg: 'string',
    message: (m) => `${group(m, 'hit')}() with a string argument evaluates the string as code`,
  }),
  pattern('ff-code-evaluation', JS, {
    re: /\bvm\s*\.\s*(?<hit>runInThisContext|runInNewContext|runInContext|compileFunction)\s*\(|\bnew\s+vm\s*\.\s*Script\s*\(/,
    arg: 'dynamic',
    message: 'The vm module compiles and runs JavaScript built from non-constant data (vm is no security boundary)',
  }),
  pattern('ff-code-evaluation', JAVA, {
    re: /\.\s*(?<hit>eval)\s*\(/,
    when: hasText(/\bScriptEngine\b/),
    arg: 'dynamic',
    message: 'ScriptEngine.eval() runs script code built from non-constant data',
  }),
  pattern('ff-code-evaluation', PHP, {
    re: /(?<![\w$>:])(?<hit>eval)\s*\(/,
    arg: 'dynamic',
    message: 'eval() runs PHP code built from non-constant data',
  }),
  pattern('ff-code-evaluation', PHP, {
    re: /(?<![\w$>:])(?<hit>assert)\s*\(/,
    accept: (m, line, ctx) => {
      const a = argAt(ctx, line, m.index + m[0].length);
      return (
        a.kind === 'string' ||
        a.kind === 'const' ||
        (a.kind === 'expr' && /^\$_(?:GET|POST|REQUEST|COOKIE)\b/.test(a.text))
      );
    },
    message: 'assert() with a string argument evaluates the string as PHP code',
  }),
  pattern('ff-code-evaluation', PHP, {
    re: /(?<![\w$>:])(?<hit>create_function)\s*\(/,
    message: 'create_function() compiles PHP code from strings with eval()',
  }),
  pattern('ff-code-evaluation', PHP, {
    re: /(?<![\w$>:])(?<hit>preg_replace)\s*\(/,
    accept: (m, line, ctx) => {
      const a = argAt(ctx, line, m.index + m[0].length);
      return (a.kind === 'const' || a.kind === 'string') && hasEvalModifier(a.lit.value);
    },
    message: 'preg_replace() with the /e modifier evaluates the replacement as PHP code',
  }),
  pattern('ff-code-evaluation', RUBY, {
    re: /(?<![\w.:$@])(?:Kernel\s*\.\s*)?(?<hit>eval)(?:\s*\(|[ \t]+(?=["'%\w@$:<]))/,
    arg: 'dynamic',
    message: 'eval() runs Ruby code built from non-constant data',
  }),
  pattern('ff-code-evaluation', RUBY, {
    re: /\.\s*(?<hit>instance_eval|class_eval|module_eval)(?:\s*\(|[ \t]+(?=["'%\w@$:<]))/,
    arg: 'dynamic',
    message: (m) => `${group(m, 'hit')} with a string runs Ruby code built from non-constant data`,
  }),
];

// --- unsafe deserialisation --------------------------------------------------------------------

const UNSAFE_DESERIALIZATION: Detector[] = [
  pattern('ff-unsafe-deserialization', PY, {
    re: /(?<![\w.])(?<hit>(?:pickle|cPickle|_pickle|dill|cloudpickle|joblib)\s*\.\s*(?:loads?|Unpickler)|(?:pd|pandas)\s*\.\s*read_pickle|marshal\s*\.\s*loads?|shelve\s*\.\s*open|jsonpickle\s*\.\s*decode)\s*\(/,
    message: (m) => `${group(m, 'hit')}() can run arbitrary code while deserialising untrusted data`,
  }),
  pattern('ff-unsafe-deserialization', PY, {
    re: /(?<![\w.])(?<hit>yaml\s*\.\s*(?:load|load_all))\s*\(/,
    accept: (m, line, ctx) => !/\b(?:C?SafeLoader|BaseLoader)\b/.test(callText(ctx, line.index, m.index + m[0].length)),
    message: (m) => `${group(m, 'hit')}() without SafeLoader can construct arbitrary Python objects`,
  }),
  pattern('ff-unsafe-deserialization', PY, {
    re: /(?<![\w.])(?<hit>yaml\s*\.\s*(?:unsafe_load|unsafe_load_all|full_load|full_load_all))\s*\(/,
    message: (m) => `${group(m, 'hit')}() can construct arbitrary Python objects`,
  }),
  pattern('ff-unsafe-deserialization', JS, {
    re: /(?<![\w$])(?:[A-Za-z_$][\w$]*\s*\.\s*)?(?<hit>unserialize)\s*\(/,
    when: hasText(/["']node-serialize["']/),
    message: 'node-serialize unserialize() executes functions embedded in its input',
  }),
  pattern('ff-unsafe-deserialization', JS, {
    re: /(?<![\w$])(?:[A-Za-z_$][\w$]*\s*\.\s*)?(?<hit>deserialize)\s*\(/,
    when: hasText(/["']serialize-to-js["']/),
    message: 'serialize-to-js deserialize() evaluates its input as JavaScript',
  }),
  pattern('ff-unsafe-deserialization', JAVA, {
    re: /\.\s*(?<hit>readObject|readUnshared)\s*\(\s*\)/,
    when: (ctx) =>
      /\bObjectInputStream\b/.test(ctx.text) &&
      !/\b(?:ValidatingObjectInputStream|ObjectInputFilter|setObjectInputFilter)\b/.test(ctx.text),
    message: (m) => `ObjectInputStream.${group(m, 'hit')}() deserialises arbitrary classes from its input`,
  }),
  pattern('ff-unsafe-deserialization', JAVA, {
    re: /\bnew\s+(?<hit>XMLDecoder)\s*\(/,
    message: 'XMLDecoder instantiates classes and calls methods described by its input',
  }),
  pattern('ff-unsafe-deserialization', JAVA, {
    re: /\.\s*(?<hit>fromXML)\s*\(/,
    when: hasText(/\bXStream\b/),
    message: 'XStream.fromXML() can instantiate arbitrary classes without a type allow-list',
  }),
  pattern('ff-unsafe-deserialization', PHP, {
    re: /(?<![\w$>:])(?<hit>unserialize)\s*\(/,
    arg: 'dynamic',
    accept: (m, line, ctx) =>
      !/allowed_classes["']?\s*=>\s*false/.test(callText(ctx, line.index, m.index + m[0].length, 'full')),
    message: 'unserialize() on non-constant data can instantiate arbitrary classes (PHP object injection)',
  }),
  pattern('ff-unsafe-deserialization', RUBY, {
    re: /(?<![\w:])(?<hit>Marshal\s*\.\s*(?:load|restore))\b/,
    message: (m) => `${group(m, 'hit')} can instantiate arbitrary Ruby objects from its input`,
  }),
  pattern('ff-unsafe-deserialization', RUBY, {
    re: /(?<![\w:])(?<hit>(?:YAML|Psych)\s*\.\s*(?:load|unsafe_load|load_file|unsafe_load_file|load_stream|load_documents))\b/,
    message: (m) => `${group(m, 'hit')} can instantiate arbitrary Ruby objects; use YAML.safe_load`,
  }),
];

// --- weak cryptography -------------------------------------------------------------------------

const NOT_FOR_SECURITY = /\busedforsecurity\s*=\s*False\b/;

const WEAK_HASH: Detector[] = [
  pattern('ff-weak-hash', PY, {
    re: /(?<![\w.])(?<hit>hashlib\s*\.\s*(?:md5|sha1|md4))\s*\(/,
    accept: (m, line, ctx) => !NOT_FOR_SECURITY.test(callText(ctx, line.index, m.index + m[0].length)),
    message: (m) => `${group(m, 'hit')}() uses a broken hash algorithm`,
  }),
  pattern('ff-weak-hash', PY, {
    re: /(?<![\w.])(?<hit>hashlib\s*\.\s*new)\s*\(\s*(["'])(?<alg>md5|sha1|md4)\2/i,
    accept: (m, line, ctx) => !NOT_FOR_SECURITY.test(callText(ctx, line.index, m.index + m[0].length)),
    message: (m) => `hashlib.new("${group(m, 'alg')}") uses a broken hash algorithm`,
  }),
  pattern('ff-weak-hash', PY, {
    re: /(?<![\w.])(?<hit>(?:MD5|MD4|SHA1|SHA)\s*\.\s*new)\s*\(/,
    when: hasText(/\bCrypto(?:dome)?\.Hash\b/),
    message: (m) => `${group(m, 'hit')}() uses a broken hash algorithm`,
  }),
  pattern('ff-weak-hash', JS, {
    re: /\b(?<hit>createHash)\s*\(\s*(["'])(?<alg>md5|md4|sha1|sha-1)\2/i,
    message: (m) => `crypto.createHash('${group(m, 'alg')}') uses a broken hash algorithm`,
  }),
  pattern('ff-weak-hash', JS, {
    re: /\bCryptoJS\s*\.\s*(?<hit>MD5|SHA1)\s*\(/,
    message: (m) => `CryptoJS.${group(m, 'hit')}() uses a broken hash algorithm`,
  }),
  pattern('ff-weak-hash', GO, {
    re: /(?<![\w.])(?<hit>(?:md5|sha1)\s*\.\s*(?:New|Sum))\s*\(/,
    when: hasText(/["']crypto\/(?:md5|sha1)["']/),
    message: (m) => `${group(m, 'hit')}() uses a broken hash algorithm`,
  }),
  pattern('ff-weak-hash', JAVA, {
    re: /\bMessageDigest\s*\.\s*getInstance\s*\(\s*"(?<alg>MD5|MD4|MD2|SHA-?1|SHA)"/i,
    message: (m) => `MessageDigest.getInstance("${group(m, 'alg')}") uses a broken hash algorithm`,
  }),
  pattern('ff-weak-hash', JAVA, {
    re: /\b(?<hit>DigestUtils\s*\.\s*(?:md5|md5Hex|sha1|sha1Hex|shaHex|sha)|Hashing\s*\.\s*(?:md5|sha1))\s*\(/,
    message: (m) => `${group(m, 'hit')}() uses a broken hash algorithm`,
  }),
  pattern('ff-weak-hash', PHP, {
    re: /(?<![\w$>:])(?<hit>md5|sha1|md5_file|sha1_file)\s*\(/,
    message: (m) => `${group(m, 'hit')}() uses a broken hash algorithm`,
  }),
  pattern('ff-weak-hash', PHP, {
    re: /(?<![\w$>:])(?<hit>hash|hash_init|hash_file|hash_hmac)\s*\(\s*(["'])(?<alg>md5|md4|md2|sha1)\2/i,
    accept: (m) => group(m, 'hit') !== 'hash_hmac',
    message: (m) => `${group(m, 'hit')}('${group(m, 'alg')}') uses a broken hash algorithm`,
  }),
  pattern('ff-weak-hash', RUBY, {
    re: /\b(?<hit>(?:OpenSSL\s*::\s*)?Digest\s*::\s*(?:MD5|SHA1))\b/,
    message: (m) => `${group(m, 'hit')} uses a broken hash algorithm`,
  }),
  pattern('ff-weak-hash', RUBY, {
    re: /\b(?<hit>(?:OpenSSL\s*::\s*)?Digest\s*\.\s*new)\s*\(\s*(["'])(?<alg>md5|sha1)\2/i,
    message: (m) => `Digest.new('${group(m, 'alg')}') uses a broken hash algorithm`,
  }),
  pattern('ff-weak-hash', C, {
    re: /(?<![\w.>])(?<hit>MD5|MD4|SHA1|MD5_Init|MD4_Init|SHA1_Init|EVP_md5|EVP_md4|EVP_sha1|CC_MD5|CC_SHA1)\s*\(/,
    message: (m) => `${group(m, 'hit')}() uses a broken hash algorithm`,
  }),
];

const WEAK_CIPHER_NAME = /^(?:des|rc4|rc2|bf|blowfish|cast5?|idea)(?:$|[-_\d])/i;

const WEAK_CIPHER: Detector[] = [
  pattern('ff-weak-cipher', PY, {
    re: /(?<![\w.])(?<hit>(?:DES3?|ARC4|ARC2|Blowfish|CAST)\s*\.\s*new)\s*\(/,
    when: hasText(/\bCrypto(?:dome)?\b/),
    message: (m) => `${group(m, 'hit')}() uses a weak cipher`,
  }),
  pattern('ff-weak-cipher', PY, {
    re: /\balgorithms\s*\.\s*(?<hit>TripleDES|Blowfish|ARC4|IDEA|CAST5|SEED)\s*\(/,
    message: (m) => `algorithms.${group(m, 'hit')} is a weak cipher`,
  }),
  pattern('ff-weak-cipher', JS, {
    re: /\b(?<hit>create(?:Cipher|Decipher)(?:iv)?)\s*\(\s*(["'])(?<alg>[\w-]+)\2/i,
    accept: (m) => WEAK_CIPHER_NAME.test(group(m, 'alg')),
    message: (m) => `${group(m, 'hit')}('${group(m, 'alg')}') uses a weak cipher`,
  }),
  pattern('ff-weak-cipher', JS, {
    re: /\bCryptoJS\s*\.\s*(?<hit>DES|TripleDES|RC4|RC4Drop|Rabbit)\s*\.\s*(?:en|de)crypt\s*\(/,
    message: (m) => `CryptoJS.${group(m, 'hit')} is a weak cipher`,
  }),
  pattern('ff-weak-cipher', GO, {
    re: /(?<![\w.])(?<hit>des\s*\.\s*(?:NewCipher|NewTripleDESCipher)|rc4\s*\.\s*NewCipher|blowfish\s*\.\s*NewCipher(?:WithSalt)?)\s*\(/,
    message: (m) => `${group(m, 'hit')}() creates a weak cipher`,
  }),
  pattern('ff-weak-cipher', JAVA, {
    re: /\b(?<hit>(?:Cipher|KeyGenerator|SecretKeyFactory)\s*\.\s*getInstance)\s*\(\s*"(?<spec>(?:DES|DESede|TripleDES|RC4|ARCFOUR|RC2|Blowfish)(?:\/[^"]*)?)"/i,
    message: (m) => `${group(m, 'hit')}("${group(m, 'spec')}") uses a weak cipher`,
  }),
  pattern('ff-weak-cipher', JAVA, {
    re: /\bnew\s+(?<hit>SecretKeySpec|DESKeySpec|DESedeKeySpec)\s*\(/,
    accept: (m, line, ctx) =>
      group(m, 'hit') !== 'SecretKeySpec' ||
      /"(?:DES|DESede|TripleDES|RC4|ARCFOUR|RC2|Blowfish)"/i.test(
        callText(ctx, line.index, m.index + m[0].length, 'full'),
      ),
    message: (m) => `${group(m, 'hit')} builds a key for a weak cipher`,
  }),
  pattern('ff-weak-cipher', PHP, {
    re: /(?<![\w$>:])(?<hit>openssl_(?:en|de)crypt)\s*\(/,
    accept: (m, line, ctx) =>
      /,\s*(["'])(?:des|rc4|rc2|bf|blowfish|cast5|idea)(?:[-\w]*)\1/i.test(
        callText(ctx, line.index, m.index + m[0].length, 'full'),
      ),
    message: (m) => `${group(m, 'hit')}() is called with a weak cipher`,
  }),
  pattern('ff-weak-cipher', PHP, {
    re: /\b(?<hit>MCRYPT_(?:DES|3DES|TRIPLEDES|BLOWFISH|RC2|ARCFOUR|RC4|CAST_128))\b/,
    message: (m) => `${group(m, 'hit')} is a weak cipher`,
  }),
  pattern('ff-weak-cipher', RUBY, {
    re: /\b(?<hit>OpenSSL\s*::\s*Cipher(?:\s*::\s*Cipher)?\s*\.\s*new)\s*\(\s*(["'])(?<alg>[\w-]+)\2/i,
    accept: (m) => WEAK_CIPHER_NAME.test(group(m, 'alg')),
    message: (m) => `OpenSSL::Cipher.new('${group(m, 'alg')}') uses a weak cipher`,
  }),
  pattern('ff-weak-cipher', RUBY, {
    re: /\b(?<hit>OpenSSL\s*::\s*Cipher\s*::\s*(?:DES|RC4|RC2|BF|CAST5))\b/,
    message: (m) => `${group(m, 'hit')} is a weak cipher`,
  }),
  pattern('ff-weak-cipher', C, {
    re: /(?<![\w.>])(?<hit>EVP_(?:des|rc4|rc2|bf|cast5|idea)\w*|DES_set_key\w*|DES_key_sched|DES_(?:ecb3?|ncbc|cbc|ede3_cbc)_encrypt|RC4_set_key|RC4|BF_set_key)\s*\(/,
    message: (m) => `${group(m, 'hit')}() uses a weak cipher`,
  }),
];

const ECB_MODE: Detector[] = [
  pattern('ff-ecb-mode', PY, {
    re: /\b(?<hit>MODE_ECB)\b/,
    message: 'MODE_ECB encrypts in ECB mode',
  }),
  pattern('ff-ecb-mode', PY, {
    re: /\bmodes\s*\.\s*(?<hit>ECB)\s*\(/,
    message: 'modes.ECB() encrypts in ECB mode',
  }),
  pattern('ff-ecb-mode', [...JS, 'php', 'ruby', 'c'], {
    re: /(["'])(?<hit>[a-z0-9]+(?:-[a-z0-9]+)*-ecb)\1/i,
    message: (m) => `The "${group(m, 'hit')}" cipher uses ECB mode`,
  }),
  pattern('ff-ecb-mode', GO, {
    re: /\b(?<hit>NewECB(?:En|De)crypter)\s*\(/,
    message: (m) => `${group(m, 'hit')}() encrypts in ECB mode`,
  }),
  pattern('ff-ecb-mode', JAVA, {
    re: /\bCipher\s*\.\s*getInstance\s*\(\s*"(?<spec>[A-Za-z0-9]+\/ECB\/[^"]*|AES)"/i,
    message: (m) =>
      group(m, 'spec').toUpperCase() === 'AES'
        ? 'Cipher.getInstance("AES") defaults to ECB mode'
        : `Cipher.getInstance("${group(m, 'spec')}") uses ECB mode`,
  }),
  pattern('ff-ecb-mode', PHP, {
    re: /\b(?<hit>MCRYPT_MODE_ECB)\b/,
    message: 'MCRYPT_MODE_ECB encrypts in ECB mode',
  }),
  pattern('ff-ecb-mode', RUBY, {
    re: /\bOpenSSL\s*::\s*Cipher\s*::\s*AES\d*\s*\.\s*new\s*\([^)]*:(?<hit>ECB)\b/,
    message: 'OpenSSL::Cipher::AES is used in ECB mode',
  }),
  pattern('ff-ecb-mode', C, {
    re: /(?<![\w.>])(?<hit>EVP_(?:aes_(?:128|192|256)|des|bf|camellia_\d+)_ecb|AES_ecb_encrypt)\s*\(/,
    message: (m) => `${group(m, 'hit')}() encrypts in ECB mode`,
  }),
];

// --- credentials -------------------------------------------------------------------------------

const AWS_KEY = /(?<![A-Za-z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}(?![A-Za-z0-9])/g;
const AWS_KEY_VALUE = new RegExp(AWS_KEY.source);
const PEM_HEADER = /-----BEGIN (?<type>(?:[A-Z0-9]+ ){0,3})PRIVATE KEY(?: BLOCK)?-----/;
const BASE64_RUN = /[A-Za-z0-9+/]{40,}={0,2}/;

const SECRET_WORDS = new Set(['password', 'passwd', 'pwd', 'pass', 'passphrase', 'secret', 'token', 'apikey']);
const SECRET_KEY_PREFIXES = new Set(['api', 'access', 'private', 'secret', 'signing', 'encryption', 'master', 'auth']);

function words(name: string): string[] {
  return name
    .replace(/^\$+/, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .map((w) => w.replace(/\d+$/, ''))
    .filter((w) => w !== '');
}

/** What kind of secret a name announces, judged by its last word(s): `db_password`, `apiKey`. */
function credentialKind(name: string): string | undefined {
  const w = words(name);
  const last = w[w.length - 1];
  const prev = w[w.length - 2];
  if (last === undefined) {
    return undefined;
  }
  if (SECRET_WORDS.has(last)) {
    return last === 'apikey' ? 'API key' : last === 'pwd' || last === 'passwd' || last === 'pass' ? 'password' : last;
  }
  if (last === 'key' && prev !== undefined && SECRET_KEY_PREFIXES.has(prev)) {
    return prev === 'api' ? 'API key' : `${prev} key`;
  }
  if (last === 'credential' || last === 'credentials') {
    return 'credential';
  }
  return undefined;
}

const PLACEHOLDER =
  /changeme|change[_-]me|change[_-]?it|placeholder|example|dummy|sample|redacted|todo|fixme|your[_-]|[<>]|\.\.\.|xxx|\*\*\*|^(?:none|null|nil|undefined|password|secret|token|bearer|basic|test|default)$/i;

function looksLikeSecret(value: string, name: string): boolean {
  if (value.length < 6 || /\s/.test(value)) {
    return false; // too short, or prose such as a label or an error message
  }
  if (PLACEHOLDER.test(value) || /^(.)\1+$/.test(value)) {
    return false;
  }
  if (/\$\{|\{\{|%\(|%s|#\{|^\$[A-Za-z_]|^%[A-Za-z_]+%$/.test(value)) {
    return false; // a template or variable reference, not the value itself
  }
  if (/^(?:https?|ftp|file):\/\//i.test(value) || /^(?:\.{0,2}\/|~\/)/.test(value)) {
    return false; // a URL or path
  }
  if (/^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$/.test(value) || /^[A-Z][a-z]+$/.test(value)) {
    return false; // the name of an environment variable, or a capitalised word (a UI label)
  }
  return words(value).join('') !== words(name).join('');
}

interface CredentialPattern {
  re: RegExp;
  langs: readonly Language[];
  /** The capture group holding the name. */
  name: number;
  /** `name: value`, which a ternary `cond ? name : "x"` imitates. */
  keyColon?: boolean;
}

const CREDENTIAL_PATTERNS: readonly CredentialPattern[] = [
  {
    // x = "...", x := "...", x: str = "...", char *x = "...", char x[] = "...", $x = '...'
    re: /(?<![\w$])(\$?[A-Za-z_][\w$]*)(?:\[\w*\])?\s*(?::\s*[A-Za-z_][\w.]*(?:\[\])?\s*)?(?::=|=)(?![=>~])\s*/g,
    langs: ALL,
    name: 1,
  },
  { re: /\bvar\s+([A-Za-z_]\w*)\s+[A-Za-z_][\w.]*\s*=\s*/g, langs: GO, name: 1 },
  {
    // { password: '...' } / Password: "..." / password: '...' (Ruby keyword or hash)
    re: /(?<![\w$:])([A-Za-z_$][\w$]*)\s*:(?![:=])\s*/g,
    langs: [...JS, 'go', 'ruby', 'php'],
    name: 1,
    keyColon: true,
  },
  {
    // "password": "..." / 'password' => '...'
    re: /(["'])([\w.-]+)\1\s*(?::|=>)\s*/g,
    langs: ['python', 'javascript', 'typescript', 'go', 'php', 'ruby'],
    name: 2,
  },
  { re: /(?<![\w:]):([A-Za-z_]\w*)\s*=>\s*/g, langs: RUBY, name: 1 },
  { re: /#\s*define\s+([A-Za-z_]\w*)\s+/g, langs: C, name: 1 },
  { re: /\bdefine\s*\(\s*(["'])([\w.-]+)\1\s*,\s*/g, langs: PHP, name: 2 },
];

// What may follow a credential literal for it to be the whole value.
const VALUE_END =
  /^(?:$|[;,)}\]]|\.freeze\b|\.encode\s*\(|\.getBytes\s*\(|\.toCharArray\s*\(|as\s+const\b|if\b|unless\b)/;

interface CredentialHit {
  line: Line;
  start: number;
  end: number;
  message: string;
}

interface SecretScan {
  byLine: Map<number, Secret[]>;
  credentials: CredentialHit[];
  awsKeys: CredentialHit[];
}

function addSecret(byLine: Map<number, Secret[]>, index: number, secret: Secret): void {
  const list = byLine.get(index) ?? [];
  list.push(secret);
  byLine.set(index, list);
}

/** Finds credential literals, AWS keys and PEM key material once per file (findings and redaction). */
function scanSecrets(ctx: Ctx): SecretScan {
  return memo(ctx, 'secrets', () => {
    const byLine = new Map<number, Secret[]>();
    const credentials: CredentialHit[] = [];
    const awsKeys: CredentialHit[] = [];
    const patterns = CREDENTIAL_PATTERNS.filter((p) => p.langs.includes(ctx.lang));
    for (const line of ctx.lines) {
      if (line.skip) {
        continue;
      }
      for (const m of line.full.matchAll(AWS_KEY)) {
        const at = m.index ?? 0;
        if (line.kinds[at] === COMMENT || m[0].includes('EXAMPLE')) {
          continue;
        }
        addSecret(byLine, line.index, {
          start: at,
          end: at + m[0].length,
          replacement: `${m[0].slice(0, 4)}***`,
          value: m[0],
        });
        awsKeys.push({
          line,
          start: at,
          end: at + m[0].length,
          message: `An AWS access key ID (${m[0].slice(0, 4)}…) is embedded in the source`,
        });
      }
      if (line.strings.length === 0) {
        continue;
      }
      const seen = new Set<number>();
      for (const p of patterns) {
        for (const m of line.full.matchAll(p.re)) {
          const at = m.index ?? 0;
          const lit = line.byCol.get(at + m[0].length);
          const name = m[p.name] ?? '';
          // A regex literal (`password: /^.{8,}$/` in a validation schema) is not a value.
          if (!lit || lit.quote === '/' || seen.has(lit.col) || lit.multiline || lit.interpolated) {
            continue;
          }
          if (line.kinds[at] === STR) {
            continue;
          }
          const kind = credentialKind(name);
          if (!kind || !looksLikeSecret(lit.value, name) || AWS_KEY_VALUE.test(lit.value)) {
            continue; // AWS key ids are reported by ff-aws-access-key
          }
          if (p.keyColon && /\?\s*$/.test(line.code.slice(0, at))) {
            continue; // `cond ? password : "x"` is a ternary, not a key
          }
          const after = line.code.slice(skipWs(line.code, lit.endCol));
          if (!VALUE_END.test(after) || dynamicHow(ctx, line, lit)) {
            continue;
          }
          seen.add(lit.col);
          addSecret(byLine, line.index, {
            start: lit.valueCol,
            end: lit.valueCol + lit.value.length,
            replacement: '***',
            value: lit.value,
          });
          credentials.push({
            line,
            start: at,
            end: lit.endCol,
            message: `A hard-coded ${kind} is assigned to ${name}`,
          });
        }
      }
    }
    return { byLine, credentials, awsKeys };
  });
}

function hasKeyMaterial(ctx: Ctx, line: Line, after: number): boolean {
  if (BASE64_RUN.test(line.full.slice(after))) {
    return true;
  }
  for (let k = line.index + 1; k <= line.index + 2; k++) {
    const next = ctx.lines[k];
    if (next && !next.skip && (/Proc-Type:/.test(next.full) || BASE64_RUN.test(next.full))) {
      return true;
    }
  }
  return false;
}

const CREDENTIALS: Detector[] = [
  {
    rule: 'ff-hardcoded-credential',
    langs: ALL,
    run(ctx, emit) {
      for (const hit of scanSecrets(ctx).credentials) {
        emit(hit.line, hit.start, hit.end, hit.message);
      }
    },
  },
  {
    rule: 'ff-aws-access-key',
    langs: ALL,
    run(ctx, emit) {
      for (const hit of scanSecrets(ctx).awsKeys) {
        emit(hit.line, hit.start, hit.end, hit.message);
      }
    },
  },
  {
    rule: 'ff-private-key',
    langs: ALL,
    run(ctx, emit) {
      for (const line of ctx.lines) {
        if (line.skip) {
          continue;
        }
        const m = PEM_HEADER.exec(line.full);
        if (!m || line.kinds[m.index] === COMMENT || !hasKeyMaterial(ctx, line, m.index + m[0].length)) {
          continue;
        }
        const type = (m.groups?.['type'] ?? '').trim();
        emit(
          line,
          m.index,
          m.index + m[0].length,
          `A PEM-encoded ${type ? `${type} ` : ''}private key is embedded in the source`,
        );
      }
    },
  },
];

const DETECTORS: readonly Detector[] = [
  ...COMMAND_INJECTION,
  ...SQL_INJECTION,
  ...CODE_EVALUATION,
  ...UNSAFE_DESERIALIZATION,
  ...WEAK_HASH,
  ...WEAK_CIPHER,
  ...ECB_MODE,
  ...CREDENTIALS,
];

/** The rules that have at least one detector for `language`. */
export function rulesForLanguage(language: Language): readonly PatternRule[] {
  const ids = new Set(DETECTORS.filter((d) => d.langs.includes(language)).map((d) => d.rule));
  return PATTERN_RULES.filter((r) => ids.has(r.id as RuleId));
}

// ---------------------------------------------------------------------------------------------
// Entry point
// ---------------------------------------------------------------------------------------------

// Key material after a PEM header; not right after a backslash, so the `n` of a `\n` escape survives.
const BASE64_IN_SNIPPET = /(?<!\\)[A-Za-z0-9+/]{16,}={0,2}/g;

function snippetOf(line: Line, secrets: readonly Secret[] | undefined): string {
  let text = line.raw;
  const spans = [...(secrets ?? [])].sort((a, b) => b.start - a.start);
  let limit = Infinity;
  for (const s of spans) {
    if (s.end <= limit) {
      text = text.slice(0, s.start) + s.replacement + text.slice(s.end);
      limit = s.start;
    }
  }
  for (const s of spans) {
    text = text.split(s.value).join(s.replacement); // the same value repeated on the line, e.g. in a comment
  }
  const pem = PEM_HEADER.exec(text);
  if (pem) {
    const head = text.slice(0, pem.index + pem[0].length);
    text = head + text.slice(head.length).replace(BASE64_IN_SNIPPET, '***'); // key material after the header
  }
  text = text.trim();
  return text.length > MAX_SNIPPET_LENGTH ? `${text.slice(0, MAX_SNIPPET_LENGTH - 3)}...` : text;
}

/**
 * Runs the pattern rules for `language` over `text`. At most one finding per rule and line (the
 * leftmost), sorted by line, column and rule id. Lines longer than MAX_LINE_LENGTH are skipped.
 */
export function scanSource(text: string, language: Language, options: ScanOptions = {}): PatternFinding[] {
  if (!Object.prototype.hasOwnProperty.call(QUOTES, language)) {
    return [];
  }
  const enabled = options.ruleIds ? new Set(options.ruleIds) : undefined;
  const detectors = DETECTORS.filter((d) => d.langs.includes(language) && (!enabled || enabled.has(d.rule)));
  if (detectors.length === 0) {
    return [];
  }
  const ctx = buildContext(text.charCodeAt(0) === 0xfeff ? ` ${text.slice(1)}` : text, language);
  const hits = new Map<string, { rule: RuleId; line: Line; start: number; end: number; message: string }>();
  for (const detector of detectors) {
    detector.run(ctx, (line, start, end, message) => {
      const key = `${detector.rule}\0${line.index}`;
      const previous = hits.get(key);
      if (!previous || start < previous.start) {
        hits.set(key, { rule: detector.rule, line, start, end: Math.max(end, start + 1), message });
      }
    });
  }
  const secrets = scanSecrets(ctx).byLine;
  const findings = [...hits.values()].map((h): PatternFinding => ({
    ruleId: h.rule,
    line: h.line.index + 1,
    column: h.start + 1,
    endColumn: h.end + 1,
    message: h.message,
    snippet: snippetOf(h.line, secrets.get(h.line.index)),
  }));
  return findings.sort(
    (a, b) => a.line - b.line || a.column - b.column || (a.ruleId < b.ruleId ? -1 : a.ruleId > b.ruleId ? 1 : 0),
  );
}
