import { NamedPermanentError, NamedRetryableError } from './named-errors.ts';

/**
 * Every AWS failure Ferry meets is classified here, once:
 * - `retryable`: may succeed later (throttling, 5xx, errors embedded in a 200, a copy answered without ETag
 *   or a multipart upload created without UploadId);
 * - `precondition`: a conditional request lost (412): the object changed since the event;
 * - `permanent`: retrying cannot help (access, missing bucket or key, archived source, KMS, bad request,
 *   501 Not Implemented, and the named causes below).
 *
 * Named permanent causes (their classes are object replication's, src/objects/errors.ts; the `cause` of the outcome and the `cause` dimension of CopyFailures), whether
 * Ferry found the breach before sending or S3 refused the request
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html):
 * - `MetadataTooLarge`: the replica's user metadata (source's + `set` + markers) is over 2 KB;
 *   S3: 400 `MetadataTooLarge`.
 * - `TooManyTags`: more than 10 tags after `copy` + `set`; S3: 400 `BadRequest` "Object tags cannot be
 *   greater than 10".
 * - `InvalidTag`: a tag key over 128 or a value over 256 characters; S3: 400 `InvalidTag`.
 * - `KeyTooLong`: the replica's key is over 1,024 UTF-8 bytes after keyPrefix; S3: 400 `KeyTooLongError`.
 * - `SourceEncryptedWithCustomerKey`: the source is SSE-C, whose key Ferry does not hold; S3: HeadObject
 *   400, CopyObject / UploadPartCopy 400 `InvalidRequest` ("…stored using a form of Server Side Encryption…").
 * - `SourceKeyNotConfigured`: a copy of a source under an SSE-KMS key the rule's `objects.kmsKeys` does not
 *   name was refused; S3: a bare 403 `AccessDenied` (named in src/objects/source-reads.ts, namedCopyRefusal).
 * - `RequesterPaysRequired`: the source bucket is Requester Pays and the rule did not opt in
 *   (`requesterPays: true`); S3: a bare 403.
 */
export type ErrorClass = 'retryable' | 'precondition' | 'permanent';

export interface ClassifiedError {
  class: ErrorClass;
  /** A short, stable cause for logs and the failures-by-cause metric, e.g. `AccessDenied`. */
  cause: string;
  message: string;
}

/** S3's own codes for the refusals Ferry also checks before sending: the same cause either way. */
const S3_NAMED_CAUSES: Record<string, string> = {
  MetadataTooLarge: 'MetadataTooLarge',
  KeyTooLongError: 'KeyTooLong',
  InvalidTag: 'InvalidTag',
};

/** The message of the 400 S3 gives a copy of an SSE-C source without its key. */
const SSE_C_REFUSAL = /stored using a form of server.side encryption|customer.provided encryption key/i;
/** The message of the 400 `BadRequest` S3 gives a write with more than 10 tags. */
const TAG_COUNT_REFUSAL = /tags? (cannot|can not|must not) be greater than|too many tags/i;

const RETRYABLE_CODES = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'RequestThrottled',
  'RequestTimeout',
  'RequestTimeoutException',
  'InternalError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'OperationAborted',
  'ConditionalRequestConflict',
  'TimeoutError',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
]);

/**
 * HEAD answers have no body, so the SDK names their errors after the status (`NotFound`, `Forbidden`), by
 * the status code, or `Unknown` (a 412 or a 400); give them S3's names.
 */
const STATUS_CAUSES: Record<number, string> = {
  400: 'BadRequest',
  403: 'AccessDenied',
  404: 'NoSuchKey',
  412: 'PreconditionFailed',
  501: 'NotImplemented',
};

interface AwsErrorShape {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $fault?: 'client' | 'server';
}

export function classifyError(error: unknown): ClassifiedError {
  const shape: AwsErrorShape = typeof error === 'object' && error !== null ? (error as AwsErrorShape) : {};
  const status = shape.$metadata?.httpStatusCode;
  const rawName =
    shape.code && !shape.name?.includes(shape.code) ? shape.code : (shape.name ?? 'UnknownError');
  const statusCause = status !== undefined ? STATUS_CAUSES[status] : undefined;
  const cause =
    (rawName === 'NotFound' || rawName === 'Forbidden' || rawName === 'Unknown' || /^\d{3}$/.test(rawName)) &&
    statusCause
      ? statusCause
      : rawName;
  const message = shape.message ?? String(error);

  if (error instanceof NamedPermanentError) return { class: 'permanent', cause: error.code, message };
  if (error instanceof NamedRetryableError) return { class: 'retryable', cause: error.name, message };
  const named = S3_NAMED_CAUSES[cause];
  if (named) return { class: 'permanent', cause: named, message };
  if ((cause === 'InvalidRequest' || cause === 'BadRequest') && SSE_C_REFUSAL.test(message))
    return { class: 'permanent', cause: 'SourceEncryptedWithCustomerKey', message };
  if (cause === 'BadRequest' && TAG_COUNT_REFUSAL.test(message))
    return { class: 'permanent', cause: 'TooManyTags', message };
  // 501: S3 does not implement what the request asks (e.g. a conditional write where a bucket policy
  // enforces them); asking again for hours cannot change that.
  if (status === 501 || cause === 'NotImplemented') return { class: 'permanent', cause, message };
  if (cause === 'PreconditionFailed' || status === 412) return { class: 'precondition', cause, message };
  if (RETRYABLE_CODES.has(cause)) return { class: 'retryable', cause, message };
  if (status !== undefined && (status >= 500 || status === 429))
    return { class: 'retryable', cause, message };
  if (status !== undefined && status >= 400) return { class: 'permanent', cause, message };
  if (shape.$fault === 'server') return { class: 'retryable', cause, message };
  if (cause.startsWith('KMS.')) return { class: 'permanent', cause, message };
  // No HTTP answer at all (a dropped connection, a DNS hiccup): worth another try, never silently lost.
  if (status === undefined && (shape.code !== undefined || /socket|network|connect/i.test(message))) {
    return { class: 'retryable', cause, message };
  }
  return { class: 'permanent', cause, message };
}
