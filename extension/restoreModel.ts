// Which finished runs' findings come back when the editor starts: for each workflow, its newest
// run that completed before this window started, unless this window shows that workflow already.
// Pure (no vscode) so the choice is unit-tested; findingsRestore.ts fetches and shows them.
import type { RunInfo } from '../backend/temporal/runs';

/**
 * The runs whose findings to restore: per workflow, the newest completed one that closed before
 * `startedAt`. Findings are shown one run per workflow (a run replaces its workflow's markers),
 * so in a multi-root window the newest run of a workflow wins, whichever folder it scanned.
 */
export function runsToRestore<T extends Pick<RunInfo, 'runId' | 'workflow' | 'status' | 'startTime' | 'closeTime'>>(
  runs: readonly T[],
  startedAt: Date,
  shownWorkflows: ReadonlySet<string>,
): T[] {
  const newest = new Map<string, T>();
  const closed = (r: T) => (r.closeTime ?? r.startTime)?.getTime() ?? 0;
  for (const r of runs) {
    if (r.status !== 'completed' || shownWorkflows.has(r.workflow) || closed(r) >= startedAt.getTime()) {
      continue;
    }
    const seen = newest.get(r.workflow);
    if (!seen || closed(r) > closed(seen)) {
      newest.set(r.workflow, r);
    }
  }
  return [...newest.values()];
}
