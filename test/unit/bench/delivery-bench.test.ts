import { describe, expect, it } from 'vitest';
import {
  chosenMemory,
  costOf,
  type DeliveryPath,
  modelledDurationMs,
  sqsRequestsPerObject,
} from '../../../bench/delivery.ts';

/** The arithmetic the delivery section computes from its measurements (bench/delivery.ts). */

const path = (over: Partial<DeliveryPath> = {}): DeliveryPath => ({
  label: 'p',
  batchSize: 10,
  objects: 100,
  invocations: 10,
  s3: { head: 100, copy: 100, other: 0 },
  logs: { events: 10, bytes: 1000 },
  wallMs: 100,
  cpuMs: 50,
  firstWallMs: 300,
  firstCpuMs: 150,
  maxRssMb: 100,
  ...over,
});

describe('delivery bench arithmetic', () => {
  it('stretches only the CPU time by the vCPU share the memory buys, never below one vCPU', () => {
    // 50 ms waiting, 50 ms CPU: at 1769 MB one vCPU, at 256 MB 256/1769 of one.
    expect(modelledDurationMs(path(), 1769)).toBe(100);
    expect(modelledDurationMs(path(), 256)).toBe(Math.ceil(50 + 50 / (256 / 1769)));
    expect(modelledDurationMs(path(), 3538)).toBe(100);
  });

  it('counts SQS requests per object: the SendMessage, and a receive and a delete per 10 messages', () => {
    expect(sqsRequestsPerObject(0)).toBe(0);
    expect(sqsRequestsPerObject(1)).toBe(3);
    expect(sqsRequestsPerObject(10)).toBeCloseTo(1.2);
    expect(sqsRequestsPerObject(15)).toBeCloseTo(1 + 4 / 15);
    expect(sqsRequestsPerObject(100)).toBeCloseTo(1.2);
  });

  it('prices a path per object from its counts, and chooses the cheapest memory with 1.5x the peak', () => {
    const cost = costOf(path(), 256);
    expect(cost.perObject.s3).toBeCloseTo((0.005 / 1000 + 0.0004 / 1000) * 1);
    expect(cost.perObject.sqs).toBeCloseTo(1.2 * 0.4e-6);
    expect(cost.perObject.logs).toBeCloseTo(10 * 0.5e-9);
    expect(cost.perObject.gbSeconds).toBeCloseTo(0.1 * 0.25 * (cost.durationMs / 1000));
    // 100 MB peak: 128 MB has too little room, so the choice is among 256 MB and up.
    expect(chosenMemory(path()).memoryMb).toBe(256);
    expect(chosenMemory(path({ maxRssMb: 80 })).memoryMb).toBe(128);
  });
});
