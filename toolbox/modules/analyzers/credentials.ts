// Detectors of the credential rules: hard-coded credentials, AWS access key ids and embedded
// private keys, and the per-file scan of secret values that every finding's snippet is redacted with.
// All three report what the secret detector of secret_detection (../secrets/detector) finds, so
// both workflows agree on what is a hard-coded credential in a file.

import { ALL, memo, type Ctx, type Detector, type Line, type Secret } from './context';
import { detectSecrets, type SecretFinding } from '../secrets/detector';
import type { Language } from './lexer';

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

interface SecretHit {
  line: Line;
  finding: SecretFinding;
}

interface SecretScan {
  /** Spans to redact in snippets, per 0-based line. */
  byLine: Map<number, Secret[]>;
  hits: SecretHit[];
}

/**
 * What the secret detector finds in the comment-free text, once per file (findings and redaction):
 * token formats, private keys, connection-string passwords and values under secret-ish names,
 * judged by its names, entropy, placeholder and reference rules, decoded constants included.
 */
export function scanSecrets(ctx: Ctx): SecretScan {
  return memo(ctx, 'secrets', () => {
    const byLine = new Map<number, Secret[]>();
    const hits: SecretHit[] = [];
    for (const finding of detectSecrets(ctx.text, `source.${EXTENSION[ctx.lang]}`)) {
      const line = ctx.lines[finding.line - 1];
      if (!line || line.skip) {
        continue;
      }
      hits.push({ line, finding });
      if (finding.kind !== 'private-key') {
        // A key block's header is not secret; patterns.ts masks the material after it.
        const start = finding.column - 1;
        const end = finding.endColumn - 1;
        const value = line.raw.slice(start, end);
        const list = byLine.get(line.index) ?? [];
        // An AWS key id keeps its prefix (AKIA, ASIA: which kind of key leaked), as in the message.
        const replacement = finding.kind === 'aws-access-key-id' ? `${value.slice(0, 4)}***` : '***';
        list.push({ start, end, replacement, value });
        byLine.set(line.index, list);
      }
    }
    return { byLine, hits };
  });
}

function hitsOf(ctx: Ctx, accept: (f: SecretFinding) => boolean): SecretHit[] {
  return scanSecrets(ctx).hits.filter((h) => accept(h.finding));
}

export const CREDENTIALS: Detector[] = [
  {
    // Everything the detector reports that has no rule of its own below: passwords and keys under
    // secret-ish names, vendor tokens, connection-string passwords, signed JWTs.
    rule: 'ff-hardcoded-credential',
    langs: ALL,
    run(ctx, emit) {
      for (const { line, finding: f } of hitsOf(ctx, (f) => f.kind !== 'aws-access-key-id' && f.kind !== 'private-key')) {
        emit(line, f.column - 1, f.endColumn - 1, f.message, f.kind);
      }
    },
  },
  {
    rule: 'ff-aws-access-key',
    langs: ALL,
    run(ctx, emit) {
      for (const { line, finding: f } of hitsOf(ctx, (f) => f.kind === 'aws-access-key-id')) {
        emit(line, f.column - 1, f.endColumn - 1, `An AWS access key ID (${f.redacted}) is embedded in the source`);
      }
    },
  },
  {
    rule: 'ff-private-key',
    langs: ALL,
    run(ctx, emit) {
      for (const { line, finding: f } of hitsOf(ctx, (f) => f.kind === 'private-key')) {
        const type = (PEM_HEADER.exec(f.redacted)?.groups?.['type'] ?? '').trim();
        emit(
          line,
          f.column - 1,
          f.endColumn - 1,
          `A PEM-encoded ${type ? `${type} ` : ''}private key is embedded in the source`,
        );
      }
    },
  },
];
