import { CopyAttemptsExhaustedError } from '#adapters/execution-attempts';
import type { S3ClientFactory } from '#foundation/aws-clients';
import { type ClassifiedError, classifyError } from '#foundation/errors/classify';
import type { Log } from '#foundation/observability/powertools';
import type { ReplicationMetrics } from '#foundation/observability/replication-metrics';
import {
  type CopyJob,
  type CopyStarter,
  type SourceAttributes,
  SourceAttributesSchema,
} from '#objects/copy-machine/contract';
import { objectRpoItem } from '#rpo/items';
import { observeFailed, observeVerified, type RpoDeps } from '#rpo/observe';
import type { ObjectRule } from '#rules/schema';
import { copyToDestination } from './copy-one.ts';
import { checkReplicaLimits, needsSourceTags, type SourceHead } from './copy-request.ts';
import { type LockChecks, newLockChecks } from './destination-lock.ts';
import type { SourceObject } from './event.ts';
import { readMarkers } from './markers.ts';
import { failed, type Outcome, type Report, record, skipped, targetOf } from './outcomes.ts';
import { sourceGone } from './replica-guard.ts';
import {
  type CopyPlan,
  candidateRules,
  destinationKeyOf,
  filtersOnTags,
  planCopies,
  type Tags,
} from './router.ts';
import { headEventObject, readTags } from './source-reads.ts';

export interface ObjectReplicationDeps {
  rules: readonly ObjectRule[];
  s3: S3ClientFactory;
  log: Log;
  metrics: ReplicationMetrics;
  now: () => number;
  /** Objects above this size are copied by the state machine, in parts. */
  multipartThreshold: number;
  /** The object-copy state machine. Without it, retryable failures go back to Lambda's retries. */
  copies?: CopyStarter | undefined;
  /** Judges each verified replica of a rule with `rpo` (src/rpo/); unset, nothing is judged. */
  rpo?: RpoDeps | undefined;
}

/**
 * Copies one created object to every destination of every rule that matches it. Reads the source once
 * (HeadObject; GetObjectTagging only if a rule needs tag values), then makes one CopyObject per destination.
 * Never throws for a single destination: each gets an outcome, and the caller decides about retries.
 */
export async function replicateObject(event: SourceObject, deps: ObjectReplicationDeps): Promise<Report> {
  const report: Report = { source: `s3://${event.bucket}/${event.key}`, outcomes: [] };
  // The event's own key, where it differs, may be the one that exists (see headEventObject). When only
  // that key has rules, it is the only one read.
  const { eventKey, ...decoded } = event;
  const byDecoded = candidateRules(deps.rules, decoded);
  const byEventKey = eventKey !== undefined ? candidateRules(deps.rules, { ...decoded, key: eventKey }) : [];
  const asked: SourceObject =
    byDecoded.length > 0 || eventKey === undefined ? event : { ...decoded, key: eventKey };
  const covering = byDecoded.length > 0 ? byDecoded : byEventKey;
  if (covering.length === 0) {
    deps.log.debug('No rule covers this object', { source: report.source });
    return report;
  }
  const sourceClient = deps.s3({ region: event.region });
  const requesterPays = [...byDecoded, ...byEventKey].some((rule) => rule.objects.requesterPays === true);

  let head: SourceHead;
  let source: SourceObject;
  try {
    ({ head, source } = await headEventObject(sourceClient, {
      ...asked,
      ...(requesterPays ? { requesterPays } : {}),
    }));
  } catch (error) {
    // Reported under the key read first: the decoded one, as S3's events mean it, unless it has no rule.
    const { eventKey: _, ...first } = asked;
    report.source = `s3://${first.bucket}/${first.key}`;
    return settleAll(report, covering, first, deps, classifyError(error));
  }
  report.source = `s3://${source.bucket}/${source.key}`;
  const candidates = candidateRules(deps.rules, source);

  const markers = readMarkers(head.Metadata);
  const rules = markers ? candidates.filter((rule) => rule.objects.replicas === 'chain') : candidates;
  if (markers) {
    const ignoring = candidates.filter((rule) => !rules.includes(rule));
    for (const plan of everyDestination(ignoring, source)) record(report, skipped(plan, 'is-replica'), deps);
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
  // One Object Lock check per destination bucket for this invocation, whatever number of plans write there.
  const copyDeps = { ...deps, lockChecks: newLockChecks() };
  const outcomes = await Promise.all(plans.map((plan) => copyOrHandOff(plan, source, head, tags, copyDeps)));
  for (const outcome of outcomes) record(report, outcome, deps, source.eventTime);
  await observeFastPath(plans, outcomes, source, deps);
  return report;
}

/**
 * Replicas the fast path verified, judged against their rule's RPO (no monitor ever saw them pending), and
 * those it failed for good.
 */
async function observeFastPath(
  plans: readonly CopyPlan[],
  outcomes: readonly Outcome[],
  source: SourceObject,
  deps: ObjectReplicationDeps,
): Promise<void> {
  const rpo = deps.rpo;
  if (!rpo) return;
  const verifiedAt = deps.now();
  for (const [index, outcome] of outcomes.entries()) {
    const plan = plans[index];
    const item =
      plan && (outcome.status === 'copied' || outcome.status === 'failed')
        ? objectRpoItem(plan, source)
        : undefined;
    if (!item) continue;
    if (outcome.status === 'copied') await observeVerified(item, verifiedAt, { monitored: false }, rpo);
    // Failed for good: never to be verified, so missed now (a retryable failure comes back, or goes to the
    // machine, which judges it).
    else if (outcome.status === 'failed' && outcome.error.class === 'permanent')
      await observeFailed(item, verifiedAt, outcome.error.cause, rpo);
  }
}

/**
 * The fast path: one CopyObject. Objects above the multipart threshold, and copies that failed retryably
 * after the SDK's own attempts, go to the object-copy state machine instead.
 */
async function copyOrHandOff(
  plan: CopyPlan,
  source: SourceObject,
  head: SourceHead,
  tags: Tags | undefined,
  deps: ObjectReplicationDeps & { lockChecks?: LockChecks },
): Promise<Outcome> {
  // A replica S3 would refuse (metadata, tags, key) fails here, before any write or hand-off: reconcile,
  // which comes through here too, then reports it under its cause every pass without sending it again.
  try {
    checkReplicaLimits(plan, source, head, tags);
  } catch (error) {
    return failed(plan, classifyError(error));
  }
  if (source.size > deps.multipartThreshold && deps.copies) {
    return handOff(
      plan,
      source,
      'multipart',
      `size ${source.size} > multipart threshold ${deps.multipartThreshold}`,
      deps.copies,
      // What the upload is created with, read here already: the prepare step creates it beside its reads.
      SourceAttributesSchema.parse(head),
    );
  }
  const outcome = await copyToDestination(plan, source, head, tags, deps);
  if (outcome.status === 'failed' && outcome.error.class === 'retryable' && deps.copies) {
    return handOff(plan, source, 'single', outcome.error.cause, deps.copies);
  }
  return outcome;
}

async function handOff(
  plan: CopyPlan,
  source: SourceObject,
  mode: CopyJob['mode'],
  reason: string,
  copies: CopyStarter,
  attributes?: SourceAttributes,
): Promise<Outcome> {
  try {
    const { execution } = await copies.start({
      mode,
      plan,
      source,
      reason,
      ...(attributes ? { attributes } : {}),
    });
    return { status: 'handed-off', rule: plan.rule.name, target: targetOf(plan), execution, reason };
  } catch (error) {
    // Every attempt of this copy failed for good: another try of the event cannot help.
    if (error instanceof CopyAttemptsExhaustedError) return failed(plan, classifyError(error));
    // Not started: the event must come back (Lambda's retries, then the dead letters).
    return failed(plan, { ...classifyError(error), class: 'retryable' });
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
    record(
      report,
      error.class === 'precondition' || sourceGone(error)
        ? skipped(plan, 'source-changed')
        : failed(plan, error),
      deps,
    );
  }
  return report;
}
