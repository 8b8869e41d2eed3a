// Constant string expressions, evaluated so the secret detector sees the value a program builds
// rather than the pieces it is written in.
//
// Pure code (no I/O, no Node built-ins). On top of the per-language lexer (../analyzers/lexer)
// a small evaluator reads bindings (`NAME = expr`, `const NAME = expr`, `NAME := expr`, object and
// dict entries), `return expr` statements and one-line functions (`def f(s): return expr`,
// `func f(s string) string { return expr }`, arrow functions), and folds what is constant:
// literals with their escapes, concatenation, template strings with constant interpolations,
// joins of character lists and character codes, reversal, replace, XOR with a constant, and the
// usual decoders (base64, hex, ROT13, URL decoding, bytes/char-code conversions). Anything that
// depends on input stays unknown and is dropped. A value is reported only when it differs from
// what a plain literal shows (decoded, assembled or escaped): plain literals are the line
// scanner's. Each value says where it is written: the line of its single source literal, or the
// line of the expression that assembles literals from several lines.

import { COMMENT, lex, STR, type Language } from '../analyzers/lexer';

// Local copies: the hot loops below read them once per character.
const K_COMMENT = COMMENT;
const K_STR = STR;

/** A string the program builds from constants. */
export interface DerivedValue {
  /** 0-based line where the value is written. */
  line: number;
  /** 0-based column of its first source literal on that line (or of the expression). */
  column: number;
  /** 0-based, exclusive. */
  endColumn: number;
  value: string;
  /** Binding names the value flows through (the target and every constant it reads). */
  names: string[];
  /** Built with a decoder, an escape of printable characters, a char list, reversal, XOR or interpolation. */
  hidden: boolean;
  /** Came from a regular expression without metacharacters (the pattern is the string). */
  regex: boolean;
}

export interface SourceConstants {
  derived: DerivedValue[];
  /** 0-based lines inside comments or multi-line string bodies, where `KEY=value` is text, not code. */
  textLines: Set<number>;
}

// ---------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------

interface Origin {
  line: number;
  start: number;
  end: number;
}

interface Meta {
  origins: Origin[];
  names: string[];
  hidden: boolean;
  regex?: boolean;
}

type Val =
  | ({ kind: 'str'; text: string } & Meta)
  | ({ kind: 'num'; n: number } & Meta)
  | ({ kind: 'list'; items: Val[] } & Meta)
  | { kind: 'fn'; params: string[]; body: number; env: Env }
  | { kind: 'path'; path: string; value?: Val };

type Env = ReadonlyMap<string, Val>;

const EMPTY_ENV: Env = new Map();

function merge(vals: readonly (Val | undefined)[], hidden = false): Meta {
  const origins: Origin[] = [];
  const names: string[] = [];
  let h = hidden;
  for (const v of vals) {
    if (v && v.kind !== 'fn' && v.kind !== 'path') {
      origins.push(...v.origins);
      names.push(...v.names);
      h ||= v.hidden;
    }
  }
  return { origins, names, hidden: h };
}

function str(text: string, meta: Meta): Val {
  return { kind: 'str', text, ...meta };
}

/** The value as a string: strings themselves, lists of one-character strings or character codes. */
function asText(v: Val | undefined): string | undefined {
  if (!v) {
    return undefined;
  }
  if (v.kind === 'path') {
    return asText(v.value);
  }
  if (v.kind === 'str') {
    return v.text;
  }
  if (v.kind === 'list' && v.items.length > 0) {
    const parts = v.items.map((i) =>
      i.kind === 'str' ? i.text : i.kind === 'num' && i.n >= 0 && i.n < 0x110000 ? String.fromCodePoint(i.n) : undefined,
    );
    return parts.every((p) => p !== undefined && [...p].length <= 1) ? parts.join('') : undefined;
  }
  return undefined;
}

function deref(v: Val | undefined): Val | undefined {
  return v?.kind === 'path' ? v.value : v;
}

// ---------------------------------------------------------------------------------------------
// Decoders (exported for the line scanner, which decodes literals the same way)
// ---------------------------------------------------------------------------------------------

/** Printable text of at least 6 characters: what an encoded credential decodes to (not binary). */
export function isPrintableText(text: string): boolean {
  return text.length >= 6 && /^[\x20-\x7e\t\r\n]+$/.test(text) && /[A-Za-z0-9]/.test(text);
}

function utf8(bytes: string): string {
  try {
    return Buffer.from(bytes, 'latin1').toString('utf8');
  } catch {
    return bytes;
  }
}

const BASE64_CHARS = /^[A-Za-z0-9+/]+={0,2}$|^[A-Za-z0-9_-]+={0,2}$/;

/** Base64 (standard or URL-safe) to a latin-1 string; undefined when it is not base64. */
export function decodeBase64(text: string): string | undefined {
  const t = text.trim();
  if (!BASE64_CHARS.test(t) || t.replace(/=+$/, '').length % 4 === 1) {
    return undefined;
  }
  return Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('latin1');
}

export function decodeHex(text: string): string | undefined {
  const t = text.trim().replace(/^0x/i, '');
  return /^(?:[0-9a-fA-F]{2})+$/.test(t) ? Buffer.from(t, 'hex').toString('latin1') : undefined;
}

export function rot13(text: string): string {
  return text.replace(/[A-Za-z]/g, (c) => {
    const base = c <= 'Z' ? 65 : 97;
    return String.fromCharCode(((c.charCodeAt(0) - base + 13) % 26) + base);
  });
}

function decodeUrl(text: string): string | undefined {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/**
 * The text a literal encodes, when it is base64 or hex of printable text (`QUtJQ…` → `AKIA…`);
 * undefined for anything else, including base64 of binary data such as images and random keys.
 */
export function decodeLiteral(value: string): string | undefined {
  if (value.length < 8 || value.length > 4096 || !/^[A-Za-z0-9+/_=-]+$/.test(value)) {
    return undefined;
  }
  const hex = value.length >= 12 ? decodeHex(value) : undefined;
  if (hex !== undefined) {
    return isPrintableText(hex) ? hex : undefined;
  }
  const b64 = /[0-9+/=_-]|[A-Z].*[a-z]|[a-z].*[A-Z]/.test(value) ? decodeBase64(value) : undefined;
  if (b64 !== undefined && isPrintableText(b64) && /^[\x20-\x7e]+$/.test(b64)) {
    return utf8(b64);
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------------------------

interface Token {
  type: 'str' | 'num' | 'id' | 'op';
  text: string;
  /** Decoded value of a string token. */
  value?: string;
  hidden?: boolean;
  regex?: boolean;
  /** Template literal with `${}` parts: the raw body. */
  template?: string;
  start: number;
  end: number;
  line: number;
  col: number;
}

const OPERATORS = ['...', '=>', ':=', '==', '!=', '<=', '>=', '::', '->', '**', '//', '&&', '||', '<<', '>>', '+=', '-='];

const OPERATOR_STARTS = new Set(OPERATORS.map((o) => o.charAt(0)));

function isIdentStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 36;
}

function isIdentPart(c: number): boolean {
  return isIdentStart(c) || (c >= 48 && c <= 57);
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  n: '\n',
  t: '\t',
  r: '\r',
  '0': '\0',
  b: '\b',
  f: '\f',
  v: '\v',
  a: '\x07',
};

/** Decode the escapes of a string body; `hidden` when a printable character was written as an escape. */
export function unescape(body: string, raw: boolean): { value: string; hidden: boolean } {
  if (raw || !body.includes('\\')) {
    return { value: body, hidden: false };
  }
  let hidden = false;
  const value = body.replace(
    /\\(?:x([0-9a-fA-F]{2})|u\{([0-9a-fA-F]{1,6})\}|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|([0-7]{1,3})|([\s\S]))/g,
    (_m, x?: string, ub?: string, u?: string, U?: string, oct?: string, other?: string) => {
      const hexCode = x ?? ub ?? u ?? U;
      if (hexCode !== undefined || oct !== undefined) {
        const code = hexCode !== undefined ? parseInt(hexCode, 16) : parseInt(oct ?? '0', 8);
        if (oct === '0') {
          return '\0';
        }
        const ch = code < 0x110000 ? String.fromCodePoint(code) : '';
        hidden ||= /[A-Za-z0-9]/.test(ch);
        return ch;
      }
      if (other === '\n') {
        return ''; // line continuation
      }
      return SIMPLE_ESCAPES[other ?? ''] ?? other ?? '';
    },
  );
  return { value, hidden };
}

function lineStarts(src: string): number[] {
  const starts = [0];
  for (let i = 0; i < src.length; i++) {
    if (src.charCodeAt(i) === 10) {
      starts.push(i + 1);
    }
  }
  return starts;
}

function lineOf(starts: readonly number[], offset: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((starts[mid] ?? 0) <= offset) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return lo;
}

const REGEX_META = /[\\^$.*+?()[\]{}|]/;

function tokenize(src: string, lang: Language, kinds: Uint8Array, strings: ReturnType<typeof lex>['strings']) {
  const starts = lineStarts(src);
  const tokens: Token[] = [];
  const sorted = [...strings].sort((a, b) => a.start - b.start);
  let next = 0;
  const at = (start: number, end: number): Pick<Token, 'start' | 'end' | 'line' | 'col'> => {
    const line = lineOf(starts, start);
    return { start, end, line, col: start - (starts[line] ?? 0) };
  };
  let i = 0;
  const n = src.length;
  while (i < n) {
    while (next < sorted.length && (sorted[next]?.start ?? 0) < i) {
      next++;
    }
    const s = sorted[next]?.start === i ? sorted[next] : undefined;
    if (s) {
      const quote = s.quote;
      const body = src.slice(s.contentStart, s.contentEnd);
      const end = Math.max(s.end, s.contentEnd);
      if (quote === '/' || (lang === 'ruby' && quote.startsWith('%r'))) {
        const pattern = body.replace(/^\^|\$$/g, '');
        tokens.push({
          type: 'str',
          text: src.slice(s.start, end),
          ...(REGEX_META.test(pattern) ? {} : { value: pattern, regex: true }),
          ...at(s.start, end),
        });
      } else if (s.interpolated) {
        tokens.push({
          type: 'str',
          text: src.slice(s.start, end),
          ...(quote === '`' && (lang === 'javascript' || lang === 'typescript') ? { template: body } : {}),
          ...at(s.start, end),
        });
      } else {
        const raw = (lang === 'python' && /[rR]/.test(quote)) || (lang === 'go' && quote === '`') || quote.startsWith("<<'");
        const { value, hidden } = unescape(body, raw || (lang === 'ruby' && quote === "'") || (lang === 'php' && quote === "'"));
        tokens.push({ type: 'str', text: src.slice(s.start, end), value, hidden, ...at(s.start, end) });
      }
      // Heredoc bodies follow their opening token later in the file: keep the token, skip the opener only.
      i = s.contentStart > s.end ? s.end : end;
      continue;
    }
    const k = kinds[i];
    const code = src.charCodeAt(i);
    if (k === K_COMMENT || k === K_STR || code <= 32) {
      i++;
      continue;
    }
    const ch = src.charAt(i);
    if (isIdentStart(code)) {
      let j = i + 1;
      while (j < n && isIdentPart(src.charCodeAt(j)) && kinds[j] !== K_COMMENT && kinds[j] !== K_STR && sorted[next]?.start !== j) {
        j++;
      }
      tokens.push({ type: 'id', text: src.slice(i, j), ...at(i, j) });
      i = j;
      continue;
    }
    if (code >= 48 && code <= 57) {
      const m = /^(?:0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|\d[\d_]*(?:\.\d+)?)[lLuU]*/.exec(src.slice(i, i + 40));
      const len = m?.[0].length ?? 1;
      tokens.push({ type: 'num', text: src.slice(i, i + len), ...at(i, i + len) });
      i += len;
      continue;
    }
    const op = OPERATOR_STARTS.has(ch) ? (OPERATORS.find((o) => src.startsWith(o, i)) ?? ch) : ch;
    tokens.push({ type: 'op', text: op, ...at(i, i + op.length) });
    i += op.length;
  }
  return tokens;
}

function numberOf(text: string): number | undefined {
  const t = text.replace(/_/g, '').replace(/[lLuU]+$/, '');
  const n = /^0[oO]/.test(t) ? parseInt(t.slice(2), 8) : /^0[bB]/.test(t) ? parseInt(t.slice(2), 2) : Number(t);
  return Number.isFinite(n) ? n : undefined;
}

// ---------------------------------------------------------------------------------------------
// Evaluator
// ---------------------------------------------------------------------------------------------

const MAX_DEPTH = 24;
const MAX_TEXT = 4096;
const MAX_STEPS = 2000;

const KEYWORDS = new Set(
  (
    'if else elif for while return def function func class import from const let var final static public private ' +
    'protected new in not and or is lambda true false True False None null nil undefined this self typeof await ' +
    'yield case switch try catch throw package struct interface type'
  ).split(' '),
);

class Evaluator {
  private readonly bindings = new Map<string, number>();
  private readonly functions = new Map<string, { params: string[]; body: number }>();
  private readonly resolving = new Set<string>();
  private readonly cache = new Map<string, Val | undefined>();
  private depth = 0;

  /** For each opening bracket, the index of its closing one (and the reverse); -1 when unbalanced. */
  private readonly closing: number[] = [];
  private readonly opening: number[] = [];
  /** Tokens one top-level evaluation may visit: keeps a file linear however its expressions nest. */
  private budget = 0;

  constructor(
    private readonly tokens: readonly Token[],
    private readonly lang: Language,
  ) {
    const stack: number[] = [];
    tokens.forEach((t, i) => {
      if (t.type !== 'op') {
        return;
      }
      if ('([{'.includes(t.text)) {
        stack.push(i);
        this.closing[i] = -1;
      } else if (')]}'.includes(t.text)) {
        const o = stack.pop();
        if (o !== undefined) {
          this.closing[o] = i;
          this.opening[i] = o;
        }
      }
    });
  }

  /** Start a top-level evaluation with a fresh budget. */
  evaluate(i: number): Val | undefined {
    this.budget = MAX_STEPS;
    return this.expr(i, EMPTY_ENV)[0];
  }

  tok(i: number): Token | undefined {
    return this.tokens[i];
  }

  isOp(i: number, text: string): boolean {
    const t = this.tokens[i];
    return t?.type === 'op' && t.text === text;
  }

  /** Index just past the bracket group that opens at i. */
  skipGroup(i: number): number {
    const close = this.closing[i];
    return close === undefined || close < 0 ? this.tokens.length : close + 1;
  }

  /** Parameter names of the list between the brackets opening at i (`(a, b)`, `(s string)`, `(String s)`). */
  params(i: number, end: number): string[] {
    const groups: Token[][] = [[]];
    let depth = 0;
    for (let j = i + 1; j < end - 1; j++) {
      const t = this.tokens[j];
      if (!t) {
        break;
      }
      if (t.type === 'op' && '([{<'.includes(t.text)) {
        depth++;
      } else if (t.type === 'op' && ')]}>'.includes(t.text)) {
        depth--;
      } else if (depth === 0 && t.type === 'op' && t.text === ',') {
        groups.push([]);
        continue;
      }
      if (depth === 0) {
        groups[groups.length - 1]?.push(t);
      }
    }
    return groups
      .map((g) => {
        const ids = g.filter((t) => t.type === 'id' && !KEYWORDS.has(t.text)).map((t) => t.text);
        const cut = g.findIndex((t) => t.type === 'op' && (t.text === ':' || t.text === '='));
        const head = cut >= 0 ? g.slice(0, cut).filter((t) => t.type === 'id').map((t) => t.text) : ids;
        if (this.lang === 'java' || this.lang === 'c') {
          return head[head.length - 1];
        }
        return head[0];
      })
      .filter((p): p is string => p !== undefined);
  }

  /** Index of the expression of a body that is a single `return expr` (`{ return x }` or `: return x`). */
  returnBody(i: number): number | undefined {
    let j = i;
    if (this.isOp(j, '{') || this.isOp(j, ':')) {
      j++;
    }
    if (this.tok(j)?.type === 'str' && this.tok(j + 1)?.text === 'return') {
      j++; // a docstring
    }
    return this.tok(j)?.text === 'return' ? j + 1 : undefined;
  }

  /** First pass: where each constant and each one-line function is defined. */
  index(): void {
    const t = this.tokens;
    for (let i = 0; i < t.length; i++) {
      const tk = t[i];
      if (!tk) {
        continue;
      }
      if (tk.type === 'op' && (tk.text === '=' || tk.text === ':=')) {
        const name = this.targetName(i);
        if (name !== undefined && !this.bindings.has(name)) {
          if (this.isOp(i + 1, '(') || t[i + 2]?.text === '=>') {
            this.arrowFunction(name, i + 1);
          }
          this.bindings.set(name, i + 1);
        }
        continue;
      }
      const declared = this.declaredFunction(i);
      if (declared !== undefined) {
        this.namedFunction(declared, i + 2);
      }
    }
  }

  /** The name of the function declared at i (`def f(`, `function f(`, `func f(`, Java/C `Type f(`). */
  declaredFunction(i: number): string | undefined {
    const tk = this.tok(i);
    const next = this.tok(i + 1);
    if (tk?.type !== 'id' || next?.type !== 'id') {
      return undefined;
    }
    if (/^(?:def|function|func)$/.test(tk.text)) {
      return next.text;
    }
    const typed = (this.lang === 'java' || this.lang === 'c') && this.isOp(i + 2, '(');
    return typed && !KEYWORDS.has(tk.text) && !KEYWORDS.has(next.text) ? next.text : undefined;
  }

  private namedFunction(name: string, open: number): void {
    if (!this.isOp(open, '(') || this.functions.has(name)) {
      return;
    }
    const close = this.skipGroup(open);
    let j = close;
    // Return types and annotations until the body opens.
    while (j < this.tokens.length && j < close + 8 && !this.isOp(j, '{') && !this.isOp(j, ':')) {
      j++;
    }
    const body = this.returnBody(j);
    if (body !== undefined) {
      this.functions.set(name, { params: this.params(open, close), body });
    }
  }

  private arrowFunction(name: string, at: number): void {
    let params: string[];
    let arrow: number;
    if (this.isOp(at, '(')) {
      const close = this.skipGroup(at);
      params = this.params(at, close);
      arrow = close;
    } else {
      params = [this.tok(at)?.text ?? ''];
      arrow = at + 1;
    }
    if (!this.isOp(arrow, '=>')) {
      return;
    }
    const body = this.isOp(arrow + 1, '{') ? this.returnBody(arrow + 1) : arrow + 1;
    if (body !== undefined) {
      this.functions.set(name, { params, body });
    }
  }

  /** The name bound by the `=` / `:=` at i, or undefined for comparisons, attributes and indexes. */
  targetName(i: number): string | undefined {
    let j = i - 1;
    // `key, err := …` / `key, _ = …`: the first name holds the value.
    if (/^(?:_|err)$/.test(this.tok(j)?.text ?? '') && this.isOp(j - 1, ',') && this.tok(j - 2)?.type === 'id') {
      j -= 2;
    }
    let tk = this.tok(j);
    if (tk?.type !== 'id') {
      return undefined;
    }
    // `NAME: Type =` (TypeScript, Python annotations) and `var NAME Type =` (Go).
    if (this.isOp(j - 1, ':') && this.tok(j - 2)?.type === 'id') {
      j -= 2;
      tk = this.tok(j);
    } else if (this.lang === 'go' && this.tok(j - 1)?.type === 'id' && /^(?:var|const)$/.test(this.tok(j - 2)?.text ?? '')) {
      j -= 1;
      tk = this.tok(j);
    }
    const before = this.tok(j - 1);
    if (!tk || KEYWORDS.has(tk.text) || (before?.type === 'op' && (before.text === '.' || before.text === '->'))) {
      return undefined;
    }
    return tk.text;
  }

  /** The value bound to `name`, evaluated once per lookup with a guard against cycles. */
  lookup(name: string, env: Env): Val | undefined {
    const local = env.get(name);
    if (local) {
      return local;
    }
    const at = this.bindings.get(name);
    if (at === undefined || this.resolving.has(name)) {
      return undefined;
    }
    if (this.cache.has(name)) {
      return this.cache.get(name);
    }
    this.resolving.add(name);
    try {
      const [v] = this.expr(at, EMPTY_ENV);
      const value = deref(v);
      const named = !value || value.kind === 'fn' || value.kind === 'path' ? value : { ...value, names: [...value.names, name] };
      this.cache.set(name, named);
      return named;
    } finally {
      this.resolving.delete(name);
    }
  }

  /** Evaluate the expression starting at i; returns its value (undefined when not constant) and where it ends. */
  expr(i: number, env: Env): [Val | undefined, number] {
    if (++this.depth > MAX_DEPTH) {
      this.depth--;
      return [undefined, this.tokens.length];
    }
    try {
      return this.binary(i, env, 0);
    } finally {
      this.depth--;
    }
  }

  private static readonly PRECEDENCE: Readonly<Record<string, number>> = { '|': 1, '^': 2, '&': 3, '+': 4, '-': 4 };

  private binary(i: number, env: Env, minPrec: number): [Val | undefined, number] {
    let [left, j] = this.postfix(i, env);
    for (;;) {
      const op = this.tok(j);
      const prec = op?.type === 'op' ? Evaluator.PRECEDENCE[op.text] : undefined;
      if (!op || prec === undefined || prec <= minPrec - 1 || prec < minPrec) {
        return [left, j];
      }
      const [right, k] = this.binary(j + 1, env, prec + 1);
      left = this.apply(op.text, deref(left), deref(right));
      j = k;
    }
  }

  private apply(op: string, a: Val | undefined, b: Val | undefined): Val | undefined {
    if (!a || !b) {
      return undefined;
    }
    if (a.kind === 'num' && b.kind === 'num') {
      const n = op === '+' ? a.n + b.n : op === '-' ? a.n - b.n : op === '^' ? a.n ^ b.n : op === '|' ? a.n | b.n : a.n & b.n;
      // XOR and masks: the left operand is the data, the right one the key.
      return { kind: 'num', n, ...(op === '+' || op === '-' ? merge([a, b]) : { ...merge([a], true), names: [...a.names, ...b.names] }) };
    }
    if (op === '+' && a.kind === 'str' && b.kind === 'str' && a.text.length + b.text.length <= MAX_TEXT) {
      return str(a.text + b.text, merge([a, b]));
    }
    if (op === '+' && a.kind === 'list' && b.kind === 'list') {
      return { kind: 'list', items: [...a.items, ...b.items], ...merge([a, b]) };
    }
    return undefined;
  }

  /** Comma-separated expressions up to the closing bracket; `...spread` and generator clauses expand lists. */
  private list(i: number, close: string, env: Env): [Val[] | undefined, number] {
    const items: Val[] = [];
    let ok = true;
    let j = i;
    while (j < this.tokens.length && !this.isOp(j, close)) {
      const spread = this.isOp(j, '...') || (this.isOp(j, '*') && this.lang === 'python');
      const [v, k] = this.expr(spread ? j + 1 : j, env);
      // A bare function name stays a name (`map(chr, codes)`).
      let value = deref(v) ?? (v?.kind === 'path' ? v : undefined);
      let next = k;
      if (this.tok(next)?.text === 'for' && this.tok(next + 1)?.type === 'id' && this.tok(next + 2)?.text === 'in') {
        // Python comprehension / generator: [expr for x in iterable]
        const [iter, after] = this.expr(next + 3, env);
        const items2 = this.elements(deref(iter));
        const variable = this.tok(next + 1)?.text ?? '';
        value = items2
          ? { kind: 'list', items: this.mapEach(items2, (item) => this.expr(j, new Map([...env, [variable, item]]))[0]) ?? [], ...merge([deref(iter)], true) }
          : undefined;
        if (value?.kind === 'list' && value.items.length !== (items2?.length ?? -1)) {
          value = undefined;
        }
        next = after;
        if (value) {
          items.push(...(value.kind === 'list' ? value.items : []));
        } else {
          ok = false;
        }
      } else if (spread) {
        const els = this.elements(value);
        if (els && value && value.kind !== 'fn' && value.kind !== 'path') {
          // The spread elements keep the names and the hiding of the list they came from.
          items.push(...els.map((e) => (e.kind === 'fn' || e.kind === 'path' ? e : { ...e, ...merge([e, value]) })));
        } else {
          ok = false;
        }
      } else if (value) {
        items.push(value);
      } else {
        ok = false;
      }
      if (!ok) {
        return [undefined, this.skipToClose(next, close)];
      }
      if (next === j) {
        return [undefined, this.skipToClose(j, close)];
      }
      j = next;
      if (this.isOp(j, ',')) {
        j++;
      } else if (!this.isOp(j, close)) {
        return [undefined, this.skipToClose(j, close)];
      }
    }
    return [ok ? items : undefined, j + 1];
  }

  /** Index just past the bracket that closes the group `j` is in (the caller opened it at `open`). */
  private skipToClose(j: number, _close: string): number {
    const open = this.openerOf(j);
    return open < 0 ? this.tokens.length : this.skipGroup(open);
  }

  private openerOf(j: number): number {
    let depth = 0;
    for (let k = j - 1; k >= 0; k--) {
      const t = this.tokens[k];
      if (t?.type !== 'op') {
        continue;
      }
      if (')]}'.includes(t.text)) {
        // jump back over a whole group
        const o = this.opening[k];
        if (o !== undefined && o >= 0) {
          k = o;
          continue;
        }
        depth++;
      } else if ('([{'.includes(t.text)) {
        if (depth === 0) {
          return k;
        }
        depth--;
      }
    }
    return -1;
  }

  private mapEach(items: readonly Val[], f: (item: Val) => Val | undefined): Val[] | undefined {
    const out: Val[] = [];
    for (const item of items) {
      const v = deref(f(item));
      if (!v) {
        return undefined;
      }
      out.push(v);
    }
    return out;
  }

  /** The elements of a list, or the characters of a string. */
  private elements(v: Val | undefined): Val[] | undefined {
    if (v?.kind === 'list') {
      return v.items;
    }
    if (v?.kind === 'str') {
      return [...v.text].map((c) => str(c, { origins: v.origins, names: v.names, hidden: v.hidden }));
    }
    return undefined;
  }

  private primary(i: number, env: Env): [Val | undefined, number] {
    const t = this.tok(i);
    if (!t || --this.budget < 0) {
      return [undefined, this.tokens.length];
    }
    const origin: Origin = { line: t.line, start: t.col, end: t.col + t.text.length };
    if (t.type === 'str') {
      if (t.template !== undefined) {
        return [this.template(t, env), i + 1];
      }
      if (t.value === undefined) {
        return [undefined, i + 1];
      }
      return [
        { kind: 'str', text: t.value, origins: [origin], names: [], hidden: t.hidden === true, ...(t.regex ? { regex: true } : {}) },
        i + 1,
      ];
    }
    if (t.type === 'num') {
      const n = numberOf(t.text);
      return [n === undefined ? undefined : { kind: 'num', n, origins: [origin], names: [], hidden: false }, i + 1];
    }
    if (t.type === 'id') {
      if (t.text === 'new') {
        return this.postfix(i + 1, env);
      }
      if (t.text === 'lambda') {
        let colon = i + 1;
        while (colon < this.tokens.length && colon < i + 32 && !this.isOp(colon, ':')) {
          colon++;
        }
        if (!this.isOp(colon, ':')) {
          return [undefined, i + 1];
        }
        const params = this.tokens.slice(i + 1, colon).filter((x) => x.type === 'id').map((x) => x.text);
        const [, end] = this.expr(colon + 1, env);
        return [{ kind: 'fn', params, body: colon + 1, env }, end];
      }
      if (this.isOp(i + 1, '=>')) {
        const [, end] = this.expr(i + 2, env);
        return [{ kind: 'fn', params: [t.text], body: i + 2, env }, end];
      }
      if (KEYWORDS.has(t.text) && !/^(?:string|bytes|str)$/.test(t.text)) {
        return [undefined, i + 1];
      }
      return [{ kind: 'path', path: t.text, value: this.lookup(t.text, env) }, i + 1];
    }
    if (t.text === '(') {
      const close = this.skipGroup(i);
      if (this.isOp(close, '=>')) {
        const params = this.params(i, close);
        const bodyAt = this.isOp(close + 1, '{') ? this.returnBody(close + 1) : close + 1;
        const end = this.isOp(close + 1, '{') ? this.skipGroup(close + 1) : this.expr(close + 1, env)[1];
        return [bodyAt === undefined ? undefined : { kind: 'fn', params, body: bodyAt, env }, end];
      }
      const [items, end] = this.list(i + 1, ')', env);
      return [items?.length === 1 ? items[0] : items ? { kind: 'list', items, ...merge(items) } : undefined, end];
    }
    if (t.text === '[' || t.text === '{') {
      // Go and Java array types before an initializer: []byte{...}, char[] {...}
      if (t.text === '[' && this.isOp(i + 1, ']')) {
        let j = i + 2;
        while (this.tok(j)?.type === 'id' || this.isOp(j, '.')) {
          j++;
        }
        if (this.isOp(j, '{')) {
          return this.primary(j, env);
        }
        if (this.isOp(j, '(')) {
          return this.postfix(j, env); // []byte("...")
        }
      }
      const close = t.text === '[' ? ']' : '}';
      const [items, end] = this.list(i + 1, close, env);
      return [items ? { kind: 'list', items, ...merge(items) } : undefined, end];
    }
    if (t.text === '-' && this.tok(i + 1)?.type === 'num') {
      const [v, end] = this.primary(i + 1, env);
      return [v?.kind === 'num' ? { ...v, n: -v.n } : undefined, end];
    }
    return [undefined, i];
  }

  private template(t: Token, env: Env): Val | undefined {
    const body = t.template ?? '';
    const origin: Origin = { line: t.line, start: t.col, end: t.col + t.text.length };
    let out = '';
    let i = 0;
    const metas: Val[] = [];
    while (i < body.length) {
      const open = body.indexOf('${', i);
      if (open < 0) {
        out += body.slice(i);
        break;
      }
      out += body.slice(i, open);
      let depth = 0;
      let j = open + 2;
      for (; j < body.length; j++) {
        const ch = body.charAt(j);
        if (ch === '{') {
          depth++;
        } else if (ch === '}') {
          if (depth === 0) {
            break;
          }
          depth--;
        }
      }
      const inner = body.slice(open + 2, j);
      const lexed = lex(inner, this.lang);
      const sub = new Evaluator(tokenize(inner, this.lang, lexed.kinds, lexed.strings), this.lang);
      // Names resolve in this file: share the bindings of the outer evaluator.
      sub.adopt(this);
      sub.budget = this.budget;
      const [v] = sub.expr(0, env);
      const text = asText(deref(v));
      if (text === undefined) {
        return undefined;
      }
      const dv = deref(v);
      if (dv) {
        metas.push(dv);
      }
      out += text;
      i = j + 1;
    }
    const m = merge(metas, true);
    return str(unescape(out, false).value, { ...m, origins: [origin] });
  }

  private adopt(outer: Evaluator): void {
    this.lookup = (name, env) => outer.lookup(name, env);
  }

  private postfix(i: number, env: Env): [Val | undefined, number] {
    let [v, j] = this.primary(i, env);
    for (let guard = 0; guard < 64; guard++) {
      if (this.isOp(j, '.') && this.tok(j + 1)?.type === 'id') {
        const member = this.tok(j + 1)?.text ?? '';
        const receiver = v;
        if (this.isOp(j + 2, '(')) {
          const [args, end] = this.list(j + 3, ')', env);
          v = this.call(receiver, member, args);
          j = end;
        } else {
          const base = receiver?.kind === 'path' ? receiver.path : '?';
          v = { kind: 'path', path: `${base}.${member}` };
          j += 2;
        }
        continue;
      }
      if (this.isOp(j, '(')) {
        const [args, end] = this.list(j + 1, ')', env);
        v = this.call(undefined, '', args, v);
        j = end;
        continue;
      }
      if (this.isOp(j, '[')) {
        const close = this.skipGroup(j);
        const inner = this.tokens.slice(j + 1, close - 1).map((x) => x.text).join('');
        const value = deref(v);
        v =
          inner === '::-1' && value
            ? this.reverse(value)
            : inner === ':' || inner === '::'
              ? value
              : undefined;
        j = close;
        continue;
      }
      if (this.isOp(j, '{') && v?.kind === 'path' && /^(?:byte|rune|string|char)$/i.test(v.path.split('.').pop() ?? '')) {
        return this.primary(j, env); // Go composite literal after a type
      }
      break;
    }
    return [v, j];
  }

  private reverse(v: Val): Val | undefined {
    if (v.kind === 'str') {
      return str([...v.text].reverse().join(''), { ...merge([v], true) });
    }
    if (v.kind === 'list') {
      return { kind: 'list', items: [...v.items].reverse(), ...merge([v], true) };
    }
    return undefined;
  }

  private invoke(fn: Val | undefined, args: readonly Val[]): Val | undefined {
    const f = deref(fn) ?? fn;
    if (f?.kind === 'fn') {
      const env = new Map(f.env);
      f.params.forEach((p, k) => {
        const a = args[k];
        if (a) {
          env.set(p, a);
        }
      });
      return deref(this.expr(f.body, env)[0]);
    }
    if (fn?.kind === 'path') {
      return this.call(undefined, '', [...args], fn);
    }
    return undefined;
  }

  /** A call: `receiver.member(args)` or `callee(args)`. */
  private call(receiver: Val | undefined, member: string, args: Val[] | undefined, callee?: Val): Val | undefined {
    if (!args) {
      return undefined;
    }
    const path = callee?.kind === 'path' ? callee.path : receiver?.kind === 'path' ? `${receiver.path}.${member}` : member;
    const name = (member || path.split('.').pop() || '').toLowerCase();
    const lowerPath = path.toLowerCase();
    const self = deref(receiver);
    const [a0, a1, a2] = args.map(deref);
    const hide = (text: string | undefined, from: (Val | undefined)[]): Val | undefined =>
      text === undefined || text.length > MAX_TEXT ? undefined : str(text, merge(from, true));
    const keep = (text: string | undefined, from: (Val | undefined)[]): Val | undefined =>
      text === undefined || text.length > MAX_TEXT ? undefined : str(text, merge(from));
    const encoding = (v: Val | undefined): string => (v?.kind === 'str' ? v.text.toLowerCase().replace(/[-_]/g, '') : '');

    // User functions of this file.
    if (!self && !member) {
      const fn = this.functions.get(path);
      if (fn) {
        return this.invoke({ kind: 'fn', params: fn.params, body: fn.body, env: EMPTY_ENV }, args);
      }
      if (callee?.kind === 'path' && callee.value?.kind === 'fn') {
        return this.invoke(callee.value, args);
      }
    }
    // Methods on a constant value.
    if (self && self.kind !== 'fn' && self.kind !== 'path') {
      const text = asText(self);
      switch (name) {
        case 'join':
          if (self.kind === 'str') {
            const items = this.elements(a0);
            const parts = items?.map((x) => asText(x));
            return parts?.every((p) => p !== undefined) ? hide(parts.join(self.text), [a0]) : undefined;
          }
          return hide(this.elements(self)?.map((x) => asText(x) ?? '').join(asText(a0) ?? ','), [self]);
        case 'reverse':
        case 'reversed':
          return this.reverse(self);
        case 'split':
          if (self.kind === 'str' && asText(a0) === '') {
            return { kind: 'list', items: this.elements(self) ?? [], ...merge([self]) };
          }
          return undefined;
        case 'map':
          if (self.kind === 'list' || self.kind === 'str') {
            const items = this.elements(self);
            const mapped = items && this.mapEach(items, (item) => this.invoke(a0, [item]));
            return mapped ? { kind: 'list', items: mapped, ...merge([self, ...mapped], true) } : undefined;
          }
          return undefined;
        case 'replace':
        case 'replaceall':
          if (text !== undefined && a0?.kind === 'str' && a1?.kind === 'str') {
            return hide(
              name === 'replaceall' || this.lang === 'python' || this.lang === 'java'
                ? text.split(a0.text).join(a1.text)
                : text.replace(a0.text, a1.text),
              [self],
            );
          }
          return undefined;
        case 'decode':
        case 'encode':
          if (a0?.kind === 'str' && /rot13|rot_13/i.test(a0.text)) {
            return hide(text === undefined ? undefined : rot13(text), [self]);
          }
          if (lowerPath.includes('base64') || lowerPath.includes('decoder')) {
            return hide(text === undefined ? undefined : decodeBase64(text), [self]);
          }
          return keep(text, [self]);
        case 'tostring':
        case 'string':
        case 'strip':
        case 'trim':
        case 'decodetostring':
        case 'getbytes':
        case 'tochararray':
        case 'tolist':
          if (a0?.kind === 'str' && /^(?:base64|hex)$/.test(encoding(a0)) && text !== undefined) {
            return keep(Buffer.from(text, 'latin1').toString(encoding(a0) === 'hex' ? 'hex' : 'base64'), [self]);
          }
          return keep(text, [self]);
        default:
          break;
      }
    }
    // Decoders and conversions, by name.
    const text0 = asText(a0);
    if (/(?:^|\.)(?:b64decode|urlsafe_b64decode|standard_b64decode|decodebytes|decodestring|atob|a2b_base64)$/.test(lowerPath)) {
      return hide(text0 === undefined ? undefined : decodeBase64(text0), [a0]);
    }
    if (/(?:^|\.)(?:unhexlify|fromhex|a2b_hex|b16decode)$/.test(lowerPath)) {
      return hide(text0 === undefined ? undefined : decodeHex(text0), [a0]);
    }
    if (/decodestring$|\.decode$/.test(lowerPath) && /base64|encoding/.test(lowerPath)) {
      return hide(text0 === undefined ? undefined : decodeBase64(text0), [a0]);
    }
    if (/hex\.decodestring$|hex\.decode$/.test(lowerPath)) {
      return hide(text0 === undefined ? undefined : decodeHex(text0), [a0]);
    }
    if (/(?:^|\.)codecs\.(?:decode|encode)$/.test(lowerPath) || (lowerPath === 'decode' && a1)) {
      const enc = encoding(a1);
      if (text0 === undefined) {
        return undefined;
      }
      return enc === 'rot13'
        ? hide(rot13(text0), [a0])
        : enc === 'hex'
          ? hide(decodeHex(text0), [a0])
          : enc === 'base64'
            ? hide(decodeBase64(text0), [a0])
            : keep(text0, [a0]);
    }
    if (/(?:^|\.)(?:decodeuricomponent|decodeuri|unescape|unquote|unquote_plus|queryunescape|pathunescape)$/.test(lowerPath) || lowerPath === 'urldecoder.decode') {
      return hide(text0 === undefined ? undefined : decodeUrl(text0), [a0]);
    }
    if (lowerPath === 'buffer.from') {
      const enc = encoding(a1);
      if (text0 === undefined) {
        return undefined;
      }
      return enc === 'base64' || enc === 'base64url'
        ? hide(decodeBase64(text0), [a0])
        : enc === 'hex'
          ? hide(decodeHex(text0), [a0])
          : keep(text0, [a0]);
    }
    if (/(?:^|\.)fromcharcode$|(?:^|\.)fromcodepoint$/.test(lowerPath)) {
      const codes = args.length === 1 && a0?.kind === 'list' ? a0.items : args;
      return hide(asText({ kind: 'list', items: codes, ...merge(codes) }), args.length === 1 ? [a0] : codes);
    }
    if (/^(?:chr|rune|char)$/.test(lowerPath) && a0?.kind === 'num') {
      return hide(String.fromCodePoint(a0.n), [a0]);
    }
    if (lowerPath === 'map' && a1) {
      const items = this.elements(a1);
      const fn = args[0];
      const mapped = items && this.mapEach(items, (item) => this.invoke(fn, [item]));
      return mapped ? { kind: 'list', items: mapped, ...merge([a1, ...mapped], true) } : undefined;
    }
    if (/^(?:reversed)$/.test(lowerPath) && a0) {
      return this.reverse(a0);
    }
    if (/^(?:strings\.join|string\.join)$/.test(lowerPath)) {
      const [list, sep] = lowerPath === 'strings.join' ? [a0, a1] : [args.length === 2 && a1?.kind === 'list' ? a1 : { kind: 'list' as const, items: args.slice(1).map((x) => deref(x) as Val), ...merge(args.slice(1)) }, a0];
      const parts = this.elements(list)?.map((x) => asText(x));
      return parts?.every((p) => p !== undefined) ? hide(parts.join(asText(sep) ?? ''), [list]) : undefined;
    }
    if (/^strings\.(?:replace|replaceall)$/.test(lowerPath)) {
      if (text0 === undefined || a1?.kind !== 'str' || a2?.kind !== 'str') {
        return undefined;
      }
      const count = lowerPath.endsWith('all') ? -1 : deref(args[3])?.kind === 'num' ? (deref(args[3]) as { n: number }).n : -1;
      let out = text0;
      if (count < 0) {
        out = text0.split(a1.text).join(a2.text);
      } else {
        for (let k = 0; k < count && a1.text !== ''; k++) {
          out = out.replace(a1.text, a2.text);
        }
      }
      return hide(out, [a0]);
    }
    if (/^(?:bytes|bytearray|string|str|list|array\.from|new string|stringbuilder|stringbuffer|string\.valueof|string\.copyvalueof|\[\]byte|tuple)$/.test(lowerPath)) {
      const enc = lowerPath === 'stringbuilder' || lowerPath === 'stringbuffer' ? '' : encoding(a1);
      if (enc === 'rot13') {
        return hide(text0 === undefined ? undefined : rot13(text0), [a0]);
      }
      if (lowerPath === 'list' || lowerPath === 'tuple' || lowerPath === 'array.from') {
        return a0 && (a0.kind === 'str' || a0.kind === 'list') ? { kind: 'list', items: this.elements(a0) ?? [], ...merge([a0]) } : undefined;
      }
      return a0?.kind === 'list' ? hide(text0, [a0]) : keep(text0, [a0]);
    }
    if (lowerPath === 'string' || lowerPath === 'str') {
      return keep(text0, [a0]);
    }
    // An unknown call on a name (`Base64.getDecoder()`, `base64.StdEncoding`): keep the path for what follows.
    return !self && (receiver?.kind === 'path' || callee?.kind === 'path') ? { kind: 'path', path } : undefined;
  }

  /** Every constant string value written in the file that a plain literal does not show as is. */
  derived(): DerivedValue[] {
    const out: DerivedValue[] = [];
    const seen = new Map<string, DerivedValue>();
    const t = this.tokens;
    let enclosing: string | undefined;
    const emit = (v: Val | undefined, target: string | undefined, at: Token): void => {
      const value = deref(v);
      const text = asText(value);
      if (!value || value.kind === 'fn' || value.kind === 'path' || text === undefined || text.length < 6) {
        return;
      }
      if (value.kind === 'list' && !value.items.every((x) => x.kind === 'str')) {
        return; // numbers are data until a decoder turns them into text
      }
      // A list of characters is a string written so that no literal shows it.
      const hidden = value.hidden || value.kind === 'list';
      if ((value.origins.length === 1 && !hidden && !value.regex) || !isPrintableText(text)) {
        return;
      }
      const lines = new Set(value.origins.map((o) => o.line));
      const single = lines.size === 1 ? value.origins : undefined;
      const line = single ? (single[0]?.line ?? at.line) : at.line;
      const column = single ? Math.min(...single.map((o) => o.start)) : at.col;
      const endColumn = single ? Math.max(...single.map((o) => o.end)) : at.col + at.text.length;
      const key = `${line}:${text}`;
      const names = [...(target ? [target] : []), ...value.names];
      const earlier = seen.get(key);
      if (earlier) {
        // The same value reached again (`PARTS = [...]`, then `PASSWORD = ''.join(PARTS)`): one value, more names.
        earlier.names = [...new Set([...earlier.names, ...names])];
        earlier.hidden ||= hidden;
        return;
      }
      const entry: DerivedValue = {
        line,
        column,
        endColumn,
        value: text,
        names: [...new Set(names)],
        hidden,
        regex: value.regex === true,
      };
      seen.set(key, entry);
      out.push(entry);
    };
    for (let i = 0; i < t.length; i++) {
      const tk = t[i];
      if (!tk) {
        continue;
      }
      if (tk.type === 'op' && (tk.text === '=' || tk.text === ':=')) {
        const name = this.targetName(i);
        if (name !== undefined) {
          this.budget = MAX_STEPS;
          emit(this.lookup(name, EMPTY_ENV) ?? this.evaluate(i + 1), name, t[i + 1] ?? tk);
          continue;
        }
      }
      enclosing = this.declaredFunction(i) ?? enclosing;
      if (tk.type === 'id' && tk.text === 'return') {
        // What a function returns is named by the function (`def webhook_secret(): return …`).
        emit(this.evaluate(i + 1), enclosing, t[i + 1] ?? tk);
        continue;
      }
      // Object and dict entries: {"key": expr, key: expr}
      if (
        tk.type === 'op' &&
        tk.text === ':' &&
        (t[i - 1]?.type === 'str' || t[i - 1]?.type === 'id') &&
        (this.isOp(i - 2, '{') || this.isOp(i - 2, ','))
      ) {
        const key = t[i - 1];
        const name = key?.type === 'str' ? key.value : key?.text;
        emit(this.evaluate(i + 1), name, t[i + 1] ?? tk);
      }
    }
    return out;
  }
}

/** Lines that hold a comment, or lie inside a multi-line string body (heredocs, raw strings, templates). */
function textLinesOf(src: string, kinds: Uint8Array, strings: ReturnType<typeof lex>['strings']): Set<number> {
  const starts = lineStarts(src);
  const lines = new Set<number>();
  let line = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src.charCodeAt(i);
    if (c === 10) {
      line++;
    } else if (c > 32 && kinds[i] === K_COMMENT) {
      lines.add(line);
    }
  }
  for (const s of strings) {
    const first = lineOf(starts, s.contentStart);
    const last = lineOf(starts, s.contentEnd);
    for (let l = first; l <= last && last > first; l++) {
      lines.add(l);
    }
  }
  return lines;
}

/**
 * Lex `text` as `language` and evaluate its constant string expressions; the text lines are the
 * lines holding comments and string bodies, where a `KEY=value` is read even in code files.
 */
export function analyzeConstants(text: string, language: Language): SourceConstants {
  const { kinds, strings } = lex(text, language);
  const tokens = tokenize(text, language, kinds, strings);
  const evaluator = new Evaluator(tokens, language);
  evaluator.index();
  let derived: DerivedValue[] = [];
  try {
    derived = evaluator.derived();
  } catch (e) {
    // A construct the evaluator does not follow must not cost the file its plain findings.
    if (!(e instanceof RangeError)) {
      throw e;
    }
  }
  return { derived, textLines: textLinesOf(text, kinds, strings) };
}
