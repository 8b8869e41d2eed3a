// The flat config the js_sast workflow runs eslint with (`eslint -c <this file>` from the target
// folder). It replaces the target's own configuration entirely: the target's plugins, parsers and
// node_modules are never loaded. Plugins come from the eslint installation FuzzForge set up
// (FUZZFORGE_ESLINT_MODULES, its node_modules folder), not from the target or from this folder.
// Not named eslint.config.*: eslint >= 10 looks a config up from each linted file's folder, and
// this project's own lint run would then pick this file up for the files beside it.
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';

function installationRequire() {
  const modules = process.env.FUZZFORGE_ESLINT_MODULES;
  if (modules) {
    return createRequire(path.join(modules, 'eslint', 'package.json'));
  }
  // Run by hand: resolve next to the eslint that is running this file.
  return createRequire(fs.realpathSync(process.argv[1] ?? process.cwd()));
}

const load = installationRequire();
const security = load('eslint-plugin-security');
const tsParser = load('@typescript-eslint/parser');

// Every rule of the plugin (a newer plugin's new rules included) plus the core rules for the code
// evaluation the plugin does not see: strings given to setTimeout/setInterval, new Function().
// (core no-eval is left out: it duplicates security/detect-eval-with-expression and also flags
// eval of a constant.) Levels in the SARIF come from toolbox/modules/sast/eslint.ts, not from here.
const rules = {
  ...Object.fromEntries(Object.keys(security.rules).map((name) => [`security/${name}`, 'warn'])),
  'no-implied-eval': 'warn',
  'no-new-func': 'warn',
};

// no-implied-eval and no-new-func only look at references to these globals.
const globals = Object.fromEntries(
  ['setTimeout', 'setInterval', 'setImmediate', 'execScript', 'Function', 'window', 'global', 'globalThis', 'self'].map(
    (name) => [name, 'readonly'],
  ),
);

export default [
  {
    linterOptions: {
      // In-source `eslint-disable` comments are honoured, but unused ones are the target's own
      // lint hygiene, not security findings.
      reportUnusedDisableDirectives: 'off',
      reportUnusedInlineConfigs: 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.jsx', '**/*.mjs', '**/*.cjs'],
    languageOptions: {
      ecmaVersion: 'latest',
      globals,
      parserOptions: { ecmaFeatures: { jsx: true } },
    },
    plugins: { security },
    rules,
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
  },
  {
    // Parsed without type information (no tsconfig, no target node_modules needed); the parser
    // picks JSX from the extension (.tsx).
    files: ['**/*.ts', '**/*.tsx', '**/*.mts', '**/*.cts'],
    languageOptions: { parser: tsParser, sourceType: 'module', globals },
    plugins: { security },
    rules,
  },
];
