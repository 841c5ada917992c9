import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { deployedMemory, PRICES } from '../../bench/requests.ts';
import { runTagSync, tagSyncReport } from '../../bench/tag-sync.ts';

describe('tag-sync benchmark (npm run bench -- tags)', () => {
  it('It should count, per source tag change, the requests, invocations and events of the real handlers for 1 and 2 destinations', {
    timeout: 60_000,
  }, async () => {
    const memory = deployedMemory(readFileSync('serverless.yml', 'utf8'));
    const rows = await runTagSync({ objects: 2, copies: 1, memory });
    const row = (kind: string, destinations: number, change: string) => {
      const found = rows.find(
        (r) =>
          r.scenario.kind === kind &&
          r.scenario.destinations === destinations &&
          r.scenario.change === change,
      );
      if (!found) throw new Error(`no row ${kind} ${destinations} ${change}`);
      return found;
    };
    expect(rows).toHaveLength(12);

    // Objects: a source HEAD, its GetObjectTagging (only while it has tags), then a replica HEAD and a
    // PutObjectTagging per destination; the benchmark's own tag write is taken out.
    const added1 = row('object', 1, 'added');
    expect(added1.tally.items).toBe(2);
    expect(added1.tally.s3).toEqual({ HeadObject: 4, GetObjectTagging: 2, PutObjectTagging: 2 });
    expect(row('object', 2, 'added').tally.s3).toEqual({
      HeadObject: 6,
      GetObjectTagging: 2,
      PutObjectTagging: 4,
    });
    expect(row('object', 2, 'deleted').tally.s3).toEqual({ HeadObject: 6, PutObjectTagging: 4 });
    expect(added1.tally.lambda).toEqual({ 'object-tags-changed': 2 });
    expect(added1.tally.transitions).toBe(0);
    // The source's event is delivered; the replica's own tag event is published but matches no rule.
    expect(added1.delivered).toBe(2);
    expect(added1.events).toBe(4);
    expect(added1.cost.s3).toBeCloseTo(PRICES.s3Tier1PerRequest + 3 * PRICES.s3Tier2PerRequest, 12);

    // Snapshots: one Describe of the source, one of the copies per destination, one tag call per copy.
    expect(row('snapshot', 1, 'added').tally.ec2).toEqual({ DescribeSnapshots: 2, CreateTags: 1 });
    expect(row('snapshot', 2, 'deleted').tally.ec2).toEqual({ DescribeSnapshots: 3, DeleteTags: 2 });
    // AMIs: the copy's snapshots are tagged with it (one more DescribeSnapshots and tag call per copy).
    expect(row('image', 2, 'added').tally.ec2).toEqual({
      DescribeImages: 3,
      DescribeSnapshots: 2,
      CreateTags: 4,
    });
    for (const kind of ['snapshot', 'image'])
      for (const destinations of [1, 2]) {
        const { tally, cost } = row(kind, destinations, 'added');
        expect(tally.lambda).toEqual({ 'ec2-tags-changed': 1 });
        expect(cost.s3).toBe(0);
        expect(cost.total).toBeGreaterThan(0);
      }
    expect(tagSyncReport(rows, 'test')).toContain('| object | 2 | PutObjectTagging');
  });
});
