// Workflow histories as replay fixtures: replay them against the workflow bundle a worker builds
// today (workers/toolboxLoader.ts), and scrub what a recorded history must not carry into the
// repository (absolute paths of this machine, its host name, credentials).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { temporal } from '@temporalio/proto';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { discoverWorkflows } from '../../backend/toolbox/discovery';
import { bundleToolboxWorkflows } from '../../workers/toolboxLoader';

export const HISTORIES_DIR = path.join(__dirname, '..', 'fixtures', 'histories');

export type History = temporal.api.history.v1.IHistory;
const HistoryMessage = temporal.api.history.v1.History;

/**
 * A history as plain JSON: protobufjs's object form of temporal.api.history.v1.History (int64 and
 * enums as strings, bytes as base64). Not the SDK's historyToJSON: with the protobufjs versions
 * installed here (8.x under @temporalio/common, 7.x under @temporalio/proto) it throws "type must
 * be a Type".
 */
export function historyToPlain(history: History): unknown {
  return HistoryMessage.toObject(HistoryMessage.fromObject(history), {
    longs: String,
    enums: String,
    bytes: String,
  });
}

/** The history a historyToPlain object describes. */
export function historyFromPlain(json: unknown): History {
  if (typeof json !== 'object' || json === null || !Array.isArray((json as { events?: unknown }).events)) {
    throw new Error('expected an object with an events array');
  }
  return HistoryMessage.fromObject(json);
}

/** One recorded run: a file name without extension (`<workflow>.<case>`) and its history. */
export interface NamedHistory {
  name: string;
  workflowType: string;
  workflowId: string;
  history: History;
}

/** The workflow type a history starts with. */
export function workflowTypeOf(history: History): string {
  const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
  const name = started?.workflowType?.name;
  if (!name) {
    throw new Error('the history does not start with WorkflowExecutionStarted');
  }
  return name;
}

/** The committed histories (`test/fixtures/histories/*.json`), in name order. */
export function readCommittedHistories(dir = HISTORIES_DIR): NamedHistory[] {
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.json')) : [];
  return files.sort().map((file) => {
    let history: History;
    try {
      history = historyFromPlain(JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')));
    } catch (err) {
      throw new Error(
        `${path.join(dir, file)} is not a recorded workflow history (npm run histories:record writes them): ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
    const name = file.replace(/\.json$/, '');
    return { name, workflowType: workflowTypeOf(history), workflowId: name, history };
  });
}

/** What went wrong replaying one history. */
export interface ReplayFailure {
  name: string;
  workflowType: string;
  message: string;
}

/** The advice a failed replay carries: what it means and what to do. */
export function replayAdvice(f: ReplayFailure): string {
  return (
    `${f.name} (${f.workflowType}) no longer replays its recorded history: ${f.message}\n` +
    `  Runs of ${f.workflowType} that are in flight when workers upgrade to this code would fail the same way. ` +
    `Keep the old behaviour for them behind \`if (patched('<change-id>')) { new code } else { old code }\` ` +
    `(@temporalio/workflow; deprecatePatch once no old run is left). If breaking old runs is intended, ` +
    `refresh the recorded histories with \`npm run histories:record\` and say so in the commit.`
  );
}

/**
 * Replay histories against the workflow bundle a worker of their verticals builds from
 * `toolboxDir`; returns one failure per history that does not replay (an unknown workflow type
 * is a failure too).
 */
export async function replayHistories(
  toolboxDir: string,
  histories: readonly NamedHistory[],
): Promise<ReplayFailure[]> {
  const verticalOf = new Map(discoverWorkflows(toolboxDir).workflows.map((w) => [w.name, w.vertical]));
  const failures: ReplayFailure[] = [];
  const known: NamedHistory[] = [];
  for (const h of histories) {
    if (verticalOf.has(h.workflowType)) {
      known.push(h);
    } else {
      failures.push({ ...h, message: `the toolbox has no workflow ${h.workflowType} any more` });
    }
  }
  if (known.length === 0) {
    return failures;
  }
  if (!Runtime._instance) {
    // The replay worker's state changes are INFO lines; failures come back as results.
    Runtime.install({ logger: new DefaultLogger('WARN') });
  }
  // One bundle for every vertical involved, as the embedded worker host builds it.
  const verticals = [...new Set(known.map((h) => verticalOf.get(h.workflowType) as string))].sort();
  const loaded = await bundleToolboxWorkflows(toolboxDir, verticals);
  if (!loaded.bundle) {
    const why = loaded.problems.map((p) => `${p.file}: ${p.message}`).join('; ');
    return [...failures, ...known.map((h) => ({ ...h, message: `the workflows do not bundle: ${why}` }))];
  }
  const names = new Map(known.map((h) => [h.workflowId, h]));
  const results = Worker.runReplayHistories(
    { workflowBundle: loaded.bundle, replayName: 'replay' },
    known.map((h) => ({ workflowId: h.workflowId, history: h.history })),
  );
  for await (const result of results) {
    if (result.error) {
      const h = names.get(result.workflowId);
      failures.push({
        name: h?.name ?? result.workflowId,
        workflowType: h?.workflowType ?? '?',
        message: `${result.error.name}: ${result.error.message}`,
      });
    }
  }
  return failures;
}

function isJsonEncoded(metadata: unknown): boolean {
  const encoding = (metadata as { encoding?: unknown } | undefined)?.encoding;
  return typeof encoding === 'string' && Buffer.from(encoding, 'base64').toString() === 'json/plain';
}

/**
 * Every string of a history in JSON form, payloads decoded (their data is base64 JSON), passed
 * through `map`; returns the mapped copy. Used to scrub and to check what a history holds.
 */
export function mapHistoryStrings(json: unknown, map: (s: string) => string): unknown {
  const visit = (value: unknown): unknown => {
    if (typeof value === 'string') {
      return map(value);
    }
    if (Array.isArray(value)) {
      return value.map(visit);
    }
    if (typeof value === 'object' && value !== null) {
      const obj = value as Record<string, unknown>;
      if (typeof obj.data === 'string' && isJsonEncoded(obj.metadata)) {
        const decoded = Buffer.from(obj.data, 'base64').toString('utf8');
        return { ...obj, data: Buffer.from(map(decoded), 'utf8').toString('base64') };
      }
      return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, visit(v)]));
    }
    return value;
  };
  return visit(json);
}

/** Home folders of any account: what must not be in a committed history. */
export const HOME_PATH_PATTERN = /\/(?:home|Users)\/[^/\s"\\]+\/|\/root\//;

/**
 * A history in JSON form with `replacements` applied (longest first) to every string and payload,
 * so absolute paths and names of the recording machine do not land in the repository. Refuses
 * (throws) when a value in `secrets` or a home path is still present afterwards.
 */
export function scrubHistory(
  history: History,
  replacements: Record<string, string>,
  secrets: readonly string[],
): unknown {
  const pairs = Object.entries(replacements)
    .filter(([from]) => from.length > 1)
    .sort((a, b) => b[0].length - a[0].length);
  const scrubbed = mapHistoryStrings(historyToPlain(history), (s) =>
    pairs.reduce((acc, [from, to]) => acc.split(from).join(to), s),
  );
  mapHistoryStrings(scrubbed, (s) => {
    for (const secret of secrets) {
      if (secret && s.includes(secret)) {
        throw new Error('a credential is still in the history after scrubbing');
      }
    }
    const home = HOME_PATH_PATTERN.exec(s);
    if (home) {
      throw new Error(`a home path (${home[0]}) is still in the history after scrubbing: ${s.slice(0, 200)}`);
    }
    return s;
  });
  return scrubbed;
}
