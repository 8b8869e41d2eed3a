// The fuzzing statistics page: a header, the stats of each harness, a chart of exec/s and
// coverage over time, and the run's unique crashes with a Replay button. Browser code, bundled
// by esbuild into dist/webview/stats.js; it only renders what the extension sends.
import {
  provideVSCodeDesignSystem,
  vsCodeBadge,
  vsCodeButton,
  vsCodeDataGrid,
  vsCodeDataGridCell,
  vsCodeDataGridRow,
  vsCodeDivider,
} from '@vscode/webview-ui-toolkit';
import type { FuzzStatsSample } from '../../toolbox/shared/fuzzing';
import type { StatsPageState, StatsRequest, StatsUpdate, ToStatsPage } from '../protocol';
import { custom, el } from '../dom';
import { connectPage } from '../vscodeApi';
import { compact, polylinePoints } from './chart';

provideVSCodeDesignSystem().register(
  vsCodeBadge(),
  vsCodeButton(),
  vsCodeDataGrid(),
  vsCodeDataGridCell(),
  vsCodeDataGridRow(),
  vsCodeDivider(),
);

const page = connectPage<StatsRequest, ToStatsPage, StatsPageState>();

function grid(headers: string[], rows: (string | Node)[][]): HTMLElement {
  const g = custom('vscode-data-grid', { 'aria-label': headers.join(', '), 'generate-header': 'none' });
  g.append(
    custom(
      'vscode-data-grid-row',
      { 'row-type': 'header' },
      ...headers.map((h, i) =>
        custom('vscode-data-grid-cell', { 'cell-type': 'columnheader', 'grid-column': String(i + 1) }, h),
      ),
    ),
  );
  for (const row of rows) {
    g.append(
      custom(
        'vscode-data-grid-row',
        {},
        ...row.map((cell, i) => custom('vscode-data-grid-cell', { 'grid-column': String(i + 1) }, cell)),
      ),
    );
  }
  return g;
}

function duration(sec: number): string {
  const s = Math.round(sec);
  return s >= 3600
    ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
    : s >= 60
      ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
      : `${s}s`;
}

function statsRow(s: FuzzStatsSample): string[] {
  return [
    s.harness,
    duration(s.elapsedSec),
    `${s.execsEstimated ? '~' : ''}${compact(s.execs)}`,
    compact(s.execsPerSec),
    s.coverage !== undefined ? `${compact(s.coverage)} / ${compact(s.features)}` : '-',
    compact(s.corpusSize),
    `${s.uniqueCrashes} (${s.crashes})`,
    `${s.timeouts} / ${s.ooms}`,
    duration(s.secSinceNewCoverage),
  ];
}

const SVG = 'http://www.w3.org/2000/svg';

function chart(series: FuzzStatsSample[], pick: (s: FuzzStatsSample) => number | undefined, label: string): Node {
  const box = { width: 420, height: 120, pad: 6 };
  const { points, max } = polylinePoints(
    series.map((s) => ({ at: s.at, value: pick(s) })),
    box,
  );
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${box.width} ${box.height}`);
  svg.setAttribute('class', 'chart');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', `${label} over time, up to ${compact(max)}`);
  const line = document.createElementNS(SVG, 'polyline');
  line.setAttribute('points', points);
  svg.append(line);
  return el('figure', {}, el('figcaption', {}, `${label} (max ${compact(max)})`), svg);
}

function render(update: StatsUpdate): void {
  const root = document.getElementById('root');
  if (!root) {
    return;
  }
  const view = update.view;
  const header = el(
    'header',
    {},
    el('h2', {}, `${update.workflow} · ${update.runId}`),
    custom('vscode-badge', {}, update.status),
    ' ',
    view ? `${view.engine}, ${view.phase}${view.current ? ` (${view.current})` : ''}` : 'waiting for statistics…',
  );
  const parts: Node[] = [header];
  if (update.status === 'running') {
    const stop = custom('vscode-button', { appearance: 'secondary' }, 'Stop run');
    stop.addEventListener('click', () => page.post({ type: 'cancel' }));
    parts.push(stop);
  }
  if (update.error) {
    parts.push(el('p', { class: 'error' }, update.error));
  }
  if (view) {
    const rows = [...view.finished];
    if (view.latest && !rows.some((r) => r.harness === view.latest?.harness)) {
      rows.push(view.latest);
    }
    parts.push(
      el('h3', {}, 'Harnesses'),
      rows.length > 0
        ? grid(
            [
              'Harness',
              'Elapsed',
              'Execs',
              'Exec/s',
              'Cov / ft',
              'Corpus',
              'Unique (all) crashes',
              'Timeouts / OOMs',
              'Since new cov',
            ],
            rows.map(statsRow),
          )
        : el('p', {}, 'no statistics yet'),
    );
    if (view.series.length > 1) {
      parts.push(
        el(
          'div',
          { class: 'charts' },
          chart(view.series, (s) => s.execsPerSec, 'exec/s'),
          chart(
            view.series,
            (s) => s.coverage ?? s.corpusSize,
            view.series.some((s) => s.coverage !== undefined) ? 'coverage' : 'corpus',
          ),
        ),
      );
    }
  }
  parts.push(custom('vscode-divider'), el('h3', {}, `Crashes (${update.crashes.length})`));
  if (update.crashes.length === 0) {
    parts.push(el('p', {}, 'none so far'));
  } else {
    parts.push(
      grid(
        ['Crash', 'Kind', 'Harness', 'Location', 'Hits', 'Input', ''],
        update.crashes.map((c) => {
          const top = c.frames.find((f) => f.file && !f.file.startsWith('/'));
          const where: Node = top?.file
            ? (() => {
                const a = el('a', { href: '#' }, `${top.file}:${top.line ?? '?'}`);
                a.addEventListener('click', (e) => {
                  e.preventDefault();
                  page.post({
                    type: 'openFrame',
                    file: top.file as string,
                    ...(top.line ? { line: top.line } : {}),
                  });
                });
                return a;
              })()
            : document.createTextNode(c.harnessFile);
          const replay = custom('vscode-button', { appearance: 'secondary' }, 'Replay');
          replay.addEventListener('click', () => page.post({ type: 'replay', crashId: c.id }));
          return [
            c.id,
            c.kind,
            c.harness,
            where,
            String(c.hits),
            `${c.inputBytes} B${c.minimizedBytes ? ` (min ${c.minimizedBytes} B)` : ''}`,
            replay,
          ];
        }),
      ),
    );
  }
  root.replaceChildren(...parts);
}

// A reloaded page shows what it showed before until the extension's next update.
const kept = page.state();
if (kept) {
  render(kept.last);
}
page.start((message) => {
  switch (message.type) {
    case 'update':
      render(message);
      page.keep({ last: message });
      break;
  }
});
