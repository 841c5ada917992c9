import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { Ec2CopyStarter } from '#ec2/copy-job';
import { executionNameOf as ec2ExecutionNameOf } from '#ec2/copy-job';
import { type CopyStarter, executionNameOf } from '#objects/copy-job';

/**
 * Starts executions under their deterministic name. A name already taken means the same copy is (or was)
 * being made: that is the idempotency we want, not an error.
 */
function stepFunctionsStarter<Job>(stateMachineArn: string, nameOf: (job: Job) => string, client: SFNClient) {
  return {
    async start(job: Job) {
      const name = nameOf(job);
      try {
        const { executionArn } = await client.send(
          new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(job) }),
        );
        return { execution: executionArn ?? name, started: true };
      } catch (error) {
        if ((error as Error).name === 'ExecutionAlreadyExists') return { execution: name, started: false };
        throw error;
      }
    },
  };
}

export const stepFunctionsCopyStarter = (stateMachineArn: string, client = new SFNClient({})): CopyStarter =>
  stepFunctionsStarter(stateMachineArn, executionNameOf, client);

/** Snapshot-copy or image-copy executions, one per source and destination. */
export const stepFunctionsEc2CopyStarter = (
  stateMachineArn: string,
  client = new SFNClient({}),
): Ec2CopyStarter => stepFunctionsStarter(stateMachineArn, ec2ExecutionNameOf, client);
