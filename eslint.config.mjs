// Flat config: type-checked typescript-eslint; prettier owns layout. Every disabled rule says why.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import importX, { createNodeResolver } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['dist/**', 'node_modules/**', 'test/fixtures/**', '.vscode-test/**', 'out/**', '*.vsix'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    // Without a resolver that knows .ts, import-x skips every relative import it cannot resolve:
    // no-cycle and no-restricted-paths would pass without looking.
    settings: {
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js', '.mjs', '.cjs', '.json', '.node'] })],
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'import-x/no-cycle': 'error',
      eqeqeq: ['error', 'always'],
      curly: ['error', 'all'],
      // Template literals with numbers are how we format progress lines.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      // Floors (CONVENTIONS.md, DESIGN.md "Process boundaries"): backend/ is the ground floor that
      // everything imports; the toolbox and workers build on it; the extension host loads no worker
      // code; webview/ is browser code. An import that needs to go up means code on the wrong floor.
      'import-x/no-restricted-paths': [
        'error',
        {
          basePath: import.meta.dirname,
          zones: [
            {
              target: './backend',
              from: ['./extension', './webview', './workers', './toolbox/modules', './toolbox/workflows'],
              message: 'backend/ imports nothing above it (only toolbox/shared definitions): move the code down.',
            },
            {
              target: './toolbox',
              from: ['./extension', './webview', './workers'],
              message: 'the toolbox runs on workers: it imports backend/ and toolbox/, never the editor side.',
            },
            {
              target: './workers',
              from: ['./extension', './webview'],
              message: 'workers run without VS Code: they import backend/ and toolbox/ only.',
            },
            {
              target: './extension',
              from: ['./workers', './toolbox/modules', './toolbox/workflows'],
              message: 'worker code (native @temporalio/worker, tool processes) never loads in the extension host.',
            },
            {
              target: './webview',
              from: ['./backend', './extension', './workers', './toolbox/modules', './toolbox/workflows'],
              except: ['./sarif/types.ts'],
              message:
                'webview/ is browser code: it shares types through webview/protocol.ts and toolbox/shared, not Node modules.',
            },
          ],
        },
      ],
    },
  },
  {
    // The core is shared by the CLI and the extension: it must never depend on VS Code.
    files: ['backend/**/*.ts', 'toolbox/**/*.ts', 'workers/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: [{ name: 'vscode', message: 'backend/, toolbox/ and workers/ are vscode-free' }] },
      ],
    },
  },
  {
    // The pure halves of the extension (view models, error mapping, command ids) are unit-tested in
    // plain Node: they must not need VS Code either.
    files: [
      'extension/commandIds.ts',
      'extension/errors.ts',
      'extension/views/viewModel.ts',
      'extension/views/backendModel.ts',
      'extension/views/crashesModel.ts',
      'extension/debug/launchConfig.ts',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          // Types vanish from the bundle and from the unit tests' build: only values would need VS Code.
          paths: [
            { name: 'vscode', message: 'pure extension modules are tested without VS Code', allowTypeImports: true },
          ],
        },
      ],
    },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: no I/O, no Node built-ins.
    files: ['toolbox/workflows/**/*.ts', 'toolbox/shared/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:*', 'fs', 'path', 'os', 'child_process', 'net', 'http', 'https', 'crypto'],
              message: 'workflows do no I/O: use an activity',
            },
            {
              group: [
                'minio',
                'dockerode',
                '@temporalio/client',
                '@temporalio/worker',
                '@temporalio/activity',
                '**/backend/**',
              ],
              message: 'workflows do no I/O: use an activity',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // node:test's describe/it return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: {
      globals: {
        require: 'readonly',
        module: 'readonly',
        process: 'readonly',
        console: 'readonly',
        __dirname: 'readonly',
      },
    },
    rules: {
      // esbuild.js is a CommonJS build script.
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  prettier,
);
