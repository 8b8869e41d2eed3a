// One build script, one entry per runtime (extension host, CLI, worker).
// Workflow code is NOT bundled here: the Temporal SDK bundles it at worker start-up,
// and toolbox activities are compiled by the worker itself, so the toolbox stays editable.
const esbuild = require('esbuild');

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');
const quiet = process.argv.includes('--quiet');
/** Only the extension-host test suite (test/vscode), for test/vscode/run.ts and the e2e tests. */
const vscodeSuite = process.argv.includes('--vscode-suite');

/** Packages with native parts or SDK-internal state are loaded from node_modules at run time. */
const nodeExternals = ['@temporalio/*', '@swc/*', 'esbuild', 'cpu-features', 'ssh2'];

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: production ? false : 'linked',
  minify: production,
  logLevel: quiet ? 'warning' : 'info',
};

const builds = [
  {
    ...common,
    entryPoints: ['extension/extension.ts'],
    outfile: 'dist/extension.js',
    external: ['vscode', ...nodeExternals],
  },
  {
    ...common,
    entryPoints: ['backend/cli/main.ts'],
    outfile: 'dist/cli.js',
    external: nodeExternals,
    banner: { js: '#!/usr/bin/env node' },
  },
  { ...common, entryPoints: ['workers/worker.ts'], outfile: 'dist/worker.js', external: nodeExternals },
  // The worker host's activity process (workers/activityProcess.ts): the toolbox's activities run in it.
  {
    ...common,
    entryPoints: ['workers/activityProcessMain.ts'],
    outfile: 'dist/activityProcess.js',
    external: nodeExternals,
  },
  // The embedded backend's supervisor, up all day: its own small bundle, without the CLI's clients.
  { ...common, entryPoints: ['backend/services/supervisorMain.ts'], outfile: 'dist/supervisor.js' },
  // Runs inside the embedded Temporal's private namespace: its mutual-TLS and UI fronts.
  { ...common, entryPoints: ['backend/services/temporalFront.ts'], outfile: 'dist/temporalFront.js' },
  {
    // Webview pages run in the editor's browser sandbox: one IIFE per page, the toolkit bundled in.
    ...common,
    platform: 'browser',
    target: 'es2022',
    format: 'iife',
    entryPoints: ['webview/stats/main.ts'],
    outfile: 'dist/webview/stats.js',
    tsconfig: 'webview/tsconfig.json',
  },
  {
    ...common,
    platform: 'browser',
    target: 'es2022',
    format: 'iife',
    entryPoints: ['webview/crash/main.ts'],
    outfile: 'dist/webview/crash.js',
    tsconfig: 'webview/tsconfig.json',
  },
];

const suiteBuild = {
  ...common,
  minify: false,
  sourcemap: 'inline',
  entryPoints: ['test/vscode/suite/index.ts'],
  outfile: 'out/vscode-suite/index.js',
  external: ['vscode'],
};

async function main() {
  if (vscodeSuite) {
    await esbuild.build(suiteBuild);
    return;
  }
  if (watch) {
    const contexts = await Promise.all(builds.map((b) => esbuild.context(b)));
    await Promise.all(contexts.map((c) => c.watch()));
    return;
  }
  await Promise.all(builds.map((b) => esbuild.build(b)));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
