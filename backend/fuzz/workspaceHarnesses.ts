// The harnesses of a workspace as the editor shows them: found by the engines' own discovery (the
// code the fuzzing workers run, so a lens appears exactly where a campaign would fuzz), the line
// each one is defined on, the `target` parameter that picks it, and its crash count.
import type { CrashRecord, FuzzEngineName, Harness } from '../../toolbox/shared/fuzzing';
import { parseDurationSeconds } from '../toolbox/discovery';
import { goFuncName, HARNESS_ENGINES, type HarnessEngine } from './harnesses';

/** A harness with the engine and workflow that fuzz it. */
export interface WorkspaceHarness {
  engine: FuzzEngineName;
  workflow: string;
  vertical: string;
  harness: Harness;
}

/**
 * Every harness under `root` that a fuzzing workflow would discover, engine by engine (in the
 * order of HARNESS_ENGINES), each engine's in its own discovery order.
 */
export async function discoverWorkspaceHarnesses(
  root: string,
  engines: readonly HarnessEngine[] = Object.values(HARNESS_ENGINES),
): Promise<WorkspaceHarness[]> {
  const perEngine = await Promise.all(
    engines.map(async (engine) =>
      (await engine.discover(root)).map((harness): WorkspaceHarness => ({
        engine: engine.name,
        workflow: engine.workflow,
        vertical: engine.vertical,
        harness,
      })),
    ),
  );
  return perEngine.flat();
}

/**
 * The workflow's `target` parameter that fuzzes exactly this harness: its file (unique in the
 * workspace), except for Go, where one _test.go file may define several fuzz functions.
 */
export function campaignTarget(h: Pick<WorkspaceHarness, 'engine' | 'harness'>): string {
  return h.engine === 'go-fuzz' ? h.harness.name : h.harness.file;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The pattern of the line that defines the harness's entry point, per engine. */
function entryPattern(engine: FuzzEngineName, harness: Harness): RegExp {
  switch (engine) {
    case 'atheris':
      return /^\s*def\s+TestOneInput\s*\(/;
    case 'libfuzzer':
      return /\bLLVMFuzzerTestOneInput\s*\(/;
    case 'go-fuzz':
      return new RegExp(`^func\\s+${escapeRegExp(goFuncName(harness))}\\s*\\(`);
    case 'cargo-fuzz':
      return /^\s*(libfuzzer_sys::)?fuzz_target!\s*\(/;
  }
}

/**
 * The 0-based line a harness's lens goes on: its entry point (TestOneInput, LLVMFuzzerTestOneInput,
 * func FuzzXxx, fuzz_target!), else the first line of the file.
 */
export function harnessLine(text: string, engine: FuzzEngineName, harness: Harness): number {
  const pattern = entryPattern(engine, harness);
  const lines = text.split(/\r?\n/);
  const found = lines.findIndex((line) => pattern.test(line));
  return found >= 0 ? found : 0;
}

/** The key of a harness in crash counts: its file and name (several Go harnesses share a file). */
export function harnessKey(file: string, name: string): string {
  return `${file}\n${name}`;
}

/**
 * Unique crashes per harness over some runs' crash records: a crash found again by a later
 * campaign (same signature) counts once. Keys are `harnessKey(file, name)`.
 */
export function crashCountsByHarness(
  records: Iterable<Pick<CrashRecord, 'id' | 'harness' | 'harnessFile'>>,
): Map<string, number> {
  const ids = new Map<string, Set<string>>();
  for (const r of records) {
    const key = harnessKey(r.harnessFile, r.harness);
    let set = ids.get(key);
    if (!set) {
      set = new Set();
      ids.set(key, set);
    }
    set.add(r.id);
  }
  return new Map([...ids].map(([key, set]) => [key, set.size]));
}

/** Campaign lengths offered first, in seconds. */
export const CAMPAIGN_DURATIONS: readonly { label: string; seconds: number }[] = [
  { label: '1 minute', seconds: 60 },
  { label: '5 minutes', seconds: 300 },
  { label: '15 minutes', seconds: 900 },
  { label: '1 hour', seconds: 3600 },
  { label: '8 hours', seconds: 8 * 3600 },
];

/**
 * A campaign length as a person types it: seconds (`90`), or a number with s, m, h or d (`10m`).
 * Returns the seconds, or a problem in words.
 */
export function parseCampaignDuration(text: string): { seconds: number } | { problem: string } {
  const t = text.trim().toLowerCase().replace(/\s+/g, '');
  let seconds: number;
  try {
    seconds = parseDurationSeconds(/^\d+$/.test(t) ? `${t}s` : t);
  } catch {
    return { problem: 'type seconds (90) or a number with s, m, h or d (10m, 2h)' };
  }
  return seconds > 0 ? { seconds } : { problem: 'a campaign lasts at least 1 second' };
}

/** A length in seconds as people say it: `90 s`, `15 min`, `2 h`, `1 h 30 min`. */
export function formatCampaignDuration(seconds: number): string {
  if (seconds < 60) {
    return `${seconds} s`;
  }
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return [h ? `${h} h` : '', m ? `${m} min` : '', s ? `${s} s` : ''].filter(Boolean).join(' ');
}
