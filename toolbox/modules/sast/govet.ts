// go vet activity: the Go toolchain's own correctness analyzers (printf, copylocks, ...) run per
// Go module of the target; `go vet -json` diagnostics become one SARIF run, analyzer = rule.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { SarifRule, SarifRun } from '../../../backend/sarif/types';
import { requireTool, runTool } from '../process';
import { buildSarifRun, normalizeToolSarif, relativeToTarget, type ToolFinding } from '../reporters/sarif';
import { checkpoint } from '../runtime';
import { listTargetFiles } from '../targetFiles';
import {
  addNotifications,
  describeFailure,
  goGroupEnv,
  goPackageGroups,
  groupLabel,
  keepTargetResults,
  listNotification,
  type NativeToolInput,
  type NativeToolResult,
  probeVersion,
  remainingMs,
  runToolActivity,
  ToolFailure,
  withScratch,
} from './native';

export const TOOL_NAME = 'govet';
const INFORMATION_URI = 'https://pkg.go.dev/cmd/vet';

export type GoVetInput = NativeToolInput;

/** What each analyzer of `go vet` looks for (the ones a default vet runs, in our words). */
const ANALYZERS: Record<string, string> = {
  appends: 'append called with a single argument, which appends nothing',
  asmdecl: 'assembly files that disagree with their Go declarations',
  assign: 'useless assignments such as x = x',
  atomic: 'common mistakes using sync/atomic (x = atomic.AddInt64(&x, 1))',
  bools: 'boolean expressions that are always true, always false or redundant',
  buildtag: 'malformed or misplaced //go:build and // +build lines',
  cgocall: 'Go pointers passed to C in violation of the cgo rules',
  composites: 'composite literals of imported struct types without field names',
  copylocks: 'locks (sync.Mutex and friends) copied by value, which breaks mutual exclusion',
  defers: 'defer statements whose arguments are evaluated too early (defer log(time.Since(t)))',
  directive: 'misplaced or misspelled //go: directives',
  errorsas: 'errors.As called with a second argument that is not a pointer to an error type',
  framepointer: 'assembly that clobbers the frame pointer before saving it',
  hostport: 'network addresses built with fmt.Sprintf("%s:%d") that break with IPv6',
  httpresponse: 'HTTP response bodies used before the error is checked',
  ifaceassert: 'interface type assertions that can never succeed',
  loopclosure: 'loop variables captured by goroutines or deferred closures',
  lostcancel: 'context cancel functions that are not called on every path (context leak)',
  nilfunc: 'functions compared with nil, which is never true for a declared function',
  printf: 'Printf-style calls whose format string and arguments disagree',
  shift: 'shifts that equal or exceed the width of the integer',
  sigchanyzer: 'unbuffered channels passed to signal.Notify, which can miss signals',
  slog: 'log/slog calls with mismatched key-value pairs',
  stdmethods: 'methods named like standard interfaces (String, ReadByte, ...) with the wrong signature',
  stdversion: 'standard library symbols newer than the go version the module declares',
  stringintconv: 'string(int) conversions that yield a rune, not decimal digits',
  structtag: 'struct field tags that do not follow the key:"value" convention',
  testinggoroutine: 't.Fatal called from a goroutine started by a test',
  tests: 'malformed test, benchmark, fuzz and example functions',
  timeformat: 'time.Format layouts using 2006-02-01 instead of 2006-01-02',
  unmarshal: 'non-pointer values passed to json.Unmarshal and friends',
  unreachable: 'unreachable code',
  unsafeptr: 'conversions of uintptr to unsafe.Pointer that the garbage collector may break',
  unusedresult: 'results of pure functions (fmt.Sprintf, errors.New, ...) that are dropped',
  waitgroup: 'sync.WaitGroup.Add called inside the goroutine it waits for',
};

export function vetRule(analyzer: string): SarifRule {
  const what = ANALYZERS[analyzer] ?? `problems found by the ${analyzer} analyzer`;
  return {
    id: analyzer,
    name: analyzer,
    shortDescription: { text: `go vet ${analyzer}: ${what}` },
    help: { text: `The ${analyzer} analyzer of go vet reports ${what}.` },
    helpUri: `https://pkg.go.dev/golang.org/x/tools/go/analysis/passes/${analyzer}`,
    defaultConfiguration: { level: 'warning' },
    properties: { tags: ['correctness', 'go-vet'], precision: 'high' },
  };
}

/**
 * Split a stream of concatenated JSON values (what `go vet -json` and `go list -json` print)
 * into values. Lines starting with '#' between values (vet's package headers in older Go
 * releases) are skipped. Anything else is an error naming the source and the offset.
 */
export function parseJsonStream(text: string, source: string): unknown[] {
  const values: unknown[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '#') {
      const eol = text.indexOf('\n', i);
      i = eol === -1 ? n : eol + 1;
      continue;
    }
    if (c !== '{' && c !== '[') {
      throw new Error(`${source} is not valid JSON: unexpected ${JSON.stringify(c)} at offset ${i}`);
    }
    // Find the end of this value: bracket depth outside strings.
    let depth = 0;
    let inString = false;
    let end = -1;
    for (let j = i; j < n; j++) {
      const ch = text[j];
      if (inString) {
        if (ch === '\\') {
          j++;
        } else if (ch === '"') {
          inString = false;
        }
      } else if (ch === '"') {
        inString = true;
      } else if (ch === '{' || ch === '[') {
        depth++;
      } else if (ch === '}' || ch === ']') {
        depth--;
        if (depth === 0) {
          end = j + 1;
          break;
        }
      }
    }
    if (end === -1) {
      throw new Error(`${source} is not valid JSON: the value at offset ${i} is not closed`);
    }
    try {
      values.push(JSON.parse(text.slice(i, end)));
    } catch (err) {
      throw new Error(`${source} is not valid JSON at offset ${i}: ${(err as Error).message}`, { cause: err });
    }
    i = end;
  }
  return values;
}

export interface VetDiagnostic {
  analyzer: string;
  /** As go vet printed it: usually absolute. */
  file: string;
  line: number;
  column?: number;
  message: string;
}

/** "/abs/file.go:12:5" -> file, line, column (vet's `posn`); undefined for "-" or garbage. */
export function parsePosn(posn: string): { file: string; line: number; column?: number } | undefined {
  const m = /^(.*?):(\d+)(?::(\d+))?$/.exec(posn);
  if (!m?.[1]) {
    return undefined;
  }
  return { file: m[1], line: Number(m[2]), ...(m[3] ? { column: Number(m[3]) } : {}) };
}

/**
 * The diagnostics in `go vet -json` output: `{ "<package>": { "<analyzer>": [ { posn, message } ]
 * } }` per package; an analyzer that failed has `{ "error": "..." }` instead of a list.
 */
export function goVetDiagnostics(
  output: string,
  source = 'go vet -json output',
): { diagnostics: VetDiagnostic[]; errors: string[] } {
  const diagnostics: VetDiagnostic[] = [];
  const errors: string[] = [];
  for (const doc of parseJsonStream(output, source)) {
    if (!doc || typeof doc !== 'object' || Array.isArray(doc)) {
      throw new Error(`${source} is not a go vet report: expected an object per package`);
    }
    for (const [pkg, byAnalyzer] of Object.entries(doc as Record<string, unknown>)) {
      if (!byAnalyzer || typeof byAnalyzer !== 'object') {
        throw new Error(`${source} is not a go vet report: package ${pkg} maps to ${JSON.stringify(byAnalyzer)}`);
      }
      for (const [analyzer, entry] of Object.entries(byAnalyzer as Record<string, unknown>)) {
        if (!Array.isArray(entry)) {
          const error = (entry as { error?: unknown } | null)?.error;
          errors.push(`${pkg}: ${analyzer}: ${typeof error === 'string' ? error : JSON.stringify(entry)}`);
          continue;
        }
        for (const d of entry as { posn?: unknown; message?: unknown }[]) {
          const pos = typeof d?.posn === 'string' ? parsePosn(d.posn) : undefined;
          if (!pos || typeof d.message !== 'string') {
            throw new Error(`${source} has a ${analyzer} diagnostic without position or message in ${pkg}`);
          }
          diagnostics.push({ analyzer, ...pos, message: d.message });
        }
      }
    }
  }
  return { diagnostics, errors };
}

export interface GoListPackage {
  Dir?: string;
  ImportPath?: string;
  Error?: { Err?: string };
  DepsErrors?: { Err?: string }[];
}

/** Packages that load (vet can type-check them) and the others with the reason. */
export function splitLoadable(packages: readonly GoListPackage[]): {
  dirs: string[];
  broken: { pkg: string; reason: string }[];
} {
  const dirs: string[] = [];
  const broken: { pkg: string; reason: string }[] = [];
  for (const p of packages) {
    const reason = p.Error?.Err ?? p.DepsErrors?.[0]?.Err;
    if (reason !== undefined) {
      broken.push({ pkg: p.ImportPath ?? p.Dir ?? '?', reason: reason.split('\n')[0] ?? reason });
    } else if (p.Dir) {
      dirs.push(p.Dir);
    }
  }
  return { dirs, broken };
}

/** Vet findings for the client: relative posix paths, source line as snippet, sorted, deduplicated. */
export async function vetFindings(
  diagnostics: readonly VetDiagnostic[],
  cwd: string,
  targetDir: string,
): Promise<ToolFinding[]> {
  const lines = new Map<string, string[] | undefined>();
  const seen = new Set<string>();
  const out: ToolFinding[] = [];
  for (const d of diagnostics) {
    const abs = path.resolve(cwd, d.file);
    const rel = relativeToTarget(abs, targetDir);
    if (rel === undefined) {
      continue;
    }
    const key = `${d.analyzer}\0${rel}\0${d.line}\0${d.column ?? 0}\0${d.message}`;
    if (seen.has(key)) {
      // The same file vetted as part of the package and of its test variant.
      continue;
    }
    seen.add(key);
    if (!lines.has(abs)) {
      lines.set(
        abs,
        await fs.promises.readFile(abs, 'utf8').then(
          (t) => t.split('\n'),
          () => undefined,
        ),
      );
    }
    const snippet = lines.get(abs)?.[d.line - 1]?.trim();
    out.push({
      ruleId: d.analyzer,
      level: 'warning',
      message: d.message,
      file: rel,
      line: d.line,
      ...(d.column ? { column: d.column } : {}),
      ...(snippet ? { snippet } : {}),
    });
  }
  return out.sort(
    (a, b) =>
      a.file.localeCompare(b.file) ||
      a.line - b.line ||
      (a.column ?? 0) - (b.column ?? 0) ||
      a.ruleId.localeCompare(b.ruleId),
  );
}

/** The Go toolchain's version ("1.26.8"): go vet has none of its own. */
export function goVersion(go: string): Promise<string | undefined> {
  return probeVersion(go, ['env', 'GOVERSION'], (out) => /go(\d+\.\d+(?:\.\d+)?\S*)/.exec(out)?.[1]);
}

async function runGoVet(input: GoVetInput): Promise<NativeToolResult> {
  let goPath: string | undefined;
  return runToolActivity(
    TOOL_NAME,
    input,
    async (dir, deadline) => {
      const go = requireTool('go');
      goPath = go;
      const version = await goVersion(go);
      const files = await listTargetFiles(dir, input.exclude);
      const groups = goPackageGroups(files.map((f) => f.rel));
      const findings: ToolFinding[] = [];
      const notes: { level: 'warning' | 'note'; text: string }[] = [];
      const failures: string[] = [];
      await withScratch(async (scratch) => {
        for (const [i, group] of groups.entries()) {
          checkpoint({ tool: TOOL_NAME, module: group.root, done: i, total: groups.length });
          const cwd = path.join(dir, group.root);
          const env = await goGroupEnv(group, cwd, scratch);
          const progress = () => ({ tool: TOOL_NAME, module: group.root, done: i, total: groups.length });
          // Which packages load at all: vet type-checks, so one missing dependency would fail
          // the whole command; the others are still worth vetting.
          let timeoutMs = remainingMs(TOOL_NAME, deadline);
          const list = await runTool(go, ['list', '-e', '-json=Dir,ImportPath,Error,DepsErrors', ...group.dirs], {
            cwd,
            env,
            timeoutMs,
            progress,
          });
          if (list.timedOut || list.signal || list.exitCode !== 0) {
            failures.push(`${groupLabel(group)}: ${describeFailure('go list', list, timeoutMs)}`);
            continue;
          }
          let loadable: ReturnType<typeof splitLoadable>;
          try {
            loadable = splitLoadable(parseJsonStream(list.stdout, 'go list -json output') as GoListPackage[]);
          } catch (err) {
            failures.push(`${groupLabel(group)}: ${(err as Error).message}`);
            continue;
          }
          if (loadable.broken.length > 0) {
            notes.push({
              level: 'warning',
              text: listNotification(
                'not vetted (does not load)',
                loadable.broken.map((b) => `${b.pkg}: ${b.reason}`),
              ),
            });
          }
          if (loadable.dirs.length === 0) {
            continue;
          }
          const pkgs = loadable.dirs.map((d) => {
            const rel = path.relative(cwd, d).split(path.sep).join('/');
            return rel === '' ? '.' : `./${rel}`;
          });
          timeoutMs = remainingMs(TOOL_NAME, deadline);
          const vet = await runTool(go, ['vet', '-json', ...pkgs], { cwd, env, timeoutMs, progress });
          if (vet.timedOut || vet.signal || vet.exitCode !== 0) {
            failures.push(`${groupLabel(group)}: ${describeFailure('go vet', vet, timeoutMs)}`);
            continue;
          }
          try {
            // Go 1.25+ prints the JSON on stdout; older releases on stderr.
            const report = vet.stdout.trim() !== '' ? vet.stdout : vet.stderr;
            const { diagnostics, errors } = goVetDiagnostics(report);
            findings.push(...(await vetFindings(diagnostics, cwd, dir)));
            notes.push(...errors.map((e) => ({ level: 'warning' as const, text: `analyzer failed: ${e}` })));
          } catch (err) {
            failures.push(`${groupLabel(group)}: go vet wrote unusable output: ${(err as Error).message}`);
          }
        }
      });
      if (failures.length > 0 && failures.length === groups.length) {
        throw new ToolFailure(failures.join('\n'));
      }
      const rules = [...new Set(findings.map((f) => f.ruleId))].sort().map(vetRule);
      let run: SarifRun = buildSarifRun(
        { name: TOOL_NAME, version, informationUri: INFORMATION_URI, rules },
        findings,
        input.rootUri,
      );
      run = normalizeToolSarif({ version: '2.1.0', runs: [run] }, { targetDir: dir, rootUri: input.rootUri, version })
        .runs[0] as SarifRun;
      keepTargetResults(run, input.exclude);
      if (groups.length === 0) {
        notes.push({ level: 'note', text: 'no Go packages to vet' });
      }
      if (failures.length > 0) {
        // First, so that the scan summary shows it: some modules could not be vetted at all.
        addNotifications(run, [{ level: 'error', text: failures.join('\n') }], true);
      }
      addNotifications(run, notes);
      return run;
    },
    () => (goPath ? goVersion(goPath) : Promise.resolve(undefined)),
  );
}

export const activities = { runGoVet };
