// The pure half of the Crashes view and the crash detail panel: grouping a run's crashes by
// harness, row labels, the input as hex and as text. No vscode import (eslint enforces it), so
// unit tests run it in plain Node. Crash records are hostile (workers and anyone with storage
// access write them): labels are plain text and tooltips are escaped Markdown.
import type { CrashRecord } from '../../toolbox/shared/fuzzing';
import { escapeMarkdown, escapeMarkdownLines } from './viewModel';

export interface HarnessGroup {
  harness: string;
  harnessFile: string;
  crashes: CrashRecord[];
}

/** A run's crashes by harness (ordered by harness file), each harness's crashes most hit first. */
export function groupByHarness(crashes: readonly CrashRecord[]): HarnessGroup[] {
  const groups = new Map<string, HarnessGroup>();
  for (const c of crashes) {
    const key = `${c.harnessFile}\0${c.harness}`;
    let g = groups.get(key);
    if (!g) {
      g = { harness: c.harness, harnessFile: c.harnessFile, crashes: [] };
      groups.set(key, g);
    }
    g.crashes.push(c);
  }
  for (const g of groups.values()) {
    g.crashes.sort((a, b) => b.hits - a.hits || a.firstSeen.localeCompare(b.firstSeen));
  }
  return [...groups.values()].sort(
    (a, b) => a.harnessFile.localeCompare(b.harnessFile) || a.harness.localeCompare(b.harness),
  );
}

/** A workspace-relative source file of a frame: relative, without `..`, not an installed library. */
export function isWorkspaceFile(file: string | undefined): file is string {
  if (!file || file.startsWith('/') || /^[A-Za-z]:[\\/]/.test(file) || file.startsWith('<')) {
    return false;
  }
  const parts = file.replace(/\\/g, '/').split('/');
  return !parts.includes('..') && !parts.some((p) => p === 'site-packages' || p === 'dist-packages');
}

/** The innermost frame in a workspace file (where the crash is in the user's code), if any. */
export function topWorkspaceFrame(crash: Pick<CrashRecord, 'frames'>): CrashRecord['frames'][number] | undefined {
  return crash.frames.find((f) => isWorkspaceFile(f.file));
}

/** "812 B", "4.0 KiB", "1.5 MiB". */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) {
    return '?';
  }
  if (n < 1024) {
    return `${n} B`;
  }
  if (n < 1024 * 1024) {
    return `${(n / 1024).toFixed(1)} KiB`;
  }
  return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
}

/**
 * One line of plain text (bounded) for labels built from crash records: line breaks, control and
 * direction-override characters (which would reorder what a row shows) become spaces.
 */
export function oneLine(text: string, max = 120): string {
  const flat = String(text)
    // eslint-disable-next-line no-control-regex -- control characters are exactly what is removed
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]+/g, ' ')
    .trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export interface CrashRowText {
  label: string;
  description: string;
  /** Markdown with every part escaped (theme icons off). */
  tooltip: string;
  accessibilityLabel: string;
}

/** "ValueError" · "parser.py:12 parse_record · 3 hits · 14 B". */
export function crashRow(crash: CrashRecord): CrashRowText {
  const top = topWorkspaceFrame(crash);
  const where = top ? `${top.file}${top.line ? `:${top.line}` : ''} ${top.function}` : 'no workspace frame';
  const hits = `${crash.hits} ${crash.hits === 1 ? 'hit' : 'hits'}`;
  const size = formatBytes(crash.inputBytes);
  const label = oneLine(crash.kind || 'crash', 80);
  const description = [oneLine(where, 100), hits, size].join(' · ');
  const tooltip = [
    `**${escapeMarkdown(label)}** in ${escapeMarkdown(oneLine(crash.harness, 80))}`,
    escapeMarkdownLines(crash.summary.slice(0, 2000)),
    escapeMarkdown(`at ${where}`),
    escapeMarkdown(
      `${hits}, input ${size}${crash.minimizedBytes !== undefined ? `, minimised ${formatBytes(crash.minimizedBytes)}` : ''}`,
    ),
    escapeMarkdown(`crash ${crash.id}`),
  ].join('\n\n');
  return { label, description, tooltip, accessibilityLabel: `${label}, ${where}, ${hits}, input ${size}` };
}

/** A workspace-relative harness path as people and CodeLens write it: posix, without `./`. */
export function normaliseHarnessPath(p: string): string {
  return p.replace(/\\/g, '/').replace(/^(\.\/)+/, '');
}

/** Whether a harness group is the one a `fuzzforge.showCrashes` filter names. */
export function matchesHarness(group: Pick<HarnessGroup, 'harnessFile'>, harness: string | undefined): boolean {
  return harness === undefined || normaliseHarnessPath(group.harnessFile) === normaliseHarnessPath(harness);
}

// --- the input, shown in the detail panel -------------------------------------------------------

/** Bytes of an input the panel shows (the whole input stays on disk for replay and copy). */
export const SHOWN_INPUT_BYTES = 16 * 1024;

/** Classic hex dump: offset, 16 bytes in hex, the printable ASCII of them. */
export function hexDump(bytes: Uint8Array, limit = SHOWN_INPUT_BYTES): string {
  const lines: string[] = [];
  const end = Math.min(bytes.length, limit);
  for (let offset = 0; offset < end; offset += 16) {
    const row = bytes.subarray(offset, Math.min(offset + 16, end));
    const hex = Array.from(row, (b) => b.toString(16).padStart(2, '0'));
    const left = hex.slice(0, 8).join(' ');
    const right = hex.slice(8).join(' ');
    const ascii = Array.from(row, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${offset.toString(16).padStart(8, '0')}  ${left.padEnd(23)}  ${right.padEnd(23)}  |${ascii}|`);
  }
  if (bytes.length > end) {
    lines.push(`… ${bytes.length - end} more bytes`);
  }
  return lines.join('\n');
}

/**
 * The input as text: valid UTF-8 as itself, except control characters and invalid bytes, which
 * are written as escapes (`\n` stays a line break, `\t` a tab, others `\xNN`, a backslash `\\`),
 * so what is shown maps back to the exact bytes.
 */
export function inputAsText(bytes: Uint8Array, limit = SHOWN_INPUT_BYTES): string {
  const end = Math.min(bytes.length, limit);
  let out = '';
  let i = 0;
  while (i < end) {
    const b = bytes[i] as number;
    if (b === 0x0a) {
      out += '\\n\n';
      i++;
    } else if (b === 0x09) {
      out += '\\t';
      i++;
    } else if (b === 0x5c) {
      out += '\\\\';
      i++;
    } else if (b < 0x20 || b === 0x7f) {
      out += `\\x${b.toString(16).padStart(2, '0')}`;
      i++;
    } else if (b < 0x80) {
      out += String.fromCharCode(b);
      i++;
    } else {
      const n = utf8Length(bytes, i, end);
      if (n === 0) {
        out += `\\x${b.toString(16).padStart(2, '0')}`;
        i++;
      } else {
        const cp = decodeUtf8(bytes, i, n);
        // C1 controls and bidi overrides would hide or reorder what is shown: escape them too.
        out +=
          (cp >= 0x80 && cp < 0xa0) || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069)
            ? `\\u{${cp.toString(16)}}`
            : String.fromCodePoint(cp);
        i += n;
      }
    }
  }
  if (bytes.length > end) {
    out += `\n… ${bytes.length - end} more bytes`;
  }
  return out;
}

/** Length of the well-formed UTF-8 sequence at i (2-4), or 0. */
function utf8Length(bytes: Uint8Array, i: number, end: number): number {
  const b = bytes[i] as number;
  const n = b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
  if (n === 0 || i + n > end) {
    return 0;
  }
  for (let k = 1; k < n; k++) {
    if (((bytes[i + k] as number) & 0xc0) !== 0x80) {
      return 0;
    }
  }
  const cp = decodeUtf8(bytes, i, n);
  // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
  const min = n === 2 ? 0x80 : n === 3 ? 0x800 : 0x10000;
  if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
    return 0;
  }
  return n;
}

function decodeUtf8(bytes: Uint8Array, i: number, n: number): number {
  const first = bytes[i] as number;
  let cp = n === 2 ? first & 0x1f : n === 3 ? first & 0x0f : first & 0x07;
  for (let k = 1; k < n; k++) {
    cp = (cp << 6) | ((bytes[i + k] as number) & 0x3f);
  }
  return cp;
}
