// flawfinder activity: risky C/C++ library calls (unbounded copies, format strings, shell and
// race-prone calls) by lexical scan, ranked 0-5; its own SARIF is normalised into one part.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseSarif } from '../../../backend/sarif/log';
import type { SarifLog, SarifResult, SarifRun } from '../../../backend/sarif/types';
import { requireTool, runTool } from '../process';
import { buildSarifRun, normalizeToolSarif } from '../reporters/sarif';
import { checkpoint } from '../runtime';
import { listTargetFiles, type TargetFile } from '../targetFiles';
import {
  addFingerprints,
  addNotifications,
  describeFailure,
  keepTargetResults,
  liftRuleCwes,
  listNotification,
  mergeRuns,
  type NativeToolInput,
  type NativeToolResult,
  probeVersion,
  reindexRules,
  remainingMs,
  runToolActivity,
  ToolFailure,
  withScratch,
} from './native';

export const TOOL_NAME = 'flawfinder';
const INFORMATION_URI = 'https://dwheeler.com/flawfinder/';

export interface FlawfinderInput extends NativeToolInput {
  /** Report hits of this risk level and above (0-5). */
  minLevel: number;
  /** flawfinder --falsepositive: skip hits that are probably harmless (fixed-size arrays, constant formats). */
  falsePositive: boolean;
}

/** The files flawfinder reads: its own list of C/C++ extensions, headers included (it is lexical). */
export const FLAWFINDER_SOURCE = /\.(c|h|ec|ecp|pgc|C|cpp|CPP|cxx|c\+\+|cc|CC|pcc|hpp|H|hh|hxx|ipp|tpp|txx)$/;

/** Keep argument lists well below the kernel's limit; big targets are analysed in batches. */
const MAX_ARGS_BYTES = 512 * 1024;

export function flawfinderArgs(input: Pick<FlawfinderInput, 'minLevel' | 'falsePositive'>): string[] {
  return ['--sarif', `--minlevel=${input.minLevel}`, ...(input.falsePositive ? ['--falsepositive'] : [])];
}

/** Split file arguments into batches whose total length stays under `maxBytes`. */
export function batches(files: readonly string[], maxBytes = MAX_ARGS_BYTES): string[][] {
  const out: string[][] = [];
  let current: string[] = [];
  let size = 0;
  for (const f of files) {
    const len = Buffer.byteLength(f) + 1;
    if (current.length > 0 && size + len > maxBytes) {
      out.push(current);
      current = [];
      size = 0;
    }
    current.push(f);
    size += len;
  }
  if (current.length > 0) {
    out.push(current);
  }
  return out;
}

/**
 * A hit's risk level from its SARIF rank (level / 5). flawfinder 2.0.19 ignores --minlevel when
 * writing SARIF, so the level filter is applied here too; on versions that honour it, it is a
 * no-op. Results without a rank are kept.
 */
export function hitLevel(result: SarifResult): number | undefined {
  const rank = (result as SarifResult & { rank?: unknown }).rank;
  return typeof rank === 'number' ? Math.round(rank * 5) : undefined;
}

export function filterByLevel(run: SarifRun, minLevel: number): void {
  run.results = (run.results ?? []).filter((r) => (hitLevel(r) ?? minLevel) >= minLevel);
}

/** flawfinder's SARIF for FuzzForge: level filter, CWE tags, relative URIs, one run. */
export function finishFlawfinderRun(
  logs: readonly SarifLog[],
  options: { targetDir: string; rootUri: string; minLevel: number; exclude: readonly string[] },
): SarifRun {
  const runs = logs.flatMap((l) => l.runs);
  for (const run of runs) {
    filterByLevel(run, options.minLevel);
    run.tool.driver.rules?.forEach(liftRuleCwes);
  }
  const merged = mergeRuns(runs);
  merged.tool.driver.name = TOOL_NAME;
  const run = normalizeToolSarif({ version: '2.1.0', runs: [merged] }, options).runs[0] as SarifRun;
  keepTargetResults(run, options.exclude);
  reindexRules(run);
  addFingerprints(run);
  run.invocations ??= [{ executionSuccessful: true }];
  return run;
}

/** Files whose bytes are valid UTF-8, and the others (which flawfinder refuses to read). */
export async function splitByEncoding(
  files: readonly TargetFile[],
): Promise<{ utf8: TargetFile[]; other: TargetFile[] }> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const utf8: TargetFile[] = [];
  const other: TargetFile[] = [];
  for (const file of files) {
    try {
      decoder.decode(await fs.promises.readFile(file.abs));
      utf8.push(file);
    } catch {
      other.push(file);
    }
  }
  return { utf8, other };
}

export function flawfinderVersion(flawfinder: string): Promise<string | undefined> {
  return probeVersion(flawfinder, ['--version'], (out) => /(\d+\.\d+(?:\.\d+)?)/.exec(out)?.[1]);
}

async function runFlawfinder(input: FlawfinderInput): Promise<NativeToolResult> {
  let binary: string | undefined;
  return runToolActivity(
    TOOL_NAME,
    input,
    async (dir, deadline) => {
      const flawfinder = requireTool('flawfinder');
      binary = flawfinder;
      const files = (await listTargetFiles(dir, input.exclude)).filter((f) =>
        FLAWFINDER_SOURCE.test(path.basename(f.rel)),
      );
      if (files.length === 0) {
        const version = await flawfinderVersion(flawfinder);
        const run = buildSarifRun(
          { name: TOOL_NAME, version, informationUri: INFORMATION_URI, rules: [] },
          [],
          input.rootUri,
        );
        addNotifications(run, [{ level: 'note', text: 'no C/C++ files to analyse' }]);
        return run;
      }
      // flawfinder stops at the first file that is not UTF-8 ("encoding error", exit 15), which
      // would cost the whole run: such files (Latin-1 comments and strings in older C code) are
      // analysed from UTF-8 copies read as Latin-1, which keeps every line and every identifier.
      const { utf8, other } = await splitByEncoding(files);
      const logs: SarifLog[] = [];
      const analyse = async (rels: readonly string[], cwd: string): Promise<void> => {
        const groups = batches(rels);
        for (const [i, group] of groups.entries()) {
          checkpoint({ tool: TOOL_NAME, batch: i, batches: groups.length });
          const timeoutMs = remainingMs(TOOL_NAME, deadline);
          const run = await runTool(flawfinder, [...flawfinderArgs(input), '--', ...group], {
            cwd,
            timeoutMs,
            // Files are read as UTF-8 and the SARIF written as UTF-8, whatever the worker's locale.
            env: { PYTHONUTF8: '1' },
            progress: () => ({ tool: TOOL_NAME, batch: i, batches: groups.length }),
          });
          if (run.timedOut || run.signal || run.exitCode !== 0) {
            throw new ToolFailure(describeFailure(TOOL_NAME, run, timeoutMs));
          }
          if (run.truncated) {
            throw new ToolFailure(
              'flawfinder wrote more output than the worker keeps (64 MiB): exclude generated code',
            );
          }
          try {
            logs.push(parseSarif(run.stdout, 'flawfinder SARIF output'));
          } catch (err) {
            throw new ToolFailure(`flawfinder wrote unusable output: ${(err as Error).message}`);
          }
        }
      };
      await analyse(
        utf8.map((f) => f.rel),
        dir,
      );
      if (other.length > 0) {
        await withScratch(async (scratch) => {
          for (const file of other) {
            const copy = path.join(scratch, file.rel);
            await fs.promises.mkdir(path.dirname(copy), { recursive: true });
            await fs.promises.writeFile(copy, (await fs.promises.readFile(file.abs)).toString('latin1'), 'utf8');
          }
          // Relative paths from the copies' root: the results name the target's files.
          await analyse(
            other.map((f) => f.rel),
            scratch,
          );
        });
      }
      const run = finishFlawfinderRun(logs, {
        targetDir: dir,
        rootUri: input.rootUri,
        minLevel: input.minLevel,
        exclude: input.exclude,
      });
      if (other.length > 0) {
        addNotifications(run, [
          {
            level: 'note',
            text: listNotification(
              'not UTF-8, so analysed as Latin-1 text',
              other.map((f) => f.rel),
            ),
          },
        ]);
      }
      return run;
    },
    () => (binary ? flawfinderVersion(binary) : Promise.resolve(undefined)),
  );
}

export const activities = { runFlawfinder };
