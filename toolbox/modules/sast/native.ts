// Shared plumbing of the native SAST tools (gosec, go vet, cppcheck, flawfinder): version probes,
// CWE relationships, target scoping and the Go package grouping. The activity wrapper, failure
// type, time budget and run merging are common.ts's, the same as the other SAST tools'.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import ignore from 'ignore';
import type { SarifRule, SarifRun } from '../../../backend/sarif/types';
import { runTool } from '../process';
import { SRCROOT } from '../reporters/sarif';
// One implementation for every SAST module; re-exported for the native tools' modules.
import type { SastInput, SastResult } from './common';
export {
  addFingerprints,
  addNotifications,
  describeFailure,
  mergeRuns,
  reindexRules,
  remainingMs,
  runToolActivity,
  TOOL_BUDGET_MS,
  ToolFailure,
  withScratch,
} from './common';

/** What every native tool activity takes besides its own options. */
export type NativeToolInput = Omit<SastInput, 'minLevel'>;
export type NativeToolResult = SastResult;

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

/** "title:\nitem\nitem\n(N more)": one notification for a list that may be long. */
export function listNotification(title: string, items: readonly string[], max = 10): string {
  const more = items.length > max ? [`(${items.length - max} more)`] : [];
  return [`${title}:`, ...items.slice(0, max), ...more].join('\n');
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
