// gitleaks activity for the secret_detection workflow: runs `gitleaks dir` over the target with
// its built-in rules and stores its SARIF as one part, in FuzzForge's shape.
//
// gitleaks is optional. When it is missing, crashes or writes no usable report, the part is a
// notification run saying so (the workflow does not fail) and our own detector's part still
// carries every finding it can make on its own.
//
// What we change in its output, and why:
// - secrets: gitleaks runs with --redact, and we rebuild every snippet and message ourselves from
//   the file, with the secret redacted like our own findings (first 4 characters and "…"), then
//   scrub them again: no raw value may reach MinIO, the CLI or the editor;
// - columns: gitleaks 8.30 counts the preceding newline in startColumn after the first line and
//   reports an inclusive endColumn on the first line; both are corrected to SARIF's 1-based,
//   end-exclusive columns;
// - decoys: results whose value our detector's rules recognise as not a live secret
//   (documentation examples, environment references, UUIDs, hashes, public keys, placeholders)
//   are dropped and counted in the run's properties, so the workflow reports the same decoys the
//   same way whichever tool saw them;
// - scope: results in files the workflow excludes (`exclude`, `max_file_bytes`) are dropped;
// - rules: only the rules that have results are kept, with help text, the CWE-798 page, levels,
//   precision and security-severity; fingerprints are ours (gitleaks' are empty outside git).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseSarif } from '../../../backend/sarif/log';
import type { SarifLog, SarifRule, SarifRun } from '../../../backend/sarif/types';
import { requireTool, runTool, ToolMissingError } from '../process';
import { fingerprint, normalizeToolSarif, SRCROOT } from '../reporters/sarif';
import {
  describeFailure,
  mergeRuns,
  remainingMs,
  runToolActivity,
  ToolFailure,
  withScratch,
  type SastInput,
  type SastResult,
} from '../sast/common';
import { listTargetFiles, readText, type TargetFile } from '../targetFiles';
import { pruneRules } from './dedup';
import { decoyReason, redactRegion, scrubText } from './detector';

export const GITLEAKS_TOOL = 'gitleaks';
export const GITLEAKS_MODULE = 'github.com/zricethezav/gitleaks/v8';
/** The version workers/generic/vertical.yaml installs (`go install <module>@v<version>`). */
export const GITLEAKS_VERSION = '8.30.1';
/** A gitleaks binary to use instead of the tools folder and PATH (tests, pinned installs). */
export const GITLEAKS_BIN_ENV = 'FUZZFORGE_GITLEAKS_BIN';

const MIB = 1024 * 1024;
const CWE_798 = 'https://cwe.mitre.org/data/definitions/798.html';
/** gitleaks' catch-all keyword + entropy rule: less precise than its format rules. */
const GENERIC_RULES = new Set(['generic-api-key']);

export interface GitleaksInput extends Omit<SastInput, 'minLevel'> {
  maxFileBytes: number;
}

function gitleaksCommand(): string {
  const override = process.env[GITLEAKS_BIN_ENV];
  if (override) {
    try {
      fs.accessSync(override, fs.constants.X_OK);
      return override;
    } catch {
      throw new ToolMissingError(override);
    }
  }
  return requireTool('gitleaks');
}

const versions = new Map<string, string>();

/**
 * The installed version: `gitleaks version` when the build stamped one, else the module version
 * Go records in the binary's build information (a plain `go install` build prints a
 * placeholder instead of its version).
 */
async function gitleaksVersion(command: string): Promise<string | undefined> {
  const stat = await fs.promises.stat(command);
  const cacheKey = `${command}\0${stat.mtimeMs}`;
  const known = versions.get(cacheKey);
  if (known) {
    return known;
  }
  let found: string | undefined;
  const run = await runTool(command, ['version'], { cwd: os.tmpdir(), timeoutMs: 30_000 }).catch(() => undefined);
  found = /\bv?(\d+\.\d+\.\d+)\b/.exec(run?.stdout ?? '')?.[1];
  if (!found) {
    const binary = await fs.promises.readFile(command);
    const marker = Buffer.from(`mod\t${GITLEAKS_MODULE}\tv`);
    const at = binary.indexOf(marker);
    if (at >= 0) {
      found = /^(\d+\.\d+\.\d+[^\s]*)/.exec(
        binary.subarray(at + marker.length, at + marker.length + 64).toString(),
      )?.[1];
    }
  }
  if (found) {
    versions.set(cacheKey, found);
  }
  return found;
}

function pascalCase(id: string): string {
  return id
    .split(/[^A-Za-z0-9]+/)
    .filter((w) => w !== '')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
}

/** gitleaks rules carry only an id and a one-line description: add what our rules have. */
function enrichRule(rule: SarifRule): SarifRule {
  const generic = GENERIC_RULES.has(rule.id);
  const level = generic ? 'warning' : 'error';
  const description = rule.shortDescription?.text ?? `gitleaks rule ${rule.id}`;
  return {
    ...rule,
    // Prefixed: a name must differ from the id (SARIF1001), and says where the rule comes from.
    name: `Gitleaks${pascalCase(rule.id)}`,
    shortDescription: { text: description },
    fullDescription: { text: description },
    help: {
      text:
        `${description} Reported by gitleaks rule ${rule.id}. Revoke or rotate the secret now (removing it ` +
        'from the code does not remove it from the history or from copies), then load the replacement at run ' +
        'time from the environment or a secrets manager.',
    },
    helpUri: CWE_798,
    defaultConfiguration: { level },
    properties: {
      ...rule.properties,
      tags: ['security', 'secrets', 'external/cwe/cwe-798'],
      precision: generic ? 'medium' : 'high',
      'security-severity': generic ? '5.5' : '8.0',
      cwe: ['CWE-798'],
    },
  };
}

interface Scope {
  files: Map<string, TargetFile>;
  maxFileBytes: number;
}

/** Rewrite one normalised gitleaks run in place (see the module comment); returns drop counts. */
async function polishRun(run: SarifRun, scope: Scope, version: string | undefined): Promise<Record<string, number>> {
  const dropped: Record<string, number> = {};
  const drop = (reason: string): void => {
    dropped[reason] = (dropped[reason] ?? 0) + 1;
  };
  const lines = new Map<string, string[] | undefined>();
  const linesOf = async (file: TargetFile) => {
    if (!lines.has(file.rel)) {
      lines.set(file.rel, (await readText(file.abs))?.split(/\r?\n/));
    }
    return lines.get(file.rel);
  };
  const kept = [];
  for (const result of run.results ?? []) {
    const loc = result.locations?.[0]?.physicalLocation;
    const art = loc?.artifactLocation;
    const region = loc?.region;
    if (!art || art.uriBaseId !== SRCROOT || !region?.startLine) {
      drop('outside the target');
      continue;
    }
    const rel = decodeURI(art.uri);
    const file = scope.files.get(rel);
    if (!file || file.size > scope.maxFileBytes) {
      drop('excluded');
      continue;
    }
    const startLine = region.startLine;
    const endLine = region.endLine ?? startLine;
    if (region.startColumn !== undefined && startLine > 1) {
      region.startColumn = Math.max(1, region.startColumn - 1);
    }
    if (region.endColumn !== undefined && endLine === 1) {
      region.endColumn += 1;
    }
    const text = (await linesOf(file))?.[startLine - 1];
    const ruleId = result.ruleId ?? 'gitleaks';
    if (text === undefined) {
      // Binary or vanished: no line to show, so no snippet at all rather than gitleaks' placeholder.
      delete region.snippet;
      result.message = { text: `Hard-coded secret (gitleaks rule ${ruleId})` };
    } else {
      const start = (region.startColumn ?? 1) - 1;
      const end = endLine === startLine && region.endColumn !== undefined ? region.endColumn - 1 : text.length;
      const reason = decoyReason(text, start, end, rel);
      if (reason !== undefined) {
        drop(reason);
        continue;
      }
      const { snippet, preview } = redactRegion(text, start, end, rel);
      region.snippet = { text: snippet };
      result.message = { text: `Hard-coded secret (${preview}) found by gitleaks rule ${ruleId}` };
    }
    result.message.text = scrubText(result.message.text);
    result.partialFingerprints = {
      'fuzzforge/v1': fingerprint({
        ruleId,
        level: 'error',
        message: result.message.text,
        file: rel,
        line: startLine,
        ...(region.snippet ? { snippet: region.snippet.text } : {}),
      }),
    };
    // Only the first location gets a rebuilt snippet: any other text gitleaks attached goes.
    for (const other of [...(result.locations ?? []).slice(1), ...(result.relatedLocations ?? [])]) {
      delete other.physicalLocation?.region?.snippet;
      delete other.message;
    }
    delete result.properties;
    kept.push(result);
  }
  run.results = kept;
  pruneRules(run);
  run.tool.driver.rules = (run.tool.driver.rules ?? []).map(enrichRule);
  const levels = new Map(run.tool.driver.rules.map((r) => [r.id, r.defaultConfiguration?.level ?? 'error']));
  for (const result of run.results) {
    result.level = levels.get(result.ruleId ?? '') ?? 'error';
  }
  if (version) {
    run.tool.driver.version = version;
    run.tool.driver.semanticVersion = version;
  }
  run.invocations = [{ executionSuccessful: true }];
  return dropped;
}

/**
 * The command line of `gitleaks dir` over a target: SARIF report, secrets redacted, exit code 0
 * with findings, the project's own .gitleaksignore honoured (its .gitleaks.toml gitleaks finds
 * itself). Run it from a scratch folder, so that nothing of the worker's folder is configuration.
 */
export function gitleaksArgs(dir: string, report: string, maxFileBytes: number): string[] {
  return [
    'dir',
    dir,
    '--report-format',
    'sarif',
    '--report-path',
    report,
    '--redact',
    '--no-banner',
    '--no-color',
    '--exit-code',
    '0',
    '--log-level',
    'error',
    // Whole MiB only; smaller limits are applied to its results (polishRun).
    '--max-target-megabytes',
    String(Math.max(1, Math.ceil(maxFileBytes / MIB))),
    '--gitleaks-ignore-path',
    dir,
  ];
}

/**
 * gitleaks under the tool-activity policy (runToolActivity): the common time budget, and a missing
 * binary, a failed run or an unusable report become a notification part, not a failed workflow.
 */
async function runGitleaks(input: GitleaksInput): Promise<SastResult> {
  let version: string | undefined;
  return runToolActivity(
    GITLEAKS_TOOL,
    input,
    (dir, deadline) =>
      withScratch(async (scratch) => {
        const command = gitleaksCommand();
        version = await gitleaksVersion(command);
        const report = path.join(scratch, 'gitleaks.sarif');
        const args = gitleaksArgs(dir, report, input.maxFileBytes);
        const timeoutMs = remainingMs(GITLEAKS_TOOL, deadline);
        // cwd is a scratch folder so that nothing of the worker's own folder is read as configuration.
        const run = await runTool(command, args, {
          cwd: scratch,
          // Its log lines are coloured unless NO_COLOR is set (--no-color covers only verbose output).
          env: { NO_COLOR: '1' },
          timeoutMs,
          progress: () => ({ phase: 'gitleaks' }),
        });
        if (run.timedOut || run.exitCode !== 0) {
          throw new ToolFailure(describeFailure(GITLEAKS_TOOL, run, timeoutMs));
        }
        let log: SarifLog;
        try {
          log = parseSarif(await fs.promises.readFile(report, 'utf8'), 'gitleaks report');
        } catch (err) {
          throw new ToolFailure(`gitleaks wrote no usable SARIF report: ${(err as Error).message}`);
        }
        normalizeToolSarif(log, { targetDir: dir, rootUri: input.rootUri, ...(version ? { version } : {}) });
        const files = new Map((await listTargetFiles(dir, input.exclude)).map((f) => [f.rel, f]));
        const merged = mergeRuns(log.runs);
        const dropped = await polishRun(merged, { files, maxFileBytes: input.maxFileBytes }, version);
        merged.properties = { ...merged.properties, droppedResults: dropped };
        return merged;
      }),
    () => Promise.resolve(version),
  );
}

export const activities = { runGitleaks };
