// eslint activity: eslint-plugin-security (plus core rules for implied eval) over the target's
// JavaScript and TypeScript files with the toolbox's own flat config, never the target's: its
// config, plugins and node_modules are not loaded. eslint's JSON report (json-with-metadata, for
// the rules' docs links) is converted to SARIF with buildSarifRun.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { toolboxDir } from '../../../backend/paths';
import type { SarifRule, SarifRun } from '../../../backend/sarif/types';
import { requireTool, runTool } from '../process';
import { buildSarifRun, relativeToTarget, type ToolFinding } from '../reporters/sarif';
import { checkpoint } from '../runtime';
import {
  addNotifications,
  argBatches,
  describeFailure,
  filterByLevel,
  type MinLevel,
  type Notification,
  readJsonOutput,
  runToolActivity,
  type SastInput,
  type SastResult,
  sourceFiles,
  ToolFailure,
  withScratch,
} from './common';

export const TOOL_NAME = 'eslint';
const INFORMATION_URI = 'https://eslint.org';
export const JS_EXTENSIONS = ['.js', '.jsx', '.mjs', '.cjs', '.ts', '.tsx', '.mts', '.cts'];
/**
 * Never analysed: dependencies, declaration files (no code) and minified bundles (one huge line
 * that only produces noise). Uploads skip node_modules already; archives may not.
 */
export const JS_ALWAYS_SKIP = ['node_modules/', 'bower_components/', '*.d.ts', '*.d.mts', '*.d.cts', '*.min.js'];
/** Packages the toolbox config loads from eslint's own installation. */
export const REQUIRED_PACKAGES = ['eslint-plugin-security', '@typescript-eslint/parser'];

export interface EslintInput extends SastInput {
  /** Extra rule settings, as for `eslint --rule` (core rules and security/* only). */
  extraRules: Record<string, unknown>;
}

interface RuleInfo {
  level: 'error' | 'warning' | 'note';
  cwe: string[];
}

/**
 * Our level and CWE for each rule. eslint's own severity says nothing about impact (the config
 * sets every rule to "warn"). Notes for the rules that flag a shape most of whose instances are
 * fine: detect-object-injection flags every `obj[variable]`, detect-non-literal-require every
 * configuration loader (`require(\`./env/${NODE_ENV}\`)`), detect-possible-timing-attacks every
 * comparison with a variable whose name says password or token (a sign-up form's "passwords
 * match" check among them).
 */
export const ESLINT_RULES: Record<string, RuleInfo> = {
  'security/detect-eval-with-expression': { level: 'error', cwe: ['CWE-95'] },
  'security/detect-child-process': { level: 'error', cwe: ['CWE-78'] },
  'security/detect-no-csrf-before-method-override': { level: 'error', cwe: ['CWE-352'] },
  'security/detect-disable-mustache-escape': { level: 'error', cwe: ['CWE-79'] },
  'security/detect-bidi-characters': { level: 'error', cwe: ['CWE-451'] },
  'security/detect-invisible-characters': { level: 'warning', cwe: ['CWE-451'] },
  'security/detect-non-literal-require': { level: 'note', cwe: ['CWE-829'] },
  'security/detect-non-literal-fs-filename': { level: 'warning', cwe: ['CWE-22'] },
  'security/detect-unsafe-regex': { level: 'warning', cwe: ['CWE-1333'] },
  'security/detect-non-literal-regexp': { level: 'warning', cwe: ['CWE-1333'] },
  'security/detect-pseudoRandomBytes': { level: 'warning', cwe: ['CWE-338'] },
  'security/detect-possible-timing-attacks': { level: 'note', cwe: ['CWE-208'] },
  'security/detect-buffer-noassert': { level: 'warning', cwe: ['CWE-125', 'CWE-787'] },
  'security/detect-new-buffer': { level: 'warning', cwe: ['CWE-908'] },
  'security/detect-object-injection': { level: 'note', cwe: ['CWE-915'] },
  'no-implied-eval': { level: 'error', cwe: ['CWE-95'] },
  'no-new-func': { level: 'error', cwe: ['CWE-95'] },
};

/** The part of eslint's JSON report this module reads. */
export interface EslintMessage {
  ruleId: string | null;
  severity: number;
  message: string;
  line?: number;
  column?: number;
  endLine?: number;
  endColumn?: number;
  fatal?: boolean;
}
export interface EslintFileResult {
  filePath: string;
  messages: EslintMessage[];
}
export interface EslintRuleMeta {
  type?: string;
  docs?: { description?: string; url?: string };
}
/** `--format json` gives the array; `--format json-with-metadata` wraps it with the rules' meta. */
export type EslintReport =
  EslintFileResult[] | { results: EslintFileResult[]; metadata?: { rulesMeta?: Record<string, EslintRuleMeta> } };

export interface ConvertedReport {
  findings: ToolFinding[];
  rules: SarifRule[];
  notifications: Notification[];
}

function sarifRule(id: string, meta: EslintRuleMeta | undefined, info: RuleInfo | undefined): SarifRule {
  const description = meta?.docs?.description ?? id;
  const cwe = info?.cwe ?? [];
  return {
    id,
    // A name different from the id (SARIF1001): the rule without its plugin prefix, when it has one.
    ...(id.includes('/') ? { name: id.slice(id.lastIndexOf('/') + 1) } : {}),
    shortDescription: { text: description },
    help: { text: cwe.length > 0 ? `${description} (${cwe.join(', ')})` : description },
    ...(meta?.docs?.url ? { helpUri: meta.docs.url } : {}),
    defaultConfiguration: { level: info?.level ?? 'warning' },
    properties: {
      tags: ['security', ...cwe.map((c) => `external/cwe/${c.toLowerCase()}`)],
      ...(cwe.length > 0 ? { cwe } : {}),
    },
  };
}

/**
 * eslint's JSON report -> findings, the rules they use (help text and docs link from the rules'
 * meta, our level and CWE) and notifications for what is not a finding: files eslint could not
 * parse, or messages without a rule. `lineText` gives a line of a target file (snippets make the
 * fingerprints stable when lines move). Paths outside the target are dropped.
 */
export function convertEslintReport(
  report: EslintReport,
  options: { targetDir: string; lineText?: (file: string, line: number) => string | undefined },
): ConvertedReport {
  const results = Array.isArray(report) ? report : report.results;
  const meta = Array.isArray(report) ? {} : (report.metadata?.rulesMeta ?? {});
  const findings: ToolFinding[] = [];
  const notifications: Notification[] = [];
  const used = new Set<string>();
  for (const file of results) {
    const rel = relativeToTarget(file.filePath, options.targetDir);
    if (rel === undefined) {
      continue;
    }
    for (const m of file.messages) {
      if (!m.ruleId) {
        // Parsing errors (fatal) and eslint's own remarks: the file was not (fully) analysed.
        notifications.push({
          level: m.fatal ? 'error' : 'warning',
          text: `eslint: ${rel}${m.line ? `:${m.line}` : ''}: ${m.message}`,
          file: rel,
          ...(m.line ? { line: m.line } : {}),
        });
        continue;
      }
      used.add(m.ruleId);
      const line = m.line ?? 1;
      const snippet = options.lineText?.(rel, line)?.trimEnd();
      findings.push({
        ruleId: m.ruleId,
        level: ESLINT_RULES[m.ruleId]?.level ?? (m.severity >= 2 ? 'error' : 'warning'),
        message: m.message,
        file: rel,
        line,
        ...(m.column ? { column: m.column } : {}),
        // SARIF's endColumn without endLine means "on the start line".
        ...(m.endColumn && m.endLine === line ? { endColumn: m.endColumn } : {}),
        ...(snippet ? { snippet } : {}),
      });
    }
  }
  const rules = [...used].sort().map((id) => sarifRule(id, meta[id], ESLINT_RULES[id]));
  return { findings, rules, notifications };
}

/** Read one line of a target file, with a small per-file cache. */
function lineReader(dir: string): (file: string, line: number) => string | undefined {
  const cache = new Map<string, string[] | undefined>();
  return (file, line) => {
    if (!cache.has(file)) {
      let lines: string[] | undefined;
      try {
        lines = fs.readFileSync(path.join(dir, file), 'utf8').split(/\r?\n/);
      } catch {
        lines = undefined;
      }
      cache.set(file, lines);
    }
    return cache.get(file)?.[line - 1];
  };
}

/** The toolbox's flat config (not named eslint.config.*: see its header). */
export function bundledConfigFile(toolbox = toolboxDir()): string {
  return path.join(toolbox, 'modules', 'sast', 'eslint', 'security.config.mjs');
}

/** eslint's command line for one batch of files; files come last. */
export function eslintArgs(
  config: string,
  out: string,
  files: readonly string[],
  extraRules: Record<string, unknown>,
): string[] {
  return [
    // Our config only: with -c eslint looks for no other config file, the target's included.
    '-c',
    config,
    '--format',
    'json-with-metadata',
    '--output-file',
    out,
    // Explicit files under an ignored folder would each produce a "file ignored" warning.
    '--no-warn-ignored',
    '--no-color',
    ...(Object.keys(extraRules).length > 0 ? ['--rule', JSON.stringify(extraRules)] : []),
    ...files.map((f) => (f.startsWith('-') ? `./${f}` : f)),
  ];
}

export interface EslintInstallation {
  bin: string;
  /** The node_modules folder eslint is installed in; the plugin and parser must be there too. */
  modules: string;
  version?: string;
  plugins: Record<string, string | undefined>;
}

function packageVersion(dir: string): string | undefined {
  try {
    return (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

/**
 * The eslint command and the node_modules folder it lives in, checked for the plugin and parser
 * the config needs: an eslint found elsewhere on PATH (a project's own) lacks them.
 */
export function locateEslint(): EslintInstallation {
  const bin = requireTool('eslint');
  const real = fs.realpathSync(bin);
  // .../node_modules/eslint/bin/eslint.js
  const pkg = path.dirname(path.dirname(real));
  const modules = path.dirname(pkg);
  if (path.basename(pkg) !== 'eslint' || !fs.existsSync(path.join(pkg, 'package.json'))) {
    throw new ToolFailure(`eslint at ${bin} is not an npm installation of eslint (resolved to ${real})`);
  }
  const plugins: Record<string, string | undefined> = {};
  for (const name of REQUIRED_PACKAGES) {
    plugins[name] = packageVersion(path.join(modules, name));
    if (!plugins[name]) {
      throw new ToolFailure(
        `eslint at ${bin} has no ${name} beside it (${modules}); install the js tools with \`fuzzforge setup --tools --vertical node\``,
      );
    }
  }
  return { bin, modules, version: packageVersion(pkg), plugins };
}

/** The findings of a converted report as one SARIF run, plus what eslint could not analyse. */
export function eslintRun(
  converted: ConvertedReport,
  options: { rootUri: string; version?: string; plugins: Record<string, string | undefined>; minLevel?: MinLevel },
): SarifRun {
  const run = buildSarifRun(
    { name: TOOL_NAME, version: options.version, informationUri: INFORMATION_URI, rules: converted.rules },
    converted.findings,
    options.rootUri,
  );
  run.properties = { plugins: options.plugins };
  filterByLevel(run, options.minLevel);
  addNotifications(run, converted.notifications);
  return run;
}

async function runEslint(input: EslintInput): Promise<SastResult> {
  let version: string | undefined;
  return runToolActivity(
    TOOL_NAME,
    input,
    async (dir, deadline) => {
      const eslint = locateEslint();
      version = eslint.version;
      const config = bundledConfigFile();
      if (!fs.existsSync(config)) {
        throw new ToolFailure(`eslint: the toolbox's config ${config} is missing`);
      }
      const files = await sourceFiles(dir, {
        extensions: JS_EXTENSIONS,
        exclude: input.exclude,
        alwaysSkip: JS_ALWAYS_SKIP,
      });
      const timeoutMs = Math.max(1, deadline - Date.now());
      const converted: ConvertedReport = { findings: [], rules: [], notifications: [] };
      const lineText = lineReader(dir);
      await withScratch(async (scratch) => {
        const batches = argBatches(files);
        for (const [i, batch] of batches.entries()) {
          const out = path.join(scratch, `eslint-${i}.json`);
          const left = deadline - Date.now();
          if (left <= 0) {
            throw new ToolFailure(`eslint timed out after ${Math.round(timeoutMs / 1000)} s`);
          }
          const run = await runTool(eslint.bin, eslintArgs(config, out, batch, input.extraRules), {
            cwd: dir,
            timeoutMs: left,
            env: { FUZZFORGE_ESLINT_MODULES: eslint.modules },
            progress: () => ({ tool: TOOL_NAME, batch: i + 1, of: batches.length, files: files.length }),
          });
          // 0: no errors, 1: rule violations at "error" (extra rules), 2: bad config or a crash.
          if (run.timedOut || run.signal || (run.exitCode !== 0 && run.exitCode !== 1)) {
            throw new ToolFailure(describeFailure(TOOL_NAME, run, timeoutMs));
          }
          const report = (await readJsonOutput(TOOL_NAME, out, run, timeoutMs)) as EslintReport;
          const results = Array.isArray(report) ? report : (report as { results?: unknown }).results;
          if (!Array.isArray(results)) {
            throw new ToolFailure('eslint wrote a report without a results array');
          }
          const part = convertEslintReport(report, { targetDir: dir, lineText });
          converted.findings.push(...part.findings);
          converted.notifications.push(...part.notifications);
          const known = new Set(converted.rules.map((r) => r.id));
          converted.rules.push(...part.rules.filter((r) => !known.has(r.id)));
          checkpoint({ tool: TOOL_NAME, batch: i + 1, of: batches.length });
        }
      });
      converted.rules.sort((a, b) => a.id.localeCompare(b.id));
      return eslintRun(converted, {
        rootUri: input.rootUri,
        version,
        plugins: eslint.plugins,
        minLevel: input.minLevel,
      });
    },
    () => Promise.resolve(version),
  );
}

export const activities = { runEslint };
