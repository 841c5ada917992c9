import { CopyObjectCommand } from '@aws-sdk/client-s3';
import { destinationTarget, type S3ClientFactory } from '#foundation/aws-clients';
import { classifyError } from '#foundation/errors/classify';
import {
  buildCopyRequest,
  type DestinationCondition,
  etagsComparable,
  type SourceHead,
  unquote,
} from './copy-request.ts';
import { checkObjectLockEnabled, isMissingObjectLockRefusal, type LockChecks } from './destination-lock.ts';
import { CopyResultMissingETagError, ObjectLockNotEnabledError, ReplicaVerificationError } from './errors.ts';
import type { SourceObject } from './event.ts';
import { replicaLockFields } from './object-lock.ts';
import { failed, type Outcome, skipped, targetOf } from './outcomes.ts';
import { copyDecision, guardedWrite, sourceGone } from './replica-guard.ts';
import type { CopyPlan, Tags } from './router.ts';
import { namedCopyRefusal } from './source-reads.ts';

/**
 * One CopyObject for one plan, verified; never throws: the result is the outcome. Shared by the fast path
 * (the object-created handler) and the retry path (the object-copy state machine).
 *
 * Unversioned source: `CopySourceIfMatch` pins the event's bytes, and the key cannot hold an older object
 * than the one the same request just read, so the copy is written as is; a 412 means the source changed
 * and its own event carries the newer object. Versioned source: the version id pins the bytes, so the
 * pin cannot tell an old version from a new one. The copy then goes through the replica guard
 * (replica-guard.ts): the version must still be the source's current one (a version replaced or deleted
 * since is never written: no stale overwrite, no resurrection), no newer replica may be at the
 * destination, and the write is conditional on what was read there.
 */
export async function copyToDestination(
  plan: CopyPlan,
  source: SourceObject,
  head: SourceHead,
  sourceTags: Tags | undefined,
  deps: { s3: S3ClientFactory; now?: () => number; lockChecks?: LockChecks | undefined },
): Promise<Outcome> {
  const client = deps.s3(destinationTarget(plan.destination));
  const target = targetOf(plan);
  // The replica's Object Lock, the same function as the multipart path's (object-lock.ts).
  const lock = replicaLockFields(plan.destination, head, (deps.now ?? Date.now)());
  const copy = async (condition: DestinationCondition): Promise<Outcome> => {
    const result = await client.send(
      new CopyObjectCommand({ ...buildCopyRequest({ plan, source, head, sourceTags, condition }), ...lock }),
    );
    const etag = result.CopyObjectResult?.ETag;
    if (!etag) throw new CopyResultMissingETagError(target);
    if (etagsComparable(plan, source, head) && unquote(etag) !== unquote(source.etag)) {
      throw new ReplicaVerificationError(target, 'ETag', unquote(source.etag), unquote(etag));
    }
    return { status: 'copied', rule: plan.rule.name, target, etag: unquote(etag), bytes: source.size };
  };
  try {
    await checkObjectLockEnabled(plan.destination, lock, deps);
    if (!source.versionId) return await copy(undefined);
    const clients = { source: deps.s3({ region: source.region }), destination: client };
    const written = await guardedWrite(() => copyDecision(clients, plan, source), copy);
    return 'skip' in written ? skipped(plan, written.skip) : written;
  } catch (thrown) {
    // S3's own refusal of lock headers on a bucket without Object Lock gets the same name as Ferry's check.
    // A refusal of a source under a key the rule does not name gets that name (source-reads.ts).
    const error = isMissingObjectLockRefusal(thrown)
      ? new ObjectLockNotEnabledError(plan.destination.bucket, { cause: thrown })
      : namedCopyRefusal(thrown, source, plan.rule, head.SSEKMSKeyId);
    const classified = classifyError(error);
    // 412: the source changed (CopySourceIfMatch). 404: it was deleted since the event; not copied.
    if (classified.class === 'precondition' || sourceGone(classified)) return skipped(plan, 'source-changed');
    return failed(plan, classified);
  }
}
