import { S3ServiceException } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { classifyError } from '#foundation/errors/classify';
import {
  CopyResultMissingETagError,
  ObjectTagTooLongError,
  ReplicaKeyTooLongError,
  ReplicaMetadataTooLargeError,
  ReplicaVerificationError,
  RequesterPaysRequiredError,
  SourceEncryptedWithCustomerKeyError,
  TooManyObjectTagsError,
} from '#objects/errors';
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
    expect(classifyError(new ReplicaVerificationError('s3://b/k', 'ETag', 'a', 'b')).class).toBe('retryable');
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
    expect(classifyError(s3Error('Unknown', 400))).toMatchObject({ class: 'permanent', cause: 'BadRequest' });
    expect(classifyError(s3Error('Unknown', 412))).toMatchObject({
      class: 'precondition',
      cause: 'PreconditionFailed',
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

  it('It should not retry 501 Not Implemented, which no later attempt can change', () => {
    expect(classifyError(s3Error('NotImplemented', 501))).toMatchObject({
      class: 'permanent',
      cause: 'NotImplemented',
    });
    // A HEAD answer has no body: the SDK names the error after the status.
    expect(classifyError(s3Error('501', 501))).toMatchObject({ class: 'permanent', cause: 'NotImplemented' });
  });

  it('It should give S3 refusals of limits the causes Ferry names them by, as permanent', () => {
    const refusal = (name: string, message: string) =>
      new S3ServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: 400 }, message });
    expect(classifyError(refusal('MetadataTooLarge', 'Your metadata headers exceed'))).toMatchObject({
      class: 'permanent',
      cause: 'MetadataTooLarge',
    });
    expect(classifyError(refusal('KeyTooLongError', 'Your key is too long'))).toMatchObject({
      class: 'permanent',
      cause: 'KeyTooLong',
    });
    expect(classifyError(refusal('InvalidTag', 'The TagValue you have provided is invalid'))).toMatchObject({
      class: 'permanent',
      cause: 'InvalidTag',
    });
    expect(classifyError(refusal('BadRequest', 'Object tags cannot be greater than 10'))).toMatchObject({
      class: 'permanent',
      cause: 'TooManyTags',
    });
    expect(
      classifyError(
        refusal(
          'InvalidRequest',
          'The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.',
        ),
      ),
    ).toMatchObject({ class: 'permanent', cause: 'SourceEncryptedWithCustomerKey' });
    // Other bad requests keep S3's name.
    expect(classifyError(refusal('BadRequest', 'Bad Request'))).toMatchObject({ cause: 'BadRequest' });
  });

  it('It should report the named errors Ferry throws under their causes, as permanent', () => {
    const cases: [Error, string][] = [
      [new ReplicaMetadataTooLargeError('s3://b/k', 2100, 2048), 'MetadataTooLarge'],
      [new TooManyObjectTagsError('s3://b/k', 11, 10), 'TooManyTags'],
      [new ObjectTagTooLongError('s3://b/k', 'tag value too long'), 'InvalidTag'],
      [new ReplicaKeyTooLongError('s3://b/k', 1030, 1024), 'KeyTooLong'],
      [new SourceEncryptedWithCustomerKeyError('s3://b/k'), 'SourceEncryptedWithCustomerKey'],
      [new RequesterPaysRequiredError('s3://b/k'), 'RequesterPaysRequired'],
    ];
    for (const [error, cause] of cases) {
      expect(classifyError(error)).toMatchObject({ class: 'permanent', cause });
    }
  });
});
