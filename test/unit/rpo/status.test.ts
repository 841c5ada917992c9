import { describe, expect, it } from 'vitest';
import type { PendingItem } from '#rpo/backlog-monitor';
import { rpoStatusLines } from '#rpo/status';

const MIN = 60_000;
const NOW = Date.parse('2026-12-02T12:00:00Z');
const pending = (rule: string, item: string, ageMs: number, rpoMs: number, cause?: string): PendingItem => ({
  rule,
  kind: 'snapshot',
  item,
  destination: 'us-west-2',
  sourceTime: NOW - ageMs,
  rpoMs,
  where: 'in-flight',
  ...(cause ? { cause } : {}),
});

describe('ferry status, per rule with rpo', () => {
  it('It should print the RPO, the latency figures and the oldest pending item', () => {
    const lines = rpoStatusLines(
      [
        { rule: 'ebs-tight', rpoMs: 15 * MIN },
        { rule: 'docs', rpoMs: MIN },
      ],
      [
        pending('ebs-tight', 'snap-new', 2 * MIN, 15 * MIN),
        pending('ebs-tight', 'snap-old', 17 * MIN, 15 * MIN, 'snapshot copy in progress'),
      ],
      new Map([['ebs-tight', { p50Ms: 4 * MIN, p99Ms: 16 * MIN, maxMs: 17 * MIN, within: 9_999, over: 1 }]]),
      NOW,
      '24h',
    );
    expect(lines).toEqual([
      'RPO per rule (latency over 24h):',
      '  ebs-tight: RPO 15m',
      '    latency p50 4m00s, p99 16m00s, max 17m00s; 99.99 % of 10000 within the RPO, 1 over it',
      '    pending: 2 in flight, 1 past the RPO; oldest snap-old → us-west-2, 17m00s old (snapshot copy in progress)',
      '  docs: RPO 1m',
      '    latency: no item verified in the window',
      '    pending: none in flight or in the dead letters',
    ]);
  });

  it('It should count the dead letters of a rule apart from what is in flight', () => {
    const letter: PendingItem = { ...pending('docs', 's3://a/b', 3 * MIN, MIN), where: 'dead-letter' };
    const lines = rpoStatusLines(
      [{ rule: 'docs', rpoMs: MIN }],
      [pending('docs', 's3://a/c', 10_000, MIN), letter],
      undefined,
      NOW,
      '1h',
    );
    expect(lines[3]).toBe(
      '    pending: 1 in flight, 1 in the dead-letter queue, 1 past the RPO; oldest s3://a/b → us-west-2, 3m00s old',
    );
  });

  it('It should say where the latency comes from when no metrics source was read, and print nothing without rules', () => {
    expect(rpoStatusLines([{ rule: 'r', rpoMs: MIN }], [], undefined, NOW, '1h')[2]).toContain(
      'not read (CloudWatch',
    );
    expect(rpoStatusLines([], [], undefined, NOW, '1h')).toEqual([]);
  });
});
