/**
 * The bases of the errors Ferry names itself: classifyError (classify.ts) reads a named error's class from
 * its base, so the pipelines' own errors (src/objects/errors.ts, src/ec2/errors.ts) need no entry here.
 */

/** Base of the permanent failures Ferry names itself; `code` is the cause reported for it. */
export abstract class NamedPermanentError extends Error {
  abstract readonly code: string;
}

/**
 * Base of the failures Ferry names itself that another try may fix (an answer S3 cut short, a replica that
 * does not verify): classified retryable, under the error's name as its cause.
 */
export abstract class NamedRetryableError extends Error {}
