// Messages between the extension and its webviews. Types only: both sides import this file (the
// extension host bundle and the browser bundles). Each page has a union each way; every page
// also sends the PageMessage kinds, which the extension's panel base handles for all of them.
import type { CrashRecord, FuzzStatsView } from '../toolbox/shared/fuzzing';

/** Webview -> extension, from every page. */
export type PageMessage =
  /** The page's script runs and listens: the extension sends its first content now. */
  | { type: 'viewLoaded' }
  /** An error the page did not catch: the extension logs it (pages have no log of their own). */
  | { type: 'unhandledError'; message: string; stack?: string };

// ---------------------------------------------------------------------------------------------
// The fuzzing statistics page (webview/stats)

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

/** Extension -> webview. */
export type ToStatsPage = StatsUpdate;

/** Webview -> extension: what the page's buttons and links ask for. */
export type StatsRequest =
  { type: 'replay'; crashId: string } | { type: 'openFrame'; file: string; line?: number } | { type: 'cancel' };

/** What the stats page keeps with setState: shown again at once when the page is reloaded. */
export interface StatsPageState {
  last: StatsUpdate;
}

// ---------------------------------------------------------------------------------------------
// The crash detail page (webview/crash)

/** One stored input of a crash as the page shows it (rendered by the extension, shown as text). */
export interface CrashInputView {
  bytes: number;
  hex: string;
  text: string;
}

/** One frame of the crash's stack; `open` when it is a workspace file the page may link. */
export interface CrashFrameView {
  function: string;
  file?: string;
  line?: number;
  open: boolean;
}

/** Extension -> webview: the crash, everything the page shows. */
export interface CrashDetail {
  type: 'crash';
  runId: string;
  crash: {
    id: string;
    engine: string;
    harness: string;
    harnessFile: string;
    kind: string;
    summary: string;
    hits: number;
    firstSeen: string;
    lastSeen: string;
  };
  frames: CrashFrameView[];
  /** The stored stack text (sanitizer or traceback output), bounded. */
  stack: string;
  input?: CrashInputView;
  minimized?: CrashInputView;
  /** The exact commands that reproduce it from the workspace root. */
  reproduce: string;
  /** Where the input was downloaded on this machine. */
  inputPath?: string;
  /** A debugger command is installed (`fuzzforge.debugCrash`). */
  canDebug: boolean;
  /** The workspace is trusted (replay and save are refused otherwise). */
  trusted: boolean;
  error?: string;
}

/** Extension -> webview: how an action of the panel ended (replayed, refused, saved, failed). */
export interface CrashActionResult {
  type: 'actionResult';
  action: CrashRequest['type'];
  ok: boolean;
  text: string;
}

/** Extension -> webview. */
export type ToCrashPage = CrashDetail | CrashActionResult;

/** Webview -> extension: the page's links and buttons. */
export type CrashRequest =
  | { type: 'openFrame'; file: string; line?: number }
  | { type: 'replay' }
  | { type: 'debug' }
  | { type: 'copyInputPath' }
  | { type: 'saveRegression' };

/** What the crash page keeps with setState. */
export interface CrashPageState {
  last: CrashDetail;
  result?: CrashActionResult;
}
