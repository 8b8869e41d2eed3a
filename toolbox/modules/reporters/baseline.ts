// Matching a run's results against the previous run of the same workspace and workflow with
// `sarif-multitool match-results-forward`, which marks each result new / unchanged / updated and
// adds the previous run's results that are gone as absent.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { sarifMultitoolPath } from '../../../backend/sarif/multitool';
import type { SarifLog } from '../../../backend/sarif/types';
import { runTool, stderrExcerpt } from '../process';

export interface BaselineCounts {
  new: number;
  unchanged: number;
  updated: number;
  absent: number;
}

export function baselineCounts(log: SarifLog): BaselineCounts {
  const counts: BaselineCounts = { new: 0, unchanged: 0, updated: 0, absent: 0 };
  for (const run of log.runs) {
    for (const result of run.results ?? []) {
      if (result.baselineState && result.baselineState in counts) {
        counts[result.baselineState]++;
      }
    }
  }
  return counts;
}

/**
 * The multitool rewrites runs and drops what it does not model (originalUriBaseIds, artifacts);
 * put back what editors need from the current log, and drop rule indexes of absent results,
 * which point into the previous log's rule tables.
 */
export function restoreRunContext(matched: SarifLog, current: SarifLog): SarifLog {
  for (const run of matched.runs) {
    const source = current.runs.find((r) => r.tool.driver.name === run.tool.driver.name);
    if (source) {
      run.originalUriBaseIds = source.originalUriBaseIds;
      run.tool.driver = { ...source.tool.driver };
      run.invocations = source.invocations;
      if (source.properties) {
        run.properties = { ...run.properties, ...source.properties };
      }
    }
    const rules = run.tool.driver.rules ?? [];
    for (const result of run.results ?? []) {
      if (
        result.baselineState === 'absent' ||
        (result.ruleIndex !== undefined && rules[result.ruleIndex]?.id !== result.ruleId)
      ) {
        const index = rules.findIndex((r) => r.id === result.ruleId);
        if (index >= 0) {
          result.ruleIndex = index;
        } else {
          delete result.ruleIndex;
        }
      }
    }
  }
  matched.$schema = current.$schema;
  return matched;
}

/** Annotate `current` with baseline states relative to `previous` (a new log is returned). */
export async function matchAgainstBaseline(current: SarifLog, previous: SarifLog): Promise<SarifLog> {
  // Before any work: a missing tool says which file is missing and how to get it.
  const bin = sarifMultitoolPath();
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'ff-baseline-'));
  try {
    const cur = path.join(dir, 'current.sarif');
    const prev = path.join(dir, 'previous.sarif');
    const out = path.join(dir, 'matched.sarif');
    await fs.promises.writeFile(cur, JSON.stringify(current));
    await fs.promises.writeFile(prev, JSON.stringify(previous));
    const run = await runTool(
      bin,
      ['match-results-forward', cur, '--previous', prev, '-o', out, '--log', 'ForceOverwrite'],
      {
        cwd: dir,
        timeoutMs: 5 * 60_000,
        // A .NET program: without ICU (slim worker images, many hosts) it aborts unless told to
        // use the invariant culture, which is all matching SARIF needs.
        // Tiered PGO instruments hot methods for a later, better compile that a run this short
        // never reaches, and the background GC thread has nothing to overlap with: off, about 7 %
        // less CPU per run, which the next save's run no longer competes with.
        env: { DOTNET_SYSTEM_GLOBALIZATION_INVARIANT: '1', DOTNET_TieredPGO: '0', DOTNET_gcConcurrent: '0' },
        // The results are shown before their marks: the next save's run must not wait behind this.
        niceness: 10,
      },
    );
    if (run.exitCode !== 0 || !fs.existsSync(out)) {
      throw new Error(
        `sarif-multitool match-results-forward failed (exit ${run.exitCode}): ${stderrExcerpt(run.stderr || run.stdout)}`,
      );
    }
    const matched = JSON.parse(await fs.promises.readFile(out, 'utf8')) as SarifLog;
    return restoreRunContext(matched, current);
  } finally {
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
}
