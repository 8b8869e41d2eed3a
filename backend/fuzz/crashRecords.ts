// The unique crashes a fuzzing run stored, as both sides read them: the worker's report and the
// client's list, save and replay. Only the storage layout and the record's shape; no Temporal.
import { CRASH_ID_PATTERN, type CrashRecord } from '../../toolbox/shared/fuzzing';
import type { ObjectStore } from '../storage/objectStore';
import { crashKeys, runCrashesPrefix } from '../storage/runKeys';

/**
 * Why a crash record read from storage cannot be used, or undefined. Its id becomes file names
 * (`crash-<id>`) and its keys are downloaded, so both must be exactly what the worker writes.
 */
export function crashRecordProblem(record: unknown, runId: string, key: string): string | undefined {
  const r = record as Partial<CrashRecord> | null;
  if (!r || typeof r !== 'object' || typeof r.id !== 'string' || !CRASH_ID_PATTERN.test(r.id)) {
    return `its id ${JSON.stringify((r as { id?: unknown } | null)?.id)?.slice(0, 80)} is not a crash signature (hex)`;
  }
  const expected = crashKeys(runId, r.id);
  if (key !== expected.record) {
    return `it is stored at ${key}, not under its own id`;
  }
  const fields: ['inputKey' | 'stackKey' | 'minimizedKey', unknown, string][] = [
    ['inputKey', r.inputKey, expected.input],
    ['stackKey', r.stackKey, expected.stack],
    ...(r.minimizedKey !== undefined
      ? [['minimizedKey', r.minimizedKey, expected.minimized] as ['minimizedKey', unknown, string]]
      : []),
  ];
  for (const [field, value, want] of fields) {
    if (value !== want) {
      return `its ${field} is not ${want}`;
    }
  }
  if (typeof r.firstSeen !== 'string') {
    return 'it has no firstSeen time';
  }
  return undefined;
}

/**
 * Every unique crash a run stored, oldest first. A record cut short by a lost worker, or one
 * whose id or keys are not what a worker writes, is skipped (reported through `onSkip`).
 */
export async function readCrashRecords(
  store: ObjectStore,
  runId: string,
  onSkip?: (key: string, reason: string) => void,
): Promise<CrashRecord[]> {
  const bucket = store.buckets.results;
  const out: CrashRecord[] = [];
  for (const obj of await store.list(bucket, runCrashesPrefix(runId))) {
    if (obj.key.endsWith('/crash.json')) {
      let record: CrashRecord;
      try {
        record = await store.getJson<CrashRecord>(bucket, obj.key);
      } catch (err) {
        // Its input is still stored beside it.
        onSkip?.(obj.key, `unreadable: ${(err as Error).message}`);
        continue;
      }
      const problem = crashRecordProblem(record, runId, obj.key);
      if (problem) {
        onSkip?.(obj.key, problem);
      } else {
        out.push(record);
      }
    }
  }
  return out.sort((a, b) => a.firstSeen.localeCompare(b.firstSeen));
}
