import { completionEventReachesStack } from '#rules/event-patterns';
import { awaitSlot } from './await-slot-step.ts';
import { awaitCopy } from './await-step.ts';
import { checkCopy } from './check-step.ts';
import type { CopyProgress, Ec2CopyJob, Ec2CopyStepInput, QueuedCopy } from './contract.ts';
import { finalizeCopy } from './finalize-step.ts';
import { recordFailure } from './record-failure-step.ts';
import { startCopy } from './start-step.ts';
import type { Ec2CopyStepDeps } from './step-deps.ts';

/**
 * The steps of the snapshot-copy and image-copy machines (`statemachines/ec2-copy.ts`), one Lambda invocation each:
 * start the copy (or find the one already started), check it and say how long to wait, finalize it (tags,
 * archive tier, retention), or record why it failed and remove what it left. Errors leave with the names
 * the machines' Retry and Catch match (error-translation.ts). One file per step; this one dispatches.
 */
export async function runEc2CopyStep(input: Ec2CopyStepInput, deps: Ec2CopyStepDeps): Promise<unknown> {
  switch (input.action) {
    case 'start':
      return markPolled(input.job, await startCopy(input.job, input.copy, deps));
    case 'check':
      return markPolled(input.job, await checkCopy(input.job, input.copy, deps));
    case 'await':
      return awaitCopy(input.job, input.copy, input.taskToken, input.execution, deps);
    case 'await-slot':
      return awaitSlot(input.job, input.copy, input.taskToken, input.execution, deps);
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

/**
 * A started copy whose completion event cannot reach the stack (a destination role's account) carries
 * `polled`, so the machine rendered for events waits for it by WaitForCopy, as the polling machine does.
 */
function markPolled<T extends CopyProgress | QueuedCopy>(job: Ec2CopyJob, copy: T): T {
  if (copy.state === 'queued' || completionEventReachesStack(job.destination)) return copy;
  return { ...copy, polled: true };
}
