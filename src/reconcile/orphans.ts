import { ListObjectsV2Command, type ListObjectsV2CommandOutput } from '@aws-sdk/client-s3';
import { destinationTarget } from '#foundation/aws-clients';
import { type DeletedObject, deleteReplica, keepReplicaReason } from '#objects/delete-replicas';
import type { ReplicaMarkers } from '#objects/markers';
import { record, type SkipReason } from '#objects/outcomes';
import { candidateRules, destinationKeyOf } from '#objects/router';
import type { ObjectDestination, ObjectRule } from '#rules/schema';
import { CHECK_CONCURRENCY, headObjectOrAbsent, type ObjectReconcileDeps } from './objects.ts';
import { causeOf, keySpaceOf, listing, type RuleReport, recordListingFailure } from './report.ts';

/**
 * Replicas left behind by a lost "Object Deleted" event: for each destination of an object rule that
 * replicates deletes, reconcile lists the rule's key space there and deletes Ferry's replicas of this rule
 * whose source is gone, exactly as the object-deleted handler would have (`deleteReplica`).
 */

/**
 * The source key whose replica this rule writes at `destinationKey` (destinationKeyOf backwards), or
 * undefined when no key of the rule's source maps there (outside the keyPrefix, or the rule's suffix).
 * Size and tags are unknown once the source is gone: like the delete handler, only bucket/prefix/suffix.
 */
export function sourceKeyOf(
  rule: ObjectRule,
  destination: ObjectDestination,
  destinationKey: string,
): string | undefined {
  const space = destination.keyPrefix ?? rule.objects.prefix;
  if (!destinationKey.startsWith(space)) return undefined;
  const key = rule.objects.prefix + destinationKey.slice(space.length);
  if (destinationKeyOf(rule, destination, key) !== destinationKey) return undefined;
  return candidateRules([rule], { bucket: rule.objects.bucket, key }).length > 0 ? key : undefined;
}

export type OrphanKeepReason =
  | 'deletes-not-replicated' // the destination keeps replicas of deleted sources
  | 'lifecycle-unknown' // a gone source may have expired by lifecycle, whose deletes this destination keeps
  | 'outside-rule' // no source key of this rule maps to this destination key
  | 'source-exists'
  | 'other-rule' // Ferry's replica, written by another rule
  | SkipReason; // the object-deleted handler's own reasons (not Ferry's replica of this source, …)

/**
 * Why reconcile keeps a destination object, or undefined when it is an orphaned replica to delete: the
 * destination replicates deletes, the object sits in this rule's key space there, its markers say Ferry
 * copied it from that very source key of this rule's bucket by this rule, and the source is gone. Pure.
 */
export function orphanKeepReason(
  rule: ObjectRule,
  destination: ObjectDestination,
  replica: { key: string; markers: ReplicaMarkers | undefined },
  sourceExists: boolean,
): OrphanKeepReason | undefined {
  if (!destination.replicateDeletes) return 'deletes-not-replicated';
  // A listing cannot tell a lost delete from a lifecycle expiration: only a destination that replicates
  // both may lose a replica to a missing source (a DR copy outlives its source's lifecycle).
  if (!destination.replicateLifecycleDeletes) return 'lifecycle-unknown';
  const sourceKey = sourceKeyOf(rule, destination, replica.key);
  if (sourceKey === undefined) return 'outside-rule';
  if (sourceExists) return 'source-exists';
  if (replica.markers && replica.markers.rule !== rule.name) return 'other-rule';
  return keepReplicaReason(replica.markers, deletedSourceOf(rule, sourceKey));
}

/** The source as a delete with no event: no version, no sequencer (so no version can outrank it). */
const deletedSourceOf = (rule: ObjectRule, key: string): DeletedObject => ({
  bucket: rule.objects.bucket,
  key,
  versionId: undefined,
  sequencer: undefined,
  deletionType: undefined,
});

/**
 * Checks one candidate: a HEAD of its source, and only on a 404 the handler's HEAD, check and delete. Used by
 * the listing sweep and by the inventory join (a replica row with no source row).
 */
export async function checkCandidate(
  rule: ObjectRule,
  index: number,
  key: string,
  sourceKey: string,
  report: RuleReport,
  deps: ObjectReconcileDeps,
): Promise<void> {
  const destination = rule.to[index] as ObjectDestination;
  const source = `s3://${rule.objects.bucket}/${sourceKey}`;
  const item = `s3://${destination.bucket}/${key} (replica of ${source}, deleted)`;
  const orphans = report.orphanedReplicas ?? { found: 0, deleted: 0 };
  report.orphanedReplicas = orphans;
  try {
    // The source is HEADed just before the delete: one re-created since the listing is not lost.
    const head = await headObjectOrAbsent(deps.s3({ region: deps.source.region }), {
      Bucket: rule.objects.bucket,
      Key: sourceKey,
      ExpectedBucketOwner: deps.source.account,
      ...(rule.objects.requesterPays ? { RequestPayer: 'requester' as const } : {}),
    });
    if (head) return;
  } catch (error) {
    report.failed.push({ item, cause: causeOf(error) });
    return;
  }
  const plan = { rule, destination, destinationIndex: index, destinationKey: key };
  const outcome = await deleteReplica(plan, deletedSourceOf(rule, sourceKey), deps, (markers) => {
    const reason = orphanKeepReason(rule, destination, { key, markers }, false);
    if (reason === undefined) orphans.found += 1;
    return reason === undefined ? undefined : asSkipReason(reason);
  });
  if (outcome.status === 'deleted') orphans.deleted += 1;
  if (outcome.status === 'failed')
    report.failed.push({ item, cause: `${outcome.error.cause}: ${outcome.error.message}` });
  // Deletes and failures are logged and counted as the handler's are; the objects kept are not.
  if (outcome.status === 'deleted' || outcome.status === 'failed')
    record({ source: `${source} (reconcile)`, outcomes: [] }, outcome, deps);
}

const asSkipReason = (reason: OrphanKeepReason): SkipReason =>
  reason === 'newer-replica' || reason === 'absent' ? reason : 'not-a-replica';

/**
 * One bounded step of the orphan sweep of `rule.to[index]`: lists at most `budget` keys of the rule's key
 * space there after `after`. A key whose source the pass just listed (`known`) needs no request; any
 * other key of the space costs a HEAD of its source, and a source that is gone the handler's delete.
 */
export async function sweepOrphans(
  rule: ObjectRule,
  index: number,
  after: string | undefined,
  budget: number,
  known: ReadonlySet<string>,
  report: RuleReport,
  deps: ObjectReconcileDeps,
): Promise<{ listed: number; last: string | undefined; done: boolean; failed?: true }> {
  const destination = rule.to[index] as ObjectDestination;
  if (!destination.replicateDeletes || !destination.replicateLifecycleDeletes)
    return { listed: 0, last: after, done: true };
  const client = deps.s3(destinationTarget(destination), { retries: 'patient' });
  const prefix = destination.keyPrefix ?? rule.objects.prefix;
  const space = keySpaceOf(destination.bucket, prefix, destination.region);
  let last = after;
  let listed = 0;
  for (;;) {
    let page: ListObjectsV2CommandOutput;
    try {
      page = await listing(space, () =>
        client.send(
          new ListObjectsV2Command({
            Bucket: destination.bucket,
            Prefix: prefix,
            MaxKeys: Math.min(1000, budget - listed),
            ...(last !== undefined ? { StartAfter: last } : {}),
            ...(destination.account ? { ExpectedBucketOwner: destination.account } : {}),
          }),
        ),
      );
    } catch (error) {
      // Only listed keys are ever checked, each by a HEAD of its source: a page not read deletes nothing.
      recordListingFailure(report, error);
      return { listed, last, done: false, failed: true };
    }
    const keys = (page.Contents ?? []).flatMap((entry) => (entry.Key === undefined ? [] : [entry.Key]));
    listed += keys.length;
    last = keys.at(-1) ?? last;
    const candidates = keys.flatMap((key) => {
      const sourceKey = sourceKeyOf(rule, destination, key);
      return sourceKey === undefined || known.has(sourceKey) ? [] : [{ key, sourceKey }];
    });
    for (let start = 0; start < candidates.length; start += CHECK_CONCURRENCY) {
      await Promise.all(
        candidates
          .slice(start, start + CHECK_CONCURRENCY)
          .map(({ key, sourceKey }) => checkCandidate(rule, index, key, sourceKey, report, deps)),
      );
    }
    const done = !page.IsTruncated || keys.length === 0;
    if (done || listed >= budget) return { listed, last, done };
  }
}
