import type { FindingRow } from '../sarif/log';
import type { ToolboxStatus } from '../services/state';

// C0 controls but tab and newline, DEL, C1 controls (a lone U+009B is a CSI to some terminals),
// and the invisible bidi and line-separator characters that make text read unlike it is.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
// eslint-disable-next-line no-control-regex -- as above, plus tab and newline
const UNSAFE_INLINE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function escapeChar(c: string): string {
  if (c === '\n') {
    return '\\n';
  }
  if (c === '\t') {
    return '\\t';
  }
  // \uXXXX: readable, and still valid inside the JSON strings of --json output.
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/**
 * Text for a terminal: control and escape characters (from file names, tool output, rule ids)
 * become visible `\u001b`-style escapes instead of acting on the terminal. Newlines and tabs stay.
 */
export function escapeControl(text: string): string {
  return text.replace(UNSAFE, escapeChar);
}

/** One line of text for a terminal: like escapeControl, and newlines and tabs are escaped too. */
export function escapeInline(text: string): string {
  return text.replace(UNSAFE_INLINE, escapeChar);
}

/** A SARIF artifact URI as a person reads it: percent-decoded when that is valid, escaped. */
export function displayUri(uri: string): string {
  let decoded = uri;
  try {
    decoded = decodeURI(uri);
  } catch {
    // A malformed %-sequence (a hostile log): show it as it is.
  }
  return escapeInline(decoded);
}

/** A plain text table: header, rule, rows; the last column is not padded. Cells are one escaped line. */
export function table(headers: readonly string[], rawRows: readonly (readonly string[])[], maxWidth = 200): string {
  const rows = rawRows.map((r) => r.map(escapeInline));
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .slice(0, maxWidth)
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function findingsTable(rows: readonly FindingRow[], width = 160): string {
  return table(
    ['LEVEL', 'RULE', 'LOCATION', 'MESSAGE'],
    rows.map((r) => [
      `${r.level}${r.suppressed ? ' (suppressed)' : ''}${r.fileKind ? ` (${r.fileKind})` : ''}`,
      // A weakness several tools reported is one row naming each rule.
      r.reportedBy
        ? [r.ruleId, ...r.reportedBy.map((b) => b.ruleId).filter((id) => id !== r.ruleId)].join(', ')
        : r.ruleId,
      r.file ? `${displayUri(r.file)}${r.line ? `:${r.line}` : ''}` : '-',
      r.message,
    ]),
    width,
  );
}

export function formatDuration(ms: number): string {
  if (ms < 1000) {
    return `${ms} ms`;
  }
  const s = Math.round(ms / 100) / 10;
  if (s < 60) {
    return `${s} s`;
  }
  const m = Math.floor(s / 60);
  return `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
}

/** `fuzzforge status` lines about the worker host's toolbox: its version and a failed reload. */
export function toolboxStatusLines(status: ToolboxStatus | undefined): string[] {
  if (!status) {
    return [];
  }
  const lines = [
    `toolbox: version ${status.version} loaded ${status.loadedAt}` +
      (status.watching ? ', reloaded on edits' : ', not watched (restart the workers after edits)'),
  ];
  if (status.failedReload) {
    lines.push(`toolbox reload FAILED at ${status.failedReload.at}; still serving version ${status.version}:`);
    lines.push(...status.failedReload.problems.map((p) => `  ${escapeInline(p)}`));
  }
  return lines;
}
