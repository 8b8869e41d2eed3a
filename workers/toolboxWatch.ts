// Hot reload of the toolbox: the worker host polls a fingerprint of the toolbox folder, and once an
// edit has settled it builds the new version beside the one that serves (workers/worker.ts swaps
// them). Polling, not fs.watch: Node 20's recursive watch on Linux misses folders reached through
// symbolic links and bind mounts, and stat-ing a toolbox (tens of files) twice a second costs
// nothing measurable.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatProblem, type ToolboxProblem } from '../backend/toolbox/discovery';
import { amountFromEnv } from '../backend/settings';

export interface ToolboxWatchSettings {
  enabled: boolean;
  /** How long running activities may take to finish on the previous version after a swap. */
  graceSeconds: number;
}

/**
 * `FUZZFORGE_TOOLBOX_WATCH` (`1`/`0`; default on when the embedded backend supervises the host,
 * off elsewhere: a compose image or a remote host usually runs a fixed toolbox) and
 * `FUZZFORGE_TOOLBOX_RELOAD_GRACE_SECONDS` (default 600).
 */
export function toolboxWatchFromEnv(env: NodeJS.ProcessEnv): ToolboxWatchSettings {
  const raw = env.FUZZFORGE_TOOLBOX_WATCH;
  let enabled = env.FUZZFORGE_SUPERVISED === '1';
  if (raw !== undefined && raw !== '') {
    if (!['0', '1', 'true', 'false'].includes(raw)) {
      throw new Error(`FUZZFORGE_TOOLBOX_WATCH=${raw} is not 1 or 0 (watch the toolbox and reload on edits, or not)`);
    }
    enabled = raw === '1' || raw === 'true';
  }
  const graceSeconds = amountFromEnv(env, 'FUZZFORGE_TOOLBOX_RELOAD_GRACE_SECONDS', 600, 'seconds');
  return { enabled, graceSeconds };
}

/**
 * A hash of the path, size and modification time of every file under `dir` (symbolic links
 * followed, `node_modules` and dot folders skipped): changes when a file is added, removed or
 * written.
 */
export function toolboxFingerprint(dir: string): string {
  const hash = crypto.createHash('sha256');
  const seen = new Set<string>();
  const visit = (d: string, rel: string) => {
    let real: string;
    let entries: fs.Dirent[];
    try {
      real = fs.realpathSync(d);
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      // Removed while we looked: the next poll sees the result.
      return;
    }
    if (seen.has(real)) {
      return;
    }
    seen.add(real);
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.name.startsWith('.') || entry.name === 'node_modules') {
        continue;
      }
      const abs = path.join(d, entry.name);
      let st: fs.Stats;
      try {
        st = fs.statSync(abs);
      } catch {
        continue;
      }
      if (st.isDirectory()) {
        visit(abs, `${rel}${entry.name}/`);
      } else if (st.isFile()) {
        hash.update(`${rel}${entry.name}\0${st.size}\0${st.mtimeMs}\n`);
      }
    }
  };
  visit(dir, '');
  return hash.digest('hex');
}

/**
 * Decides when a change has settled: `observe` is fed the fingerprint at each poll and returns
 * true once, when it differs from the version last accepted and has not moved for `quietMs`
 * (an editor's save, a `git checkout` or a copied folder arrive as several writes).
 */
export class ChangeDebouncer {
  private pending?: { fingerprint: string; since: number };

  constructor(
    private accepted: string,
    private readonly quietMs: number,
  ) {}

  observe(fingerprint: string, now: number): boolean {
    if (fingerprint === this.accepted) {
      this.pending = undefined;
      return false;
    }
    if (this.pending?.fingerprint !== fingerprint) {
      this.pending = { fingerprint, since: now };
      return false;
    }
    if (now - this.pending.since < this.quietMs) {
      return false;
    }
    this.accepted = fingerprint;
    this.pending = undefined;
    return true;
  }
}

/**
 * Poll `dir` every `intervalMs`; call `onChange` when an edit has settled for `quietMs`. Calls do
 * not overlap: a change made while `onChange` runs triggers one more call after it.
 */
export function watchToolbox(
  dir: string,
  options: { intervalMs?: number; quietMs?: number },
  onChange: () => Promise<void>,
): { stop(): void } {
  const debouncer = new ChangeDebouncer(toolboxFingerprint(dir), options.quietMs ?? 500);
  let busy = false;
  const timer = setInterval(() => {
    if (busy || !debouncer.observe(toolboxFingerprint(dir), Date.now())) {
      return;
    }
    busy = true;
    void onChange().finally(() => {
      busy = false;
    });
  }, options.intervalMs ?? 250);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/**
 * The problems of a new toolbox version that the serving version did not have (by file): any
 * of them keeps the serving version, since swapping would drop the workflow or module that the
 * edit broke. A folder that was already broken (and skipped) at start does not block reloads.
 */
export function newProblems(serving: readonly ToolboxProblem[], next: readonly ToolboxProblem[]): ToolboxProblem[] {
  const known = new Set(serving.map((p) => p.file));
  return next.filter((p) => !known.has(p.file));
}

/** One log line for a rejected reload: every new problem with its file (and line or field). */
export function formatRejectedReload(problems: readonly ToolboxProblem[]): string {
  return (
    `toolbox reload failed; still serving the previous version: ` + problems.map((p) => formatProblem(p)).join('; ')
  );
}
