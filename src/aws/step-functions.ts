import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { type CopyStarter, executionNameOf } from '#objects/copy-job';

/**
 * Starts object-copy executions under their deterministic name. A name already taken means the same copy
 * is (or was) being made: that is the idempotency we want, not an error.
 */
export function stepFunctionsCopyStarter(stateMachineArn: string, client = new SFNClient({})): CopyStarter {
  return {
    async start(job) {
      const name = executionNameOf(job);
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
