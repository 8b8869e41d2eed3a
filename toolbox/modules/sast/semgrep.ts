// semgrep activity: the toolbox's own Python rules (semgrep/python.yaml, plus rule files the
// workspace names) over the target's Python files and HTML templates, run OFFLINE: local rule files only, no
// metrics, no version check, no login. Its SARIF is normalised to FuzzForge's shape; its JSON
// report (written in the same run) supplies the per-file errors SARIF leaves out.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import YAML from 'yaml';
import { toolboxDir } from '../../../backend/paths';
import { sarifShapeProblems } from '../../../backend/sarif/log';
import type { SarifLog, SarifRun } from '../../../backend/sarif/types';
import { requireTool, runTool, stderrExcerpt } from '../process';
import { buildSarifRun, normalizeToolSarif } from '../reporters/sarif';
import { checkpoint } from '../runtime';
import { PYTHON_ALWAYS_SKIP, PYTHON_EXTENSIONS } from './bandit';
import {
  addFingerprints,
  addNotifications,
  argBatches,
  describeFailure,
  filterByLevel,
  mergeRuns,
  type MinLevel,
  type Notification,
  readJsonOutput,
  reindexRules,
  runToolActivity,
  type SastInput,
  type SastResult,
  sourceFiles,
  ToolFailure,
  withScratch,
} from './common';

export const TOOL_NAME = 'semgrep';
const INFORMATION_URI = 'https://semgrep.dev';

export interface SemgrepInput extends SastInput {
  /** Extra rule files, paths relative to the target root (repository-specific rules). */
  extraRules: string[];
}

/**
 * Template files of Python web apps (Jinja2, Django) that semgrep reads besides the Python code:
 * the rules for them are `languages: [generic]` with `paths.include` naming these, and semgrep
 * never runs a Python rule on a file passed explicitly with another extension.
 */
export const TEMPLATE_EXTENSIONS = ['.html', '.htm', '.jinja', '.jinja2', '.j2', '.djhtml', '.tmpl'];

/** The rules shipped with the toolbox. */
export function bundledRulesFile(toolbox = toolboxDir()): string {
  return path.join(toolbox, 'modules', 'sast', 'semgrep', 'python.yaml');
}

/** Environment that keeps semgrep offline and out of the user's home folder. */
export function semgrepEnv(scratch: string): NodeJS.ProcessEnv {
  return {
    SEMGREP_ENABLE_VERSION_CHECK: '0',
    SEMGREP_SEND_METRICS: 'off',
    SEMGREP_SETTINGS_FILE: path.join(scratch, 'settings.yml'),
    SEMGREP_LOG_FILE: path.join(scratch, 'semgrep.log'),
    SEMGREP_VERSION_CACHE_PATH: path.join(scratch, 'version-cache'),
  };
}

/** semgrep's command line for one batch of files; files come last. */
export function semgrepArgs(
  configs: readonly string[],
  out: { sarif: string; json: string },
  files: readonly string[],
): string[] {
  return [
    'scan',
    ...configs.flatMap((c) => ['--config', c]),
    '--metrics=off',
    '--disable-version-check',
    '--oss-only',
    // Rule ids as written; by default semgrep prefixes them with the rule file's folder path.
    '--no-rewrite-rule-ids',
    // The target is a materialised snapshot, not a checkout: never ask git what to skip.
    '--no-git-ignore',
    `--sarif-output=${out.sarif}`,
    `--json-output=${out.json}`,
    // Not --quiet: that also silences the "[ERROR] ..." lines saying why a scan could not start.
    // Per rule and file; a file whose rules time out three times is skipped and reported.
    '--timeout=30',
    '--timeout-threshold=3',
    ...files.map((f) => (f.startsWith('-') ? `./${f}` : f)),
  ];
}

/** A rule file the workspace names: a regular file inside the target, or why not. */
export function resolveExtraRules(dir: string, rel: string): string {
  const clean = rel.replace(/\\/g, '/').replace(/^\.\//, '');
  if (clean === '' || path.posix.isAbsolute(clean) || clean.split('/').includes('..')) {
    throw new ToolFailure(`semgrep: extra rules file "${rel}" must be a path inside the workspace`);
  }
  const abs = path.join(dir, clean);
  let real: string;
  try {
    real = fs.realpathSync(abs);
  } catch {
    throw new ToolFailure(`semgrep: extra rules file "${rel}" is not in the workspace`);
  }
  if (real !== dir && !real.startsWith(`${dir}${path.sep}`)) {
    throw new ToolFailure(`semgrep: extra rules file "${rel}" points outside the workspace`);
  }
  if (!fs.statSync(real).isFile()) {
    throw new ToolFailure(`semgrep: extra rules file "${rel}" is not a file`);
  }
  return real;
}

/** rule id -> first reference URL of the rule files (semgrep's SARIF has no helpUri). */
export function ruleReferences(yamlTexts: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const text of yamlTexts) {
    let doc: unknown;
    try {
      doc = YAML.parse(text);
    } catch {
      // semgrep itself reports a malformed file; nothing to learn from it here.
      continue;
    }
    const rules = (doc as { rules?: unknown } | null)?.rules;
    for (const rule of Array.isArray(rules) ? (rules as unknown[]) : []) {
      const r = rule as { id?: unknown; metadata?: { references?: unknown; source?: unknown } } | null;
      const refs = r?.metadata?.references;
      const first = Array.isArray(refs) ? (refs as unknown[]).find((x) => typeof x === 'string') : refs;
      const url = typeof first === 'string' ? first : r?.metadata?.source;
      if (typeof r?.id === 'string' && typeof url === 'string' && /^https?:\/\//.test(url)) {
        out.set(r.id, url);
      }
    }
  }
  return out;
}

interface SemgrepJsonError {
  level?: string;
  type?: unknown;
  message?: string;
  path?: string;
  rule_id?: string;
  spans?: { file?: string; start?: { line?: number } }[];
}

/**
 * The errors of semgrep's JSON report as notifications: files it could not parse or that timed
 * out (warnings: the scan went on without them) and rule errors (errors).
 */
export function semgrepErrorNotifications(report: unknown, targetDir: string): Notification[] {
  const errors = (report as { errors?: unknown } | null)?.errors;
  if (!Array.isArray(errors)) {
    return [];
  }
  return (errors as SemgrepJsonError[]).map((e) => {
    // A string ("Rule parse error") or a tagged array (["PartialParsing", [...]]).
    const tag: unknown = Array.isArray(e.type) ? (e.type as unknown[])[0] : e.type;
    const type = typeof tag === 'string' ? tag : 'error';
    const firstLine = (e.message ?? '').trim().split('\n')[0] ?? '';
    const file = e.path ?? e.spans?.[0]?.file;
    let rel: string | undefined;
    if (file) {
      const abs = path.resolve(targetDir, file);
      rel = abs.startsWith(`${targetDir}${path.sep}`)
        ? path.relative(targetDir, abs).split(path.sep).join('/')
        : undefined;
    }
    return {
      level: e.level === 'error' ? ('error' as const) : ('warning' as const),
      text: `semgrep ${type}${e.rule_id ? ` (${e.rule_id})` : ''}: ${firstLine}`,
      ...(rel ? { file: rel, ...(e.spans?.[0]?.start?.line ? { line: e.spans[0].start.line } : {}) } : {}),
    };
  });
}

/**
 * The telling part of semgrep's stderr when it fails: its "[ERROR] ..." lines and the indented
 * lines that continue them (a YAML error's position), not the progress boxes around them.
 */
export function semgrepErrorLines(stderr: string): string {
  const out: string[] = [];
  let inError = false;
  for (const line of stderr.split('\n')) {
    if (/^\[(ERROR|CRITICAL)\]/.test(line)) {
      inError = true;
      out.push(line);
    } else if (inError && /^\s+\S/.test(line)) {
      out.push(line.trim());
    } else {
      inError = false;
    }
  }
  return stderrExcerpt(out.join('\n'), 8);
}

/** First sentence of a rule message, for shortDescription ("Semgrep Finding: id" says nothing). */
function firstSentence(text: string): string {
  const m = /^(.*?[.!?])(\s|$)/s.exec(text.trim());
  return (m?.[1] ?? text).replace(/\s+/g, ' ').trim();
}

/**
 * semgrep's SARIF in FuzzForge's shape: tool "semgrep" with its version, URIs relative to
 * SRCROOT, explicit levels, CWE tags (from metadata.cwe, which semgrep copies into the tags),
 * help links from the rules' references, fingerprints that mean something (semgrep's own say
 * "requires login" without an account), results below `minLevel` dropped.
 */
export function normalizeSemgrepLog(
  log: SarifLog,
  options: {
    targetDir: string;
    rootUri: string;
    references: Map<string, string>;
    minLevel?: MinLevel;
    notifications?: Notification[];
  },
): SarifRun {
  normalizeToolSarif(log, { targetDir: options.targetDir, rootUri: options.rootUri });
  const run = mergeRuns(log.runs);
  run.tool.driver.name = TOOL_NAME;
  run.tool.driver.informationUri ??= INFORMATION_URI;
  for (const rule of run.tool.driver.rules ?? []) {
    // semgrep repeats the id as the name, which SARIF validators flag (SARIF1001).
    delete rule.name;
    const described = rule.fullDescription?.text ?? rule.help?.text;
    if (described) {
      rule.shortDescription = { text: firstSentence(described) };
    }
    const cwe = /CWE-(\d+)/.exec(JSON.stringify(rule.properties ?? {}))?.[1];
    rule.helpUri ??=
      options.references.get(rule.id) ?? (cwe ? `https://cwe.mitre.org/data/definitions/${cwe}.html` : undefined);
  }
  // semgrep's own notifications come from the same errors as the JSON report's, which the caller
  // passes with paths relative to the target: keep one copy.
  for (const inv of run.invocations ?? []) {
    delete inv.toolExecutionNotifications;
  }
  for (const result of run.results ?? []) {
    const withFingerprints = result as typeof result & { fingerprints?: Record<string, string> };
    delete withFingerprints.fingerprints;
  }
  filterByLevel(run, options.minLevel);
  addFingerprints(run);
  reindexRules(run);
  addNotifications(run, options.notifications ?? []);
  return run;
}

/** The error-level messages of a JSON report semgrep left behind, for a failure message. */
async function reportedErrors(file: string, targetDir: string): Promise<string> {
  try {
    const report = JSON.parse(await fs.promises.readFile(file, 'utf8')) as unknown;
    return semgrepErrorNotifications(report, targetDir)
      .filter((n) => n.level === 'error')
      .map((n) => n.text)
      .join('\n');
  } catch {
    return '';
  }
}

async function semgrepVersion(semgrep: string, scratch: string): Promise<string | undefined> {
  try {
    const run = await runTool(semgrep, ['--version', '--disable-version-check'], {
      cwd: os.tmpdir(),
      timeoutMs: 60_000,
      env: semgrepEnv(scratch),
    });
    return run.exitCode === 0 ? /(\d+\.\d+\.\d+\S*)/.exec(run.stdout)?.[1] : undefined;
  } catch {
    return undefined;
  }
}

async function runSemgrep(input: SemgrepInput): Promise<SastResult> {
  let version: string | undefined;
  return runToolActivity(
    TOOL_NAME,
    input,
    async (dir, deadline) => {
      const semgrep = requireTool('semgrep');
      const bundled = bundledRulesFile();
      if (!fs.existsSync(bundled)) {
        throw new ToolFailure(`semgrep: the toolbox's rules file ${bundled} is missing`);
      }
      const configs = [bundled, ...input.extraRules.map((r) => resolveExtraRules(dir, r))];
      const references = ruleReferences(await Promise.all(configs.map((c) => fs.promises.readFile(c, 'utf8'))));
      const files = await sourceFiles(dir, {
        extensions: [...PYTHON_EXTENSIONS, ...TEMPLATE_EXTENSIONS],
        exclude: input.exclude,
        alwaysSkip: PYTHON_ALWAYS_SKIP,
      });
      const timeoutMs = Math.max(1, deadline - Date.now());
      return withScratch(async (scratch) => {
        if (files.length === 0) {
          version = await semgrepVersion(semgrep, scratch);
          return buildSarifRun(
            { name: TOOL_NAME, version, informationUri: INFORMATION_URI, rules: [] },
            [],
            input.rootUri,
          );
        }
        const logs: SarifLog[] = [];
        const notifications: Notification[] = [];
        const batches = argBatches(files);
        for (const [i, batch] of batches.entries()) {
          const out = {
            sarif: path.join(scratch, `semgrep-${i}.sarif`),
            json: path.join(scratch, `semgrep-${i}.json`),
          };
          const left = deadline - Date.now();
          if (left <= 0) {
            throw new ToolFailure(`semgrep timed out after ${Math.round(timeoutMs / 1000)} s`);
          }
          const run = await runTool(semgrep, semgrepArgs(configs, out, batch), {
            cwd: dir,
            timeoutMs: left,
            env: semgrepEnv(scratch),
            // The text report goes to stdout as well; only errors matter from the streams.
            maxStdoutBytes: 64 * 1024,
            progress: () => ({ tool: TOOL_NAME, batch: i + 1, of: batches.length, files: files.length }),
          });
          // 0: scan done (findings or not). Anything else: bad rules, bad arguments, a crash.
          if (run.timedOut || run.signal || run.exitCode !== 0) {
            version ??= await semgrepVersion(semgrep, scratch);
            const said = semgrepErrorLines(run.stderr) || (await reportedErrors(out.json, dir));
            throw new ToolFailure(describeFailure(TOOL_NAME, run, timeoutMs, said));
          }
          const doc = await readJsonOutput(TOOL_NAME, out.sarif, run, timeoutMs);
          const problems = sarifShapeProblems(doc);
          if (problems.length > 0) {
            throw new ToolFailure(`semgrep wrote an unusable SARIF report: ${problems.slice(0, 3).join('; ')}`);
          }
          const log = doc as SarifLog;
          version ??= log.runs[0]?.tool.driver.semanticVersion;
          logs.push(log);
          try {
            const report = JSON.parse(await fs.promises.readFile(out.json, 'utf8')) as unknown;
            notifications.push(...semgrepErrorNotifications(report, dir));
          } catch {
            // The JSON report only adds per-file errors; the SARIF has the results.
          }
          checkpoint({ tool: TOOL_NAME, batch: i + 1, of: batches.length });
        }
        const merged: SarifLog = { version: '2.1.0', runs: logs.flatMap((l) => l.runs) };
        const sarifRun = normalizeSemgrepLog(merged, {
          targetDir: dir,
          rootUri: input.rootUri,
          references,
          minLevel: input.minLevel,
          notifications,
        });
        if (version) {
          sarifRun.tool.driver.version = version;
          sarifRun.tool.driver.semanticVersion = version;
        }
        return sarifRun;
      });
    },
    () => Promise.resolve(version),
  );
}

export const activities = { runSemgrep };
