import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { checkMetadata, tagsOfHeader } from './limits.ts';
import { lockHeaders } from './object-lock.ts';
import type { Bucket, ObjectAttributes, StoredObject } from './store.ts';
import { httpDate, s3Error } from './wire.ts';

/**
 * An object's attributes as requests give them (PutObject, CopyObject with REPLACE, CreateMultipartUpload)
 * and as HEAD and GET return them: https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html and
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html.
 */

export const STORAGE_CLASSES = new Set([
  'STANDARD',
  'REDUCED_REDUNDANCY',
  'STANDARD_IA',
  'ONEZONE_IA',
  'INTELLIGENT_TIERING',
  'GLACIER',
  'DEEP_ARCHIVE',
  'OUTPOSTS',
  'GLACIER_IR',
  'SNOW',
  'EXPRESS_ONEZONE',
]);

/** Storage classes whose objects must be restored before they can be read or copied. */
const ARCHIVED = new Set(['GLACIER', 'DEEP_ARCHIVE']);

const text = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
};

const optional = <K extends string>(name: K, value: string | undefined) =>
  (value === undefined ? {} : { [name]: value }) as Partial<Record<K, string>>;

export function storageClassOf(headers: IncomingHttpHeaders): string {
  const storageClass = text(headers, 'x-amz-storage-class') ?? 'STANDARD';
  if (!STORAGE_CLASSES.has(storageClass)) {
    throw s3Error(400, 'InvalidStorageClass', 'The storage class you specified is not valid', {
      extra: { StorageClassRequested: storageClass },
    });
  }
  return storageClass;
}

export function metadataOf(headers: IncomingHttpHeaders): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith('x-amz-meta-') && value !== undefined) {
      metadata[name.slice('x-amz-meta-'.length)] = Array.isArray(value) ? value.join(',') : value;
    }
  }
  checkMetadata(metadata);
  return metadata;
}

/**
 * The ETag of an object written whole (PutObject, CopyObject): the MD5 of its bytes in plaintext or under
 * SSE-S3, and not an MD5 of its bytes under SSE-KMS (or DSSE-KMS)
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_Object.html, "ETag"). S3 does not say what it is
 * then: the sandbox gives 32 random hex digits, new at each write, so code that takes a KMS object's ETag for
 * its content digest (the same bytes copied give the same ETag) fails here as it would on S3.
 */
export function wholeObjectETag(md5: string, serverSideEncryption: string | undefined): string {
  return serverSideEncryption?.startsWith('aws:kms') ? randomBytes(16).toString('hex') : md5;
}

/** Whether an object's ETag is the MD5 of its bytes: written whole, not under KMS (wholeObjectETag). */
export const etagIsMd5 = (object: Pick<StoredObject, 'partSizes' | 'serverSideEncryption'>): boolean =>
  !object.partSizes && !object.serverSideEncryption?.startsWith('aws:kms');

/**
 * Encryption as the request asks for it. S3 encrypts every new object (SSE-S3, `AES256`, unless the request
 * or the bucket says otherwise); the sandbox stores the answer and echoes it, and encrypts nothing.
 */
export function encryptionOf(
  headers: IncomingHttpHeaders,
): Pick<ObjectAttributes, 'serverSideEncryption' | 'kmsKeyId' | 'bucketKeyEnabled'> {
  const sse = text(headers, 'x-amz-server-side-encryption');
  if (sse !== undefined && !['AES256', 'aws:kms', 'aws:kms:dsse'].includes(sse)) {
    throw s3Error(400, 'InvalidArgument', 'The encryption method specified is not supported', {
      extra: { ArgumentName: 'x-amz-server-side-encryption', ArgumentValue: sse },
    });
  }
  const kmsKeyId = text(headers, 'x-amz-server-side-encryption-aws-kms-key-id');
  return {
    serverSideEncryption: sse ?? 'AES256',
    ...(sse?.startsWith('aws:kms') ? optional('kmsKeyId', kmsKeyId) : {}),
    ...(sse?.startsWith('aws:kms')
      ? optional('bucketKeyEnabled', text(headers, 'x-amz-server-side-encryption-bucket-key-enabled'))
      : {}),
  };
}

/** The content headers (type, encoding, disposition, language, cache control, expiry) a request sets. */
export function contentOf(
  headers: IncomingHttpHeaders,
): Pick<
  ObjectAttributes,
  'contentType' | 'contentEncoding' | 'contentDisposition' | 'contentLanguage' | 'cacheControl' | 'expires'
> {
  return {
    contentType: text(headers, 'content-type') ?? 'binary/octet-stream',
    ...optional('contentEncoding', text(headers, 'content-encoding')),
    ...optional('contentDisposition', text(headers, 'content-disposition')),
    ...optional('contentLanguage', text(headers, 'content-language')),
    ...optional('cacheControl', text(headers, 'cache-control')),
    ...optional('expires', text(headers, 'expires')),
  };
}

/** Every attribute a new object's request sets (PutObject, CreateMultipartUpload), checked against S3's limits. */
export function attributesOf(headers: IncomingHttpHeaders): ObjectAttributes {
  return {
    metadata: metadataOf(headers),
    ...contentOf(headers),
    ...optional('websiteRedirectLocation', text(headers, 'x-amz-website-redirect-location')),
    storageClass: storageClassOf(headers),
    ...encryptionOf(headers),
    tags: tagsOfHeader(text(headers, 'x-amz-tagging')),
  };
}

/**
 * S3 refuses SSE-C (customer-provided keys) over plain HTTP, for the object or a copy source
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ServerSideEncryptionCustomerKeys.html), and the
 * sandbox is plain HTTP: every request with SSE-C headers gets S3's answer to that.
 */
export function refuseCustomerKeys(headers: IncomingHttpHeaders): void {
  const customerHeader = Object.keys(headers).some(
    (name) =>
      name.startsWith('x-amz-server-side-encryption-customer-') ||
      name.startsWith('x-amz-copy-source-server-side-encryption-customer-'),
  );
  if (customerHeader) {
    throw s3Error(
      400,
      'InvalidRequest',
      'Requests specifying Server Side Encryption with Customer provided keys must be made over a secure connection.',
    );
  }
}

/**
 * `x-amz-expected-bucket-owner` (and `x-amz-source-expected-bucket-owner` for a copy source): S3 answers
 * 403 AccessDenied when the bucket (or the copy source's bucket) belongs to another account than expected
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-owner-condition.html). Buckets belong to the
 * sandbox account unless declared another's (a cross-account destination).
 */
export function checkExpectedOwner(
  headers: IncomingHttpHeaders,
  bucket: string,
  ownerOf: (bucket: string) => string,
): void {
  const expected = text(headers, 'x-amz-expected-bucket-owner');
  if (expected !== undefined && expected !== ownerOf(bucket))
    throw s3Error(403, 'AccessDenied', 'Access Denied');
  const sourceExpected = text(headers, 'x-amz-source-expected-bucket-owner');
  const copySource = text(headers, 'x-amz-copy-source');
  if (sourceExpected === undefined || copySource === undefined) return;
  const sourceBucket = decodeURIComponent(copySource.replace(/^\//, '').split('/')[0] ?? '');
  if (sourceExpected !== ownerOf(sourceBucket)) throw s3Error(403, 'AccessDenied', 'Access Denied');
}

/** Whether an object sits in an archive tier, not restored: it can be neither read nor copied. */
export function isArchived(object: StoredObject, now = new Date()): boolean {
  return ARCHIVED.has(object.storageClass) && !(object.restoredUntil && object.restoredUntil > now);
}

export const invalidObjectState = (storageClass: string) =>
  s3Error(403, 'InvalidObjectState', "The operation is not valid for the object's storage class", {
    extra: { StorageClass: storageClass },
  });

/** `x-amz-version-id` is sent for buckets that have versioning (enabled or suspended), as S3 does. */
export const versionHeader = (bucket: Bucket, versionId: string): Record<string, string> =>
  bucket.versioning === 'Unversioned' ? {} : { 'x-amz-version-id': versionId };

/** The headers HEAD and GET answer an object with (not its length: that depends on the range). */
export function objectHeaders(bucket: Bucket, object: StoredObject): Record<string, string> {
  const headers: Record<string, string> = {
    etag: `"${object.etag}"`,
    'last-modified': httpDate(object.lastModified),
    'content-type': object.contentType,
    'accept-ranges': 'bytes',
    ...versionHeader(bucket, object.versionId),
  };
  for (const [name, value] of Object.entries(object.metadata)) headers[`x-amz-meta-${name}`] = value;
  const optionalHeaders: [string, string | undefined][] = [
    ['content-encoding', object.contentEncoding],
    ['content-disposition', object.contentDisposition],
    ['content-language', object.contentLanguage],
    ['cache-control', object.cacheControl],
    ['expires', object.expires],
    ['x-amz-website-redirect-location', object.websiteRedirectLocation],
    // HEAD omits the storage class of STANDARD objects.
    ['x-amz-storage-class', object.storageClass === 'STANDARD' ? undefined : object.storageClass],
    ['x-amz-server-side-encryption', object.serverSideEncryption],
    ['x-amz-server-side-encryption-aws-kms-key-id', object.kmsKeyId],
    ['x-amz-server-side-encryption-bucket-key-enabled', object.bucketKeyEnabled],
    ['x-amz-tagging-count', object.tags.length > 0 ? String(object.tags.length) : undefined],
    [
      'x-amz-restore',
      object.restoredUntil
        ? `ongoing-request="false", expiry-date="${httpDate(object.restoredUntil)}"`
        : undefined,
    ],
  ];
  for (const [name, value] of optionalHeaders) if (value !== undefined) headers[name] = value;
  return { ...headers, ...lockHeaders(object) };
}
