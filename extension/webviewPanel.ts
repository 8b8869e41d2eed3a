// The base of every FuzzForge webview panel: it creates the panel (scripts only from
// dist/webview), writes the HTML shell with a fresh nonce and a `default-src 'none'` CSP, answers
// the page's load handshake, logs the page's uncaught errors, runs every page request inside the
// one error path, and forgets the panel when it closes. A panel class adds what its page shows.
import * as crypto from 'node:crypto';
import * as vscode from 'vscode';
import type { PageMessage } from '../webview/protocol';
import { webviewHtml } from './panelHtml';

export interface PanelHostDeps {
  extensionUri: vscode.Uri;
  log: vscode.LogOutputChannel;
  /** Report an error the way every command does. */
  report(err: unknown, doing: string): void;
}

export interface PanelPage {
  /** The panel's view type (also what a serializer registers for). */
  viewType: string;
  /** The tab title (one line; see panelTitle). */
  tabTitle: string;
  /** The document title. */
  title: string;
  /** The page's bundle under dist/webview/. */
  script: string;
  style?: string;
  /** Keep the page alive while hidden (it polls or holds more than its saved state). */
  retainContextWhenHidden?: boolean;
}

/** For an exhaustive switch over a message union: a new kind of message fails to compile. */
export function assertNever(value: never, what: string): never {
  throw new Error(`unexpected ${what}: ${JSON.stringify(value)}`);
}

export abstract class WebviewPanelHost<ToPage, FromPage extends { type: string }> implements vscode.Disposable {
  private _disposed = false;
  private readonly subscriptions: vscode.Disposable[] = [];

  /** A new panel in the active column, scripts allowed only from dist/webview. */
  protected static createPanel(deps: PanelHostDeps, page: PanelPage): vscode.WebviewPanel {
    return vscode.window.createWebviewPanel(page.viewType, page.tabTitle, vscode.ViewColumn.Active, {
      enableScripts: true,
      retainContextWhenHidden: page.retainContextWhenHidden ?? false,
      localResourceRoots: [vscode.Uri.joinPath(deps.extensionUri, 'dist', 'webview')],
    });
  }

  protected constructor(
    protected readonly deps: PanelHostDeps,
    readonly panel: vscode.WebviewPanel,
    page: PanelPage,
  ) {
    const webview = panel.webview;
    webview.html = webviewHtml({
      title: page.title,
      nonce: crypto.randomBytes(16).toString('base64'),
      cspSource: webview.cspSource,
      scriptUri: webview
        .asWebviewUri(vscode.Uri.joinPath(deps.extensionUri, 'dist', 'webview', page.script))
        .toString(),
      ...(page.style !== undefined ? { style: page.style } : {}),
    });
    this.subscriptions.push(
      panel.onDidDispose(() => this.dispose()),
      webview.onDidReceiveMessage((m: FromPage | PageMessage) => void this.receive(m)),
    );
  }

  get disposed(): boolean {
    return this._disposed;
  }

  /** Send the page a message (dropped once the panel is closed). */
  protected async post(message: ToPage): Promise<void> {
    if (!this._disposed) {
      await this.panel.webview.postMessage(message);
    }
  }

  /** The page is loaded and listening: send its first content. */
  protected abstract onViewLoaded(): Promise<void>;
  /** A request of the page; the switch over its union ends in assertNever. */
  protected abstract onRequest(message: FromPage): Promise<void>;
  /** What a request was doing, for the error message when it fails. */
  protected abstract doing(message: FromPage | { type: 'viewLoaded' }): string;
  /** The panel closed: stop timers, forget it. */
  protected abstract onDidClose(): void;

  private async receive(message: FromPage | PageMessage): Promise<void> {
    // Messages cross from page code: only objects with a string type are ours.
    if (!message || typeof message !== 'object' || typeof message.type !== 'string') {
      return;
    }
    if (isUnhandledError(message)) {
      this.deps.log.warn(`${this.panel.viewType} page: ${message.message}${message.stack ? `\n${message.stack}` : ''}`);
      return;
    }
    const request = message;
    try {
      if (isViewLoaded(request)) {
        await this.onViewLoaded();
      } else {
        await this.onRequest(request);
      }
    } catch (err) {
      this.deps.report(err, this.doing(request));
    }
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this.onDidClose();
    for (const s of this.subscriptions) {
      s.dispose();
    }
    this.panel.dispose();
  }
}

function isUnhandledError(m: { type: string }): m is Extract<PageMessage, { type: 'unhandledError' }> {
  return m.type === 'unhandledError';
}

function isViewLoaded(m: { type: string }): m is { type: 'viewLoaded' } {
  return m.type === 'viewLoaded';
}
