import { describe, expect, it } from 'vitest';
import { routingWorkload } from '#test/support/routing-workload';
import { routingReport, runRouting } from '../../../bench/routing.ts';
import { measureThroughput } from '../../../bench/routing-throughput.ts';

describe('routing benchmark (npm run bench -- routing)', () => {
  it('It should generate rule sets the real loader accepts, with every kind in the asked number', () => {
    const workload = routingWorkload(30, 50, 5);
    expect(workload.objects.rules).toHaveLength(30);
    expect(workload.snapshots.rules).toHaveLength(30);
    expect(workload.images.rules).toHaveLength(30);
    expect(workload.objects.events).toHaveLength(50);
    // Several buckets, prefixes of several depths, and some suffix, size and tag filters.
    const filters = workload.objects.rules.map((rule) => rule.objects);
    expect(new Set(filters.map((f) => f.bucket)).size).toBeGreaterThan(1);
    expect(new Set(filters.map((f) => f.prefix.split('/').length)).size).toBeGreaterThan(2);
    expect(filters.some((f) => f.suffix !== undefined)).toBe(true);
    expect(filters.some((f) => f.tags !== undefined)).toBe(true);
  });

  it('It should measure both routers on a tiny input and report each row', () => {
    const rows = runRouting({ ruleCounts: [5, 20], events: 50, rounds: 1, warmup: 0, seed: 3 });
    expect(rows.map((row) => `${row.rules} ${row.kind}`)).toEqual([
      '5 objects',
      '5 snapshots',
      '5 images',
      '20 objects',
      '20 snapshots',
      '20 images',
    ]);
    for (const row of rows) {
      expect(row.linear.median).toBeGreaterThan(0);
      expect(row.indexed.median).toBeGreaterThan(0);
    }
    const report = routingReport(rows, 'test');
    expect(report.split('\n').filter((line) => line.startsWith('| 20 '))).toHaveLength(3);
  });

  it('It should refuse routers that plan different copies for the same events', () => {
    expect(() => measureThroughput([1, 2, 3], [() => 1, () => 2], { rounds: 1, warmup: 0 })).toThrow(
      /disagree/,
    );
  });
});
