// Detectors of the credential rules: hard-coded credentials, AWS access key ids and embedded
// private keys, and the per-file scan of secret values that every finding's snippet is redacted with.

import {
  ALL,
  C,
  dynamicHow,
  GO,
  JS,
  memo,
  PHP,
  RUBY,
  skipWs,
  type Ctx,
  type Detector,
  type Line,
  type Secret,
} from './context';
import { detectSecrets, isPlaceholder, isReference, type SecretFinding } from '../secrets/detector';
import { STR, type Language } from './lexer';

// --- credentials -------------------------------------------------------------------------------

/** An AWS key id as a whole value: reported by ff-aws-access-key, not as a generic credential. */
const AWS_KEY_VALUE = /(?<![A-Za-z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}(?![A-Za-z0-9])/;
export const PEM_HEADER = /-----BEGIN (?<type>(?:[A-Z0-9]+ ){0,3})PRIVATE KEY(?: BLOCK)?-----/;

const EXTENSION: Readonly<Record<Language, string>> = {
  python: 'py',
  javascript: 'js',
  typescript: 'ts',
  go: 'go',
  java: 'java',
  php: 'php',
  ruby: 'rb',
  c: 'c',
};

/**
 * What the secret detector of secret_detection (../secrets/detector) finds in the comment-free
 * text, once per file: AWS key ids and private keys come from there, so both workflows agree on
 * them (token formats, documentation examples, key material).
 */
function secretFindings(ctx: Ctx): SecretFinding[] {
  return memo(ctx, 'secretFindings', () => detectSecrets(ctx.text, `source.${EXTENSION[ctx.lang]}`));
}

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

/**
 * Is the literal assigned to `name` a credential rather than a label, a reference or a placeholder?
 * Placeholders and references are judged by the secret detector's own rules (../secrets/detector),
 * so both workflows stay quiet on the same `changeme`, `<token>`, `${VAR}` and `{{ x }}`; this rule
 * then accepts any remaining literal of 6 characters or more (a hard-coded password need not look random).
 */
function looksLikeSecret(value: string, name: string): boolean {
  if (value.length < 6 || /\s/.test(value)) {
    return false; // too short, or prose such as a label or an error message
  }
  if (isPlaceholder(value) || isReference(value) || /%s|%\(/.test(value)) {
    return false; // a placeholder, or a template or variable reference, not the value itself
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
export function scanSecrets(ctx: Ctx): SecretScan {
  return memo(ctx, 'secrets', () => {
    const byLine = new Map<number, Secret[]>();
    const credentials: CredentialHit[] = [];
    const awsKeys: CredentialHit[] = [];
    const patterns = CREDENTIAL_PATTERNS.filter((p) => p.langs.includes(ctx.lang));
    for (const line of ctx.lines) {
      if (line.skip) {
        continue;
      }
      for (const f of secretFindings(ctx).filter((x) => x.line === line.index + 1 && x.kind === 'aws-access-key-id')) {
        const start = f.column - 1;
        const end = f.endColumn - 1;
        const value = line.raw.slice(start, end);
        addSecret(byLine, line.index, { start, end, replacement: `${value.slice(0, 4)}***`, value });
        awsKeys.push({
          line,
          start,
          end,
          message: `An AWS access key ID (${value.slice(0, 4)}…) is embedded in the source`,
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

export const CREDENTIALS: Detector[] = [
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
      for (const f of secretFindings(ctx).filter((x) => x.kind === 'private-key')) {
        const line = ctx.lines[f.line - 1];
        if (line && !line.skip) {
          const type = (PEM_HEADER.exec(f.redacted)?.groups?.['type'] ?? '').trim();
          emit(
            line,
            f.column - 1,
            f.endColumn - 1,
            `A PEM-encoded ${type ? `${type} ` : ''}private key is embedded in the source`,
          );
        }
      }
    },
  },
];

