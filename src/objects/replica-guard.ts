import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type ClassifiedError, classifyError } from '#foundation/errors/classify';
import { unquote } from './copy-request.ts';
import type { SourceObject } from './event.ts';
import { isReplicaOf, type ReplicaMarkers, readMarkers } from './markers.ts';
import { type ObjectLockSettings, sourceLockOf } from './object-lock.ts';
import type { SkipReason } from './outcomes.ts';
import type { CopyPlan } from './router.ts';
import { compareSequencers } from './sequencer.ts';

/**
 * The one guard of every write to a replica (CopyObject, CompleteMultipartUpload, DeleteObject): read what
 * is at the replica key, decide from Ferry's markers whether this write may replace it, then write on the
 * condition that the key still holds what was read (`If-Match` its ETag, `If-None-Match: *` when nothing
 * was there). A condition that fails (412 PreconditionFailed, or 409 ConditionalRequestConflict for a
 * concurrent write) means another writer moved the replica: read it again and decide again, a bounded
 * number of times, never a blind retry. S3 user guide, "Add preconditions to S3 operations with conditional
 * requests" (conditional-requests.html) and "How to perform conditional deletes" (conditional-deletes.html).
 */

/** A replica write loses a race at most this many times before the copy leaves the key to the winner. */
export const REPLICA_RACE_ATTEMPTS = 3;

/** The condition a write to the replica key carries: what was read there. */
export type WriteCondition = { ifMatch: string } | { ifNoneMatch: '*' };

/** What a HEAD of the replica key saw: nothing, or an object with its ETag and Ferry's markers. */
export type ReplicaSeen =
  | { exists: false }
  | {
      exists: true;
      etag: string;
      size: number | undefined;
      markers: ReplicaMarkers | undefined;
      /** The current version's Object Lock, as the HEAD shows it (a delete cannot remove a held version). */
      lock?: ObjectLockSettings;
    };

export const conditionFor = (seen: ReplicaSeen): WriteCondition =>
  seen.exists ? { ifMatch: seen.etag } : { ifNoneMatch: '*' };

/**
 * The replica state a condition stands for, when the decision on it was made before (the multipart copy's
 * prepare step): only its ETag is known, and the write binds to it.
 */
export const seenUnder = (condition: WriteCondition): ReplicaSeen =>
  'ifMatch' in condition
    ? { exists: true, etag: condition.ifMatch, size: undefined, markers: undefined }
    : { exists: false };

/** HEAD of the replica key; a missing key is an answer, not an error. */
export async function readReplica(client: S3Client, plan: CopyPlan): Promise<ReplicaSeen> {
  try {
    const head = await client.send(
      new HeadObjectCommand({
        Bucket: plan.destination.bucket,
        Key: plan.destinationKey,
        ExpectedBucketOwner: plan.destination.account,
      }),
    );
    return {
      exists: true,
      // S3 always answers a HEAD with an ETag; `*` would match anything, so an answer without one is a
      // condition that only an absent key meets (the write then loses and re-reads).
      etag: head.ETag ?? '""',
      size: head.ContentLength,
      markers: readMarkers(head.Metadata),
      lock: sourceLockOf(head),
    };
  } catch (error) {
    if (classifyError(error).cause === 'NoSuchKey') return { exists: false };
    throw error;
  }
}

/**
 * Whether a copy of `source` may replace what is at the replica key. Pure. Only Ferry's replica of this
 * very source key carries a sequencer to compare: a later one wins (`newer-replica`), the same one is this
 * copy already (`up-to-date`). Anything else (no object, an older replica, an object Ferry did not write)
 * is overwritten, as the rule asks.
 */
export function copyOrder(seen: ReplicaSeen, source: SourceObject): SkipReason | undefined {
  if (!seen.exists || !seen.markers?.sequencer || !source.sequencer) return undefined;
  if (!isReplicaOf(seen.markers, source)) return undefined;
  const order = compareSequencers(seen.markers.sequencer, source.sequencer);
  if (order > 0) return 'newer-replica';
  if (order === 0) return 'up-to-date';
  return undefined;
}

/**
 * A read or copy of the event's object that says it no longer exists (404 NoSuchKey; NoSuchVersion for a
 * version deleted for good): deleted since the event, like a changed source it is a skip, never copied.
 */
export function sourceGone({ cause }: ClassifiedError): boolean {
  return cause === 'NoSuchKey' || cause === 'NoSuchVersion';
}

/** A conditional write that lost: the key changed since it was read. Re-read, then decide. */
export function lostRace(error: unknown): boolean {
  const classified = classifyError(error);
  return classified.class === 'precondition' || classified.cause === 'ConditionalRequestConflict';
}

/**
 * Whether the job's object is still the source key's current object: a HEAD of the key without a version,
 * on the event's ETag. A copy of an object that is no longer current is never written: the object that
 * replaced it has its own event, and an object since deleted must not come back at the replica (no
 * resurrection, for a versioned source whose old version still exists as much as for an unversioned one).
 * Gone is 404, or 403 where the role may not list the source bucket (it has just read the object).
 */
export async function sourceIsCurrent(client: S3Client, source: SourceObject): Promise<boolean> {
  try {
    const current = await client.send(
      new HeadObjectCommand({
        Bucket: source.bucket,
        Key: source.key,
        IfMatch: source.etag,
        ExpectedBucketOwner: source.account,
      }),
    );
    // An implementation that ignores If-Match on HEAD still shows the ETag of what is there.
    if (current.ETag !== undefined && unquote(current.ETag) !== unquote(source.etag)) return false;
    // The same bytes written again pass If-Match, but are another version: only the job's is current.
    return !source.versionId || current.VersionId === undefined || current.VersionId === source.versionId;
  } catch (error) {
    const classified = classifyError(error);
    if (classified.class === 'precondition') return false;
    if (classified.cause === 'NoSuchKey' || classified.cause === 'AccessDenied') return false;
    throw error;
  }
}

/**
 * Decides, then writes on the condition of what was read; after a lost race decides again. `decide`
 * returns why the write must not happen, or the replica state to write over. Exhausted attempts leave the
 * key to the writer that kept winning (`exhausted`): its own event or execution carries it.
 */
export async function guardedWrite<T>(
  decide: () => Promise<SkipReason | ReplicaSeen>,
  write: (condition: WriteCondition, seen: ReplicaSeen) => Promise<T>,
  exhausted: SkipReason = 'source-changed',
): Promise<T | { skip: SkipReason }> {
  for (let attempt = 1; ; attempt++) {
    const decision = await decide();
    if (typeof decision === 'string') return { skip: decision };
    try {
      return await write(conditionFor(decision), decision);
    } catch (error) {
      if (!lostRace(error)) throw error;
      if (attempt >= REPLICA_RACE_ATTEMPTS) return { skip: exhausted };
    }
  }
}

/** The decision of a copy (fast path or multipart): source still current, and no newer replica. */
export async function copyDecision(
  clients: { source: S3Client; destination: S3Client },
  plan: CopyPlan,
  source: SourceObject,
): Promise<SkipReason | ReplicaSeen> {
  // Both reads at once: one round trip instead of two on every copy. Their order does not matter (the
  // write is bound to the replica state read, by If-Match or If-None-Match), and a source that changed
  // decides even when the replica's read failed, as when it was not made.
  const [current, seen] = await Promise.allSettled([
    sourceIsCurrent(clients.source, source),
    readReplica(clients.destination, plan),
  ]);
  if (current.status === 'rejected') throw current.reason;
  if (!current.value) return 'source-changed';
  if (seen.status === 'rejected') throw seen.reason;
  return copyOrder(seen.value, source) ?? seen.value;
}
