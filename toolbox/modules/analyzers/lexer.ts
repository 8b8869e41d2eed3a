// Per-language lexer shared by the pattern rules (./patterns) and the secret detector's constant
// evaluator (../secrets/constants): it classifies every character of a source file as code, string
// content, string delimiter or comment, and records every string literal with its delimiters.
//
// Pure code (no I/O, no Node built-ins).

export type Language = 'python' | 'javascript' | 'typescript' | 'go' | 'java' | 'php' | 'ruby' | 'c';

// ---------------------------------------------------------------------------------------------
// Languages
// ---------------------------------------------------------------------------------------------

const EXTENSIONS: Readonly<Record<string, Language>> = {
  py: 'python',
  pyw: 'python',
  js: 'javascript',
  mjs: 'javascript',
  cjs: 'javascript',
  jsx: 'javascript',
  ts: 'typescript',
  tsx: 'typescript',
  mts: 'typescript',
  cts: 'typescript',
  go: 'go',
  java: 'java',
  php: 'php',
  phtml: 'php',
  rb: 'ruby',
  rake: 'ruby',
  c: 'c',
  h: 'c',
  cc: 'c',
  cpp: 'c',
  cxx: 'c',
  hh: 'c',
  hpp: 'c',
  hxx: 'c',
};

/** The language of a file, by extension; undefined for files no rule applies to. */
export function languageOf(path: string): Language | undefined {
  const name = path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')) + 1);
  const dot = name.lastIndexOf('.');
  if (dot <= 0) {
    return undefined; // no extension, or a dotfile such as .eslintrc
  }
  return EXTENSIONS[name.slice(dot + 1).toLowerCase()];
}

// ---------------------------------------------------------------------------------------------
// Lexer: classifies every character as code, string content, string delimiter or comment
// ---------------------------------------------------------------------------------------------

export const CODE = 0;
export const STR = 1;
export const DELIM = 2;
export const COMMENT = 3;

export interface RawString {
  /** Offset of the opening delimiter, including a prefix such as f, r or b. */
  start: number;
  contentStart: number;
  contentEnd: number;
  /** Offset just past the closing delimiter (for heredocs: past the opening token). */
  end: number;
  /** The opening delimiter as written, e.g. `"`, `f'`, `"""`, `%x(`, `<<~SQL`. */
  quote: string;
  interpolated: boolean;
}

export interface Lexed {
  kinds: Uint8Array;
  strings: RawString[];
}

interface PendingHeredoc {
  id: string;
  start: number;
  end: number;
  quote: string;
  /** Ruby <<~/<<- and PHP allow an indented terminator. */
  indented: boolean;
  raw: boolean;
}

export const QUOTES: Readonly<Record<Language, string>> = {
  python: `'"`,
  javascript: '\'"`',
  typescript: '\'"`',
  go: '\'"`',
  java: `'"`,
  php: '\'"`',
  ruby: '\'"`',
  c: `'"`,
};

// Tokens after which a `/` starts a regular expression literal rather than a division.
const REGEX_PRECEDERS = '(,=:[!&|?{};+-*%<>~^';
const JS_REGEX_KEYWORDS = new Set([
  'return',
  'typeof',
  'instanceof',
  'in',
  'of',
  'new',
  'delete',
  'void',
  'throw',
  'case',
  'do',
  'else',
  'yield',
  'await',
]);
const RUBY_REGEX_KEYWORDS = new Set(['if', 'unless', 'elsif', 'when', 'while', 'until', 'and', 'or', 'not', 'return']);
const RUBY_PERCENT = /%([qQwWiIxrs]?)([([{<|!/^])/y;
const RUBY_HEREDOC = /<<([~-]?)(["'`]?)([A-Z_][A-Za-z0-9_]*)\2/y;
const PHP_HEREDOC = /<<<[ \t]*(["']?)([A-Za-z_]\w*)\1/y;
export const CLOSERS: Readonly<Record<string, string>> = { '(': ')', '[': ']', '{': '}', '<': '>' };

function isWordChar(ch: string): boolean {
  return /^[\w$]$/.test(ch);
}

function hasInterpolation(lang: Language, quote: string, body: string): boolean {
  switch (lang) {
    case 'python':
      return /[fF]/.test(quote) && /\{[^{}]*\}/.test(body.replace(/\{\{|\}\}/g, ''));
    case 'javascript':
    case 'typescript':
      return body.includes('${');
    case 'ruby':
      return body.includes('#{');
    case 'php':
      return /\$[A-Za-z_{]|\{\$/.test(body);
    default:
      return false;
  }
}

/** Classify every character of `src` and list its string literals (heredoc bodies included). */
export function lex(src: string, lang: Language): Lexed {
  const n = src.length;
  const kinds = new Uint8Array(n);
  const strings: RawString[] = [];
  const quotes = QUOTES[lang];
  const isJs = lang === 'javascript' || lang === 'typescript';
  const hashComments = lang === 'python' || lang === 'ruby' || lang === 'php';
  const slashComments = lang !== 'python' && lang !== 'ruby';
  const pending: PendingHeredoc[] = [];
  // PHP files start in HTML mode; files without an open tag are treated as PHP code (snippets).
  let html = lang === 'php' && src.includes('<?');

  const addString = (
    start: number,
    contentStart: number,
    contentEnd: number,
    end: number,
    interpolable: boolean,
  ): void => {
    kinds.fill(DELIM, start, contentStart);
    kinds.fill(STR, contentStart, contentEnd);
    kinds.fill(DELIM, contentEnd, end);
    const quote = src.slice(start, contentStart);
    const body = src.slice(contentStart, contentEnd);
    strings.push({
      start,
      contentStart,
      contentEnd,
      end,
      quote,
      interpolated: interpolable && hasInterpolation(lang, quote, body),
    });
  };

  // Index of the closing delimiter (or where an unterminated literal stops).
  const scan = (
    from: number,
    open: string,
    close: string,
    multiline: boolean,
    escapes: boolean,
    interp: string,
    depth: number,
  ): number => {
    let nesting = 0;
    let i = from;
    while (i < n) {
      const ch = src.charAt(i);
      if (escapes && ch === '\\') {
        i += 2;
        continue;
      }
      if (ch === close.charAt(0) && (close.length === 1 || src.startsWith(close, i))) {
        if (nesting === 0) {
          return i;
        }
        nesting--;
      } else if (open !== close && ch === open) {
        nesting++;
      } else if (ch === '\n' && !multiline) {
        return i;
      } else if (interp !== '' && ch === interp && src.charAt(i + 1) === '{') {
        i = skipInterpolation(i + 2, depth + 1);
        continue;
      }
      i++;
    }
    return n;
  };

  // Skips the code of a `${...}` / `#{...}` interpolation; returns the offset after its `}`.
  const skipInterpolation = (from: number, depth: number): number => {
    let braces = 0;
    let i = from;
    while (i < n) {
      const ch = src.charAt(i);
      if (ch === '{') {
        braces++;
      } else if (ch === '}') {
        if (braces === 0) {
          return i + 1;
        }
        braces--;
      } else if (depth < 16 && quotes.includes(ch)) {
        const interp = ch === "'" ? '' : isJs ? (ch === '`' ? '$' : '') : lang === 'ruby' ? '#' : '';
        const close = scan(i + 1, ch, ch, true, true, interp, depth);
        i = close + 1;
        continue;
      }
      i++;
    }
    return n;
  };

  const lexString = (i: number, q: string): number => {
    let start = i;
    if (lang === 'python') {
      let p = i;
      while (p > 0 && i - p < 2 && /[rRbBuUfF]/.test(src.charAt(p - 1))) {
        p--;
      }
      if (p < i && !isWordChar(src.charAt(p - 1))) {
        start = p;
      }
    }
    if (lang === 'c' && q === "'" && /[0-9a-fA-F]/.test(src.charAt(i - 1)) && /[0-9a-fA-F]/.test(src.charAt(i + 1))) {
      return i + 1; // C++14 digit separator: 1'000'000
    }
    const triple = (lang === 'python' || (lang === 'java' && q === '"')) && src.startsWith(q.repeat(3), i);
    const close = triple ? q.repeat(3) : q;
    let multiline = triple;
    let escapes = true;
    let interp = '';
    let interpolable = false;
    switch (lang) {
      case 'python':
        interpolable = /[fF]/.test(src.slice(start, i));
        break;
      case 'javascript':
      case 'typescript':
        multiline = q === '`';
        interp = q === '`' ? '$' : '';
        interpolable = q === '`';
        break;
      case 'go':
        multiline = q === '`';
        escapes = q !== '`';
        break;
      case 'php':
        multiline = true;
        interpolable = q !== "'";
        break;
      case 'ruby':
        multiline = true;
        interp = q === "'" ? '' : '#';
        interpolable = q !== "'";
        break;
      default:
        break;
    }
    const contentStart = i + close.length;
    const stop = scan(contentStart, close, close, multiline, escapes, interp, 0);
    const end = stop < n && src.startsWith(close, stop) ? stop + close.length : stop;
    addString(start, contentStart, stop, end, interpolable);
    return Math.max(end, i + 1);
  };

  const regexAllowed = (i: number, keywords: ReadonlySet<string>): boolean => {
    let p = i - 1;
    while (p >= 0 && /\s/.test(src.charAt(p))) {
      p--;
    }
    if (p < 0) {
      return true;
    }
    const ch = src.charAt(p);
    if (REGEX_PRECEDERS.includes(ch)) {
      return true;
    }
    if (isWordChar(ch)) {
      let s = p;
      while (s > 0 && isWordChar(src.charAt(s - 1))) {
        s--;
      }
      return keywords.has(src.slice(s, p + 1));
    }
    return false;
  };

  // A regular expression literal starting at i, or -1 when it does not close on this line.
  const lexRegex = (i: number): number => {
    let j = i + 1;
    let inClass = false;
    while (j < n) {
      const ch = src.charAt(j);
      if (ch === '\\') {
        j += 2;
        continue;
      }
      if (ch === '\n') {
        return -1;
      }
      if (inClass) {
        inClass = ch !== ']';
      } else if (ch === '[') {
        inClass = true;
      } else if (ch === '/') {
        break;
      }
      j++;
    }
    if (j >= n) {
      return -1;
    }
    let end = j + 1;
    while (end < n && /[a-z]/i.test(src.charAt(end))) {
      end++;
    }
    addString(i, i + 1, j, end, false);
    return end;
  };

  const rubyOperandPosition = (i: number, delimiterEnd: number): boolean => {
    if (regexAllowed(i, RUBY_REGEX_KEYWORDS)) {
      return true;
    }
    // `puts %x(ls)`: a space before the % and none after the delimiter means a literal argument.
    return /[ \t]/.test(src.charAt(i - 1)) && !/\s/.test(src.charAt(delimiterEnd));
  };

  const readHeredocs = (from: number): number => {
    let pos = from;
    let resume = n;
    for (const h of pending) {
      const bodyStart = pos;
      let term = -1;
      let termEnd = n;
      while (pos < n) {
        let eol = src.indexOf('\n', pos);
        if (eol < 0) {
          eol = n;
        }
        const text = src.slice(pos, eol).replace(/\r$/, '');
        const trimmed = text.trimStart();
        const done =
          lang === 'ruby'
            ? (h.indented ? text.trim() : text) === h.id
            : trimmed.startsWith(h.id) && !isWordChar(trimmed.charAt(h.id.length));
        if (done) {
          term = pos;
          termEnd = eol;
          break;
        }
        pos = eol + 1;
      }
      const bodyEnd = term < 0 ? n : term;
      kinds.fill(STR, bodyStart, bodyEnd);
      if (term >= 0) {
        kinds.fill(DELIM, term, termEnd);
      }
      strings.push({
        start: h.start,
        contentStart: bodyStart,
        contentEnd: bodyEnd,
        end: h.end,
        quote: h.quote,
        interpolated: !h.raw && hasInterpolation(lang, h.quote, src.slice(bodyStart, bodyEnd)),
      });
      if (term < 0) {
        resume = n;
        break;
      }
      resume = termEnd;
      pos = termEnd + 1;
    }
    pending.length = 0;
    return resume;
  };

  let i = 0;
  while (i < n) {
    if (html) {
      const open = src.indexOf('<?', i);
      const stop = open < 0 ? n : open;
      kinds.fill(COMMENT, i, stop);
      if (open < 0) {
        break;
      }
      i = open + (src.startsWith('<?php', open) ? 5 : src.startsWith('<?=', open) ? 3 : 2);
      html = false;
      continue;
    }
    const ch = src.charAt(i);
    if (ch === '\n') {
      i++;
      if (pending.length > 0) {
        i = readHeredocs(i);
      }
      continue;
    }
    if (lang === 'ruby' && (i === 0 || src.charAt(i - 1) === '\n') && /^=begin(?:\s|$)/.test(src.slice(i, i + 7))) {
      const endAt = src.indexOf('\n=end', i);
      let stop = endAt < 0 ? n : src.indexOf('\n', endAt + 1);
      if (stop < 0) {
        stop = n;
      }
      kinds.fill(COMMENT, i, stop);
      i = stop;
      continue;
    }
    if (lang === 'php' && ch === '?' && src.charAt(i + 1) === '>') {
      html = true;
      i += 2;
      continue;
    }
    if ((hashComments && ch === '#') || (slashComments && ch === '/' && src.charAt(i + 1) === '/')) {
      let stop = src.indexOf('\n', i);
      if (stop < 0) {
        stop = n;
      }
      if (lang === 'php') {
        const closeTag = src.indexOf('?>', i);
        if (closeTag >= 0 && closeTag < stop) {
          stop = closeTag; // `?>` ends a PHP line comment
        }
      }
      kinds.fill(COMMENT, i, stop);
      i = stop;
      continue;
    }
    if (slashComments && ch === '/' && src.charAt(i + 1) === '*') {
      const close = src.indexOf('*/', i + 2);
      const stop = close < 0 ? n : close + 2;
      kinds.fill(COMMENT, i, stop);
      i = stop;
      continue;
    }
    if (quotes.includes(ch)) {
      i = lexString(i, ch);
      continue;
    }
    if (ch === '/' && (isJs || lang === 'ruby') && regexAllowed(i, isJs ? JS_REGEX_KEYWORDS : RUBY_REGEX_KEYWORDS)) {
      const end = lexRegex(i);
      i = end < 0 ? i + 1 : end;
      continue;
    }
    if (lang === 'ruby' && ch === '%') {
      RUBY_PERCENT.lastIndex = i;
      const m = RUBY_PERCENT.exec(src);
      if (m && rubyOperandPosition(i, i + m[0].length)) {
        const type = m[1] ?? '';
        const open = m[2] ?? '(';
        const close = CLOSERS[open] ?? open;
        const contentStart = i + m[0].length;
        const interpolable = type === '' || 'QWIxr'.includes(type);
        const stop = scan(contentStart, open, close, true, true, interpolable ? '#' : '', 0);
        const end = stop < n ? stop + 1 : n;
        addString(i, contentStart, stop, end, interpolable);
        i = end;
        continue;
      }
    }
    if (lang === 'ruby' && ch === '<' && src.charAt(i + 1) === '<' && src.charAt(i - 1) !== '<') {
      RUBY_HEREDOC.lastIndex = i;
      const m = RUBY_HEREDOC.exec(src);
      if (m) {
        const end = i + m[0].length;
        kinds.fill(DELIM, i, end);
        pending.push({ id: m[3] ?? '', start: i, end, quote: m[0], indented: m[1] !== '', raw: m[2] === "'" });
        i = end;
        continue;
      }
    }
    if (lang === 'php' && ch === '<' && src.startsWith('<<<', i)) {
      PHP_HEREDOC.lastIndex = i;
      const m = PHP_HEREDOC.exec(src);
      if (m) {
        const end = i + m[0].length;
        kinds.fill(DELIM, i, end);
        pending.push({ id: m[2] ?? '', start: i, end, quote: m[0], indented: true, raw: m[1] === "'" });
        i = end;
        continue;
      }
    }
    i++;
  }
  return { kinds, strings };
}
