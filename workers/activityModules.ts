// The activities of a compiled toolbox bundle (workers/toolboxLoader.ts compiles every
// `toolbox/modules/**.ts` into one file whose `modules` export lists each module's exports). Shared
// by the worker host, which registers their names, and the activity process, which runs them; so
// it imports nothing heavy.

export type ActivityMap = Record<string, (...args: never[]) => Promise<unknown>>;

export interface ModuleProblem {
  file: string;
  field?: string;
  message: string;
}

export interface CompiledModules {
  modules: [string, { activities?: Record<string, unknown> }][];
}

/** Each module's `activities`, keyed by name; a name defined twice keeps its first definition. */
export function activitiesOf(compiled: CompiledModules, problems: ModuleProblem[]): ActivityMap {
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
        activities[name] = fn as ActivityMap[string];
      }
    }
  }
  return activities;
}
