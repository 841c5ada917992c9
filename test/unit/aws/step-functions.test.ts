import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { CopyAttemptsExhaustedError } from '#adapters/execution-attempts';
import {
  executionArnOf,
  stateMachineRegionOf,
  stepFunctionsEc2CopyStarter,
  stepFunctionsStarters,
} from '#adapters/step-functions';
import { executionNameOf } from '#ec2/copy-machine/contract';
import { snapshotCopyJob } from '#test/support/ec2-jobs';

const sfn = mockClient(SFNClient);
const MACHINE = 'arn:aws:states:us-east-1:111122223333:stateMachine:ferry-dev-snapshot-copy';
const EXECUTIONS = 'arn:aws:states:us-east-1:111122223333:execution:ferry-dev-snapshot-copy';

const job = snapshotCopyJob();
const NAME = executionNameOf(job);

const taken = () => new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata: {} });
const starter = () => stepFunctionsEc2CopyStarter(MACHINE, sfn as unknown as SFNClient);

beforeEach(() => sfn.reset());

describe('executionArnOf', () => {
  it('It should name an execution of the state machine', () => {
    expect(executionArnOf(MACHINE, 'copy-1')).toBe(`${EXECUTIONS}:copy-1`);
    expect(() => executionArnOf('arn:aws:lambda:us-east-1:1:function:f', 'x')).toThrow(/state machine ARN/);
  });
});

describe('stateMachineRegionOf', () => {
  it('It should read the Region of the state machine ARN, and refuse any other ARN', () => {
    expect(stateMachineRegionOf('arn:aws:states:eu-west-1:111122223333:stateMachine:m')).toBe('eu-west-1');
    expect(() => stateMachineRegionOf('arn:aws:lambda:us-east-1:1:function:f')).toThrow(/state machine ARN/);
  });
});

describe('stepFunctionsStarters', () => {
  const instrumented = () => {
    const clients: { client: unknown; target: unknown }[] = [];
    const instrument = <T>(client: T, target: unknown): T => {
      clients.push({ client, target });
      return client;
    };
    return { clients, instrument };
  };

  it('It should start executions through a client made like every other: instrumented, in the machine’s Region', async () => {
    const { clients, instrument } = instrumented();
    sfn.on(StartExecutionCommand).resolves({ executionArn: `${EXECUTIONS}:${NAME}` });
    const starters = stepFunctionsStarters({ instrument });
    await starters.ec2(MACHINE).start(job);
    expect(clients).toHaveLength(1);
    const [{ client, target } = { client: undefined, target: undefined }] = clients;
    expect(client).toBeInstanceOf(SFNClient);
    expect(target).toEqual({ region: 'us-east-1' });
    // The call went out through the client the instrument was given (the traced one, in Lambda).
    expect(sfn.call(0).thisValue).toBe(client);
    expect(await (client as SFNClient).config.region()).toBe('us-east-1');
  });

  it('It should share one client per Region between the machines there, and make one per other Region', () => {
    const { clients, instrument } = instrumented();
    const starters = stepFunctionsStarters({ instrument });
    starters.objects('arn:aws:states:us-east-1:111122223333:stateMachine:ferry-dev-object-copy');
    starters.ec2(MACHINE);
    starters.ec2('arn:aws:states:eu-west-1:111122223333:stateMachine:ferry-dev-image-copy');
    expect(clients.map(({ target }) => target)).toEqual([{ region: 'us-east-1' }, { region: 'eu-west-1' }]);
  });
});

describe('stepFunctionsEc2CopyStarter', () => {
  it('It should start the copy under its deterministic name, with the job as input', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: `${EXECUTIONS}:${NAME}` });
    await expect(starter().start(job)).resolves.toEqual({
      execution: `${EXECUTIONS}:${NAME}`,
      started: true,
    });
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, {
      stateMachineArn: MACHINE,
      name: NAME,
      input: JSON.stringify(job),
    });
    expect(sfn).not.toHaveReceivedCommand(DescribeExecutionCommand);
  });

  it.each(['RUNNING', 'SUCCEEDED'] as const)(
    'It should say "already started" when the name is taken by a %s execution',
    async (status) => {
      sfn.on(StartExecutionCommand).rejects(taken());
      sfn.on(DescribeExecutionCommand).resolves({ status });
      await expect(starter().start(job)).resolves.toEqual({ execution: NAME, started: false });
      expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
      expect(sfn).toHaveReceivedCommandWith(DescribeExecutionCommand, {
        executionArn: `${EXECUTIONS}:${NAME}`,
      });
    },
  );

  it('It should start attempt 2, with its number in the input, after attempt 1 failed', async () => {
    sfn
      .on(StartExecutionCommand, { name: NAME })
      .rejects(taken())
      .on(StartExecutionCommand, { name: `${NAME}-a2` })
      .resolves({ executionArn: `${EXECUTIONS}:${NAME}-a2` });
    sfn.on(DescribeExecutionCommand).resolves({ status: 'FAILED' });
    await expect(starter().start(job)).resolves.toEqual({
      execution: `${EXECUTIONS}:${NAME}-a2`,
      started: true,
    });
    expect(sfn).toHaveReceivedNthCommandWith(StartExecutionCommand, 2, {
      stateMachineArn: MACHINE,
      name: `${NAME}-a2`,
      input: JSON.stringify({ ...job, attempt: 2 }),
    });
  });

  it('It should give up, naming the attempts, when three executions failed', async () => {
    sfn.on(StartExecutionCommand).rejects(taken());
    sfn
      .on(DescribeExecutionCommand)
      .resolves({ status: 'FAILED' })
      .on(DescribeExecutionCommand, { executionArn: `${EXECUTIONS}:${NAME}-a2` })
      .resolves({ status: 'TIMED_OUT' });
    const error = await starter()
      .start(job)
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CopyAttemptsExhaustedError);
    expect((error as Error).message).toContain(`${NAME}: FAILED, ${NAME}-a2: TIMED_OUT, ${NAME}-a3: FAILED`);
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 3);
    expect(sfn).toHaveReceivedCommandTimes(DescribeExecutionCommand, 3);
  });

  it('It should pass on any other error of StartExecution', async () => {
    sfn
      .on(StartExecutionCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    await expect(starter().start(job)).rejects.toThrow('Rate exceeded');
    expect(sfn).not.toHaveReceivedCommand(DescribeExecutionCommand);
  });
});
