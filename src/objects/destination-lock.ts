import { GetObjectLockConfigurationCommand } from '@aws-sdk/client-s3';
import { destinationTarget, type S3ClientFactory } from '#foundation/aws-clients';
import type { ObjectDestination } from '#rules/schema';
import { ObjectLockNotEnabledError } from './errors.ts';
import { type LockRequestFields, locksSomething } from './object-lock.ts';

/**
 * Whether a destination bucket has Object Lock enabled, asked once per bucket per invocation
 * (GetObjectLockConfiguration, s3:GetBucketObjectLockConfiguration) before the first locked write to it.
 * A bucket without it answers 404 `ObjectLockConfigurationNotFoundError`
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectLockConfiguration.html): the destination
 * fails as `ObjectLockNotEnabled`, before CopyObject or CreateMultipartUpload, so nothing is left half
 * written; the other destinations go on.
 */
export type LockChecks = Map<string, Promise<void>>;

export const newLockChecks = (): LockChecks => new Map();

/**
 * The 404 of a bucket without Object Lock, by its code (or by its status when the SDK lost the body and named
 * it after the status); a missing bucket (NoSuchBucket) is not that, and stays the error it is.
 */
const notEnabled = (error: unknown): boolean => {
  const { name, $metadata } = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  if (name === 'ObjectLockConfigurationNotFoundError') return true;
  return $metadata?.httpStatusCode === 404 && (name === 'NotFound' || name === 'Unknown');
};

/** S3's 400 to a write whose lock headers name a bucket without Object Lock. */
export const isMissingObjectLockRefusal = (error: unknown): boolean => {
  const { name, message } = error as { name?: string; message?: string };
  return name === 'InvalidRequest' && /missing Object Lock Configuration/i.test(message ?? '');
};

export async function checkObjectLockEnabled(
  destination: Pick<ObjectDestination, 'bucket' | 'region' | 'account' | 'roleArn' | 'externalId'>,
  lock: LockRequestFields,
  deps: { s3: S3ClientFactory; lockChecks?: LockChecks | undefined },
): Promise<void> {
  const locking = locksSomething({
    ...(lock.ObjectLockMode ? { mode: lock.ObjectLockMode } : {}),
    ...(lock.ObjectLockLegalHoldStatus ? { legalHold: lock.ObjectLockLegalHoldStatus } : {}),
  });
  if (!locking) return;
  const checks = deps.lockChecks ?? newLockChecks();
  const key = `${destination.region}/${destination.roleArn ?? ''}/${destination.bucket}`;
  let check = checks.get(key);
  if (!check) {
    check = deps
      .s3(destinationTarget(destination))
      .send(
        new GetObjectLockConfigurationCommand({
          Bucket: destination.bucket,
          ...(destination.account ? { ExpectedBucketOwner: destination.account } : {}),
        }),
      )
      .then((answer) => {
        if (answer.ObjectLockConfiguration?.ObjectLockEnabled !== 'Enabled')
          throw new ObjectLockNotEnabledError(destination.bucket);
      })
      .catch((error: unknown) => {
        if (error instanceof ObjectLockNotEnabledError) throw error;
        if (notEnabled(error)) throw new ObjectLockNotEnabledError(destination.bucket, { cause: error });
        // Anything else (throttling, access) is not remembered: the next write asks again.
        checks.delete(key);
        throw error;
      });
    checks.set(key, check);
  }
  await check;
}
