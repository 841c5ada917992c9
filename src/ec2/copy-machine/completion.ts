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

/** The copy an event says has ended, or why it says nothing about one. */
export type SettledCopy =
  | { copyId: string; region: string; kind: CopyKindName; outcome: CopySettledSignal['outcome'] }
  | { skipped: string };

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

/**
 * Ends the wait of the execution waiting for the copy an event names: SendTaskSuccess with the signal (the
 * next state reads the copy from EC2, so a failed copy is judged as a polled one is), then the waiter is
 * removed. Idempotent: a second delivery finds no waiter, a task already ended answers `gone`. The copy's
 * slot is free now (whoever made the copy: a slot is a slot), so the oldest copy waiting for one in that
 * queue is woken (slot-queue.ts); a second delivery finds the slot claimed.
 */
export async function completeCopyWait(
  event: CopyCompletionEvent,
  deps: CompletionDeps,
): Promise<CompletionOutcome> {
  const settled = settledCopyOf(event);
  if ('skipped' in settled) return { outcome: 'skipped', reason: settled.skipped };
  const key = waiterKeyOf(settled.region, settled.copyId);
  // The event reaches the stack only for copies made in Ferry's own account (`completionEventReachesStack`).
  const slot = await wakeOldestWaiter(slotQueueKey(settled.region, settled.kind), settled.copyId, deps);
  const waiter = await deps.waiters.get(key);
  if (!waiter || !isLive(waiter, deps.now())) return { outcome: 'no-waiter', key, slot };
  const signal: CopySettledSignal = { copyId: settled.copyId, outcome: settled.outcome, by: 'event' };
  const sent = await deps.callbacks.succeed(waiter.taskToken, signal);
  await deps.waiters.remove(key, waiter.taskToken);
  const outcome = sent === 'sent' ? 'signalled' : 'gone';
  deps.log.info('copy wait ended by its event', { key, execution: waiter.execution, outcome, slot });
  return { outcome, key, execution: waiter.execution, slot };
}
