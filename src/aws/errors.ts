/**
 * Every AWS failure Ferry meets is classified here, once:
 * - `retryable`: may succeed later (throttling, 5xx, errors embedded in a 200, a copy answered without ETag);
 * - `precondition`: a conditional request lost (412): the object changed since the event;
 * - `permanent`: retrying cannot help (access, missing bucket or key, archived source, KMS, bad request).
 */
export type ErrorClass = 'retryable' | 'precondition' | 'permanent';

export interface ClassifiedError {
  class: ErrorClass;
  /** A short, stable cause for logs and the failures-by-cause metric, e.g. `AccessDenied`. */
  cause: string;
  message: string;
}

/** A CopyObject (or part copy) that answered without an ETag: S3 may have cut the body of a 200. */
export class CopyResultMissingETagError extends Error {
  constructor(target: string) {
    super(`copy to ${target} answered without an ETag; the replica is not verified`);
    this.name = 'CopyResultMissingETagError';
  }
}

/** The replica's ETag differs from the source's where the two must be equal. */
export class ReplicaVerificationError extends Error {
  constructor(target: string, expected: string, actual: string) {
    super(`replica ${target} has ETag ${actual}, expected ${expected}`);
    this.name = 'ReplicaVerificationError';
  }
}

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
  CopyResultMissingETagError.name,
  ReplicaVerificationError.name,
]);

/** HEAD answers have no body, so the SDK names their errors after the status; give them S3's names. */
const STATUS_CAUSES: Record<number, string> = {
  403: 'AccessDenied',
  404: 'NoSuchKey',
  412: 'PreconditionFailed',
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
    (rawName === 'NotFound' || rawName === 'Forbidden' || /^\d{3}$/.test(rawName)) && statusCause
      ? statusCause
      : rawName;
  const message = shape.message ?? String(error);

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
