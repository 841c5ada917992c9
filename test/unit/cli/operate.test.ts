import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  DescribeExecutionCommand,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  deadLetterOf,
  type OperateClients,
  parseSince,
  redriveCommand,
  statusCommand,
} from '../../../cli/operate.ts';

const sfn = mockClient(SFNClient);
const sqs = mockClient(SQSClient);
const lambda = mockClient(LambdaClient);
const clients: OperateClients = {
  sfn: new SFNClient({}),
  sqs: new SQSClient({}),
  lambda: new LambdaClient({}),
  cloudwatch: new CloudWatchClient({}),
  // The dead letters these tests send need no source read (no tag, snapshot or AMI rule with rpo).
  readers: {
    s3: () => {
      throw new Error('no source read expected');
    },
    ec2: () => {
      throw new Error('no source read expected');
    },
  },
};
const target = { stage: 'dev', region: 'us-east-1' };
const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/111122223333/ferry-dev-dead-letters';
const machineArn = (name: string) => `arn:aws:states:us-east-1:111122223333:stateMachine:ferry-dev-${name}`;
const NOW = Date.parse('2026-05-01T12:00:00Z');

beforeEach(() => {
  sfn.reset();
  sqs.reset();
  lambda.reset();
  sqs.on(GetQueueUrlCommand, { QueueName: 'ferry-dev-dead-letters' }).resolves({ QueueUrl: QUEUE_URL });
});

describe('parseSince', () => {
  it('reads durations back from now, and dates', () => {
    expect(parseSince('24h', NOW)?.toISOString()).toBe('2026-04-30T12:00:00.000Z');
    expect(parseSince('30m', NOW)?.toISOString()).toBe('2026-05-01T11:30:00.000Z');
    expect(parseSince('7d', NOW)?.toISOString()).toBe('2026-04-24T12:00:00.000Z');
    expect(parseSince('2026-04-01T00:00:00Z')?.toISOString()).toBe('2026-04-01T00:00:00.000Z');
    expect(parseSince('yesterday')).toBeUndefined();
  });
});

describe('status', () => {
  it('lists copies in flight, failures since --since with their causes, and the dead-letter depth', async () => {
    sfn.on(ListStateMachinesCommand).resolvesOnce({
      stateMachines: [
        {
          name: 'other-app-machine',
          stateMachineArn: 'arn:other',
          type: 'STANDARD',
          creationDate: new Date(),
        },
        {
          name: 'ferry-dev-object-copy',
          stateMachineArn: machineArn('object-copy'),
          type: 'STANDARD',
          creationDate: new Date(),
        },
      ],
      nextToken: 'page-2',
    });
    sfn.on(ListStateMachinesCommand, { nextToken: 'page-2' }).resolves({
      stateMachines: [
        {
          name: 'ferry-prod-snapshot-copy',
          stateMachineArn: 'arn:prod',
          type: 'STANDARD',
          creationDate: new Date(),
        },
        {
          name: 'ferry-dev-snapshot-copy',
          stateMachineArn: machineArn('snapshot-copy'),
          type: 'STANDARD',
          creationDate: new Date(),
        },
      ],
    });
    const execution = (machine: string, name: string, status: string, start: string, stop?: string) => ({
      executionArn: `arn:aws:states:us-east-1:111122223333:execution:ferry-dev-${machine}:${name}`,
      stateMachineArn: machineArn(machine),
      name,
      status: status as never,
      startDate: new Date(start),
      ...(stop ? { stopDate: new Date(stop) } : {}),
    });
    sfn.on(ListExecutionsCommand).resolves({ executions: [] });
    sfn
      .on(ListExecutionsCommand, { stateMachineArn: machineArn('object-copy'), statusFilter: 'RUNNING' })
      .resolves({ executions: [execution('object-copy', 'copy-a', 'RUNNING', '2026-05-01T11:59:00Z')] });
    sfn
      .on(ListExecutionsCommand, { stateMachineArn: machineArn('snapshot-copy'), statusFilter: 'FAILED' })
      .resolves({
        executions: [
          execution('snapshot-copy', 'snap-new', 'FAILED', '2026-05-01T10:00:00Z', '2026-05-01T11:00:00Z'),
          execution('snapshot-copy', 'snap-old', 'FAILED', '2026-04-20T10:00:00Z', '2026-04-20T11:00:00Z'),
        ],
      });
    sfn
      .on(ListExecutionsCommand, { stateMachineArn: machineArn('object-copy'), statusFilter: 'TIMED_OUT' })
      .resolves({
        executions: [
          execution('object-copy', 'slow', 'TIMED_OUT', '2026-04-30T00:00:00Z', '2026-05-01T09:00:00Z'),
        ],
      });
    sfn.on(DescribeExecutionCommand).resolves({ error: 'States.Timeout', cause: 'The execution timed out' });
    sfn
      .on(DescribeExecutionCommand, {
        executionArn: execution('snapshot-copy', 'snap-new', 'FAILED', '').executionArn,
      })
      .resolves({ error: 'SnapshotCopyFailed', cause: 'The key alias/x does not exist in us-west-2' });
    sqs.on(GetQueueAttributesCommand, { QueueUrl: QUEUE_URL }).resolves({
      Attributes: { ApproximateNumberOfMessages: '3', ApproximateNumberOfMessagesNotVisible: '0' },
    });

    const result = await statusCommand(
      { ...target, since: new Date(NOW - 86_400_000), sinceText: '24h' },
      clients,
    );
    expect(result).toEqual({
      exitCode: 0,
      lines: [
        'Ferry dev in us-east-1',
        'In flight: 1 copy',
        '  object-copy: 1 running',
        '    copy-a since 2026-05-01T11:59:00.000Z',
        '  snapshot-copy: 0 running',
        'Failures since 2026-04-30T12:00:00.000Z (24h): 2',
        '  ✘ snapshot-copy snap-new FAILED at 2026-05-01T11:00:00.000Z: SnapshotCopyFailed — The key alias/x does not exist in us-west-2',
        '  ✘ object-copy slow TIMED_OUT at 2026-05-01T09:00:00.000Z: States.Timeout — The execution timed out',
        'Dead letters: 3 waiting in ferry-dev-dead-letters: `ferry redrive` hands them back once the cause is fixed',
      ],
    });
    expect(sfn.commandCalls(DescribeExecutionCommand)).toHaveLength(2);
  });

  it('reports a missing queue as an error naming the queue and the stage, after what it found', async () => {
    sfn.on(ListStateMachinesCommand).resolves({ stateMachines: [] });
    sqs
      .on(GetQueueUrlCommand)
      .rejects(
        Object.assign(new Error('The specified queue does not exist.'), { name: 'QueueDoesNotExist' }),
      );
    const result = await statusCommand({ ...target, since: new Date(NOW), sinceText: '1h' }, clients);
    expect(result.exitCode).toBe(1);
    const hint = 'is stage "dev" deployed in us-east-1? Give the --stage and --region it was deployed with';
    expect(result.lines[1]).toBe(`No state machines named ferry-dev-…: ${hint}`);
    expect(result.lines.at(-1)).toBe(
      `✘ status: no dead-letter queue named ferry-dev-dead-letters in us-east-1: ${hint}`,
    );
  });
});

const FUNCTION_ARN = 'arn:aws:lambda:us-east-1:111122223333:function:ferry-dev-objectCreated';
const EVENT = {
  'detail-type': 'Object Created',
  source: 'aws.s3',
  detail: { bucket: { name: 'acme-prod' }, object: { key: 'invoices/1.pdf' } },
};
const lambdaRecord: Message = {
  MessageId: 'm-lambda',
  ReceiptHandle: 'r-lambda',
  Body: JSON.stringify({
    version: '1.0',
    requestContext: { requestId: 'x', functionArn: `${FUNCTION_ARN}:$LATEST`, condition: 'RetriesExhausted' },
    requestPayload: EVENT,
    responseContext: { statusCode: 200, functionError: 'Unhandled' },
    responsePayload: { errorType: 'AccessDenied', errorMessage: 'Access Denied' },
  }),
};
const eventBridgeLetter: Message = {
  MessageId: 'm-eb',
  ReceiptHandle: 'r-eb',
  Body: JSON.stringify({ ...EVENT, detail: { ...EVENT.detail, object: { key: 'invoices/2.pdf' } } }),
  MessageAttributes: {
    RULE_ARN: {
      DataType: 'String',
      StringValue: 'arn:aws:events:us-east-1:111122223333:rule/ferry-dev-created',
    },
    TARGET_ARN: { DataType: 'String', StringValue: FUNCTION_ARN },
    ERROR_CODE: { DataType: 'String', StringValue: 'SDK_CLIENT_ERROR' },
    ERROR_MESSAGE: { DataType: 'String', StringValue: 'Rate exceeded' },
  },
};
const gibberish: Message = { MessageId: 'm-junk', ReceiptHandle: 'r-junk', Body: '{"hello":"world"}' };

describe('deadLetterOf', () => {
  it('reads both shapes, and only Lambda targets', () => {
    expect(deadLetterOf(lambdaRecord)).toEqual({
      kind: 'lambda-destination',
      functionArn: `${FUNCTION_ARN}:$LATEST`,
      payload: EVENT,
      cause: 'AccessDenied: Access Denied',
    });
    expect(deadLetterOf(eventBridgeLetter)).toMatchObject({
      kind: 'eventbridge',
      functionArn: FUNCTION_ARN,
      cause: 'SDK_CLIENT_ERROR: Rate exceeded',
    });
    expect(deadLetterOf(gibberish).kind).toBe('unknown');
    expect(deadLetterOf({ Body: 'nope' })).toEqual({ kind: 'unknown', reason: 'the body is not JSON' });
    expect(
      deadLetterOf({
        ...eventBridgeLetter,
        MessageAttributes: {
          TARGET_ARN: { DataType: 'String', StringValue: 'arn:aws:sqs:us-east-1:111122223333:q' },
        },
      }),
    ).toMatchObject({ kind: 'unknown', reason: expect.stringContaining('not a Lambda function') });
  });
});

const DELIVERY_QUEUE_ARN = 'arn:aws:sqs:us-east-1:111122223333:ferry-dev-object-created';
/** A message an SQS delivery queue's redrive moved: the event as its body, the source queue as a system attribute. */
const redriven: Message = {
  MessageId: 'm-redriven',
  ReceiptHandle: 'r-redriven',
  Body: JSON.stringify(EVENT),
  Attributes: { DeadLetterQueueSourceArn: DELIVERY_QUEUE_ARN },
};

describe("deadLetterOf: a delivery queue's redrive", () => {
  it('reads the event and the queue it came from, and refuses a source that is not a queue', () => {
    expect(deadLetterOf(redriven)).toEqual({
      kind: 'delivery-queue',
      queueArn: DELIVERY_QUEUE_ARN,
      payload: EVENT,
      cause: 'received maxReceiveCount times without success',
    });
    expect(
      deadLetterOf({ ...redriven, Attributes: { DeadLetterQueueSourceArn: 'arn:aws:sns:us-east-1:1:t' } }),
    ).toMatchObject({ kind: 'unknown', reason: expect.stringContaining('not an SQS queue') });
  });
});

describe('redrive', () => {
  const receive = (...messages: Message[]) => {
    sqs.on(ReceiveMessageCommand).resolvesOnce({ Messages: messages }).resolves({ Messages: [] });
  };

  it('invokes each function asynchronously with its event, and deletes only what was handed back', async () => {
    receive(lambdaRecord, eventBridgeLetter, gibberish);
    lambda.on(InvokeCommand).resolves({ StatusCode: 202 });

    const result = await redriveCommand({ ...target, max: 100, dryRun: false }, clients);

    const invokes = lambda.commandCalls(InvokeCommand).map((call) => call.args[0].input);
    expect(invokes.map((input) => [input.FunctionName, input.InvocationType])).toEqual([
      [`${FUNCTION_ARN}:$LATEST`, 'Event'],
      [FUNCTION_ARN, 'Event'],
    ]);
    expect(JSON.parse(new TextDecoder().decode(invokes[0]?.Payload as Uint8Array))).toEqual(EVENT);
    expect(sqs.commandCalls(DeleteMessageCommand).map((call) => call.args[0].input.ReceiptHandle)).toEqual([
      'r-lambda',
      'r-eb',
    ]);
    // The one it could not read is made visible again at once.
    expect(sqs.commandCalls(ChangeMessageVisibilityCommand).map((call) => call.args[0].input)).toEqual([
      { QueueUrl: QUEUE_URL, ReceiptHandle: 'r-junk', VisibilityTimeout: 0 },
    ]);
    expect(result.exitCode).toBe(1);
    expect(result.lines).toEqual([
      'dead letters of Ferry dev in us-east-1',
      '  ✔ Object Created s3://acme-prod/invoices/1.pdf (Lambda dead letter: AccessDenied: Access Denied) → ferry-dev-objectCreated: handed back',
      '  ✔ Object Created s3://acme-prod/invoices/2.pdf (EventBridge dead letter: SDK_CLIENT_ERROR: Rate exceeded) → ferry-dev-objectCreated: handed back',
      '  ? message m-junk: not understood (neither a Lambda failure record nor an EventBridge dead letter); kept in the queue',
      '3 messages: 2 handed back, 0 failed, 1 not understood (failed and not understood stay in the queue)',
    ]);
  });

  it("sends a delivery queue's dead letter back to that queue, its body unchanged", async () => {
    receive(redriven);
    sqs
      .on(GetQueueUrlCommand, {
        QueueName: 'ferry-dev-object-created',
        QueueOwnerAWSAccountId: '111122223333',
      })
      .resolves({ QueueUrl: 'https://sqs.us-east-1.amazonaws.com/111122223333/ferry-dev-object-created' });
    sqs.on(SendMessageCommand).resolves({ MessageId: 'again' });

    const result = await redriveCommand({ ...target, max: 100, dryRun: false }, clients);

    expect(lambda.commandCalls(InvokeCommand)).toEqual([]);
    expect(sqs.commandCalls(SendMessageCommand).map((call) => call.args[0].input)).toEqual([
      {
        QueueUrl: 'https://sqs.us-east-1.amazonaws.com/111122223333/ferry-dev-object-created',
        MessageBody: redriven.Body,
      },
    ]);
    expect(sqs.commandCalls(ReceiveMessageCommand)[0]?.args[0].input.MessageSystemAttributeNames).toEqual([
      'DeadLetterQueueSourceArn',
    ]);
    expect(sqs.commandCalls(DeleteMessageCommand).map((call) => call.args[0].input.ReceiptHandle)).toEqual([
      'r-redriven',
    ]);
    expect(result.lines[1]).toContain(
      '(SQS redrive dead letter: received maxReceiveCount times without success) → queue ferry-dev-object-created: handed back',
    );
  });

  it('keeps a message whose invocation failed', async () => {
    receive(lambdaRecord);
    lambda
      .on(InvokeCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'TooManyRequestsException' }));

    const result = await redriveCommand({ ...target, max: 100, dryRun: false }, clients);

    expect(sqs.commandCalls(DeleteMessageCommand)).toHaveLength(0);
    expect(sqs.commandCalls(ChangeMessageVisibilityCommand)).toHaveLength(1);
    expect(result.exitCode).toBe(1);
    expect(result.lines[1]).toBe(
      '  ✘ Object Created s3://acme-prod/invoices/1.pdf (Lambda dead letter: AccessDenied: Access Denied) → ferry-dev-objectCreated: TooManyRequestsException: Rate exceeded; kept in the queue',
    );
  });

  it('dry run: invokes and deletes nothing; --max bounds what it receives', async () => {
    receive(lambdaRecord);
    const dry = await redriveCommand({ ...target, max: 100, dryRun: true }, clients);
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
    expect(sqs.commandCalls(DeleteMessageCommand)).toHaveLength(0);
    expect(dry.exitCode).toBe(0);
    expect(dry.lines.at(-1)).toBe('1 message: 1 would be handed back, 0 not understood');

    sqs.reset();
    sqs.on(GetQueueUrlCommand).resolves({ QueueUrl: QUEUE_URL });
    sqs.on(ReceiveMessageCommand).resolves({ Messages: [lambdaRecord] });
    lambda.on(InvokeCommand).resolves({ StatusCode: 202 });
    await redriveCommand({ ...target, max: 2, dryRun: false }, clients);
    expect(
      sqs.commandCalls(ReceiveMessageCommand).map((call) => call.args[0].input.MaxNumberOfMessages),
    ).toEqual([2, 1]);
  });
});
