import { type CaughtError, causeOf, messageOf } from '#foundation/errors/step-errors';
import { ec2RpoItem, machineMonitorOf } from '#rpo/items';
import { observeFailed } from '#rpo/observe';
import { handOnSlot } from './await-slot-step.ts';
import type { CopyProgress, Ec2CopyJob } from './contract.ts';
import { identity } from './copy-tags.ts';
import { destinationClient, type Ec2CopyStepDeps } from './step-deps.ts';

/**
 * The copy failed for good: remove what it left in the destination (a copy in `error`, or one abandoned at
 * its deadline), count the failure by cause, and hand the cause to the machine's Fail state.
 */
export async function recordFailure(
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
  // A copy that had started held a slot: the next copy waiting for one may go.
  if (copy) await handOnSlot(job, copy.id, deps);
  deps.metrics.failed(job.rule, cause);
  const rpoItem = deps.rpo ? ec2RpoItem(job) : undefined;
  // A copy's start is when it entered the execution the monitor lists (as finalize-step.ts judges it); a
  // failure the monitor's pass will judge sends nothing here (observeFailed).
  if (rpoItem && deps.rpo)
    await observeFailed(rpoItem, deps.now(), cause, deps.rpo, machineMonitorOf(copy?.startedAt, job.attempt));
  const message = copy?.message ?? messageOf(failure);
  deps.log.error(`Copy of ${job.source.id} to ${job.destination.region} failed: ${cause}`, {
    rule: job.rule,
    reason: message,
    removed,
  });
  return { recorded: cause, message, removed };
}
