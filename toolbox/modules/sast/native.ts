// Shared plumbing of the native SAST tools (gosec, go vet, cppcheck, flawfinder): the activity
// wrapper that turns a missing, crashing or garbled tool into a SARIF notification instead of a
// failed workflow, version probes, SARIF run surgery and the Go package grouping.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Context, log as activityLog } from '@temporalio/activity';
import ignore from 'ignore';
import type { SarifResult, SarifRule, SarifRun } from '../../../backend/sarif/types';
import { installHint } from '../../../backend/toolbox/tools';
import { readVerticalSpec } from '../../../backend/toolbox/verticals';
import type { TargetRef } from '../../shared/definitions';
import { runTool, stderrExcerpt, ToolMissingError, type ToolRun } from '../process';
import { notificationRun, SRCROOT } from '../reporters/sarif';
import { checkpoint, withTarget } from '../runtime';
// One implementation for every SAST module; re-exported for the native tools' modules.
import { addFingerprints, storeToolPart, withScratch } from './common';
export { addFingerprints, withScratch };

/** What every native tool activity takes besides its own options. */
export interface NativeToolInput {
  runId: string;
  target: TargetRef;
  rootUri: string;
  /** Extra paths to skip, gitignore syntax. */
  exclude: string[];
}

export interface NativeToolResult {
  tool: string;
  /** Object key of the tool's SARIF part in the results bucket. */
  key: string;
  results: number;
  /** Set when the tool could not run or its output was unusable (the part is a notification). */
  error?: string;
}

/**
 * The tool ran but cannot give results: crash exit code, time-out, unreadable output. The
 * message is shown to the user as is, so it names the tool and carries the evidence.
 */
export class ToolFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ToolFailure';
  }
}

/** Wall-clock budget of one activity's tool processes; the activity's own timeout is longer. */
export const TOOL_BUDGET_MS = 25 * 60 * 1000;

/** Last lines of what a tool said: stderr, or stdout when it reports errors there (cppcheck). */
export function outputExcerpt(run: Pick<ToolRun, 'stderr' | 'stdout'>, lines = 8): string {
  const err = stderrExcerpt(run.stderr, lines);
  return err !== '' ? err : stderrExcerpt(run.stdout, lines);
}

/** "gosec exited with code 1: <excerpt>", "... timed out after 60 s", "... was killed by SIGSEGV". */
export function describeFailure(tool: string, run: ToolRun, timeoutMs?: number): string {
  let what: string;
  if (run.timedOut) {
    what = `${tool} timed out after ${Math.round((timeoutMs ?? run.durationMs) / 1000)} s`;
  } else if (run.signal) {
    what = `${tool} was killed by ${run.signal}`;
  } else {
    what = `${tool} exited with code ${run.exitCode}`;
  }
  const excerpt = outputExcerpt(run);
  return excerpt ? `${what}: ${excerpt}` : `${what} (no output)`;
}

/** Time left before `deadline` for the next tool process, or a ToolFailure when it is spent. */
export function remainingMs(tool: string, deadline: number): number {
  const left = deadline - Date.now();
  if (left <= 0) {
    throw new ToolFailure(`${tool} timed out: its ${Math.round(TOOL_BUDGET_MS / 60_000)} min budget is spent`);
  }
  return left;
}

const versions = new Map<string, Promise<string | undefined>>();

/**
 * A tool's version from running it (`cppcheck --version`), cached per binary and modification
 * time so that an upgrade under a running worker is noticed. Undefined when it cannot be told.
 */
export function probeVersion(
  binary: string,
  args: readonly string[],
  parse: (output: string) => string | undefined,
  cwd = os.tmpdir(),
): Promise<string | undefined> {
  let stamp = '';
  try {
    stamp = String(fs.statSync(binary).mtimeMs);
  } catch {
    // Not a file path (resolved through PATH by the caller's tool): cache by name only.
  }
  const key = `${binary}\0${stamp}\0${args.join('\0')}`;
  let found = versions.get(key);
  if (!found) {
    found = runTool(binary, args, { cwd, timeoutMs: 30_000 })
      .then((run) => (run.exitCode === 0 ? parse(`${run.stdout}\n${run.stderr}`) : undefined))
      .catch(() => undefined);
    versions.set(key, found);
  }
  return found;
}

/** A SARIF rule as tools write it: CWE links live in `relationships` (gosec, flawfinder). */
type RuleWithRelationships = SarifRule & {
  relationships?: { target?: { id?: string; toolComponent?: { name?: string } } }[];
};

/** CWE ids ("CWE-798") a rule names through relationships to the CWE taxonomy. */
export function relationshipCwes(rule: SarifRule): string[] {
  const out = new Set<string>();
  for (const rel of (rule as RuleWithRelationships).relationships ?? []) {
    const id = rel.target?.id;
    if (rel.target?.toolComponent?.name?.toUpperCase() === 'CWE' && id) {
      const m = /(\d+)/.exec(id);
      if (m) {
        out.add(`CWE-${m[1]}`);
      }
    }
  }
  return [...out];
}

/**
 * Copy a rule's CWE relationships into `properties.cwe` (which normalizeToolSarif turns into
 * `external/cwe/...` tags) and give it a help link to the first CWE when it has none.
 */
export function liftRuleCwes(rule: SarifRule): void {
  const cwes = relationshipCwes(rule);
  if (cwes.length === 0) {
    return;
  }
  rule.properties = { ...rule.properties, cwe: cwes };
  rule.helpUri ??= `https://cwe.mitre.org/data/definitions/${cwes[0]?.slice(4)}.html`;
}

/** One run out of several runs of the same tool (per module, per batch): rules united, indexes redone. */
export function mergeRuns(runs: readonly SarifRun[]): SarifRun {
  const [first] = runs;
  if (!first) {
    throw new Error('mergeRuns needs at least one run');
  }
  const rules = new Map<string, SarifRule>();
  const results: SarifResult[] = [];
  for (const run of runs) {
    for (const rule of run.tool.driver.rules ?? []) {
      if (!rules.has(rule.id)) {
        rules.set(rule.id, rule);
      }
    }
    for (const result of run.results ?? []) {
      const rule = run.tool.driver.rules?.[result.ruleIndex ?? -1];
      results.push({ ...result, ruleId: result.ruleId ?? rule?.id });
    }
  }
  const merged: SarifRun = {
    ...first,
    tool: { driver: { ...first.tool.driver, rules: [...rules.values()] } },
    results,
  };
  reindexRules(merged);
  return merged;
}

/** Point every result's ruleIndex at its rule, and drop rules no result uses. */
export function reindexRules(run: SarifRun): void {
  const used = new Set((run.results ?? []).map((r) => r.ruleId));
  const rules = (run.tool.driver.rules ?? []).filter((r) => used.has(r.id));
  run.tool.driver.rules = rules;
  const index = new Map(rules.map((r, i) => [r.id, i]));
  for (const result of run.results ?? []) {
    const i = result.ruleId === undefined ? undefined : index.get(result.ruleId);
    if (i === undefined) {
      delete result.ruleIndex;
    } else {
      result.ruleIndex = i;
    }
  }
}

/**
 * Keep only results located in the target and not excluded: a tool may point into the Go root
 * or a system header, which means nothing on the client and would leak worker paths.
 * Returns how many were dropped.
 */
export function keepTargetResults(run: SarifRun, exclude: readonly string[]): number {
  const rules = ignore({ allowRelativePaths: true }).add([...exclude]);
  const before = run.results?.length ?? 0;
  run.results = (run.results ?? []).filter((r) => {
    const art = r.locations?.[0]?.physicalLocation?.artifactLocation;
    if (!art || art.uriBaseId !== SRCROOT) {
      return false;
    }
    return exclude.length === 0 || !rules.ignores(decodeURI(art.uri));
  });
  return before - run.results.length;
}

/** Attach notifications (load errors, skipped packages) to a run without marking it failed. */
export function addNotifications(
  run: SarifRun,
  notes: readonly { level: 'error' | 'warning' | 'note'; text: string }[],
  failed = false,
): void {
  if (notes.length === 0 && !failed) {
    return;
  }
  const invocation = run.invocations?.[0] ?? { executionSuccessful: true };
  invocation.executionSuccessful = invocation.executionSuccessful && !failed;
  invocation.toolExecutionNotifications = [
    ...(invocation.toolExecutionNotifications ?? []),
    ...notes.map((n) => ({ level: n.level, message: { text: n.text } })),
  ];
  run.invocations = [invocation, ...(run.invocations?.slice(1) ?? [])];
}

/** "title:\nitem\nitem\n(N more)": one notification for a list that may be long. */
export function listNotification(title: string, items: readonly string[], max = 10): string {
  const more = items.length > max ? [`(${items.length - max} more)`] : [];
  return [`${title}:`, ...items.slice(0, max), ...more].join('\n');
}

/** "gosec is not installed on this worker (install: ...)": the way setup would install it. */
export function missingToolMessage(err: ToolMissingError, vertical = process.env.FUZZFORGE_VERTICAL): string {
  const spec = vertical ? readVerticalSpec(vertical)?.tools.find((t) => t.command === err.command) : undefined;
  return spec ? `${err.message} (install: ${installHint(spec)})` : err.message;
}

/**
 * The body of every native tool activity: materialise the target, analyse, store the SARIF part.
 * A missing tool, a ToolFailure or any other error of the analysis becomes a notification part
 * (the workflow goes on with the other tools); cancellation and storage errors (materialising the
 * target, uploading the part) are thrown so Temporal stops or retries.
 */
export async function runNativeTool(
  tool: string,
  input: NativeToolInput,
  analyse: (dir: string, deadline: number) => Promise<SarifRun>,
  versionWhenFailed: () => Promise<string | undefined> = () => Promise.resolve(undefined),
): Promise<NativeToolResult> {
  const run = await withTarget(input.target, async (dir) => {
    checkpoint({ tool, phase: 'starting' });
    try {
      return await analyse(dir, Date.now() + TOOL_BUDGET_MS);
    } catch (err) {
      if (Context.current().cancellationSignal.aborted) {
        throw err;
      }
      if (err instanceof ToolMissingError) {
        return notificationRun(tool, missingToolMessage(err), 'unknown');
      }
      let message = (err as Error).message;
      if (!(err instanceof ToolFailure)) {
        // Nothing in the analysis talks to the network, so a retry would fail the same way:
        // record it (with the stack in the worker log) and let the other tools' results stand.
        activityLog.error(`${tool} analysis failed`, { error: (err as Error).stack ?? message });
        message = `${tool} could not be run: ${message}`;
      }
      return notificationRun(tool, message, (await versionWhenFailed()) ?? 'unknown');
    }
  });
  return storeToolPart(input.runId, tool, run);
}

// ---------------------------------------------------------------------------------------------
// Go: which packages to analyse, grouped by the module that builds them.

/** Folders the go command itself skips in `./...`: vendored code, test data, hidden and _ folders. */
function goIgnoredDir(segment: string): boolean {
  return segment === 'vendor' || segment === 'testdata' || segment.startsWith('.') || segment.startsWith('_');
}

export interface GoGroup {
  /** Posix folder relative to the target root ('' = the root): the module root, or the target root. */
  root: string;
  /** False for .go files outside any module: analysed in GOPATH mode. */
  module: boolean;
  /** Package folders relative to `root`, as the go command wants them ('.', './pkg/x'). */
  dirs: string[];
  /** The subset of `dirs` with non-test files (gosec skips test files, so test-only folders have nothing). */
  buildDirs: string[];
}

/**
 * Group a target's .go files (posix paths relative to its root) by module root (the nearest
 * folder above them with a go.mod). Each group is analysed with the go command running in that
 * module, which is how it resolves imports; files under no go.mod form one GOPATH-mode group.
 */
export function goPackageGroups(files: readonly string[]): GoGroup[] {
  const visible = files.filter((f) => {
    const dir = path.posix.dirname(f);
    return dir === '.' || !dir.split('/').some(goIgnoredDir);
  });
  const roots = visible
    .filter((f) => path.posix.basename(f) === 'go.mod')
    .map((f) => (path.posix.dirname(f) === '.' ? '' : path.posix.dirname(f)))
    .sort((a, b) => b.length - a.length);
  const groups = new Map<string, { root: string; module: boolean; dirs: Map<string, boolean> }>();
  for (const file of visible) {
    if (!file.endsWith('.go')) {
      continue;
    }
    const dir = path.posix.dirname(file) === '.' ? '' : path.posix.dirname(file);
    const root = roots.find((r) => r === '' || dir === r || dir.startsWith(`${r}/`));
    const key = root === undefined ? 'gopath:' : `module:${root}`;
    let group = groups.get(key);
    if (!group) {
      group = { root: root ?? '', module: root !== undefined, dirs: new Map() };
      groups.set(key, group);
    }
    const rel = path.posix.relative(group.root, dir);
    const pkg = rel === '' ? '.' : `./${rel}`;
    group.dirs.set(pkg, (group.dirs.get(pkg) ?? false) || !file.endsWith('_test.go'));
  }
  return [...groups.values()]
    .map((g) => {
      const dirs = [...g.dirs.keys()].sort();
      return { root: g.root, module: g.module, dirs, buildDirs: dirs.filter((d) => g.dirs.get(d)) };
    })
    .sort((a, b) => a.root.localeCompare(b.root) || Number(b.module) - Number(a.module));
}

/**
 * Environment for go tooling in one group. The worker's GOPROXY, GOCACHE and GOMODCACHE are
 * kept (shared caches, downloads only through the configured proxy). `-mod=mod` lets loading
 * tolerate an incomplete go.sum; `-modfile` points at a scratch copy of go.mod so that whatever
 * the go command records goes there and never into the cached target, which other runs share.
 * Vendored modules build from vendor/ and need neither. GOWORK=off: each module is analysed
 * as itself; GOTOOLCHAIN=local: never download a toolchain in the middle of a scan.
 */
export async function goGroupEnv(group: GoGroup, moduleDir: string, scratch: string): Promise<NodeJS.ProcessEnv> {
  const inherited = (process.env.GOFLAGS ?? '').split(/\s+/).filter((f) => f !== '' && !/^--?mod(file)?=/.test(f));
  const env: NodeJS.ProcessEnv = { GOWORK: 'off', GOTOOLCHAIN: 'local' };
  if (!group.module) {
    return { ...env, GO111MODULE: 'off', GOFLAGS: inherited.join(' ') };
  }
  if (fs.existsSync(path.join(moduleDir, 'vendor', 'modules.txt'))) {
    return { ...env, GO111MODULE: 'on', GOFLAGS: [...inherited, '-mod=vendor'].join(' ') };
  }
  const copy = await fs.promises.mkdtemp(path.join(scratch, 'mod-'));
  await fs.promises.copyFile(path.join(moduleDir, 'go.mod'), path.join(copy, 'go.mod'));
  if (fs.existsSync(path.join(moduleDir, 'go.sum'))) {
    await fs.promises.copyFile(path.join(moduleDir, 'go.sum'), path.join(copy, 'go.sum'));
  }
  return {
    ...env,
    GO111MODULE: 'on',
    GOFLAGS: [...inherited, '-mod=mod', `-modfile=${path.join(copy, 'go.mod')}`].join(' '),
  };
}

/** "module tools" or "files outside any module in ." for messages: which folder, analysed how. */
export function groupLabel(group: GoGroup): string {
  const where = group.root === '' ? '.' : group.root;
  return group.module ? `module ${where}` : `files outside any module in ${where}`;
}
