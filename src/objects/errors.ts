import { NamedPermanentError, NamedRetryableError } from '#foundation/errors/named-errors';
import type { Report, SkipReason } from './outcomes.ts';

/**
 * Every error of object replication, named by what went wrong. Permanent ones carry the `code` reported as
 * the outcome's cause and the CopyFailures metric's `cause` dimension (README, "Failure causes").
 */

/** A CopyObject (or part copy) that answered without an ETag: S3 may have cut the body of a 200. */
export class CopyResultMissingETagError extends NamedRetryableError {
  constructor(target: string) {
    super(`copy to ${target} answered without an ETag; the replica is not verified`);
    this.name = 'CopyResultMissingETagError';
  }
}

/**
 * A CreateMultipartUpload that answered 200 without an UploadId: as with a copy without ETag, the body
 * was likely cut, and no part can be copied without the id.
 */
export class CreateMultipartUploadMissingUploadIdError extends NamedRetryableError {
  constructor(target: string) {
    super(`CreateMultipartUpload for ${target} answered without an UploadId; nothing was copied`);
    this.name = 'CreateMultipartUploadMissingUploadIdError';
  }
}

/**
 * The replica (or its upload) is not what was copied: its ETag, size or parts differ from what the source
 * makes them (`what`), so it is not verified.
 */
export class ReplicaVerificationError extends NamedRetryableError {
  constructor(target: string, what: 'ETag' | 'size' | 'parts', expected: string, actual: string) {
    super(`replica ${target} has ${what} ${actual}, expected ${expected}`);
    this.name = 'ReplicaVerificationError';
  }
}

/** The replica's user metadata would be over S3's 2 KB (UTF-8 bytes of keys and values). */
export class ReplicaMetadataTooLargeError extends NamedPermanentError {
  readonly code = 'MetadataTooLarge';
  constructor(target: string, bytes: number, limit: number) {
    super(`the user metadata of ${target} would be ${bytes} bytes, over S3's limit of ${limit}`);
    this.name = 'ReplicaMetadataTooLargeError';
  }
}

/** The replica would carry more than S3's 10 tags. */
export class TooManyObjectTagsError extends NamedPermanentError {
  readonly code = 'TooManyTags';
  constructor(target: string, count: number, limit: number) {
    super(`${target} would carry ${count} tags, over S3's limit of ${limit}`);
    this.name = 'TooManyObjectTagsError';
  }
}

/** A tag of the replica would break S3's key (128) or value (256) length. */
export class ObjectTagTooLongError extends NamedPermanentError {
  readonly code = 'InvalidTag';
  constructor(target: string, detail: string) {
    super(`${target}: ${detail}`);
    this.name = 'ObjectTagTooLongError';
  }
}

/** The replica's key would be over S3's 1,024 UTF-8 bytes. */
export class ReplicaKeyTooLongError extends NamedPermanentError {
  readonly code = 'KeyTooLong';
  constructor(target: string, bytes: number, limit: number) {
    super(`the key of ${target.slice(0, 200)}… would be ${bytes} UTF-8 bytes, over S3's limit of ${limit}`);
    this.name = 'ReplicaKeyTooLongError';
  }
}

/** The source is encrypted with a customer-provided key (SSE-C): S3 serves it only to holders of that key. */
export class SourceEncryptedWithCustomerKeyError extends NamedPermanentError {
  readonly code = 'SourceEncryptedWithCustomerKey';
  constructor(source: string, options?: ErrorOptions) {
    super(
      `S3 refused to read ${source} (400, as it answers for an object encrypted with a customer-provided key, SSE-C, read without that key); Ferry cannot copy SSE-C objects`,
      options,
    );
    this.name = 'SourceEncryptedWithCustomerKeyError';
  }
}

/** The source bucket is Requester Pays; the rule must opt in to paying (`requesterPays: true`). */
export class RequesterPaysRequiredError extends NamedPermanentError {
  readonly code = 'RequesterPaysRequired';
  constructor(source: string, options?: ErrorOptions) {
    super(
      `${source} is in a Requester Pays bucket: set requesterPays: true on the rule's objects to pay for the reads`,
      options,
    );
    this.name = 'RequesterPaysRequiredError';
  }
}

/**
 * S3 refused a copy (403) of a source encrypted under a KMS key that the rule does not name in
 * `objects.kmsKeys`: S3 decrypts a copy's source with the copier's permissions (kms:Decrypt), which Ferry's
 * roles hold only on the keys the rules name. S3's answer is a bare Access Denied that does not say why
 * (the HEAD that read the key id succeeded, so reading the source is allowed); the key is the one thing
 * the rule lacks for certain.
 */
export class SourceKeyNotConfiguredError extends NamedPermanentError {
  readonly code = 'SourceKeyNotConfigured';
  constructor(source: string, keyId: string, rule: string, options?: ErrorOptions) {
    super(
      `S3 refused to copy ${source} (403): it is encrypted under KMS key ${keyId}, which rule "${rule}" does not ` +
        `name. Add the key to the rule's objects.kmsKeys, so that Ferry's roles may decrypt it through S3, and ` +
        `let the key's policy allow them (unless it is the AWS managed key aws/s3, whose policy already does)`,
      options,
    );
    this.name = 'SourceKeyNotConfiguredError';
  }
}

/**
 * The copy must not be written: the source was replaced or deleted after the event, or a newer replica is
 * at the destination (`reason`). The newer write's own event carries it. The state machine ends quietly
 * (SourceChanged), after aborting the upload of a multipart copy.
 */
export class SourceChangedError extends Error {
  constructor(target: string, reason: SkipReason = 'source-changed') {
    super(
      reason === 'source-changed'
        ? `the source changed since the event; ${target} is left to the newer event`
        : `${reason}: ${target} is left to the newer write`,
    );
    this.name = 'SourceChangedError';
  }
}

/** A copy that must not be written: a newer object or replica won. Raised by the multipart steps. */
export class ReplicaSupersededError extends Error {
  constructor(
    readonly target: string,
    readonly reason: SkipReason,
  ) {
    super(`${reason}: ${target} is left to the newer write`);
    this.name = 'ReplicaSupersededError';
  }
}

/**
 * S3 writes object keys into event notifications URL-encoded, form style: a space becomes `+`, a literal
 * `+` becomes `%2B`, UTF-8 bytes become `%XX`. Rules and copies work on the real key. Other S3
 * implementations send keys raw, where `+` is a literal plus, and AWS's documentation does not settle how
 * EventBridge encodes a literal `+` or `%`: the event's own key is kept beside the decoded one and tried
 * when the decoded key does not hold the event's object (`headEventObject` in source-reads.ts).
 */

export class MalformedEventKeyError extends Error {
  constructor(readonly encodedKey: string) {
    super(`object key "${encodedKey}" is not valid URL-encoded text`);
    this.name = 'MalformedEventKeyError';
  }
}

export class TagsRequiredError extends Error {
  constructor(rule: string) {
    super(`rule "${rule}" filters on tags, but the object's tags were not given to the router`);
    this.name = 'TagsRequiredError';
  }
}

export class ObjectTooLargeError extends Error {
  constructor(size: number, limit: number) {
    super(`an object of ${size} bytes exceeds the S3 maximum of ${limit} bytes`);
    this.name = 'ObjectTooLargeError';
  }
}

/** Thrown after every destination was tried, when some failed in a way that a later attempt may fix. */
export class RetryableReplicationError extends Error {
  constructor(readonly report: Report) {
    const failed = report.outcomes.filter((o) => o.status === 'failed' && o.error.class === 'retryable');
    super(
      `${failed.length} of ${report.outcomes.length} replications of ${report.source} failed and will be retried: ` +
        failed.map((o) => `${o.target} (${o.status === 'failed' ? o.error.cause : ''})`).join(', '),
    );
    this.name = 'RetryableReplicationError';
  }
}

/**
 * A locked replica was to be written to a bucket without Object Lock: GetObjectLockConfiguration answers
 * 404 `ObjectLockConfigurationNotFoundError`
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectLockConfiguration.html), and S3 would refuse
 * the write's lock headers with 400 `InvalidRequest` ("Bucket is missing Object Lock Configuration"). Nothing
 * is written: no replica without the lock the rule demands, and no multipart upload left behind.
 */
export class ObjectLockNotEnabledError extends NamedPermanentError {
  readonly code = 'ObjectLockNotEnabled';
  constructor(bucket: string, options?: ErrorOptions) {
    super(
      `bucket ${bucket} does not have Object Lock enabled, so a locked replica cannot be written there: enable ` +
        "Object Lock on it (it needs versioning), or remove the destination's lock",
      options,
    );
    this.name = 'ObjectLockNotEnabledError';
  }
}
