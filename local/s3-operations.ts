import type { IncomingHttpHeaders } from 'node:http';

/**
 * Subresources S3 has and the sandbox does not serve: a request for one is its own operation (answered
 * 501 by the gateway), never mistaken for a listing or an object read.
 */
const UNSERVED_SUBRESOURCES = [
  'acl',
  'policy',
  'policyStatus',
  'cors',
  'lifecycle',
  'website',
  'logging',
  'notification',
  'replication',
  'accelerate',
  'requestPayment',
  'ownershipControls',
  'publicAccessBlock',
  'encryption',
  'intelligent-tiering',
  'metrics',
  'analytics',
  'torrent',
  'attributes',
  'select',
];

/**
 * Object Lock's subresources: `?object-lock` of a bucket, `?retention` and `?legal-hold` of an object, read
 * (GET) or written (PUT). Any other method or level is its own (unserved) operation, never a delete of the
 * bucket or the object the subresource belongs to.
 */
function objectLockOperationOf(
  method: string,
  key: string,
  has: (name: string) => boolean,
): string | undefined {
  const verb = method === 'GET' ? 'Get' : method === 'PUT' ? 'Put' : undefined;
  if (has('object-lock')) {
    return verb && !key
      ? `${verb}ObjectLockConfiguration`
      : `${method} ${key ? 'object' : 'bucket'} ?object-lock`;
  }
  if (has('retention')) return verb && key ? `${verb}ObjectRetention` : `${method} ?retention`;
  if (has('legal-hold')) return verb && key ? `${verb}ObjectLegalHold` : `${method} ?legal-hold`;
  return undefined;
}

/**
 * A bucket's `?inventory`: with `id`, one configuration read, written or deleted; without, the listing.
 * On an object, or another method, it is its own (unserved) operation.
 */
function inventoryOperationOf(method: string, key: string, has: (name: string) => boolean): string {
  if (key) return `${method} object ?inventory`;
  if (method === 'GET')
    return has('id') ? 'GetBucketInventoryConfiguration' : 'ListBucketInventoryConfigurations';
  if (method === 'PUT') return 'PutBucketInventoryConfiguration';
  if (method === 'DELETE') return 'DeleteBucketInventoryConfiguration';
  return `${method} bucket ?inventory`;
}

/**
 * The S3 API operation a path-style request calls: the gateway's routing key (local/s3/routes.ts) and the
 * request counts (the benchmarks' cost figures). `path` is the raw request path, before any normalisation.
 */
export function s3OperationOf(
  method: string,
  path: string,
  query: URLSearchParams,
  headers: IncomingHttpHeaders,
): string {
  const [, bucket = '', ...rest] = path.split('/');
  const key = rest.join('/');
  const has = (name: string) => query.has(name);
  const copy = headers['x-amz-copy-source'] !== undefined;
  const unserved = UNSERVED_SUBRESOURCES.find(has);
  if (!bucket) return method === 'GET' ? 'ListBuckets' : `${method} /`;
  const lock = objectLockOperationOf(method, key, has);
  if (lock) return lock;
  if (has('inventory')) return inventoryOperationOf(method, key, has);
  if (unserved) return `${method} ${key ? 'object' : 'bucket'} ?${unserved}`;
  if (!key) {
    if (has('tagging')) return `${method} bucket ?tagging`;
    if (method === 'GET' && has('uploads')) return 'ListMultipartUploads';
    if (method === 'GET' && has('location')) return 'GetBucketLocation';
    if (method === 'GET' && has('versioning')) return 'GetBucketVersioning';
    if (method === 'PUT' && has('versioning')) return 'PutBucketVersioning';
    if (method === 'GET' && has('versions')) return 'ListObjectVersions';
    if (method === 'POST' && has('delete')) return 'DeleteObjects';
    if (method === 'HEAD') return 'HeadBucket';
    if (method === 'GET') return query.get('list-type') === '2' ? 'ListObjectsV2' : 'ListObjects';
    if (method === 'PUT') return 'CreateBucket';
    if (method === 'DELETE') return 'DeleteBucket';
    return `${method} bucket`;
  }
  if (has('tagging')) {
    if (method === 'GET') return 'GetObjectTagging';
    if (method === 'PUT') return 'PutObjectTagging';
    if (method === 'DELETE') return 'DeleteObjectTagging';
  }
  if (method === 'PUT' && has('uploadId')) return copy ? 'UploadPartCopy' : 'UploadPart';
  if (method === 'PUT') return copy ? 'CopyObject' : 'PutObject';
  if (method === 'POST' && has('uploads')) return 'CreateMultipartUpload';
  if (method === 'POST' && has('uploadId')) return 'CompleteMultipartUpload';
  if (method === 'POST' && has('restore')) return 'RestoreObject';
  if (method === 'DELETE' && has('uploadId')) return 'AbortMultipartUpload';
  if (method === 'DELETE') return 'DeleteObject';
  if (method === 'GET' && has('uploadId')) return 'ListParts';
  if (method === 'GET') return 'GetObject';
  if (method === 'HEAD') return 'HeadObject';
  return `${method} object`;
}

/** The raw path of a request (`req.url` before `?`), which `new URL` would normalise (`..`, `//`). */
export const rawPathOf = (url: string | undefined) => (url ?? '/').split('?')[0] ?? '/';
