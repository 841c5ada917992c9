import { GetObjectTaggingCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { SourceHead } from './copy-request.ts';
import type { SourceObject } from './event.ts';
import type { Tags } from './router.ts';

/**
 * HeadObject of the exact object of the event: its version, and only while it still has the event's ETag.
 * With `partNumber`, the same call also tells the size of that part and how many parts the object has.
 */
export function headSource(
  client: S3Client,
  source: SourceObject,
  partNumber?: number,
): Promise<SourceHead & { PartsCount?: number | undefined }> {
  return client.send(
    new HeadObjectCommand({
      Bucket: source.bucket,
      Key: source.key,
      VersionId: source.versionId,
      IfMatch: source.etag,
      ExpectedBucketOwner: source.account,
      // Also returns the source's additional checksum, if it has one (a multipart copy must keep it).
      ChecksumMode: 'ENABLED',
      ...(partNumber ? { PartNumber: partNumber } : {}),
    }),
  );
}

export async function readTags(client: S3Client, source: SourceObject, head: SourceHead): Promise<Tags> {
  if (!head.TagCount) return {}; // HeadObject already says there are none: save the call
  const { TagSet = [] } = await client.send(
    new GetObjectTaggingCommand({
      Bucket: source.bucket,
      Key: source.key,
      VersionId: source.versionId,
      ExpectedBucketOwner: source.account,
    }),
  );
  return Object.fromEntries(TagSet.map((tag) => [tag.Key ?? '', tag.Value ?? '']));
}
