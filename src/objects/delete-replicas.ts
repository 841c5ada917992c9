import { DeleteObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { destinationTarget } from '#aws/clients';
import { classifyError } from '#aws/errors';
import type { ObjectDeletedEvent } from './event.ts';
import { isReplicaOf, type ReplicaMarkers, readMarkers } from './markers.ts';
import { type Outcome, type Report, type SkipReason, targetOf } from './outcomes.ts';
import { type ObjectReplicationDeps, record } from './replicate.ts';
import { type CopyPlan, planDeletes } from './router.ts';
import { compareSequencers } from './sequencer.ts';

export interface DeletedObject {
  bucket: string;
  key: string;
  versionId: string | undefined;
  sequencer: string | undefined;
  /** `Delete Marker Created` (versioned bucket) or `Permanently Deleted`. */
  deletionType: string | undefined;
}

export function deletedObjectOf(event: ObjectDeletedEvent): DeletedObject {
  const { bucket, object } = event.detail;
  return {
    bucket: bucket.name,
    key: object.key,
    versionId: object['version-id'],
    sequencer: object.sequencer,
    deletionType: event.detail['deletion-type'],
  };
}

/**
 * Deletes the replicas of a deleted object where a rule asks for it. Only Ferry's own replica of this very
 * source is deleted, and never one written from a later write than the delete (out-of-order events).
 */
export async function deleteReplicas(object: DeletedObject, deps: ObjectReplicationDeps): Promise<Report> {
  const report: Report = { source: `s3://${object.bucket}/${object.key}`, outcomes: [] };
  const plans = planDeletes(deps.rules, object);
  if (plans.length === 0)
    deps.log.debug('No rule replicates deletes of this object', { source: report.source });
  const outcomes = await Promise.all(plans.map((plan) => deleteReplica(plan, object, deps)));
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
 * HEADs the planned replica, and deletes it (a plain DeleteObject: a delete marker in a versioned bucket)
 * unless `keepReason` says why not. Reconcile passes a stricter `keepReason` for replicas of lost deletes.
 */
export async function deleteReplica(
  plan: CopyPlan,
  object: DeletedObject,
  deps: Pick<ObjectReplicationDeps, 's3'>,
  keepReason: (
    markers: ReplicaMarkers | undefined,
    object: DeletedObject,
  ) => SkipReason | undefined = keepReplicaReason,
): Promise<Outcome> {
  const client = deps.s3(destinationTarget(plan.destination));
  const base = { rule: plan.rule.name, target: targetOf(plan) };
  const location = {
    Bucket: plan.destination.bucket,
    Key: plan.destinationKey,
    ExpectedBucketOwner: plan.destination.account,
  };
  try {
    const replica = await client.send(new HeadObjectCommand(location));
    const reason = keepReason(readMarkers(replica.Metadata), object);
    if (reason !== undefined) return { ...base, status: 'skipped', reason };

    await client.send(new DeleteObjectCommand(location));
    return { ...base, status: 'deleted' };
  } catch (error) {
    const classified = classifyError(error);
    if (classified.cause === 'NoSuchKey') return { ...base, status: 'skipped', reason: 'absent' };
    return { ...base, status: 'failed', error: classified };
  }
}
