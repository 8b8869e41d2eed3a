// CodeLens above every fuzz harness of the workspace: "Fuzz this target", and "N crashes" where
// the workspace's fuzzing runs found any. Harnesses come from the engines' own discovery (what a
// campaign would fuzz), cached per folder and found again when source files change; crash counts
// come from the crash records of the workspace's runs, read in the background when runs change
// and only from a backend that is already up. Nothing here waits on the backend while editing.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { listCrashes } from '../backend/fuzzing';
import { isTerminal } from '../backend/temporal/runs';
import {
  crashCountsByHarness,
  discoverWorkspaceHarnesses,
  harnessKey,
  harnessLine,
  type WorkspaceHarness,
} from '../backend/fuzz/workspaceHarnesses';
import type { CrashRecord } from '../toolbox/shared/fuzzing';
import type { BackendSession } from './backendSession';
import type { RunEntry, RunsModel } from './runs';

/** What the "Fuzz this target" lens passes to fuzzforge.fuzzHarness. */
export interface HarnessTarget {
  /** The workspace folder's URI (string). */
  folder: string;
  /** The harness file, relative to the folder (posix). */
  file: string;
  name: string;
}

/** The command another part of the extension may contribute to list a harness's crashes. */
export const SHOW_CRASHES_COMMAND = 'fuzzforge.showCrashes';

/** Files whose creation, change or deletion can add or remove a harness. */
const HARNESS_SOURCES = '**/*.{py,c,cc,cpp,cxx,go,rs,toml}';
const DEBOUNCE_MS = 500;

export class HarnessLenses implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly discovered = new Map<string, Promise<WorkspaceHarness[]>>();
  /** Unique crashes per harness (harnessKey), per folder. */
  private counts = new Map<string, Map<string, number>>();
  /** Crash records of finished runs never change: read once. */
  private readonly finishedRecords = new Map<string, CrashRecord[]>();
  private showCrashesExists = false;
  private rediscoverTimer: NodeJS.Timeout | undefined;
  private countsTimer: NodeJS.Timeout | undefined;
  private counting: Promise<void> | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly _onDidChangeCodeLenses = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this._onDidChangeCodeLenses.event;

  constructor(
    private readonly deps: {
      runs: RunsModel;
      session: BackendSession;
      log: vscode.LogOutputChannel;
    },
  ) {
    const watcher = vscode.workspace.createFileSystemWatcher(HARNESS_SOURCES);
    const changed = () => this.scheduleRediscovery();
    this.disposables.push(
      this._onDidChangeCodeLenses,
      watcher,
      watcher.onDidCreate(changed),
      watcher.onDidDelete(changed),
      watcher.onDidChange(changed),
      vscode.workspace.onDidChangeWorkspaceFolders(changed),
      deps.runs.onDidChangeRuns(() => this.scheduleCrashCounts()),
    );
  }

  /** The harnesses of a folder, as a campaign would discover them (cached until files change). */
  harnesses(folder: vscode.WorkspaceFolder): Promise<WorkspaceHarness[]> {
    const key = folder.uri.toString();
    let found = this.discovered.get(key);
    if (!found) {
      found = discoverWorkspaceHarnesses(folder.uri.fsPath);
      this.discovered.set(key, found);
      found.catch((err: unknown) => {
        this.deps.log.warn(`harness discovery in ${folder.uri.fsPath}: ${(err as Error).message}`);
        if (this.discovered.get(key) === found) {
          this.discovered.delete(key);
        }
      });
    }
    return found;
  }

  /** Unique crashes the workspace's listed runs found in this harness. */
  crashCount(folder: vscode.WorkspaceFolder, h: WorkspaceHarness): number {
    return this.counts.get(folder.uri.toString())?.get(harnessKey(h.harness.file, h.harness.name)) ?? 0;
  }

  async provideCodeLenses(document: vscode.TextDocument, token: vscode.CancellationToken): Promise<vscode.CodeLens[]> {
    const folder = vscode.workspace.getWorkspaceFolder(document.uri);
    if (!folder || document.uri.scheme !== 'file') {
      return [];
    }
    const rel = path.relative(folder.uri.fsPath, document.uri.fsPath).split(path.sep).join('/');
    let harnesses: WorkspaceHarness[];
    try {
      harnesses = (await this.harnesses(folder)).filter((h) => h.harness.file === rel);
    } catch {
      return [];
    }
    if (harnesses.length === 0 || token.isCancellationRequested) {
      return [];
    }
    const text = document.getText();
    const lenses: vscode.CodeLens[] = [];
    for (const h of harnesses) {
      const line = harnessLine(text, h.engine, h.harness);
      const range = new vscode.Range(line, 0, line, 0);
      const target: HarnessTarget = { folder: folder.uri.toString(), file: h.harness.file, name: h.harness.name };
      lenses.push(
        new vscode.CodeLens(range, {
          title: '$(debug-start) Fuzz this target',
          tooltip: `Start a ${h.workflow} campaign on ${h.harness.name} and show its live statistics`,
          command: 'fuzzforge.fuzzHarness',
          arguments: [target],
        }),
      );
      const crashes = this.crashCount(folder, h);
      if (crashes > 0 && this.showCrashesExists) {
        lenses.push(
          new vscode.CodeLens(range, {
            title: `$(bug) ${crashes} crash${crashes === 1 ? '' : 'es'}`,
            tooltip: `Unique crashes the fuzzing runs of this workspace found in ${h.harness.name}`,
            command: SHOW_CRASHES_COMMAND,
            arguments: [{ harness: h.harness.file }],
          }),
        );
      }
    }
    return lenses;
  }

  private scheduleRediscovery(): void {
    clearTimeout(this.rediscoverTimer);
    this.rediscoverTimer = setTimeout(() => {
      this.discovered.clear();
      this._onDidChangeCodeLenses.fire();
    }, DEBOUNCE_MS);
  }

  private scheduleCrashCounts(): void {
    clearTimeout(this.countsTimer);
    this.countsTimer = setTimeout(() => {
      this.countsTimer = undefined;
      this.refreshCrashCounts().catch((err: unknown) =>
        this.deps.log.warn(`crash counts for CodeLens: ${(err as Error).message}`),
      );
    }, DEBOUNCE_MS);
  }

  /** Read the crash records of the workspace's fuzzing runs again; one read at a time. */
  refreshCrashCounts(): Promise<void> {
    if (!this.counting) {
      this.counting = this.readCrashCounts().finally(() => {
        this.counting = undefined;
      });
    }
    return this.counting;
  }

  private async readCrashCounts(): Promise<void> {
    const { runs, session, log } = this.deps;
    if (!this.showCrashesExists) {
      // Asked until it is there (the whole command list is a round trip to the window: not once
      // per run change after that).
      this.showCrashesExists = (await vscode.commands.getCommands(true)).includes(SHOW_CRASHES_COMMAND);
      if (this.showCrashesExists) {
        this._onDidChangeCodeLenses.fire();
      }
    }
    if (runs.backend !== 'up') {
      return;
    }
    const fuzzingRuns = runs.runs.filter(
      (run): run is RunEntry & { folder: vscode.WorkspaceFolder } =>
        run.folder !== undefined && run.workflow.endsWith('_fuzzing'),
    );
    if (fuzzingRuns.length === 0) {
      // Scans only (run on save, say): nothing to read, and no connection to make for it.
      if (this.counts.size > 0) {
        this.counts = new Map();
        this._onDidChangeCodeLenses.fire();
      }
      return;
    }
    const connected = await session.tryConnect();
    if (!connected) {
      return;
    }
    const byFolder = new Map<string, CrashRecord[]>();
    for (const run of fuzzingRuns) {
      let records = this.finishedRecords.get(run.runId);
      if (!records) {
        try {
          records = await listCrashes(connected.conn, run.runId);
        } catch (err) {
          log.warn(`crashes of run ${run.runId}: ${(err as Error).message}`);
          continue;
        }
        if (isTerminal(run.status)) {
          this.finishedRecords.set(run.runId, records);
        }
      }
      const key = run.folder.uri.toString();
      byFolder.set(key, [...(byFolder.get(key) ?? []), ...records]);
    }
    const next = new Map([...byFolder].map(([key, records]) => [key, crashCountsByHarness(records)]));
    if (!sameCounts(this.counts, next)) {
      this.counts = next;
      this._onDidChangeCodeLenses.fire();
    }
  }

  dispose(): void {
    clearTimeout(this.rediscoverTimer);
    clearTimeout(this.countsTimer);
    for (const d of this.disposables) {
      d.dispose();
    }
  }
}

function sameCounts(a: Map<string, Map<string, number>>, b: Map<string, Map<string, number>>): boolean {
  const flat = (m: Map<string, Map<string, number>>) =>
    [...m]
      .flatMap(([folder, counts]) => [...counts].map(([harness, n]) => `${folder}\t${harness}\t${n}`))
      .sort()
      .join('\n');
  return flat(a) === flat(b);
}
