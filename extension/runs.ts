// The runs of this workspace as the editor knows them: listed from Temporal (by the workspace's
// search attribute), plus the runs this window started. Finished runs get their summary (finding
// counts) or failure reason once; the list is polled only while something runs. Runs that were
// already running when the editor started are handed to `reattach` once, so their results still
// become diagnostics.
import * as vscode from 'vscode';
import { isTerminal, type RunInfo } from '../backend/temporal/runs';
import { workspaceIdentity } from '../backend/workspace';
import type { ScanSummary } from '../toolbox/shared/definitions';
import type { BackendSession } from './backendSession';
import { runFailureReason } from './errors';

export interface RunEntry extends RunInfo {
  summary?: ScanSummary;
  failure?: string;
  folder?: vscode.WorkspaceFolder;
}

export type BackendState = 'unknown' | 'down' | 'up';

/** Runs listed per workspace folder; the view shows the newest. */
const LIST_LIMIT = 30;
const POLL_MS = 2000;

export class RunsModel implements vscode.Disposable {
  private entries: RunEntry[] = [];
  private _backend: BackendState = 'unknown';
  private readonly summaries = new Map<string, ScanSummary>();
  private readonly failures = new Map<string, string>();
  /** Runs this window waits for (started here or re-attached), by run id. */
  private readonly tracked = new Map<string, RunEntry>();
  private readonly reattached = new Set<string>();
  private readonly identities = new Map<string, string>();
  private pollTimer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private again = false;
  private disposed = false;
  private readonly _onDidChangeRuns = new vscode.EventEmitter<void>();
  readonly onDidChangeRuns = this._onDidChangeRuns.event;

  constructor(
    private readonly session: BackendSession,
    private readonly deps: {
      log: vscode.LogOutputChannel;
      /** Called once per run that was running before `startedAt`, in a workspace folder. */
      reattach: (run: RunEntry, folder: vscode.WorkspaceFolder) => void;
      /** A listing error (not "backend down"): shown once. */
      onError: (err: unknown) => void;
      startedAt: Date;
    },
  ) {}

  get runs(): readonly RunEntry[] {
    return this.entries;
  }

  get backend(): BackendState {
    return this._backend;
  }

  /** Runs this window is waiting for. */
  get inProgress(): number {
    return this.tracked.size;
  }

  find(runId: string): RunEntry | undefined {
    return this.entries.find((r) => r.runId === runId) ?? this.tracked.get(runId);
  }

  /** A run this window waits for: shown at once, before the next listing has it. */
  track(run: RunInfo, folder: vscode.WorkspaceFolder | undefined): void {
    const entry: RunEntry = { ...run, folder };
    this.tracked.set(run.runId, entry);
    this.entries = [entry, ...this.entries.filter((r) => r.runId !== run.runId)];
    this._onDidChangeRuns.fire();
    this.schedulePoll();
  }

  untrack(runId: string): void {
    this.tracked.delete(runId);
    void this.refresh();
  }

  /** Re-list the runs (coalesced: a refresh asked for during one runs once after it). */
  refresh(): Promise<void> {
    if (this.refreshing) {
      this.again = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      try {
        do {
          this.again = false;
          await this.load();
        } while (this.again && !this.disposed);
      } finally {
        this.refreshing = undefined;
        this.schedulePoll();
      }
    })();
    return this.refreshing;
  }

  private async load(): Promise<void> {
    let connected;
    try {
      connected = await this.session.tryConnect();
    } catch (err) {
      this.deps.onError(err);
      return;
    }
    if (!connected) {
      this.setBackend('down');
      this.entries = [...this.tracked.values()];
      this._onDidChangeRuns.fire();
      return;
    }
    const { runs } = connected;
    const folders = vscode.workspace.workspaceFolders ?? [];
    let listed: RunEntry[];
    try {
      const perFolder = await Promise.all(
        folders.map(async (folder) =>
          (await runs.list({ workspaceId: this.identity(folder), limit: LIST_LIMIT })).map((run): RunEntry => ({
            ...run,
            folder,
          })),
        ),
      );
      listed = perFolder.flat();
    } catch (err) {
      this.deps.onError(err);
      return;
    }
    this.setBackend('up');
    // Finished runs never change: fetch each one's summary or failure once.
    await Promise.all(
      listed
        .filter((r) => isTerminal(r.status) && !this.summaries.has(r.runId) && !this.failures.has(r.runId))
        .map(async (r) => {
          try {
            this.summaries.set(r.runId, await runs.result(r.runId));
          } catch (err) {
            this.failures.set(r.runId, runFailureReason(err) ?? (err as Error).message);
          }
        }),
    );
    const byId = new Map<string, RunEntry>();
    for (const r of listed) {
      byId.set(r.runId, { ...r, summary: this.summaries.get(r.runId), failure: this.failures.get(r.runId) });
    }
    for (const r of this.tracked.values()) {
      if (!byId.has(r.runId)) {
        byId.set(r.runId, r);
      }
    }
    this.entries = [...byId.values()].sort((a, b) => (b.startTime?.getTime() ?? 0) - (a.startTime?.getTime() ?? 0));
    this._onDidChangeRuns.fire();
    for (const r of this.entries) {
      if (
        r.status === 'running' &&
        r.folder &&
        !this.tracked.has(r.runId) &&
        !this.reattached.has(r.runId) &&
        (r.startTime?.getTime() ?? 0) < this.deps.startedAt.getTime()
      ) {
        this.reattached.add(r.runId);
        this.deps.reattach(r, r.folder);
      }
    }
  }

  private identity(folder: vscode.WorkspaceFolder): string {
    const key = folder.uri.fsPath;
    let id = this.identities.get(key);
    if (!id) {
      id = workspaceIdentity(key).id;
      this.identities.set(key, id);
    }
    return id;
  }

  private setBackend(state: BackendState): void {
    if (this._backend !== state) {
      this._backend = state;
      void vscode.commands.executeCommand('setContext', 'fuzzforge.backendState', state);
    }
  }

  /** Poll again soon while anything runs; otherwise wait for the next event. */
  private schedulePoll(): void {
    if (this.disposed || this.pollTimer || this.refreshing) {
      return;
    }
    if (this.entries.some((r) => r.status === 'running') || this.tracked.size > 0) {
      this.pollTimer = setTimeout(() => {
        this.pollTimer = undefined;
        void this.refresh();
      }, POLL_MS);
    }
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.pollTimer);
    this._onDidChangeRuns.dispose();
  }
}
