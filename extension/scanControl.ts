// Scans this window starts or re-attaches to: progress, supersession (a new run of a workflow
// cancels the previous one), findings shown as diagnostics, failures explained in the log.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { describeError, UserError } from '../backend/errors';
import { stateDir } from '../backend/paths';
import { awaitScan, describeLeftOut, startScan } from '../backend/scan';
import type { SarifLog } from '../backend/sarif/types';
import { runningCompose, workerService } from '../backend/services/compose';
import { runningEmbedded } from '../backend/services/embedded';
import { workerLogName } from '../backend/services/state';
import { RunFailedError, type RunInfo, type RunService } from '../backend/temporal/runs';
import type { WorkflowDefinition } from '../backend/toolbox/discovery';
import type { BackendControl } from './backendControl';
import type { BackendSession } from './backendSession';
import type { ErrorReporter } from './errorReporter';
import { Cancelled } from './errors';
import type { FindingsStore } from './findings';
import { steadyProgress } from './progress';
import type { RunEntry, RunsModel } from './runs';

/** The last run that finished in this window: what Export SARIF writes. */
export interface LastRun {
  runId: string;
  workflow: string;
  log: SarifLog;
}

export interface ScanControlDeps {
  log: vscode.LogOutputChannel;
  reporter: ErrorReporter;
  findings: FindingsStore;
  runs: RunsModel;
  session: BackendSession;
  backend: BackendControl;
  config: () => vscode.WorkspaceConfiguration;
}

/** How a scan runs besides its parameters. */
export interface ScanOptions {
  /** Status bar progress only (run on save, campaigns that show their own panel). */
  silent?: boolean;
  /**
   * Which earlier run of this window the new one supersedes (cancels): by default the one of the
   * same workflow; a campaign on one harness supersedes only the previous one on that harness.
   */
  supersedes?: string;
  /** Called once the run is queued, before its results are awaited. */
  onStarted?: (run: RunInfo) => void;
  /**
   * How long the run waits after its results are stored before matching them against the
   * baseline, for scans a later one often supersedes (run on save): one cancelled in the pause
   * never matches.
   */
  matchAfterMs?: number;
}

export class ScanControl {
  /** The running scans this window started, by workflow (or harness): a new one supersedes (cancels) the old. */
  private readonly running = new Map<string, { runId: string; cancel: () => Promise<void> }>();
  /**
   * The latest scan asked for, by workflow (or harness): requests are numbered as they come, so a
   * scan whose upload ends after a later one's started is superseded too, not the later one.
   */
  private readonly latestRequest = new Map<string, number>();
  /** Per `supersedes`, the request number of the latest scan whose run has started. */
  private readonly latestStarted = new Map<string, number>();
  private requests = 0;
  private _lastRun: LastRun | undefined;
  /** Per `supersedes`, when a run last showed results (its first, unmarked ones included). */
  private readonly shownAt = new Map<string, number>();

  constructor(private readonly deps: ScanControlDeps) {}

  get lastRun(): LastRun | undefined {
    return this._lastRun;
  }

  /** Milliseconds since a run of `supersedes` (by default a workflow's name) last showed results. */
  sinceResultsShown(supersedes: string): number {
    const at = this.shownAt.get(supersedes);
    return at === undefined ? Number.POSITIVE_INFINITY : Date.now() - at;
  }

  /** One scan with progress; `silent` for run-on-save (status bar only). */
  async scan(
    folder: vscode.Uri,
    workflow: WorkflowDefinition,
    params: Record<string, unknown>,
    options: ScanOptions = {},
  ): Promise<{ runId: string; findings: number }> {
    const { silent = false, supersedes = workflow.name } = options;
    const { log, findings, config } = this.deps;
    const runsModel = this.deps.runs;
    if (!vscode.workspace.isTrusted) {
      throw new UserError('FuzzForge scans only run in trusted workspaces', 'trust this workspace to scan it');
    }
    const request = ++this.requests;
    this.latestRequest.set(supersedes, request);
    const { conn, runs } = await this.deps.backend.connect();
    // Settings that stand for workflow parameters, where the workflow has them and the caller
    // did not set them.
    const withSettings = { ...params };
    for (const [setting, name] of [
      ['includeVendored', 'include_vendored'],
      ['reportTestsAndDocs', 'report_tests_and_docs'],
    ] as const) {
      if (
        name in workflow.parameters.properties &&
        withSettings[name] === undefined &&
        config().get<boolean>(setting)
      ) {
        withSettings[name] = true;
      }
    }
    const work = async (shown: vscode.Progress<{ message?: string }>, token: vscode.CancellationToken) => {
      const t0 = Date.now();
      const progress = steadyProgress(shown);
      progress.report({ message: 'packing and uploading' });
      const excludes = config().get<string[]>('exclude') ?? [];
      const { run, upload } = await startScan(conn, runs, {
        path: folder.fsPath,
        workflow,
        params: withSettings,
        excludes,
        ...(options.matchAfterMs ? { matchAfterMs: options.matchAfterMs } : {}),
        onUploadProgress: (p) =>
          progress.report({ message: `${p.phase} ${p.files}${p.totalFiles ? `/${p.totalFiles}` : ''} files` }),
        onNotice: (line) => log.warn(line),
      });
      const t1 = Date.now();
      log.info(`run ${run.runId} started (${upload.uploadedObjects} objects uploaded, ${t1 - t0} ms)`);
      for (const w of upload.warnings) {
        log.warn(w);
      }
      if (this.latestRequest.get(supersedes) !== request) {
        // A later scan was asked for while this one packed and uploaded: its results would
        // replace the later scan's markers with older ones.
        log.info(`run ${run.runId} was superseded by a later scan of ${supersedes} before it started`);
        await runs.cancel(run.runId).catch(() => undefined);
        throw new Cancelled();
      }
      // Not waited for: this run's first results do not depend on it, and should the previous run
      // still end completed, `superseded` keeps its results from replacing these.
      void this.running.get(supersedes)?.cancel();
      // Past the check above this is the latest scan asked for, so no started one is later.
      this.latestStarted.set(supersedes, request);
      // A run of a later scan of the same workflow has started: its results, not this one's, show.
      const superseded = () => (this.latestStarted.get(supersedes) ?? 0) > request;
      this.running.set(supersedes, {
        runId: run.runId,
        cancel: async () => {
          await runs.cancel(run.runId).catch(() => undefined);
        },
      });
      runsModel.track(run, vscode.workspace.getWorkspaceFolder(folder));
      options.onStarted?.(run);
      const cancel = token.onCancellationRequested(() => {
        void runs.cancel(run.runId).catch((err: unknown) => log.error(`cancel ${run.runId}: ${describeError(err)}`));
      });
      try {
        progress.report({ message: 'queued' });
        let earlyAt: number | undefined;
        const { summary, sarif } = await awaitScan(
          conn,
          runs,
          run.runId,
          (p) => progress.report({ message: p.phase }),
          // The results as soon as they are stored; their new/unchanged marks when matching ends.
          (early) => {
            if (!superseded()) {
              earlyAt = Date.now();
              this.shownAt.set(supersedes, earlyAt);
              const shown = findings.show(workflow.name, run.runId, early, folder.fsPath);
              log.info(
                `run ${run.runId}: ${shown} finding(s) shown ${earlyAt - t1} ms after it started, before baseline matching`,
              );
            }
          },
        );
        if (superseded()) {
          // It ended before the later scan's cancel reached it: its results are older than that scan's.
          log.info(`run ${run.runId} ended after a later run of ${supersedes} started: its results are not shown`);
          throw new Cancelled();
        }
        for (const tool of summary.tools.filter((t) => t.error)) {
          log.warn(`${tool.name}: ${tool.error ?? ''}`);
        }
        if (summary.baseline?.error) {
          // Results still show, but none can be told new from existing: say so once per cause.
          void this.deps.reporter.report(
            new UserError(
              `results could not be compared with the previous run: ${summary.baseline.error}`,
              'results are shown without new/unchanged marks',
            ),
            `baseline of run ${run.runId} (previous run ${summary.baseline.runId})`,
            { once: 'baseline' },
          );
        }
        const leftOut = describeLeftOut(summary.leftOut, (param) =>
          param === 'include_vendored'
            ? 'the setting fuzzforge.includeVendored'
            : 'the setting fuzzforge.reportTestsAndDocs',
        );
        if (leftOut) {
          log.info(`run ${run.runId}: ${leftOut}`);
        }
        this._lastRun = { runId: run.runId, workflow: workflow.name, log: sarif };
        const t2 = Date.now();
        const shown = findings.show(workflow.name, run.runId, sarif, folder.fsPath);
        this.shownAt.set(supersedes, Date.now());
        log.info(
          `run ${run.runId}: ${shown} finding(s) shown; pack and upload ${t1 - t0} ms, run and SARIF ${t2 - t1} ms` +
            `${earlyAt ? ` (first markers after ${earlyAt - t1} ms, before baseline matching)` : ''}, markers ${Date.now() - t2} ms`,
        );
        return { runId: run.runId, findings: shown };
      } catch (err) {
        if (err instanceof RunFailedError) {
          // Stopped on purpose (Stop Run, a superseding save, the CLI): not an error, and no
          // worker log to look at.
          if (err.status === 'canceled') {
            log.info(`run ${run.runId} was cancelled`);
            throw new Cancelled();
          }
          await this.logRunFailure(runs, run.runId, run.taskQueue);
        }
        throw err;
      } finally {
        cancel.dispose();
        if (this.running.get(supersedes)?.runId === run.runId) {
          this.running.delete(supersedes);
        }
        runsModel.untrack(run.runId);
      }
    };
    return silent
      ? await vscode.window.withProgress(
          { location: vscode.ProgressLocation.Window, title: `FuzzForge ${workflow.name}` },
          (p) => work(p, new vscode.CancellationTokenSource().token),
        )
      : await vscode.window.withProgress(
          { location: vscode.ProgressLocation.Notification, title: `FuzzForge: ${workflow.name}`, cancellable: true },
          work,
        );
  }

  /** A palette or Re-run scan: progress, then a notification with the count. */
  async scanAndReport(folder: vscode.Uri, wf: WorkflowDefinition, params: Record<string, unknown>): Promise<void> {
    const { runId, findings: count } = await this.scan(folder, wf, params);
    void vscode.window
      .showInformationMessage(`FuzzForge ${wf.name}: ${count} finding(s) (run ${runId}).`, 'Show Problems')
      .then((choice) => (choice ? vscode.commands.executeCommand('workbench.actions.view.problems') : undefined));
  }

  /** Wait for a run this window did not start (it was running when the editor started). */
  reattach(run: RunEntry, folder: vscode.WorkspaceFolder): void {
    const { log, findings, reporter, session } = this.deps;
    const runsModel = this.deps.runs;
    void (async () => {
      log.info(`run ${run.runId} (${run.workflow}) was running when the editor started: waiting for its results`);
      runsModel.track(run, folder);
      try {
        const { conn, runs } = await session.connect();
        try {
          const { sarif } = await awaitScan(conn, runs, run.runId);
          this._lastRun = { runId: run.runId, workflow: run.workflow, log: sarif };
          const shown = findings.show(run.workflow, run.runId, sarif, folder.uri.fsPath);
          log.info(`re-attached run ${run.runId}: ${shown} finding(s)`);
        } catch (err) {
          if (err instanceof RunFailedError) {
            if (err.status === 'canceled') {
              throw new Cancelled();
            }
            await this.logRunFailure(runs, run.runId, run.taskQueue);
          }
          throw err;
        }
      } catch (err) {
        await reporter.report(err, `re-attached run ${run.runId}`, { once: run.runId });
      } finally {
        runsModel.untrack(run.runId);
      }
    })();
  }

  /** Log what explains a failed run: its pending activities' failures and where the worker logs are. */
  private async logRunFailure(runs: RunService, runId: string, taskQueue: string | undefined): Promise<void> {
    const { log } = this.deps;
    const info = await runs.describe(runId).catch(() => undefined);
    for (const a of info?.pendingActivities ?? []) {
      log.error(`  ${a.type} (attempt ${a.attempt}): ${a.lastFailure ?? 'no failure recorded'}`);
    }
    const state = runningEmbedded(stateDir());
    const vertical = taskQueue?.replace(/^fuzzforge-/, '');
    const worker = state?.workers.find((w) => w.vertical === vertical);
    if (state && vertical) {
      log.error(
        `  worker log: ${path.join(state.logsDir, `${worker ? workerLogName(worker) : `worker-${vertical}`}.log`)}`,
      );
    } else if (vertical && runningCompose(stateDir())) {
      log.error(
        `  worker log: Show Logs on ${vertical} in the Backend view, or \`fuzzforge logs ${workerService(vertical)}\``,
      );
    }
  }
}
