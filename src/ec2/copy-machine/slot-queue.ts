import type { CopyKindName, Ec2CopyJob } from './contract.ts';
import { type CallbackResult, isLive, type TaskCallbacks } from './copy-waiters.ts';

/**
 * Waiting for a copy slot by token (statemachines/ec2-copy.ts, AwaitSlot): a copy EC2 refused for its copy
 * limit (`ResourceLimitExceeded`) stores its task token in its destination's slot queue, and the copy that
 * ends next in that queue wakes the oldest waiter (SendTaskSuccess), which starts again at once instead of
 * sleeping for its slot estimate. The estimate stays as the task's timeout: a wake-up that is lost (a waker
 * that crashed, a copy that ended before the token was stored) costs no more than the timed wait did.
 *
 * Where: the copy-waiters table (src/adapters/copy-waiters.ts), one item per waiting execution, found
 * through a sparse global secondary index whose partition is the queue and whose sort key the time the copy
 * was first refused, so a Query with `ScanIndexForward` and `Limit` returns the oldest first. A queue is what
 * EC2 counts a limit over: a destination Region, a kind (snapshots and AMIs have separate copy quotas), and
 * the account that makes the copy (Ferry's own, or a destination role's). The copy waiters (copy ids) carry
 * no queue attribute, so they stay out of the index. A global secondary index is read eventually
 * consistently only: a waiter stored a moment before the wake may be missed (its timeout then starts it), and
 * one already woken may be returned again (its token is closed: it counts as done, and the next is tried).
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html,
 * https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_Query.html
 */

/**
 * The table's sparse global secondary index over the slot queues (src/adapters/copy-waiters.ts reads it):
 * partition `slotQueue`, sort `queuedAt` (a Number, epoch ms), every attribute projected, so the oldest
 * waiters of a queue come back from one Query without a read of the table. Only slot waiters carry these
 * attributes ("only items with both index keys appear in a sparse index").
 */
export const SLOT_QUEUE_INDEX = {
  name: 'slot-queue',
  partitionKey: 'slotQueue',
  sortKey: 'queuedAt',
} as const;

/** One execution waiting for a slot. */
export interface SlotWaiter {
  /** The item's key in the table: `slot/<queue>/<execution>` (one wait per execution at a time). */
  key: string;
  queue: string;
  /** Epoch ms the copy was first refused: the oldest waiter is woken first. */
  queuedAt: number;
  taskToken: string;
  execution: string;
  /** Epoch seconds, the table's TTL attribute. */
  expiresAt: number;
}

export interface SlotWaiters {
  /** Stores (or replaces: the execution's next wait has a new token) the waiter. */
  put(waiter: SlotWaiter): Promise<void>;
  /** Up to `limit` waiters of `queue`, the oldest first. */
  oldest(queue: string, limit: number): Promise<SlotWaiter[]>;
  /**
   * How many waiters of `queue` were queued before `queuedAt` (a copy's position: they are woken first),
   * counted up to `atMost`. Eventually consistent, like `oldest`, and it may count a waiter whose task has
   * ended but whose item no waker has reached yet: a position, for a timeout, not a promise.
   */
  ahead(queue: string, queuedAt: number, atMost: number): Promise<number>;
  /** Deletes the waiter if it still holds this token; false when it did not. */
  remove(key: string, taskToken: string): Promise<boolean>;
  /**
   * Records that the slot `freed` (a copy's id) has been handed on, once: true for the first caller, false
   * when another (the completion handler, or the copy's own Finalize) already did.
   */
  claim(freed: string, expiresAt: number): Promise<boolean>;
  /** Undoes a claim whose wake-up failed before it woke anyone, so a retry of the wake can claim again. */
  release(freed: string): Promise<void>;
}

export interface SlotWakeDeps {
  slots: SlotWaiters;
  callbacks: TaskCallbacks;
  now: () => number;
}

/** A woken or expired waiter's item outlives its task by an hour before TTL may delete it. */
const GRACE_SECONDS = 3600;
/** Waiters read per Query: the oldest is usually live; a few closed ones are skipped in the same page. */
const PAGE = 5;
/** A queue with this many closed tokens at its head is left to the waiters' timeouts. */
const MAX_TRIED = 25;

/** Who makes the copy, so whose limit it counts against: a destination role's account, or Ferry's own. */
const makerOf = (destination: Ec2CopyJob['destination']): string =>
  destination.roleArn ? (destination.roleArn.split(':')[4] ?? destination.roleArn) : 'home';

export const slotQueueKey = (region: string, kind: CopyKindName, maker = 'home'): string =>
  `${region}/${kind}/${maker}`;

/** The slot queue a copy waits in. */
export const slotQueueOf = (job: Ec2CopyJob): string =>
  slotQueueKey(job.destination.region, job.kind, makerOf(job.destination));

export const slotWaiterOf = (
  job: Ec2CopyJob,
  queuedAt: number,
  waitSeconds: number,
  taskToken: string,
  execution: string,
  nowMs: number,
): SlotWaiter => {
  const queue = slotQueueOf(job);
  return {
    key: `slot/${queue}/${execution}`,
    queue,
    queuedAt,
    taskToken,
    execution,
    expiresAt: Math.ceil(nowMs / 1000) + waitSeconds + GRACE_SECONDS,
  };
};

export type SlotWakeOutcome =
  | { outcome: 'woken'; execution: string; skipped: number }
  /** No live waiter in the queue (or none left after `skipped` closed tokens). */
  | { outcome: 'empty'; skipped: number }
  /** The slot was handed on already, by the other waker. */
  | { outcome: 'claimed' };

/**
 * A copy of `queue` ended (`freed`, its id): wake the oldest execution waiting for a slot there. A token
 * that is closed (the task timed out and started again, its execution ended) counts as done: its item is
 * deleted and the next waiter is tried. Called by the completion handler and, as a fallback, by the copy's
 * own last step; whichever comes second finds the slot claimed and wakes no one, so one slot wakes one copy.
 *
 * A wake-up that fails before it has woken anyone (SendTaskSuccess or the table failing after the SDK's
 * retries) releases its claim before it throws: otherwise its retry (the event's, the next sweep's) would
 * find the slot claimed and the queued copy would wait for its own timeout. Once a waiter has been sent its
 * token the claim stays, whatever fails after: the slot has been handed on. A SendTaskSuccess that failed
 * on the way back although Step Functions had taken it is the one case a retry wakes a second copy (the
 * first's token is then closed and skipped): one copy over the limit, which EC2 refuses and which waits again.
 */
export async function wakeOldestWaiter(
  queue: string,
  freed: string,
  deps: SlotWakeDeps,
): Promise<SlotWakeOutcome> {
  const claim = `${queue}/${freed}`;
  const first = await deps.slots.claim(claim, Math.ceil(deps.now() / 1000) + GRACE_SECONDS);
  if (!first) return { outcome: 'claimed' };
  const woken = { any: false };
  try {
    return await wakeOldest(queue, freed, deps, woken);
  } catch (error) {
    // The wake-up's own error is the one to report; a release that fails too (the table down) leaves the
    // claim, and the queued copy to its timeout, as before.
    if (!woken.any) await deps.slots.release(claim).catch(() => undefined);
    throw error;
  }
}

/** The claimed slot handed to the oldest live waiter; `woken.any` once one has been sent its token. */
async function wakeOldest(
  queue: string,
  freed: string,
  deps: SlotWakeDeps,
  woken: { any: boolean },
): Promise<SlotWakeOutcome> {
  const nowMs = deps.now();
  let skipped = 0;
  while (skipped < MAX_TRIED) {
    const page = await deps.slots.oldest(queue, PAGE);
    if (page.length === 0) break;
    for (const waiter of page) {
      const sent: CallbackResult = isLive(waiter, nowMs)
        ? await deps.callbacks.succeed(waiter.taskToken, { woken: freed })
        : 'gone';
      woken.any ||= sent === 'sent';
      await deps.slots.remove(waiter.key, waiter.taskToken);
      if (sent === 'sent') return { outcome: 'woken', execution: waiter.execution, skipped };
      skipped += 1;
    }
  }
  return { outcome: 'empty', skipped };
}
