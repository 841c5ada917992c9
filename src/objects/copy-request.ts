import type { CopyObjectCommandInput, HeadObjectCommandOutput } from '@aws-sdk/client-s3';
import type { ObjectDestination } from '#rules/schema';
import {
  ObjectTagTooLongError,
  ReplicaKeyTooLongError,
  ReplicaMetadataTooLargeError,
  TooManyObjectTagsError,
} from './errors.ts';
import { etagsMustMatch } from './etag-rule.ts';
import type { SourceObject } from './event.ts';
import { copySourceOf } from './keys.ts';
import { markersFor, withoutMarkers } from './markers.ts';
import { targetOf } from './outcomes.ts';
import type { CopyPlan, Tags } from './router.ts';
import { requestPayerOf } from './source-reads.ts';

/** What HeadObject told us about the source; read once per event and shared by every destination. */
export type SourceHead = Pick<
  HeadObjectCommandOutput,
  | 'Metadata'
  | 'ContentType'
  | 'CacheControl'
  | 'ContentDisposition'
  | 'ContentEncoding'
  | 'ContentLanguage'
  | 'Expires'
  | 'WebsiteRedirectLocation'
  | 'StorageClass'
  | 'ServerSideEncryption'
  // The source's KMS key, for the named cause of a refused copy (source-reads.ts, namedCopyRefusal).
  | 'SSEKMSKeyId'
  | 'TagCount'
  | 'ETag'
  | 'ContentLength'
  | 'ChecksumCRC32'
  | 'ChecksumCRC32C'
  | 'ChecksumCRC64NVME'
  | 'ChecksumSHA1'
  | 'ChecksumSHA256'
  // The source version's Object Lock (object-lock.ts), carried to replicas whose destination has `lock`.
  | 'ObjectLockMode'
  | 'ObjectLockRetainUntilDate'
  | 'ObjectLockLegalHoldStatus'
>;

/** The additional checksum the source was stored with, which a multipart replica must be created with. */
export function checksumAlgorithmOf(
  head: SourceHead,
): 'CRC32' | 'CRC32C' | 'CRC64NVME' | 'SHA1' | 'SHA256' | undefined {
  if (head.ChecksumCRC64NVME) return 'CRC64NVME';
  if (head.ChecksumCRC32C) return 'CRC32C';
  if (head.ChecksumCRC32) return 'CRC32';
  if (head.ChecksumSHA256) return 'SHA256';
  if (head.ChecksumSHA1) return 'SHA1';
  return undefined;
}

/** A guard on the destination key: overwrite only what we saw, or write only if nothing is there. */
export type DestinationCondition = { ifMatch: string } | { ifNoneMatch: '*' } | undefined;

/** Whether a destination needs the source's tag values (it adds tags to copied ones). */
export const needsSourceTags = (destination: ObjectDestination): boolean =>
  destination.tags.copy && Object.keys(destination.tags.set).length > 0;

export function encodeTagging(tags: Tags): string {
  return new URLSearchParams(Object.entries(tags)).toString();
}

/**
 * What S3 refuses in a write, checked before Ferry sends one
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingMetadata.html: user metadata 2 KB, the UTF-8
 * bytes of keys and values; https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-tagging.html: 10
 * tags, keys of 128 and values of 256 Unicode characters;
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html: keys of 1,024 UTF-8 bytes).
 */
export const S3_LIMITS = {
  metadataBytes: 2048,
  tags: 10,
  tagKeyChars: 128,
  tagValueChars: 256,
  keyBytes: 1024,
} as const;

/** The size S3 counts for user metadata: the UTF-8 bytes of every key and value. */
export function metadataBytes(metadata: Readonly<Record<string, string>>): number {
  let bytes = 0;
  for (const [key, value] of Object.entries(metadata))
    bytes += Buffer.byteLength(key, 'utf8') + Buffer.byteLength(value, 'utf8');
  return bytes;
}

/**
 * The replica's user metadata: the source's (unless `copy: false`), then `set`, then Ferry's markers.
 * Markers are written readable when they fit, and compact (the source key as a digest) when the source's
 * own metadata leaves too little room, so an object near the limit still replicates; past the limit even
 * then, the item fails with `MetadataTooLarge` before anything is sent.
 */
export function replicaMetadata(
  plan: CopyPlan,
  source: SourceObject,
  head: SourceHead,
): Record<string, string> {
  const { destination } = plan;
  const own = {
    ...(destination.metadata.copy ? withoutMarkers(head.Metadata ?? {}) : {}),
    ...destination.metadata.set,
  };
  const marked = { ...source, rule: plan.rule.name };
  const readable = { ...own, ...markersFor(marked) };
  if (metadataBytes(readable) <= S3_LIMITS.metadataBytes) return readable;
  const compact = { ...own, ...markersFor(marked, { compact: true }) };
  const bytes = metadataBytes(compact);
  if (bytes > S3_LIMITS.metadataBytes)
    throw new ReplicaMetadataTooLargeError(targetOf(plan), bytes, S3_LIMITS.metadataBytes);
  return compact;
}

/** The replica's key within S3's 1,024 bytes, or `KeyTooLong` (a keyPrefix longer than the prefix it replaces). */
export function checkedDestinationKey(plan: CopyPlan): string {
  const bytes = Buffer.byteLength(plan.destinationKey, 'utf8');
  if (bytes > S3_LIMITS.keyBytes) throw new ReplicaKeyTooLongError(targetOf(plan), bytes, S3_LIMITS.keyBytes);
  return plan.destinationKey;
}

/**
 * `ExpectedBucketOwner` for a destination whose rule names its account: S3 refuses the request (403) when
 * the bucket is owned by another account, e.g. one that took over a deleted bucket's name.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-owner-condition.html
 */
export const expectedOwnerOf = (destination: ObjectDestination): { ExpectedBucketOwner?: string } =>
  destination.account ? { ExpectedBucketOwner: destination.account } : {};

/** The replica's bucket and key, with its expected owner: what every request about the replica names. */
export const replicaLocation = (plan: CopyPlan) => ({
  Bucket: plan.destination.bucket,
  Key: plan.destinationKey,
  ...expectedOwnerOf(plan.destination),
});

/**
 * What a replica is written with, whether by CopyObject or by CreateMultipartUpload (a multipart copy
 * copies nothing but bytes): user metadata with the markers, content headers (and the website redirect,
 * which a copy drops under MetadataDirective REPLACE), storage class, encryption, the owner's ACL, and the
 * expected owner of the destination bucket. Pure; throws the named error of a limit the replica would break.
 */
export function replicaAttributes(plan: CopyPlan, source: SourceObject, head: SourceHead) {
  const { destination } = plan;
  const crossAccount = destination.account !== undefined && destination.account !== source.account;
  return {
    Bucket: destination.bucket,
    Key: checkedDestinationKey(plan),
    ...expectedOwnerOf(destination),
    Metadata: replicaMetadata(plan, source, head),
    ...(head.ContentType ? { ContentType: head.ContentType } : {}),
    ...(head.CacheControl ? { CacheControl: head.CacheControl } : {}),
    ...(head.ContentDisposition ? { ContentDisposition: head.ContentDisposition } : {}),
    ...(head.ContentEncoding ? { ContentEncoding: head.ContentEncoding } : {}),
    ...(head.ContentLanguage ? { ContentLanguage: head.ContentLanguage } : {}),
    ...(head.Expires ? { Expires: head.Expires } : {}),
    ...(head.WebsiteRedirectLocation ? { WebsiteRedirectLocation: head.WebsiteRedirectLocation } : {}),
    StorageClass: destination.storageClass ?? head.StorageClass ?? 'STANDARD',
    ...encryptionFor(plan),
    // The destination account owns the bucket; without this it could not read an object we wrote.
    ...(crossAccount ? { ACL: 'bucket-owner-full-control' as const } : {}),
  };
}

/** The replica's tags within S3's limits, or the named error of the one they break. */
function checkedTags(plan: CopyPlan, tags: Tags): Tags {
  const entries = Object.entries(tags);
  const target = targetOf(plan);
  if (entries.length > S3_LIMITS.tags)
    throw new TooManyObjectTagsError(target, entries.length, S3_LIMITS.tags);
  for (const [key, value] of entries) {
    // S3 counts Unicode characters, not UTF-16 code units.
    if ([...key].length > S3_LIMITS.tagKeyChars)
      throw new ObjectTagTooLongError(target, `a tag key is over ${S3_LIMITS.tagKeyChars} characters`);
    if ([...value].length > S3_LIMITS.tagValueChars)
      throw new ObjectTagTooLongError(
        target,
        `the value of tag "${key}" is over ${S3_LIMITS.tagValueChars} characters`,
      );
  }
  return tags;
}

/**
 * The destination's tag policy applied to the source's tags: the source's (`copy`), then `set`, within S3's
 * limits or the named error of the one they break. The one definition of a replica's tags: the copy, the
 * multipart upload and the tag sync of a replica (tag-sync.ts) all write this.
 */
export function replicaTags(plan: CopyPlan, sourceTags: Tags | undefined): Tags {
  const { copy, set } = plan.destination.tags;
  return checkedTags(plan, { ...(copy ? sourceTags : {}), ...set });
}

/** The replica's full tag set, for writes that cannot copy tags by directive (multipart uploads). */
export function replicaTagging(plan: CopyPlan, sourceTags: Tags | undefined): string {
  return encodeTagging(replicaTags(plan, sourceTags));
}

/**
 * Every limit S3 would refuse the replica for, checked without sending anything: the key, the metadata
 * with the markers, and the tags where Ferry writes them (a tag COPY keeps the source's, which S3 accepted).
 * Called before the hand-off to the state machine, as CopyObject and CreateMultipartUpload build on the same
 * functions; reconcile goes through the same entry point, so it reports such an item without writing.
 */
export function checkReplicaLimits(
  plan: CopyPlan,
  source: SourceObject,
  head: SourceHead,
  sourceTags: Tags | undefined,
): void {
  replicaAttributes(plan, source, head);
  if (!(plan.destination.tags.copy && sourceTags === undefined)) taggingFor(plan, sourceTags);
}

/**
 * The CopyObject request for one plan. Pure. Metadata is always REPLACEd, because the replica markers must
 * be added; so the source's user metadata and content headers are carried over explicitly.
 */
export function buildCopyRequest(input: {
  plan: CopyPlan;
  source: SourceObject;
  head: SourceHead;
  /** Required when `needsSourceTags(plan)`. */
  sourceTags?: Tags;
  condition?: DestinationCondition;
}): CopyObjectCommandInput {
  const { plan, source, head, sourceTags, condition } = input;
  return {
    ...replicaAttributes(plan, source, head),
    CopySource: copySourceOf(source.bucket, source.key, source.versionId),
    CopySourceIfMatch: source.etag,
    ExpectedSourceBucketOwner: source.account,
    ...requestPayerOf(source),
    MetadataDirective: 'REPLACE',
    ...taggingFor(plan, sourceTags),
    ...(condition && 'ifMatch' in condition ? { IfMatch: condition.ifMatch } : {}),
    ...(condition && 'ifNoneMatch' in condition ? { IfNoneMatch: condition.ifNoneMatch } : {}),
  };
}

function taggingFor(
  plan: CopyPlan,
  sourceTags: Tags | undefined,
): Pick<CopyObjectCommandInput, 'TaggingDirective' | 'Tagging'> {
  const { copy, set } = plan.destination.tags;
  if (copy && Object.keys(set).length === 0) return { TaggingDirective: 'COPY' };
  if (copy && sourceTags === undefined) {
    throw new TypeError(
      `rule "${plan.rule.name}" adds tags to copied ones, but the source tags were not read`,
    );
  }
  return { TaggingDirective: 'REPLACE', Tagging: replicaTagging(plan, sourceTags) };
}

function encryptionFor(
  plan: CopyPlan,
): Pick<CopyObjectCommandInput, 'ServerSideEncryption' | 'SSEKMSKeyId' | 'BucketKeyEnabled'> {
  const encryption = plan.destination.encryption;
  if (!encryption) return {};
  if (encryption.sse === 'AES256') return { ServerSideEncryption: 'AES256' };
  return {
    ServerSideEncryption: 'aws:kms',
    SSEKMSKeyId: encryption.kmsKeyId,
    BucketKeyEnabled: encryption.bucketKey,
  };
}

export const unquote = (etag: string): string => etag.replaceAll('"', '');

/** Whether a CopyObject replica's ETag must equal the source's: `etagsMustMatch`, for the fast path. */
export function etagsComparable(plan: CopyPlan, source: SourceObject, head: SourceHead): boolean {
  return etagsMustMatch({
    sourceETag: source.etag,
    encryptions: [head.ServerSideEncryption, plan.destination.encryption?.sse],
    replica: { copy: true },
  });
}
