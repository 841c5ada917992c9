import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { Ec2CopyStarter } from '#ec2/copy-job';
import { executionNameOf as ec2ExecutionNameOf } from '#ec2/copy-job';
import { type CopyStarter, executionNameOf } from '#objects/copy-job';
import { inputOf, startAttempt } from './execution-attempts.ts';

/** `arn:aws:states:REGION:ACCOUNT:stateMachine:MACHINE` → `…:execution:MACHINE:NAME`. */
export function executionArnOf(stateMachineArn: string, name: string): string {
  const parts = stateMachineArn.split(':');
  if (parts.length !== 7 || parts[5] !== 'stateMachine')
    throw new Error(`${stateMachineArn} is not a state machine ARN`);
  return [...parts.slice(0, 5), 'execution', parts[6], name].join(':');
}

/**
 * Starts executions under their deterministic name. A name already taken by a running or succeeded
 * execution means the same copy is (or was) being made: that is the idempotency we want, not an error.
 * One taken by an execution that failed for good gets the next attempt (execution-attempts.ts).
 */
function stepFunctionsStarter<Job extends object>(
  stateMachineArn: string,
  nameOf: (job: Job) => string,
  client: SFNClient,
) {
  return {
    async start(job: Job) {
      const { execution, started } = await startAttempt(nameOf(job), {
        async tryStart(name, attempt) {
          try {
            const { executionArn } = await client.send(
              new StartExecutionCommand({
                stateMachineArn,
                name,
                input: JSON.stringify(inputOf(job, attempt)),
              }),
            );
            return { taken: false, execution: executionArn ?? name };
          } catch (error) {
            if ((error as Error).name === 'ExecutionAlreadyExists') return { taken: true };
            throw error;
          }
        },
        async statusOf(name) {
          const { status } = await client.send(
            new DescribeExecutionCommand({ executionArn: executionArnOf(stateMachineArn, name) }),
          );
          return status ?? 'UNKNOWN';
        },
      });
      return { execution, started };
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
