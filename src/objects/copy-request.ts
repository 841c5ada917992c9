import type { CopyObjectCommandInput, HeadObjectCommandOutput } from '@aws-sdk/client-s3';
import type { ObjectDestination } from '#rules/schema';
import { etagsMustMatch } from './etag-rule.ts';
import type { SourceObject } from './event.ts';
import { copySourceOf } from './keys.ts';
import { markersFor, withoutMarkers } from './markers.ts';
import type { CopyPlan, Tags } from './router.ts';

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
  | 'StorageClass'
  | 'ServerSideEncryption'
  | 'TagCount'
  | 'ETag'
  | 'ContentLength'
  | 'ChecksumCRC32'
  | 'ChecksumCRC32C'
  | 'ChecksumCRC64NVME'
  | 'ChecksumSHA1'
  | 'ChecksumSHA256'
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
 * What a replica is written with, whether by CopyObject or by CreateMultipartUpload (a multipart copy
 * copies nothing but bytes): user metadata with the markers, content headers, storage class, encryption,
 * the owner's ACL, and the expected owner of the destination bucket. Pure.
 */
export function replicaAttributes(plan: CopyPlan, source: SourceObject, head: SourceHead) {
  const { destination } = plan;
  const crossAccount = destination.account !== undefined && destination.account !== source.account;
  return {
    Bucket: destination.bucket,
    Key: plan.destinationKey,
    ...(destination.account ? { ExpectedBucketOwner: destination.account } : {}),
    Metadata: {
      ...(destination.metadata.copy ? withoutMarkers(head.Metadata ?? {}) : {}),
      ...destination.metadata.set,
      ...markersFor({ ...source, rule: plan.rule.name }),
    },
    ...(head.ContentType ? { ContentType: head.ContentType } : {}),
    ...(head.CacheControl ? { CacheControl: head.CacheControl } : {}),
    ...(head.ContentDisposition ? { ContentDisposition: head.ContentDisposition } : {}),
    ...(head.ContentEncoding ? { ContentEncoding: head.ContentEncoding } : {}),
    ...(head.ContentLanguage ? { ContentLanguage: head.ContentLanguage } : {}),
    ...(head.Expires ? { Expires: head.Expires } : {}),
    StorageClass: destination.storageClass ?? head.StorageClass ?? 'STANDARD',
    ...encryptionFor(plan),
    // The destination account owns the bucket; without this it could not read an object we wrote.
    ...(crossAccount ? { ACL: 'bucket-owner-full-control' as const } : {}),
  };
}

/** The replica's full tag set, for writes that cannot copy tags by directive (multipart uploads). */
export function replicaTagging(plan: CopyPlan, sourceTags: Tags | undefined): string {
  const { copy, set } = plan.destination.tags;
  return encodeTagging({ ...(copy ? sourceTags : {}), ...set });
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
