// The backend connection's lifetime (the second of the extension's two): one Temporal client
// shared by scans, the Runs view and re-attached runs, replaced when the backend moves (a restart
// on other ports) and closed when it stops.
import type * as vscode from 'vscode';
import { UserError } from '../backend/errors';
import { parseBackendMode, resolveBackend } from '../backend/services/backend';
import type { BackendConnection } from '../backend/services/connection';
import { RunService } from '../backend/temporal/runs';
import { BackendDownError } from './errors';

export interface Connected {
  conn: BackendConnection;
  runs: RunService;
}

export class BackendSession implements vscode.Disposable {
  private current: { key: string; conn: BackendConnection; runs: Promise<RunService> } | undefined;

  constructor(
    private readonly mode: () => string | undefined,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  /** The current backend; BackendDownError when it is not running. Never starts anything. */
  async connect(): Promise<Connected> {
    let conn: BackendConnection;
    try {
      conn = await resolveBackend({ mode: parseBackendMode(this.mode() ?? 'auto') });
    } catch (err) {
      if (err instanceof UserError && /not running/.test(err.message)) {
        await this.reset();
        throw new BackendDownError();
      }
      throw err;
    }
    const key = `${conn.mode} ${conn.temporal.address} ${conn.temporal.namespace} ${conn.storage.endpoint}`;
    let current = this.current;
    if (current?.key !== key) {
      await this.reset();
      const runs = RunService.connect(conn);
      current = { key, conn, runs };
      this.current = current;
      runs.then(
        () => this.log.info(`connected to Temporal at ${conn.temporal.address}`),
        () => {
          if (this.current?.runs === runs) {
            this.current = undefined;
          }
        },
      );
    }
    try {
      return { conn: current.conn, runs: await current.runs };
    } catch (err) {
      throw new BackendDownError(`cannot reach the FuzzForge backend: ${(err as Error).message}`);
    }
  }

  /** Like connect(), but undefined when the backend is down (for polling and re-attaching). */
  async tryConnect(): Promise<Connected | undefined> {
    try {
      return await this.connect();
    } catch (err) {
      if (err instanceof BackendDownError) {
        return undefined;
      }
      throw err;
    }
  }

  /** Close the client (the backend stopped or moved). */
  async reset(): Promise<void> {
    const previous = this.current;
    this.current = undefined;
    if (previous) {
      const runs = await previous.runs.catch(() => undefined);
      await runs?.close().catch((err: unknown) => this.log.warn(`closing the Temporal client: ${String(err)}`));
    }
  }

  dispose(): void {
    void this.reset();
  }
}
