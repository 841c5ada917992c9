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
    expect(requestsReport(rows, 'test')).toContain('| EBS snapshot | 1 min |');
  });

  it('It should price Lambda at the deployed memory and step transitions at the Standard rate', () => {
    const cost = costPerItem(
      {
        items: 1,
        s3: {},
        ec2: {},
        lambda: { 'step CheckCopy': 2 },
        executions: 1,
        transitions: 10,
        copies: 1,
      },
      'ec2',
      { ec2CopyStep: 1024 },
    );
    expect(cost.stepFunctions).toBeCloseTo(10 * PRICES.stepFunctionsPerTransition, 12);
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
