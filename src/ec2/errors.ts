import { NamedPermanentError, NamedRetryableError } from '#foundation/errors/named-errors';
import type { Ec2CopyJob } from './copy-machine/contract.ts';

/** Every error of EBS snapshot and AMI copies, named by what went wrong. */

/** One copy per plan could not be started (after the others were): the event is retried as a whole. */
export class CopyStartError extends Error {
  constructor(readonly failures: { job: Ec2CopyJob; error: unknown }[]) {
    super(
      `could not start ${failures.length} cop${failures.length === 1 ? 'y' : 'ies'}: ${failures
        .map(
          ({ job, error }) =>
            `${job.source.id} → ${job.destination.region} [${job.rule}]: ${(error as Error).message}`,
        )
        .join('; ')}`,
    );
    this.name = 'CopyStartError';
  }
}

/** More tags than a copy can carry: permanent, the rule's `tags` (with Ferry's markers) must be fewer. */
export class TooManyEc2TagsError extends Error {
  readonly code = 'TooManyTags';
  constructor(message: string) {
    super(message);
    this.name = 'TooManyEc2TagsError';
  }
}

/** A tag key or value longer than EC2 allows (or an empty key). */
export class Ec2TagTooLongError extends Error {
  readonly code = 'TagTooLong';
  constructor(message: string) {
    super(message);
    this.name = 'Ec2TagTooLongError';
  }
}

/** A tag key in AWS's own `aws:` namespace, which EC2 refuses to let anyone write. */
export class ReservedTagKeyError extends Error {
  readonly code = 'ReservedTagKey';
  constructor(message: string) {
    super(message);
    this.name = 'ReservedTagKeyError';
  }
}

export type TagLimitError = TooManyEc2TagsError | Ec2TagTooLongError | ReservedTagKeyError;

export const isTagLimitError = (error: unknown): error is TagLimitError =>
  error instanceof TooManyEc2TagsError ||
  error instanceof Ec2TagTooLongError ||
  error instanceof ReservedTagKeyError;

/** The copy outlived its deadline while still pending. */
export class CopyDeadlineExceededError extends Error {
  constructor(id: string, hours: number) {
    super(`${id} was still pending ${hours} h after it started; the copy is abandoned and removed`);
    this.name = 'CopyDeadlineExceededError';
  }
}

/**
 * A destination's `lock.expiresAt` is not in the future any more: LockSnapshot refuses an ExpirationDate in
 * the past (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_LockSnapshot.html), so no copy of
 * the rule can be locked until the rule gives a later date. Permanent, found before asking EC2.
 */
export class LockExpiryPassedError extends NamedPermanentError {
  readonly code = 'LockExpiryPassed';
  constructor(snapshotId: string, expiresAt: string) {
    super(
      `${snapshotId} cannot be locked until ${expiresAt}: that time has passed; give the rule a later lock.expiresAt`,
    );
    this.name = 'LockExpiryPassedError';
  }
}

/**
 * A lock, deregistration protection or deprecation Ferry set does not read back as set. Retryable: the
 * finalize step runs again, finds what is already there and sets the rest.
 */
export class CopyProtectionNotVerifiedError extends NamedRetryableError {
  constructor(message: string) {
    super(message);
    this.name = 'CopyProtectionNotVerifiedError';
  }
}

/**
 * Some copies' tags could not be brought to the policy for a reason that may pass (throttling, 5xx): the
 * tag-change event is retried as a whole (Lambda's retries, then the dead letters). Copies already in
 * line are left as they are by the retry (nothing to change).
 */
export class CopyTagSyncRetryableError extends Error {
  constructor(readonly failures: { source: string; rule: string; region: string; cause: string }[]) {
    super(
      `could not sync the tags of ${failures.length} cop${failures.length === 1 ? 'y' : 'ies'}: ${failures
        .map(({ source, rule, region, cause }) => `${source} → ${region} [${rule}]: ${cause}`)
        .join('; ')}`,
    );
    this.name = 'CopyTagSyncRetryableError';
  }
}

/**
 * Event-driven waiting without its table: the deployment did not set `FERRY_COPY_WAITERS_TABLE` for the
 * copy step or the completion handler (a packaging error, not a copy's).
 */
export class CopyWaitersTableMissingError extends Error {
  constructor() {
    super('FERRY_COPY_WAITERS_TABLE is not set: this function cannot store or find copy waiters');
    this.name = 'CopyWaitersTableMissingError';
  }
}

/**
 * A copy sweep that could not look at every Region or end every ended copy's wait, thrown once every group
 * has been tried: the sweep's failures must be seen, since the copies' safety checks are sized for a sweep
 * that is up. EventBridge invokes the function asynchronously, so Lambda runs it twice more and then sends
 * the invocation to its on-failure destination, the dead letters (DeadLettersAlarm):
 * https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html
 */
export class CopySweepIncompleteError extends Error {
  constructor(
    readonly failed: readonly { region: string; kind: string; error: string }[],
    readonly failedEnds: readonly { key: string; error: string }[],
  ) {
    const parts = [
      ...failed.map(({ region, kind, error }) => `${region} ${kind}s: ${error}`),
      ...failedEnds.map(({ key, error }) => `${key}: ${error}`),
    ];
    super(`the copy sweep is incomplete: ${parts.join('; ')}`);
    this.name = 'CopySweepIncompleteError';
  }
}
