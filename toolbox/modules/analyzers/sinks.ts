// Detectors of the pattern rules that look for dangerous sinks: command and SQL injection, code
// evaluation, unsafe deserialisation and weak cryptography. Each runs on the context of ./context.

import {
  ALL,
  allArgsConstant,
  argAt,
  C,
  callRegion,
  callText,
  dynamicHow,
  GO,
  group,
  hasText,
  isDynamic,
  JAVA,
  JS,
  literal,
  memo,
  pattern,
  PHP,
  PY,
  RUBY,
  type Ctx,
  type Detector,
  type Emit,
  type How,
  type Line,
  type StrLit,
} from './context';
import { CLOSERS, COMMENT, STR, type Language } from './lexer';

// --- command injection -------------------------------------------------------------------------

const CHILD_PROCESS = /\b(?:require\s*\(\s*|from\s+|import\s*\(\s*)(["'])(?:node:)?child_process\1/;

function childProcessBindings(ctx: Ctx): Set<string> {
  return memo(ctx, 'child_process', () => {
    const names = new Set(['child_process']);
    const res = [
      /(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*=\s*require\s*\(\s*["'](?:node:)?child_process["']\s*\)/g,
      /import\s+(?:\*\s+as\s+)?([A-Za-z_$][\w$]*)\s+from\s+["'](?:node:)?child_process["']/g,
      /import\s+([A-Za-z_$][\w$]*)\s*=\s*require\s*\(\s*["'](?:node:)?child_process["']\s*\)/g,
    ];
    for (const re of res) {
      for (const m of ctx.text.matchAll(re)) {
        if (m[1]) {
          names.add(m[1]);
        }
      }
    }
    return names;
  });
}

function javaRuntimeVars(ctx: Ctx): Set<string> {
  return memo(ctx, 'runtime', () => {
    const names = new Set<string>();
    for (const m of ctx.text.matchAll(/\bRuntime\s+([A-Za-z_$][\w$]*)\s*=\s*Runtime\s*\.\s*getRuntime\s*\(/g)) {
      if (m[1]) {
        names.add(m[1]);
      }
    }
    return names;
  });
}

/** Ruby's system/exec/spawn only use a shell for a single command string (not for program + args). */
function rubySingleCommand(m: RegExpExecArray, line: Line, ctx: Ctx): boolean {
  const argStart = m.index + m[0].length;
  if (!isDynamic(argAt(ctx, line, argStart))) {
    return false;
  }
  const paren = m[0].trimEnd().endsWith('(');
  let depth = 0;
  for (const seg of callRegion(ctx, line.index, argStart, paren)) {
    const code = seg.line.code;
    for (let j = seg.from; j < seg.to; j++) {
      const ch = code.charAt(j);
      if ('([{'.includes(ch)) {
        depth++;
      } else if (')]}'.includes(ch)) {
        depth--;
      } else if (ch === ',' && depth === 0) {
        // Trailing keyword options (exception: true) still leave a single command string.
        return /^\s*\w+:\s/.test(code.slice(j + 1));
      }
    }
  }
  return true;
}

export const COMMAND_INJECTION: Detector[] = [
  pattern('ff-command-injection', PY, {
    re: /(?<![\w.])(?<hit>os\s*\.\s*(?:system|popen[234]?)|commands\s*\.\s*get(?:status)?output|subprocess\s*\.\s*get(?:status)?output)\s*\(/,
    arg: 'dynamic',
    message: (m) => `${group(m, 'hit')}() runs a command built from non-constant data through a shell`,
  }),
  pattern('ff-command-injection', PY, {
    re: /(?<![\w.])(?<hit>(?:subprocess\s*\.\s*)?(?:call|run|Popen|check_call|check_output))\s*\(/,
    when: hasText(/\bsubprocess\b/),
    arg: 'dynamic',
    accept: (m, line, ctx) => /\bshell\s*=\s*True\b/.test(callText(ctx, line.index, m.index + m[0].length)),
    message: (m) => `${group(m, 'hit')}() with shell=True runs a command built from non-constant data through a shell`,
  }),
  pattern('ff-command-injection', ALL, {
    // ["sh", "-c", cmd] / exec.Command("bash", "-c", cmd) / ProcessBuilder("sh", "-c", cmd) / execl(...)
    re: /(?<hit>(["'])(?:\/usr)?(?:\/bin\/)?(?:ba|z|da|k)?sh\2)\s*,\s*(?:\[\s*)?(["'])-c\3\s*,\s*/,
    arg: 'dynamic',
    message: (m) => `${group(m, 'hit')} -c runs a command string built from non-constant data through a shell`,
  }),
  pattern('ff-command-injection', JS, {
    re: /(?<![\w$.])(?<hit>exec|execSync)\s*\(/,
    when: hasText(CHILD_PROCESS),
    arg: 'dynamic',
    message: (m) => `child_process.${group(m, 'hit')}() runs a command built from non-constant data through a shell`,
  }),
  pattern('ff-command-injection', JS, {
    re: /(?<![\w$.])(?<obj>[A-Za-z_$][\w$]*)\s*\.\s*(?<fn>exec|execSync)\s*\(/,
    when: hasText(CHILD_PROCESS),
    arg: 'dynamic',
    accept: (m, _line, ctx) => childProcessBindings(ctx).has(group(m, 'obj')),
    message: (m) => `child_process.${group(m, 'fn')}() runs a command built from non-constant data through a shell`,
  }),
  pattern('ff-command-injection', JS, {
    re: /(?<![\w$.])(?:[A-Za-z_$][\w$]*\s*\.\s*)?(?<fn>spawn|spawnSync|execFile|execFileSync)\s*\(/,
    when: hasText(CHILD_PROCESS),
    arg: 'dynamic',
    accept: (m, line, ctx) => /\bshell\s*:\s*true\b/.test(callText(ctx, line.index, m.index + m[0].length)),
    message: (m) => `child_process.${group(m, 'fn')}() with shell: true runs a non-constant command through a shell`,
  }),
  pattern('ff-command-injection', JAVA, {
    re: /(?<hit>\bRuntime\s*\.\s*getRuntime\s*\(\s*\)\s*\.\s*exec)\s*\(/,
    arg: 'dynamic',
    message: 'Runtime.getRuntime().exec() runs a command built from non-constant data',
  }),
  pattern('ff-command-injection', JAVA, {
    re: /(?<![\w$.])(?<obj>[A-Za-z_$][\w$]*)\s*\.\s*exec\s*\(/,
    arg: 'dynamic',
    accept: (m, _line, ctx) => javaRuntimeVars(ctx).has(group(m, 'obj')),
    message: 'Runtime.exec() runs a command built from non-constant data',
  }),
  pattern('ff-command-injection', PHP, {
    re: /(?<![\w$>:])(?<hit>system|exec|shell_exec|passthru|popen|proc_open|pcntl_exec)\s*\(/,
    arg: 'dynamic',
    message: (m) => `${group(m, 'hit')}() runs a command built from non-constant data through a shell`,
  }),
  literal(
    'ff-command-injection',
    PHP,
    (lit) => lit.quote === '`' && lit.interpolated,
    () => 'The backtick operator runs a shell command that interpolates variables',
  ),
  pattern('ff-command-injection', RUBY, {
    re: /(?<![\w.:$@])(?<hit>(?:Kernel\s*\.\s*)?(?:system|exec|spawn)|IO\s*\.\s*popen|Open3\s*\.\s*(?:capture2e?|capture3|popen2e?|popen3|pipeline(?:_r|_w|_rw)?))(?:\s*\(|[ \t]+(?=["'%\w:@$<]))/,
    accept: rubySingleCommand,
    message: (m) => `${group(m, 'hit')} runs a single command string built from non-constant data through a shell`,
  }),
  literal(
    'ff-command-injection',
    RUBY,
    (lit) => (lit.quote === '`' || lit.quote.startsWith('%x')) && lit.interpolated,
    (lit) => `${lit.quote === '`' ? 'Backticks run' : '%x() runs'} a shell command built with #{} interpolation`,
  ),
  pattern('ff-command-injection', C, {
    re: /(?<![\w.>$])(?<hit>system|popen|_popen|_wsystem|_wpopen)\s*\(/,
    arg: 'dynamic',
    accept: (m, line) => !/^\s*(?:const|char|void|wchar_t)\b/.test(line.code.slice(m.index + m[0].length)),
    message: (m) => `${group(m, 'hit')}() runs a command built from non-constant data through the shell`,
  }),
];

// --- SQL injection ------------------------------------------------------------------------------

const SQL_TEXT =
  /^\s*(?:select\b[\s\S]*\bfrom\b|select\s+\*|insert\s+into\b|update\s+\S+\s+set\b|delete\s+from\b|replace\s+into\b|merge\s+into\b|(?:create|drop|alter|truncate)\s+table\b)/i;

const SQL_SINKS: Readonly<Partial<Record<Language, RegExp>>> = {
  python: /(?:\.|->)\s*(?<hit>execute|executemany|executescript|mogrify|raw|read_sql|read_sql_query)\s*\(/,
  javascript:
    /\.\s*(?<hit>query|execute|exec|run|all|get|each|prepare|raw|unsafe|\$queryRawUnsafe|\$executeRawUnsafe)\s*\(/,
  typescript:
    /\.\s*(?<hit>query|execute|exec|run|all|get|each|prepare|raw|unsafe|\$queryRawUnsafe|\$executeRawUnsafe)\s*\(/,
  go: /\.\s*(?<hit>Query|QueryRow|QueryContext|QueryRowContext|Exec|ExecContext|Prepare|PrepareContext|Raw|Select|Get|MustExec|Queryx|QueryRowx)\s*\(/,
  java: /\.\s*(?<hit>executeQuery|executeUpdate|executeLargeUpdate|execute|addBatch|prepareStatement|prepareCall|createQuery|createNativeQuery|createSQLQuery|query|queryForObject|queryForList|queryForMap|queryForRowSet|update|batchUpdate)\s*\(/,
  php: /(?:(?:->|::)\s*(?<m>query|exec|prepare|execute|multi_query|real_query|unprepared|select|statement|raw|whereRaw|selectRaw|orderByRaw|havingRaw)|(?<![\w$>:])(?<f>mysql_query|mysqli_query|mysqli_multi_query|mysqli_real_query|pg_query|pg_send_query|sqlite_query|odbc_exec|db2_exec|mssql_query))\s*\(/,
  ruby: /\.\s*(?<hit>execute|exec|exec_query|exec_params|query|select_all|select_one|select_value|select_values|select_rows|find_by_sql|count_by_sql)(?:\s*\(|[ \t]+(?=["'%<\w@$]))/,
  c: /(?<![\w.>])(?<hit>sqlite3_exec|sqlite3_prepare(?:_v2|_v3|16(?:_v2|_v3)?)?|mysql_query|mysql_real_query|PQexec|PQexecParams|PQsendQuery|SQLExecDirect)\s*\(/,
};

const ASSIGNMENT =
  /(?<![\w$.>])(\$?[A-Za-z_][\w]*)(?:\[\w*\])?\s*(?::\s*[A-Za-z_][\w.<>]*\s*)?(:=|\+=|\.=|<<|=)(?![=~>])\s*/g;
const C_STRING_WRITE = /(?<![\w.>])(sn?printf|strn?cpy|strn?cat)\s*\(\s*([A-Za-z_]\w*)\s*,/g;
const RHS_LEAD = /^\s*(?:[\w.]+\s*\(\s*(?:[\w&]+\s*,\s*)*|\(\s*)?$/;

interface Taint {
  line: number;
  how: How;
}

function calleeName(line: Line, at: number, name: string): string {
  const before = /([A-Za-z_$][\w$]*)\s*(\.|->|::)\s*$/.exec(line.code.slice(Math.max(0, at - 64), at));
  return before ? `${before[1] ?? ''}${before[2] ?? ''}${name}` : name;
}

function sqlDetector(lang: Language, sink: RegExp): Detector {
  const re = new RegExp(sink.source, 'gd');
  return {
    rule: 'ff-sql-injection',
    langs: [lang],
    run(ctx, emit) {
      const tainted = new Map<string, Taint>();
      const sqlVars = new Set<string>();
      for (const line of ctx.lines) {
        if (line.skip || line.code.trim() === '') {
          continue;
        }
        checkSinks(ctx, line, re, tainted, emit);
        trackAssignments(ctx, line, tainted, sqlVars);
      }
    },
  };
}

function checkSinks(ctx: Ctx, line: Line, re: RegExp, tainted: Map<string, Taint>, emit: Emit): void {
  re.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(line.full)) !== null) {
    re.lastIndex = m.index + 1;
    const kind = line.kinds[m.index];
    if (kind === STR || kind === COMMENT) {
      continue;
    }
    const name = m.groups?.['hit'] ?? m.groups?.['m'] ?? m.groups?.['f'] ?? '';
    const span = m.indices?.groups?.['hit'] ?? m.indices?.groups?.['m'] ?? m.indices?.groups?.['f'];
    const [s, e] = span ?? [m.index, m.index + m[0].length];
    const argStart = m.index + m[0].length;
    const paren = m[0].trimEnd().endsWith('(');
    const callee = `${calleeName(line, s, name)}()`;
    const region = callRegion(ctx, line.index, argStart, paren);
    let message: string | undefined;
    for (const seg of region) {
      for (const lit of seg.line.strings) {
        if (lit.col < seg.from || lit.col >= seg.to || !SQL_TEXT.test(lit.value)) {
          continue;
        }
        const how = dynamicHow(ctx, seg.line, lit);
        if (how) {
          message = `${callee} executes SQL built by string ${how}`;
          break;
        }
      }
      if (message) {
        break;
      }
    }
    if (!message && tainted.size > 0) {
      for (const seg of region) {
        for (const id of seg.line.code.slice(seg.from, seg.to).matchAll(/\$?[A-Za-z_]\w*/g)) {
          const t = tainted.get(id[0]);
          if (t) {
            message = `${callee} executes SQL from ${id[0]}, which is built by string ${t.how} on line ${t.line + 1}`;
            break;
          }
        }
        if (message) {
          break;
        }
      }
    }
    if (message) {
      emit(line, s, e, message);
      return;
    }
  }
}

/** Follows `q = "SELECT ..." + x`, `q += x`, `sprintf(q, "SELECT ... %s", x)` to later sinks. */
function trackAssignments(ctx: Ctx, line: Line, tainted: Map<string, Taint>, sqlVars: Set<string>): void {
  const record = (name: string, lit: StrLit | undefined, how: How | undefined): void => {
    if (lit && SQL_TEXT.test(lit.value)) {
      if (how) {
        tainted.set(name, { line: line.index, how });
      } else {
        sqlVars.add(name);
        tainted.delete(name);
      }
    } else {
      tainted.delete(name);
      sqlVars.delete(name);
    }
  };
  const firstLitFrom = (col: number): StrLit | undefined => {
    const lit = line.strings.find((l) => l.col >= col);
    return lit && RHS_LEAD.test(line.code.slice(col, lit.col)) ? lit : undefined;
  };
  for (const m of line.code.matchAll(ASSIGNMENT)) {
    const name = m[1] ?? '';
    const op = m[2] ?? '=';
    const rhs = (m.index ?? 0) + m[0].length;
    if ((op === '.=' && ctx.lang !== 'php') || (op === '<<' && ctx.lang !== 'ruby')) {
      continue;
    }
    if (op === '+=' || op === '.=' || op === '<<') {
      if (sqlVars.has(name) || tainted.has(name)) {
        const a = argAt(ctx, line, rhs);
        if (isDynamic(a)) {
          tainted.set(name, { line: line.index, how: a.kind === 'string' ? a.how : 'concatenation' });
        }
      }
      continue;
    }
    // q = q + " AND x = " + y
    const self = new RegExp(`^\\s*${name.replace(/\$/g, '\\$')}\\s*(?:\\+|\\.(?!\\w))`).exec(line.code.slice(rhs));
    if (self && (sqlVars.has(name) || tainted.has(name))) {
      const a = argAt(ctx, line, rhs + self[0].length);
      if (isDynamic(a)) {
        tainted.set(name, { line: line.index, how: a.kind === 'string' ? a.how : 'concatenation' });
      }
      continue;
    }
    const lit = firstLitFrom(rhs);
    record(name, lit, lit ? dynamicHow(ctx, line, lit) : undefined);
  }
  if (ctx.lang === 'c') {
    for (const m of line.code.matchAll(C_STRING_WRITE)) {
      const fn = m[1] ?? '';
      const name = m[2] ?? '';
      const argStart = (m.index ?? 0) + m[0].length;
      if (fn.endsWith('cat')) {
        if ((sqlVars.has(name) || tainted.has(name)) && isDynamic(argAt(ctx, line, argStart))) {
          tainted.set(name, { line: line.index, how: 'concatenation' });
        }
        continue;
      }
      const lit = line.strings.find((l) => l.col >= argStart);
      record(name, lit, lit && fn.includes('printf') ? dynamicHow(ctx, line, lit) : undefined);
    }
  }
}

export const SQL_INJECTION: Detector[] = [
  ...Object.entries(SQL_SINKS).map(([lang, re]) => sqlDetector(lang as Language, re)),
  pattern('ff-sql-injection', RUBY, {
    // ActiveRecord query fragments: where("name = '#{name}'")
    re: /\.\s*(?<hit>where|order|reorder|group|having|joins|pluck|from|select|find_by|exists\?|delete_all|update_all|calculate|lock)(?:\s*\(|[ \t]+(?=["'%<]))/,
    accept: (m, line, ctx) => argAt(ctx, line, m.index + m[0].length).kind === 'string',
    message: (m) => `ActiveRecord ${group(m, 'hit')}() receives an SQL fragment built from non-constant data`,
  }),
];

// --- code evaluation ---------------------------------------------------------------------------

function hasEvalModifier(regex: string): boolean {
  const pattern = regex.trimStart();
  const delimiter = pattern.charAt(0);
  if (delimiter === '' || /[\w\s\\]/.test(delimiter)) {
    return false;
  }
  const end = pattern.lastIndexOf(CLOSERS[delimiter] ?? delimiter);
  if (end <= 0) {
    return false;
  }
  const modifiers = pattern.slice(end + 1);
  return /^[a-zA-Z]*$/.test(modifiers) && modifiers.includes('e');
}

export const CODE_EVALUATION: Detector[] = [
  pattern('ff-code-evaluation', PY, {
    re: /(?<![\w.])(?<hit>eval|exec)\s*\(/,
    arg: 'dynamic',
    message: (m) =>
      group(m, 'hit') === 'eval'
        ? 'eval() evaluates a Python expression built from non-constant data'
        : 'exec() runs Python code built from non-constant data',
  }),
  pattern('ff-code-evaluation', JS, {
    re: /(?<![\w$.])(?<hit>eval)\s*\(/,
    arg: 'dynamic',
    message: 'eval() runs JavaScript built from non-constant data',
  }),
  pattern('ff-code-evaluation', JS, {
    re: /\bnew\s+Function\s*\(/,
    accept: (m, line, ctx) => !allArgsConstant(ctx, line, m.index + m[0].length),
    message: 'new Function() compiles JavaScript from strings built at run time',
  }),
  pattern('ff-code-evaluation', JS, {
    re: /(?<![\w$.])(?:(?:window|globalThis|global)\s*\.\s*)?(?<hit>setTimeout|setInterval|setImmediate)\s*\(/,
    arg: 'string',
    message: (m) => `${group(m, 'hit')}() with a string argument evaluates the string as code`,
  }),
  pattern('ff-code-evaluation', JS, {
    re: /\bvm\s*\.\s*(?<hit>runInThisContext|runInNewContext|runInContext|compileFunction)\s*\(|\bnew\s+vm\s*\.\s*Script\s*\(/,
    arg: 'dynamic',
    message: 'The vm module compiles and runs JavaScript built from non-constant data (vm is no security boundary)',
  }),
  pattern('ff-code-evaluation', JAVA, {
    re: /\.\s*(?<hit>eval)\s*\(/,
    when: hasText(/\bScriptEngine\b/),
    arg: 'dynamic',
    message: 'ScriptEngine.eval() runs script code built from non-constant data',
  }),
  pattern('ff-code-evaluation', PHP, {
    re: /(?<![\w$>:])(?<hit>eval)\s*\(/,
    arg: 'dynamic',
    message: 'eval() runs PHP code built from non-constant data',
  }),
  pattern('ff-code-evaluation', PHP, {
    re: /(?<![\w$>:])(?<hit>assert)\s*\(/,
    accept: (m, line, ctx) => {
      const a = argAt(ctx, line, m.index + m[0].length);
      return (
        a.kind === 'string' ||
        a.kind === 'const' ||
        (a.kind === 'expr' && /^\$_(?:GET|POST|REQUEST|COOKIE)\b/.test(a.text))
      );
    },
    message: 'assert() with a string argument evaluates the string as PHP code',
  }),
  pattern('ff-code-evaluation', PHP, {
    re: /(?<![\w$>:])(?<hit>create_function)\s*\(/,
    message: 'create_function() compiles PHP code from strings with eval()',
  }),
  pattern('ff-code-evaluation', PHP, {
    re: /(?<![\w$>:])(?<hit>preg_replace)\s*\(/,
    accept: (m, line, ctx) => {
      const a = argAt(ctx, line, m.index + m[0].length);
      return (a.kind === 'const' || a.kind === 'string') && hasEvalModifier(a.lit.value);
    },
    message: 'preg_replace() with the /e modifier evaluates the replacement as PHP code',
  }),
  pattern('ff-code-evaluation', RUBY, {
    re: /(?<![\w.:$@])(?:Kernel\s*\.\s*)?(?<hit>eval)(?:\s*\(|[ \t]+(?=["'%\w@$:<]))/,
    arg: 'dynamic',
    message: 'eval() runs Ruby code built from non-constant data',
  }),
  pattern('ff-code-evaluation', RUBY, {
    re: /\.\s*(?<hit>instance_eval|class_eval|module_eval)(?:\s*\(|[ \t]+(?=["'%\w@$:<]))/,
    arg: 'dynamic',
    message: (m) => `${group(m, 'hit')} with a string runs Ruby code built from non-constant data`,
  }),
];

// --- unsafe deserialisation --------------------------------------------------------------------

export const UNSAFE_DESERIALIZATION: Detector[] = [
  pattern('ff-unsafe-deserialization', PY, {
    re: /(?<![\w.])(?<hit>(?:pickle|cPickle|_pickle|dill|cloudpickle|joblib)\s*\.\s*(?:loads?|Unpickler)|(?:pd|pandas)\s*\.\s*read_pickle|marshal\s*\.\s*loads?|shelve\s*\.\s*open|jsonpickle\s*\.\s*decode)\s*\(/,
    message: (m) => `${group(m, 'hit')}() can run arbitrary code while deserialising untrusted data`,
  }),
  pattern('ff-unsafe-deserialization', PY, {
    re: /(?<![\w.])(?<hit>yaml\s*\.\s*(?:load|load_all))\s*\(/,
    accept: (m, line, ctx) => !/\b(?:C?SafeLoader|BaseLoader)\b/.test(callText(ctx, line.index, m.index + m[0].length)),
    message: (m) => `${group(m, 'hit')}() without SafeLoader can construct arbitrary Python objects`,
  }),
  pattern('ff-unsafe-deserialization', PY, {
    re: /(?<![\w.])(?<hit>yaml\s*\.\s*(?:unsafe_load|unsafe_load_all|full_load|full_load_all))\s*\(/,
    message: (m) => `${group(m, 'hit')}() can construct arbitrary Python objects`,
  }),
  pattern('ff-unsafe-deserialization', JS, {
    re: /(?<![\w$])(?:[A-Za-z_$][\w$]*\s*\.\s*)?(?<hit>unserialize)\s*\(/,
    when: hasText(/["']node-serialize["']/),
    message: 'node-serialize unserialize() executes functions embedded in its input',
  }),
  pattern('ff-unsafe-deserialization', JS, {
    re: /(?<![\w$])(?:[A-Za-z_$][\w$]*\s*\.\s*)?(?<hit>deserialize)\s*\(/,
    when: hasText(/["']serialize-to-js["']/),
    message: 'serialize-to-js deserialize() evaluates its input as JavaScript',
  }),
  pattern('ff-unsafe-deserialization', JAVA, {
    re: /\.\s*(?<hit>readObject|readUnshared)\s*\(\s*\)/,
    when: (ctx) =>
      /\bObjectInputStream\b/.test(ctx.text) &&
      !/\b(?:ValidatingObjectInputStream|ObjectInputFilter|setObjectInputFilter)\b/.test(ctx.text),
    message: (m) => `ObjectInputStream.${group(m, 'hit')}() deserialises arbitrary classes from its input`,
  }),
  pattern('ff-unsafe-deserialization', JAVA, {
    re: /\bnew\s+(?<hit>XMLDecoder)\s*\(/,
    message: 'XMLDecoder instantiates classes and calls methods described by its input',
  }),
  pattern('ff-unsafe-deserialization', JAVA, {
    re: /\.\s*(?<hit>fromXML)\s*\(/,
    when: hasText(/\bXStream\b/),
    message: 'XStream.fromXML() can instantiate arbitrary classes without a type allow-list',
  }),
  pattern('ff-unsafe-deserialization', PHP, {
    re: /(?<![\w$>:])(?<hit>unserialize)\s*\(/,
    arg: 'dynamic',
    accept: (m, line, ctx) =>
      !/allowed_classes["']?\s*=>\s*false/.test(callText(ctx, line.index, m.index + m[0].length, 'full')),
    message: 'unserialize() on non-constant data can instantiate arbitrary classes (PHP object injection)',
  }),
  pattern('ff-unsafe-deserialization', RUBY, {
    re: /(?<![\w:])(?<hit>Marshal\s*\.\s*(?:load|restore))\b/,
    message: (m) => `${group(m, 'hit')} can instantiate arbitrary Ruby objects from its input`,
  }),
  pattern('ff-unsafe-deserialization', RUBY, {
    re: /(?<![\w:])(?<hit>(?:YAML|Psych)\s*\.\s*(?:load|unsafe_load|load_file|unsafe_load_file|load_stream|load_documents))\b/,
    message: (m) => `${group(m, 'hit')} can instantiate arbitrary Ruby objects; use YAML.safe_load`,
  }),
];

// --- weak cryptography -------------------------------------------------------------------------

const NOT_FOR_SECURITY = /\busedforsecurity\s*=\s*False\b/;

export const WEAK_HASH: Detector[] = [
  pattern('ff-weak-hash', PY, {
    re: /(?<![\w.])(?<hit>hashlib\s*\.\s*(?:md5|sha1|md4))\s*\(/,
    accept: (m, line, ctx) => !NOT_FOR_SECURITY.test(callText(ctx, line.index, m.index + m[0].length)),
    message: (m) => `${group(m, 'hit')}() uses a broken hash algorithm`,
  }),
  pattern('ff-weak-hash', PY, {
    re: /(?<![\w.])(?<hit>hashlib\s*\.\s*new)\s*\(\s*(["'])(?<alg>md5|sha1|md4)\2/i,
    accept: (m, line, ctx) => !NOT_FOR_SECURITY.test(callText(ctx, line.index, m.index + m[0].length)),
    message: (m) => `hashlib.new("${group(m, 'alg')}") uses a broken hash algorithm`,
  }),
  pattern('ff-weak-hash', PY, {
    re: /(?<![\w.])(?<hit>(?:MD5|MD4|SHA1|SHA)\s*\.\s*new)\s*\(/,
    when: hasText(/\bCrypto(?:dome)?\.Hash\b/),
    message: (m) => `${group(m, 'hit')}() uses a broken hash algorithm`,
  }),
  pattern('ff-weak-hash', JS, {
    re: /\b(?<hit>createHash)\s*\(\s*(["'])(?<alg>md5|md4|sha1|sha-1)\2/i,
    message: (m) => `crypto.createHash('${group(m, 'alg')}') uses a broken hash algorithm`,
  }),
  pattern('ff-weak-hash', JS, {
    re: /\bCryptoJS\s*\.\s*(?<hit>MD5|SHA1)\s*\(/,
    message: (m) => `CryptoJS.${group(m, 'hit')}() uses a broken hash algorithm`,
  }),
  pattern('ff-weak-hash', GO, {
    re: /(?<![\w.])(?<hit>(?:md5|sha1)\s*\.\s*(?:New|Sum))\s*\(/,
    when: hasText(/["']crypto\/(?:md5|sha1)["']/),
    message: (m) => `${group(m, 'hit')}() uses a broken hash algorithm`,
  }),
  pattern('ff-weak-hash', JAVA, {
    re: /\bMessageDigest\s*\.\s*getInstance\s*\(\s*"(?<alg>MD5|MD4|MD2|SHA-?1|SHA)"/i,
    message: (m) => `MessageDigest.getInstance("${group(m, 'alg')}") uses a broken hash algorithm`,
  }),
  pattern('ff-weak-hash', JAVA, {
    re: /\b(?<hit>DigestUtils\s*\.\s*(?:md5|md5Hex|sha1|sha1Hex|shaHex|sha)|Hashing\s*\.\s*(?:md5|sha1))\s*\(/,
    message: (m) => `${group(m, 'hit')}() uses a broken hash algorithm`,
  }),
  pattern('ff-weak-hash', PHP, {
    re: /(?<![\w$>:])(?<hit>md5|sha1|md5_file|sha1_file)\s*\(/,
    message: (m) => `${group(m, 'hit')}() uses a broken hash algorithm`,
  }),
  pattern('ff-weak-hash', PHP, {
    re: /(?<![\w$>:])(?<hit>hash|hash_init|hash_file|hash_hmac)\s*\(\s*(["'])(?<alg>md5|md4|md2|sha1)\2/i,
    accept: (m) => group(m, 'hit') !== 'hash_hmac',
    message: (m) => `${group(m, 'hit')}('${group(m, 'alg')}') uses a broken hash algorithm`,
  }),
  pattern('ff-weak-hash', RUBY, {
    re: /\b(?<hit>(?:OpenSSL\s*::\s*)?Digest\s*::\s*(?:MD5|SHA1))\b/,
    message: (m) => `${group(m, 'hit')} uses a broken hash algorithm`,
  }),
  pattern('ff-weak-hash', RUBY, {
    re: /\b(?<hit>(?:OpenSSL\s*::\s*)?Digest\s*\.\s*new)\s*\(\s*(["'])(?<alg>md5|sha1)\2/i,
    message: (m) => `Digest.new('${group(m, 'alg')}') uses a broken hash algorithm`,
  }),
  pattern('ff-weak-hash', C, {
    re: /(?<![\w.>])(?<hit>MD5|MD4|SHA1|MD5_Init|MD4_Init|SHA1_Init|EVP_md5|EVP_md4|EVP_sha1|CC_MD5|CC_SHA1)\s*\(/,
    message: (m) => `${group(m, 'hit')}() uses a broken hash algorithm`,
  }),
];

const WEAK_CIPHER_NAME = /^(?:des|rc4|rc2|bf|blowfish|cast5?|idea)(?:$|[-_\d])/i;

export const WEAK_CIPHER: Detector[] = [
  pattern('ff-weak-cipher', PY, {
    re: /(?<![\w.])(?<hit>(?:DES3?|ARC4|ARC2|Blowfish|CAST)\s*\.\s*new)\s*\(/,
    when: hasText(/\bCrypto(?:dome)?\b/),
    message: (m) => `${group(m, 'hit')}() uses a weak cipher`,
  }),
  pattern('ff-weak-cipher', PY, {
    re: /\balgorithms\s*\.\s*(?<hit>TripleDES|Blowfish|ARC4|IDEA|CAST5|SEED)\s*\(/,
    message: (m) => `algorithms.${group(m, 'hit')} is a weak cipher`,
  }),
  pattern('ff-weak-cipher', JS, {
    re: /\b(?<hit>create(?:Cipher|Decipher)(?:iv)?)\s*\(\s*(["'])(?<alg>[\w-]+)\2/i,
    accept: (m) => WEAK_CIPHER_NAME.test(group(m, 'alg')),
    message: (m) => `${group(m, 'hit')}('${group(m, 'alg')}') uses a weak cipher`,
  }),
  pattern('ff-weak-cipher', JS, {
    re: /\bCryptoJS\s*\.\s*(?<hit>DES|TripleDES|RC4|RC4Drop|Rabbit)\s*\.\s*(?:en|de)crypt\s*\(/,
    message: (m) => `CryptoJS.${group(m, 'hit')} is a weak cipher`,
  }),
  pattern('ff-weak-cipher', GO, {
    re: /(?<![\w.])(?<hit>des\s*\.\s*(?:NewCipher|NewTripleDESCipher)|rc4\s*\.\s*NewCipher|blowfish\s*\.\s*NewCipher(?:WithSalt)?)\s*\(/,
    message: (m) => `${group(m, 'hit')}() creates a weak cipher`,
  }),
  pattern('ff-weak-cipher', JAVA, {
    re: /\b(?<hit>(?:Cipher|KeyGenerator|SecretKeyFactory)\s*\.\s*getInstance)\s*\(\s*"(?<spec>(?:DES|DESede|TripleDES|RC4|ARCFOUR|RC2|Blowfish)(?:\/[^"]*)?)"/i,
    message: (m) => `${group(m, 'hit')}("${group(m, 'spec')}") uses a weak cipher`,
  }),
  pattern('ff-weak-cipher', JAVA, {
    re: /\bnew\s+(?<hit>SecretKeySpec|DESKeySpec|DESedeKeySpec)\s*\(/,
    accept: (m, line, ctx) =>
      group(m, 'hit') !== 'SecretKeySpec' ||
      /"(?:DES|DESede|TripleDES|RC4|ARCFOUR|RC2|Blowfish)"/i.test(
        callText(ctx, line.index, m.index + m[0].length, 'full'),
      ),
    message: (m) => `${group(m, 'hit')} builds a key for a weak cipher`,
  }),
  pattern('ff-weak-cipher', PHP, {
    re: /(?<![\w$>:])(?<hit>openssl_(?:en|de)crypt)\s*\(/,
    accept: (m, line, ctx) =>
      /,\s*(["'])(?:des|rc4|rc2|bf|blowfish|cast5|idea)(?:[-\w]*)\1/i.test(
        callText(ctx, line.index, m.index + m[0].length, 'full'),
      ),
    message: (m) => `${group(m, 'hit')}() is called with a weak cipher`,
  }),
  pattern('ff-weak-cipher', PHP, {
    re: /\b(?<hit>MCRYPT_(?:DES|3DES|TRIPLEDES|BLOWFISH|RC2|ARCFOUR|RC4|CAST_128))\b/,
    message: (m) => `${group(m, 'hit')} is a weak cipher`,
  }),
  pattern('ff-weak-cipher', RUBY, {
    re: /\b(?<hit>OpenSSL\s*::\s*Cipher(?:\s*::\s*Cipher)?\s*\.\s*new)\s*\(\s*(["'])(?<alg>[\w-]+)\2/i,
    accept: (m) => WEAK_CIPHER_NAME.test(group(m, 'alg')),
    message: (m) => `OpenSSL::Cipher.new('${group(m, 'alg')}') uses a weak cipher`,
  }),
  pattern('ff-weak-cipher', RUBY, {
    re: /\b(?<hit>OpenSSL\s*::\s*Cipher\s*::\s*(?:DES|RC4|RC2|BF|CAST5))\b/,
    message: (m) => `${group(m, 'hit')} is a weak cipher`,
  }),
  pattern('ff-weak-cipher', C, {
    re: /(?<![\w.>])(?<hit>EVP_(?:des|rc4|rc2|bf|cast5|idea)\w*|DES_set_key\w*|DES_key_sched|DES_(?:ecb3?|ncbc|cbc|ede3_cbc)_encrypt|RC4_set_key|RC4|BF_set_key)\s*\(/,
    message: (m) => `${group(m, 'hit')}() uses a weak cipher`,
  }),
];

export const ECB_MODE: Detector[] = [
  pattern('ff-ecb-mode', PY, {
    re: /\b(?<hit>MODE_ECB)\b/,
    message: 'MODE_ECB encrypts in ECB mode',
  }),
  pattern('ff-ecb-mode', PY, {
    re: /\bmodes\s*\.\s*(?<hit>ECB)\s*\(/,
    message: 'modes.ECB() encrypts in ECB mode',
  }),
  pattern('ff-ecb-mode', [...JS, 'php', 'ruby', 'c'], {
    re: /(["'])(?<hit>[a-z0-9]+(?:-[a-z0-9]+)*-ecb)\1/i,
    message: (m) => `The "${group(m, 'hit')}" cipher uses ECB mode`,
  }),
  pattern('ff-ecb-mode', GO, {
    re: /\b(?<hit>NewECB(?:En|De)crypter)\s*\(/,
    message: (m) => `${group(m, 'hit')}() encrypts in ECB mode`,
  }),
  pattern('ff-ecb-mode', JAVA, {
    re: /\bCipher\s*\.\s*getInstance\s*\(\s*"(?<spec>[A-Za-z0-9]+\/ECB\/[^"]*|AES)"/i,
    message: (m) =>
      group(m, 'spec').toUpperCase() === 'AES'
        ? 'Cipher.getInstance("AES") defaults to ECB mode'
        : `Cipher.getInstance("${group(m, 'spec')}") uses ECB mode`,
  }),
  pattern('ff-ecb-mode', PHP, {
    re: /\b(?<hit>MCRYPT_MODE_ECB)\b/,
    message: 'MCRYPT_MODE_ECB encrypts in ECB mode',
  }),
  pattern('ff-ecb-mode', RUBY, {
    re: /\bOpenSSL\s*::\s*Cipher\s*::\s*AES\d*\s*\.\s*new\s*\([^)]*:(?<hit>ECB)\b/,
    message: 'OpenSSL::Cipher::AES is used in ECB mode',
  }),
  pattern('ff-ecb-mode', C, {
    re: /(?<![\w.>])(?<hit>EVP_(?:aes_(?:128|192|256)|des|bf|camellia_\d+)_ecb|AES_ecb_encrypt)\s*\(/,
    message: (m) => `${group(m, 'hit')}() encrypts in ECB mode`,
  }),
];

// --- template autoescaping -------------------------------------------------------------------

/**
 * A template engine's HTML autoescaping switched off in its set-up: an `autoescape: false` option
 * (swig, nunjucks and other JavaScript engines), Handlebars' `noEscape: true`, jinja2 /
 * aiohttp_jinja2 / Flask `autoescape=False` and Django's `"autoescape": False`, Twig's
 * `'autoescape' => false`. The match starts at the option's value side, which is code even where
 * the key is a string.
 */
export const AUTOESCAPE_DISABLED: Detector[] = [
  pattern('ff-autoescape-disabled', JS, {
    re: /(?<=(?:\bautoescape|"autoescape"|'autoescape')\s*)(?<hit>:)\s*false\b/,
    message: 'autoescape: false switches off HTML escaping of every template value',
  }),
  pattern('ff-autoescape-disabled', JS, {
    re: /(?<=(?:\bnoEscape|"noEscape"|'noEscape')\s*)(?<hit>:)\s*true\b/,
    message: 'noEscape: true switches off HTML escaping of every template value',
  }),
  pattern('ff-autoescape-disabled', PY, {
    re: /\b(?<hit>autoescape)\s*=\s*False\b/,
    message: 'autoescape=False switches off HTML escaping of every template value',
  }),
  pattern('ff-autoescape-disabled', PY, {
    re: /(?<=(?:"autoescape"|'autoescape')\s*)(?<hit>:)\s*False\b/,
    message: '"autoescape": False switches off HTML escaping of every template value',
  }),
  pattern('ff-autoescape-disabled', PHP, {
    re: /(?<=(?:"autoescape"|'autoescape')\s*)(?<hit>=>)\s*false\b/i,
    message: "'autoescape' => false switches off HTML escaping of every template value",
  }),
];
