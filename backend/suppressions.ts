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

/** The comment line that suppresses `ruleId`, in the file's syntax; undefined when unknown. */
export function suppressionComment(file: string, ruleId: string): string | undefined {
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

/** One `.fuzzforge/ignore` line: rule, path (posix, relative to the workspace), reason. */
export function ignoreFileLine(ruleId: string, relPath: string, reason: string): string {
  const glob = relPath.split(path.sep).join('/').replace(/\s/g, '?');
  return `${ruleId} ${glob} ${reason}`.trim();
}
