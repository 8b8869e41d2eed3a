import * as path from 'node:path';

/** Line comment syntax by file extension, for inserting `fuzzforge-ignore[RULE]`. */
const LINE_COMMENT: Record<string, [string, string]> = {};
for (const ext of [
  '.py',
  '.rb',
  '.sh',
  '.bash',
  '.yaml',
  '.yml',
  '.toml',
  '.r',
  '.pl',
  '.ps1',
  '.tf',
  '.conf',
  '.cfg',
  '.ini',
  '.dockerfile',
  '.mk',
]) {
  LINE_COMMENT[ext] = ['# ', ''];
}
for (const ext of [
  '.js',
  '.jsx',
  '.mjs',
  '.cjs',
  '.ts',
  '.tsx',
  '.mts',
  '.cts',
  '.go',
  '.java',
  '.kt',
  '.scala',
  '.c',
  '.h',
  '.cc',
  '.cpp',
  '.hpp',
  '.cs',
  '.rs',
  '.swift',
  '.php',
  '.dart',
  '.proto',
]) {
  LINE_COMMENT[ext] = ['// ', ''];
}
for (const ext of ['.sql', '.lua', '.hs']) {
  LINE_COMMENT[ext] = ['-- ', ''];
}
for (const ext of ['.html', '.htm', '.xml', '.vue', '.svelte', '.md']) {
  LINE_COMMENT[ext] = ['<!-- ', ' -->'];
}
LINE_COMMENT['.css'] = ['/* ', ' */'];
LINE_COMMENT['.scss'] = ['// ', ''];
LINE_COMMENT['.bat'] = ['rem ', ''];

/**
 * Rule ids that may be written into source comments and `.fuzzforge/ignore`. They come from tool
 * output (SARIF), so one holding a newline, `]`, a comment end or a space could end the comment and
 * put code into the user's file, or add a second ignore entry; those ids get no suppression edit.
 */
const SAFE_RULE_ID = /^[A-Za-z0-9_.:/@+-]{1,200}$/;

export function isSafeRuleId(ruleId: string): boolean {
  return SAFE_RULE_ID.test(ruleId);
}

/** The comment line that suppresses `ruleId`, in the file's syntax; undefined when unknown or unsafe. */
export function suppressionComment(file: string, ruleId: string): string | undefined {
  if (!isSafeRuleId(ruleId)) {
    return undefined;
  }
  const base = path.basename(file).toLowerCase();
  const ext = base === 'dockerfile' || base === 'makefile' ? '.dockerfile' : path.extname(base);
  const syntax = LINE_COMMENT[ext];
  return syntax ? `${syntax[0]}fuzzforge-ignore[${ruleId}]${syntax[1]}` : undefined;
}

/**
 * The text edit that suppresses a finding: a comment line above it with the same indentation
 * (a new line is safer than a trailing comment, which could end up inside a string or a
 * continued line). Returns the line to insert before `lineText`.
 */
export function suppressionLine(file: string, ruleId: string, lineText: string): string | undefined {
  const comment = suppressionComment(file, ruleId);
  if (!comment) {
    return undefined;
  }
  const indent = /^\s*/.exec(lineText)?.[0] ?? '';
  return `${indent}${comment}`;
}

/**
 * One `.fuzzforge/ignore` line: rule, path (posix, relative to the workspace), reason. Throws on a
 * rule id that is not safe to write (see isSafeRuleId); the path and reason stay on one line.
 */
export function ignoreFileLine(ruleId: string, relPath: string, reason: string): string {
  if (!isSafeRuleId(ruleId)) {
    throw new Error(`refusing to write the rule id ${JSON.stringify(ruleId).slice(0, 80)} into .fuzzforge/ignore`);
  }
  const glob = relPath
    .split(path.sep)
    .join('/')
    // eslint-disable-next-line no-control-regex -- control characters must not reach the file
    .replace(/[\s\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '?');
  // eslint-disable-next-line no-control-regex -- as above: a newline would add an entry
  const oneLine = reason.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ');
  return `${ruleId} ${glob} ${oneLine}`.trim();
}
