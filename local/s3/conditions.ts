import type { IncomingHttpHeaders } from 'node:http';
import type { StoredObject } from './store.ts';
import { noSuchKey, preconditionFailed, s3Error } from './wire.ts';

/**
 * S3's conditional requests, as its documentation states them:
 * - reads (GetObject, HeadObject): https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-requests.html
 *   and RFC 7232's order: If-Match, else If-Unmodified-Since (412); then If-None-Match, else
 *   If-Modified-Since (304);
 * - writes (PutObject, CopyObject, CompleteMultipartUpload):
 *   https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html: If-None-Match `*` fails
 *   (412) when the key has an object, If-Match fails (412) on another ETag and answers 404 NoSuchKey when
 *   there is no object; a conditional write that another write to the key overtook is a 409 conflict;
 * - copy sources (CopyObject, UploadPartCopy): https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html,
 *   the same order, every failure a 412.
 */

const header = (headers: IncomingHttpHeaders, name: string) => {
  const value = headers[name];
  return typeof value === 'string' ? value : undefined;
};

const unquote = (etag: string) => etag.trim().replace(/^W\//, '').replaceAll('"', '');

/** Whether a list of ETags (`"a", "b"` or `*`) names the object's ETag. */
const names = (list: string, etag: string) =>
  list.split(',').some((item) => item.trim() === '*' || unquote(item) === etag);

/** HTTP dates have whole seconds: an object modified at 12:00:00.5 was not modified since 12:00:00. */
const seconds = (date: Date) => Math.floor(date.getTime() / 1000);
const dateOf = (text: string | undefined) => {
  if (text === undefined) return undefined;
  const time = Date.parse(text);
  return Number.isNaN(time) ? undefined : Math.floor(time / 1000);
};

const notModified = () => s3Error(304, 'NotModified', 'Not Modified');

/** GET and HEAD: throws the 412 or 304 S3 answers, or returns when the object is to be sent. */
export function checkReadConditions(object: StoredObject, headers: IncomingHttpHeaders): void {
  const ifMatch = header(headers, 'if-match');
  const ifUnmodifiedSince = dateOf(header(headers, 'if-unmodified-since'));
  const ifNoneMatch = header(headers, 'if-none-match');
  const ifModifiedSince = dateOf(header(headers, 'if-modified-since'));
  const modified = seconds(object.lastModified);
  if (ifMatch !== undefined) {
    if (!names(ifMatch, object.etag)) throw preconditionFailed('If-Match');
  } else if (ifUnmodifiedSince !== undefined && modified > ifUnmodifiedSince) {
    throw preconditionFailed('If-Unmodified-Since');
  }
  if (ifNoneMatch !== undefined) {
    if (names(ifNoneMatch, object.etag)) throw notModified();
  } else if (ifModifiedSince !== undefined && modified <= ifModifiedSince) {
    throw notModified();
  }
}

/** CopyObject and UploadPartCopy: the `x-amz-copy-source-if-*` conditions on the source (all 412). */
export function checkCopySourceConditions(source: StoredObject, headers: IncomingHttpHeaders): void {
  const ifMatch = header(headers, 'x-amz-copy-source-if-match');
  const ifUnmodifiedSince = dateOf(header(headers, 'x-amz-copy-source-if-unmodified-since'));
  const ifNoneMatch = header(headers, 'x-amz-copy-source-if-none-match');
  const ifModifiedSince = dateOf(header(headers, 'x-amz-copy-source-if-modified-since'));
  const modified = seconds(source.lastModified);
  if (ifMatch !== undefined) {
    if (!names(ifMatch, source.etag)) throw preconditionFailed('x-amz-copy-source-If-Match');
  } else if (ifUnmodifiedSince !== undefined && modified > ifUnmodifiedSince) {
    throw preconditionFailed('x-amz-copy-source-If-Unmodified-Since');
  }
  if (ifNoneMatch !== undefined) {
    if (names(ifNoneMatch, source.etag)) throw preconditionFailed('x-amz-copy-source-If-None-Match');
  } else if (ifModifiedSince !== undefined && modified <= ifModifiedSince) {
    throw preconditionFailed('x-amz-copy-source-If-Modified-Since');
  }
}

/** The destination conditions of a write, read from its request. */
export interface WriteConditions {
  ifMatch?: string;
  ifNoneMatch?: '*';
}

export function writeConditionsOf(headers: IncomingHttpHeaders): WriteConditions {
  const ifMatch = header(headers, 'if-match');
  const ifNoneMatch = header(headers, 'if-none-match');
  if (ifNoneMatch !== undefined && ifNoneMatch.trim() !== '*') {
    throw s3Error(
      501,
      'NotImplemented',
      'A header you provided implies functionality that is not implemented',
      {
        extra: { Header: 'If-None-Match' },
      },
    );
  }
  return {
    ...(ifMatch !== undefined ? { ifMatch } : {}),
    ...(ifNoneMatch !== undefined ? { ifNoneMatch: '*' as const } : {}),
  };
}

export const isConditional = (conditions: WriteConditions) =>
  conditions.ifMatch !== undefined || conditions.ifNoneMatch !== undefined;

/**
 * Checks a write's conditions against the key's current object, at the moment the write takes effect.
 * `overtaken`: another write or delete of the key took effect while this one was under way (its body
 * streaming, its multipart upload open): S3 answers such a conditional write 409 ConditionalRequestConflict.
 */
export function checkWriteConditions(
  key: string,
  current: StoredObject | undefined,
  conditions: WriteConditions,
  overtaken = false,
): void {
  if (!isConditional(conditions)) return;
  if (overtaken) {
    throw s3Error(
      409,
      'ConditionalRequestConflict',
      'A conflicting operation occurred. If using PutObject you can retry the request. If using multipart upload you should initiate another CreateMultipartUpload request and re-upload each part.',
    );
  }
  if (conditions.ifNoneMatch && current) throw preconditionFailed('If-None-Match');
  if (conditions.ifMatch !== undefined) {
    if (!current) throw noSuchKey(key);
    if (!names(conditions.ifMatch, current.etag)) throw preconditionFailed('If-Match');
  }
}

/**
 * DeleteObject's If-Match (https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObject.html): another
 * ETag fails with 412; a key with no object is deleted (204) as without the condition.
 */
export function checkDeleteConditions(current: StoredObject | undefined, headers: IncomingHttpHeaders): void {
  const ifMatch = header(headers, 'if-match');
  if (ifMatch !== undefined && current && !names(ifMatch, current.etag)) throw preconditionFailed('If-Match');
}
