// gosec activity: Go security rules (injection, weak crypto, credentials, taint analysis) run per
// Go module of the target, its SARIF normalised to FuzzForge's shape and stored as one part.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseSarif } from '../../../backend/sarif/log';
import type { SarifRun } from '../../../backend/sarif/types';
import { requireTool, runTool } from '../process';
import { redactRun } from '../reporters/redact';
import { buildSarifRun, normalizeToolSarif } from '../reporters/sarif';
import { checkpoint } from '../runtime';
import { listTargetFiles } from '../targetFiles';
import {
  addFingerprints,
  addNotifications,
  describeFailure,
  goGroupEnv,
  goPackageGroups,
  groupLabel,
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

export const TOOL_NAME = 'gosec';
const GOSEC_MODULE = 'github.com/securego/gosec/v2';
const INFORMATION_URI = 'https://github.com/securego/gosec';

export type GosecLevel = 'low' | 'medium' | 'high';

export interface GosecInput extends NativeToolInput {
  /** Drop issues below this severity (gosec -severity). */
  severity: GosecLevel;
  /** Drop issues below this confidence (gosec -confidence). */
  confidence: GosecLevel;
  /** Only these rule ids (all when empty), e.g. G101. */
  includeRules: string[];
  /** Never these rule ids. */
  excludeRules: string[];
}

/** gosec's command line for one module; package folders come last. */
export function gosecArgs(
  input: Pick<GosecInput, 'severity' | 'confidence' | 'includeRules' | 'excludeRules'>,
  out: string,
): string[] {
  return [
    '-fmt=sarif',
    `-out=${out}`,
    // Findings are not an error here; a non-zero exit then means gosec itself failed.
    '-no-fail',
    // The JSON report on stdout as well: it lists the type-checking errors SARIF has no place for.
    // Not -quiet: that also silences the one line that says why gosec gave up.
    '-stdout',
    '-verbose=json',
    `-severity=${input.severity}`,
    `-confidence=${input.confidence}`,
    ...(input.includeRules.length > 0 ? [`-include=${input.includeRules.join(',')}`] : []),
    ...(input.excludeRules.length > 0 ? [`-exclude=${input.excludeRules.join(',')}`] : []),
  ];
}

/** The version of a module inside a Go binary, from `go version -m` (v2.30.0 -> 2.30.0). */
export function moduleVersionFromBuildInfo(text: string, module: string): string | undefined {
  for (const line of text.split('\n')) {
    const [kind, name, version] = line.trim().split(/\s+/);
    if ((kind === 'mod' || kind === 'dep') && name === module && version && version !== '(devel)') {
      return version.replace(/^v/, '');
    }
  }
  return undefined;
}

/**
 * gosec's version. Built with `go install` it calls itself "dev", so the build info the Go
 * toolchain embeds is asked first, then `gosec -version` for release binaries.
 */
export async function gosecVersion(gosec: string): Promise<string | undefined> {
  const fromBuild = await probeVersion('go', ['version', '-m', gosec], (out) =>
    moduleVersionFromBuildInfo(out, GOSEC_MODULE),
  );
  if (fromBuild) {
    return fromBuild;
  }
  return probeVersion(gosec, ['-version'], (out) => {
    const v = /^Version:\s*v?(\S+)/m.exec(out)?.[1];
    return v && v !== 'dev' ? v : undefined;
  });
}

/** What gosec's JSON report (printed on stdout beside the SARIF file) tells that SARIF does not. */
export interface GosecJsonReport {
  /** Issues in the order of the SARIF results, with absolute file paths. */
  issues: { ruleId: string; file: string; line: number }[];
  /** Type-checking problems, "file:line: message" relative to the target. */
  loadErrors: string[];
}

/** Read gosec's JSON report; undefined when stdout holds none (the SARIF file is the contract). */
export function parseGosecJson(stdout: string, moduleDir: string, targetDir: string): GosecJsonReport | undefined {
  let report: unknown;
  try {
    report = JSON.parse(stdout);
  } catch {
    return undefined;
  }
  const doc = report as {
    Issues?: { rule_id?: unknown; file?: unknown; line?: unknown }[];
    'Golang errors'?: Record<string, { line?: number; error?: string }[]>;
  } | null;
  if (!doc || typeof doc !== 'object') {
    return undefined;
  }
  const issues = (Array.isArray(doc.Issues) ? doc.Issues : []).map((i) => ({
    ruleId: String(i.rule_id),
    file: path.resolve(moduleDir, String(i.file)),
    // "17" or "17-19" for a multi-line node.
    line: parseInt(String(i.line), 10),
  }));
  const loadErrors: string[] = [];
  for (const [file, list] of Object.entries(doc['Golang errors'] ?? {})) {
    const rel = path.relative(targetDir, path.resolve(moduleDir, file)).split(path.sep).join('/');
    for (const e of Array.isArray(list) ? list : []) {
      loadErrors.push(`${rel}:${e.line ?? 0}: ${e.error ?? 'type error'}`);
    }
  }
  return { issues, loadErrors: loadErrors.sort() };
}

/**
 * gosec's SARIF URIs are relative to whichever package folder given on its command line holds
 * the file ("secure.go" for ./internal/secure), which loses the folder. Its JSON report lists the
 * same issues, in the same order, with absolute paths: pair them (checking rule, line and path
 * suffix of each pair) and make every URI absolute, for normalizeToolSarif to relativise. A
 * result the JSON cannot vouch for is placed in the one package folder that has such a file.
 */
export function restoreGosecPaths(
  run: SarifRun,
  json: GosecJsonReport | undefined,
  moduleDir: string,
  packageDirs: readonly string[],
): void {
  const results = run.results ?? [];
  const matches = (r: (typeof results)[number], issue: GosecJsonReport['issues'][number] | undefined) => {
    const region = r.locations?.[0]?.physicalLocation?.region;
    const uri = decodeURI(r.locations?.[0]?.physicalLocation?.artifactLocation?.uri ?? '');
    return (
      issue !== undefined &&
      issue.ruleId === r.ruleId &&
      issue.line === region?.startLine &&
      (issue.file === uri || issue.file.endsWith(`/${uri}`))
    );
  };
  const paired =
    json !== undefined && json.issues.length === results.length && results.every((r, i) => matches(r, json.issues[i]));
  results.forEach((result, i) => {
    const art = result.locations?.[0]?.physicalLocation?.artifactLocation;
    if (!art?.uri || art.uri.startsWith('file:') || path.isAbsolute(decodeURI(art.uri))) {
      return;
    }
    const uri = decodeURI(art.uri);
    let file = paired ? json.issues[i]?.file : json?.issues.find((issue) => matches(result, issue))?.file;
    file ??= packageDirs.map((d) => path.resolve(moduleDir, d, uri)).find((f) => fs.existsSync(f));
    art.uri = file ?? path.resolve(moduleDir, uri);
  });
}

const SECURITY_SEVERITY: Record<string, string> = { HIGH: '8.0', MEDIUM: '5.5', LOW: '3.0' };

/** gosec rules carry CWE as relationships and severity as a tag: expose both the usual way. */
function describeRules(run: SarifRun): void {
  for (const rule of run.tool.driver.rules ?? []) {
    liftRuleCwes(rule);
    const severity = rule.properties?.tags?.find((t) => SECURITY_SEVERITY[t]);
    if (severity && rule.properties) {
      rule.properties['security-severity'] ??= SECURITY_SEVERITY[severity];
    }
  }
}

/** One gosec invocation's output: its SARIF run, JSON report, working folder and package folders. */
export interface GosecModuleRun {
  run: SarifRun;
  json: GosecJsonReport | undefined;
  cwd: string;
  dirs: readonly string[];
}

/**
 * Turn gosec's per-module SARIF runs into one FuzzForge run: absolute-then-relative URIs under
 * SRCROOT, CWE tags, version, fingerprints, nothing outside the target or excluded.
 */
export function finishGosecRun(
  runs: readonly GosecModuleRun[],
  options: { targetDir: string; rootUri: string; version?: string; exclude: readonly string[] },
): SarifRun {
  for (const { run, json, cwd, dirs } of runs) {
    restoreGosecPaths(run, json, cwd, dirs);
  }
  const merged = mergeRuns(runs.map((r) => r.run));
  merged.tool.driver.name = TOOL_NAME;
  merged.tool.driver.informationUri ??= INFORMATION_URI;
  if (options.version) {
    merged.tool.driver.version = options.version;
    merged.tool.driver.semanticVersion = options.version;
  }
  // CWEs first: normalizeToolSarif turns rule properties into external/cwe tags.
  describeRules(merged);
  const log = normalizeToolSarif(
    { version: '2.1.0', runs: [merged] },
    { targetDir: options.targetDir, rootUri: options.rootUri, version: options.version },
  );
  const run = log.runs[0] as SarifRun;
  keepTargetResults(run, options.exclude);
  reindexRules(run);
  // Before fingerprinting: the fingerprint hashes the snippet, which must not hold the credential.
  redactRun(run);
  addFingerprints(run);
  run.invocations ??= [{ executionSuccessful: true }];
  return run;
}

async function runGosec(input: GosecInput): Promise<NativeToolResult> {
  let gosecPath: string | undefined;
  return runToolActivity(
    TOOL_NAME,
    input,
    async (dir, deadline) => {
      const gosec = requireTool('gosec');
      gosecPath = gosec;
      const version = await gosecVersion(gosec);
      const files = await listTargetFiles(dir, input.exclude);
      const groups = goPackageGroups(files.map((f) => f.rel)).filter((g) => g.buildDirs.length > 0);
      if (groups.length === 0) {
        const run = buildSarifRun(
          { name: TOOL_NAME, version, informationUri: INFORMATION_URI, rules: [] },
          [],
          input.rootUri,
        );
        addNotifications(run, [{ level: 'note', text: 'no Go packages to analyse' }]);
        return run;
      }
      return withScratch(async (scratch) => {
        const runs: GosecModuleRun[] = [];
        const failures: { group: string; message: string }[] = [];
        const loadErrors: string[] = [];
        for (const [i, group] of groups.entries()) {
          checkpoint({ tool: TOOL_NAME, module: group.root, done: i, total: groups.length });
          const cwd = path.join(dir, group.root);
          const out = path.join(scratch, `gosec-${i}.sarif`);
          const env = await goGroupEnv(group, cwd, scratch);
          const timeoutMs = remainingMs(TOOL_NAME, deadline);
          const run = await runTool(gosec, [...gosecArgs(input, out), ...group.buildDirs], {
            cwd,
            env,
            timeoutMs,
            progress: () => ({ tool: TOOL_NAME, module: group.root, done: i, total: groups.length }),
          });
          if (run.timedOut || run.signal || run.exitCode !== 0) {
            failures.push({ group: groupLabel(group), message: describeFailure(TOOL_NAME, run, timeoutMs) });
            continue;
          }
          try {
            const log = parseSarif(await fs.promises.readFile(out, 'utf8'), `gosec output for ${groupLabel(group)}`);
            const json = parseGosecJson(run.stdout, cwd, dir);
            runs.push(...log.runs.map((r) => ({ run: r, json, cwd, dirs: group.buildDirs })));
            loadErrors.push(...(json?.loadErrors ?? []));
          } catch (err) {
            failures.push({
              group: groupLabel(group),
              message: `gosec wrote unusable output: ${(err as Error).message}`,
            });
          }
        }
        const failureText = summariseFailures(failures, groups.length);
        if (runs.length === 0) {
          throw new ToolFailure(failureText);
        }
        const run = finishGosecRun(runs, { targetDir: dir, rootUri: input.rootUri, version, exclude: input.exclude });
        if (failures.length > 0) {
          // Results of the modules that worked are kept; the run says it is incomplete (first
          // notification: the one the scan summary shows).
          addNotifications(run, [{ level: 'error', text: failureText }], true);
        }
        if (loadErrors.length > 0) {
          // gosec still applied its rules to what parsed.
          addNotifications(run, [
            { level: 'warning', text: listNotification('type-checking errors, results may be incomplete', loadErrors) },
          ]);
        }
        return run;
      });
    },
    () => (gosecPath ? gosecVersion(gosecPath) : Promise.resolve(undefined)),
  );
}

/** One message for failed modules; the same failure everywhere (a bad option) is said once. */
function summariseFailures(failures: readonly { group: string; message: string }[], total: number): string {
  const byMessage = new Map<string, string[]>();
  for (const f of failures) {
    byMessage.set(f.message, [...(byMessage.get(f.message) ?? []), f.group]);
  }
  return [...byMessage.entries()]
    .map(([message, where]) =>
      where.length === total && total > 1
        ? `${message} (in all ${total} modules)`
        : total > 1
          ? `${message} (${where.join(', ')})`
          : message,
    )
    .join('\n');
}

export const activities = { runGosec };
