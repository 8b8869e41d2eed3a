// Messages between the extension and the fuzzing statistics webview. Types only: both sides
// import this file (the extension host bundle and the browser bundle).
import type { CrashRecord, FuzzStatsView } from '../toolbox/shared/fuzzing';

/** Extension -> webview: everything the page shows, sent on every refresh. */
export interface StatsUpdate {
  type: 'update';
  runId: string;
  workflow: string;
  status: string;
  /** Undefined while the workflow cannot answer (starting, or no worker to replay a closed run). */
  view?: FuzzStatsView;
  crashes: CrashRecord[];
  error?: string;
}

/** Webview -> extension. */
export type StatsRequest =
  | { type: 'ready' }
  | { type: 'replay'; crashId: string }
  | { type: 'openFrame'; file: string; line?: number }
  | { type: 'cancel' };
