// Findings of runs that finished before the editor started come back as markers and in the
// Findings view, without a new scan: once the Runs listing finds the backend up (it is never
// started for this), the newest completed run of each workflow has its SARIF fetched and shown,
// without "(new)" marks (they were news to an earlier session).
import type * as vscode from 'vscode';
import { fetchSarif } from '../backend/scan';
import type { BackendSession } from './backendSession';
import type { FindingsStore } from './findings';
import { runsToRestore } from './restoreModel';
import type { RunsModel } from './runs';

export interface FindingsRestoreDeps {
  runs: RunsModel;
  session: BackendSession;
  findings: FindingsStore;
  log: vscode.LogOutputChannel;
  startedAt: Date;
}

export function activateFindingsRestore(disposables: vscode.Disposable[], deps: FindingsRestoreDeps): void {
  const { runs, session, findings, log, startedAt } = deps;
  let done = false;
  const listener = runs.onDidChangeRuns(() => {
    if (done || runs.backend !== 'up') {
      return;
    }
    done = true;
    listener.dispose();
    void restore().catch((err: unknown) => log.warn(`restoring earlier findings: ${(err as Error).message}`));
  });
  disposables.push(listener);

  const restore = async () => {
    const connected = await session.tryConnect();
    if (!connected) {
      return;
    }
    const picked = runsToRestore(
      runs.runs.filter((r) => r.folder),
      startedAt,
      new Set(findings.shownWorkflows()),
    );
    await Promise.all(
      picked.map(async (run) => {
        const root = run.folder?.uri.fsPath;
        try {
          const summary = run.summary ?? (await connected.runs.result(run.runId));
          const sarif = await fetchSarif(connected.conn, summary);
          // A scan of this window may have finished meanwhile: its findings are newer.
          if (!root || findings.shownWorkflows().includes(run.workflow)) {
            return;
          }
          const shown = findings.show(run.workflow, run.runId, sarif, root, { restored: true });
          log.info(`restored ${shown} finding(s) of ${run.workflow} from run ${run.runId}`);
        } catch (err) {
          log.warn(`findings of run ${run.runId} not restored: ${(err as Error).message}`);
        }
      }),
    );
  };
}
