import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import * as esbuild from 'esbuild';
import { discoverWorkflows, type ToolboxProblem, type WorkflowDefinition } from '../backend/toolbox/discovery';
import { projectRoot } from '../backend/paths';

export type ActivityMap = Record<string, (...args: never[]) => Promise<unknown>>;

export interface LoadedToolbox {
  workflows: WorkflowDefinition[];
  problems: ToolboxProblem[];
  bundle?: WorkflowBundleWithSourceMap;
  activities: ActivityMap;
}

/** Build output lives inside our node_modules so that external packages resolve from it. */
function buildDir(): string {
  const dir = path.join(projectRoot(), 'node_modules', '.cache', 'fuzzforge');
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
async function compileModules(files: readonly string[], modulesDir: string, outfile: string): Promise<void> {
  const entry =
    files.map((f, i) => `import * as m${i} from ${JSON.stringify(f)};`).join('\n') +
    `\nexport const modules = [${files.map((f, i) => `[${JSON.stringify(f)}, m${i}]`).join(', ')}];\n`;
  await esbuild.build({
    stdin: { contents: entry, resolveDir: modulesDir, sourcefile: 'toolbox-activities.ts', loader: 'ts' },
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    outfile,
    sourcemap: 'inline',
    // One copy of the SDK per process: activity context lives in @temporalio/activity's module state.
    external: ['@temporalio/*', 'esbuild', '@swc/*', 'cpu-features', 'ssh2'],
    nodePaths: [path.join(projectRoot(), 'node_modules')],
    logLevel: 'silent',
  });
}

/**
 * Compile every `toolbox/modules/**.ts` at start-up into ONE bundle (so modules share one storage
 * client and one target cache) and collect the `activities` object each exports. Nothing is
 * pre-built, so editing or adding a module needs only a worker restart. A module that does not
 * compile is reported and left out; the others still load.
 */
export async function loadActivities(toolboxDir: string, problems: ToolboxProblem[]): Promise<ActivityMap> {
  const modulesDir = path.join(toolboxDir, 'modules');
  let files = fs.existsSync(modulesDir) ? listModuleFiles(modulesDir) : [];
  const outfile = path.join(buildDir(), `activities-${process.pid}-${crypto.randomBytes(3).toString('hex')}.cjs`);
  try {
    await compileModules(files, modulesDir, outfile);
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
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loading code compiled at run time
  const compiled = require(outfile) as { modules: [string, { activities?: ActivityMap }][] };
  fs.rmSync(outfile, { force: true });
  const activities: ActivityMap = {};
  const owner = new Map<string, string>();
  for (const [file, mod] of compiled.modules) {
    for (const [name, fn] of Object.entries(mod.activities ?? {})) {
      if (typeof fn !== 'function') {
        problems.push({ file, field: `activities.${name}`, message: 'is not a function' });
      } else if (owner.has(name)) {
        problems.push({
          file,
          field: `activities.${name}`,
          message: `is also defined in ${owner.get(name)}; kept that one`,
        });
      } else {
        owner.set(name, file);
        activities[name] = fn;
      }
    }
  }
  return activities;
}

/** Does workflow.ts compile, and does it export a function named like the workflow? */
async function checkWorkflowSource(def: WorkflowDefinition): Promise<string | undefined> {
  const source = await fs.promises.readFile(def.workflowFile, 'utf8');
  try {
    await esbuild.transform(source, { loader: 'ts', sourcefile: def.workflowFile });
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

async function bundle(defs: readonly WorkflowDefinition[]): Promise<WorkflowBundleWithSourceMap> {
  const index = path.join(buildDir(), `workflows-${process.pid}-${crypto.randomBytes(3).toString('hex')}.ts`);
  fs.writeFileSync(
    index,
    defs.map((d) => `export { ${d.name} } from ${JSON.stringify(d.workflowFile.replace(/\.ts$/, ''))};`).join('\n') +
      '\n',
  );
  try {
    return await bundleWorkflowCode({
      workflowsPath: index,
      // Every workflow's input is checked by the worker before the workflow runs (see the module).
      workflowInterceptorModules: [inputInterceptorModule()],
      logger: quietLogger,
      webpackConfigHook: (config) => {
        // Toolbox folders may live outside this installation; resolve the SDK from ours.
        config.resolve = { ...config.resolve, modules: ['node_modules', path.join(projectRoot(), 'node_modules')] };
        return config;
      },
    });
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

/** Discover, check and bundle the workflows of one vertical; bad folders are reported and skipped. */
export async function loadToolbox(toolboxDir: string, vertical: string): Promise<LoadedToolbox> {
  const scan = discoverWorkflows(toolboxDir, { vertical });
  const problems = [...scan.problems];
  const good: WorkflowDefinition[] = [];
  for (const def of scan.workflows) {
    const problem = await checkWorkflowSource(def);
    if (problem) {
      problems.push({ file: def.workflowFile, message: problem });
    } else {
      good.push(def);
    }
  }
  const activities = await loadActivities(toolboxDir, problems);
  if (good.length === 0) {
    return { workflows: [], problems, activities };
  }
  try {
    return { workflows: good, problems, activities, bundle: await bundle(good) };
  } catch {
    // Find the folders that break the bundle (type errors, bad imports) and load the rest.
    const kept: WorkflowDefinition[] = [];
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
    return { workflows: kept, problems, activities, ...(kept.length > 0 ? { bundle: await bundle(kept) } : {}) };
  }
}
