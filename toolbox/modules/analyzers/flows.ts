// Detectors of the pattern rules where request data must reach a sink to be a weakness: open
// redirects, server-side request forgery and NoSQL injection. Request data is an expression of the
// language's web frameworks (req.query, request.args, $_GET, params[...], r.FormValue(...)), or a
// variable assigned from one earlier in the file. Each runs on the context of ./context.

import {
  argAt,
  callRegion,
  GO,
  JAVA,
  JS,
  PHP,
  PY,
  RUBY,
  type Ctx,
  type Detector,
  type Emit,
  type Line,
} from './context';
import { COMMENT, STR, type Language } from './lexer';
import type { RuleId } from './rules';

/** Expressions that hold data from the request, per language. */
const REQUEST_DATA: Readonly<Partial<Record<Language, RegExp>>> = {
  javascript:
    /\b(?:req|request|ctx\s*\.\s*request|ctx)\s*\.\s*(?:query|body|params|headers|cookies|originalUrl)\b|\bevent\s*\.\s*(?:queryStringParameters|pathParameters|body)\b/,
  typescript:
    /\b(?:req|request|ctx\s*\.\s*request|ctx)\s*\.\s*(?:query|body|params|headers|cookies|originalUrl)\b|\bevent\s*\.\s*(?:queryStringParameters|pathParameters|body)\b/,
  python:
    /\brequest\s*\.\s*(?:args|form|values|json|files|GET|POST|data|query_params|path_params|match_info|rel_url|query|cookies|headers|get_json)\b/,
  php: /\$_(?:GET|POST|REQUEST|COOKIE)\b|\$_SERVER\s*\[\s*['"](?:HTTP_\w+|QUERY_STRING|REQUEST_URI)['"]/,
  ruby: /\bparams\s*\[|\brequest\s*\.\s*(?:params|query_string|body|referer)\b/,
  go: /\br\s*\.\s*(?:URL\s*\.\s*Query\s*\(\s*\)|(?:Post)?FormValue\s*\(|Form\b|PostForm\b|Header\s*\.\s*Get\s*\()|\bc\s*\.\s*(?:Query|DefaultQuery|Param|PostForm|FormValue|QueryParam)\s*\(/,
  java: /\b(?:request|req)\s*\.\s*(?:getParameter|getParameterValues|getHeader|getQueryString|getCookies|getReader|getInputStream)\s*\(/,
};

const ASSIGN =
  /(?<![\w$.>])(?:(?:const|let|var|my|final|String|auto)\s+)?(\$?[A-Za-z_][\w]*)\s*(?::\s*[A-Za-z_][\w.<>[\]]*\s*)?(:=|=)(?![=~>])\s*/g;

interface Sink {
  langs: readonly Language[];
  /** Ends where the arguments start; a `hit` group names the reported span. */
  re: RegExp;
  /** Which arguments must carry request data: the first one, or any. */
  args: 'first' | 'any';
  /** Extra condition on the argument text (e.g. PHP's header("Location: ...")). */
  accept?: (full: string) => boolean;
  message: (callee: string, source: string) => string;
}

/** The text of the call's arguments (code view: string contents blanked) and the same in full. */
function argumentText(ctx: Ctx, line: Line, col: number, which: 'first' | 'any'): { code: string; full: string } {
  const region = callRegion(ctx, line.index, col);
  let code = region.map((s) => s.line.code.slice(s.from, s.to)).join('\n');
  const full = region.map((s) => s.line.full.slice(s.from, s.to)).join('\n');
  if (which === 'first') {
    let depth = 0;
    for (let i = 0; i < code.length; i++) {
      const ch = code.charAt(i);
      if ('([{'.includes(ch)) {
        depth++;
      } else if (')]}'.includes(ch)) {
        depth--;
      } else if (ch === ',' && depth === 0) {
        code = code.slice(0, i);
        break;
      }
    }
  }
  return { code, full };
}

/** What in `code` is request data: a source expression, or a variable tainted by one (and where). */
function requestSource(code: string, source: RegExp, tainted: ReadonlyMap<string, number>): string | undefined {
  const direct = source.exec(code);
  if (direct) {
    return direct[0].replace(/\s+/g, '');
  }
  for (const id of code.matchAll(/\$?[A-Za-z_]\w*/g)) {
    const at = tainted.get(id[0]);
    if (at !== undefined) {
      return `${id[0]} (request data, line ${at + 1})`;
    }
  }
  return undefined;
}

/** Names assigned from request data on this line become tainted; assigned from anything else, clean. */
function trackRequestData(line: Line, source: RegExp, tainted: Map<string, number>): void {
  for (const m of line.code.matchAll(ASSIGN)) {
    const name = m[1] ?? '';
    const rhs = line.code.slice((m.index ?? 0) + m[0].length).split(/;|\b(?:if|for|while)\b/)[0] ?? '';
    if (requestSource(rhs, source, tainted)) {
      tainted.set(name, line.index);
    } else {
      tainted.delete(name);
    }
  }
}

function flowDetector(rule: RuleId, lang: Language, sinks: readonly Sink[]): Detector {
  const source = REQUEST_DATA[lang] as RegExp;
  const compiled = sinks.map((s) => ({ ...s, re: new RegExp(s.re.source, `${s.re.flags.replace(/[gd]/g, '')}gd`) }));
  return {
    rule,
    langs: [lang],
    run(ctx: Ctx, emit: Emit) {
      const tainted = new Map<string, number>();
      for (const line of ctx.lines) {
        if (line.skip || line.code.trim() === '') {
          continue;
        }
        check(ctx, line, compiled, source, tainted, emit);
        trackRequestData(line, source, tainted);
      }
    },
  };
}

function check(
  ctx: Ctx,
  line: Line,
  sinks: readonly Sink[],
  source: RegExp,
  tainted: ReadonlyMap<string, number>,
  emit: Emit,
): void {
  for (const sink of sinks) {
    sink.re.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = sink.re.exec(line.full)) !== null) {
      sink.re.lastIndex = m.index + 1;
      const kind = line.kinds[m.index];
      if (kind === STR || kind === COMMENT) {
        continue;
      }
      const args = argumentText(ctx, line, m.index + m[0].length, sink.args);
      if (sink.accept && !sink.accept(args.full)) {
        continue;
      }
      const from = requestSource(args.code, source, tainted);
      if (!from) {
        continue;
      }
      const span = m.indices?.groups?.['hit'] ?? [m.index, m.index + m[0].length];
      emit(line, span[0], span[1], sink.message(m.groups?.['hit'] ?? m[0].trim(), from));
      return;
    }
  }
}

// --- open redirect -----------------------------------------------------------------------------

const redirect = (callee: string, from: string) =>
  `${callee}() redirects to a location taken from ${from}: a link to this site can send users anywhere`;

const OPEN_REDIRECT_SINKS: Readonly<Partial<Record<Language, Sink[]>>> = {
  javascript: [
    { langs: JS, re: /\b(?:res|response|ctx|reply)\s*\.\s*(?<hit>redirect)\s*\(/, args: 'any', message: redirect },
  ],
  python: [
    {
      langs: PY,
      re: /(?<![\w.])(?<hit>redirect|HttpResponseRedirect|HttpResponsePermanentRedirect|RedirectResponse)\s*\(/,
      args: 'first',
      message: redirect,
    },
    {
      langs: PY,
      re: /\bweb\s*\.\s*(?<hit>HTTP(?:Found|SeeOther|MovedPermanently|TemporaryRedirect))\s*\(/,
      args: 'first',
      message: redirect,
    },
  ],
  php: [
    {
      langs: PHP,
      re: /(?<![\w$>:])(?<hit>header)\s*\(/,
      args: 'first',
      accept: (full) => /^\s*["']\s*location\s*:/i.test(full),
      message: redirect,
    },
  ],
  ruby: [{ langs: RUBY, re: /\b(?<hit>redirect_to)\b\s*\(?/, args: 'first', message: redirect }],
  go: [{ langs: GO, re: /\bhttp\s*\.\s*(?<hit>Redirect)\s*\(/, args: 'any', message: redirect }],
  java: [{ langs: JAVA, re: /\.\s*(?<hit>sendRedirect)\s*\(/, args: 'first', message: redirect }],
};

// --- server-side request forgery ---------------------------------------------------------------

const ssrf = (callee: string, from: string) =>
  `${callee}() requests a URL taken from ${from}: the server can be made to reach internal services or files`;

const SSRF_SINKS: Readonly<Partial<Record<Language, Sink[]>>> = {
  javascript: [
    {
      langs: JS,
      re: /(?<![\w$.])(?<hit>fetch|needle|axios|got|superagent)\s*(?:\.\s*(?:get|post|put|patch|delete|head|request))?\s*\(/,
      args: 'first',
      message: ssrf,
    },
    { langs: JS, re: /\bhttps?\s*\.\s*(?<hit>get|request)\s*\(/, args: 'first', message: ssrf },
  ],
  python: [
    {
      langs: PY,
      re: /\b(?:requests|httpx)\s*\.\s*(?<hit>get|post|put|patch|delete|head)\s*\(/,
      args: 'first',
      message: ssrf,
    },
    { langs: PY, re: /(?<![\w])(?:urllib\s*\.\s*request\s*\.\s*)?(?<hit>urlopen)\s*\(/, args: 'first', message: ssrf },
  ],
  php: [
    {
      langs: PHP,
      re: /(?<![\w$>:])(?<hit>file_get_contents|fopen|curl_init|get_headers)\s*\(/,
      args: 'first',
      message: ssrf,
    },
  ],
  ruby: [
    {
      langs: RUBY,
      re: /\b(?:Net\s*::\s*HTTP|HTTParty|Faraday|RestClient|URI)\s*\.\s*(?<hit>get|get_response|post|open)\s*\(/,
      args: 'first',
      message: ssrf,
    },
  ],
  go: [
    {
      langs: GO,
      re: /\bhttp\s*\.\s*(?<hit>Get|Post|Head|NewRequest(?:WithContext)?)\s*\(/,
      args: 'any',
      message: ssrf,
    },
  ],
  java: [{ langs: JAVA, re: /\bnew\s+(?<hit>URL)\s*\(/, args: 'first', message: ssrf }],
};

// --- NoSQL injection -------------------------------------------------------------------------

const nosql = (callee: string, from: string) =>
  `${callee === '$where' ? 'A $where clause' : `${callee}()`} takes ${from}: the request can change the query (NoSQL injection)`;

const MONGO_QUERY =
  /\.\s*(?<hit>find|findOne|findOneAndUpdate|findOneAndDelete|updateOne|updateMany|deleteOne|deleteMany|countDocuments|aggregate)\s*\(/;

const NOSQL_SINKS: Readonly<Partial<Record<Language, Sink[]>>> = {
  // A query object straight from the request: {"$gt": ""} in a login form matches every user.
  javascript: [{ langs: JS, re: MONGO_QUERY, args: 'first', accept: (full) => !/^\s*\{/.test(full), message: nosql }],
  python: [
    {
      langs: PY,
      re: /\.\s*(?<hit>find|find_one|update_one|update_many|delete_one|delete_many|count_documents)\s*\(/,
      args: 'first',
      accept: (full) => !/^\s*\{/.test(full),
      message: nosql,
    },
  ],
};

/**
 * `$where` with a string built at run time: JavaScript the database runs, with values spliced in.
 * Reported wherever the string is dynamic (interpolation or concatenation), request data or not.
 */
function whereDetector(lang: Language): Detector {
  const re = /(?:(?<![\w$])(?<bare>\$where)|(["'])(?<quoted>\$where)\2)\s*(?::|=>)\s*/dg;
  return {
    rule: 'ff-nosql-injection',
    langs: [lang],
    run(ctx, emit) {
      for (const line of ctx.lines) {
        if (line.skip) {
          continue;
        }
        re.lastIndex = 0;
        let m: RegExpExecArray | null;
        while ((m = re.exec(line.full)) !== null) {
          const kind = line.kinds[m.index];
          if (m.groups?.['bare'] && (kind === STR || kind === COMMENT)) {
            continue;
          }
          if (line.kinds[m.index] === COMMENT) {
            continue;
          }
          const a = argAt(ctx, line, m.index + m[0].length);
          if (a.kind !== 'string') {
            continue;
          }
          const span = m.indices?.groups?.['bare'] ?? m.indices?.groups?.['quoted'] ?? [m.index, m.index + m[0].length];
          emit(
            line,
            span[0],
            span[1],
            `A $where clause runs JavaScript built by string ${a.how} in the database (NoSQL injection)`,
          );
          break;
        }
      }
    },
  };
}

function detectors(rule: RuleId, sinks: Readonly<Partial<Record<Language, Sink[]>>>): Detector[] {
  const out: Detector[] = [];
  for (const [lang, list] of Object.entries(sinks) as [Language, Sink[]][]) {
    out.push(flowDetector(rule, lang, list));
    if (lang === 'javascript') {
      out.push(flowDetector(rule, 'typescript', list));
    }
  }
  return out;
}

export const OPEN_REDIRECT: Detector[] = detectors('ff-open-redirect', OPEN_REDIRECT_SINKS);
export const SSRF: Detector[] = detectors('ff-ssrf', SSRF_SINKS);
export const NOSQL_INJECTION: Detector[] = [
  ...detectors('ff-nosql-injection', NOSQL_SINKS),
  ...(['javascript', 'typescript', 'python', 'php'] as const).map(whereDetector),
];
