// The detail of one crash in a webview (webview/crash): its stack with links to the workspace's
// frames, the input (and the minimised one) as hex and text, the reproduction command, and the
// crash's actions. Everything shown comes from the crash record and its stored files, written by
// workers: the page sets it as text only, and the extension checks every request it sends back.
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { describeError } from '../backend/errors';
import type { CrashRecord } from '../toolbox/shared/fuzzing';
import type { CrashDetail, CrashInputView, CrashRequest, ToCrashPage } from '../webview/protocol';
import { copyInputPath, localCrash, saveAsRegression, type CrashActionDeps } from './crashActions';
import { Cancelled } from './errors';
import { openFrame, replayInEditor, type FuzzingPanelDeps } from './fuzzingPanel';
import { panelTitle } from './panelHtml';
import type { RunEntry } from './runs';
import { hexDump, inputAsText, isWorkspaceFile, SHOWN_INPUT_BYTES } from './views/crashesModel';
import { assertNever, WebviewPanelHost, type PanelPage } from './webviewPanel';

export type CrashPanelDeps = FuzzingPanelDeps & CrashActionDeps;

/** The command another part of the extension adds to debug a crash; the panel offers it when present. */
export const DEBUG_CRASH_COMMAND = 'fuzzforge.debugCrash';

const STACK_SHOWN_BYTES = 256 * 1024;

const CRASH_PANEL_STYLE = `  body { padding: 0 16px; }
  header { display: flex; gap: 8px; align-items: baseline; flex-wrap: wrap; }
  .actions { display: flex; gap: 8px; flex-wrap: wrap; margin: 8px 0; }
  pre { white-space: pre-wrap; word-break: break-all; background: var(--vscode-textCodeBlock-background); padding: 8px; }
  pre.hex { white-space: pre; overflow-x: auto; word-break: normal; }
  ol.frames li { margin: 2px 0; font-family: var(--vscode-editor-font-family); }
  a { cursor: pointer; }
  .muted { color: var(--vscode-descriptionForeground); }
  .error { color: var(--vscode-errorForeground); }
  .result { font-weight: bold; }`;

export class CrashPanel extends WebviewPanelHost<ToCrashPage, CrashRequest> {
  private static readonly open = new Map<string, CrashPanel>();

  private static page(crash: CrashRecord): PanelPage {
    return {
      viewType: 'fuzzforge.crashDetail',
      tabTitle: panelTitle(`Crash ${crash.id.slice(0, 8)} ${crash.kind}`.slice(0, 80)),
      title: `Crash ${crash.id}`,
      script: 'crash.js',
      style: CRASH_PANEL_STYLE,
    };
  }

  /** Show (or reveal) the detail of a crash of a run. */
  static show(deps: CrashPanelDeps, run: RunEntry, crash: CrashRecord): CrashPanel {
    const key = `${run.runId}/${crash.id}`;
    const existing = CrashPanel.open.get(key);
    if (existing) {
      existing.panel.reveal();
      return existing;
    }
    const page = CrashPanel.page(crash);
    const created = new CrashPanel(deps, run, crash, WebviewPanelHost.createPanel(deps, page), page);
    CrashPanel.open.set(key, created);
    return created;
  }

  /** The open panel of a crash, if any (for tests and the commands). */
  static find(runId: string, crashId: string): CrashPanel | undefined {
    return CrashPanel.open.get(`${runId}/${crashId}`);
  }

  /** The last detail the page was sent. */
  lastDetail: CrashDetail | undefined;

  private constructor(
    protected override readonly deps: CrashPanelDeps,
    readonly run: RunEntry,
    readonly crash: CrashRecord,
    panel: vscode.WebviewPanel,
    page: PanelPage,
  ) {
    super(deps, panel, page);
  }

  protected async onViewLoaded(): Promise<void> {
    this.lastDetail = await this.detail();
    await this.post(this.lastDetail);
  }

  protected async onRequest(message: CrashRequest): Promise<void> {
    if (message.type === 'openFrame') {
      await this.act(message);
      return;
    }
    // The panel says how its action ended, beside the notification the error path shows.
    try {
      const text = await this.act(message);
      if (text) {
        await this.post({ type: 'actionResult', action: message.type, ok: true, text });
      }
    } catch (err) {
      if (!(err instanceof Cancelled)) {
        await this.post({ type: 'actionResult', action: message.type, ok: false, text: describeError(err) });
      }
      throw err;
    }
  }

  /** Do what the page asked; returns what to tell the page, if anything. */
  private async act(message: CrashRequest): Promise<string | undefined> {
    switch (message.type) {
      case 'openFrame':
        if (typeof message.file === 'string' && isWorkspaceFile(message.file)) {
          await openFrame(this.workspaceRoot(), message.file, message.line);
        }
        return undefined;
      case 'replay': {
        const r = await replayInEditor(this.deps, this.run.runId, this.crash.id, this.workspaceRoot());
        return r.reproduced
          ? `Reproduced: the harness failed on the input (exit ${r.exitCode}).`
          : `Not reproduced (exit ${r.exitCode}): the bug may be fixed.`;
      }
      case 'debug':
        await vscode.commands.executeCommand(DEBUG_CRASH_COMMAND, this.run, this.crash.id);
        return undefined;
      case 'copyInputPath':
        return `Copied ${await copyInputPath(this.deps, this.run, this.crash)}`;
      case 'saveRegression':
        return `Saved as ${await saveAsRegression(this.deps, this.run, this.crash)}`;
      default:
        assertNever(message, 'crash page request');
    }
  }

  protected doing(message: CrashRequest | { type: 'viewLoaded' }): string {
    switch (message.type) {
      case 'viewLoaded':
        return 'showing the crash';
      case 'openFrame':
        return 'opening the frame';
      case 'replay':
        return 'replaying the crash';
      case 'debug':
        return 'debugging the crash';
      case 'copyInputPath':
        return "copying the input's path";
      case 'saveRegression':
        return 'saving the regression input';
    }
  }

  protected onDidClose(): void {
    CrashPanel.open.delete(`${this.run.runId}/${this.crash.id}`);
  }

  private workspaceRoot(): string | undefined {
    return this.run.folder?.uri.fsPath ?? this.run.memo?.workspaceRoot;
  }

  private async detail(): Promise<CrashDetail> {
    const c = this.crash;
    const base: CrashDetail = {
      type: 'crash',
      runId: this.run.runId,
      crash: {
        id: c.id,
        engine: c.engine,
        harness: c.harness,
        harnessFile: c.harnessFile,
        kind: c.kind,
        summary: c.summary,
        hits: c.hits,
        firstSeen: c.firstSeen,
        lastSeen: c.lastSeen,
      },
      frames: c.frames.map((f) => ({
        function: String(f.function),
        ...(typeof f.file === 'string' ? { file: f.file } : {}),
        ...(typeof f.line === 'number' ? { line: f.line } : {}),
        open: isWorkspaceFile(f.file),
      })),
      stack: '',
      reproduce: c.reproduce,
      canDebug: (await vscode.commands.getCommands(true)).includes(DEBUG_CRASH_COMMAND),
      trusted: vscode.workspace.isTrusted,
    };
    try {
      const local = await localCrash(this.deps, this.run.runId, c);
      return {
        ...base,
        stack: await readHead(local.stack, STACK_SHOWN_BYTES).then((b) => b.toString('utf8')),
        input: await inputView(local.input),
        ...(local.minimized ? { minimized: await inputView(local.minimized) } : {}),
        inputPath: local.input,
      };
    } catch (err) {
      this.deps.log.warn(`crash ${c.id} of ${this.run.runId}: ${(err as Error).message}`);
      return { ...base, error: `Its stored files could not be read: ${(err as Error).message}` };
    }
  }
}

async function inputView(file: string): Promise<CrashInputView> {
  const size = (await fs.promises.stat(file)).size;
  // Only the head is read and shown; the views then say how much they leave out.
  const head = await readHead(file, SHOWN_INPUT_BYTES);
  return {
    bytes: size,
    hex: hexDump(head) + (size > head.length ? `\n… ${size - head.length} more bytes` : ''),
    text: inputAsText(head) + (size > head.length ? `\n… ${size - head.length} more bytes` : ''),
  };
}

async function readHead(file: string, max: number): Promise<Buffer> {
  const fh = await fs.promises.open(file, 'r');
  try {
    const buf = Buffer.alloc(max);
    const { bytesRead } = await fh.read(buf, 0, max, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}
