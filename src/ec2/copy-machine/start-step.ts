import type { CopyView } from '#ec2/copy-kind';
import { classifyError } from '#foundation/errors/classify';
import { nextWaitSeconds } from './adaptive-wait.ts';
import { type CopyProgress, clientTokenOf, type Ec2CopyJob, type QueuedCopy } from './contract.ts';
import { QUEUE_BOUNDS, queueWaitSeconds, slotTimeoutSeconds } from './copy-queue.ts';
import { copyTagsOf, identity } from './copy-tags.ts';
import { permanent, REFUSALS, raise, withinTagLimits } from './error-translation.ts';
import { deadlineOf, progressOf } from './progress.ts';
import { safetyCheckSeconds } from './safety-check.ts';
import { slotQueueOf } from './slot-queue.ts';
import { destinationClient, type Ec2CopyStepDeps } from './step-deps.ts';

/**
 * The start step: start the copy, or find the one an earlier try already started; a copy EC2 refuses for its
 * limit or its request rate is queued, not failed.
 */
export async function startCopy(
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
    safetySeconds: safetyCheckSeconds({ elapsedSeconds: 0, progress: 0 }),
  };
}

/**
 * EC2 refused the start (the copy call, or the look for an earlier copy). The copy limit and throttling
 * queue the copy: the machine waits (a slot-free estimate from the copies in flight, or a short backoff)
 * and starts again; refused for the limit where the machine waits by event, the copy is marked `wake`, and
 * waits for the next copy to end in AwaitSlot, a little after its turn in the slot queue as its timeout
 * (copy-queue.ts, `slotTimeoutSeconds`). Anything else is raised.
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
  // The limit, where slot queues exist: wait for the next copy to end to wake it (AwaitSlot), at most
  // until a little after its turn in the queue; otherwise the timed wait.
  const wake = reason === 'limit' && deps.await !== undefined && attempts < QUEUE_BOUNDS.tokenWaits;
  const since = queued?.since ?? now;
  const ahead = wake ? await waitersAhead(job, since, deps) : undefined;
  const waitSeconds =
    ahead === undefined
      ? queueWaitSeconds({ reason, attempts, now, inFlight }, deps.random)
      : slotTimeoutSeconds({ attempts, now, inFlight, ahead }, deps.random);
  deps.metrics.queued(job.kind, job.rule, reason);
  deps.log.info('EC2 refused to start the copy; queued', {
    source: job.source.id,
    region: job.destination.region,
    rule: job.rule,
    reason: classified.cause,
    inFlight: inFlight.length,
    ...(ahead === undefined ? {} : { ahead }),
    attempts: attempts + 1,
    waitSeconds,
  });
  return {
    state: 'queued',
    attempts: attempts + 1,
    since,
    waitSeconds,
    message: `${classified.cause}: ${classified.message}`,
    ...(wake ? { wake: true as const } : {}),
  };
}

/** Slot waiters counted past this are as far back as matters: the timeout is capped long before. */
const MAX_AHEAD = 1000;

/**
 * How many copies wait in this copy's slot queue since before it (they are woken first); undefined when
 * the table cannot say, and the copy's timeout is then the slot estimate, as before there was a queue.
 */
async function waitersAhead(job: Ec2CopyJob, since: number, deps: Ec2CopyStepDeps) {
  try {
    return await deps.await?.slots.ahead(slotQueueOf(job), since, MAX_AHEAD);
  } catch (error) {
    deps.log.warn('Could not read the slot queue; waiting for the slot estimate', { error });
    return undefined;
  }
}
