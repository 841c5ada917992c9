import { createHash } from 'node:crypto';
import { formatDuration } from './duration.ts';

/**
 * When an item missed its RPO, and which event says so: pure, clocks in ms since the epoch.
 *
 * The RPO clock of an item starts at its source's creation as Ferry learns it: the `time` of the S3 "Object
 * Created" event, or of the EBS "Snapshot Notification" / "EC2 AMI State Change" that made the source
 * copyable (reconcile, finding a source whose event was lost, uses the object's LastModified or the
 * snapshot's StartTime / the image's CreationDate). It stops when the replica or copy is verified (object
 * ETag and size read back; snapshot `completed`; image `available`, finalized). S3 Replication Time Control
 * measures the same span, upload to replica
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-time-control.html).
 */

export type ItemKind = 'object' | 'snapshot' | 'image';

/** One item of a rule with an RPO: a source to one destination. */
export interface RpoItem {
  rule: string;
  kind: ItemKind;
  /** `s3://bucket/key` (with `?versionId=` when known), or the snapshot / image id. */
  item: string;
  /** `s3://bucket/key` of the replica, or the destination Region (and account) of an EC2 copy. */
  destination: string;
  /** When the source was created (see above). */
  sourceTime: number;
  rpoMs: number;
  bytes?: number;
}

export const deadlineOf = (item: Pick<RpoItem, 'sourceTime' | 'rpoMs'>): number =>
  item.sourceTime + item.rpoMs;

/**
 * The backlog monitor runs once per window (an EventBridge schedule, `rate(1 minute)`). Windows are aligned
 * on the epoch and do not overlap, so each deadline falls in exactly one: the run at or after a window's
 * end reports the items whose deadline fell in it and which are still pending, and no other run reports
 * them. No state is kept between runs.
 */
export const MONITOR_WINDOW_MS = 60_000;

export interface Window {
  start: number;
  end: number;
}

/** The window a moment falls in. */
export function windowOf(at: number, windowMs = MONITOR_WINDOW_MS): Window {
  const start = Math.floor(at / windowMs) * windowMs;
  return { start, end: start + windowMs };
}

/** The window a run at `now` judges: the last one to have closed. */
export function judgedWindow(now: number, windowMs = MONITOR_WINDOW_MS): Window {
  const end = Math.floor(now / windowMs) * windowMs;
  return { start: end - windowMs, end };
}

export const fallsIn = (at: number, window: Window): boolean => at >= window.start && at < window.end;

export type RpoEventKind = 'missed' | 'completed-after';

/**
 * `monitored`: the item is in a state machine execution, which the monitor lists. `monitoredSince`: when it
 * entered one, if known; an execution started after the pass judging the deadline (a copy reconcile sent
 * for a lost event, long past its deadline) was never seen pending at it, so that pass sent nothing.
 */
export interface MonitorOptions {
  monitored: boolean;
  monitoredSince?: number;
  windowMs?: number;
}

/** Whether the monitor pass judging the item's deadline saw it pending and has had its chance (by `at`). */
function monitorJudged(item: Pick<RpoItem, 'sourceTime' | 'rpoMs'>, at: number, options: MonitorOptions) {
  const windowMs = options.windowMs ?? MONITOR_WINDOW_MS;
  const judgedAt = windowOf(deadlineOf(item), windowMs).end;
  const seen = (options.monitoredSince ?? Number.NEGATIVE_INFINITY) <= judgedAt;
  return options.monitored && seen && judgedAt + windowMs <= at;
}

export interface Verdict {
  latencyMs: number;
  withinRpo: boolean;
  /** The events the verifying step owes: none within the RPO; see `verdictAt`. */
  events: RpoEventKind[];
}

/**
 * The judgement when the item is verified at `verifiedAt`. Past its RPO, the completion event always
 * follows. The missed event is the monitor's when the monitor saw the item pending at its deadline: the item
 * was in a state machine execution (`monitored`) and the run judging its deadline's window has had its
 * chance, one more window for a late run included. Otherwise (the fast path, which no monitor sees; or a
 * deadline whose window was not yet judged) the verifying step sends it too, just before the completion
 * event. Near a window's end both may send it: events are at least once, and `detail.id` names the item so
 * that a consumer can drop repeats.
 */
export function verdictAt(
  item: Pick<RpoItem, 'sourceTime' | 'rpoMs'>,
  verifiedAt: number,
  options: MonitorOptions,
): Verdict {
  const latencyMs = Math.max(0, verifiedAt - item.sourceTime);
  if (latencyMs <= item.rpoMs) return { latencyMs, withinRpo: true, events: [] };
  const monitorHadIt = monitorJudged(item, verifiedAt, options);
  return {
    latencyMs,
    withinRpo: false,
    events: monitorHadIt ? ['completed-after'] : ['missed', 'completed-after'],
  };
}

/**
 * An item whose copy machine execution failed for good at `at` is not verified by it, but it has not
 * missed its RPO yet: another attempt of the same copy (a redrive, a reconcile, a repeated event: the
 * attempts of src/adapters/execution-attempts.ts) may still verify it within the RPO. So when the pass
 * judging its deadline lists the execution (it started by then, `monitoredSince`), the pass decides: a
 * RUNNING attempt is pending, a FAILED one is judged from its input unless another attempt ran or
 * succeeded (src/rpo/ended.ts); the failing step sends nothing, whether the deadline has passed or not.
 * Only an execution that pass never saw (started after it) sends the missed event at its failure, and so does
 * a failure no monitor lists (`monitored: false`: the fast path's permanent failure).
 */
export function missedAtFailure(
  item: Pick<RpoItem, 'sourceTime' | 'rpoMs'>,
  options: MonitorOptions,
): boolean {
  if (!options.monitored) return true;
  const judgedAt = windowOf(deadlineOf(item), options.windowMs ?? MONITOR_WINDOW_MS).end;
  return (options.monitoredSince ?? Number.NEGATIVE_INFINITY) > judgedAt;
}

/** EventBridge's `source` for Ferry's events (`aws.` sources are AWS's own). */
export const EVENT_SOURCE = 'ferry';

export const DETAIL_TYPE = {
  missed: 'Ferry Replication Missed Threshold',
  'completed-after': 'Ferry Replication Completed After Threshold',
} as const satisfies Record<RpoEventKind, string>;

export interface RpoEventDetail {
  /** The same for every event about this item and destination: repeats can be dropped by it. */
  id: string;
  rule: string;
  kind: ItemKind;
  item: string;
  destination: string;
  rpo: string;
  rpoSeconds: number;
  sourceTime: string;
  deadline: string;
  /** How old the item was when the event was made. */
  ageSeconds: number;
  /** Completion: source to verified replica. */
  latencySeconds?: number;
  /** What held the item, when known (the last retryable error, the copy's state, the copy limit...). */
  cause?: string;
}

export const itemIdOf = (item: Pick<RpoItem, 'rule' | 'item' | 'destination'>): string =>
  createHash('sha256').update([item.rule, item.item, item.destination].join('\n')).digest('hex').slice(0, 32);

export function eventDetail(kind: RpoEventKind, item: RpoItem, at: number, cause?: string): RpoEventDetail {
  const ageSeconds = Math.round(Math.max(0, at - item.sourceTime) / 1000);
  return {
    id: itemIdOf(item),
    rule: item.rule,
    kind: item.kind,
    item: item.item,
    destination: item.destination,
    rpo: formatDuration(item.rpoMs),
    rpoSeconds: Math.round(item.rpoMs / 1000),
    sourceTime: new Date(item.sourceTime).toISOString(),
    deadline: new Date(deadlineOf(item)).toISOString(),
    ageSeconds,
    ...(kind === 'completed-after' ? { latencySeconds: ageSeconds } : {}),
    ...(cause ? { cause } : {}),
  };
}
