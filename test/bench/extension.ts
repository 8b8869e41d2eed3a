// `npm run bench:extension`: prints figures, asserts nothing.
//   1. A generated SARIF log of 100,000 results (BENCH_RESULTS) through the extension's real
//      mapping code: parseSarif (what fetchSarif does with the downloaded text), sarifToDiagnostics
//      (what FindingsStore.show maps), and the Findings view's grouping by severity, file and rule
//      (groupFindings); median of BENCH_MAPPING_RUNS (5) runs each.
//   2. Save-to-marker latency with run on save in the real VS Code (code-server + headless
//      Chromium, test/e2e/vscode.ts), against a real backend: a new `eval()` line is typed at the
//      end of python/app.py of a copy of the vulnerable-app fixture, Ctrl+S is pressed, and the
//      clock stops when VS Code's own Problems counter (the markers service) shows one more error
//      (seen by a DOM observer in the page, with the page's clock: the bench does not poll);
//      p50/p95 of BENCH_SAVES (20) saves after BENCH_WARMUP (2) unmeasured ones. The run-on-save
//      debounce is BENCH_SAVE_DELAY_MS (default 0, to time the pipeline; the setting's default adds
//      1,500 ms). The next edit follows the markers at once, while the previous run still marks its
//      results against the baseline (about 1 s of sarif-multitool); BENCH_SAVE_GAP_MS waits that
//      long first, as saves seconds apart do.
//      Each measured save is also split into stages on one clock (the bench's key press and marker
//      count, the saved file's modification time, the extension's log lines). BENCH_PROFILE=FILE
//      writes a CPU profile of the workbench page over the measured saves (Chrome DevTools format).
// Needs a build (node esbuild.js --quiet); part 2 needs test/e2e/setup.sh (skipped, with the
// reason, without it).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildExtensionVsix } from '../../backend/scripts/package';
import { sarifToDiagnostics } from '../../backend/sarif/diagnostics';
import { parseSarif } from '../../backend/sarif/log';
import type { SarifLog, SarifResult, SarifRule } from '../../backend/sarif/types';
import { groupFindings, type FindingEntry, type GroupBy } from '../../extension/views/viewModel';
import { copyFixture, startTestBackend, type TestBackend } from '../integration/harness';
import { missingSetup, startVSCode, type VSCode } from '../e2e/vscode';
import { saveResult } from './results';

const RESULTS = Number(process.env.BENCH_RESULTS ?? 100_000);
const MAPPING_RUNS = Number(process.env.BENCH_MAPPING_RUNS ?? 5);
const SAVES = Number(process.env.BENCH_SAVES ?? 20);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2);
const SAVE_DELAY_MS = Number(process.env.BENCH_SAVE_DELAY_MS ?? 0);
const SAVE_GAP_MS = Number(process.env.BENCH_SAVE_GAP_MS ?? 0);
const ROOT = '/bench/workspace';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/** A log shaped like ours: one run, rules with help, results over 2,000 files, some related
 *  locations and code flows, a few suppressed and absent ones. Deterministic. */
function generateLog(results: number): SarifLog {
  const levels = ['error', 'warning', 'note'] as const;
  const rules: SarifRule[] = Array.from({ length: 24 }, (_, i) => ({
    id: `ff-bench-rule-${i}`,
    helpUri: `https://cwe.mitre.org/data/definitions/${100 + i}.html`,
    shortDescription: { text: `rule ${i}` },
    defaultConfiguration: { level: levels[i % 3] },
    properties: { tags: ['security', `CWE-${100 + i}`], precision: 'high' },
  }));
  const out: SarifResult[] = [];
  let state = 12345;
  // The high bits: an LCG's low bits cycle quickly.
  const next = () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state >>> 8;
  };
  for (let i = 0; i < results; i++) {
    const ruleIndex = next() % rules.length;
    const file = `src/pkg${next() % 40}/module${next() % 50}.py`;
    const line = 1 + (next() % 800);
    const result: SarifResult = {
      ruleId: rules[ruleIndex]!.id,
      ruleIndex,
      message: { text: `finding ${i}: value from request reaches a dangerous call` },
      locations: [
        {
          physicalLocation: {
            artifactLocation: { uri: file, uriBaseId: 'SRCROOT' },
            region: { startLine: line, startColumn: 1 + (next() % 40), endColumn: 60, snippet: { text: 'x = y(z)' } },
          },
        },
      ],
      partialFingerprints: { primaryLocationLineHash: `${next().toString(16)}:1` },
    };
    if (i % 10 === 0) {
      result.relatedLocations = [
        {
          physicalLocation: {
            artifactLocation: { uri: file, uriBaseId: 'SRCROOT' },
            region: { startLine: Math.max(1, line - 3) },
          },
          message: { text: 'source' },
        },
      ];
    }
    if (i % 50 === 0) {
      result.suppressions = [{ kind: 'inSource', justification: 'reviewed' }];
    }
    if (i % 97 === 0) {
      result.baselineState = 'absent';
    } else if (i % 7 === 0) {
      result.baselineState = 'new';
    }
    out.push(result);
  }
  return {
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: 'fuzzforge-bench', version: '1.0.0', rules } },
        originalUriBaseIds: { SRCROOT: { uri: `file://${ROOT}/` } },
        results: out,
      },
    ],
  };
}

interface Row {
  measure: string;
  figure: string;
  note: string;
}

function mappingBench(rows: Row[]): void {
  const log = generateLog(RESULTS);
  const text = JSON.stringify(log);
  console.error(`mapping: ${RESULTS.toLocaleString('en-US')} results, ${(text.length / 1e6).toFixed(1)} MB of SARIF`);
  const times: Record<string, number[]> = { parse: [], map: [], entries: [], severity: [], file: [], rule: [] };
  let diagnostics = 0;
  let groups: Record<GroupBy, number> = { severity: 0, file: 0, rule: 0 };
  for (let run = 0; run < MAPPING_RUNS; run++) {
    let t = performance.now();
    const parsed = parseSarif(text, 'bench.sarif');
    times.parse!.push(performance.now() - t);
    t = performance.now();
    const specs = sarifToDiagnostics(parsed, ROOT);
    times.map!.push(performance.now() - t);
    diagnostics = specs.length;
    t = performance.now();
    // What FindingsView builds from each diagnostic.
    const entries: FindingEntry[] = specs.map((s) => ({
      file: s.file,
      relPath: path.relative(ROOT, s.file),
      line: s.range.startLine,
      column: s.range.startColumn,
      severity: s.severity,
      ruleId: s.ruleId,
      message: s.message,
    }));
    times.entries!.push(performance.now() - t);
    for (const by of ['severity', 'file', 'rule'] as const) {
      t = performance.now();
      groups = { ...groups, [by]: groupFindings(entries, by).length };
      times[by]!.push(performance.now() - t);
    }
  }
  const ms = (xs: number[]) => `${median(xs).toFixed(0)} ms`;
  const n = `${RESULTS.toLocaleString('en-US')} results`;
  rows.push(
    {
      measure: `parseSarif (${n}, ${(text.length / 1e6).toFixed(0)} MB)`,
      figure: ms(times.parse!),
      note: 'JSON.parse + shape check',
    },
    {
      measure: `sarifToDiagnostics (${n})`,
      figure: ms(times.map!),
      note: `${diagnostics.toLocaleString('en-US')} diagnostics (suppressed/absent left out)`,
    },
    { measure: 'Findings view entries', figure: ms(times.entries!), note: 'relative paths, severities' },
    { measure: 'group by severity', figure: ms(times.severity!), note: `${groups.severity} groups` },
    { measure: 'group by file', figure: ms(times.file!), note: `${groups.file.toLocaleString('en-US')} groups` },
    { measure: 'group by rule', figure: ms(times.rule!), note: `${groups.rule} groups` },
    {
      measure: 'total: SARIF text to grouped view model',
      figure: `${(median(times.parse!) + median(times.map!) + median(times.entries!) + median(times.severity!)).toFixed(0)} ms`,
      note: `medians of ${MAPPING_RUNS} runs (severity grouping, the default)`,
    },
  );
}

/**
 * Watch VS Code's Problems counter inside the page until it shows more than `before` errors; the
 * promise (kept in the page) gives the page's clock at that moment. A DOM observer, so the bench
 * neither polls the page (each poll a round trip and a selector query the renderer pays for, next
 * to the save it times) nor rounds the time up to its polling period.
 */
async function watchErrorsAbove(vsc: VSCode, before: number, timeoutMs: number): Promise<void> {
  // Page code (the page's DOM, not this process's): the count as problemsErrors reads it.
  await vsc.page.evaluate(`(() => {
    const errors = () => {
      const item = document.querySelector('.statusbar-item[id="status.problems"]');
      const label = (item && item.getAttribute('aria-label')) || '';
      const m = /(\\d+)\\s+errors?/i.exec(label) || /Errors?:\\s*(\\d+)/i.exec(label);
      const t = m ? null : /^(\\d+)/.exec(((item && item.textContent) || '').trim());
      return m ? Number(m[1]) : t ? Number(t[1]) : -1;
    };
    window.ffErrorsAbove = new Promise((resolve) => {
      const done = () => {
        observer.disconnect();
        clearTimeout(timer);
        resolve({ at: Date.now(), errors: errors() });
      };
      const observer = new MutationObserver(() => {
        if (errors() > ${before}) done();
      });
      // Status bar items come and go whole: watch the bar, not one item.
      observer.observe(document.querySelector('.part.statusbar') || document.body, {
        subtree: true, childList: true, attributes: true, characterData: true,
      });
      const timer = setTimeout(done, ${timeoutMs});
    });
  })()`);
}

/** What watchErrorsAbove saw: when (the page's clock, the same machine's) and the count then. */
async function errorsAbove(vsc: VSCode): Promise<{ at: number; errors: number }> {
  return vsc.page.evaluate<{ at: number; errors: number }>('window.ffErrorsAbove');
}

async function problemsErrors(vsc: VSCode): Promise<number> {
  // VS Code's own Problems counter in the status bar, fed by the markers service.
  const item = vsc.page.locator('.statusbar-item[id="status.problems"]').first();
  const label = (await item.getAttribute('aria-label').catch(() => null)) ?? '';
  const m = /(\d+)\s+errors?/i.exec(label) ?? /Errors?:\s*(\d+)/i.exec(label);
  if (m) {
    return Number(m[1]);
  }
  const text = ((await item.innerText().catch(() => '')) ?? '').trim();
  return Number(/^(\d+)/.exec(text)?.[1] ?? -1);
}

async function saveBench(rows: Row[]): Promise<void> {
  const reason = missingSetup();
  if (reason) {
    rows.push({ measure: 'save-to-marker (run on save)', figure: 'skipped', note: reason });
    return;
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-bench-ext-'));
  let backend: TestBackend | undefined;
  let vsc: VSCode | undefined;
  // Wall-clock times of each measured save's key press and of its marker count, to place the
  // extension's log lines (same machine clock) between them.
  const saves: SaveTimes[] = [];
  try {
    const built = buildExtensionVsix(tmp);
    backend = await startTestBackend({ verticals: ['generic'] });
    const workspace = copyFixture('vulnerable-app', path.join(tmp, 'workspace'));
    vsc = await startVSCode({
      workspace,
      extensions: [built.vsix],
      outputDir: path.join(process.cwd(), 'test-output', 'bench'),
      name: 'bench-extension',
      env: {
        FUZZFORGE_STATE_DIR: backend.stateDir,
        FUZZFORGE_TOOLBOX: backend.env.FUZZFORGE_TOOLBOX,
        FUZZFORGE_WORKER_CACHE: process.env.FUZZFORGE_WORKER_CACHE,
      },
      settings: {
        'fuzzforge.backend.mode': 'embedded',
        'fuzzforge.runOnSave.workflow': 'security_assessment',
        'fuzzforge.runOnSave.delayMs': SAVE_DELAY_MS,
      },
    });
    const page = vsc.page;
    await page.locator('.statusbar-item:has-text("FuzzForge: ready")').first().waitFor({ timeout: 60_000 });
    await vsc.openFile('python/app.py');
    await page.locator('.monaco-editor .view-lines').first().click();
    const latencies: number[] = [];
    const cdp = process.env.BENCH_PROFILE ? await page.context().newCDPSession(page) : undefined;
    for (let i = 0; i < WARMUP + SAVES; i++) {
      if (cdp && i === WARMUP) {
        await cdp.send('Profiler.enable');
        await cdp.send('Profiler.start');
      }
      if (i > 0 && SAVE_GAP_MS > 0) {
        await new Promise((r) => setTimeout(r, SAVE_GAP_MS));
      }
      const before = await problemsErrors(vsc);
      await page.keyboard.press('Control+End');
      await page.keyboard.type(`v${i} = eval(input())`);
      await page.keyboard.press('Enter');
      await watchErrorsAbove(vsc, before, 60_000);
      const pressedAt = Date.now();
      await page.keyboard.press('Control+S');
      const seen = await errorsAbove(vsc);
      const ms = seen.at - pressedAt;
      if (seen.errors <= before) {
        throw new Error(`save ${i}: no new error marker within 60 s (errors ${before} -> ${seen.errors})`);
      }
      if (i >= WARMUP) {
        latencies.push(ms);
        saves.push({
          pressedAt,
          seenAt: seen.at,
          writtenAt: fs.statSync(path.join(workspace, 'python', 'app.py')).mtimeMs,
        });
      }
      console.error(`save ${i + 1}/${WARMUP + SAVES}: ${ms.toFixed(0)} ms${i < WARMUP ? ' (warm-up)' : ''}`);
    }
    if (cdp) {
      const { profile } = await cdp.send('Profiler.stop');
      fs.writeFileSync(process.env.BENCH_PROFILE ?? '', JSON.stringify(profile));
    }
    await vsc.screenshot('bench-extension-last-save');
    // Read by `npm run bench` (test/bench/run.ts).
    saveResult('extension', {
      saveToMarkerP50Ms: percentile(latencies, 50),
      saveToMarkerP95Ms: percentile(latencies, 95),
      saveDebounceMs: SAVE_DELAY_MS,
      saveGapMs: SAVE_GAP_MS,
    });
    rows.push(
      {
        measure: `save-to-marker p50 (${SAVES} saves)`,
        figure: `${percentile(latencies, 50).toFixed(0)} ms`,
        note: `run on save, debounce ${SAVE_DELAY_MS} ms, ${SAVE_GAP_MS} ms between a save's markers and the next edit; pack + upload + scan + SARIF + markers`,
      },
      {
        measure: `save-to-marker p95 (${SAVES} saves)`,
        figure: `${percentile(latencies, 95).toFixed(0)} ms`,
        note: `min ${Math.min(...latencies).toFixed(0)} ms, max ${Math.max(...latencies).toFixed(0)} ms`,
      },
    );
  } finally {
    await vsc?.stop();
    await backend?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  rows.push(...saveBreakdown(path.join(process.cwd(), 'test-output', 'bench', 'bench-extension.logs'), saves));
}

interface SaveTimes {
  /** Date.now() as Ctrl+S was pressed, and as the Problems count showed the new marker. */
  pressedAt: number;
  seenAt: number;
  /** The saved file's modification time: when VS Code wrote it. */
  writtenAt: number;
}

/**
 * Each measured save's stages on one clock: key press -> the extension hears of the save (its
 * "saved" line) -> the run starts ("run ... started", the end of pack and upload) -> its first
 * markers are handed to VS Code (start + "first markers after") -> the Problems count shows them.
 * Log lines carry local time to the millisecond.
 */
function saveStages(logText: string, saves: SaveTimes[]): Row[] {
  const at = (line: string) => new Date(line.slice(0, 23).replace(' ', 'T')).getTime();
  const heard: number[] = [];
  const started = new Map<string, number>();
  const early = new Map<string, number>();
  for (const line of logText.split('\n')) {
    if (/\[info\] saved .* runs on save$/.test(line)) {
      heard.push(at(line));
    }
    const s = /\[info\] run (\S+) started \(/.exec(line);
    if (s) {
      started.set(s[1]!, at(line));
    }
    const e = /\[info\] run (\S+): \d+ finding\(s\) shown (\d+) ms after it started, before baseline matching/.exec(
      line,
    );
    if (e && started.has(e[1]!)) {
      early.set(e[1]!, started.get(e[1]!)! + Number(e[2]));
    }
  }
  const stages = {
    toWritten: [] as number[],
    toHeard: [] as number[],
    toStarted: [] as number[],
    toMarkers: [] as number[],
    toSeen: [] as number[],
  };
  const startTimes = [...started.values()].sort((a, b) => a - b);
  const markerTimes = [...early.values()].sort((a, b) => a - b);
  for (const save of saves) {
    const h = heard.find((t) => t >= save.pressedAt - 5 && t <= save.seenAt);
    const st = startTimes.find((t) => h !== undefined && t >= h && t <= save.seenAt);
    const m = markerTimes.find((t) => st !== undefined && t >= st && t <= save.seenAt + 5);
    if (h === undefined || st === undefined || m === undefined) {
      continue;
    }
    stages.toWritten.push(save.writtenAt - save.pressedAt);
    stages.toHeard.push(h - save.writtenAt);
    stages.toStarted.push(st - h);
    stages.toMarkers.push(m - st);
    stages.toSeen.push(save.seenAt - m);
  }
  if (stages.toHeard.length === 0) {
    return [];
  }
  const row = (measure: string, xs: number[], note: string): Row => ({
    measure,
    figure: `${median(xs).toFixed(0)} ms`,
    note: `${note} (${xs.length} saves)`,
  });
  return [
    row('  stage: key press to file written, p50', stages.toWritten, "VS Code's save, to the file's modification time"),
    row('  stage: written to save heard, p50', stages.toHeard, 'the extension hears of the save'),
    row('  stage: heard to run started, p50', stages.toStarted, 'pack + upload + start'),
    row('  stage: started to first markers, p50', stages.toMarkers, 'the run until its results are shown'),
    row('  stage: markers to Problems count, p50', stages.toSeen, 'VS Code shows them; the bench sees it'),
  ];
}

/** Where a save's time went, from the extension's own log lines of the measured saves. */
function saveBreakdown(logsDir: string, saves: SaveTimes[]): Row[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.existsSync(dir) ? fs.readdirSync(dir, { withFileTypes: true }) : []) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        walk(p);
      } else if (e.name === 'FuzzForge.log') {
        files.push(p);
      }
    }
  };
  walk(logsDir);
  const newest = files.sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs)[0];
  if (!newest) {
    return [];
  }
  const re = /pack and upload (\d+) ms, run and SARIF (\d+) ms(?: \(first markers after (\d+) ms)?/;
  const text = fs.readFileSync(newest, 'utf8');
  const lines = text
    .split('\n')
    .map((l) => re.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .slice(-SAVES);
  if (lines.length === 0) {
    return [];
  }
  const col = (i: number) =>
    lines
      .map((m) => m[i])
      .filter((v): v is string => v !== undefined)
      .map(Number);
  const rows: Row[] = [
    {
      measure: '  of which pack + upload, p50',
      figure: `${median(col(1)).toFixed(0)} ms`,
      note: 'from the extension log',
    },
    {
      measure: '  of which run + SARIF, p50',
      figure: `${median(col(2)).toFixed(0)} ms`,
      note: 'start to final results',
    },
  ];
  rows.push(...saveStages(text, saves));
  const early = col(3);
  if (early.length > 0) {
    rows.push({
      measure: '  of which run to first markers, p50',
      figure: `${median(early).toFixed(0)} ms`,
      note: `before baseline matching (${early.length} of ${lines.length} saves)`,
    });
  }
  return rows;
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  mappingBench(rows);
  await saveBench(rows);
  const w = [
    Math.max(...rows.map((r) => r.measure.length), 7),
    Math.max(...rows.map((r) => r.figure.length), 6),
  ] as const;
  console.log(`${'measure'.padEnd(w[0])}  ${'figure'.padStart(w[1])}  note`);
  console.log(`${'-'.repeat(w[0])}  ${'-'.repeat(w[1])}  ${'-'.repeat(4)}`);
  for (const r of rows) {
    console.log(`${r.measure.padEnd(w[0])}  ${r.figure.padStart(w[1])}  ${r.note}`);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
