// A long-lived worker host bundles its workflows (when no cached bundle fits) in a child process,
// so Temporal's bundler (webpack, tens of MB of code) never loads into the host. Real bundler, real
// `dist/worker.js --bundle-job` child, a scratch toolbox with a folder that passes the source
// check but does not bundle: the outcome is the same as bundling in-process, and this process
// (standing in for the host) has no webpack module loaded until it bundles in-process itself.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { distEntry, toolboxDir } from '../../backend/paths';
import { bundleInChildProcess, loadToolbox, releaseActivityModule } from '../../workers/toolboxLoader';

const META = (name: string) =>
  `name: ${name}\nversion: 1.0.0\ndescription: test\nvertical: generic\noutputs: [sarif]\nparameters: { type: object, properties: {} }\n`;

function writeWorkflow(toolbox: string, name: string, source: string): void {
  const dir = path.join(toolbox, 'workflows', name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'metadata.yaml'), META(name));
  fs.writeFileSync(path.join(dir, 'workflow.ts'), source);
}

/** webpack's compiler is loaded (importing the SDK loads only webpack's small, lazy index). */
const webpackLoaded = () =>
  Object.keys(require.cache).some((file) => file.endsWith(path.join('node_modules', 'webpack', 'lib', 'Compiler.js')));

describe("the worker host's workflow bundling", () => {
  let root: string;
  let toolbox: string;
  const saved = process.env.FUZZFORGE_CACHE_DIR;

  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'ff-bundle-'));
    // A cache of its own: nothing bundled yet.
    process.env.FUZZFORGE_CACHE_DIR = path.join(root, 'cache');
    toolbox = path.join(root, 'toolbox');
    fs.mkdirSync(path.join(toolbox, 'workflows'), { recursive: true });
    fs.symlinkSync(path.join(toolboxDir(), 'modules'), path.join(toolbox, 'modules'));
    fs.symlinkSync(path.join(toolboxDir(), 'shared'), path.join(toolbox, 'shared'));
    writeWorkflow(toolbox, 'hello', 'export async function hello(): Promise<string> {\n  return "hello";\n}\n');
    // Compiles on its own (the source check passes); the bundler cannot resolve its import.
    writeWorkflow(
      toolbox,
      'broken_import',
      "import { nothing } from './no-such-module';\nexport async function broken_import(): Promise<string> {\n  return nothing;\n}\n",
    );
  });
  after(() => {
    bundleInChildProcess(undefined);
    process.env.FUZZFORGE_CACHE_DIR = saved;
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('bundles in a child: the good folder is served, the broken one reported, no webpack here', async () => {
    assert.equal(webpackLoaded(), false, 'webpack was loaded before the test began');
    bundleInChildProcess(distEntry('worker'));
    const loaded = await loadToolbox(toolbox, 'generic');
    releaseActivityModule(loaded.activityModule);
    assert.deepEqual(
      loaded.workflows.map((w) => w.name),
      ['hello'],
    );
    assert.match(loaded.bundle?.code ?? '', /function hello\(/);
    const problem = loaded.problems.find((p) => p.file.endsWith(path.join('broken_import', 'workflow.ts')));
    assert.ok(problem, `broken_import not reported: ${JSON.stringify(loaded.problems)}`);
    assert.match(problem.message, /does not bundle: .*no-such-module/);
    assert.equal(webpackLoaded(), false, 'bundling in a child loaded webpack into this process');
  });

  it('counts what it claims: bundling here loads webpack into this process', async () => {
    bundleInChildProcess(undefined);
    // An edit, so that the cached bundle of the first test does not fit.
    writeWorkflow(toolbox, 'hello', 'export async function hello(): Promise<string> {\n  return "hello again";\n}\n');
    const loaded = await loadToolbox(toolbox, 'generic');
    releaseActivityModule(loaded.activityModule);
    assert.match(loaded.bundle?.code ?? '', /hello again/);
    assert.equal(webpackLoaded(), true);
  });
});
