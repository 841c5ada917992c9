import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { destinationTarget } from '#foundation/aws-clients';
import { classifyError } from '#foundation/errors/classify';
import type { ObjectDeletedEvent } from './event.ts';
import { isReplicaOf, type ReplicaMarkers } from './markers.ts';
import { lockHolds } from './object-lock.ts';
import { type Outcome, type Report, record, type SkipReason, skipped, targetOf } from './outcomes.ts';
import { guardedWrite, readReplica } from './replica-guard.ts';
import type { ObjectReplicationDeps } from './replicate.ts';
import { type CopyPlan, planDeletes } from './router.ts';
import { compareSequencers } from './sequencer.ts';

/** `detail.reason` of an "Object Deleted" event that a lifecycle rule caused (S3 user guide, "Using EventBridge"). */
export const LIFECYCLE_EXPIRATION = 'Lifecycle Expiration';

export interface DeletedObject {
  bucket: string;
  key: string;
  versionId: string | undefined;
  sequencer: string | undefined;
  /** `Delete Marker Created` (versioned bucket) or `Permanently Deleted`. */
  deletionType: string | undefined;
  /** `DeleteObject` (an API call) or `Lifecycle Expiration`; undefined for a delete reconcile found. */
  reason?: string | undefined;
}

export function deletedObjectOf(event: ObjectDeletedEvent): DeletedObject {
  const { bucket, object } = event.detail;
  return {
    bucket: bucket.name,
    key: object.key,
    versionId: object['version-id'],
    sequencer: object.sequencer,
    deletionType: event.detail['deletion-type'],
    reason: event.detail.reason,
  };
}

/**
 * Deletes the replicas of a deleted object where a rule asks for it. Only Ferry's own replica of this very
 * source is deleted, and never one written from a later write than the delete (out-of-order events).
 * A lifecycle expiration is not a delete to replicate unless the destination opts in
 * (`replicateLifecycleDeletes`): as with S3 Replication, the DR copy outlives its source's lifecycle.
 */
export async function deleteReplicas(object: DeletedObject, deps: ObjectReplicationDeps): Promise<Report> {
  const report: Report = { source: `s3://${object.bucket}/${object.key}`, outcomes: [] };
  const plans = planDeletes(deps.rules, object);
  if (plans.length === 0)
    deps.log.debug('No rule replicates deletes of this object', { source: report.source });
  const lifecycle = object.reason === LIFECYCLE_EXPIRATION;
  const outcomes = await Promise.all(
    plans.map((plan) =>
      lifecycle && !plan.destination.replicateLifecycleDeletes
        ? skipped(plan, 'lifecycle-expiration')
        : deleteReplica(plan, object, deps),
    ),
  );
  for (const outcome of outcomes) record(report, outcome, deps);
  return report;
}

/**
 * Why the delete of `object` leaves this replica in place, or undefined when it removes it. Pure: only
 * Ferry's own replica of this very source, never one written from a later write than the delete.
 */
export function keepReplicaReason(
  markers: ReplicaMarkers | undefined,
  object: DeletedObject,
): SkipReason | undefined {
  if (!markers || !isReplicaOf(markers, object)) return 'not-a-replica';
  if (markers.sequencer && object.sequencer && compareSequencers(markers.sequencer, object.sequencer) > 0)
    return 'newer-replica';
  // Removing one old version permanently leaves the current object in place: keep its replica.
  const removesOnlyAnOldVersion =
    object.deletionType === 'Permanently Deleted' &&
    object.versionId !== undefined &&
    markers.sourceVersion !== object.versionId;
  if (removesOnlyAnOldVersion) return 'newer-replica';
  return undefined;
}

/**
 * HEADs the planned replica, and deletes it (a DeleteObject: a delete marker in a versioned bucket) unless
 * `keepReason` says why not, through the replica guard: the delete carries `If-Match` with the ETag just
 * read, so a replica rewritten in between (a newer copy landing) is never removed unseen; a 412 (or 409)
 * re-reads and decides again. Reconcile passes a stricter `keepReason` for replicas of lost deletes.
 */
export async function deleteReplica(
  plan: CopyPlan,
  object: DeletedObject,
  deps: Pick<ObjectReplicationDeps, 's3'> & { now?: () => number },
  keepReason: (
    markers: ReplicaMarkers | undefined,
    object: DeletedObject,
  ) => SkipReason | undefined = keepReplicaReason,
): Promise<Outcome> {
  const client = deps.s3(destinationTarget(plan.destination));
  const base = { rule: plan.rule.name, target: targetOf(plan) };
  const now = deps.now ?? Date.now;
  // Whether the replica last read is held by Object Lock (a legal hold, or a retention still running).
  let held = false;
  try {
    const done = await guardedWrite(
      async () => {
        const seen = await readReplica(client, plan);
        if (!seen.exists) return 'absent';
        held = seen.lock !== undefined && lockHolds(seen.lock, now());
        return keepReason(seen.markers, object) ?? seen;
      },
      async (condition) => {
        // Only an existing replica gets here, so the condition is always the ETag read.
        const ifMatch = 'ifMatch' in condition ? condition.ifMatch : undefined;
        await client.send(
          new DeleteObjectCommand({
            Bucket: plan.destination.bucket,
            Key: plan.destinationKey,
            ExpectedBucketOwner: plan.destination.account,
            IfMatch: ifMatch,
          }),
        );
        // A lock does not stop this delete: without a version id it adds a delete marker and the locked
        // version stays, as S3 Replication's replicated delete markers do
        // (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock-managing.html, "Managing delete
        // markers with Object Lock").
        return { ...base, status: 'deleted' as const, ...(held ? { lockedVersionKept: true as const } : {}) };
      },
      'newer-replica',
    );
    return 'skip' in done ? { ...base, status: 'skipped', reason: done.skip } : done;
  } catch (error) {
    const classified = classifyError(error);
    // With If-Match, S3 answers 404 when the key is gone meanwhile: nothing is left to delete.
    if (classified.cause === 'NoSuchKey') return { ...base, status: 'skipped', reason: 'absent' };
    // S3 answers a delete that Object Lock forbids with 403 AccessDenied ("Access Denied because object
    // protected by object lock", object-lock.html, "How deletes work with S3 Object Lock"): the lock holds
    // the replica, which is not a failure another try could fix. Named, never retried.
    if (held && classified.cause === 'AccessDenied')
      return { ...base, status: 'skipped', reason: 'held-by-lock' };
    return { ...base, status: 'failed', error: classified };
  }
}
