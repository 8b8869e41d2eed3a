// The pure half of the Runs and Findings views: labels, icons, grouping, links. No vscode import
// (eslint enforces it), so unit tests run it in plain Node and the benchmark times the real code.
import type { RunStatus } from '../../backend/temporal/runs';
import type { ScanSummary } from '../../toolbox/shared/definitions';
import { withUiToken } from '../../backend/services/connection';

// --- runs ------------------------------------------------------------------------------------

/** A codicon id plus the theme colour it is drawn in; `~spin` animates it. */
export interface StatusIcon {
  id: string;
  color?: string;
}

const STATUS_ICONS: Record<RunStatus, StatusIcon> = {
  running: { id: 'sync~spin' },
  completed: { id: 'pass', color: 'testing.iconPassed' },
  failed: { id: 'error', color: 'testing.iconFailed' },
  canceled: { id: 'circle-slash', color: 'disabledForeground' },
  terminated: { id: 'stop-circle', color: 'testing.iconFailed' },
  timed_out: { id: 'watch', color: 'testing.iconFailed' },
  continued_as_new: { id: 'debug-continue' },
  paused: { id: 'debug-pause', color: 'testing.iconQueued' },
  unknown: { id: 'question' },
};

export function runStatusIcon(status: RunStatus): StatusIcon {
  return STATUS_ICONS[status];
}

/** How a person reads a status: "timed out", not "timed_out". */
export function runStatusLabel(status: RunStatus): string {
  return status === 'continued_as_new' ? 'continued as new' : status.replace('_', ' ');
}

/** "850 ms", "4.2 s", "3 m 05 s", "2 h 03 m". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) {
    return '';
  }
  if (ms < 1000) {
    return `${Math.round(ms)} ms`;
  }
  if (ms < 60_000) {
    const s = ms / 1000;
    return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  }
  const totalSeconds = Math.floor(ms / 1000);
  if (totalSeconds < 3600) {
    return `${Math.floor(totalSeconds / 60)} m ${String(totalSeconds % 60).padStart(2, '0')} s`;
  }
  const totalMinutes = Math.floor(totalSeconds / 60);
  return `${Math.floor(totalMinutes / 60)} h ${String(totalMinutes % 60).padStart(2, '0')} m`;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** Local time: "14:03" today, "Nov 23 14:03" this year, "2025-11-23 14:03" before. */
export function formatStartTime(start: Date, now: Date = new Date()): string {
  const time = `${pad(start.getHours())}:${pad(start.getMinutes())}`;
  if (
    start.getFullYear() === now.getFullYear() &&
    start.getMonth() === now.getMonth() &&
    start.getDate() === now.getDate()
  ) {
    return time;
  }
  if (start.getFullYear() === now.getFullYear()) {
    const month = start.toLocaleString('en-US', { month: 'short' });
    return `${month} ${start.getDate()} ${time}`;
  }
  return `${start.getFullYear()}-${pad(start.getMonth() + 1)}-${pad(start.getDate())} ${time}`;
}

/** "61 findings (42 error, 19 warning)"; "no findings"; levels with no result are left out. */
export function findingCountsLabel(counts: Partial<ScanSummary['counts']>): string {
  const levels = ['error', 'warning', 'note', 'none'] as const;
  const total = levels.reduce((sum, l) => sum + (counts[l] ?? 0), 0);
  if (total === 0) {
    return 'no findings';
  }
  const parts = levels.filter((l) => (counts[l] ?? 0) > 0).map((l) => `${counts[l]} ${l}`);
  return `${total} finding${total === 1 ? '' : 's'} (${parts.join(', ')})`;
}

/** What the Runs view needs of a run. */
export interface RunRowInput {
  runId: string;
  workflow: string;
  status: RunStatus;
  startTime?: Date;
  closeTime?: Date;
  summary?: Pick<ScanSummary, 'counts'>;
  /** Why a failed, timed-out or terminated run ended. */
  failure?: string;
  workspaceName?: string;
}

export interface RunRow {
  label: string;
  description: string;
  /** Read by screen readers (and the e2e tests): every visible fact in one sentence. */
  accessibilityLabel: string;
  icon: StatusIcon;
  /**
   * contextValue: `run.<status>`, plus `.fuzzing` for fuzzing workflows (stats and crashes) and
   * `.sarif` when the run has a SARIF log to open.
   */
  contextValue: string;
}

/** The row of one run: workflow name; start time, duration, finding counts or failure. */
export function runRow(run: RunRowInput, now: Date = new Date(), multiRoot = false): RunRow {
  const parts: string[] = [];
  if (run.startTime) {
    parts.push(formatStartTime(run.startTime, now));
    const end = run.closeTime ?? (run.status === 'running' ? now : undefined);
    if (end) {
      parts.push(formatDuration(end.getTime() - run.startTime.getTime()));
    }
  }
  if (run.status === 'completed' && run.summary) {
    parts.push(findingCountsLabel(run.summary.counts));
  } else if (run.status !== 'completed') {
    parts.push(runStatusLabel(run.status));
  }
  if (multiRoot && run.workspaceName) {
    parts.push(run.workspaceName);
  }
  const description = parts.join(' · ');
  const failure = run.failure ? `: ${run.failure}` : '';
  return {
    label: run.workflow,
    description,
    accessibilityLabel: `${run.workflow} ${runStatusLabel(run.status)}${failure}, ${description}, run ${run.runId}`,
    icon: runStatusIcon(run.status),
    contextValue: `run.${run.status}${run.workflow.endsWith('_fuzzing') ? '.fuzzing' : ''}${run.status === 'completed' ? '.sarif' : ''}`,
  };
}

/**
 * The run's page in the Temporal web UI: the execution's history when its Temporal run id is known,
 * else the workflow list filtered to its workflow id.
 */
export function temporalRunUrl(
  uiUrl: string,
  namespace: string,
  workflowId: string,
  executionRunId?: string,
  uiToken?: string,
): string {
  const base = `${uiUrl.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows`;
  if (executionRunId) {
    return withUiToken(`${base}/${encodeURIComponent(workflowId)}/${encodeURIComponent(executionRunId)}/history`, uiToken);
  }
  return withUiToken(`${base}?query=${encodeURIComponent(`WorkflowId="${workflowId.replace(/"/g, '')}"`)}`, uiToken);
}

// --- findings --------------------------------------------------------------------------------

export type FindingSeverity = 'error' | 'warning' | 'information' | 'hint';
export type GroupBy = 'severity' | 'file' | 'rule';
export const GROUP_BY: readonly GroupBy[] = ['severity', 'file', 'rule'];

export function parseGroupBy(value: unknown): GroupBy {
  return GROUP_BY.includes(value as GroupBy) ? (value as GroupBy) : 'severity';
}

/** One finding as the views see it (built from a diagnostic, or from a DiagnosticSpec). */
export interface FindingEntry {
  /** Absolute path. */
  file: string;
  /** Path shown to people: relative to its workspace folder. */
  relPath: string;
  /** 0-based, as in the editor API. */
  line: number;
  column: number;
  severity: FindingSeverity;
  ruleId: string;
  message: string;
}

export interface FindingGroup<E extends FindingEntry = FindingEntry> {
  /** Stable within a grouping: the severity, the absolute path or the rule id. */
  key: string;
  label: string;
  /** Shown beside the label: the count, and for rules the most severe level. */
  description: string;
  entries: E[];
}

const SEVERITY_ORDER: Record<FindingSeverity, number> = { error: 0, warning: 1, information: 2, hint: 3 };
const SEVERITY_LABEL: Record<FindingSeverity, string> = {
  error: 'Errors',
  warning: 'Warnings',
  information: 'Notes',
  hint: 'Hints',
};

function byLocation(a: FindingEntry, b: FindingEntry): number {
  return (
    (a.relPath < b.relPath ? -1 : a.relPath > b.relPath ? 1 : 0) ||
    a.line - b.line ||
    a.column - b.column ||
    SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] ||
    (a.ruleId < b.ruleId ? -1 : a.ruleId > b.ruleId ? 1 : 0)
  );
}

/**
 * Group findings for the Findings view. Severity: errors first. File: by path. Rule: most findings
 * first, then by id. Entries in a group are in file/line order.
 */
export function groupFindings<E extends FindingEntry>(entries: readonly E[], by: GroupBy): FindingGroup<E>[] {
  const keyOf = (e: E) => (by === 'severity' ? e.severity : by === 'file' ? e.file : e.ruleId);
  const buckets = new Map<string, E[]>();
  for (const e of entries) {
    const key = keyOf(e);
    let list = buckets.get(key);
    if (!list) {
      list = [];
      buckets.set(key, list);
    }
    list.push(e);
  }
  const groups: FindingGroup<E>[] = [];
  for (const [key, list] of buckets) {
    list.sort(byLocation);
    const count = `${list.length}`;
    if (by === 'severity') {
      groups.push({ key, label: SEVERITY_LABEL[key as FindingSeverity], description: count, entries: list });
    } else if (by === 'file') {
      groups.push({ key, label: list[0]!.relPath, description: count, entries: list });
    } else {
      const worst = list.reduce(
        (w, e) => (SEVERITY_ORDER[e.severity] < SEVERITY_ORDER[w] ? e.severity : w),
        'hint' as FindingSeverity,
      );
      groups.push({ key, label: key, description: `${count} · ${worst}`, entries: list });
    }
  }
  if (by === 'severity') {
    groups.sort((a, b) => SEVERITY_ORDER[a.key as FindingSeverity] - SEVERITY_ORDER[b.key as FindingSeverity]);
  } else if (by === 'file') {
    groups.sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
  } else {
    groups.sort((a, b) => b.entries.length - a.entries.length || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }
  return groups;
}

export interface FindingRow {
  label: string;
  description: string;
  accessibilityLabel: string;
}

/** The row of one finding; the description leaves out what its group already says. */
export function findingRow(entry: FindingEntry, by: GroupBy): FindingRow {
  const where = `${entry.relPath}:${entry.line + 1}`;
  const description =
    by === 'file' ? `line ${entry.line + 1} · ${entry.ruleId}` : by === 'rule' ? where : `${where} · ${entry.ruleId}`;
  return {
    label: entry.message,
    description,
    accessibilityLabel: `${entry.severity} ${entry.ruleId} at ${where}: ${entry.message}`,
  };
}

// --- tooltips ------------------------------------------------------------------------------------

/**
 * Text from runs, tools and workspaces as literal Markdown on one line: every ASCII punctuation
 * character is backslash-escaped (no emphasis, links, code spans, HTML, entities or `$(icon)`
 * syntax can start), control characters and line breaks become spaces.
 */
export function escapeMarkdown(text: string): string {
  return (
    text
      // eslint-disable-next-line no-control-regex -- control characters are what is replaced
      .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ')
      .replace(/[!-/:-@[-`{-~]/g, '\\$&')
  );
}

/** Like escapeMarkdown, but line breaks stay (as paragraph breaks). */
export function escapeMarkdownLines(text: string): string {
  return text
    .split(/\r?\n/)
    .map(escapeMarkdown)
    .filter((l) => l.trim() !== '')
    .join('\n\n');
}

export interface RunTooltipInput extends RunRowInput {
  summary?: Pick<ScanSummary, 'counts' | 'tools'>;
  memo?: { params?: Record<string, unknown> };
}

/** The Markdown of a run's tooltip (theme icons on): run ids, names and errors escaped. */
export function runTooltipMarkdown(run: RunTooltipInput): string {
  const parts = [
    `**${escapeMarkdown(run.workflow)}** $(${runStatusIcon(run.status).id}) ${runStatusLabel(run.status)}`,
    `run ${escapeMarkdown(run.runId)}`,
  ];
  if (run.startTime) {
    parts.push(`started ${escapeMarkdown(run.startTime.toLocaleString())}`);
  }
  if (run.summary) {
    parts.push(escapeMarkdown(findingCountsLabel(run.summary.counts)));
    for (const t of run.summary.tools.filter((x) => x.error)) {
      parts.push(escapeMarkdownLines(`${t.name}: ${t.error ?? ''}`));
    }
  }
  if (run.failure) {
    parts.push(escapeMarkdownLines(run.failure));
  }
  const params = run.memo?.params;
  if (params && Object.keys(params).length > 0) {
    // JSON has no raw line breaks inside values, so nothing in it can close the fence.
    parts.push(`\`\`\`json\n${JSON.stringify(params, null, 2)}\n\`\`\``);
  }
  return `${parts.join('\n\n')}\n`;
}

/** The Markdown of a finding's tooltip: rule id, severity, source and message escaped. */
export function findingTooltipMarkdown(entry: FindingEntry, source: string | undefined, description: string): string {
  return [
    `**${escapeMarkdown(entry.ruleId)}** · ${escapeMarkdown(entry.severity)} · ${escapeMarkdown(source ?? '')}`,
    escapeMarkdownLines(entry.message),
    escapeMarkdown(description),
  ].join('\n\n');
}
