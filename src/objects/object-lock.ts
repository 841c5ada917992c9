import type { HeadObjectCommandOutput, ObjectLockLegalHoldStatus, ObjectLockMode } from '@aws-sdk/client-s3';
import type { ObjectDestination, ObjectLockPolicy } from '#rules/schema';

/**
 * The Object Lock a replica is written with, computed once for both write paths: CopyObject (the fast path
 * and the machine's single copy) and CreateMultipartUpload (the multipart copy, which carries nothing but
 * bytes), so the same source and destination give the same lock whichever path copies it.
 *
 * What S3 does, and Ferry follows:
 * - S3 Replication copies a version's retention mode, retain-until date and legal hold to its replica in
 *   an Object Lock bucket ("Using Object Lock with S3 Replication",
 *   https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock-managing.html#object-lock-managing-replication).
 *   A CopyObject does not: "the lock is never copied from a copy's source", so Ferry sets it explicitly
 *   with ObjectLockMode / ObjectLockRetainUntilDate / ObjectLockLegalHoldStatus
 *   (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html,
 *   https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateMultipartUpload.html).
 * - The source's lock is read from the HEAD Ferry makes anyway (x-amz-object-lock-mode,
 *   -retain-until-date, -legal-hold); S3 returns those headers only to a caller with s3:GetObjectRetention
 *   and s3:GetObjectLegalHold ("Permissions for viewing lock information", object-lock-managing.html), which
 *   the IAM generated for a rule with `lock` grants.
 *
 * "Stronger", when the source's lock and the destination's minimum both apply: the mode is COMPLIANCE if
 * either is COMPLIANCE (it cannot be shortened or removed by anyone, GOVERNANCE can with a bypass:
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html, "Retention modes"), and the
 * retain-until date is the later of the two. The replica is therefore locked at least as strongly and as
 * long as each of them asks. A legal hold ON at the source stays ON. A source retention already past its
 * date locks nothing (S3 refuses a retain-until date in the past).
 */

export type LockMode = ObjectLockMode;

/** A version's lock: a retention (mode and date), a legal hold, or both. */
export interface ObjectLockSettings {
  mode?: LockMode;
  retainUntil?: Date;
  legalHold?: ObjectLockLegalHoldStatus;
}

/** The lock fields of CopyObject and CreateMultipartUpload. */
export interface LockRequestFields {
  ObjectLockMode?: LockMode;
  ObjectLockRetainUntilDate?: Date;
  ObjectLockLegalHoldStatus?: ObjectLockLegalHoldStatus;
}

export type SourceLockHead = Pick<
  HeadObjectCommandOutput,
  'ObjectLockMode' | 'ObjectLockRetainUntilDate' | 'ObjectLockLegalHoldStatus'
>;

const DAY_MS = 86_400_000;

/** The source version's lock, as its HEAD reports it. */
export function sourceLockOf(head: SourceLockHead): ObjectLockSettings {
  return {
    ...(head.ObjectLockMode && head.ObjectLockRetainUntilDate
      ? { mode: head.ObjectLockMode, retainUntil: new Date(head.ObjectLockRetainUntilDate) }
      : {}),
    ...(head.ObjectLockLegalHoldStatus ? { legalHold: head.ObjectLockLegalHoldStatus } : {}),
  };
}

/**
 * The retain-until date of a minimum of `days` or `years` counted from `now`, as S3 counts a bucket's default
 * retention from the version's creation: days of 24 hours, years as calendar years (UTC).
 */
export function minimumRetainUntil(policy: Pick<ObjectLockPolicy, 'days' | 'years'>, now: number): Date {
  const until = new Date(now);
  if (policy.years !== undefined) until.setUTCFullYear(until.getUTCFullYear() + policy.years);
  else until.setTime(now + (policy.days ?? 0) * DAY_MS);
  return until;
}

const strongerMode = (a: LockMode | undefined, b: LockMode | undefined): LockMode | undefined =>
  a === 'COMPLIANCE' || b === 'COMPLIANCE' ? 'COMPLIANCE' : (a ?? b);

/**
 * The replica's lock from the destination's policy and the source's lock at `now`. Pure. Empty (`{}`) when
 * the destination has no `lock`, or nothing applies: the replica is then written exactly as before.
 */
export function replicaLock(
  policy: ObjectLockPolicy | undefined,
  source: ObjectLockSettings,
  now: number,
): ObjectLockSettings {
  if (!policy) return {};
  const carried: ObjectLockSettings = policy.copy ? source : {};
  const carriedRetention =
    carried.mode && carried.retainUntil && carried.retainUntil.getTime() > now
      ? { mode: carried.mode, retainUntil: carried.retainUntil }
      : undefined;
  const minimum =
    policy.mode && (policy.days !== undefined || policy.years !== undefined)
      ? { mode: policy.mode, retainUntil: minimumRetainUntil(policy, now) }
      : undefined;
  const retentions = [carriedRetention, minimum].filter((r) => r !== undefined);
  const lock: ObjectLockSettings = {};
  if (retentions.length > 0) {
    lock.mode = retentions.reduce<LockMode | undefined>((mode, r) => strongerMode(mode, r.mode), undefined);
    lock.retainUntil = new Date(Math.max(...retentions.map((r) => r.retainUntil.getTime())));
  }
  if (carried.legalHold === 'ON') lock.legalHold = 'ON';
  return lock;
}

/** The request fields of a lock (none for an empty one). */
export function lockRequestFields(lock: ObjectLockSettings): LockRequestFields {
  return {
    ...(lock.mode && lock.retainUntil
      ? { ObjectLockMode: lock.mode, ObjectLockRetainUntilDate: lock.retainUntil }
      : {}),
    ...(lock.legalHold ? { ObjectLockLegalHoldStatus: lock.legalHold } : {}),
  };
}

/** Whether a lock locks anything (a retention, or a legal hold ON): the destination must have Object Lock. */
export const locksSomething = (lock: ObjectLockSettings): boolean =>
  lock.mode !== undefined || lock.legalHold === 'ON';

/** The lock fields of one destination's replica of a source whose HEAD is `head`, at `now`. */
export function replicaLockFields(
  destination: Pick<ObjectDestination, 'lock'>,
  head: SourceLockHead,
  now: number,
): LockRequestFields {
  return lockRequestFields(replicaLock(destination.lock, sourceLockOf(head), now));
}

/**
 * Whether a version's lock holds it at `now`: a legal hold ON, or a retention whose date is still ahead.
 * A delete of such a version by its id is refused by S3 (403 AccessDenied); a delete without a version id
 * only adds a delete marker, which the lock does not prevent (object-lock.html, "How deletes work with
 * S3 Object Lock").
 */
export function lockHolds(lock: ObjectLockSettings, now: number): boolean {
  if (lock.legalHold === 'ON') return true;
  return lock.retainUntil !== undefined && lock.retainUntil.getTime() > now;
}
