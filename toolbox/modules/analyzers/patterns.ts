// Language-aware security pattern rules for the security_assessment workflow.
//
// Pure code (no I/O, no Node built-ins): callers pass source text and get findings back. A small
// per-language lexer first blanks comments, so commented-out code never matches, and records string
// literals, so rules can tell `os.system("ls")` from `os.system(cmd)` and read credential values.
// Rules then run line by line on that comment-free text.

import { buildContext, type Detector, type Line, type Secret } from './context';
import { CREDENTIALS, PEM_HEADER, scanSecrets } from './credentials';
import { NOSQL_INJECTION, OPEN_REDIRECT, SSRF } from './flows';
import { QUOTES, type Language } from './lexer';
import { PATTERN_RULES, type PatternRule, type RuleId } from './rules';
import {
  AUTOESCAPE_DISABLED,
  CODE_EVALUATION,
  COMMAND_INJECTION,
  ECB_MODE,
  SQL_INJECTION,
  UNSAFE_DESERIALIZATION,
  WEAK_CIPHER,
  WEAK_HASH,
} from './sinks';

export { MAX_LINE_LENGTH } from './context';
export { languageOf, type Language } from './lexer';
export { PATTERN_RULES, type PatternRule, type RuleCategory, type RuleLevel } from './rules';
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
  /** Credential rules: the secret detector's kind (generic-secret, github-token, ...). */
  secretKind?: string;
}

export interface ScanOptions {
  /** Only run these rule ids (unknown ids are ignored). All rules when omitted. */
  ruleIds?: readonly string[];
}

const MAX_SNIPPET_LENGTH = 200;
const DETECTORS: readonly Detector[] = [
  ...COMMAND_INJECTION,
  ...SQL_INJECTION,
  ...CODE_EVALUATION,
  ...UNSAFE_DESERIALIZATION,
  ...WEAK_HASH,
  ...WEAK_CIPHER,
  ...ECB_MODE,
  ...AUTOESCAPE_DISABLED,
  ...OPEN_REDIRECT,
  ...SSRF,
  ...NOSQL_INJECTION,
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
  const hits = new Map<
    string,
    { rule: RuleId; line: Line; start: number; end: number; message: string; secretKind?: string }
  >();
  for (const detector of detectors) {
    detector.run(ctx, (line, start, end, message, secretKind) => {
      const key = `${detector.rule}\0${line.index}`;
      const previous = hits.get(key);
      if (!previous || start < previous.start) {
        hits.set(key, {
          rule: detector.rule,
          line,
          start,
          end: Math.max(end, start + 1),
          message,
          ...(secretKind ? { secretKind } : {}),
        });
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
    ...(h.secretKind ? { secretKind: h.secretKind } : {}),
  }));
  return findings.sort(
    (a, b) => a.line - b.line || a.column - b.column || (a.ruleId < b.ruleId ? -1 : a.ruleId > b.ruleId ? 1 : 0),
  );
}
