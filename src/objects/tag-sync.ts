import {
  GetObjectTaggingCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  PutObjectTaggingCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { destinationTarget } from '#foundation/aws-clients';
import { type ClassifiedError, classifyError } from '#foundation/errors/classify';
import type { ObjectRule } from '#rules/schema';
import { tagsMatch } from '#rules/tags';
import { etagsComparable, expectedOwnerOf, replicaTags, unquote } from './copy-request.ts';
import type { ObjectTagsChangedEvent, SourceObject } from './event.ts';
import { isReplicaOf, readMarkers } from './markers.ts';
import { failed, type Outcome, type Report, record, skipped, targetOf } from './outcomes.ts';
import type { ObjectReplicationDeps } from './replicate.ts';
import {
  type CopyPlan,
  candidateRules,
  destinationKeyOf,
  filtersOnTags,
  planCopies,
  type Tags,
} from './router.ts';
import { readTags, requestPayerOf } from './source-reads.ts';

/**
 * Replicas follow their source's tag changes (S3 Replication replicates tag changes too: "What does Amazon
 * S3 replicate?", https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-what-is-isnot-replicated.html).
 * On an "Object Tags Added" / "Object Tags Deleted" event, each replica of the tagged version gets the tags
 * its destination's policy makes of the source's new tags (`copy` + `set`: `replicaTags`, the function the
 * copy uses), with one PutObjectTagging on the replica's own version.
 *
 * Conditional on the version replicated, as every write to a replica is:
 * - the tagged version must still be the source key's current object (a HEAD without a version, `If-Match`
 *   on the event's ETag, and the event's version id when the bucket is versioned); a tag change on an older
 *   version, or on an object since replaced or deleted, changes no replica (`source-changed`);
 * - the replica must be Ferry's replica of this source by this rule (markers; `not-a-replica`), and of that
 *   very version: its `ferry-source-version` marker equals the event's version id, or for an unversioned
 *   source its ETag equals the source's where the two must be equal (`other-version`);
 * - PutObjectTagging names the replica's VersionId read by that HEAD (PutObjectTagging takes no `If-Match`,
 *   https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectTagging.html), so in a versioned
 *   destination a newer replica landing in between keeps its own tags. An unversioned destination has no
 *   version to pin: a copy landing between the HEAD and the tag write could get this version's tags, and
 *   reconcile's tag comparison repairs that (README, "Replicas follow their source's tags").
 *
 * Tag filters: routing uses the new tags. A rule whose filter the new tags no longer pass leaves its
 * replicas as they are (`filter-unmatched`): S3 Replication never removes a replica because the source
 * stopped matching a rule's filter, and a DR copy outlives its source's changes. An object whose new tags
 * now pass a filter has no replica (`absent`): the tag event copies nothing, as S3 Replication replicates
 * only new writes (existing objects take S3 Batch Replication,
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/s3-batch-replication-batch.html); Ferry's reconcile
 * copies it on its next pass, as it copies any object of a rule that has no replica.
 */

/** The source of a tag change: what the event names, with what its HEAD adds (size, requester pays). */
export type TaggedSource = Pick<
  SourceObject,
  'bucket' | 'key' | 'region' | 'account' | 'etag' | 'versionId'
> & {
  eventTime: string;
};

export function taggedSourceOf(event: ObjectTagsChangedEvent): TaggedSource {
  const { bucket, object } = event.detail;
  return {
    bucket: bucket.name,
    key: object.key,
    region: event.region,
    account: event.account,
    etag: object.etag,
    versionId: object['version-id'],
    eventTime: event.time,
  };
}

/** Whether any destination of a rule carries its source's tags: only then does a tag change concern it. */
export const copiesTags = (rule: ObjectRule): boolean => rule.to.some((destination) => destination.tags.copy);

/** What was read of the replica key: its ETag, its version (in a versioned bucket) and Ferry's markers. */
type ReplicaHead = Pick<HeadObjectCommandOutput, 'ETag' | 'VersionId' | 'Metadata'>;

async function headOrAbsent(client: S3Client, plan: CopyPlan): Promise<ReplicaHead | undefined> {
  try {
    return await client.send(
      new HeadObjectCommand({
        Bucket: plan.destination.bucket,
        Key: plan.destinationKey,
        ...expectedOwnerOf(plan.destination),
      }),
    );
  } catch (error) {
    if (classifyError(error).cause === 'NoSuchKey') return undefined;
    throw error;
  }
}

/**
 * Whether the replica seen is the replica of `source`'s version by this plan's rule, or why not. Pure.
 * `etagsMustBeEqual`: for an unversioned source, whether replica and source ETags must be equal
 * (etag-rule.ts), the only way to tell its version then.
 */
export function replicaOfVersion(
  replica: ReplicaHead,
  plan: CopyPlan,
  source: Pick<TaggedSource, 'bucket' | 'key' | 'etag' | 'versionId'>,
  etagsMustBeEqual: boolean,
): 'not-a-replica' | 'other-version' | undefined {
  const markers = readMarkers(replica.Metadata);
  if (!markers || !isReplicaOf(markers, source) || markers.rule !== plan.rule.name) return 'not-a-replica';
  if (source.versionId !== undefined)
    return markers.sourceVersion === source.versionId ? undefined : 'other-version';
  if (etagsMustBeEqual && unquote(replica.ETag ?? '') !== unquote(source.etag)) return 'other-version';
  return undefined;
}

const tagsEqual = (a: Tags, b: Tags): boolean => {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => b[key] === a[key]);
};

/**
 * Sets one replica's tags to its destination's policy for `sourceTags`, if it is the replica of the
 * source's version. With `compare` (reconcile), the replica's tags are read first and an equal set is left
 * alone (`up-to-date`): a GetObjectTagging is cheaper than a PutObjectTagging, and most replicas are right.
 */
export async function syncReplicaTags(
  plan: CopyPlan,
  source: TaggedSource,
  sourceTags: Tags,
  etagsMustBeEqual: boolean,
  deps: Pick<ObjectReplicationDeps, 's3'>,
  options: { compare?: boolean } = {},
): Promise<Outcome> {
  if (!plan.destination.tags.copy) return skipped(plan, 'tags-not-copied');
  let desired: Tags;
  try {
    desired = replicaTags(plan, sourceTags);
  } catch (error) {
    // Over S3's limits (10 tags, lengths): the named cause the copy path gives, and nothing is sent.
    return failed(plan, classifyError(error));
  }
  const client = deps.s3(destinationTarget(plan.destination));
  try {
    const replica = await headOrAbsent(client, plan);
    if (!replica) return skipped(plan, 'absent');
    const notThis = replicaOfVersion(replica, plan, source, etagsMustBeEqual);
    if (notThis) return skipped(plan, notThis);
    const location = {
      Bucket: plan.destination.bucket,
      Key: plan.destinationKey,
      ...(replica.VersionId && replica.VersionId !== 'null' ? { VersionId: replica.VersionId } : {}),
      ...expectedOwnerOf(plan.destination),
    };
    if (options.compare) {
      const { TagSet = [] } = await client.send(new GetObjectTaggingCommand(location));
      const current = Object.fromEntries(TagSet.map((tag) => [tag.Key ?? '', tag.Value ?? '']));
      if (tagsEqual(current, desired)) return skipped(plan, 'up-to-date');
    }
    await client.send(
      new PutObjectTaggingCommand({
        ...location,
        Tagging: { TagSet: Object.entries(desired).map(([Key, Value]) => ({ Key, Value })) },
      }),
    );
    return {
      status: 'tags-synced',
      rule: plan.rule.name,
      target: targetOf(plan),
      tags: Object.keys(desired).length,
    };
  } catch (error) {
    const classified = classifyError(error);
    // The replica (or its version) went between the HEAD and the write: nothing left to tag.
    if (classified.cause === 'NoSuchKey' || classified.cause === 'NoSuchVersion')
      return skipped(plan, 'absent');
    return failed(plan, classified);
  }
}

/** Every destination of some rules, for outcomes that concern them all. */
const everyDestination = (rules: readonly ObjectRule[], key: string): CopyPlan[] =>
  rules.flatMap((rule) =>
    rule.to.map((destination, destinationIndex) => ({
      rule,
      destination,
      destinationIndex,
      destinationKey: destinationKeyOf(rule, destination, key),
    })),
  );

const settle = (error: ClassifiedError): ((plan: CopyPlan) => Outcome) =>
  error.class === 'precondition' || error.cause === 'NoSuchKey' || error.cause === 'NoSuchVersion'
    ? (plan) => skipped(plan, 'source-changed')
    : (plan) => failed(plan, error);

/**
 * One tag change of a source object → each replica of its version gets the destination's tag policy of the
 * new tags. Reads the source once (a HEAD of the current object, then GetObjectTagging of the version
 * unless the HEAD counts no tags), then per destination one HEAD of the replica and one PutObjectTagging.
 * Never throws for a single destination: each gets an outcome.
 */
export async function followTagChange(source: TaggedSource, deps: ObjectReplicationDeps): Promise<Report> {
  const report: Report = { source: `s3://${source.bucket}/${source.key}`, outcomes: [] };
  const covering = candidateRules(deps.rules, source).filter(copiesTags);
  if (covering.length === 0) {
    deps.log.debug('No rule copies the tags of this object', { source: report.source });
    return report;
  }
  const requesterPays = covering.some((rule) => rule.objects.requesterPays === true);
  const asSource = { ...source, ...(requesterPays ? { requesterPays } : {}) };
  const sourceClient = deps.s3({ region: source.region });
  let head: HeadObjectCommandOutput;
  let tags: Tags;
  try {
    // The current object of the key (no version), still the event's: else the change concerns no replica.
    head = await sourceClient.send(
      new HeadObjectCommand({
        Bucket: source.bucket,
        Key: source.key,
        IfMatch: source.etag,
        ExpectedBucketOwner: source.account,
        ...requestPayerOf(asSource),
      }),
    );
    const current = head.VersionId === undefined || head.VersionId === 'null' ? undefined : head.VersionId;
    if (source.versionId !== undefined && current !== undefined && current !== source.versionId) {
      for (const plan of everyDestination(covering, source.key))
        record(report, skipped(plan, 'source-changed'), deps);
      return report;
    }
    tags = await readTags(sourceClient, { ...asSource, size: head.ContentLength ?? 0 }, head);
  } catch (error) {
    const outcome = settle(classifyError(error));
    for (const plan of everyDestination(covering, source.key)) record(report, outcome(plan), deps);
    return report;
  }
  const facts = { bucket: source.bucket, key: source.key, size: head.ContentLength ?? 0 };
  const fullSource = { ...asSource, size: facts.size };
  // A replica itself: only rules that chain replicas carry its changes on.
  const rules = readMarkers(head.Metadata)
    ? covering.filter((rule) => rule.objects.replicas === 'chain')
    : covering;
  for (const plan of everyDestination(
    covering.filter((rule) => !rules.includes(rule)),
    source.key,
  ))
    record(report, skipped(plan, 'is-replica'), deps);
  const unmatched = rules.filter((rule) => filtersOnTags(rule) && !tagsMatch(rule.objects.tags, tags));
  for (const plan of everyDestination(unmatched, source.key))
    record(report, skipped(plan, 'filter-unmatched'), deps);
  const plans = planCopies(
    rules.filter((rule) => !unmatched.includes(rule)),
    facts,
    tags,
  );
  const outcomes = await Promise.all(
    plans.map((plan) => syncReplicaTags(plan, source, tags, etagsComparable(plan, fullSource, head), deps)),
  );
  for (const outcome of outcomes) record(report, outcome, deps);
  return report;
}
