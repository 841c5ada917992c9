import type { ClassifiedError } from './classify.ts';

/**
 * The errors state-machine steps throw. Step Functions' Retry and Catch match an error's `name`, so each
 * class is one way of handling: retried briefly, retried for as long as a quota needs, or recorded.
 */

/** May succeed on another try soon (5xx, throttling that outlived the SDK's own retries, a lost answer). */
export class RetryableCopyError extends Error {
  constructor(readonly classified: ClassifiedError) {
    super(`${classified.cause}: ${classified.message}`);
    this.name = 'RetryableCopyError';
  }
}

/**
 * AWS refused because of a quota or a request rate (`ResourceLimitExceeded`: 20 snapshot copies in flight
 * per Region; `RequestLimitExceeded`): it clears as other work ends, so the machine retries it for as long
 * as a burst needs, with backoff and jitter, instead of dropping the copy.
 */
export class CopyLimitError extends Error {
  constructor(readonly classified: ClassifiedError) {
    super(`${classified.cause}: ${classified.message}`);
    this.name = 'CopyLimitError';
  }
}

/** Retrying cannot help (access, a missing source, a bad key, an invalid request): recorded and alerted. */
export class PermanentCopyError extends Error {
  constructor(readonly classified: ClassifiedError) {
    super(`${classified.cause}: ${classified.message}`);
    this.name = 'PermanentCopyError';
  }
}

/** The error a state machine caught, as its Catch hands it to a RecordFailure step. */
export interface CaughtError {
  Error: string;
  Cause?: string | undefined;
}

/** A short cause for the failure metric, e.g. `AccessDenied` from "PermanentCopyError: AccessDenied: …". */
export function causeOf(error: CaughtError): string {
  // Errors of the runtime or the service (Lambda.Unknown for a crashed function, States.Timeout…) carry
  // their own text ("RequestId: … Error: Runtime exited…"), not a Ferry cause: their name is the cause.
  if (/^(Lambda|States|Runtime)\./.test(error.Error)) return error.Error;
  const fromMessage = /^([\w.]+): /.exec(messageOf(error))?.[1];
  return fromMessage ?? error.Error;
}

/** Lambda puts `{"errorMessage": …}` in Cause; the local runner puts the message itself. */
export function messageOf(error: CaughtError): string {
  if (!error.Cause) return '';
  try {
    const parsed = JSON.parse(error.Cause) as { errorMessage?: string };
    return parsed.errorMessage ?? error.Cause;
  } catch {
    return error.Cause;
  }
}
