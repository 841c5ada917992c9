import { CopyDeadlineExceededError } from '#ec2/errors';
import type { CopyProgress, Ec2CopyJob } from './contract.ts';
import { permanent, raise } from './error-translation.ts';
import { progressOf } from './progress.ts';
import { destinationClient, type Ec2CopyStepDeps } from './step-deps.ts';

/** The check step: the copy's state and progress, and how long the machine waits before it looks again. */
export async function checkCopy(
  job: Ec2CopyJob,
  copy: CopyProgress,
  deps: Ec2CopyStepDeps,
): Promise<CopyProgress> {
  const view = await deps.kinds[job.kind].describe(destinationClient(job, deps), copy.id).catch(raise);
  if (!view) {
    throw permanent('CopyVanished', `${copy.id} no longer exists in ${job.destination.region}`);
  }
  if (view.state === 'pending' && deps.now() >= copy.deadline) {
    throw new CopyDeadlineExceededError(copy.id, Math.round((copy.deadline - copy.startedAt) / 3_600_000));
  }
  return progressOf(view, copy, deps, copy.resumed);
}
