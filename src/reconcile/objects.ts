import { randomUUID } from 'node:crypto';
import { HeadObjectCommand, type HeadObjectCommandOutput, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { destinationTarget } from '#foundation/aws-clients';
import { classifyError } from '#foundation/errors/classify';
import { unquote } from '#objects/copy-request';
import { etagsMustMatch, partsOfETag } from '#objects/etag-rule';
import { ObjectCreatedEventSchema, sourceObjectOf } from '#objects/event';
import { encodeEventKey } from '#objects/keys';
import { isReplicaOf, readMarkers } from '#objects/markers';
import { type ObjectReplicationDeps, replicateObject } from '#objects/replicate';
import { candidateRules, destinationKeyOf } from '#objects/router';
import type { ObjectDestination, ObjectRule } from '#rules/schema';
import { isOutranked } from '#rules/shared-replicas';
import { type DestinationListing, listedObjectsOf, listedStatesOf } from './listing-join.ts';
import { reconcileReplicaLocks } from './object-locks.ts';
import { reconcileReplicaTags } from './object-tags.ts';
import {
  causeOf,
  emptyRuleReport,
  keySpaceOf,
  listing,
  type RuleReport,
  recordListingFailure,
} from './report.ts';

/** Where the deployment's source buckets live, which a listing does not say but an S3 event does. */
export interface SourceAccount {
  region: string;
  account: string;
}

export interface ObjectReconcileDeps extends ObjectReplicationDeps {
  source: SourceAccount;
  /**
   * HEAD every replica, as before the listing join (listing-join.ts): only for the requests benchmark's
   * side-by-side of the two.
   */
  headEveryReplica?: boolean;
}

/** A listed source object, as ListObjectsV2 returns it. */
export interface ListedObject {
  key: string;
  size: number;
  etag: string;
  lastModified: Date | undefined;
  /**
   * The source's encryption (`x-amz-server-side-encryption`), where the caller knows it: an inventory's
   * EncryptionStatus does, a ListObjectsV2 answer does not (its Contents carry no encryption,
   * https://docs.aws.amazon.com/AmazonS3/latest/API/API_Object.html).
   */
  serverSideEncryption?: string | undefined;
}

export type ReplicaState = 'missing' | 'stale' | 'current';

/**
 * Whether the replica at one destination is a verified copy of the listed source. Pure. Stale: not Ferry's
 * replica of this source (no markers, or another source's), written before the source's current version,
 * or a copy of another content than the source's current one.
 *
 * The content is judged by the source ETag the replica's markers record (#objects/markers): equal to the
 * listed source's ETag, it is a copy of that content, whatever the encryption on either side (the replica's
 * own ETag is another one for the same bytes when one side is under SSE-KMS and the other not, or under
 * another key: API_Object.html, "ETag"). A replica written before that marker is judged by the
 * comparable-ETag rule (#objects/etag-rule) with every encryption known: the destination's, the replica's
 * and, where the caller knows it, the source's. A listing does not say the source's: such a replica of an
 * SSE-KMS source is then found stale once, and its copy again carries the marker.
 */
export function replicaStateOf(
  replica:
    | Pick<HeadObjectCommandOutput, 'Metadata' | 'ETag' | 'LastModified' | 'ServerSideEncryption'>
    | undefined,
  source: ListedObject & { bucket: string },
  destination: ObjectDestination,
): ReplicaState {
  if (!replica) return 'missing';
  const markers = readMarkers(replica.Metadata);
  if (!markers || !isReplicaOf(markers, source)) return 'stale';
  if (replica.LastModified && source.lastModified && writtenBefore(replica.LastModified, source.lastModified))
    return 'stale';
  if (markers.sourceETag !== undefined)
    return markers.sourceETag === unquote(source.etag) ? 'current' : 'stale';
  // A replica written in parts (its ETag has `-N`) may or may not have kept the source's layout: the
  // listing cannot tell, so only CopyObject replicas are compared.
  const comparable =
    replica.ETag !== undefined &&
    etagsMustMatch({
      sourceETag: source.etag,
      encryptions: [destination.encryption?.sse, replica.ServerSideEncryption, source.serverSideEncryption],
      replica: partsOfETag(replica.ETag) === 0 ? { copy: true } : { parts: 0 },
    });
  if (comparable && unquote(replica.ETag ?? '') !== unquote(source.etag)) return 'stale';
  return 'current';
}

/**
 * Whether `replica` was written in an earlier second than `source`. A HEAD's Last-Modified is an HTTP date,
 * whole seconds (https://www.rfc-editor.org/rfc/rfc9110#name-last-modified), while the source's time may come
 * from an inventory's LastModifiedDate or a listing with a fraction: compared to the millisecond, a copy made
 * in the same second as its source would look older than it.
 */
const writtenBefore = (replica: Date, source: Date): boolean =>
  Math.floor(replica.getTime() / 1000) < Math.floor(source.getTime() / 1000);

/** An S3 "Object Created" event as EventBridge would deliver it for a listed object (the key encoded as S3 does). */
export function objectCreatedEventOf(
  object: ListedObject & { bucket: string },
  where: SourceAccount,
  now: number,
) {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Object Created',
    source: 'aws.s3',
    account: where.account,
    // When the object was written, as S3's own event would say: a copy reconcile makes late is measured
    // against its rule's RPO from the write (src/rpo/), not from the pass that found it missing.
    time: new Date(object.lastModified?.getTime() ?? now).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: where.region,
    resources: [`arn:aws:s3:::${object.bucket}`],
    detail: {
      version: '0',
      bucket: { name: object.bucket },
      object: { key: encodeEventKey(object.key), size: object.size, etag: unquote(object.etag) },
      'request-id': 'ferry-reconcile',
      requester: where.account,
      reason: 'FerryReconcile',
    },
  };
}

/** A HEAD of one key, or undefined when there is no object there (404). Other errors are thrown. */
export async function headObjectOrAbsent(
  client: ReturnType<ObjectReconcileDeps['s3']>,
  input: {
    Bucket: string;
    Key: string;
    ExpectedBucketOwner?: string | undefined;
    RequestPayer?: 'requester' | undefined;
  },
): Promise<HeadObjectCommandOutput | undefined> {
  try {
    return await client.send(new HeadObjectCommand(input));
  } catch (error) {
    const { cause } = classifyError(error);
    if (cause === 'NoSuchKey' || cause === 'NotFound') return undefined;
    throw error;
  }
}

const headReplica = (deps: ObjectReconcileDeps, destination: ObjectDestination, key: string) =>
  headObjectOrAbsent(deps.s3(destinationTarget(destination)), {
    Bucket: destination.bucket,
    Key: key,
    ...(destination.account ? { ExpectedBucketOwner: destination.account } : {}),
  });

/** An object rule's empty report; with orphan counts when a destination replicates deletes. */
export const emptyObjectRuleReport = (rule: ObjectRule): RuleReport => ({
  ...emptyRuleReport(rule.name, 'objects'),
  ...(rule.to.some((destination) => destination.replicateDeletes)
    ? { orphanedReplicas: { found: 0, deleted: 0 } }
    : {}),
});

/**
 * Checks one listed object against every destination of the rule (a HEAD each, but where the destination's
 * listing already told: `listed`, by index in `rule.to`) and sends it through replicateObject if needed.
 * Also the inventory join's check of rows whose ETags it cannot compare.
 */
export async function reconcileOne(
  rule: ObjectRule,
  object: ListedObject,
  report: RuleReport,
  deps: ObjectReconcileDeps,
  listed: readonly (ReplicaState | undefined)[] = [],
): Promise<void> {
  const bucket = rule.objects.bucket;
  const item = `s3://${bucket}/${object.key}`;
  try {
    const heads = await Promise.all(
      rule.to.map(async (destination, index) => {
        const key = destinationKeyOf(rule, destination, object.key);
        // A rule of higher priority owns this replica key (#rules/shared-replicas): not this rule's to check.
        if (isOutranked(rule, index, destination.bucket, key))
          return { state: 'current' as const, head: undefined };
        const state = listed[index];
        if (state !== undefined) return { state, head: undefined };
        const head = await headReplica(deps, destination, key);
        return { state: replicaStateOf(head, { ...object, bucket }, destination), head };
      }),
    );
    const states = heads.map(({ state }) => state);
    // Present and current: a lost tag-change event may still have left its tags behind (object-tags.ts), and
    // a source's lock change (S3 emits no event for it) its lock (object-locks.ts), both read on the HEADs
    // just made.
    if (states.every((state) => state === 'current')) {
      const replicas = heads.map(({ head }) => head);
      await reconcileReplicaTags(rule, object, replicas, report, deps);
      return reconcileReplicaLocks(rule, object, replicas, report, deps);
    }
    if (states.includes('missing')) report.missing += 1;
    else report.stale += 1;
    await sendThroughCreatePath(rule, object, report, deps);
  } catch (error) {
    report.failed.push({ item, cause: causeOf(error) });
  }
}

/**
 * Sends a source object found missing or stale through the object-created handler's own path
 * (`replicateObject` with a synthetic "Object Created" event), so the ordering guard, limits, locks and
 * markers all apply; counts it as sent, skipped or failed (per destination, with its cause). Used by the
 * listing pass and by the inventory join (inventory/join-step.ts).
 */
export async function sendThroughCreatePath(
  rule: ObjectRule,
  object: ListedObject,
  report: RuleReport,
  deps: ObjectReconcileDeps,
): Promise<void> {
  const bucket = rule.objects.bucket;
  const item = `s3://${bucket}/${object.key}`;
  try {
    const event = ObjectCreatedEventSchema.parse(
      objectCreatedEventOf({ ...object, bucket }, deps.source, deps.now()),
    );
    const result = await replicateObject(sourceObjectOf(event), { ...deps, rules: [rule] });
    const failures = result.outcomes.flatMap((outcome) =>
      outcome.status === 'failed'
        ? [{ item: `${item} → ${outcome.target}`, cause: `${outcome.error.cause}: ${outcome.error.message}` }]
        : [],
    );
    report.failed.push(...failures);
    if (failures.length > 0) return;
    if (result.outcomes.some((outcome) => outcome.status === 'copied' || outcome.status === 'handed-off'))
      report.sent += 1;
    else report.skipped += 1;
  } catch (error) {
    report.failed.push({ item, cause: causeOf(error) });
  }
}

export const CHECK_CONCURRENCY = 16;

/**
 * One bounded step over an object rule: lists at most `budget` keys under the rule's prefix after `after`,
 * and reconciles those that pass the rule's pure filters (tags are checked by the normal path), each
 * page's replicas judged from their destinations' listings where those can tell, by HEAD otherwise.
 * Returns the last key listed, whether the listing reached its end, and every key listed (they existed:
 * the orphan sweep that follows in the same pass need not HEAD their replicas' sources).
 */
export async function reconcileObjectRule(
  rule: ObjectRule,
  after: string | undefined,
  budget: number,
  deps: ObjectReconcileDeps,
): Promise<{
  report: RuleReport;
  listed: number;
  last: string | undefined;
  done: boolean;
  seen: Set<string>;
  /** A listing failed for good (in the report's `failed`): the step stopped before the page it was reading. */
  failed?: true;
}> {
  const report = emptyObjectRuleReport(rule);
  const seen = new Set<string>();
  const client = deps.s3({ region: deps.source.region }, { retries: 'patient' });
  const space = keySpaceOf(rule.objects.bucket, rule.objects.prefix, deps.source.region);
  const walks = new Map<number, DestinationListing>();
  let last = after;
  let listed = 0;
  // A page is judged only once both the source listing and the destinations' listings answered it: a
  // missing page must never look like missing objects or replicas.
  const readPage = async (pageAfter: string | undefined) => {
    const page = await listing(space, () =>
      client.send(
        new ListObjectsV2Command({
          Bucket: rule.objects.bucket,
          Prefix: rule.objects.prefix,
          MaxKeys: Math.min(1000, budget - listed),
          // A Requester Pays source is listed as payer too (its rule opted in).
          ...(rule.objects.requesterPays ? { RequestPayer: 'requester' as const } : {}),
          ...(pageAfter !== undefined ? { StartAfter: pageAfter } : {}),
        }),
      ),
    );
    const objects = listedObjectsOf(page.Contents);
    const candidates = objects.filter(
      (object) =>
        candidateRules([rule], { bucket: rule.objects.bucket, key: object.key, size: object.size }).length >
        0,
    );
    // The destinations' listings tell most replicas' states for a LIST per 1,000 keys (listing-join.ts).
    const states = deps.headEveryReplica
      ? []
      : await listedStatesOf(rule, candidates, pageAfter, walks, deps);
    return { truncated: page.IsTruncated === true, objects, candidates, states };
  };
  for (;;) {
    let read: Awaited<ReturnType<typeof readPage>>;
    try {
      read = await readPage(last);
    } catch (error) {
      recordListingFailure(report, error);
      return { report, listed, last, done: false, seen, failed: true };
    }
    const { objects, candidates, states } = read;
    listed += objects.length;
    last = objects.at(-1)?.key ?? last;
    for (const object of objects) seen.add(object.key);
    report.scanned += candidates.length;
    for (let start = 0; start < candidates.length; start += CHECK_CONCURRENCY) {
      await Promise.all(
        candidates
          .slice(start, start + CHECK_CONCURRENCY)
          .map((object, offset) => reconcileOne(rule, object, report, deps, states[start + offset])),
      );
    }
    const done = !read.truncated || objects.length === 0;
    if (done || listed >= budget) return { report, listed, last, done, seen };
  }
}
