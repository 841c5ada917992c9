import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { Ec2CopyStarter } from '#ec2/copy-machine/contract';
import { executionNameOf as ec2ExecutionNameOf } from '#ec2/copy-machine/contract';
import { type AwsClientOptions, type AwsTarget, clientFactory } from '#foundation/aws-clients';
import { type CopyStarter, executionNameOf } from '#objects/copy-machine/contract';
import type { InventoryRunStarter } from '#reconcile/scheduled';
import { inputOf, startAttempt } from './execution-attempts.ts';

/** The fields of `arn:aws:states:REGION:ACCOUNT:stateMachine:MACHINE`, or an error naming the ARN. */
function stateMachineArnParts(stateMachineArn: string): string[] {
  const parts = stateMachineArn.split(':');
  if (parts.length !== 7 || parts[5] !== 'stateMachine')
    throw new Error(`${stateMachineArn} is not a state machine ARN`);
  return parts;
}

/** `arn:aws:states:REGION:ACCOUNT:stateMachine:MACHINE` → `…:execution:MACHINE:NAME`. */
export function executionArnOf(stateMachineArn: string, name: string): string {
  const parts = stateMachineArnParts(stateMachineArn);
  return [...parts.slice(0, 5), 'execution', parts[6], name].join(':');
}

/** The Region a state machine runs in (its ARN's fourth field): where its executions are started. */
export const stateMachineRegionOf = (stateMachineArn: string): string =>
  stateMachineArnParts(stateMachineArn)[3] as string;

/** The one way the starters get a Step Functions client: made, cached and instrumented as S3's and EC2's. */
export type SfnClientFactory = (target: AwsTarget) => SFNClient;

export const createSfnClientFactory = (options: AwsClientOptions = {}): SfnClientFactory =>
  clientFactory((config) => new SFNClient(config), options);

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

/**
 * Inventory-reconcile runs (src/reconcile/scheduled.ts): one execution named by its run id, which is new for
 * each scheduled run, so a name taken is an error like any other.
 */
export const stepFunctionsInventoryStarter = (
  stateMachineArn: string,
  client: SFNClient,
): InventoryRunStarter => ({
  async start(input) {
    const { executionArn } = await client.send(
      new StartExecutionCommand({ stateMachineArn, name: input.runId, input: JSON.stringify(input) }),
    );
    return executionArn ?? executionArnOf(stateMachineArn, input.runId);
  },
});

export const stepFunctionsCopyStarter = (stateMachineArn: string, client: SFNClient): CopyStarter =>
  stepFunctionsStarter(stateMachineArn, executionNameOf, client);

/** Snapshot-copy or image-copy executions, one per source and destination. */
export const stepFunctionsEc2CopyStarter = (stateMachineArn: string, client: SFNClient): Ec2CopyStarter =>
  stepFunctionsStarter(stateMachineArn, ec2ExecutionNameOf, client);

/**
 * The starters of a function's state machines, each with the client of its machine's Region, made with the
 * function's client options: so in Lambda every StartExecution and DescribeExecution is traced, as the S3
 * and EC2 calls are. One client per Region, shared by the machines there.
 */
export function stepFunctionsStarters(options: AwsClientOptions) {
  const sfn = createSfnClientFactory(options);
  const clientOf = (stateMachineArn: string) => sfn({ region: stateMachineRegionOf(stateMachineArn) });
  return {
    objects: (stateMachineArn: string) =>
      stepFunctionsCopyStarter(stateMachineArn, clientOf(stateMachineArn)),
    ec2: (stateMachineArn: string) => stepFunctionsEc2CopyStarter(stateMachineArn, clientOf(stateMachineArn)),
    inventory: (stateMachineArn: string) =>
      stepFunctionsInventoryStarter(stateMachineArn, clientOf(stateMachineArn)),
  };
}

export type StepFunctionsStarters = ReturnType<typeof stepFunctionsStarters>;
