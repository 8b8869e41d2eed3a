// Workflows for activity-process.test.ts: call one activity by name (with a retry policy of the
// test's choosing), or start one and cancel it after a while.
import {
  ActivityCancellationType,
  CancellationScope,
  isCancellation,
  proxyActivities,
  sleep,
} from '@temporalio/workflow';

type AnyActivity = (...args: unknown[]) => Promise<unknown>;

export async function callActivity(name: string, args: unknown[], maximumAttempts: number): Promise<unknown> {
  const activities = proxyActivities<Record<string, AnyActivity>>({
    startToCloseTimeout: '1m',
    retry: { maximumAttempts, initialInterval: '100ms' },
  });
  return (activities[name] as AnyActivity)(...args);
}

export async function cancelActivity(name: string, args: unknown[], afterMs: number): Promise<string> {
  const activities = proxyActivities<Record<string, AnyActivity>>({
    startToCloseTimeout: '1m',
    heartbeatTimeout: '5s',
    retry: { maximumAttempts: 1 },
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  });
  try {
    await CancellationScope.cancellable(async () => {
      const running = (activities[name] as AnyActivity)(...args);
      await sleep(afterMs);
      CancellationScope.current().cancel();
      await running;
    });
  } catch (err) {
    if (isCancellation(err)) {
      return 'cancelled';
    }
    throw err;
  }
  return 'completed';
}
