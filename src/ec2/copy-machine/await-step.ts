import { CopyWaitersTableMissingError } from '#ec2/errors';
import type { CopyProgress, CopySettledSignal, Ec2CopyJob } from './contract.ts';
import { type CopyWaiters, type TaskCallbacks, waiterOf } from './copy-waiters.ts';
import { permanent, raise } from './error-translation.ts';
import { FIRST_CHECK_SECONDS } from './safety-check.ts';
import type { SlotWaiters } from './slot-queue.ts';
import { destinationClient, type Ec2CopyStepDeps } from './step-deps.ts';

export interface AwaitDeps {
  waiters: CopyWaiters;
  callbacks: TaskCallbacks;
  /** The slot queues (AwaitSlot, and the wake-up a copy's end sends): slot-queue.ts. */
  slots: SlotWaiters;
}

/**
 * The await step (AwaitCopy, a `.waitForTaskToken` Task): stores the task token under the copy's id, so the
 * completion handler can end the wait when the copy's event arrives, then looks at the copy once. The look
 * closes the race where the event came (and found no token) before the token was stored: a copy already
 * settled is signalled here, and its waiter removed. The function's answer is not the task's result (only a
 * callback is); it says what happened, for the logs.
 */
export async function awaitCopy(
  job: Ec2CopyJob,
  copy: CopyProgress,
  taskToken: string,
  execution: string,
  deps: Ec2CopyStepDeps,
): Promise<{ stored: string; settled?: CopySettledSignal['outcome'] }> {
  const { waiters, callbacks } = deps.await ?? {};
  if (!waiters || !callbacks) throw new CopyWaitersTableMissingError();
  // The task's timeout is the step's `safetySeconds`; a copy from an execution started before there was
  // one waits under that execution's flat ceiling.
  const timeoutSeconds = copy.safetySeconds ?? FIRST_CHECK_SECONDS;
  const waiter = waiterOf(job.destination.region, copy.id, taskToken, execution, deps.now(), timeoutSeconds);
  await waiters.put(waiter).catch(raise);

  const view = await deps.kinds[job.kind].describe(destinationClient(job, deps), copy.id).catch(raise);
  if (!view) throw permanent('CopyVanished', `${copy.id} no longer exists in ${job.destination.region}`);
  if (view.state === 'pending') return { stored: waiter.key };

  const signal: CopySettledSignal = { copyId: copy.id, outcome: view.state, by: 'await-check' };
  // `gone`: the event's handler completed the task meanwhile; either way the wait is over.
  await callbacks.succeed(taskToken, signal).catch(raise);
  await waiters.remove(waiter.key, taskToken).catch(raise);
  return { stored: waiter.key, settled: view.state };
}
