import { describe, expect, it } from 'vitest';
import { CopyResultMissingETagError, classifyError, ReplicaVerificationError } from '#aws/errors';
import { s3Error } from '#test/support/fixtures';

describe('error classification', () => {
  it.each([
    ['SlowDown', 503],
    ['InternalError', 500],
    ['ServiceUnavailable', 503],
    ['RequestTimeout', 400],
    ['OperationAborted', 409],
    ['Whatever', 502],
    ['TooMany', 429],
  ])('It should retry %s (%i)', (name, status) => {
    expect(classifyError(s3Error(name, status))).toMatchObject({ class: 'retryable', cause: name });
  });

  it.each([
    ['AccessDenied', 403],
    ['NoSuchKey', 404],
    ['NoSuchBucket', 404],
    ['InvalidObjectState', 403],
    ['KMS.NotFoundException', 400],
    ['KMS.DisabledException', 400],
    ['InvalidStorageClass', 400],
    ['MetadataTooLarge', 400],
  ])('It should not retry %s (%i)', (name, status) => {
    expect(classifyError(s3Error(name, status))).toMatchObject({ class: 'permanent', cause: name });
  });

  it('It should retry a copy without ETag, a replica that fails verification, and a dropped connection', () => {
    expect(classifyError(new CopyResultMissingETagError('s3://b/k')).class).toBe('retryable');
    expect(classifyError(new ReplicaVerificationError('s3://b/k', 'a', 'b')).class).toBe('retryable');
    expect(classifyError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toMatchObject({
      class: 'retryable',
      cause: 'ECONNRESET',
    });
  });

  it('It should give HEAD errors (no body) the S3 names of their status', () => {
    expect(classifyError(s3Error('NotFound', 404))).toMatchObject({
      class: 'permanent',
      cause: 'NoSuchKey',
    });
    expect(classifyError(s3Error('Forbidden', 403))).toMatchObject({
      class: 'permanent',
      cause: 'AccessDenied',
    });
    expect(classifyError(s3Error('412', 412))).toMatchObject({
      class: 'precondition',
      cause: 'PreconditionFailed',
    });
  });

  it('It should treat a failed condition as a precondition, not a failure', () => {
    expect(classifyError(s3Error('PreconditionFailed', 412)).class).toBe('precondition');
  });

  it('It should treat a programming error as permanent and keep its message', () => {
    expect(classifyError(new TypeError('x is undefined'))).toEqual({
      class: 'permanent',
      cause: 'TypeError',
      message: 'x is undefined',
    });
  });
});
