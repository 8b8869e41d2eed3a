// Pure geometry of the statistics chart: a series of values to an SVG polyline in a box.
// No DOM here, so it is unit-tested in node.

export interface ChartBox {
  width: number;
  height: number;
  /** Inner margin so strokes are not clipped. */
  pad: number;
}

/**
 * Points for `<polyline points=...>`: x spreads the samples by their time (`at`), y scales the
 * value to the box (0 at the bottom, the series maximum at the top). Missing values are skipped.
 */
export function polylinePoints(
  samples: readonly { at: number; value: number | undefined }[],
  box: ChartBox,
): { points: string; max: number } {
  const known = samples.filter(
    (s): s is { at: number; value: number } => typeof s.value === 'number' && Number.isFinite(s.value),
  );
  if (known.length === 0) {
    return { points: '', max: 0 };
  }
  const t0 = known[0]?.at ?? 0;
  const t1 = known[known.length - 1]?.at ?? t0;
  const span = Math.max(1, t1 - t0);
  const max = Math.max(...known.map((s) => s.value));
  const w = box.width - 2 * box.pad;
  const h = box.height - 2 * box.pad;
  const points = known
    .map((s) => {
      const x = box.pad + (known.length === 1 ? w : ((s.at - t0) / span) * w);
      const y = box.pad + h - (max > 0 ? (s.value / max) * h : 0);
      return `${x.toFixed(1)},${y.toFixed(1)}`;
    })
    .join(' ');
  return { points, max };
}

/** 1234567 -> "1.23M", for axis labels and cells. */
export function compact(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) {
    return '-';
  }
  const abs = Math.abs(n);
  if (abs >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (abs >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (abs >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n));
}
