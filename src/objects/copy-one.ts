import { CopyObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { destinationTarget, type S3ClientFactory } from '#aws/clients';
import { CopyResultMissingETagError, classifyError, ReplicaVerificationError } from '#aws/errors';
import {
  buildCopyRequest,
  type DestinationCondition,
  etagsComparable,
  type SourceHead,
  unquote,
} from './copy-request.ts';
import type { SourceObject } from './event.ts';
import { isReplicaOf, readMarkers } from './markers.ts';
import { failed, type Outcome, type SkipReason, skipped, targetOf } from './outcomes.ts';
import type { CopyPlan, Tags } from './router.ts';
import { compareSequencers } from './sequencer.ts';

/** A destination write can lose a race to another writer; re-read and try again this many times. */
const DESTINATION_RACE_ATTEMPTS = 3;

/**
 * One CopyObject for one plan, verified; never throws: the result is the outcome. Shared by the fast path
 * (the object-created handler) and the retry path (the object-copy state machine).
 */
export async function copyToDestination(
  plan: CopyPlan,
  source: SourceObject,
  head: SourceHead,
  sourceTags: Tags | undefined,
  deps: { s3: S3ClientFactory },
): Promise<Outcome> {
  const client = deps.s3(destinationTarget(plan.destination));
  const target = targetOf(plan);
  for (let attempt = 1; ; attempt++) {
    try {
      // A version id pins the bytes, so CopySourceIfMatch cannot tell an old version from a new one:
      // compare sequencers with the replica already there, and make the write conditional on what we saw.
      let condition: DestinationCondition;
      if (source.versionId) {
        const state = await destinationState(client, plan, source);
        if (typeof state === 'string') return skipped(plan, state);
        condition = state;
      }
      const result = await client.send(
        new CopyObjectCommand(buildCopyRequest({ plan, source, head, sourceTags, condition })),
      );
      const etag = result.CopyObjectResult?.ETag;
      if (!etag) throw new CopyResultMissingETagError(target);
      if (etagsComparable(plan, source, head) && unquote(etag) !== unquote(source.etag)) {
        throw new ReplicaVerificationError(target, unquote(source.etag), unquote(etag));
      }
      return { status: 'copied', rule: plan.rule.name, target, etag: unquote(etag), bytes: source.size };
    } catch (error) {
      const classified = classifyError(error);
      if (classified.class !== 'precondition') return failed(plan, classified);
      // Unversioned: the source changed since the event. Versioned: another writer won the destination.
      if (!source.versionId || attempt >= DESTINATION_RACE_ATTEMPTS) return skipped(plan, 'source-changed');
    }
  }
}

/** What is at the destination key now: a reason to skip, or the condition for overwriting it. */
async function destinationState(
  client: S3Client,
  plan: CopyPlan,
  source: SourceObject,
): Promise<DestinationCondition | SkipReason> {
  try {
    const existing = await client.send(
      new HeadObjectCommand({
        Bucket: plan.destination.bucket,
        Key: plan.destinationKey,
        ExpectedBucketOwner: plan.destination.account,
      }),
    );
    const markers = readMarkers(existing.Metadata);
    if (markers?.sequencer && source.sequencer && isReplicaOf(markers, source)) {
      const order = compareSequencers(markers.sequencer, source.sequencer);
      if (order > 0) return 'newer-replica';
      if (order === 0) return 'up-to-date';
    }
    return existing.ETag ? { ifMatch: existing.ETag } : undefined;
  } catch (error) {
    if (classifyError(error).cause === 'NoSuchKey') return { ifNoneMatch: '*' };
    throw error;
  }
}
