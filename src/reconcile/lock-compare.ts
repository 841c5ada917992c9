import { type LockMode, type ObjectLockSettings, replicaLock } from '#objects/object-lock';
import type { ObjectLockPolicy } from '#rules/schema';

/**
 * Reconcile's lock comparison, pure: what one replica's Object Lock lacks against what the one lock
 * computation (`replicaLock`, src/objects/object-lock.ts) wants for it, and what S3 lets Ferry raise.
 *
 * S3 emits no event when a version's retention or legal hold changes: the events S3 sends to EventBridge
 * are Object Created / Deleted / Restore* / Tags Added / Tags Deleted / ACL Updated / Storage Class Changed /
 * Access Tier Changed ("Using EventBridge", https://docs.aws.amazon.com/AmazonS3/latest/userguide/EventBridge.html;
 * "Amazon Simple Storage Service events", https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-s3.html).
 * PutObjectRetention and PutObjectLegalHold reach EventBridge only as CloudTrail data events ("AWS API Call
 * via CloudTrail", best effort, and only with a trail logging S3 data events). So a source's later lock
 * change reaches its replicas through reconcile, which compares the replica's lock on the HEAD it makes.
 *
 * What Ferry writes, and never more than S3 allows without the governance bypass (object-lock.html,
 * "Retention modes"; https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectRetention.html):
 * - no retention in force on the replica: the wanted one, as is;
 * - a retention in force, shorter than wanted: extended to the wanted date in the replica's own mode
 *   (extending is allowed in either mode; a COMPLIANCE replica stays COMPLIANCE). A GOVERNANCE replica
 *   that the computation wants in COMPLIANCE keeps GOVERNANCE: changing the mode of a retention in force
 *   needs `x-amz-bypass-governance-retention`, a permission that could also shorten or remove it, which
 *   Ferry is never granted. It is reported (`modeKept`), not failed;
 * - a legal hold wanted ON and not ON: set (PutObjectLegalHold).
 * Nothing is ever shortened or removed: a replica locked longer, in COMPLIANCE where GOVERNANCE is wanted, or
 * under a legal hold the source released, is left, and reported (`stronger`).
 */

export interface LockComparison {
  /** The retention to write with PutObjectRetention, when the replica's is missing or shorter. */
  raise?: { mode: LockMode; retainUntil: Date };
  /** Whether to set the replica's legal hold ON (PutObjectLegalHold). */
  hold: boolean;
  /** The replica locks more than wanted somewhere (longer, COMPLIANCE, a legal hold): left as it is. */
  stronger: boolean;
  /** COMPLIANCE is wanted over a GOVERNANCE retention in force: the mode is kept (see above). */
  modeKept: boolean;
}

/**
 * A minimum retention (`days`/`years`) is counted from the write (the copy's start), while a replica's
 * Last-Modified is the write's end, later by the copy's duration (a multipart copy of a large object can take
 * hours). A retention short of the minimum counted from Last-Modified by less than this is the same write,
 * not a weaker lock. The source's own retention (carried) is an absolute date and compared exactly.
 */
export const MINIMUM_WRITE_SLACK_MS = 24 * 3_600_000;

const stronger = (a: LockMode | undefined, b: LockMode | undefined): LockMode | undefined =>
  a === 'COMPLIANCE' || b === 'COMPLIANCE' ? 'COMPLIANCE' : (a ?? b);

/**
 * Compares a replica's lock with what its destination's `lock` wants for it: the source's lock as it is
 * now (when `copy`), and the minimum counted from the replica's write (`written`, its Last-Modified).
 */
export function compareReplicaLock(input: {
  policy: ObjectLockPolicy;
  source: ObjectLockSettings;
  replica: ObjectLockSettings;
  written: number;
  now: number;
}): LockComparison {
  const { policy, source, replica, written, now } = input;
  // The one lock computation, in its two halves: the carried lock at `now` (a retention already past is
  // nothing), the minimum at the write.
  const carried = replicaLock({ copy: policy.copy }, source, now);
  const minimum = replicaLock({ ...policy, copy: false }, {}, written);
  const retentions = [carried, minimum].flatMap((lock) =>
    lock.mode && lock.retainUntil && lock.retainUntil.getTime() > now
      ? [{ mode: lock.mode, until: lock.retainUntil.getTime(), isMinimum: lock === minimum }]
      : [],
  );
  const comparison: LockComparison = { hold: false, stronger: false, modeKept: false };

  const replicaUntil = replica.mode && replica.retainUntil ? replica.retainUntil.getTime() : undefined;
  const replicaInForce = replicaUntil !== undefined && replicaUntil > now;
  if (retentions.length > 0) {
    const mode = retentions.reduce<LockMode | undefined>(
      (m, r) => stronger(m, r.mode),
      undefined,
    ) as LockMode;
    const until = Math.max(...retentions.map((r) => r.until));
    const floor = Math.max(
      ...retentions.map((r) => (r.isMinimum ? r.until - MINIMUM_WRITE_SLACK_MS : r.until)),
    );
    if (replicaUntil === undefined || replicaUntil <= now || !replica.mode) {
      comparison.raise = { mode, retainUntil: new Date(until) };
    } else {
      comparison.modeKept = replica.mode === 'GOVERNANCE' && mode === 'COMPLIANCE';
      if (replicaUntil < floor) comparison.raise = { mode: replica.mode, retainUntil: new Date(until) };
      comparison.stronger = replicaUntil > until || (replica.mode === 'COMPLIANCE' && mode === 'GOVERNANCE');
    }
  } else if (replicaInForce) {
    comparison.stronger = true;
  }

  const holdWanted = carried.legalHold === 'ON';
  if (holdWanted && replica.legalHold !== 'ON') comparison.hold = true;
  if (!holdWanted && replica.legalHold === 'ON') comparison.stronger = true;
  return comparison;
}

/** Whether the comparison asks for any write. */
export const needsRepair = (comparison: LockComparison): boolean =>
  comparison.raise !== undefined || comparison.hold;
