import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type * as esbuild from 'esbuild';
import { version as esbuildVersion } from 'esbuild/package.json';
import { discoverWorkflows, type ToolboxProblem, type WorkflowDefinition } from '../backend/toolbox/discovery';
import { activitiesOf, type ActivityMap, type CompiledModules } from './activityModules';
import { cacheDir, projectRoot } from '../backend/paths';

export type { ActivityMap };

export interface LoadedToolbox {
  workflows: WorkflowDefinition[];
  problems: ToolboxProblem[];
  bundle?: WorkflowBundleWithSourceMap;
  activities: ActivityMap;
  /**
   * The compiled modules, in a file of this load's own (the activity process loads it, maybe
   * long after a newer build replaced the cached one); releaseActivityModule removes it.
   */
  activityModule?: string;
}

// esbuild's library is loaded when a build needs it: a start on cached builds does without it.
let esbuildLoaded: typeof esbuild | undefined;
function esbuildLib(): typeof esbuild {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- see above
  return (esbuildLoaded ??= require('esbuild') as typeof esbuild);
}

/** Stop esbuild's service process (about 100 MB) if one was started. */
async function stopEsbuild(): Promise<void> {
  await esbuildLoaded?.stop();
}

/**
 * Build output lives inside our node_modules so that external packages resolve from it. Its real
 * path: the SDK's bundler writes the entry point to an in-memory file system under the path it is
 * given but reads it back under the resolved one, so a node_modules that is a symbolic link (a
 * shared checkout, pnpm) would otherwise leave every workflow out of the bundle.
 */
function buildDir(): string {
  const dir = path.join(fs.realpathSync(path.join(projectRoot(), 'node_modules')), '.cache', 'fuzzforge');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

function listModuleFiles(dir: string): string[] {
  const out: string[] = [];
  const visit = (d: string) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const abs = path.join(d, entry.name);
      if (entry.isDirectory()) {
        visit(abs);
      } else if (entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
        out.push(abs);
      }
    }
  };
  visit(dir);
  return out;
}

/**
 * Compile every `toolbox/modules/**.ts` at start-up and collect the `activities` object each
 * exports. Nothing is pre-built, so editing or adding a module needs only a worker restart.
 */
async function compileModules(
  files: readonly string[],
  modulesDir: string,
  outfile: string,
): Promise<esbuild.Metafile | undefined> {
  const entry =
    files.map((f, i) => `import * as m${i} from ${JSON.stringify(f)};`).join('\n') +
    `\nexport const modules = [${files.map((f, i) => `[${JSON.stringify(f)}, m${i}]`).join(', ')}];\n`;
  loaderStats.activityBuilds++;
  const result = await esbuildLib().build({
    stdin: { contents: entry, resolveDir: modulesDir, sourcefile: ACTIVITIES_ENTRY, loader: 'ts' },
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    outfile,
    // No source map: nothing here enables them, and an inline one made the file four times larger
    // and its require() six times slower (8.9 vs 2.3 MB; a start of the worker host paid it).
    sourcemap: false,
    // One copy of the SDK per process: activity context lives in @temporalio/activity's module state.
    external: ['@temporalio/*', 'esbuild', '@swc/*', 'cpu-features', 'ssh2'],
    nodePaths: [path.join(projectRoot(), 'node_modules')],
    logLevel: 'silent',
    metafile: true,
  });
  return result.metafile;
}

/** Name of the generated entry that imports every module (esbuild's stdin). */
const ACTIVITIES_ENTRY = 'toolbox-activities.ts';

/** Counts what a load did (tests: was the compiled activities bundle reused?). */
export const loaderStats = { activityBuilds: 0 };

/**
 * The compiled activities of a clean build, kept for the next load: esbuild bundling every module
 * with what it imports (backend code, the MinIO client) is most of a worker host's start-up
 * toolbox load. Reused only while every file the build read has the same content (hashed, not
 * dated: a checkout or an editor can keep a modification time), with the same module list,
 * esbuild and Node.
 */
interface ActivityCache {
  /** Where the compiled code is kept (inside our node_modules, so its externals resolve). */
  code: string;
  index: string;
}

function activityCache(files: readonly string[]): ActivityCache {
  const key = crypto
    .createHash('sha256')
    .update(`${esbuildVersion}\0${process.version}\0${files.join('\0')}`)
    .digest('hex')
    .slice(0, 24);
  const dir = path.join(buildDir(), 'activities');
  return { code: path.join(dir, `activities-${key}.cjs`), index: path.join(dir, `activities-${key}.json`) };
}

function hashFile(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/**
 * The names in the folders of our own inputs (not node_modules): a file added beside an import
 * can change what it resolves to (`./x` is x.ts before x/index.ts).
 */
function folderListings(inputs: readonly string[]): Record<string, string> {
  const dirs = new Set(
    inputs.filter((f) => !f.includes(`${path.sep}node_modules${path.sep}`)).map((f) => path.dirname(f)),
  );
  return Object.fromEntries([...dirs].sort().map((dir) => [dir, fs.readdirSync(dir).sort().join('/')]));
}

interface ActivityIndex {
  inputs: Record<string, string>;
  folders: Record<string, string>;
}

/** The cached build, when every input it recorded is unchanged; else undefined. */
function cachedActivities(cache: ActivityCache): string | undefined {
  try {
    const index = JSON.parse(fs.readFileSync(cache.index, 'utf8')) as ActivityIndex;
    for (const [file, hash] of Object.entries(index.inputs)) {
      if (hashFile(file) !== hash) {
        return undefined;
      }
    }
    const folders = folderListings(Object.keys(index.inputs));
    if (JSON.stringify(folders) !== JSON.stringify(index.folders)) {
      return undefined;
    }
    return fs.existsSync(cache.code) ? cache.code : undefined;
  } catch {
    // Not cached yet, a torn index, or an input that is gone: build.
    return undefined;
  }
}

function keepActivities(
  cache: ActivityCache,
  built: string,
  metafile: esbuild.Metafile,
  modulesDir: string,
  startedMs: number,
): void {
  try {
    const inputs: Record<string, string> = {};
    for (const input of Object.keys(metafile.inputs)) {
      const abs = path.resolve(input);
      // The generated entry is fixed by the module list, which is in the key.
      if (abs !== path.join(modulesDir, ACTIVITIES_ENTRY)) {
        // Changed while (or just before) it was compiled: the build may hold the older text.
        if (fs.statSync(abs).mtimeMs > startedMs - 2000) {
          return;
        }
        inputs[abs] = hashFile(abs);
      }
    }
    const index: ActivityIndex = { inputs, folders: folderListings(Object.keys(inputs)) };
    fs.mkdirSync(path.dirname(cache.code), { recursive: true });
    const tmp = `.${process.pid}.tmp`;
    fs.copyFileSync(built, cache.code + tmp);
    fs.renameSync(cache.code + tmp, cache.code);
    fs.writeFileSync(cache.index + tmp, JSON.stringify(index));
    fs.renameSync(cache.index + tmp, cache.index);
    pruneBundles(path.dirname(cache.index), path.basename(cache.index), 'activities-');
  } catch {
    // A cache that cannot be written costs the next start its compile, nothing else.
  }
}

/**
 * Compile every `toolbox/modules/**.ts` at start-up into ONE bundle (so modules share one storage
 * client and one target cache) and collect the `activities` object each exports. Nothing is
 * pre-built, so editing or adding a module needs only a worker restart. A module that does not
 * compile is reported and left out; the others still load. The compiled file is kept under a name
 * of this load's own (`file`), for the activity process.
 */
export async function loadActivityModule(
  toolboxDir: string,
  problems: ToolboxProblem[],
): Promise<{ activities: ActivityMap; file: string }> {
  const modulesDir = path.join(toolboxDir, 'modules');
  let files = fs.existsSync(modulesDir) ? listModuleFiles(modulesDir) : [];
  const cache = activityCache(files);
  const reused = cachedActivities(cache);
  const outfile =
    reused ?? path.join(buildDir(), `activities-${process.pid}-${crypto.randomBytes(3).toString('hex')}.cjs`);
  try {
    if (!reused) {
      const startedMs = Date.now();
      const metafile = await compileModules(files, modulesDir, outfile);
      if (metafile) {
        keepActivities(cache, outfile, metafile, modulesDir, startedMs);
      }
    }
  } catch {
    const good: string[] = [];
    for (const file of files) {
      try {
        await compileModules([file], modulesDir, outfile);
        good.push(file);
      } catch (err) {
        const first = (err as esbuild.BuildFailure).errors?.[0];
        const where = first?.location ? `${first.location.file}:${first.location.line}: ` : '';
        problems.push({ file, message: `does not compile: ${where}${first?.text ?? (err as Error).message}` });
      }
    }
    files = good;
    await compileModules(files, modulesDir, outfile);
  }
  const file = privateModuleFile(outfile, outfile !== reused);
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loading code compiled at run time
  const compiled = require(file) as CompiledModules;
  // Each load (a hot reload too) gets fresh module instances; the replaced ones go with their workers.
  delete require.cache[file];
  return { activities: activitiesOf(compiled, problems), file };
}

/** The activities alone (the compiled file is not kept). */
export async function loadActivities(toolboxDir: string, problems: ToolboxProblem[]): Promise<ActivityMap> {
  const { activities, file } = await loadActivityModule(toolboxDir, problems);
  releaseActivityModule(file);
  return activities;
}

let privateLoads = 0;

/**
 * `built` under a name of this process and load (`live-<pid>-<n>.cjs` beside the cache): a link to
 * a cached build, or the build itself moved there when `temporary`. Files left by processes that
 * are gone are removed on the way.
 */
function privateModuleFile(built: string, temporary: boolean): string {
  const dir = path.join(buildDir(), 'activities');
  fs.mkdirSync(dir, { recursive: true });
  for (const name of fs.readdirSync(dir)) {
    const owner = /^live-(\d+)-\d+\.cjs$/.exec(name);
    if (owner && Number(owner[1]) !== process.pid && !processAlive(Number(owner[1]))) {
      fs.rmSync(path.join(dir, name), { force: true });
    }
  }
  const file = path.join(dir, `live-${process.pid}-${++privateLoads}.cjs`);
  fs.rmSync(file, { force: true });
  if (temporary) {
    fs.renameSync(built, file);
  } else {
    try {
      fs.linkSync(built, file);
    } catch {
      fs.copyFileSync(built, file);
    }
  }
  return file;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Remove a load's compiled modules once nothing will start an activity process on them. */
export function releaseActivityModule(file: string | undefined): void {
  if (file) {
    fs.rmSync(file, { force: true });
  }
}

/** Does workflow.ts compile, and does it export a function named like the workflow? */
async function checkWorkflowSource(def: WorkflowDefinition): Promise<string | undefined> {
  const source = await fs.promises.readFile(def.workflowFile, 'utf8');
  try {
    await esbuildLib().transform(source, { loader: 'ts', sourcefile: def.workflowFile });
  } catch (err) {
    const first = (err as esbuild.TransformFailure).errors?.[0];
    return first ? `line ${first.location?.line ?? '?'}: ${first.text}` : (err as Error).message;
  }
  const exported = new RegExp(
    `export\\s+(async\\s+)?function\\s*\\*?\\s*${def.name}\\b|export\\s+(const|let)\\s+${def.name}\\b`,
  );
  if (!exported.test(source)) {
    return `does not export a workflow function named ${def.name}`;
  }
  return undefined;
}

/** The interceptor source, from the installation (toolboxes outside it get it too). */
export function inputInterceptorModule(): string {
  return path.join(projectRoot(), 'workers', 'inputInterceptor.ts');
}

/** Every file of the toolbox a workflow bundle can include, hashed with the SDK's version. */
function bundleKey(defs: readonly WorkflowDefinition[]): string | undefined {
  const roots = new Set<string>();
  for (const def of defs) {
    // <toolbox>/workflows/<name>/workflow.ts: the whole toolbox (workflows import shared code).
    roots.add(path.dirname(path.dirname(path.dirname(def.workflowFile))));
  }
  // The interceptor imports the installation's own shared definitions.
  roots.add(path.join(projectRoot(), 'toolbox'));
  const hash = crypto.createHash('sha256');
  try {
    const sdk = JSON.parse(
      fs.readFileSync(path.join(projectRoot(), 'node_modules', '@temporalio', 'workflow', 'package.json'), 'utf8'),
    ) as { version: string };
    hash.update(`sdk ${sdk.version}\0names ${defs.map((d) => `${d.name}=${d.workflowFile}`).join(',')}\0`);
    const files = [inputInterceptorModule()];
    const visit = (dir: string) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
        const abs = path.join(dir, entry.name);
        if (entry.isDirectory() && entry.name !== 'node_modules' && !entry.name.startsWith('.')) {
          visit(abs);
        } else if (entry.isFile() && /\.(ts|js|mjs|cjs|json)$/.test(entry.name)) {
          files.push(abs);
        }
      }
    };
    for (const root of [...roots].sort()) {
      visit(root);
    }
    for (const file of files) {
      hash.update(`${file}\0`);
      hash.update(fs.readFileSync(file));
      hash.update('\0');
    }
  } catch {
    // A file that vanished while hashing: bundle afresh.
    return undefined;
  }
  return hash.digest('hex').slice(0, 32);
}

/** Where the bundle of these workflows is cached, and the cached bundle when there is one. */
function cachedBundle(defs: readonly WorkflowDefinition[]): { cached?: string; hit?: WorkflowBundleWithSourceMap } {
  const key = bundleKey(defs);
  if (!key) {
    return {};
  }
  const cached = path.join(cacheDir(), 'bundles', `workflows-${key}.json`);
  try {
    const hit = JSON.parse(fs.readFileSync(cached, 'utf8')) as WorkflowBundleWithSourceMap;
    if (typeof hit.code === 'string' && typeof hit.sourceMap === 'string') {
      return { cached, hit };
    }
  } catch {
    // Not cached yet (or a torn file): build it.
  }
  return { cached };
}

/**
 * The workflow bundle for these workflows: reused from the cache when no file of the toolbox
 * changed (webpack takes seconds and leaves the worker's heap large), else built and cached.
 */
async function bundle(defs: readonly WorkflowDefinition[]): Promise<WorkflowBundleWithSourceMap> {
  const { cached, hit } = cachedBundle(defs);
  if (hit) {
    return hit;
  }
  const built = await bundleNow(defs);
  if (cached) {
    try {
      fs.mkdirSync(path.dirname(cached), { recursive: true });
      const tmp = `${cached}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, JSON.stringify(built));
      fs.renameSync(tmp, cached);
      pruneBundles(path.dirname(cached), path.basename(cached));
    } catch {
      // A cache that cannot be written costs the next start its seconds, nothing else.
    }
  }
  return built;
}

/** Keep the newest few cached builds (each edit of the toolbox makes one): `prefix*.json` (+ its `.cjs`). */
function pruneBundles(dir: string, keep: string, prefix = 'workflows-'): void {
  const entries = fs
    .readdirSync(dir)
    .filter((n) => n.startsWith(prefix) && n.endsWith('.json') && n !== keep)
    .map((n) => ({ n, t: fs.statSync(path.join(dir, n)).mtimeMs }))
    .sort((a, b) => b.t - a.t);
  for (const { n } of entries.slice(8)) {
    fs.rmSync(path.join(dir, n), { force: true });
    fs.rmSync(path.join(dir, n.replace(/\.json$/, '.cjs')), { force: true });
  }
}

async function bundleNow(defs: readonly WorkflowDefinition[]): Promise<WorkflowBundleWithSourceMap> {
  const index = path.join(buildDir(), `workflows-${process.pid}-${crypto.randomBytes(3).toString('hex')}.ts`);
  fs.writeFileSync(
    index,
    defs.map((d) => `export { ${d.name} } from ${JSON.stringify(d.workflowFile.replace(/\.ts$/, ''))};`).join('\n') +
      '\n',
  );
  // The bundler logs what went wrong and throws a generic error: keep the log's first error.
  const errors: string[] = [];
  try {
    return await bundleWorkflowCode({
      workflowsPath: index,
      // Every workflow's input is checked by the worker before the workflow runs (see the module).
      workflowInterceptorModules: [inputInterceptorModule()],
      logger: { ...quietLogger, error: (message: string) => errors.push(message) },
      webpackConfigHook: (config) => {
        // Toolbox folders may live outside this installation; resolve the SDK from ours.
        config.resolve = { ...config.resolve, modules: ['node_modules', path.join(projectRoot(), 'node_modules')] };
        return config;
      },
    });
  } catch (err) {
    // Its error log is webpack's stats: the lines that say what failed.
    const lines = errors
      .join('\n')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => /\berror\b|not found|can't resolve/i.test(l) && !/^webpack (compiled|finished)/i.test(l));
    throw lines.length > 0 ? new Error(lines.slice(0, 3).join('\n')) : err;
  } finally {
    fs.rmSync(index, { force: true });
  }
}

const quietLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => console.warn(message),
  error: (message: string) => console.error(message),
};

export interface BundledWorkflows {
  workflows: WorkflowDefinition[];
  problems: ToolboxProblem[];
  bundle?: WorkflowBundleWithSourceMap;
}

/**
 * Discover, check and bundle the workflows of one or more verticals (one bundle, one activity
 * bundle for all of them); bad folders are reported once and skipped.
 */
export async function loadToolbox(toolboxDir: string, verticals: string | readonly string[]): Promise<LoadedToolbox> {
  try {
    const workflows = await bundleWorkflowsNow(toolboxDir, verticals);
    const problems = [...workflows.problems];
    const { activities, file } = await loadActivityModule(toolboxDir, problems);
    return { ...workflows, problems, activities, activityModule: file };
  } finally {
    // esbuild's service process (about 100 MB) is not needed until the toolbox is loaded again.
    await stopEsbuild();
  }
}

/**
 * The workflow bundle a worker of these verticals runs (with the input interceptor), without the
 * activities: what replay tests check recorded histories against.
 */
export async function bundleToolboxWorkflows(
  toolboxDir: string,
  verticals: string | readonly string[],
): Promise<BundledWorkflows> {
  try {
    return await bundleWorkflowsNow(toolboxDir, verticals);
  } finally {
    await stopEsbuild();
  }
}

async function bundleWorkflowsNow(
  toolboxDir: string,
  verticals: string | readonly string[],
): Promise<BundledWorkflows> {
  // One pass over the toolbox (each metadata schema compiled once), then these verticals.
  const wanted = new Set(typeof verticals === 'string' ? [verticals] : verticals);
  const scan = discoverWorkflows(toolboxDir);
  const problems: ToolboxProblem[] = [...scan.problems];
  const found = scan.workflows.filter((w) => wanted.has(w.vertical));
  if (found.length > 0) {
    // A bundle is cached only once every folder in it passed the checks below, and its key
    // hashes every file of the toolbox: the same folders, unchanged, pass them again.
    const { hit } = cachedBundle(found);
    if (hit) {
      return { workflows: found, problems, bundle: hit };
    }
  }
  const good: WorkflowDefinition[] = [];
  for (const def of found) {
    const problem = await checkWorkflowSource(def);
    if (problem) {
      problems.push({ file: def.workflowFile, message: problem });
    } else {
      good.push(def);
    }
  }
  if (good.length === 0) {
    return { workflows: [], problems };
  }
  const built = bundleProgram ? await bundleInChild(bundleProgram, good) : await bundleOrSkip(good);
  return {
    workflows: built.kept,
    problems: [...problems, ...built.problems],
    ...(built.bundle ? { bundle: built.bundle } : {}),
  };
}

interface BundleOutcome {
  kept: WorkflowDefinition[];
  problems: ToolboxProblem[];
  bundle?: WorkflowBundleWithSourceMap;
}

/** Bundle these workflows; when that fails, find the folders that break it and bundle the rest. */
async function bundleOrSkip(good: WorkflowDefinition[]): Promise<BundleOutcome> {
  try {
    return { kept: good, problems: [], bundle: await bundle(good) };
  } catch {
    // Type errors, bad imports: bundle each folder alone.
    const kept: WorkflowDefinition[] = [];
    const problems: ToolboxProblem[] = [];
    for (const def of good) {
      try {
        await bundle([def]);
        kept.push(def);
      } catch (err) {
        problems.push({
          file: def.workflowFile,
          message: `does not bundle: ${(err as Error).message.split('\n').slice(0, 3).join(' ')}`,
        });
      }
    }
    return { kept, problems, ...(kept.length > 0 ? { bundle: await bundle(kept) } : {}) };
  }
}

/**
 * The program a long-lived worker bundles in (its own `dist/worker.js`), or undefined: in this
 * process. Temporal's bundler (webpack) loads tens of MB of code that a process keeps for its life;
 * a worker host that bundled at start or on a reload stayed about 70 MiB larger all day.
 */
let bundleProgram: string | undefined;

export function bundleInChildProcess(program: string | undefined): void {
  bundleProgram = program;
}

/** `bundleOrSkip` in a child (`<program> --bundle-job <file>`), its outcome read back from a file. */
async function bundleInChild(program: string, good: WorkflowDefinition[]): Promise<BundleOutcome> {
  const job = path.join(buildDir(), `bundle-job-${process.pid}-${crypto.randomBytes(3).toString('hex')}.json`);
  fs.writeFileSync(job, JSON.stringify(good));
  try {
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [program, '--bundle-job', job], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (chunk: string) => {
        stderr = (stderr + chunk).slice(-8000);
      });
      child.on('error', reject);
      child.on('close', (exit) => resolve({ code: exit, stderr }));
    });
    if (code !== 0) {
      throw new Error(`bundling the workflows failed (${program} --bundle-job exited with ${code}): ${stderr.trim()}`);
    }
    const out = JSON.parse(fs.readFileSync(`${job}.out`, 'utf8')) as {
      kept: string[];
      problems: ToolboxProblem[];
      bundle?: WorkflowBundleWithSourceMap;
    };
    const kept = new Set(out.kept);
    return {
      kept: good.filter((d) => kept.has(d.name)),
      problems: out.problems,
      ...(out.bundle ? { bundle: out.bundle } : {}),
    };
  } finally {
    fs.rmSync(job, { force: true });
    fs.rmSync(`${job}.out`, { force: true });
  }
}

/** The child's side of bundleInChild: bundle the job's workflows, write the outcome beside it. */
export async function runBundleJob(job: string): Promise<void> {
  const good = JSON.parse(fs.readFileSync(job, 'utf8')) as WorkflowDefinition[];
  const built = await bundleOrSkip(good);
  const tmp = `${job}.out.tmp`;
  fs.writeFileSync(
    tmp,
    JSON.stringify({ kept: built.kept.map((d) => d.name), problems: built.problems, bundle: built.bundle }),
  );
  fs.renameSync(tmp, `${job}.out`);
}
