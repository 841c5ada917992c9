import { CopyWaitersTableMissingError } from '#ec2/errors';
import type { Ec2CopyJob, QueuedCopy } from './contract.ts';
import { raise } from './error-translation.ts';
import { slotQueueOf, slotWaiterOf, wakeOldestWaiter } from './slot-queue.ts';
import type { Ec2CopyStepDeps } from './step-deps.ts';

/**
 * The await-slot step (AwaitSlot, a `.waitForTaskToken` Task): stores the task token in the copy's slot
 * queue, ordered by when the copy was first refused, so the next copy to end there wakes the oldest waiter
 * (slot-queue.ts). The task then waits for that wake-up, or for its timeout (the slot estimate the start
 * step computed), and StartCopy tries again either way. The answer is for the logs only.
 */
export async function awaitSlot(
  job: Ec2CopyJob,
  queued: QueuedCopy,
  taskToken: string,
  execution: string,
  deps: Ec2CopyStepDeps,
): Promise<{ stored: string; queue: string }> {
  const slots = deps.await?.slots;
  if (!slots) throw new CopyWaitersTableMissingError();
  const now = deps.now();
  const waiter = slotWaiterOf(job, queued.since ?? now, queued.waitSeconds, taskToken, execution, now);
  await slots.put(waiter).catch(raise);
  return { stored: waiter.key, queue: waiter.queue };
}

/**
 * The fallback wake-up, from the last step of a copy that held a slot (Finalize, RecordFailure): the
 * completion handler usually handed the slot on already (then the claim says so and no one else is woken).
 * A failure here is logged, not raised: the copy is done either way, and a waiter left asleep starts at its
 * timeout.
 */
export async function handOnSlot(job: Ec2CopyJob, copyId: string, deps: Ec2CopyStepDeps): Promise<void> {
  const { slots, callbacks } = deps.await ?? {};
  if (!slots || !callbacks) return;
  try {
    const woke = await wakeOldestWaiter(slotQueueOf(job), copyId, { slots, callbacks, now: deps.now });
    if (woke.outcome === 'woken')
      deps.log.info('Slot handed on by the copy itself', { copy: copyId, ...woke });
  } catch (error) {
    deps.log.warn('Could not wake a copy waiting for a slot', { copy: copyId, error });
  }
}
