import type { FindingRow } from '../sarif/log';

/** A plain text table: header, rule, rows; the last column is not padded. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[], maxWidth = 200): string {
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
      r.suppressed ? `${r.level} (suppressed)` : r.level,
      r.ruleId,
      r.file ? `${decodeURI(r.file)}${r.line ? `:${r.line}` : ''}` : '-',
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
