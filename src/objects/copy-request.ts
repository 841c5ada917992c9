import type { CopyObjectCommandInput, HeadObjectCommandOutput } from '@aws-sdk/client-s3';
import type { ObjectDestination } from '#rules/schema';
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
>;

/** A guard on the destination key: overwrite only what we saw, or write only if nothing is there. */
export type DestinationCondition = { ifMatch: string } | { ifNoneMatch: '*' } | undefined;

/** Whether a destination needs the source's tag values (it adds tags to copied ones). */
export const needsSourceTags = (destination: ObjectDestination): boolean =>
  destination.tags.copy && Object.keys(destination.tags.set).length > 0;

export function encodeTagging(tags: Tags): string {
  return new URLSearchParams(Object.entries(tags)).toString();
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
  const { destination } = plan;

  const metadata = {
    ...(destination.metadata.copy ? withoutMarkers(head.Metadata ?? {}) : {}),
    ...destination.metadata.set,
    ...markersFor({ ...source, rule: plan.rule.name }),
  };

  const tagging = taggingFor(plan, sourceTags);
  const crossAccount = destination.account !== undefined && destination.account !== source.account;

  return {
    Bucket: destination.bucket,
    Key: plan.destinationKey,
    CopySource: copySourceOf(source.bucket, source.key, source.versionId),
    CopySourceIfMatch: source.etag,
    ExpectedSourceBucketOwner: source.account,
    ...(destination.account ? { ExpectedBucketOwner: destination.account } : {}),
    MetadataDirective: 'REPLACE',
    Metadata: metadata,
    ...(head.ContentType ? { ContentType: head.ContentType } : {}),
    ...(head.CacheControl ? { CacheControl: head.CacheControl } : {}),
    ...(head.ContentDisposition ? { ContentDisposition: head.ContentDisposition } : {}),
    ...(head.ContentEncoding ? { ContentEncoding: head.ContentEncoding } : {}),
    ...(head.ContentLanguage ? { ContentLanguage: head.ContentLanguage } : {}),
    ...(head.Expires ? { Expires: head.Expires } : {}),
    ...tagging,
    StorageClass: destination.storageClass ?? head.StorageClass ?? 'STANDARD',
    ...encryptionFor(plan),
    // The destination account owns the bucket; without this it could not read an object we wrote.
    ...(crossAccount ? { ACL: 'bucket-owner-full-control' } : {}),
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
  return { TaggingDirective: 'REPLACE', Tagging: encodeTagging({ ...(copy ? sourceTags : {}), ...set }) };
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

/**
 * Whether the replica's ETag must equal the source's: both are plain MD5s only for single-part uploads
 * without SSE-KMS on either side (multipart ETags and KMS ETags are not content digests).
 */
export function etagsComparable(plan: CopyPlan, source: SourceObject, head: SourceHead): boolean {
  return (
    !unquote(source.etag).includes('-') &&
    head.ServerSideEncryption !== 'aws:kms' &&
    head.ServerSideEncryption !== 'aws:kms:dsse' &&
    plan.destination.encryption?.sse !== 'aws:kms'
  );
}
