import type { S3ClientFactory } from '#foundation/aws-clients';
import { classifyError } from '#foundation/errors/classify';
import { causeOf, PermanentCopyError, RetryableCopyError } from '#foundation/errors/step-errors';
import type { Log } from '#foundation/observability/powertools';
import type { ReplicationMetrics } from '#foundation/observability/replication-metrics';
import { copyToDestination } from '#objects/copy-one';
import { needsSourceTags } from '#objects/copy-request';
import { ReplicaSupersededError, SourceChangedError } from '#objects/errors';
import { logOutcome, type Outcome, targetOf } from '#objects/outcomes';
import { sourceGone } from '#objects/replica-guard';
import { headSource, namedCopyRefusal, readTags } from '#objects/source-reads';
import { machineMonitorOf, objectRpoItem } from '#rpo/items';
import { observeFailed, observeVerified, type RpoDeps } from '#rpo/observe';
import type { CopyJob, CopyStepInput } from './contract.ts';
import {
  abortMultipartCopy,
  abortOwnUploads,
  completeMultipartCopy,
  copyPartBatch,
  type MultipartSettings,
  startMultipartCopy,
  type UploadSweep,
} from './multipart-copy.ts';

/**
 * The steps of `statemachines/object-copy`, each one Lambda invocation. Failures leave as errors whose
 * `name` the state machine's Retry and Catch match: retryable ones are retried with backoff, a changed
 * source ends the execution quietly, everything else is recorded and fails the execution.
 */

function raise(error: unknown, target: string): never {
  if (error instanceof ReplicaSupersededError) throw new SourceChangedError(target, error.reason);
  const classified = classifyError(error);
  // Every object a step reads is the source's (a missing replica is an answer, not an error): a 404 is a
  // source deleted since the event, whose copy must not be made.
  if (classified.class === 'precondition' || sourceGone(classified)) throw new SourceChangedError(target);
  if (classified.class === 'retryable') throw new RetryableCopyError(classified);
  throw new PermanentCopyError(classified);
}

/**
 * A refused UploadPartCopy, named as the fast path names a refused CopyObject (namedCopyRefusal): the
 * source's key is the job's (the handler's HEAD), or, for a job without it (reconcile's), read by one HEAD,
 * only after an AccessDenied. A HEAD that fails too leaves the refusal as it was.
 */
async function namedPartRefusal(
  job: CopyJob,
  error: unknown,
  deps: Pick<CopyStepDeps, 's3'>,
): Promise<unknown> {
  if (classifyError(error).cause !== 'AccessDenied') return error;
  const keyArn = job.attributes
    ? job.attributes.SSEKMSKeyId
    : await headSource(deps.s3({ region: job.source.region }), job.source).then(
        (head) => head.SSEKMSKeyId,
        () => undefined,
      );
  return namedCopyRefusal(error, job.source, job.plan.rule, keyArn);
}

export interface CopyStepDeps {
  s3: S3ClientFactory;
  log: Log;
  metrics: ReplicationMetrics;
  now: () => number;
  multipart: MultipartSettings;
  /** Judges each verified replica of a rule with `rpo` (src/rpo/). */
  rpo?: RpoDeps | undefined;
}

export async function runCopyStep(input: CopyStepInput, deps: CopyStepDeps): Promise<unknown> {
  const job: CopyJob = input.job;
  const target = targetOf(job.plan);
  const multipartDeps = { s3: deps.s3, settings: deps.multipart, now: deps.now };
  // A superseded multipart copy is a skip like the fast path's: counted and logged by its reason.
  const fail = (error: unknown): never => {
    if (error instanceof ReplicaSupersededError) {
      deps.metrics.skipped(job.plan.rule.name, error.reason);
      deps.log.info(`Copy ended: skipped (${error.reason})`, { target, reason: job.reason });
    }
    return raise(error, target);
  };
  switch (input.action) {
    case 'copy':
      return report(await copySingle(job, deps, target), job, deps, input.startedAt);
    case 'prepare': {
      // A previous attempt may have died after creating its upload: it is looked for (and aborted) in the
      // same round as the prepare step's reads, before another is created.
      const { startedAt } = input;
      const sweep = startedAt
        ? (own: Promise<string | undefined>) => cleanUp(job, startedAt, deps, target, own)
        : undefined;
      return startMultipartCopy(job, multipartDeps, sweep).catch((error: unknown) => {
        if (error instanceof RetryableCopyError) throw error; // the sweep's, already classified
        return fail(error);
      });
    }
    case 'copy-parts':
      return copyPartBatch(job, input.upload, input.batch, multipartDeps).catch(async (error: unknown) =>
        raise(await namedPartRefusal(job, error, deps), target),
      );
    case 'complete':
      return report(
        await completeMultipartCopy(job, input.upload, multipartDeps, input.batches).catch(fail),
        job,
        deps,
        input.startedAt,
      );
    case 'abort':
      await abortMultipartCopy(job, input.uploadId, multipartDeps).catch((error) => raise(error, target));
      return { aborted: input.uploadId };
    case 'clean-up': {
      const sweep = await cleanUp(job, input.startedAt, deps, target);
      return { aborted: sweep.aborted, kept: sweep.kept, failed: sweep.failed.map(describeFailure) };
    }
    case 'record-failure': {
      const cause = causeOf(input.error);
      deps.metrics.failed(job.plan.rule.name, cause);
      deps.log.error(`Copy failed for good: ${cause}`, { target, reason: job.reason, error: input.error });
      const item = deps.rpo ? objectRpoItem(job.plan, job.source) : undefined;
      if (item && deps.rpo)
        await observeFailed(item, deps.now(), cause, deps.rpo, monitorOf(job, input.startedAt));
      return { recorded: cause };
    }
  }
}

/**
 * The item is in an execution the backlog monitor lists, since the execution started: one started after the
 * pass that judged the item's deadline (a copy reconcile sent long after it) was never seen pending there
 * (src/rpo/items.ts, machineMonitorOf).
 */
const monitorOf = (job: CopyJob, startedAt: string | undefined) =>
  machineMonitorOf(startedAt ? Date.parse(startedAt) : undefined, job.attempt);

const describeFailure = ({ uploadId, error }: UploadSweep['failed'][number]) => ({
  uploadId,
  cause: error.cause,
});

/**
 * Aborts the uploads this copy started and lost track of (`abortOwnUploads`), before the prepare step
 * creates one and when the copy ends without one. What may pass (throttling, a 5xx) fails the step
 * retryably, before anything new is created; what cannot (access denied) is logged as an error and the
 * copy goes on: the upload is left to the bucket's AbortIncompleteMultipartUpload lifecycle rule.
 */
async function cleanUp(
  job: CopyJob,
  startedAt: string,
  deps: CopyStepDeps,
  target: string,
  own?: Promise<string | undefined>,
): Promise<UploadSweep> {
  let sweep: UploadSweep;
  try {
    sweep = await abortOwnUploads(job, Date.parse(startedAt), deps, own);
  } catch (error) {
    const classified = classifyError(error);
    if (classified.class === 'retryable') throw new RetryableCopyError(classified);
    deps.log.error(`Could not look for uploads left on ${target}: ${classified.cause}`, {
      target,
      error: classified,
    });
    return { aborted: [], kept: [], failed: [] };
  }
  if (sweep.aborted.length > 0)
    deps.log.warn('Aborted uploads an earlier attempt left', { target, ...sweep });
  if (sweep.kept.length > 0)
    deps.log.info('Left uploads of a newer source object alone', { target, ...sweep });
  const retryable = sweep.failed.find(({ error }) => error.class === 'retryable');
  if (retryable) throw new RetryableCopyError(retryable.error);
  if (sweep.failed.length > 0) {
    deps.log.error(`Could not abort uploads left on ${target}`, {
      target,
      failed: sweep.failed.map(describeFailure),
    });
  }
  return sweep;
}

async function copySingle(job: CopyJob, deps: CopyStepDeps, target: string): Promise<Outcome> {
  const client = deps.s3({ region: job.source.region });
  const head = await headSource(client, job.source).catch((error) => raise(error, target));
  const tags = needsSourceTags(job.plan.destination)
    ? await readTags(client, job.source, head).catch((error) => raise(error, target))
    : undefined;
  const outcome = await copyToDestination(job.plan, job.source, head, tags, deps);
  if (outcome.status === 'failed') {
    if (outcome.error.class === 'retryable') throw new RetryableCopyError(outcome.error);
    throw new PermanentCopyError(outcome.error);
  }
  return outcome;
}

/**
 * Logs and counts how the copy ended as the handlers log and count theirs (a retried copy that finds itself
 * superseded is a skip like the fast path's, counted by its reason), with why it left the fast path.
 */
async function report(
  outcome: Outcome,
  job: CopyJob,
  deps: CopyStepDeps,
  startedAt: string | undefined,
): Promise<Outcome> {
  // The outcome's own `reason` (a skip's) wins over the job's.
  logOutcome(outcome, { reason: job.reason, ...outcome }, deps, job.source.eventTime);
  // A replica the machine verified was pending in an execution the backlog monitor lists; why it left the
  // fast path is the cause known.
  const item = outcome.status === 'copied' && deps.rpo ? objectRpoItem(job.plan, job.source) : undefined;
  if (item && deps.rpo)
    await observeVerified(item, deps.now(), { ...monitorOf(job, startedAt), cause: job.reason }, deps.rpo);
  return outcome;
}
