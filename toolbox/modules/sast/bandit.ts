// bandit activity: Python security checks (PyCQA) over the target's Python files, bandit's own
// SARIF (-f sarif, bandit >= 1.7.8 with the [sarif] extra) normalised to FuzzForge's shape and
// stored as one part.
import * as os from 'node:os';
import * as path from 'node:path';
import { sarifShapeProblems } from '../../../backend/sarif/log';
import type { SarifLog, SarifRun } from '../../../backend/sarif/types';
import { requireTool, runTool } from '../process';
import { buildSarifRun, normalizeToolSarif } from '../reporters/sarif';
import { checkpoint } from '../runtime';
import {
  addFingerprints,
  argBatches,
  describeFailure,
  filterByLevel,
  mergeRuns,
  normalizeNotificationLocations,
  readJsonOutput,
  reindexRules,
  runSastTool,
  sourceFiles,
  type MinLevel,
  type SastInput,
  type SastResult,
  TOOL_TIMEOUT_MS,
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
    'sarif',
    '--output',
    out,
    // No progress chatter: stderr then holds only what went wrong.
    '--quiet',
    ...(skips.length > 0 ? ['--skip', skips.join(',')] : []),
    // A file named "-x.py" must not be read as an option.
    ...files.map((f) => (f.startsWith('-') ? `./${f}` : f)),
  ];
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
  return runSastTool(
    TOOL_NAME,
    input,
    async (dir) => {
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
      const timeoutMs = input.timeoutMs ?? TOOL_TIMEOUT_MS;
      const deadline = Date.now() + timeoutMs;
      const batches = argBatches(files);
      return withScratch(async (scratch) => {
        const logs: SarifLog[] = [];
        for (const [i, batch] of batches.entries()) {
          const out = path.join(scratch, `bandit-${i}.sarif`);
          const left = deadline - Date.now();
          if (left <= 0) {
            throw new ToolFailure(`bandit timed out after ${Math.round(timeoutMs / 1000)} s`);
          }
          const run = await runTool(bandit, banditArgs(batch, out, input.skips), {
            cwd: dir,
            timeoutMs: left,
            progress: () => ({ tool: TOOL_NAME, batch: i + 1, of: batches.length, files: files.length }),
          });
          // 0: no issues, 1: issues (or an uncaught exception: then the report is missing).
          if (run.timedOut || run.signal || (run.exitCode !== 0 && run.exitCode !== 1)) {
            throw new ToolFailure(describeFailure(TOOL_NAME, run, timeoutMs));
          }
          const doc = await readJsonOutput(TOOL_NAME, out, run, timeoutMs);
          const problems = sarifShapeProblems(doc);
          if (problems.length > 0) {
            throw new ToolFailure(`bandit wrote an unusable SARIF report: ${problems.slice(0, 3).join('; ')}`);
          }
          logs.push(doc as SarifLog);
          checkpoint({ tool: TOOL_NAME, batch: i + 1, of: batches.length });
        }
        const merged: SarifLog = { version: '2.1.0', runs: logs.flatMap((l) => l.runs) };
        return normalizeBanditLog(merged, {
          targetDir: dir,
          rootUri: input.rootUri,
          version,
          minLevel: input.minLevel,
        });
      });
    },
    () => Promise.resolve(version),
  );
}

export const activities = { runBandit };
