import { isTagLimitError } from '#ec2/errors';
import { type ClassifiedError, classifyError } from '#foundation/errors/classify';
import { CopyLimitError, PermanentCopyError, RetryableCopyError } from '#foundation/errors/step-errors';
import type { QueueReason } from './copy-queue.ts';

/**
 * How EC2's answers leave a step: as the error names the machines' Retry and Catch match (CopyLimitError,
 * RetryableCopyError, PermanentCopyError), or, for a refused start, as a reason to queue the copy.
 */

/** EC2's refusals for the copy limit and for the request rate: a refused start queues the copy. */
export const REFUSALS: Partial<Record<string, QueueReason>> = {
  ResourceLimitExceeded: 'limit',
  RequestLimitExceeded: 'throttled',
};

/** The same refusals from any other call: retried by the machine as CopyLimitError. */
export const LIMIT_CAUSES = new Set(Object.keys(REFUSALS));

/** Any EC2 failure, as the machine error that handles it. */
export function raise(error: unknown): never {
  const classified = classifyError(error);
  if (LIMIT_CAUSES.has(classified.cause)) throw new CopyLimitError(classified);
  if (classified.class === 'retryable') throw new RetryableCopyError(classified);
  throw new PermanentCopyError(classified);
}

export const permanent = (cause: string, message: string): PermanentCopyError =>
  new PermanentCopyError({ class: 'permanent', cause, message } satisfies ClassifiedError);

/** A tag limit Ferry's own check found is a permanent failure of this copy, under its own cause. */
export function withinTagLimits<T>(work: () => T): T {
  try {
    return work();
  } catch (error) {
    if (isTagLimitError(error)) throw permanent(error.code, error.message);
    throw error;
  }
}
