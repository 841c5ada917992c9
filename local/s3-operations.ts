import type { IncomingHttpHeaders } from 'node:http';

/** The S3 API operation a path-style request calls, for request counts (the benchmarks' cost figures). */
export function s3OperationOf(method: string, url: URL, headers: IncomingHttpHeaders): string {
  const [, bucket = '', ...rest] = url.pathname.split('/');
  const key = rest.join('/');
  const has = (name: string) => url.searchParams.has(name);
  const copy = headers['x-amz-copy-source'] !== undefined;
  if (!bucket) return 'ListBuckets';
  if (!key) {
    if (method === 'GET' && has('uploads')) return 'ListMultipartUploads';
    if (method === 'GET' && has('location')) return 'GetBucketLocation';
    if (method === 'POST' && has('delete')) return 'DeleteObjects';
    if (method === 'HEAD') return 'HeadBucket';
    if (method === 'GET') return 'ListObjects';
    if (method === 'PUT') return 'CreateBucket';
    return `${method} bucket`;
  }
  if (has('tagging'))
    return method === 'GET'
      ? 'GetObjectTagging'
      : method === 'PUT'
        ? 'PutObjectTagging'
        : 'DeleteObjectTagging';
  if (method === 'PUT' && has('uploadId')) return copy ? 'UploadPartCopy' : 'UploadPart';
  if (method === 'PUT') return copy ? 'CopyObject' : 'PutObject';
  if (method === 'POST' && has('uploads')) return 'CreateMultipartUpload';
  if (method === 'POST' && has('uploadId')) return 'CompleteMultipartUpload';
  if (method === 'DELETE' && has('uploadId')) return 'AbortMultipartUpload';
  if (method === 'DELETE') return 'DeleteObject';
  if (method === 'GET' && has('uploadId')) return 'ListParts';
  if (method === 'GET') return 'GetObject';
  if (method === 'HEAD') return 'HeadObject';
  return `${method} object`;
}
