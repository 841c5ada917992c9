import { z } from 'zod';
import { ImageStateChangeEventSchema } from '#ec2/images/event';
import { parseEc2Arn, SnapshotNotificationEventSchema } from '#ec2/snapshots/event';
import type { Log } from '#foundation/observability/powertools';
import type { CopyKindName, CopySettledSignal } from './contract.ts';
import { type CopyWaiters, isLive, type TaskCallbacks, waiterKeyOf } from './copy-waiters.ts';
import { type SlotWaiters, type SlotWakeOutcome, slotQueueKey, wakeOldestWaiter } from './slot-queue.ts';

/**
 * The events that end an event-driven wait, both in the copy's (destination) Region:
 * - EBS "EBS Snapshot Notification" with `event: copySnapshot`, `result: succeeded|failed`; `snapshot_id`
 *   is the copy, `source` the source snapshot
 *   (https://docs.aws.amazon.com/ebs/latest/userguide/ebs-cloud-watch-events.html#copy-snapshot-complete);
 * - "EC2 AMI State Change" with `State: available|failed` (sent on a best-effort basis:
 *   https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/monitor-ami-events.html).
 */
export const CopyCompletionEventSchema = z.union([
  SnapshotNotificationEventSchema,
  ImageStateChangeEventSchema,
]);
export type CopyCompletionEvent = z.infer<typeof CopyCompletionEventSchema>;

/** A copy that has ended, in its (destination) Region, as an event or the sweep (sweep.ts) reports it. */
export interface EndedCopy {
  copyId: string;
  region: string;
  kind: CopyKindName;
  outcome: CopySettledSignal['outcome'];
}

/** The copy an event says has ended, or why it says nothing about one. */
export type SettledCopy = EndedCopy | { skipped: string };

export function settledCopyOf(event: CopyCompletionEvent): SettledCopy {
  if (event['detail-type'] === 'EC2 AMI State Change') {
    const { ImageId, State } = event.detail;
    if (State !== 'available' && State !== 'failed') return { skipped: `AMI ${ImageId} is ${State}` };
    return {
      copyId: ImageId,
      region: event.region,
      kind: 'image',
      outcome: State === 'available' ? 'completed' : 'failed',
    };
  }
  const { event: action, result, snapshot_id } = event.detail;
  const snapshot = parseEc2Arn(snapshot_id);
  if (action !== 'copySnapshot' || !snapshot) return { skipped: `${action} of ${snapshot_id}` };
  if (result !== 'succeeded' && result !== 'failed')
    return { skipped: `copySnapshot of ${snapshot.id} ${result}` };
  // EBS puts the Region in the ARN, not always in the same field; the envelope's Region is the event's.
  return {
    copyId: snapshot.id,
    region: event.region,
    kind: 'snapshot',
    outcome: result === 'succeeded' ? 'completed' : 'failed',
  };
}

export interface CompletionDeps {
  waiters: CopyWaiters;
  callbacks: TaskCallbacks;
  slots: SlotWaiters;
  log: Log;
  now: () => number;
}

export type CompletionOutcome =
  | { outcome: 'skipped'; reason: string }
  /** No execution waits for this copy: not Ferry's, or the await step will find it settled itself. */
  | { outcome: 'no-waiter'; key: string; slot: SlotWakeOutcome }
  /** `gone`: the task had already ended (the await step's own look, a timeout, a duplicate event). */
  | { outcome: 'signalled' | 'gone'; key: string; execution: string; slot: SlotWakeOutcome };

/** What ending a copy's wait did, for a copy known to have ended. */
export type CopyWaitEnd = Exclude<CompletionOutcome, { outcome: 'skipped' }>;

/**
 * Ends the wait of the execution waiting for a copy that has ended, whoever noticed (`by`: its event, or the
 * sweep when the event was lost): SendTaskSuccess with the signal (the next state reads the copy from EC2,
 * so a failed copy is judged as a polled one is), then the waiter is removed. Idempotent: a second delivery
 * finds no waiter, a task already ended answers `gone`. The copy's slot is free now (whoever made the copy:
 * a slot is a slot), so the oldest copy waiting for one in that queue is woken (slot-queue.ts); a second
 * delivery finds the slot claimed. The event and the sweep share this one path, so they cannot differ in
 * what ending a wait means.
 */
export async function endCopyWait(
  ended: EndedCopy,
  by: Exclude<CopySettledSignal['by'], 'await-check'>,
  deps: CompletionDeps,
): Promise<CopyWaitEnd> {
  const key = waiterKeyOf(ended.region, ended.copyId);
  // Only copies made in Ferry's own account have a waiter and reach here: their event reaches the stack
  // (`completionEventReachesStack`), and the sweep reads the table.
  const slot = await wakeOldestWaiter(slotQueueKey(ended.region, ended.kind), ended.copyId, deps);
  const waiter = await deps.waiters.get(key);
  if (!waiter || !isLive(waiter, deps.now())) return { outcome: 'no-waiter', key, slot };
  const signal: CopySettledSignal = { copyId: ended.copyId, outcome: ended.outcome, by };
  const sent = await deps.callbacks.succeed(waiter.taskToken, signal);
  await deps.waiters.remove(key, waiter.taskToken);
  const outcome = sent === 'sent' ? 'signalled' : 'gone';
  deps.log.info(`copy wait ended by ${by === 'event' ? 'its event' : 'the sweep'}`, {
    key,
    execution: waiter.execution,
    outcome,
    slot,
  });
  return { outcome, key, execution: waiter.execution, slot };
}

/** The completion event's handler: the copy it names, if it names one that ended, ends its wait. */
export async function completeCopyWait(
  event: CopyCompletionEvent,
  deps: CompletionDeps,
): Promise<CompletionOutcome> {
  const settled = settledCopyOf(event);
  if ('skipped' in settled) return { outcome: 'skipped', reason: settled.skipped };
  return endCopyWait(settled, 'event', deps);
}
