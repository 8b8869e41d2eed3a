// What the backend the mode setting selects reports about itself, read on demand: the embedded
// state file, its live health and /proc figures, the compose containers through dockerode, or an
// external backend's two endpoints. The Backend view polls it while visible; commands refresh it
// after they start or stop something.
import * as os from 'node:os';
import * as vscode from 'vscode';
import { describeError } from '../backend/errors';
import { parseBackendMode, type BackendMode } from '../backend/services/backend';
import { composeContainers, readComposeState, runningCompose } from '../backend/services/compose';
import { connectionFromEnv } from '../backend/services/connection';
import { checkHealth, runningEmbedded, storageHealthy, temporalHealthy } from '../backend/services/embedded';
import { ProcessUsageSampler } from '../backend/services/processUsage';
import { knownVerticals } from '../backend/toolbox/verticals';
import { backendTarget, type BackendKind, type BackendSnapshot } from './views/backendModel';

export interface BackendStatusDeps {
  /** The `fuzzforge.backend.mode` setting, unparsed. */
  mode: () => string | undefined;
  stateDir: () => string;
  log: vscode.LogOutputChannel;
  /** Failures of a read (not the engine being down: that is part of the snapshot). */
  onError: (err: unknown) => void;
  env?: NodeJS.ProcessEnv;
}

/** Which backend the setting selects right now (what Start Backend starts, what the view shows). */
export function currentBackendKind(mode: BackendMode, dir: string, env: NodeJS.ProcessEnv = process.env): BackendKind {
  return backendTarget(mode, {
    external: connectionFromEnv(env) !== undefined,
    embedded: runningEmbedded(dir) !== undefined,
    compose: runningCompose(dir) !== undefined,
  });
}

export class BackendStatus implements vscode.Disposable {
  private readonly _onDidChangeBackendStatus = new vscode.EventEmitter<BackendSnapshot>();
  readonly onDidChangeBackendStatus = this._onDidChangeBackendStatus.event;
  private readonly sampler = new ProcessUsageSampler();
  private current: BackendSnapshot = { kind: 'none', target: 'embedded' };
  private inFlight: Promise<void> | undefined;
  private lastEngineError: string | undefined;
  private disposed = false;

  constructor(private readonly deps: BackendStatusDeps) {}

  get snapshot(): BackendSnapshot {
    return this.current;
  }

  /** Read the backend again; concurrent calls share one read. */
  refresh(): Promise<void> {
    this.inFlight ??= this.read().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async read(): Promise<void> {
    try {
      const snapshot = await this.readSnapshot();
      if (!this.disposed) {
        this.current = snapshot;
        this._onDidChangeBackendStatus.fire(snapshot);
      }
    } catch (err) {
      this.deps.onError(err);
    }
  }

  private async readSnapshot(): Promise<BackendSnapshot> {
    const env = this.deps.env ?? process.env;
    const dir = this.deps.stateDir();
    const target = currentBackendKind(parseBackendMode(this.deps.mode() ?? 'auto'), dir, env);
    if (target === 'external') {
      const conn = connectionFromEnv(env);
      if (!conn) {
        return { kind: 'none', target };
      }
      const [temporal, storage] = await Promise.all([
        temporalHealthy(conn.temporal, conn.temporal.namespace, 2000),
        storageHealthy(conn.storage.endpoint, 2000),
      ]);
      return {
        kind: 'external',
        temporal: { address: conn.temporal.address, healthy: temporal },
        storage: { endpoint: conn.storage.endpoint, healthy: storage },
      };
    }
    if (target === 'compose') {
      const state = readComposeState(dir);
      if (!state) {
        return { kind: 'none', target };
      }
      try {
        const containers = await composeContainers(state);
        this.lastEngineError = undefined;
        return { kind: 'compose', state, containers, verticals: knownVerticals(), hostMemoryBytes: os.totalmem() };
      } catch (err) {
        const error = describeError(err);
        if (error !== this.lastEngineError) {
          this.lastEngineError = error;
          this.deps.log.warn(`Backend view: cannot read the containers from ${state.dockerHost}: ${error}`);
        }
        return { kind: 'compose', state, containers: [], verticals: knownVerticals(), error };
      }
    }
    const state = runningEmbedded(dir);
    if (!state) {
      return { kind: 'none', target };
    }
    const health = await checkHealth(state);
    const pids = [state.supervisorPid, state.temporal.pid, state.storage.pid, ...state.workers.map((w) => w.pid)];
    const usage = this.sampler.sample(pids.filter((p): p is number => p !== undefined));
    return { kind: 'embedded', state, health, usage };
  }

  dispose(): void {
    this.disposed = true;
    this._onDidChangeBackendStatus.dispose();
  }
}
