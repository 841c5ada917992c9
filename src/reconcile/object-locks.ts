import {
  type HeadObjectCommandOutput,
  PutObjectLegalHoldCommand,
  PutObjectRetentionCommand,
} from '@aws-sdk/client-s3';
import { destinationTarget } from '#foundation/aws-clients';
import { classifyError } from '#foundation/errors/classify';
import { readMarkers } from '#objects/markers';
import { sourceLockOf } from '#objects/object-lock';
import { destinationKeyOf } from '#objects/router';
import type { ObjectRule } from '#rules/schema';
import { isOutranked } from '#rules/shared-replicas';
import { compareReplicaLock, needsRepair } from './lock-compare.ts';
import { headObjectOrAbsent, type ListedObject, type ObjectReconcileDeps } from './objects.ts';
import type { RuleReport } from './report.ts';

/**
 * Reconcile's lock comparison (lock-compare.ts says what and why: S3 emits no event for a retention or
 * legal-hold change). For each current replica at a destination with `lock`, its lock is read from the HEAD
 * reconcile already made of it (x-amz-object-lock-*, answered with s3:GetObjectRetention and
 * s3:GetObjectLegalHold, which reconcile's role has for such destinations), and compared with what the one
 * lock computation wants. Requests: none more for the replica; one HEAD of the source per key only when a
 * destination carries the source's lock (`copy`); a PutObjectRetention and/or a PutObjectLegalHold per
 * replica repaired. Each write names the replica's version id (the version found current, never a newer
 * one), and is made only while the source is still the version that replica replicates (its marker).
 */
export async function reconcileReplicaLocks(
  rule: ObjectRule,
  object: ListedObject,
  replicas: readonly (HeadObjectCommandOutput | undefined)[],
  report: RuleReport,
  deps: ObjectReconcileDeps,
): Promise<void> {
  const targets = rule.to.flatMap((destination, index) => {
    const replica = replicas[index];
    const key = destinationKeyOf(rule, destination, object.key);
    if (!destination.lock || !replica || isOutranked(rule, index, destination.bucket, key)) return [];
    return [{ destination, lock: destination.lock, replica, key }];
  });
  if (targets.length === 0) return;
  const bucket = rule.objects.bucket;
  const item = `s3://${bucket}/${object.key}`;
  try {
    const carries = targets.some((target) => target.lock.copy);
    const sourceHead = carries
      ? await headObjectOrAbsent(deps.s3({ region: deps.source.region }), {
          Bucket: bucket,
          Key: object.key,
          ExpectedBucketOwner: deps.source.account,
          ...(rule.objects.requesterPays ? { RequestPayer: 'requester' as const } : {}),
        })
      : undefined;
    // Deleted since it was listed: nothing to compare.
    if (carries && !sourceHead) return;
    const sourceLock = sourceHead ? sourceLockOf(sourceHead) : {};
    const sourceVersion =
      sourceHead?.VersionId && sourceHead.VersionId !== 'null' ? sourceHead.VersionId : undefined;
    const now = deps.now();
    await Promise.all(
      targets.map(async ({ destination, lock, replica, key }) => {
        const target = `s3://${destination.bucket}/${key}`;
        // The replica of another version of the source (written since the listing): the copy path's.
        const replicates = readMarkers(replica.Metadata)?.sourceVersion;
        if (lock.copy && replicates && sourceVersion && replicates !== sourceVersion) return;
        const comparison = compareReplicaLock({
          policy: lock,
          source: sourceLock,
          replica: sourceLockOf(replica),
          written: replica.LastModified?.getTime() ?? now,
          now,
        });
        if (comparison.stronger) report.locksStronger = (report.locksStronger ?? 0) + 1;
        if (comparison.modeKept) report.locksModeKept = (report.locksModeKept ?? 0) + 1;
        if (!needsRepair(comparison)) return;
        const client = deps.s3(destinationTarget(destination));
        const where = {
          Bucket: destination.bucket,
          Key: key,
          ...(replica.VersionId && replica.VersionId !== 'null' ? { VersionId: replica.VersionId } : {}),
          ...(destination.account ? { ExpectedBucketOwner: destination.account } : {}),
        };
        try {
          if (comparison.raise)
            await client.send(
              new PutObjectRetentionCommand({
                ...where,
                Retention: { Mode: comparison.raise.mode, RetainUntilDate: comparison.raise.retainUntil },
              }),
            );
          if (comparison.hold)
            await client.send(new PutObjectLegalHoldCommand({ ...where, LegalHold: { Status: 'ON' } }));
          report.locksRepaired = (report.locksRepaired ?? 0) + 1;
          deps.log.info('replica lock raised', {
            rule: rule.name,
            item,
            target,
            ...(comparison.raise
              ? { mode: comparison.raise.mode, retainUntil: comparison.raise.retainUntil.toISOString() }
              : {}),
            ...(comparison.hold ? { legalHold: 'ON' } : {}),
          });
        } catch (error) {
          const { cause, message } = classifyError(error);
          report.failed.push({ item: `${item} → ${target}`, cause: `${cause}: ${message}` });
        }
      }),
    );
  } catch (error) {
    const { cause, message } = classifyError(error);
    report.failed.push({ item, cause: `${cause}: ${message}` });
  }
}
