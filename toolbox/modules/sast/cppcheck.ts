// cppcheck activity: C/C++ bug finding (memory leaks, null dereference, bounds, mismatched
// allocation) over the target's sources; its XML v2 report becomes one SARIF run.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { SarifRule, SarifRun } from '../../../backend/sarif/types';
import { requireTool, runTool } from '../process';
import { buildSarifRun, normalizeToolSarif, relativeToTarget, type ToolFinding } from '../reporters/sarif';
import { listTargetFiles } from '../targetFiles';
import {
  addNotifications,
  describeFailure,
  keepTargetResults,
  type NativeToolInput,
  type NativeToolResult,
  probeVersion,
  remainingMs,
  runToolActivity,
  ToolFailure,
  withScratch,
} from './native';

export const TOOL_NAME = 'cppcheck';
const INFORMATION_URI = 'https://cppcheck.sourceforge.io/';

export interface CppcheckInput extends NativeToolInput {
  /** Language standard (cppcheck --std: c89, c99, c11, c++03, c++11, c++14, c++17, c++20), '' = cppcheck's default. */
  std: string;
}

/**
 * Translation units cppcheck is given. Headers are left out on purpose: cppcheck reads them
 * through the sources that include them, and analysed alone they give duplicates and noise.
 */
export const CPPCHECK_SOURCE = /\.(c|cc|cpp|cxx|c\+\+|C|ipp|ixx|tpp|txx)$/;

export function cppcheckArgs(
  input: Pick<CppcheckInput, 'std'>,
  fileList: string,
  outFile: string,
  jobs: number,
): string[] {
  return [
    '--xml',
    '--xml-version=2',
    '--enable=warning,style,performance,portability',
    '--inline-suppr',
    '--quiet',
    // The report goes to a file: on stderr it would mix with cppcheck's own error lines.
    `--output-file=${outFile}`,
    `--file-list=${fileList}`,
    ...(input.std ? [`--std=${input.std}`] : []),
    ...(jobs > 1 ? [`-j${jobs}`] : []),
  ];
}

// ---------------------------------------------------------------------------------------------
// A small XML reader: enough for cppcheck's report (elements, attributes, entities), strict
// about structure so a truncated or garbled report is an error and not an empty result.

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decodeEntities(s: string, where: () => string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-zA-Z]+);|&/g, (all, ref: string | undefined) => {
    if (ref === undefined) {
      throw new Error(`bare "&" ${where()}`);
    }
    if (ref.startsWith('#x')) {
      return String.fromCodePoint(parseInt(ref.slice(2), 16));
    }
    if (ref.startsWith('#')) {
      return String.fromCodePoint(parseInt(ref.slice(1), 10));
    }
    const e = ENTITIES[ref];
    if (e === undefined) {
      throw new Error(`unknown entity ${all} ${where()}`);
    }
    return e;
  });
}

/** Parse an XML document into its root element; errors say what is wrong and on which line. */
export function parseXml(text: string, source = 'XML'): XmlElement {
  const lineAt = (i: number) => text.slice(0, i).split('\n').length;
  const fail = (i: number, what: string): never => {
    throw new Error(`${source} is not well-formed XML: ${what} on line ${lineAt(i)}`);
  };
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let i = 0;
  while (i < text.length) {
    const lt = text.indexOf('<', i);
    const chunk = text.slice(i, lt === -1 ? text.length : lt);
    if (chunk.trim() !== '') {
      const top = stack[stack.length - 1];
      if (!top) {
        fail(i, 'text outside the root element');
      } else {
        top.text += decodeEntities(chunk, () => `on line ${lineAt(i)}`);
      }
    }
    if (lt === -1) {
      break;
    }
    if (text.startsWith('<?', lt)) {
      const end = text.indexOf('?>', lt);
      i = end === -1 ? fail(lt, 'unterminated processing instruction') : end + 2;
    } else if (text.startsWith('<!--', lt)) {
      const end = text.indexOf('-->', lt);
      i = end === -1 ? fail(lt, 'unterminated comment') : end + 3;
    } else if (text.startsWith('<!', lt)) {
      const end = text.indexOf('>', lt);
      i = end === -1 ? fail(lt, 'unterminated declaration') : end + 1;
    } else if (text.startsWith('</', lt)) {
      const m = /^<\/([A-Za-z_][\w.:-]*)\s*>/.exec(text.slice(lt, lt + 200));
      const open = stack.pop();
      if (!m) {
        fail(lt, 'malformed end tag');
      } else if (!open || open.name !== m[1]) {
        fail(lt, `</${m[1]}> does not close ${open ? `<${open.name}>` : 'anything'}`);
      }
      i = lt + (m?.[0].length ?? 0);
    } else {
      const m = /^<([A-Za-z_][\w.:-]*)((?:\s+[A-Za-z_][\w.:-]*\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/.exec(
        text.slice(lt),
      );
      if (!m) {
        fail(lt, 'malformed start tag');
        break;
      }
      const attrs: Record<string, string> = {};
      for (const a of (m[2] ?? '').matchAll(/([A-Za-z_][\w.:-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
        attrs[a[1] as string] = decodeEntities(a[2] ?? a[3] ?? '', () => `in <${m[1]}> on line ${lineAt(lt)}`);
      }
      const el: XmlElement = { name: m[1] as string, attrs, children: [], text: '' };
      const parent = stack[stack.length - 1];
      if (parent) {
        parent.children.push(el);
      } else if (root) {
        fail(lt, 'a second root element');
      } else {
        root = el;
      }
      if (m[3] !== '/') {
        stack.push(el);
      }
      i = lt + m[0].length;
    }
  }
  if (stack.length > 0) {
    fail(text.length, `<${stack[stack.length - 1]?.name}> is not closed (truncated?)`);
  }
  if (!root) {
    throw new Error(`${source} is empty: no XML element`);
  }
  return root;
}

// ---------------------------------------------------------------------------------------------

export interface CppcheckIssue {
  id: string;
  severity: string;
  message: string;
  verbose: string;
  cwe?: number;
  inconclusive: boolean;
  /** As cppcheck printed it (relative to its working folder, or absolute). */
  file?: string;
  line?: number;
  column?: number;
}

export interface CppcheckReport {
  version?: string;
  issues: CppcheckIssue[];
}

/** Read a cppcheck `--xml --xml-version=2` report. */
export function parseCppcheckXml(xml: string): CppcheckReport {
  const root = parseXml(xml, 'cppcheck XML report');
  if (root.name !== 'results' || root.attrs.version !== '2') {
    throw new Error(
      `cppcheck XML report is not version 2: root <${root.name}> version ${JSON.stringify(root.attrs.version)}`,
    );
  }
  const version = root.children.find((c) => c.name === 'cppcheck')?.attrs.version;
  const errors = root.children.find((c) => c.name === 'errors');
  if (!errors) {
    throw new Error('cppcheck XML report has no <errors> element (truncated?)');
  }
  const issues: CppcheckIssue[] = [];
  for (const e of errors.children.filter((c) => c.name === 'error')) {
    const { id, severity, msg } = e.attrs;
    if (!id || !severity || msg === undefined) {
      throw new Error(`cppcheck XML report has an <error> without id, severity or msg: ${JSON.stringify(e.attrs)}`);
    }
    // The first location is where the problem is; the others are the path that leads there.
    const loc = e.children.find((c) => c.name === 'location');
    const cwe = Number(e.attrs.cwe);
    issues.push({
      id,
      severity,
      message: msg,
      verbose: e.attrs.verbose ?? msg,
      ...(Number.isInteger(cwe) && cwe > 0 ? { cwe } : {}),
      inconclusive: e.attrs.inconclusive === 'true',
      ...(loc?.attrs.file ? { file: loc.attrs.file } : {}),
      ...(loc?.attrs.line ? { line: Number(loc.attrs.line) } : {}),
      ...(loc?.attrs.column && Number(loc.attrs.column) > 0 ? { column: Number(loc.attrs.column) } : {}),
    });
  }
  return { ...(version ? { version } : {}), issues };
}

/** cppcheck severities as SARIF levels: only error and warning are likely bugs. */
export function cppcheckLevel(severity: string): 'error' | 'warning' | 'note' {
  if (severity === 'error') {
    return 'error';
  }
  if (severity === 'warning') {
    return 'warning';
  }
  return 'note';
}

export function cppcheckRule(issue: CppcheckIssue): SarifRule {
  const cwe = issue.cwe ? [`CWE-${issue.cwe}`] : [];
  return {
    id: issue.id,
    name: issue.id,
    shortDescription: { text: issue.message },
    fullDescription: { text: issue.verbose.replace(/\\012/g, '\n') },
    help: { text: issue.verbose.replace(/\\012/g, '\n') },
    helpUri: issue.cwe
      ? `https://cwe.mitre.org/data/definitions/${issue.cwe}.html`
      : 'https://cppcheck.sourceforge.io/manual.html',
    defaultConfiguration: { level: cppcheckLevel(issue.severity) },
    properties: {
      tags: [issue.severity, ...(issue.severity === 'error' || issue.severity === 'warning' ? ['security'] : [])],
      precision: issue.inconclusive ? 'low' : 'high',
      cwe,
    },
  };
}

/**
 * Findings and rules from a report. Located issues become results; unlocated ones (cppcheck's
 * own trouble, e.g. too many configurations) become notifications. Only the target's files count.
 */
export function cppcheckFindings(
  report: CppcheckReport,
  cwd: string,
  targetDir: string,
): { findings: ToolFinding[]; rules: SarifRule[]; notes: string[] } {
  const findings: ToolFinding[] = [];
  const rules = new Map<string, SarifRule>();
  const notes: string[] = [];
  for (const issue of report.issues) {
    const rel = issue.file ? relativeToTarget(path.resolve(cwd, issue.file), targetDir) : undefined;
    if (!issue.file || !issue.line || issue.severity === 'information' || issue.severity === 'debug') {
      notes.push(`${issue.id}: ${issue.message}${issue.file ? ` (${issue.file})` : ''}`);
      continue;
    }
    if (rel === undefined) {
      continue;
    }
    if (!rules.has(issue.id)) {
      rules.set(issue.id, cppcheckRule(issue));
    }
    findings.push({
      ruleId: issue.id,
      level: cppcheckLevel(issue.severity),
      message: issue.inconclusive ? `${issue.message} (inconclusive)` : issue.message,
      file: rel,
      line: issue.line,
      ...(issue.column ? { column: issue.column } : {}),
    });
  }
  findings.sort(
    (a, b) =>
      a.file.localeCompare(b.file) ||
      a.line - b.line ||
      (a.column ?? 0) - (b.column ?? 0) ||
      a.ruleId.localeCompare(b.ruleId),
  );
  return { findings, rules: [...rules.values()].sort((a, b) => a.id.localeCompare(b.id)), notes };
}

/** Add the source line as snippet: fingerprints then survive unrelated edits above the finding. */
async function addSnippets(findings: ToolFinding[], targetDir: string): Promise<void> {
  const cache = new Map<string, string[] | undefined>();
  for (const f of findings) {
    if (!cache.has(f.file)) {
      cache.set(
        f.file,
        await fs.promises.readFile(path.join(targetDir, f.file), 'utf8').then(
          (t) => t.split('\n'),
          () => undefined,
        ),
      );
    }
    const line = cache.get(f.file)?.[f.line - 1]?.trim();
    if (line) {
      f.snippet = line;
    }
  }
}

export function cppcheckVersion(cppcheck: string): Promise<string | undefined> {
  return probeVersion(cppcheck, ['--version'], (out) => /Cppcheck\s+(\S+)/i.exec(out)?.[1]);
}

async function runCppcheck(input: CppcheckInput): Promise<NativeToolResult> {
  let binary: string | undefined;
  return runToolActivity(
    TOOL_NAME,
    input,
    async (dir, deadline) => {
      const cppcheck = requireTool('cppcheck');
      binary = cppcheck;
      const sources = (await listTargetFiles(dir, input.exclude)).filter((f) => CPPCHECK_SOURCE.test(f.rel));
      if (sources.length === 0) {
        const version = await cppcheckVersion(cppcheck);
        const run = buildSarifRun(
          { name: TOOL_NAME, version, informationUri: INFORMATION_URI, rules: [] },
          [],
          input.rootUri,
        );
        addNotifications(run, [{ level: 'note', text: 'no C/C++ source files to analyse' }]);
        return run;
      }
      return withScratch(async (scratch) => {
        const fileList = path.join(scratch, 'files.txt');
        const outFile = path.join(scratch, 'cppcheck.xml');
        await fs.promises.writeFile(fileList, `${sources.map((f) => f.rel).join('\n')}\n`);
        const jobs = Math.max(1, Math.min(4, os.availableParallelism()));
        const timeoutMs = remainingMs(TOOL_NAME, deadline);
        const run = await runTool(cppcheck, cppcheckArgs(input, fileList, outFile, jobs), {
          cwd: dir,
          timeoutMs,
          progress: () => ({ tool: TOOL_NAME, files: sources.length }),
        });
        if (run.timedOut || run.signal || run.exitCode !== 0) {
          throw new ToolFailure(describeFailure(TOOL_NAME, run, timeoutMs));
        }
        let report: CppcheckReport;
        try {
          report = parseCppcheckXml(await fs.promises.readFile(outFile, 'utf8'));
        } catch (err) {
          throw new ToolFailure(`cppcheck wrote unusable output: ${(err as Error).message}`);
        }
        const version = report.version ?? (await cppcheckVersion(cppcheck));
        const { findings, rules, notes } = cppcheckFindings(report, dir, dir);
        await addSnippets(findings, dir);
        const sarif = buildSarifRun(
          { name: TOOL_NAME, version, informationUri: INFORMATION_URI, rules },
          findings,
          input.rootUri,
        );
        const normalised = normalizeToolSarif(
          { version: '2.1.0', runs: [sarif] },
          { targetDir: dir, rootUri: input.rootUri, version },
        ).runs[0] as SarifRun;
        keepTargetResults(normalised, input.exclude);
        addNotifications(
          normalised,
          notes.map((text) => ({ level: 'note' as const, text })),
        );
        normalised.properties = { ...normalised.properties, filesAnalysed: sources.length };
        return normalised;
      });
    },
    () => (binary ? cppcheckVersion(binary) : Promise.resolve(undefined)),
  );
}

export const activities = { runCppcheck };
