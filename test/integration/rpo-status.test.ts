import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import {
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricServiceOf } from '#foundation/observability/powertools';
import { SANDBOX_CREDENTIALS, type Sandbox, startSandbox } from '#local/sandbox';
import { describeAge } from '#rpo/duration';
import { readRpoFigures, rpoMetricRequests } from '#rpo/metric-query';
import { rulesWithRpo } from '#rpo/rules';
import { configFrom, s3Event } from '#test/support/fixtures';
import { statusCommand } from '../../cli/operate.ts';

/**
 * `ferry status` against the sandbox: the real handlers copy, one copy throttled past its RPO; the status
 * command reads the figures with GetMetricData from the sandbox's CloudWatch (local/cloudwatch-api.ts),
 * which refuses what CloudWatch refuses.
 */

const CONFIG = configFrom(`
rules:
  - name: docs-rpo
    rpo: 1m
    objects: { bucket: status-source, prefix: docs/ }
    to: [{ bucket: status-replica, region: us-west-2 }]
`);

let sandbox: Sandbox;
let cloudwatch: CloudWatchClient;

beforeAll(async () => {
  sandbox = await startSandbox({ config: CONFIG, port: 0 });
  cloudwatch = new CloudWatchClient({
    region: 'us-east-1',
    endpoint: sandbox.endpoint,
    credentials: SANDBOX_CREDENTIALS,
  });
});
afterAll(async () => {
  cloudwatch.destroy();
  await sandbox.stop();
});

const nearestRank = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1] ?? 0;
};

describe('ferry status with the RPO figures from GetMetricData', () => {
  it('It should print p50, p99, max, the share within and the items over, as the copies measured them', async () => {
    const since = new Date(Date.now() - 60_000);
    const s3 = sandbox.s3('us-east-1');
    for (const key of ['a', 'b', 'c'])
      await s3.send(new PutObjectCommand({ Bucket: 'status-source', Key: `docs/${key}.txt`, Body: key }));
    await sandbox.settle();
    sandbox.faults.script('CopyObject', ...Array.from({ length: 40 }, () => 'slowdown' as const));
    await s3.send(new PutObjectCommand({ Bucket: 'status-source', Key: 'docs/slow.txt', Body: 'slow' }));
    await sandbox.settle();
    sandbox.faults.clear();

    const latencies = sandbox.rpoMetrics.latenciesMs.get('docs-rpo') ?? [];
    expect(latencies).toHaveLength(4);
    expect(sandbox.rpoMetrics.over.get('docs-rpo')).toBe(1);

    const result = await statusCommand({
      stage: 'sandbox',
      region: 'us-east-1',
      endpoint: sandbox.endpoint,
      since,
      sinceText: '1m',
      rpoRules: rulesWithRpo(CONFIG),
    });
    const text = result.lines.join('\n');
    expect(text).toContain('  docs-rpo: RPO 1m');
    expect(text).toContain(
      `    latency p50 ${describeAge(nearestRank(latencies, 50))}, p99 ${describeAge(nearestRank(latencies, 99))}, ` +
        `max ${describeAge(Math.max(...latencies))}; 75.00 % of 4 within the RPO, 1 over it`,
    );
    expect(text).not.toContain('not read');

    // Another stage in the same account publishes under its own `service` (ferry-dev): the sandbox
    // stage's figures are not read as its, nor the other way round.
    const read = (stage: string) =>
      readRpoFigures(cloudwatch, ['docs-rpo'], since, new Date(), metricServiceOf(stage));
    expect((await read('sandbox')).get('docs-rpo')?.over).toBe(1);
    expect((await read('dev')).size).toBe(0);
  });

  it('It should count an event waiting in the dead-letter queue as a pending item of its rule, and leave it there', async () => {
    const sqs = new SQSClient({
      region: 'us-east-1',
      endpoint: sandbox.endpoint,
      credentials: SANDBOX_CREDENTIALS,
    });
    try {
      const { QueueUrl } = await sqs.send(
        new GetQueueUrlCommand({ QueueName: 'ferry-sandbox-dead-letters' }),
      );
      // What EventBridge puts in a target's dead-letter queue: the event as body, the target as attribute.
      const event = s3Event('object-created');
      // Five minutes old by both clocks: the monitor's (the sandbox's virtual one) and the status's (the wall's).
      event.time = new Date(Math.min(Date.now(), sandbox.clock.now()) - 5 * 60_000).toISOString();
      event.detail.bucket.name = 'status-source';
      event.detail.object.key = 'docs/lost.txt';
      await sqs.send(
        new SendMessageCommand({
          QueueUrl,
          MessageBody: JSON.stringify(event),
          MessageAttributes: {
            TARGET_ARN: {
              DataType: 'String',
              StringValue: 'arn:aws:lambda:us-east-1:000000000000:function:ferry-sandbox-objectCreated',
            },
            ERROR_CODE: { DataType: 'String', StringValue: 'SDK_CLIENT_ERROR' },
          },
        }),
      );

      const pass = await sandbox.rpoMonitor.pass();
      expect(pass.deadLetters).toBe(1);
      const backlog = sandbox.rpoMetrics.backlogs.get('docs-rpo')?.at(-1);
      expect(backlog?.count).toBe(1);
      expect(backlog?.oldestAgeMs).toBeGreaterThanOrEqual(5 * 60_000);

      const result = await statusCommand({
        stage: 'sandbox',
        region: 'us-east-1',
        endpoint: sandbox.endpoint,
        since: new Date(Date.now() - 60_000),
        sinceText: '1m',
        rpoRules: rulesWithRpo(CONFIG),
        config: CONFIG,
      });
      expect(result.lines.join('\n')).toContain(
        '    pending: 1 in the dead-letter queue, 1 past the RPO; oldest s3://status-source/docs/lost.txt → ' +
          's3://status-replica/docs/lost.txt',
      );
      // Read, not taken: the message is still there for `ferry redrive`.
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
      );
      expect(Attributes?.ApproximateNumberOfMessages).toBe('1');
    } finally {
      sqs.destroy();
    }
  });

  it('It should refuse what CloudWatch refuses, each with the error code its API reference names', async () => {
    const end = new Date();
    const start = new Date(end.getTime() - 3_600_000);
    const rules = Array.from({ length: 101 }, (_, i) => `rule-${i}`);
    const [first] = rpoMetricRequests(rules, start, end, metricServiceOf('sandbox'));
    const queries = first?.MetricDataQueries ?? [];
    expect(queries).toHaveLength(500);
    type Query = (typeof queries)[number];
    // The SDK names a refusal by the model's shape for its query error code (ValidationError →
    // ValidationException, MissingParameter → MissingRequiredParameterException, …).
    const refusal = (input: ConstructorParameters<typeof GetMetricDataCommand>[0]) =>
      cloudwatch.send(new GetMetricDataCommand(input)).then(
        () => 'accepted',
        (error: Error & { $metadata?: { httpStatusCode?: number } }) =>
          `${error.name} ${error.$metadata?.httpStatusCode}`,
      );
    const one = queries.slice(0, 1);
    const window = { StartTime: start, EndTime: end };
    await expect(refusal({ MetricDataQueries: one, ...window })).resolves.toBe('accepted');
    const extra = { ...queries[0], Id: 'extra' } as Query;
    await expect(refusal({ MetricDataQueries: [...queries, extra], ...window })).resolves.toBe(
      'ValidationException 400',
    );
    await expect(
      refusal({ MetricDataQueries: [{ ...queries[0], Id: 'Upper' } as Query], ...window }),
    ).resolves.toBe('InvalidParameterValueException 400');
    await expect(refusal({ MetricDataQueries: [...one, ...one], ...window })).resolves.toBe(
      'InvalidParameterValueException 400',
    );
    await expect(refusal({ MetricDataQueries: one, StartTime: end, EndTime: end })).resolves.toBe(
      'InvalidParameterValueException 400',
    );
    const period61 = { ...queries[0], MetricStat: { ...queries[0]?.MetricStat, Period: 61 } } as Query;
    await expect(refusal({ MetricDataQueries: [period61], ...window })).resolves.toBe(
      'InvalidParameterValueException 400',
    );
    await expect(refusal({ MetricDataQueries: one, EndTime: end } as never)).resolves.toBe(
      'MissingRequiredParameterException 400',
    );
    const both = { ...queries[0], Expression: 'SUM(METRICS())' } as Query;
    await expect(refusal({ MetricDataQueries: [both], ...window })).resolves.toBe(
      'InvalidParameterCombinationException 400',
    );
    await expect(refusal({ MetricDataQueries: one, ...window, NextToken: 'forged' })).resolves.toBe(
      'InvalidNextToken 400',
    );
  });
});
