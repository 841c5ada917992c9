import type { ClassifiedError } from '#aws/errors';
import type { CopyPlan } from './router.ts';

/** Why a planned copy (or delete) was rightly not made. */
export type SkipReason =
  | 'source-changed' // a newer write replaced the object; its own event carries it
  | 'newer-replica' // the destination already holds a later version of this key
  | 'up-to-date' // the destination already holds this very version (a duplicate event)
  | 'is-replica' // the object is a Ferry replica and the rule does not chain replicas
  | 'not-a-replica' // delete: the destination object was not written by Ferry from this source
  | 'lifecycle-expiration' // delete: a lifecycle rule expired the source; the DR copy outlives it
  | 'absent'; // delete: there is nothing at the destination

export type Outcome =
  | { status: 'copied'; rule: string; target: string; etag: string; bytes: number }
  | { status: 'deleted'; rule: string; target: string }
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

/** Thrown after every destination was tried, when some failed in a way that a later attempt may fix. */
export class RetryableReplicationError extends Error {
  constructor(readonly report: Report) {
    const failed = report.outcomes.filter((o) => o.status === 'failed' && o.error.class === 'retryable');
    super(
      `${failed.length} of ${report.outcomes.length} replications of ${report.source} failed and will be retried: ` +
        failed.map((o) => `${o.target} (${o.status === 'failed' ? o.error.cause : ''})`).join(', '),
    );
    this.name = 'RetryableReplicationError';
  }
}

export function throwIfRetryable(report: Report): Report {
  const retry = report.outcomes.some((o) => o.status === 'failed' && o.error.class === 'retryable');
  if (retry) throw new RetryableReplicationError(report);
  return report;
}
