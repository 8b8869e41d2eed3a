// The per-line view of a lexed source file that the pattern detectors run on (comment-free and
// string-free renderings of each line, its string literals, call arguments and how a literal is
// made dynamic), and the small framework a detector is written in (./sinks, ./credentials).

import { CODE, COMMENT, lex, STR, type Language } from './lexer';
import type { RuleId } from './rules';

/** Lines longer than this are minified or generated code: skipped. */
export const MAX_LINE_LENGTH = 10_000;

// ---------------------------------------------------------------------------------------------
// Per-line view of a lexed file
// ---------------------------------------------------------------------------------------------

export interface StrLit {
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

export interface Line {
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

export interface Secret {
  start: number;
  end: number;
  replacement: string;
  value: string;
}

export interface Ctx {
  lang: Language;
  lines: Line[];
  /** The whole comment-free source, for file-level conditions such as imports. */
  text: string;
  memo: Map<string, unknown>;
}

export function render(src: string, kinds: Uint8Array, hideStrings: boolean): string {
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

export function buildContext(src: string, lang: Language): Ctx {
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

export function memo<T>(ctx: Ctx, key: string, compute: () => T): T {
  if (!ctx.memo.has(key)) {
    ctx.memo.set(key, compute());
  }
  return ctx.memo.get(key) as T;
}

export function skipWs(s: string, i: number): number {
  let j = i;
  while (j < s.length && (s.charAt(j) === ' ' || s.charAt(j) === '\t')) {
    j++;
  }
  return j;
}

/** The next line that has code on it (within a few lines), for arguments continued on a new line. */
export function nextCodeLine(ctx: Ctx, index: number): Line | undefined {
  for (let k = index + 1; k < ctx.lines.length && k <= index + 3; k++) {
    const line = ctx.lines[k];
    if (line && !line.skip && line.code.trim() !== '') {
      return line;
    }
  }
  return undefined;
}

export interface Segment {
  line: Line;
  from: number;
  to: number;
}

/**
 * The argument list of a call whose arguments start at (index, col): up to the matching `)` when
 * `paren`, else to the end of the line. Follows at most 10 lines.
 */
export function callRegion(ctx: Ctx, index: number, col: number, paren = true): Segment[] {
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

export function callText(ctx: Ctx, index: number, col: number, view: 'code' | 'full' = 'code'): string {
  return callRegion(ctx, index, col)
    .map((s) => s.line[view].slice(s.from, s.to))
    .join('\n');
}

export type How = 'concatenation' | 'formatting' | 'interpolation';

export const FORMAT_CALL_BEFORE = /(?:\bSprintf|\bString\s*\.\s*format|\bsn?printf|\bformat)\s*\((?:[^()]|\([^()]*\))*$/;
export const FORMAT_VERB = /%[-+ #0-9.]*[sdvqifxXu]/;

/** How a literal is turned into a dynamic string, or undefined when it stays constant. */
export function dynamicHow(ctx: Ctx, startLine: Line, lit: StrLit): How | undefined {
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

export type Arg =
  | { kind: 'none' }
  | { kind: 'const'; lit: StrLit }
  | { kind: 'string'; lit: StrLit; how: How }
  | { kind: 'list' }
  | { kind: 'expr'; text: string };

/** Classifies the first argument of a call, which starts at (line, col). */
export function argAt(ctx: Ctx, start: Line, col: number): Arg {
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

export function isDynamic(a: Arg): boolean {
  return a.kind === 'string' || a.kind === 'expr';
}

/** True when every argument of the call starting at (line, col) is a constant string literal. */
export function allArgsConstant(ctx: Ctx, line: Line, col: number): boolean {
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

/** Report a span of a line; `secretKind` is the secret detector's kind for credential rules. */
export type Emit = (line: Line, start: number, end: number, message: string, secretKind?: string) => void;

export interface Detector {
  rule: RuleId;
  langs: readonly Language[];
  run(ctx: Ctx, emit: Emit): void;
}

export interface PatternSpec {
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

export const PY: readonly Language[] = ['python'];
export const JS: readonly Language[] = ['javascript', 'typescript'];
export const GO: readonly Language[] = ['go'];
export const JAVA: readonly Language[] = ['java'];
export const PHP: readonly Language[] = ['php'];
export const RUBY: readonly Language[] = ['ruby'];
export const C: readonly Language[] = ['c'];
export const ALL: readonly Language[] = ['python', 'javascript', 'typescript', 'go', 'java', 'php', 'ruby', 'c'];

// Declarations such as `def eval(` or `function exec(` are not calls.
export const DEFINITION_BEFORE = /\b(?:def|function|func)\s+$/;

export function group(m: RegExpExecArray, name: string): string {
  return (m.groups?.[name] ?? '').replace(/\s+/g, '');
}

export function spanOf(m: RegExpExecArray): [number, number] {
  const hit = m.indices?.groups?.['hit'];
  if (hit) {
    return hit;
  }
  return [m.index, m.index + m[0].replace(/[\s(]+$/, '').length];
}

export function hasText(re: RegExp): (ctx: Ctx) => boolean {
  return (ctx) => re.test(ctx.text);
}

export function pattern(rule: RuleId, langs: readonly Language[], spec: PatternSpec): Detector {
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
export function literal(
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

