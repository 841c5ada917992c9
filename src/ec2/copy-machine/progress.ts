import type { CopyView } from '#ec2/copy-kind';
import { type CopyObservation, nextWaitSeconds, WAIT_BOUNDS } from './adaptive-wait.ts';
import type { CopyProgress, Ec2CopyJob } from './contract.ts';
import { SAFETY_CHECK_BOUNDS, safetyCheckSeconds } from './safety-check.ts';
import type { Ec2CopyStepDeps } from './step-deps.ts';

/** No copy runs unwatched forever: past this, a still-pending copy is removed and reported. */
export const COPY_DEADLINE_HOURS = 72;

/** A time-based snapshot copy promises its duration; anything else gets the general deadline. */
export function deadlineOf(job: Ec2CopyJob, startedAt: number): number {
  const promisedHours = (job.destination.completionDurationMinutes ?? 0) / 60;
  return startedAt + Math.max(COPY_DEADLINE_HOURS, promisedHours * 1.5) * 3_600_000;
}

/**
 * What the machine is told of a copy: its state and progress, and how long to wait before the next check:
 * polled (WaitForCopy), or for its event before the safety check (AwaitCopy). Both from the same look.
 */
export function progressOf(
  view: CopyView,
  times: { startedAt: number; deadline: number },
  deps: Ec2CopyStepDeps,
  resumed?: boolean,
): CopyProgress {
  const now = deps.now();
  const observed: CopyObservation = {
    elapsedSeconds: (now - times.startedAt) / 1000,
    progress: view.progress,
    secondsToDeadline: (times.deadline - now) / 1000,
  };
  const pending = view.state === 'pending';
  return {
    id: view.id,
    ...times,
    state: view.state,
    progress: view.progress,
    waitSeconds: pending ? nextWaitSeconds(observed) : WAIT_BOUNDS.minSeconds,
    safetySeconds: pending ? safetyCheckSeconds(observed) : SAFETY_CHECK_BOUNDS.minSeconds,
    // A failed copy always says why: the machine's Fail state reports this message as the cause.
    ...(view.message || view.state === 'failed'
      ? { message: view.message ?? `EC2 reported ${view.id} as failed without a reason` }
      : {}),
    ...(resumed ? { resumed } : {}),
  };
}
