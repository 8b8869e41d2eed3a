// Redaction of every SARIF run before it is stored: no secret value of the target may reach
// MinIO, the merged log, the CLI or the editor, whichever tool reported it. Our secret detector
// shows a secret as its first 4 characters and "…" (or "****" when short); every other tool's
// messages, snippets (region and contextRegion), properties, rule help and notifications get the
// same treatment here:
// - a result that reports a hard-coded secret (weakness.ts: CWE-798/259/321, bandit B105-B107,
//   gosec G101, secret rules, secret detectors) has EVERY quoted literal in its texts redacted,
//   because the literal is the secret ("Possible hardcoded password: 'hunter2'");
// - in any text, a quoted value assigned to a secret-looking name (`DB_PASSWORD = "..."`,
//   `password="..."`, `"apiKey": "..."`) is redacted, so a context line next to an SQL injection
//   does not carry the password of the line above;
// - then the secret detector's own scrubber masks token formats and random-looking runs.
// Pure code, no I/O.
import type { SarifLog, SarifResult, SarifRule, SarifRun } from '../../../backend/sarif/types';
import { isSecretName, redact, scrubText } from '../secrets/detector';
import { isCredentialResult, ruleOf } from './weakness';

// A quoted literal: '...', "..." or `...` on one line, with backslash escapes.
const LITERAL = /(['"`])((?:\\.|(?!\1)[^\\\n])*)\1/g;
// `name = "value"`, `name: 'value'`, `"name": "value"`, `name := "value"`, `name => "value"`.
// The name is bounded: unbounded, a long run of word characters made the match quadratic.
const NAMED_LITERAL = /(["']?)([A-Za-z_$][\w$.-]{0,127})\1(\s*(?::=|=>|[:=])\s*)(['"`])((?:\\.|(?!\4)[^\\\n])*)\4/g;

/**
 * Longer texts are cut before redaction: no tool writes a useful message of this size, and a
 * hostile one must not keep the worker busy for minutes (every vertical shares its event loop).
 */
export const MAX_REDACTED_TEXT = 16 * 1024;

/** Already shown redacted (by us or by the tool), or too empty to be a secret. */
function isRedacted(value: string): boolean {
  return (
    value.trim() === '' || value.endsWith('…') || /^\*+$/.test(value) || /^<redacted>$|^\[redacted\]$/i.test(value)
  );
}

function redactValue(value: string): string {
  return isRedacted(value) ? value : redact(value);
}

/**
 * Texts already redacted, by text: a tool reports the same rules' descriptions and help, and mostly
 * the same messages, run after run (a run on every save), and each text went through every
 * pattern of the scrubber each time. Bounded by characters held; emptied when full.
 */
const redactedBefore = new Map<string, string>();
let redactedBeforeChars = 0;
const REDACTED_BEFORE_MAX_CHARS = 8 * 1024 * 1024;

/** Redact the values of quoted literals assigned to secret-looking names, then scrub the text. */
export function redactText(text: string, options: { everyLiteral?: boolean } = {}): string {
  const key = `${options.everyLiteral ? 1 : 0}${text}`;
  const known = redactedBefore.get(key);
  if (known !== undefined) {
    return known;
  }
  const out = redactTextOnce(text, options);
  if (redactedBeforeChars + key.length + out.length > REDACTED_BEFORE_MAX_CHARS) {
    redactedBefore.clear();
    redactedBeforeChars = 0;
  }
  redactedBefore.set(key, out);
  redactedBeforeChars += key.length + out.length;
  return out;
}

function redactTextOnce(text: string, options: { everyLiteral?: boolean }): string {
  if (text.length > MAX_REDACTED_TEXT) {
    text = `${text.slice(0, MAX_REDACTED_TEXT)}… (cut at ${MAX_REDACTED_TEXT} characters)`;
  }
  let out = text.replace(
    NAMED_LITERAL,
    (all, nameQuote: string, name: string, op: string, quote: string, value: string) =>
      isSecretName(name) ? `${nameQuote}${name}${nameQuote}${op}${quote}${redactValue(value)}${quote}` : all,
  );
  if (options.everyLiteral) {
    out = out.replace(LITERAL, (_all, quote: string, value: string) => `${quote}${redactValue(value)}${quote}`);
  }
  return scrubText(out);
}

// Keys whose strings are identifiers, not text a tool wrote from the code.
const STRUCTURAL_KEYS = new Set([
  'ruleId',
  'uri',
  'uriBaseId',
  'level',
  'kind',
  'baselineState',
  'partialFingerprints',
  'fingerprints',
  'guid',
  'correlationGuid',
  'id',
  'helpUri',
  'tool',
  'status',
]);

/** Every string of a JSON value passed through `fn`, except under structural keys. */
function mapStrings(value: unknown, fn: (s: string) => string): unknown {
  if (typeof value === 'string') {
    return fn(value);
  }
  if (Array.isArray(value)) {
    return value.map((v) => mapStrings(v, fn));
  }
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = STRUCTURAL_KEYS.has(k) ? v : mapStrings(v, fn);
    }
    return out;
  }
  return value;
}

/**
 * Redact one run in place: results (every text field), the rules' descriptions and help (bandit
 * builds help from a result's message) and invocation notifications (stderr excerpts). Returns
 * the results whose primary snippet changed, so that fingerprints made from it can be redone.
 */
export function redactRun(run: SarifRun): SarifResult[] {
  const changed: SarifResult[] = [];
  const credentialRules = new Set<string>();
  run.results = (run.results ?? []).map((result) => {
    const everyLiteral = isCredentialResult(run, result);
    if (everyLiteral && result.ruleId) {
      credentialRules.add(result.ruleId);
    }
    const before = result.locations?.[0]?.physicalLocation?.region?.snippet?.text;
    const out = mapStrings(result, (s) => redactText(s, { everyLiteral })) as SarifResult;
    if (out.locations?.[0]?.physicalLocation?.region?.snippet?.text !== before) {
      changed.push(out);
    }
    // A rule reached through this result is a credential rule too (for its help text below).
    const rule = everyLiteral ? ruleOf(run, result) : undefined;
    if (rule) {
      credentialRules.add(rule.id);
    }
    return out;
  });
  run.tool.driver.rules = run.tool.driver.rules?.map((rule) => {
    // Tags and CWE names in the properties are the rule's, not the code's.
    const { properties, ...texts } = rule;
    const everyLiteral = credentialRules.has(rule.id);
    const mapped = mapStrings(texts, (s) => redactText(s, { everyLiteral })) as SarifRule;
    return properties ? { ...mapped, properties } : mapped;
  });
  if (run.invocations) {
    run.invocations = mapStrings(run.invocations, (s) => redactText(s)) as SarifRun['invocations'];
  }
  return changed;
}

/** Redact every run of a log in place (see redactRun). */
export function redactLog(log: SarifLog): void {
  for (const run of log.runs) {
    redactRun(run);
  }
}
