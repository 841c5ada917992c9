import { GetObjectTaggingCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { classifyError } from '#foundation/errors/classify';
import type { SourceHead } from './copy-request.ts';
import {
  RequesterPaysRequiredError,
  SourceEncryptedWithCustomerKeyError,
  SourceKeyNotConfiguredError,
} from './errors.ts';
import type { SourceObject } from './event.ts';
import type { Tags } from './router.ts';

type HeadResult = SourceHead & { PartsCount?: number | undefined };

/**
 * `RequestPayer: requester` for every read of a source whose rule opted in (`requesterPays: true`): a
 * Requester Pays bucket answers other readers 403
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ObjectsinRequesterPaysBuckets.html).
 */
export const requestPayerOf = (source: Pick<SourceObject, 'requesterPays'>) =>
  source.requesterPays ? { RequestPayer: 'requester' as const } : {};

const sourceUri = (source: SourceObject) => `s3://${source.bucket}/${source.key}`;

const headCommand = (source: SourceObject, partNumber: number | undefined, payer: object) =>
  new HeadObjectCommand({
    Bucket: source.bucket,
    Key: source.key,
    VersionId: source.versionId,
    IfMatch: source.etag,
    ExpectedBucketOwner: source.account,
    // Also returns the source's additional checksum, if it has one (a multipart copy must keep it).
    ChecksumMode: 'ENABLED',
    ...(partNumber ? { PartNumber: partNumber } : {}),
    ...payer,
  });

/**
 * HeadObject of the exact object of the event: its version, and only while it still has the event's ETag.
 * With `partNumber`, the same call also tells the size of that part and how many parts the object has.
 *
 * Two refusals get their named cause here, where the request is known to be a HEAD of the source:
 * - 400: HeadObject answers it (with no body) for an SSE-C object read without its key
 *   (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html): `SourceEncryptedWithCustomerKey`;
 * - 403 for a rule that did not opt in to Requester Pays: the same HEAD is asked once more as the payer;
 *   if that one succeeds (one HEAD billed to Ferry's account), the bucket is Requester Pays:
 *   `RequesterPaysRequired`. Otherwise the 403 is the access error it was.
 */
export async function headSource(
  client: S3Client,
  source: SourceObject,
  partNumber?: number,
): Promise<HeadResult> {
  try {
    return await client.send(headCommand(source, partNumber, requestPayerOf(source)));
  } catch (error) {
    const { cause } = classifyError(error);
    if (cause === 'BadRequest')
      throw new SourceEncryptedWithCustomerKeyError(sourceUri(source), { cause: error });
    if (cause === 'AccessDenied' && !source.requesterPays) {
      const asPayer = await client
        .send(headCommand(source, partNumber, { RequestPayer: 'requester' }))
        .then(() => true)
        .catch(() => false);
      if (asPayer) throw new RequesterPaysRequiredError(sourceUri(source), { cause: error });
    }
    throw error;
  }
}

/**
 * The HEAD of the event's object, and the source with the key that exists. S3 encodes keys form-style in
 * events (a space as `+`), but other stores send raw keys, where `a+b.txt` is a literal plus: when the
 * decoded key does not hold the event's object (404, or 412: another object with another ETag sits there)
 * and the event's own key differs, that key is tried once. Both HEADs are pinned by the event's ETag
 * (If-Match), and so is the copy (CopySourceIfMatch): another object that happens to sit at the other key
 * is never taken for the event's. Found under neither, the decoded key's answer stands.
 */
/** A HEAD pinned by the event's ETag found nothing there (404), or another object (412). */
function isNotTheEventObject(error: unknown): boolean {
  const classified = classifyError(error);
  return classified.cause === 'NoSuchKey' || classified.class === 'precondition';
}

export async function headEventObject(
  client: S3Client,
  source: SourceObject,
): Promise<{ source: SourceObject; head: HeadResult }> {
  const { eventKey, ...decoded } = source;
  try {
    return { source: decoded, head: await headSource(client, decoded) };
  } catch (error) {
    const notThere = isNotTheEventObject(error);
    if (eventKey === undefined || eventKey === decoded.key || !notThere) throw error;
    const raw = { ...decoded, key: eventKey };
    try {
      return { source: raw, head: await headSource(client, raw) };
    } catch (rawError) {
      // Neither key holds the object: report it under the decoded key, as S3's events mean it.
      if (isNotTheEventObject(rawError)) throw error;
      throw rawError;
    }
  }
}

/** `head`, when read: HeadObject's TagCount saves the call when there are none. */
export async function readTags(client: S3Client, source: SourceObject, head?: SourceHead): Promise<Tags> {
  if (head && !head.TagCount) return {}; // HeadObject already says there are none: save the call
  const { TagSet = [] } = await client.send(
    new GetObjectTaggingCommand({
      Bucket: source.bucket,
      Key: source.key,
      VersionId: source.versionId,
      ExpectedBucketOwner: source.account,
      ...requestPayerOf(source),
    }),
  );
  return Object.fromEntries(TagSet.map((tag) => [tag.Key ?? '', tag.Value ?? '']));
}

/**
 * Whether `keys` (a rule's `objects.kmsKeys`) may name the key whose ARN S3 gave
 * (x-amz-server-side-encryption-aws-kms-key-id, https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html):
 * the ARN itself or its key id; an alias may name any key (which one needs KMS to tell), so it may be this one.
 */
export function mayNameKey(keys: readonly string[], keyArn: string): boolean {
  const id = keyArn.slice(keyArn.lastIndexOf('/') + 1);
  return keys.some(
    (key) => key === keyArn || key === id || key.startsWith('alias/') || key.includes(':alias/'),
  );
}

/**
 * A copy's refusal, named when its cause is certain: a 403 for a source under a KMS key (`keyArn`, as its
 * HEAD gave it) that the rule does not name is `SourceKeyNotConfigured`. Anything else is returned as it is.
 */
export function namedCopyRefusal(
  error: unknown,
  source: Pick<SourceObject, 'bucket' | 'key'>,
  rule: { name: string; objects: { kmsKeys?: readonly string[] | undefined } },
  keyArn: string | undefined,
): unknown {
  if (keyArn === undefined || classifyError(error).cause !== 'AccessDenied') return error;
  if (mayNameKey(rule.objects.kmsKeys ?? [], keyArn)) return error;
  return new SourceKeyNotConfiguredError(`s3://${source.bucket}/${source.key}`, keyArn, rule.name, {
    cause: error,
  });
}
