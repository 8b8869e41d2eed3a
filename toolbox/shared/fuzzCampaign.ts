// The durable campaign every fuzzing workflow runs: find harnesses, fuzz each in segments (the
// activity heartbeats; a lost worker means a retry that continues from the stored corpus), keep
// live stats for the `stats` query, and report the unique crashes as SARIF, also when cancelled.
// Deterministic workflow code: no Node built-ins, no I/O.
import {
  ActivityCancellationType,
  CancellationScope,
  continueAsNew,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { activities as campaignActivities } from '../modules/fuzzing/campaign';
import type { activities as sarifActivities } from '../modules/reporters/sarif';
import { progressQuery, type RunProgress, type ScanSummary, type WorkflowInput } from './definitions';
import {
  combineShardSamples,
  STATS_SERIES_MAX,
  statsQuery,
  statsSignal,
  type FuzzEngineName,
  type FuzzParams,
  type FuzzSegmentResult,
  type FuzzStatsSample,
  type FuzzStatsView,
  type Harness,
} from './fuzzing';

/** A harness campaign runs in activity segments of at most this long (history stays small). */
const SEGMENT_SECONDS = 30 * 60;

const { discoverHarnesses, reportCrashes, mergeSarif } = proxyActivities<
  typeof campaignActivities & typeof sarifActivities
>({
  startToCloseTimeout: '30m',
  heartbeatTimeout: '1m',
  retry: { maximumAttempts: 3, nonRetryableErrorTypes: ['UnsafeTarget', 'NoHarness'] },
});

type Before = { execs: number; elapsedSec: number; crashes: number; timeouts: number; ooms: number };

/** State carried over a continue-as-new. */
export interface CampaignCarry {
  harnesses: Harness[];
  index: number;
  before: Before;
  /** With `jobs` > 1: where each of the current harness's parallel processes is. */
  shards?: { before: Before; done: boolean; last?: FuzzStatsSample }[];
  crashIds: string[];
  series: FuzzStatsSample[];
  finished: FuzzStatsSample[];
}

export type FuzzWorkflowInput = WorkflowInput<FuzzParams> & { carry?: CampaignCarry };

/** Keep at most STATS_SERIES_MAX samples: when full, drop every other one (older detail thins). */
function pushSample(series: FuzzStatsSample[], sample: FuzzStatsSample): FuzzStatsSample[] {
  const next = [...series, sample];
  if (next.length <= STATS_SERIES_MAX) {
    return next;
  }
  return next.filter((_, i) => i % 2 === 1 || i === next.length - 1);
}

const ZERO = { execs: 0, elapsedSec: 0, crashes: 0, timeouts: 0, ooms: 0 };

export async function fuzzCampaign(
  engine: FuzzEngineName,
  workflow: string,
  input: FuzzWorkflowInput,
): Promise<ScanSummary> {
  const params = input.params;
  const carry: CampaignCarry = input.carry ?? {
    harnesses: [],
    index: 0,
    before: ZERO,
    crashIds: [],
    series: [],
    finished: [],
  };
  let phase: FuzzStatsView['phase'] = carry.harnesses.length > 0 ? 'fuzzing' : 'discovering';
  let latest: FuzzStatsSample | undefined = carry.series[carry.series.length - 1];
  /** With `jobs` > 1, the latest sample of each process of the current harness. */
  let shardLatest: FuzzStatsSample[] = [];
  setHandler(statsSignal, (sample) => {
    // Samples of a harness that already finished (a late signal) must not move the clock back.
    if (carry.harnesses[carry.index]?.name !== sample.harness) {
      return;
    }
    if (sample.shard !== undefined && carry.shards) {
      const k = sample.shard;
      const previous = shardLatest[k];
      if (!Number.isInteger(k) || k < 0 || k >= carry.shards.length || (previous && sample.at <= previous.at)) {
        return;
      }
      shardLatest[k] = sample;
      const combined = combineShardSamples(shardLatest.filter((x): x is FuzzStatsSample => x !== undefined));
      if (combined) {
        latest = combined;
        carry.series = pushSample(carry.series, combined);
      }
      return;
    }
    if (latest && latest.harness === sample.harness && sample.at <= latest.at) {
      return;
    }
    latest = sample;
    carry.series = pushSample(carry.series, sample);
  });
  setHandler(statsQuery, () => ({
    engine,
    harnesses: carry.harnesses.map((h) => h.name),
    ...(carry.harnesses[carry.index] ? { current: carry.harnesses[carry.index]?.name } : {}),
    phase,
    ...(latest ? { latest } : {}),
    series: carry.series,
    finished: carry.finished,
  }));
  setHandler(progressQuery, (): RunProgress => {
    const total = Math.max(1, carry.harnesses.length) * Math.max(1, params.max_total_time);
    const done =
      carry.index * params.max_total_time +
      (latest?.harness === carry.harnesses[carry.index]?.name ? (latest?.elapsedSec ?? 0) : 0);
    return {
      phase,
      ...(carry.harnesses[carry.index]
        ? {
            detail: `${carry.harnesses[carry.index]?.name}: ${latest?.execs ?? 0} execs, ${latest?.execsPerSec ?? 0}/s, ${latest?.uniqueCrashes ?? carry.crashIds.length} unique crash(es)`,
          }
        : {}),
      fraction: Math.min(0.99, done / total),
    };
  });

  const segmentActivity = (seconds: number) =>
    proxyActivities<typeof campaignActivities>({
      // Building (cargo from cold) plus the segment plus saving the corpus.
      startToCloseTimeout: `${seconds + 45 * 60}s`,
      heartbeatTimeout: '20s',
      cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
      retry: {
        maximumAttempts: 5,
        initialInterval: '1s',
        nonRetryableErrorTypes: ['UnsafeTarget', 'BuildFailed', 'FuzzerFailed', 'ToolMissing', 'BadParameter'],
      },
    }).fuzzSegment;
  const segmentSeconds = (before: Before) =>
    Math.min(SEGMENT_SECONDS, Math.max(1, params.max_total_time - before.elapsedSec));
  const beforeOf = (last: FuzzStatsSample): Before => ({
    execs: last.execs,
    elapsedSec: last.elapsedSec,
    crashes: last.crashes,
    timeouts: last.timeouts,
    ooms: last.ooms,
  });
  const harnessDone = (result: FuzzSegmentResult, before: Before) =>
    result.reason !== 'segment' || result.last.elapsedSec - before.elapsedSec < 1;

  /** One segment of a harness fuzzed by one process. */
  const fuzzOne = async (harness: Harness): Promise<void> => {
    const seconds = segmentSeconds(carry.before);
    const result = await segmentActivity(seconds)({
      runId: input.runId,
      workspaceId: input.workspace.id,
      engine,
      target: input.target,
      harness,
      params,
      seconds,
      runs: params.max_executions > 0 ? Math.max(1, params.max_executions - carry.before.execs) : 0,
      before: carry.before,
      knownCrashes: carry.crashIds,
    });
    carry.crashIds = result.crashIds;
    latest = result.last;
    carry.series = pushSample(carry.series, result.last);
    const done = harnessDone(result, carry.before);
    carry.before = beforeOf(result.last);
    if (done) {
      carry.finished = [...carry.finished, result.last];
      carry.index += 1;
      carry.before = ZERO;
    }
  };

  /** One segment of each of a harness's `jobs` processes, in parallel. */
  const fuzzShards = async (harness: Harness, jobs: number): Promise<void> => {
    type Shard = NonNullable<CampaignCarry['shards']>[number];
    const shards = (carry.shards ??= Array.from({ length: jobs }, (): Shard => ({ before: ZERO, done: false })));
    // Executions are a budget of the harness: each process gets its share.
    const runsEach = params.max_executions > 0 ? Math.ceil(params.max_executions / jobs) : 0;
    const results = await Promise.all(
      shards.map(async (shard, k) => {
        if (shard.done) {
          return undefined;
        }
        const seconds = segmentSeconds(shard.before);
        return segmentActivity(seconds)({
          runId: input.runId,
          workspaceId: input.workspace.id,
          engine,
          target: input.target,
          harness,
          params: { ...params, jobs: 1 },
          seconds,
          runs: runsEach > 0 ? Math.max(1, runsEach - shard.before.execs) : 0,
          before: shard.before,
          knownCrashes: carry.crashIds,
          shard: k,
          shards: jobs,
        });
      }),
    );
    const crashIds = new Set(carry.crashIds);
    results.forEach((result, k) => {
      const shard = shards[k];
      if (!result || !shard) {
        return;
      }
      result.crashIds.forEach((id) => crashIds.add(id));
      shard.done = harnessDone(result, shard.before);
      shard.before = beforeOf(result.last);
      shard.last = result.last;
    });
    carry.crashIds = [...crashIds];
    const combined = combineShardSamples(shards.flatMap((s) => (s.last ? [s.last] : [])));
    if (combined) {
      latest = { ...combined, uniqueCrashes: carry.crashIds.length };
      carry.series = pushSample(carry.series, latest);
    }
    if (shards.every((s) => s.done)) {
      if (latest) {
        carry.finished = [...carry.finished, latest];
      }
      carry.index += 1;
      carry.before = ZERO;
      carry.shards = undefined;
      shardLatest = [];
    }
  };

  const report = async (): Promise<ScanSummary> => {
    phase = 'reporting';
    const part = await reportCrashes({
      runId: input.runId,
      engine,
      rootUri: input.workspace.rootUri,
      harnesses: carry.harnesses,
    });
    const summary = await mergeSarif({
      runId: input.runId,
      workflow,
      parts: [{ tool: engine, key: part.key }],
      target: input.target,
      ...(input.baseline ? { baseline: input.baseline } : {}),
    });
    phase = 'done';
    return { ...summary, fuzzing: { engine, harnesses: carry.finished, uniqueCrashes: part.crashes } };
  };

  try {
    if (carry.harnesses.length === 0) {
      carry.harnesses = await discoverHarnesses({
        engine,
        target: input.target,
        ...(params.target ? { harness: params.target } : {}),
      });
    }
    phase = 'fuzzing';
    // `jobs` > 1: the harness is fuzzed by that many processes, each its own activity on the
    // vertical's queue, so the processes spread over every worker of the vertical. (Runs begun
    // before this existed ran one process in libFuzzer's fork mode: replaying them keeps that.)
    const jobs = Math.max(1, Math.min(64, Math.floor(params.jobs || 1)));
    const sharded = jobs > 1 && patched('fuzz-jobs-as-activities');
    while (carry.index < carry.harnesses.length) {
      const harness = carry.harnesses[carry.index] as Harness;
      if (sharded) {
        await fuzzShards(harness, jobs);
      } else {
        await fuzzOne(harness);
      }
      if (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > 5000) {
        await continueAsNew<(i: FuzzWorkflowInput) => Promise<ScanSummary>>({ ...input, carry });
      }
    }
  } catch (err) {
    if (isCancellation(err)) {
      // Stopped on request: what was found so far is reported before the run ends as cancelled.
      if (latest && !carry.finished.some((f) => f.harness === latest?.harness)) {
        carry.finished = [...carry.finished, latest];
      }
      await CancellationScope.nonCancellable(report);
    }
    throw err;
  }
  return report();
}
