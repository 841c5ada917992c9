import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  costPerItem,
  deployedLogging,
  deployedMemory,
  PRICES,
  requestsReport,
  runRequests,
} from '../../bench/requests.ts';

describe('requests benchmark (npm run bench -- requests)', () => {
  it('It should count and price a few objects and one short EC2 copy of each kind in the sandbox', async () => {
    const memory = deployedMemory(readFileSync('serverless.yml', 'utf8'));
    const rows = await runRequests({ objects: 3, copies: 1, minutes: [1], seed: 1, memory });

    const [one, two] = rows.objects;
    // The fast path: one HEAD of the source, shared by every destination, and one COPY per destination.
    expect(one?.tally.s3).toEqual({ HeadObject: 3, CopyObject: 3 });
    expect(two?.tally.s3).toEqual({ HeadObject: 3, CopyObject: 6 });
    expect(one?.tally.lambda).toEqual({ 'object-created': 3 });
    expect(one?.tally.transitions).toBe(0);
    expect(one?.cost.s3).toBeCloseTo(PRICES.s3Tier1PerRequest + PRICES.s3Tier2PerRequest, 12);

    expect(rows.ec2).toHaveLength(2);
    for (const { tally } of rows.ec2) {
      expect(tally.copies).toBe(1);
      expect(tally.transitions).toBeGreaterThan(0);
      expect(tally.transitions).toBeLessThanOrEqual(40);
    }
    expect(requestsReport(rows, 'test')).toContain('| EBS snapshot | 1 min | events |');
  });

  it('It should count the copy-waiters table and the completion handler when copies end by their event, and none of it when polled', {
    timeout: 60_000,
  }, async () => {
    const memory = deployedMemory(readFileSync('serverless.yml', 'utf8'));
    const rows = await runRequests({
      objects: 1,
      copies: 1,
      minutes: [1],
      seed: 1,
      memory,
      completion: ['events', 'polling'],
    });
    const snapshot = (completion: string) =>
      rows.ec2.find((row) => row.scenario.kind === 'snapshot' && row.completion === completion);
    const events = snapshot('events');
    const polling = snapshot('polling');
    // By event: the await step stores the waiter, the completion handler (invoked by the copy's event)
    // reads it, claims the freed slot and removes the waiter; each consumes request units.
    expect(events?.tally.lambda['ec2-copy-completed']).toBe(1);
    expect(events?.tally.dynamodb.PutItem).toBeGreaterThanOrEqual(1);
    expect(events?.tally.dynamodb.GetItem).toBeGreaterThanOrEqual(1);
    expect(events?.tally.dynamodb.DeleteItem).toBeGreaterThanOrEqual(1);
    expect(events?.tally.dynamodbUnits.write).toBeGreaterThanOrEqual(2);
    expect(events?.tally.dynamodbUnits.read).toBeGreaterThan(0);
    expect(events?.cost.dynamodb).toBeCloseTo(
      events
        ? events.tally.dynamodbUnits.write * PRICES.dynamoDbPerWriteUnit +
            events.tally.dynamodbUnits.read * PRICES.dynamoDbPerReadUnit
        : Number.NaN,
      15,
    );
    expect(events?.tally.transitions).toBeLessThanOrEqual(10);
    // Polled: no table, no completion handler, more transitions.
    expect(polling?.tally.dynamodb).toEqual({});
    expect(polling?.tally.lambda['ec2-copy-completed']).toBeUndefined();
    expect(polling?.tally.transitions).toBeGreaterThan(events?.tally.transitions ?? Number.POSITIVE_INFINITY);
    expect(requestsReport(rows, 'test')).toContain('#### Events against polling');
  });

  it('It should price Lambda at the deployed memory, step transitions at the Standard rate and DynamoDB by request unit', () => {
    const cost = costPerItem(
      {
        items: 1,
        s3: {},
        ec2: {},
        dynamodb: { PutItem: 2, GetItem: 1 },
        dynamodbUnits: { write: 3, read: 1 },
        lambda: { 'step CheckCopy': 2 },
        executions: 1,
        transitions: 10,
        copies: 1,
      },
      'ec2',
      { ec2CopyStep: 1024 },
    );
    expect(cost.stepFunctions).toBeCloseTo(10 * PRICES.stepFunctionsPerTransition, 12);
    // Request units at on-demand prices: $0.625 per million written, $0.125 per million read.
    expect(cost.dynamodb).toBeCloseTo((3 * 0.625 + 1 * 0.125) / 1e6, 15);
    // 2 invocations of 1 GB for the assumed 100 ms.
    expect(cost.lambda).toBeCloseTo(2 * (PRICES.lambdaPerRequest + 0.1 * PRICES.lambdaArmPerGbSecond), 12);
  });
});

describe('requests benchmark, logs', () => {
  it('It should count the logs of sampled objects run through the bundled function, and price them', {
    timeout: 120_000,
  }, async () => {
    const serverless = readFileSync('serverless.yml', 'utf8');
    const memory = deployedMemory(serverless);
    const logging = deployedLogging(serverless);
    const rows = await runRequests({
      objects: 1,
      copies: 1,
      minutes: [1],
      seed: 7,
      memory,
      logSample: 2,
      logging,
    });
    const one = rows.objects[0];
    expect(one?.logs?.sampled).toBe(2);
    // Exactly one event per object: the copy's one EMF document (its three figures share the rule dimension),
    // no per-invocation batch document, at INFO no per-replica line, at WARN no START/END/REPORT. The old
    // code wrote 4 (one document per figure, plus EventsReceived).
    expect(one?.logs?.metricEvents).toBe(1);
    expect(one?.logs?.events).toBe(1);
    expect(one?.logs?.bytes).toBeGreaterThan(0);
    expect(one?.cost.logs).toBeCloseTo((one?.logs?.bytes ?? 0) * (0.5 / 1e9), 15);
    expect(requestsReport(rows, 'test')).toContain('sampled');
  });
});
