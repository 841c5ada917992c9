import { destinationTarget, type Ec2ClientFactory } from '#aws/clients';
import { type ClassifiedError, classifyError } from '#aws/errors';
import {
  type CaughtError,
  CopyLimitError,
  causeOf,
  messageOf,
  PermanentCopyError,
  RetryableCopyError,
} from '#aws/step-errors';
import type { Log } from '#observability/powertools';
import type { ReplicationMetrics } from '#observability/replication-metrics';
import { ec2RpoItem } from '#rpo/items';
import { observeFailed, observeVerified, type RpoDeps } from '#rpo/observe';
import { nextWaitSeconds, WAIT_BOUNDS } from './adaptive-wait.ts';
import type { CopyKind, CopyView } from './copy-kind.ts';
import { type QueueReason, queueWaitSeconds } from './copy-queue.ts';
import {
  type CopyKindName,
  type CopyProgress,
  clientTokenOf,
  type Ec2CopyJob,
  type Ec2CopyStepInput,
  type QueuedCopy,
  retentionGroupOf,
} from './ec2-copy-contract.ts';
import { copyableTags, MARKER, type Tags } from './markers.ts';
import { copiesToPrune } from './retention.ts';
import { checkTags, EC2_TAG_LIMITS, isAwsTagKey, isTagLimitError, tagProblem } from './tag-limits.ts';

/**
 * The steps of the snapshot-copy and image-copy machines (`statemachines/ec2-copy.ts`), one Lambda invocation each:
 * start the copy (or find the one already started), check it and say how long to wait, finalize it (tags,
 * archive tier, retention), or record why it failed and remove what it left. Errors leave with the names
 * the machines' Retry and Catch match.
 */

/** No copy runs unwatched forever: past this, a still-pending copy is removed and reported. */
export const COPY_DEADLINE_HOURS = 72;

/** EC2's refusals for the copy limit and for the request rate: a refused start queues the copy. */
const REFUSALS: Partial<Record<string, QueueReason>> = {
  ResourceLimitExceeded: 'limit',
  RequestLimitExceeded: 'throttled',
};

/** The same refusals from any other call: retried by the machine as CopyLimitError. */
export const LIMIT_CAUSES = new Set(Object.keys(REFUSALS));

/** The copy outlived its deadline while still pending. */
export class CopyDeadlineExceededError extends Error {
  constructor(id: string, hours: number) {
    super(`${id} was still pending ${hours} h after it started; the copy is abandoned and removed`);
    this.name = 'CopyDeadlineExceededError';
  }
}

function raise(error: unknown): never {
  const classified = classifyError(error);
  if (LIMIT_CAUSES.has(classified.cause)) throw new CopyLimitError(classified);
  if (classified.class === 'retryable') throw new RetryableCopyError(classified);
  throw new PermanentCopyError(classified);
}

const permanent = (cause: string, message: string): PermanentCopyError =>
  new PermanentCopyError({ class: 'permanent', cause, message } satisfies ClassifiedError);

export interface Ec2CopyStepDeps {
  ec2: Ec2ClientFactory;
  kinds: Record<CopyKindName, CopyKind>;
  log: Log;
  metrics: ReplicationMetrics;
  now: () => number;
  /** Jitter for queued copies (seeded in the sandbox, so a run repeats). */
  random?: () => number;
  /** Judges each verified copy of a rule with `rpo` (src/rpo/). */
  rpo?: RpoDeps | undefined;
}

export async function runEc2CopyStep(input: Ec2CopyStepInput, deps: Ec2CopyStepDeps): Promise<unknown> {
  switch (input.action) {
    case 'start':
      return startCopy(input.job, input.copy, deps);
    case 'check':
      return checkCopy(input.job, input.copy, deps);
    case 'finalize':
      return finalizeCopy(input.job, input.copy, deps);
    case 'record-failure':
      return recordFailure(
        input.job,
        input.state.copy?.state === 'queued' ? undefined : input.state.copy,
        input.state.failure,
        deps,
      );
  }
}

const destinationClient = (job: Ec2CopyJob, deps: Ec2CopyStepDeps, retries = true) =>
  deps.ec2(destinationTarget(job.destination), { retries });

/** Ferry's markers: how this copy is found again, pruned by retention, and never copied onward. */
const markersOf = (job: Ec2CopyJob): Tags => ({
  [MARKER.sourceId]: job.source.id,
  [MARKER.sourceRegion]: job.source.region,
  [MARKER.rule]: job.rule,
  // An AMI name has at most 128 characters and a volume id 21: this cut is never expected to bite.
  [MARKER.group]: [...retentionGroupOf(job)].slice(0, EC2_TAG_LIMITS.valueChars).join(''),
});

/**
 * Every tag the copy must carry, within EC2's limits (src/ec2/tag-limits.ts), by priority:
 * 1. Ferry's markers, which must always be there (finding the copy again, retention, no loops);
 * 2. the rule's `tags`: what the configuration asks for is written in full or the copy fails, with
 *    `TooManyTags` (markers and `tags` together over 50) or `TagTooLong` (a key over 127 characters, a value
 *    over 255): a permanent cause, before any request EC2 would refuse;
 * 3. the source's user tags (`copyTags`), best effort: `aws:` and `ferry:` keys are never copied, and those that
 *    do not fit in what is left of the 50 (or that EC2 would refuse) are left out, in key order, and logged.
 *    A DR copy with some of its source's tags missing is worth more than no copy.
 */
export function copyTagsOf(job: Ec2CopyJob, log?: Log): Tags {
  const fixed = { ...job.destination.tags, ...markersOf(job) };
  checkTags(fixed, `the tags rule "${job.rule}" puts on every copy, with Ferry's markers`);
  const candidates = Object.entries(job.destination.copyTags ? copyableTags(job.source.tags) : {})
    .filter(([key]) => !(key in fixed))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const refused = candidates.filter(([key, value]) => tagProblem(key, value));
  const copyable = candidates.filter(([key, value]) => !tagProblem(key, value));
  const room = Math.max(0, EC2_TAG_LIMITS.perResource - Object.keys(fixed).length);
  const dropped = [...refused, ...copyable.slice(room)].map(([key]) => key);
  if (dropped.length > 0) {
    log?.warn(`${job.source.id} has tags its copy cannot carry: ${dropped.length} not copied`, {
      dropped,
      limit: EC2_TAG_LIMITS.perResource,
    });
  }
  return { ...Object.fromEntries(copyable.slice(0, room)), ...fixed };
}

/** A tag limit Ferry's own check found is a permanent failure of this copy, under its own cause. */
function withinTagLimits<T>(work: () => T): T {
  try {
    return work();
  } catch (error) {
    if (isTagLimitError(error)) throw permanent(error.code, error.message);
    throw error;
  }
}

const withoutAwsTags = (tags: Tags): Tags =>
  Object.fromEntries(Object.entries(tags).filter(([key]) => !isAwsTagKey(key)));

const identity = (job: Ec2CopyJob): Tags => ({ [MARKER.sourceId]: job.source.id, [MARKER.rule]: job.rule });

async function startCopy(
  job: Ec2CopyJob,
  queued: QueuedCopy | undefined,
  deps: Ec2CopyStepDeps,
): Promise<CopyProgress | QueuedCopy> {
  const kind = deps.kinds[job.kind];
  const { destination, source } = job;
  if (source.encrypted && !destination.kmsKeyId) {
    throw permanent(
      'KmsKeyRequired',
      `${source.id} is encrypted and rule "${job.rule}" names no kmsKeyId for ${destination.region}: an encrypted source is copied only under a key you choose`,
    );
  }
  // Checked before any request: a copy EC2 would refuse for its tags fails here, with the cause.
  const tags = withinTagLimits(() => copyTagsOf(job, deps.log));
  const client = destinationClient(job, deps);
  // A start that is retried (a lost answer, a crash after the copy call) finds the copy it already made.
  let earlier: CopyView[];
  try {
    earlier = await kind.findCopies(client, identity(job));
  } catch (error) {
    // Throttled before anything was done (a burst of queued copies all looking at once): queue again.
    return queueRefused(job, queued, error, deps);
  }
  const failed = earlier.filter((copy) => copy.state === 'failed');
  for (const copy of failed) await kind.remove(client, copy).catch(raise);
  const now = deps.now();
  const live = earlier.find((copy) => copy.state !== 'failed');
  if (live) {
    deps.log.info('Copy already started; resuming it', { copy: live.id, source: source.id });
    return progressOf(
      live,
      { startedAt: live.createdAt, deadline: deadlineOf(job, live.createdAt) },
      deps,
      true,
    );
  }

  if (destination.account && destination.account !== source.account) {
    await kind.share(deps.ec2({ region: source.region }), job, destination.account).catch(raise);
  }
  // No SDK retries on the copy call: a retry after a lost answer would copy twice. The state machine
  // retries this whole step, which first looks for the copy (above).
  const request = {
    tags,
    clientToken: clientTokenOf(
      job,
      failed.map((copy) => copy.id),
    ),
  };
  let id: string;
  try {
    id = await kind.startCopy(destinationClient(job, deps, false), job, request);
  } catch (error) {
    return queueRefused(job, queued, error, deps);
  }
  deps.log.info('Copy started', {
    copy: id,
    source: source.id,
    region: destination.region,
    rule: job.rule,
    ...(queued?.since ? { queuedSeconds: Math.round((now - queued.since) / 1000) } : {}),
  });
  return {
    id,
    startedAt: now,
    deadline: deadlineOf(job, now),
    state: 'pending',
    progress: 0,
    waitSeconds: nextWaitSeconds({ elapsedSeconds: 0, progress: 0 }),
  };
}

/**
 * EC2 refused the start (the copy call, or the look for an earlier copy). The copy limit and throttling
 * queue the copy: the machine waits (a slot-free estimate from the copies in flight, or a short backoff)
 * and starts again. Anything else is raised.
 */
async function queueRefused(
  job: Ec2CopyJob,
  queued: QueuedCopy | undefined,
  error: unknown,
  deps: Ec2CopyStepDeps,
): Promise<QueuedCopy> {
  const classified = classifyError(error);
  const reason = REFUSALS[classified.cause];
  if (!reason) raise(error);
  const now = deps.now();
  const attempts = queued?.attempts ?? 0;
  // Without an estimate (the describe failed too) the wait falls back to its default: never an error.
  const inFlight =
    reason === 'limit'
      ? await deps.kinds[job.kind].inFlight(destinationClient(job, deps)).catch(() => [])
      : [];
  const waitSeconds = queueWaitSeconds({ reason, attempts, now, inFlight }, deps.random);
  deps.metrics.queued(job.kind, job.rule, reason);
  deps.log.info('EC2 refused to start the copy; queued', {
    source: job.source.id,
    region: job.destination.region,
    rule: job.rule,
    reason: classified.cause,
    inFlight: inFlight.length,
    attempts: attempts + 1,
    waitSeconds,
  });
  return {
    state: 'queued',
    attempts: attempts + 1,
    since: queued?.since ?? now,
    waitSeconds,
    message: `${classified.cause}: ${classified.message}`,
  };
}

/** A time-based snapshot copy promises its duration; anything else gets the general deadline. */
function deadlineOf(job: Ec2CopyJob, startedAt: number): number {
  const promisedHours = (job.destination.completionDurationMinutes ?? 0) / 60;
  return startedAt + Math.max(COPY_DEADLINE_HOURS, promisedHours * 1.5) * 3_600_000;
}

function progressOf(
  view: CopyView,
  times: { startedAt: number; deadline: number },
  deps: Ec2CopyStepDeps,
  resumed?: boolean,
): CopyProgress {
  const now = deps.now();
  return {
    id: view.id,
    ...times,
    state: view.state,
    progress: view.progress,
    waitSeconds:
      view.state === 'pending'
        ? nextWaitSeconds({
            elapsedSeconds: (now - times.startedAt) / 1000,
            progress: view.progress,
            secondsToDeadline: (times.deadline - now) / 1000,
          })
        : WAIT_BOUNDS.minSeconds,
    // A failed copy always says why: the machine's Fail state reports this message as the cause.
    ...(view.message || view.state === 'failed'
      ? { message: view.message ?? `EC2 reported ${view.id} as failed without a reason` }
      : {}),
    ...(resumed ? { resumed } : {}),
  };
}

async function checkCopy(job: Ec2CopyJob, copy: CopyProgress, deps: Ec2CopyStepDeps): Promise<CopyProgress> {
  const view = await deps.kinds[job.kind].describe(destinationClient(job, deps), copy.id).catch(raise);
  if (!view) {
    throw permanent('CopyVanished', `${copy.id} no longer exists in ${job.destination.region}`);
  }
  if (view.state === 'pending' && deps.now() >= copy.deadline) {
    throw new CopyDeadlineExceededError(copy.id, Math.round((copy.deadline - copy.startedAt) / 3_600_000));
  }
  return progressOf(view, copy, deps, copy.resumed);
}

export interface FinalizedCopy {
  copy: string;
  region: string;
  archived: boolean;
  tagged: string[];
  pruned: string[];
}

async function finalizeCopy(
  job: Ec2CopyJob,
  copy: CopyProgress,
  deps: Ec2CopyStepDeps,
): Promise<FinalizedCopy> {
  const kind = deps.kinds[job.kind];
  const client = destinationClient(job, deps);
  const view = await kind.describe(client, copy.id).catch(raise);
  if (view?.state !== 'completed') {
    throw permanent(
      'CopyNotCompleted',
      `${copy.id} is ${view?.state ?? 'gone'}; only a completed copy is finalized`,
    );
  }

  // Verify, don't hope: every tag the copy must carry is read back, and the missing ones are set.
  const wanted = withinTagLimits(() => copyTagsOf(job));
  const missing = Object.fromEntries(
    Object.entries(wanted).filter(([key, value]) => view.tags[key] !== value),
  );
  if (Object.keys(missing).length > 0) {
    // CreateTags counts the tags the copy has already (someone may have added some): refused past 50.
    withinTagLimits(() => checkTags({ ...withoutAwsTags(view.tags), ...missing }, `${view.id} once tagged`));
    await kind.tag(client, view, missing).catch(raise);
  }

  let archived = false;
  if (job.destination.archive && kind.archive) {
    // A retried finalize finds the copy archived already: EC2 would refuse to archive it again.
    if (view.storageTier !== 'archive') await kind.archive(client, view.id).catch(raise);
    archived = true;
  }

  const pruned: string[] = [];
  if (job.destination.retain) {
    const group = { [MARKER.rule]: job.rule, [MARKER.group]: wanted[MARKER.group] ?? '' };
    const copies = await kind.findCopies(client, group).catch(raise);
    const expired = copiesToPrune(
      copies.map((c) => ({ id: c.id, createdAt: c.createdAt, finished: c.state === 'completed' })),
      job.destination.retain,
      { now: deps.now(), keep: view.id },
    );
    for (const id of expired) {
      const old = copies.find((c) => c.id === id);
      if (!old) continue;
      await kind.remove(client, old).catch(raise);
      pruned.push(id);
    }
  }

  deps.metrics.resourceCopied(job.kind, job.rule, deps.now() - Date.parse(job.eventTime));
  const rpoItem = deps.rpo ? ec2RpoItem(job) : undefined;
  if (rpoItem && deps.rpo) await observeVerified(rpoItem, deps.now(), { monitored: true }, deps.rpo);
  if (pruned.length > 0) deps.metrics.pruned(job.kind, job.rule, pruned.length);
  const result = {
    copy: view.id,
    region: job.destination.region,
    archived,
    tagged: Object.keys(missing),
    pruned,
  };
  deps.log.info('Copy completed and verified', { ...result, source: job.source.id, rule: job.rule });
  return result;
}

/**
 * The copy failed for good: remove what it left in the destination (a copy in `error`, or one abandoned at
 * its deadline), count the failure by cause, and hand the cause to the machine's Fail state.
 */
async function recordFailure(
  job: Ec2CopyJob,
  copy: CopyProgress | undefined,
  failure: CaughtError,
  deps: Ec2CopyStepDeps,
) {
  const kind = deps.kinds[job.kind];
  const cause = copy?.state === 'failed' ? 'CopyFailed' : causeOf(failure);
  const client = destinationClient(job, deps);
  // Without a copy id the start failed, perhaps after its copy call went through: look for it by tags.
  const left = copy
    ? [await kind.describe(client, copy.id).catch(() => undefined)]
    : await kind.findCopies(client, identity(job)).catch(() => []);
  const removed: string[] = [];
  for (const view of left) {
    if (!view || view.state === 'completed') continue;
    await kind.remove(client, view).then(
      () => removed.push(view.id),
      (error: unknown) => deps.log.warn('Could not remove the failed copy', { copy: view.id, error }),
    );
  }
  deps.metrics.failed(job.rule, cause);
  const rpoItem = deps.rpo ? ec2RpoItem(job) : undefined;
  if (rpoItem && deps.rpo) await observeFailed(rpoItem, deps.now(), cause, deps.rpo);
  const message = copy?.message ?? messageOf(failure);
  deps.log.error(`Copy of ${job.source.id} to ${job.destination.region} failed: ${cause}`, {
    rule: job.rule,
    reason: message,
    removed,
  });
  return { recorded: cause, message, removed };
}
