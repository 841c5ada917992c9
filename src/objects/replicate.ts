import {
  CopyObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { S3ClientFactory } from '#aws/clients';
import {
  type ClassifiedError,
  CopyResultMissingETagError,
  classifyError,
  ReplicaVerificationError,
} from '#aws/errors';
import type { Log } from '#observability/powertools';
import type { ReplicationMetrics } from '#observability/replication-metrics';
import type { ObjectRule } from '#rules/schema';
import {
  buildCopyRequest,
  type DestinationCondition,
  etagsComparable,
  needsSourceTags,
  type SourceHead,
  unquote,
} from './copy-request.ts';
import type { SourceObject } from './event.ts';
import { isReplicaOf, readMarkers } from './markers.ts';
import type { Outcome, Report, SkipReason } from './outcomes.ts';
import { targetOf } from './outcomes.ts';
import {
  type CopyPlan,
  candidateRules,
  destinationKeyOf,
  filtersOnTags,
  planCopies,
  type Tags,
} from './router.ts';
import { compareSequencers } from './sequencer.ts';

export interface ObjectReplicationDeps {
  rules: readonly ObjectRule[];
  s3: S3ClientFactory;
  log: Log;
  metrics: ReplicationMetrics;
  now: () => number;
}

/** A destination write can lose a race to another writer; re-read and try again this many times. */
const DESTINATION_RACE_ATTEMPTS = 3;

/**
 * Copies one created object to every destination of every rule that matches it. Reads the source once
 * (HeadObject; GetObjectTagging only if a rule needs tag values), then makes one CopyObject per destination.
 * Never throws for a single destination: each gets an outcome, and the caller decides about retries.
 */
export async function replicateObject(source: SourceObject, deps: ObjectReplicationDeps): Promise<Report> {
  const report: Report = { source: `s3://${source.bucket}/${source.key}`, outcomes: [] };
  const candidates = candidateRules(deps.rules, source);
  if (candidates.length === 0) {
    deps.log.debug('No rule covers this object', { source: report.source });
    return report;
  }
  const sourceClient = deps.s3({ region: source.region });

  let head: SourceHead;
  try {
    head = await sourceClient.send(
      new HeadObjectCommand({
        Bucket: source.bucket,
        Key: source.key,
        VersionId: source.versionId,
        IfMatch: source.etag,
        ExpectedBucketOwner: source.account,
      }),
    );
  } catch (error) {
    return settleAll(report, candidates, source, deps, classifyError(error));
  }

  const markers = readMarkers(head.Metadata);
  const rules = markers ? candidates.filter((rule) => rule.objects.replicas === 'chain') : candidates;
  if (markers) {
    const ignoring = candidates.filter((rule) => !rules.includes(rule));
    for (const plan of everyDestination(ignoring, source)) record(report, skip(plan, 'is-replica'), deps);
  }

  let tags: Tags | undefined;
  if (rules.some((rule) => filtersOnTags(rule) || rule.to.some(needsSourceTags))) {
    try {
      tags = await readTags(sourceClient, source, head);
    } catch (error) {
      return settleAll(report, rules, source, deps, classifyError(error));
    }
  }

  const plans = planCopies(rules, source, tags);
  const outcomes = await Promise.all(plans.map((plan) => copyToDestination(plan, source, head, tags, deps)));
  for (const outcome of outcomes) record(report, outcome, deps, source.eventTime);
  return report;
}

async function readTags(client: S3Client, source: SourceObject, head: SourceHead): Promise<Tags> {
  if (!head.TagCount) return {}; // HeadObject already says there are none: save the call
  const { TagSet = [] } = await client.send(
    new GetObjectTaggingCommand({
      Bucket: source.bucket,
      Key: source.key,
      VersionId: source.versionId,
      ExpectedBucketOwner: source.account,
    }),
  );
  return Object.fromEntries(TagSet.map((tag) => [tag.Key ?? '', tag.Value ?? '']));
}

async function copyToDestination(
  plan: CopyPlan,
  source: SourceObject,
  head: SourceHead,
  sourceTags: Tags | undefined,
  deps: ObjectReplicationDeps,
): Promise<Outcome> {
  const client = deps.s3({ region: plan.destination.region, roleArn: plan.destination.roleArn });
  const target = targetOf(plan);
  for (let attempt = 1; ; attempt++) {
    try {
      // A version id pins the bytes, so CopySourceIfMatch cannot tell an old version from a new one:
      // compare sequencers with the replica already there, and make the write conditional on what we saw.
      let condition: DestinationCondition;
      if (source.versionId) {
        const state = await destinationState(client, plan, source);
        if (typeof state === 'string') return skip(plan, state);
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
      if (classified.class !== 'precondition') return fail(plan, classified);
      // Unversioned: the source changed since the event. Versioned: another writer won the destination.
      if (!source.versionId || attempt >= DESTINATION_RACE_ATTEMPTS) return skip(plan, 'source-changed');
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

const everyDestination = (rules: readonly ObjectRule[], source: SourceObject): CopyPlan[] =>
  rules.flatMap((rule) =>
    rule.to.map((destination, destinationIndex) => ({
      rule,
      destination,
      destinationIndex,
      destinationKey: destinationKeyOf(rule, destination, source.key),
    })),
  );

/** The source could not be read: every destination gets the same outcome. */
function settleAll(
  report: Report,
  rules: readonly ObjectRule[],
  source: SourceObject,
  deps: ObjectReplicationDeps,
  error: ClassifiedError,
): Report {
  for (const plan of everyDestination(rules, source)) {
    record(report, error.class === 'precondition' ? skip(plan, 'source-changed') : fail(plan, error), deps);
  }
  return report;
}

const skip = (plan: CopyPlan, reason: SkipReason): Outcome => ({
  status: 'skipped',
  rule: plan.rule.name,
  target: targetOf(plan),
  reason,
});

const fail = (plan: CopyPlan, error: ClassifiedError): Outcome => ({
  status: 'failed',
  rule: plan.rule.name,
  target: targetOf(plan),
  error,
});

/** Adds an outcome to the report, and logs and counts it the same way wherever it came from. */
export function record(
  report: Report,
  outcome: Outcome,
  deps: { log: Log; metrics: ReplicationMetrics; now: () => number },
  eventTime?: string,
): void {
  report.outcomes.push(outcome);
  const context = { source: report.source, ...outcome };
  switch (outcome.status) {
    case 'copied':
      deps.metrics.copied(outcome.rule, outcome.bytes, eventTime ? deps.now() - Date.parse(eventTime) : 0);
      deps.log.info('Replica written and verified', context);
      return;
    case 'deleted':
      deps.metrics.deleted(outcome.rule);
      deps.log.info('Replica deleted', context);
      return;
    case 'skipped':
      deps.metrics.skipped(outcome.rule, outcome.reason);
      deps.log.info(`Skipped: ${outcome.reason}`, context);
      return;
    case 'failed':
      deps.metrics.failed(outcome.rule, outcome.error.cause);
      if (outcome.error.class === 'retryable')
        deps.log.warn(`Retryable failure: ${outcome.error.cause}`, context);
      else deps.log.error(`Permanent failure: ${outcome.error.cause}`, context);
      return;
  }
}
