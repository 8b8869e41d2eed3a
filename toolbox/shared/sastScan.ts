// The body every static-analysis workflow runs: report progress, run the chosen tools' activities
// in parallel, merge their SARIF parts into one log (suppressions and baseline included), done.
// A workflow declares only its parameters and which tool maps to which activity call.
// Deterministic workflow code: no Node built-ins, no I/O.
import {
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  type ActivityInterfaceFor,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { InventorySummary } from '../modules/inventory/files';
import type { activities as sarifActivities, SarifPart } from '../modules/reporters/sarif';
import {
  fileContext,
  type FileContextParams,
  progressQuery,
  type RunProgress,
  type ScanSummary,
  type TargetRef,
  type WorkflowInput,
} from './definitions';

/**
 * One policy for every activity of a static scan, tools and merge alike. 30 minutes: the tool
 * activities bound their processes to 25 (TOOL_BUDGET_MS in modules/sast/common.ts) and report a
 * time-out as a notification. Three attempts: a tool that fails is already reported as a
 * notification by its activity, so a retry only helps with transient storage or worker trouble;
 * an unsafe target fails the same way every time. A worker cut off the network past the heartbeat
 * timeout can cost two: Temporal hands the retry to a poll the worker opened before the cut (it
 * looks alive behind a proxy until it expires) and that attempt times out too. (Replay matches
 * scheduled activities by id and type only, so runs begun under other values still replay.)
 */
const SCAN_ACTIVITY_OPTIONS = {
  startToCloseTimeout: '30m',
  heartbeatTimeout: '1m',
  retry: { maximumAttempts: 3, nonRetryableErrorTypes: ['UnsafeTarget'] },
} satisfies ActivityOptions;

/** The activities `A` (the `activities` types of some modules) under the scan policy. */
export function scanActivities<A>(): ActivityInterfaceFor<A> {
  return proxyActivities<A>(SCAN_ACTIVITY_OPTIONS);
}

const { mergeSarif, matchBaseline } = scanActivities<typeof sarifActivities>();

/**
 * Baseline matching as a local activity: run by the worker that runs the workflow task, beside its
 * activity slots rather than in one. The results are already shown when it starts, so it is
 * bookkeeping (at a low CPU priority, see modules/reporters/baseline.ts); as an activity it held one
 * of the worker's slots, and the next save's run, arriving while it still matched, waited for that
 * slot (one of two on a two-core machine) before its tools could start.
 */
const { matchBaseline: matchBaselineLocally } = proxyLocalActivities<typeof sarifActivities>({
  startToCloseTimeout: SCAN_ACTIVITY_OPTIONS.startToCloseTimeout,
  retry: SCAN_ACTIVITY_OPTIONS.retry,
});

/** What every tool activity of a scan takes besides its own options. */
export interface ScanBase {
  runId: string;
  target: TargetRef;
  /** file:// URI of the workspace root on the client (SRCROOT). */
  rootUri: string;
  exclude: string[];
}

/** Tool name → the call of its activity; run in this order (the order recorded histories hold). */
export type ScanTools<T extends string> = Record<T, (base: ScanBase) => Promise<SarifPart>>;

export interface ScanOptions<T extends string> {
  /** The tools this run uses (from the parameters); default all. Order does not matter. */
  chosen?: readonly T[];
  /** A file inventory taken alongside the tools (scheduled first), reported in the summary. */
  inventory?: (base: ScanBase) => Promise<InventorySummary>;
  /** Between the tools and the merge: the parts to merge, from each chosen tool's part. */
  combine?: (parts: Partial<Record<T, SarifPart>>) => Promise<SarifPart[]>;
}

/** Run the chosen tools of `workflow` in parallel over the input's target, then one merged SARIF log. */
export async function sastScan<T extends string>(
  workflow: string,
  input: WorkflowInput<{ exclude: string[] } & FileContextParams>,
  tools: ScanTools<T>,
  options: ScanOptions<T> = {},
): Promise<ScanSummary> {
  const chosen = (Object.keys(tools) as T[]).filter((tool) => !options.chosen || options.chosen.includes(tool));
  let progress: RunProgress = { phase: 'analyzing', detail: chosen.join(', '), fraction: 0.1 };
  setHandler(progressQuery, () => progress);
  const base: ScanBase = {
    runId: input.runId,
    target: input.target,
    rootUri: input.workspace.rootUri,
    exclude: input.params.exclude,
  };
  // Scheduled in this order: the inventory, then the tools in their declaration order.
  const taking = options.inventory?.(base);
  const running = chosen.map((tool) => tools[tool](base));
  const [inventory, results] = await Promise.all([taking, Promise.all(running)]);
  progress = { phase: 'reporting', fraction: 0.9 };
  // Only the part itself goes on to the merge, not the tools' counts.
  const toolParts = results.map((p): SarifPart => ({ tool: p.tool, key: p.key }));
  let parts = toolParts;
  if (options.combine) {
    const byTool: Partial<Record<T, SarifPart>> = {};
    chosen.forEach((tool, i) => {
      byTool[tool] = toolParts[i];
    });
    parts = await options.combine(byTool);
  }
  // Runs begun before the split matched the baseline inside the merge; replay keeps them so.
  const matchAfterMerge = input.baseline !== undefined && patched('baseline-after-merge');
  const summary = await mergeSarif({
    runId: input.runId,
    workflow,
    parts,
    ...(inventory ? { inventory } : {}),
    // Inline `fuzzforge-ignore[...]` comments and .fuzzforge/ignore.
    target: input.target,
    // The baseline's new/unchanged marks: in the merge, or after it once the results are stored
    // so a client can show them without waiting for the matching.
    baseline: matchAfterMerge ? undefined : input.baseline,
    // Vendored code left out, tests and docs quieter, unless the parameters ask otherwise.
    context: fileContext(input.params),
  });
  if (matchAfterMerge && input.baseline) {
    progress = { phase: 'matching baseline', fraction: 0.95, sarifKey: summary.sarifKey };
    // The pause a client that supersedes its runs asked for: cancelled in it, the run ends here
    // (its results stored, unmarked) and never starts the matching. Runs begun before the pause
    // existed replay without its timer.
    const pause = input.baseline.matchAfterMs ?? 0;
    if (pause > 0 && patched('baseline-pause')) {
      await sleep(pause);
    }
    // Runs begun while matching was a (slot-holding) activity replay with it.
    const match = patched('baseline-local-activity') ? matchBaselineLocally : matchBaseline;
    summary.baseline = await match({ runId: input.runId, sarifKey: summary.sarifKey, baseline: input.baseline });
  }
  progress = { phase: 'done', fraction: 1 };
  return summary;
}
