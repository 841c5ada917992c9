import type { ClassifiedError } from '#foundation/errors/classify';
import type { Log } from '#foundation/observability/powertools';
import type { ReplicationMetrics } from '#foundation/observability/replication-metrics';
import { RetryableReplicationError } from './errors.ts';
import type { CopyPlan } from './router.ts';

/** Why a planned copy (or delete) was rightly not made. */
export type SkipReason =
  | 'source-changed' // a newer write replaced the object; its own event carries it
  | 'newer-replica' // the destination already holds a later version of this key
  | 'up-to-date' // the destination already holds this very version (a duplicate event)
  | 'is-replica' // the object is a Ferry replica and the rule does not chain replicas
  | 'not-a-replica' // delete: the destination object was not written by Ferry from this source
  | 'lifecycle-expiration' // delete: a lifecycle rule expired the source; the DR copy outlives it
  | 'absent' // delete, tag sync: there is nothing at the destination
  | 'held-by-lock' // delete: S3 refused it because Object Lock holds the replica's version
  | 'other-version' // tag sync: the replica is of another version than the one whose tags changed
  | 'filter-unmatched' // tag sync: the new tags no longer pass the rule's tag filter; the replica is kept as it is
  | 'tags-not-copied'; // tag sync: the destination's tags are its `set` only, which no source change moves

export type Outcome =
  | { status: 'copied'; rule: string; target: string; etag: string; bytes: number }
  | {
      status: 'deleted';
      rule: string;
      target: string;
      /** The replica's version is held by Object Lock: the delete added a delete marker, the version stays. */
      lockedVersionKept?: true;
    }
  | { status: 'tags-synced'; rule: string; target: string; tags: number }
  | { status: 'handed-off'; rule: string; target: string; execution: string; reason: string }
  | { status: 'skipped'; rule: string; target: string; reason: SkipReason }
  | { status: 'failed'; rule: string; target: string; error: ClassifiedError };

export interface Report {
  source: string;
  outcomes: Outcome[];
}

export const targetOf = (plan: CopyPlan): string => `s3://${plan.destination.bucket}/${plan.destinationKey}`;

export const skipped = (plan: CopyPlan, reason: SkipReason): Outcome => ({
  status: 'skipped',
  rule: plan.rule.name,
  target: targetOf(plan),
  reason,
});

export const failed = (plan: CopyPlan, error: ClassifiedError): Outcome => ({
  status: 'failed',
  rule: plan.rule.name,
  target: targetOf(plan),
  error,
});

/** What logging and counting an outcome takes. */
export interface OutcomeSinks {
  log: Log;
  metrics: ReplicationMetrics;
  now: () => number;
}

/** Adds an outcome to the report, and logs and counts it (logOutcome) with the report's source. */
export function record(report: Report, outcome: Outcome, deps: OutcomeSinks, eventTime?: string): void {
  report.outcomes.push(outcome);
  logOutcome(outcome, { source: report.source, ...outcome }, deps, eventTime);
}

/**
 * Logs and counts one outcome the same way wherever it came from: the handlers' reports (record) and the
 * object-copy machine's steps. `context` is what the log line carries; `eventTime`, when known, gives the
 * replication latency of a copy.
 */
export function logOutcome(
  outcome: Outcome,
  context: Record<string, unknown>,
  deps: OutcomeSinks,
  eventTime?: string,
): void {
  switch (outcome.status) {
    case 'copied':
      deps.metrics.copied(outcome.rule, outcome.bytes, eventTime ? deps.now() - Date.parse(eventTime) : 0);
      // Per-replica lines at DEBUG: the metrics carry the counts, and an INFO line per replica is most of
      // what a small object's logs cost (BENCHMARKS.md, requests). applicationLogLevel DEBUG shows them.
      deps.log.debug('Replica written and verified', context);
      return;
    case 'deleted':
      deps.metrics.deleted(outcome.rule);
      deps.log.debug(
        outcome.lockedVersionKept
          ? 'Replica deleted: a delete marker; Object Lock keeps its version'
          : 'Replica deleted',
        context,
      );
      return;
    case 'tags-synced':
      deps.metrics.tagsSynced('object', outcome.rule);
      deps.log.debug('Replica tags set to the tag policy', context);
      return;
    case 'handed-off':
      deps.log.info('Handed to the object-copy state machine', context);
      return;
    case 'skipped':
      deps.metrics.skipped(outcome.rule, outcome.reason);
      deps.log.debug(`Skipped: ${outcome.reason}`, context);
      return;
    case 'failed':
      deps.metrics.failed(outcome.rule, outcome.error.cause);
      if (outcome.error.class === 'retryable')
        deps.log.warn(`Retryable failure: ${outcome.error.cause}`, context);
      else deps.log.error(`Permanent failure: ${outcome.error.cause}`, context);
      return;
  }
}

export function throwIfRetryable(report: Report): Report {
  const retry = report.outcomes.some((o) => o.status === 'failed' && o.error.class === 'retryable');
  if (retry) throw new RetryableReplicationError(report);
  return report;
}
