// Planning a full scan: which workflows fit the target's languages, which of their verticals have
// a worker right now, and each child's complete parameters (defaults filled in).
import { toolboxDir } from '../../../backend/paths';
import { connectionFromEnv } from '../../../backend/services/connection';
import { connectTemporal } from '../../../backend/temporal/connect';
import { discoverWorkflows, type WorkflowDefinition } from '../../../backend/toolbox/discovery';
import { validateParams } from '../../../backend/toolbox/params';
import { availableVerticals } from '../../../backend/toolbox/verticals';
import { languageOf } from '../analyzers/patterns';
import { checkpoint, withTarget } from '../runtime';
import { taskQueueFor, type TargetRef } from '../../shared/definitions';
import { classifyTarget, LEFT_OUT_KINDS } from '../inventory/fileKinds';

/** Workflows every full scan runs, and the ones a language brings in. */
export const ALWAYS = ['security_assessment', 'secret_detection'] as const;
export const BY_LANGUAGE: Record<string, string> = {
  python: 'python_sast',
  javascript: 'js_sast',
  typescript: 'js_sast',
  go: 'go_sast',
  c: 'cpp_sast',
};

export interface PlannedChild {
  workflow: string;
  vertical: string;
  taskQueue: string;
  params: Record<string, unknown>;
}

export interface FullScanPlan {
  languages: Record<string, number>;
  children: PlannedChild[];
  /** Applicable workflows that cannot run now, with the reason. */
  skipped: { workflow: string; vertical?: string; reason: string }[];
}

/** Which workflows a set of languages calls for (pure; order: always-run first, then by name). */
export function applicableWorkflows(languages: Iterable<string>, only: readonly string[] = []): string[] {
  const wanted = new Set<string>(ALWAYS);
  for (const lang of languages) {
    const wf = BY_LANGUAGE[lang];
    if (wf) {
      wanted.add(wf);
    }
  }
  const list = [
    ...ALWAYS.filter((w) => wanted.has(w)),
    ...[...wanted].filter((w) => !(ALWAYS as readonly string[]).includes(w)).sort(),
  ];
  return only.length > 0 ? list.filter((w) => only.includes(w)) : list;
}

async function pollerCounts(verticals: readonly string[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const conn = connectionFromEnv(process.env);
  if (!conn) {
    return counts;
  }
  const connection = await connectTemporal(conn.temporal);
  try {
    for (const vertical of verticals) {
      const res = await connection.workflowService.describeTaskQueue({
        namespace: conn.temporal.namespace,
        taskQueue: { name: taskQueueFor(vertical) },
        taskQueueType: 1,
      });
      counts.set(vertical, res.pollers?.length ?? 0);
    }
  } finally {
    await connection.close();
  }
  return counts;
}

async function planFullScan(input: {
  target: TargetRef;
  exclude: string[];
  workflows: string[];
  /** Passed to every child that takes them; vendored code then also counts for the languages. */
  include_vendored?: boolean;
  report_tests_and_docs?: boolean;
}): Promise<FullScanPlan> {
  const languages: Record<string, number> = {};
  await withTarget(input.target, async (dir) => {
    checkpoint({ phase: 'detecting languages' });
    // A bundled jQuery does not make a Python app a JavaScript project: left-out files do not
    // choose the children unless the run includes them.
    const { kinds } = await classifyTarget(dir, input.exclude);
    for (const [rel, cls] of kinds) {
      const lang = languageOf(rel);
      if (lang && (input.include_vendored || !LEFT_OUT_KINDS.has(cls.kind))) {
        languages[lang] = (languages[lang] ?? 0) + 1;
      }
    }
  });
  const toolbox = toolboxDir();
  const defs = new Map<string, WorkflowDefinition>(discoverWorkflows(toolbox).workflows.map((w) => [w.name, w]));
  const wanted = applicableWorkflows(Object.keys(languages), input.workflows);
  const verticals = [...new Set(wanted.map((w) => defs.get(w)?.vertical).filter((v): v is string => Boolean(v)))];
  const pollers = await pollerCounts(verticals);
  const why = new Map(availableVerticals(toolbox).map((v) => [v.vertical, v.reason]));
  const plan: FullScanPlan = { languages, children: [], skipped: [] };
  for (const name of wanted) {
    const def = defs.get(name);
    if (!def) {
      plan.skipped.push({ workflow: name, reason: `the toolbox has no ${name} workflow` });
      continue;
    }
    if ((pollers.get(def.vertical) ?? 0) === 0) {
      const reason = why.get(def.vertical);
      plan.skipped.push({
        workflow: name,
        vertical: def.vertical,
        reason: `no ${def.vertical} worker is running${reason ? ` (${reason})` : ''}; see \`fuzzforge status\``,
      });
      continue;
    }
    const passed: Record<string, unknown> = {
      exclude: input.exclude,
      include_vendored: input.include_vendored,
      report_tests_and_docs: input.report_tests_and_docs,
    };
    const params = Object.fromEntries(
      Object.entries(passed).filter(([name, value]) => value !== undefined && name in def.parameters.properties),
    );
    plan.children.push({
      workflow: name,
      vertical: def.vertical,
      taskQueue: taskQueueFor(def.vertical),
      params: validateParams(def, params),
    });
  }
  return plan;
}

export const activities = { planFullScan };
