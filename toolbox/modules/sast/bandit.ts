// bandit activity: Python security checks (PyCQA) over the target's Python files. bandit's JSON
// report (-f json) is converted to SARIF here (its SARIF formatter crashes on some trees and then
// writes nothing), normalised to FuzzForge's shape and stored as one part. A file that makes
// bandit crash loses its own results only: the batch is re-run file by file.
import * as os from 'node:os';
import * as path from 'node:path';
import type { SarifLog, SarifResult, SarifRule, SarifRun } from '../../../backend/sarif/types';
import { requireTool, runTool } from '../process';
import { buildSarifRun, normalizeToolSarif } from '../reporters/sarif';
import { checkpoint } from '../runtime';
import {
  addFingerprints,
  addNotifications,
  argBatches,
  describeFailure,
  filterByLevel,
  mergeRuns,
  normalizeNotificationLocations,
  readJsonOutput,
  reindexRules,
  runToolActivity,
  sourceFiles,
  type MinLevel,
  type Notification,
  type SastInput,
  type SastResult,
  ToolFailure,
  withScratch,
} from './common';

export const TOOL_NAME = 'bandit';
const INFORMATION_URI = 'https://bandit.readthedocs.io';
export const PYTHON_EXTENSIONS = ['.py', '.pyw'];
/** Never analysed: installed packages and virtualenvs (uploads skip them, archives may not). */
export const PYTHON_ALWAYS_SKIP = ['site-packages/', '__pycache__/', '.venv/', '.tox/', '.nox/'];

export interface BanditInput extends SastInput {
  /** bandit test ids never to run (-s), e.g. B101. */
  skips: string[];
}

/** bandit's command line for one batch of files; files come last. */
export function banditArgs(files: readonly string[], out: string, skips: readonly string[]): string[] {
  return [
    '--format',
    'json',
    '--output',
    out,
    // No progress chatter: stderr then holds only what went wrong.
    '--quiet',
    ...(skips.length > 0 ? ['--skip', skips.join(',')] : []),
    // A file named "-x.py" must not be read as an option.
    ...files.map((f) => (f.startsWith('-') ? `./${f}` : f)),
  ];
}

/** One result of bandit's JSON report (-f json), the fields we read. */
interface BanditJsonResult {
  test_id: string;
  test_name?: string;
  filename: string;
  issue_text: string;
  issue_severity?: string;
  issue_confidence?: string;
  issue_cwe?: { id?: number };
  line_number: number;
  line_range?: number[];
  col_offset?: number;
  end_col_offset?: number;
  code?: string;
  more_info?: string;
}

const SEVERITY_LEVEL: Record<string, 'error' | 'warning' | 'note'> = { HIGH: 'error', MEDIUM: 'warning', LOW: 'note' };

/** The source lines bandit quotes in `code` ("21     # text"), by line number. */
function quotedLines(code: string | undefined): Map<number, string> {
  const lines = new Map<number, string>();
  for (const raw of (code ?? '').split('\n')) {
    const m = /^(\d+) ?(.*)$/.exec(raw);
    if (m) {
      lines.set(Number(m[1]), m[2] ?? '');
    }
  }
  return lines;
}

function resultProblems(r: unknown, i: number): string[] {
  const x = r as Partial<Record<keyof BanditJsonResult, unknown>> | null;
  if (!x || typeof x !== 'object') {
    return [`/results/${i} is not an object`];
  }
  const problems: string[] = [];
  for (const field of ['test_id', 'filename', 'issue_text'] as const) {
    if (typeof x[field] !== 'string') {
      problems.push(`/results/${i}/${field} is not a string`);
    }
  }
  if (typeof x.line_number !== 'number' || !Number.isInteger(x.line_number) || x.line_number < 1) {
    problems.push(`/results/${i}/line_number is not a line number`);
  }
  return problems;
}

/**
 * bandit's JSON report (-f json) as a SARIF run shaped like bandit's own SARIF formatter's (rules
 * with CWE tags and precision, levels from severity, the line as snippet and the quoted lines as
 * context, files it could not parse as configuration notifications). We read JSON because the
 * SARIF formatter crashes on some trees (an IndexError in its snippet code) and then writes no
 * report at all. Throws a ToolFailure naming the bad fields of a report that is not bandit's.
 */
export function banditJsonToSarif(doc: unknown): SarifLog {
  const report = doc as { results?: unknown; errors?: unknown } | null;
  if (!report || typeof report !== 'object' || !Array.isArray(report.results)) {
    throw new ToolFailure('bandit wrote an unusable JSON report: /results is missing or not an array');
  }
  const problems = report.results.flatMap(resultProblems);
  if (problems.length > 0) {
    throw new ToolFailure(`bandit wrote an unusable JSON report: ${problems.slice(0, 3).join('; ')}`);
  }
  const rules = new Map<string, SarifRule>();
  const results: SarifResult[] = (report.results as BanditJsonResult[]).map((r) => {
    const cwe = r.issue_cwe?.id;
    if (!rules.has(r.test_id)) {
      rules.set(r.test_id, {
        id: r.test_id,
        ...(r.test_name ? { name: r.test_name } : {}),
        ...(r.more_info ? { helpUri: r.more_info } : {}),
        properties: {
          tags: ['security', ...(typeof cwe === 'number' && cwe > 0 ? [`external/cwe/cwe-${cwe}`] : [])],
          ...(r.issue_confidence ? { precision: r.issue_confidence.toLowerCase() } : {}),
        },
      });
    }
    const quoted = quotedLines(r.code);
    const range = r.line_range?.length ? r.line_range : [r.line_number];
    const endLine = Math.max(r.line_number, ...range);
    const snippet = range
      .filter((n) => quoted.has(n))
      .map((n) => `${quoted.get(n)}\n`)
      .join('');
    const context = [...quoted.keys()].sort((a, b) => a - b);
    const level = SEVERITY_LEVEL[r.issue_severity ?? ''] ?? 'warning';
    return {
      ruleId: r.test_id,
      level,
      message: { text: r.issue_text },
      locations: [
        {
          physicalLocation: {
            artifactLocation: { uri: r.filename.replace(/^\.\//, '') },
            region: {
              startLine: r.line_number,
              endLine,
              ...(r.col_offset !== undefined ? { startColumn: r.col_offset + 1 } : {}),
              ...(r.end_col_offset !== undefined && endLine === r.line_number
                ? { endColumn: r.end_col_offset + 1 }
                : {}),
              ...(snippet ? { snippet: { text: snippet } } : {}),
            },
            ...(context.length > 0
              ? {
                  contextRegion: {
                    startLine: context[0],
                    endLine: context[context.length - 1],
                    snippet: { text: context.map((n) => `${quoted.get(n)}\n`).join('') },
                  },
                }
              : {}),
          },
        },
      ],
      properties: {
        ...(r.issue_confidence ? { issue_confidence: r.issue_confidence } : {}),
        ...(r.issue_severity ? { issue_severity: r.issue_severity } : {}),
      },
    };
  });
  const errors = Array.isArray(report.errors) ? (report.errors as { filename?: unknown; reason?: unknown }[]) : [];
  const notes = errors
    .filter((e) => typeof e?.filename === 'string')
    .map((e) => ({
      level: 'error' as const,
      message: { text: typeof e.reason === 'string' ? e.reason : 'bandit could not analyse this file' },
      locations: [{ physicalLocation: { artifactLocation: { uri: (e.filename as string).replace(/^\.\//, '') } } }],
    }));
  return {
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: TOOL_NAME, informationUri: INFORMATION_URI, rules: [...rules.values()] } },
        results,
        invocations: [
          {
            executionSuccessful: true,
            ...(notes.length > 0 ? { toolConfigurationNotifications: notes } : {}),
          },
        ],
      },
    ],
  };
}

/** "bandit 1.9.4\n  python version = ..." -> 1.9.4 */
export function parseBanditVersion(text: string): string | undefined {
  return /\bbandit\s+v?(\d+\.\d+\.\d+\S*)/i.exec(text)?.[1];
}

/**
 * bandit's SARIF in FuzzForge's shape: tool called "bandit" with its version, URIs relative to
 * SRCROOT, explicit levels, rules with a help text (bandit gives a name and a link only; the
 * first result's message says what the test looks for) and CWE tags, fingerprints, and results
 * below `minLevel` dropped. Pure apart from the log it rewrites.
 */
export function normalizeBanditLog(
  log: SarifLog,
  options: { targetDir: string; rootUri: string; version?: string; minLevel?: MinLevel },
): SarifRun {
  normalizeToolSarif(log, { targetDir: options.targetDir, rootUri: options.rootUri, version: options.version });
  const run = mergeRuns(log.runs);
  run.tool.driver.name = TOOL_NAME;
  run.tool.driver.informationUri ??= INFORMATION_URI;
  if (options.version) {
    run.tool.driver.version = options.version;
    run.tool.driver.semanticVersion = options.version;
  }
  for (const rule of run.tool.driver.rules ?? []) {
    const example = run.results?.find((r) => r.ruleId === rule.id)?.message.text;
    const title = rule.name ? `${rule.id}: ${rule.name.replace(/_/g, ' ')}` : rule.id;
    rule.shortDescription ??= { text: title };
    rule.help ??= { text: example ? `${title}. ${example}` : title };
  }
  // Per-file line counts keyed by path: noise in a merged log.
  delete run.properties?.metrics;
  normalizeNotificationLocations(run, options.targetDir);
  filterByLevel(run, options.minLevel);
  addFingerprints(run);
  reindexRules(run);
  return run;
}

async function banditVersion(bandit: string): Promise<string | undefined> {
  try {
    const run = await runTool(bandit, ['--version'], { cwd: os.tmpdir(), timeoutMs: 60_000 });
    return run.exitCode === 0 ? parseBanditVersion(`${run.stdout}\n${run.stderr}`) : undefined;
  } catch {
    return undefined;
  }
}

async function runBandit(input: BanditInput): Promise<SastResult> {
  let version: string | undefined;
  return runToolActivity(
    TOOL_NAME,
    input,
    async (dir, deadline) => {
      const bandit = requireTool('bandit');
      version = await banditVersion(bandit);
      const files = await sourceFiles(dir, {
        extensions: PYTHON_EXTENSIONS,
        exclude: input.exclude,
        alwaysSkip: PYTHON_ALWAYS_SKIP,
      });
      if (files.length === 0) {
        return buildSarifRun(
          { name: TOOL_NAME, version, informationUri: INFORMATION_URI, rules: [] },
          [],
          input.rootUri,
        );
      }
      const timeoutMs = Math.max(1, deadline - Date.now());
      const batches = argBatches(files);
      return withScratch(async (scratch) => {
        let count = 0;
        /** One bandit process over some files: its report as SARIF, or a ToolFailure. */
        const analyse = async (batch: readonly string[], label: Record<string, unknown>): Promise<SarifLog> => {
          const out = path.join(scratch, `bandit-${count++}.json`);
          const left = deadline - Date.now();
          if (left <= 0) {
            throw new ToolFailure(`bandit timed out after ${Math.round(timeoutMs / 1000)} s`);
          }
          const run = await runTool(bandit, banditArgs(batch, out, input.skips), {
            cwd: dir,
            timeoutMs: left,
            progress: () => ({ tool: TOOL_NAME, files: files.length, ...label }),
          });
          // 0: no issues, 1: issues (or an uncaught exception: then the report is missing).
          if (run.timedOut || run.signal || (run.exitCode !== 0 && run.exitCode !== 1)) {
            throw new ToolFailure(describeFailure(TOOL_NAME, run, timeoutMs));
          }
          return banditJsonToSarif(await readJsonOutput(TOOL_NAME, out, run, timeoutMs));
        };
        const logs: SarifLog[] = [];
        const lost: Notification[] = [];
        for (const [i, batch] of batches.entries()) {
          try {
            logs.push(await analyse(batch, { batch: i + 1, of: batches.length }));
          } catch (err) {
            if (!(err instanceof ToolFailure) || batch.length === 1 || deadline <= Date.now()) {
              throw err;
            }
            // One file can crash bandit for the whole batch: go file by file, so that such a file
            // loses its own results only.
            const failed: Notification[] = [];
            for (const file of batch) {
              try {
                logs.push(await analyse([file], { batch: i + 1, of: batches.length, file }));
              } catch (fileErr) {
                if (!(fileErr instanceof ToolFailure) || deadline <= Date.now()) {
                  throw fileErr;
                }
                failed.push({ level: 'error', text: `bandit could not analyse this file: ${fileErr.message}`, file });
              }
            }
            if (failed.length === batch.length) {
              throw err; // every file fails alike: bandit itself is broken
            }
            lost.push(...failed);
          }
          checkpoint({ tool: TOOL_NAME, batch: i + 1, of: batches.length });
        }
        const merged: SarifLog = { version: '2.1.0', runs: logs.flatMap((l) => l.runs) };
        const run = normalizeBanditLog(merged, {
          targetDir: dir,
          rootUri: input.rootUri,
          version,
          minLevel: input.minLevel,
        });
        addNotifications(run, lost);
        return run;
      });
    },
    () => Promise.resolve(version),
  );
}

export const activities = { runBandit };
