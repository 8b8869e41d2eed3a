// The HTML shell of every FuzzForge webview, without vscode (unit tests build it in plain Node):
// a `default-src 'none'` CSP, one nonce'd script, the page's own style, escaped values.
// Everything interpolated is escaped: run ids come from Temporal, which any local account can write.

/** Text as HTML text or attribute value: the five significant characters become entities. */
export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );
}

export interface WebviewHtmlOptions {
  /** The document title (escaped here). */
  title: string;
  nonce: string;
  /** The webview's `cspSource`. */
  cspSource: string;
  /** The webview URI of the page's bundle. */
  scriptUri: string;
  /** The page's CSS (our own text, not escaped; it must not contain `</style>`). */
  style?: string;
}

/** A page: a `default-src 'none'` CSP, one nonce'd script, `#root` for the bundle to render into. */
export function webviewHtml(o: WebviewHtmlOptions): string {
  const csp = [
    "default-src 'none'",
    `style-src ${o.cspSource} 'unsafe-inline'`,
    `font-src ${o.cspSource}`,
    `script-src 'nonce-${o.nonce}'`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${escapeHtml(o.title)}</title>
<style>
${o.style ?? ''}
</style>
</head>
<body>
<div id="root">Loading…</div>
<script nonce="${escapeHtml(o.nonce)}" src="${escapeHtml(o.scriptUri)}"></script>
</body>
</html>`;
}

/** A tab title: plain text in VS Code, but one line, without control or direction characters. */
export function panelTitle(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what is replaced
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, '?');
}

/** The stats page's own style. */
export const STATS_PANEL_STYLE = `  body { padding: 0 16px; }
  header { display: flex; gap: 8px; align-items: baseline; flex-wrap: wrap; }
  .charts { display: flex; gap: 16px; flex-wrap: wrap; }
  figure { margin: 8px 0; }
  .chart { width: 420px; height: 120px; border: 1px solid var(--vscode-panel-border); }
  .chart polyline { fill: none; stroke: var(--vscode-charts-blue); stroke-width: 1.5; }
  .error { color: var(--vscode-errorForeground); }`;

export interface StatsPanelHtmlOptions {
  runId: string;
  nonce: string;
  /** The webview's `cspSource`. */
  cspSource: string;
  /** The webview URI of the stats bundle. */
  scriptUri: string;
}

/** The stats panel's page. */
export function statsPanelHtml(o: StatsPanelHtmlOptions): string {
  return webviewHtml({ ...o, title: `Fuzzing ${o.runId}`, style: STATS_PANEL_STYLE });
}

/** The stats panel's tab title. */
export function statsPanelTitle(runId: string): string {
  return panelTitle(`Fuzzing ${runId}`);
}
