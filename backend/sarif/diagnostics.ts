import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { effectiveLevel, isSuppressed, reportedBy, webHelpUri } from './log';
import type { SarifLocation, SarifLog, SarifResult, SarifRule, SarifRun } from './types';

/** Editor-neutral diagnostic: what the extension turns into a vscode.Diagnostic. */
export interface DiagnosticSpec {
  /** Absolute path of the file on the client. */
  file: string;
  /** 0-based, end exclusive; a whole line when the tool gave no columns. */
  range: { startLine: number; startColumn: number; endLine: number; endColumn: number };
  severity: 'error' | 'warning' | 'information' | 'hint';
  message: string;
  ruleId: string;
  helpUri?: string;
  source: string;
  related: { file: string; line: number; column: number; message: string }[];
  /** 'unnecessary' / 'deprecated' tags do not apply to security findings; kept for completeness. */
  tags: string[];
  /** Index of the run and result in the log, so the extension can keep the SARIF result. */
  runIndex: number;
  resultIndex: number;
}

const SEVERITY = { error: 'error', warning: 'warning', note: 'information', none: 'hint' } as const;

/** Longest message a marker shows; a tool can write megabytes into one (the log keeps them). */
export const MAX_MARKER_MESSAGE = 10_000;

function markerMessage(text: string): string {
  return text.length <= MAX_MARKER_MESSAGE
    ? text
    : `${text.slice(0, MAX_MARKER_MESSAGE)}… (${text.length - MAX_MARKER_MESSAGE} more characters; the full text is in the SARIF log)`;
}

/** Resolve a SARIF artifact location to an absolute path using the run's uriBaseIds. */
export function resolveArtifactPath(
  run: SarifRun,
  location: SarifLocation | undefined,
  fallbackRoot: string,
): string | undefined {
  const art = location?.physicalLocation?.artifactLocation;
  if (!art?.uri) {
    return undefined;
  }
  if (art.uri.startsWith('file://')) {
    return fileURLToPath(art.uri);
  }
  const base = art.uriBaseId ? run.originalUriBaseIds?.[art.uriBaseId]?.uri : undefined;
  const root = base?.startsWith('file://') ? fileURLToPath(base) : fallbackRoot;
  let rel: string;
  try {
    rel = decodeURI(art.uri);
  } catch {
    // A malformed %-sequence (a hostile or broken log): this result has no file, the rest still do.
    return undefined;
  }
  if (path.isAbsolute(rel) || rel.split('/').includes('..')) {
    return undefined;
  }
  return path.join(root, rel);
}

function ruleOf(run: SarifRun, result: SarifResult): SarifRule | undefined {
  const rules = run.tool.driver.rules ?? [];
  return result.ruleIndex !== undefined ? rules[result.ruleIndex] : rules.find((r) => r.id === result.ruleId);
}

function rangeOf(location: SarifLocation | undefined): DiagnosticSpec['range'] {
  const region = location?.physicalLocation?.region;
  const startLine = Math.max(0, (region?.startLine ?? 1) - 1);
  const endLine = Math.max(startLine, (region?.endLine ?? region?.startLine ?? 1) - 1);
  if (region?.startColumn === undefined) {
    // No columns: mark the whole line (the editor clamps the end).
    return { startLine, startColumn: 0, endLine, endColumn: Number.MAX_SAFE_INTEGER };
  }
  const startColumn = region.startColumn - 1;
  const endColumn = region.endColumn !== undefined ? region.endColumn - 1 : Number.MAX_SAFE_INTEGER;
  return {
    startLine,
    startColumn,
    endLine,
    endColumn: endLine === startLine ? Math.max(endColumn, startColumn + 1) : endColumn,
  };
}

/**
 * Map a SARIF log to diagnostics: level → severity, rule id + help link as the code, tool as the
 * source, related locations and code-flow steps as related information. Suppressed and absent
 * (fixed) results are left out; results outside the workspace are left out.
 */
/** How a marker names the kind of file its result was found in, when not the project's own code. */
const FILE_KIND_NOTE: Readonly<Record<string, string>> = {
  test: 'in test code',
  docs: 'in documentation or examples',
  vendored: 'in vendored code',
  generated: 'in generated code',
  minified: 'in minified code',
  lockfile: 'in a lockfile',
};

export function sarifToDiagnostics(
  log: SarifLog,
  workspaceRoot: string,
  options: { markNew?: boolean } = {},
): DiagnosticSpec[] {
  // Results restored from an earlier run are not news to this session: `(new)` only when asked.
  const markNew = options.markNew ?? true;
  const out: DiagnosticSpec[] = [];
  log.runs.forEach((run, runIndex) => {
    (run.results ?? []).forEach((result, resultIndex) => {
      if (isSuppressed(result) || result.baselineState === 'absent') {
        return;
      }
      const primary = result.locations?.[0];
      const file = resolveArtifactPath(run, primary, workspaceRoot);
      if (!file) {
        return;
      }
      const rule = ruleOf(run, result);
      const related: DiagnosticSpec['related'] = [];
      const addRelated = (loc: SarifLocation | undefined, fallback: string) => {
        const relFile = resolveArtifactPath(run, loc, workspaceRoot);
        const region = loc?.physicalLocation?.region;
        if (relFile) {
          related.push({
            file: relFile,
            line: Math.max(0, (region?.startLine ?? 1) - 1),
            column: Math.max(0, (region?.startColumn ?? 1) - 1),
            message: markerMessage(loc?.message?.text ?? fallback),
          });
        }
      };
      for (const loc of result.relatedLocations ?? []) {
        addRelated(loc, 'related location');
      }
      const flows = (result as { codeFlows?: { threadFlows?: { locations?: { location?: SarifLocation }[] }[] }[] })
        .codeFlows;
      for (const flow of flows ?? []) {
        for (const thread of flow.threadFlows ?? []) {
          (thread.locations ?? []).forEach((step, i) => addRelated(step.location, `step ${i + 1}`));
        }
      }
      const level = effectiveLevel(run, result);
      // Found in tests, docs or vendored code (toolbox/modules/inventory/fileKinds.ts): say so.
      const kind = result.properties?.fileKind;
      const where = typeof kind === 'string' && FILE_KIND_NOTE[kind] ? ` (${FILE_KIND_NOTE[kind]})` : '';
      const text = `${result.message.text}${where}`;
      out.push({
        file,
        range: rangeOf(primary),
        severity: SEVERITY[level],
        message: markerMessage(markNew && result.baselineState === 'new' ? `${text} (new)` : text),
        ruleId: result.ruleId ?? rule?.id ?? 'unknown',
        ...(webHelpUri(rule?.helpUri) ? { helpUri: webHelpUri(rule?.helpUri) } : {}),
        // A weakness several tools reported is one diagnostic naming each of them.
        source: [...new Set([run.tool.driver.name, ...reportedBy(run, result).map((r) => r.tool)])].join(', '),
        related,
        tags: [],
        runIndex,
        resultIndex,
      });
    });
  });
  return out;
}
