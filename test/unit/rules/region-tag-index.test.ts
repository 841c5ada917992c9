import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ImageFacts, imageMatches, planImageCopies } from '#ec2/images/router';
import { planSnapshotCopies, type SnapshotFacts, snapshotMatches } from '#ec2/snapshots/router';
import { type ImageRule, ImageRuleSchema, type SnapshotRule, SnapshotRuleSchema } from '#rules/ec2-schema';
import { INDEX_MIN_RULES, indexOf, RegionTagIndex } from '#rules/region-tag-index';
import { routingWorkload } from '#test/support/routing-workload';

/**
 * The snapshot and image routers index their rules by Region and one required tag once there are
 * INDEX_MIN_RULES or more. They must route exactly as testing every rule in file order does.
 */

const SOURCE_REGIONS = ['us-east-1', 'eu-west-1', 'us-west-2'];
const tags = fc.dictionary(
  fc.constantFrom('app', 'backup', 'dr', 'team'),
  fc.constantFrom('a', 'b', 'true'),
  {
    maxKeys: 3,
  },
);
const regions = fc.subarray(SOURCE_REGIONS, { minLength: 1 });
const destinations = fc
  .integer({ min: 1, max: 2 })
  .map((count) =>
    ['ap-south-1', 'sa-east-1'].slice(0, count).map((region) => ({ region, kmsKeyId: 'alias/copies' })),
  );
const defined = (record: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined));
const optional = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined });
const VOLUMES = ['vol-00000001', 'vol-00000002', 'vol-00000003'];

const snapshotRule = (name: string) =>
  fc
    .record({
      regions,
      tags: optional(tags),
      volumeIds: optional(fc.subarray(VOLUMES, { minLength: 1 })),
      minVolumeSize: optional(fc.integer({ min: 1, max: 50 })),
      maxVolumeSize: optional(fc.integer({ min: 50, max: 100 })),
      encrypted: optional(fc.boolean()),
      description: optional(fc.constantFrom('^nightly', 'db$')),
      to: destinations,
    })
    .map(({ to, ...snapshots }) => SnapshotRuleSchema.parse({ name, snapshots: defined(snapshots), to }));

const imageRule = (name: string) =>
  fc
    .record({
      regions,
      tags: optional(tags),
      name: optional(fc.constantFrom('^web-', 'db')),
      encrypted: optional(fc.boolean()),
      to: destinations,
    })
    .map(({ to, ...images }) => ImageRuleSchema.parse({ name, images: defined(images), to }));

const listOf = <Rule>(rule: (name: string) => fc.Arbitrary<Rule>) =>
  fc
    .integer({ min: 0, max: 4 * INDEX_MIN_RULES })
    .chain((count) => fc.tuple(...Array.from({ length: count }, (_, i) => rule(`r${i}`))));

const region = fc.constantFrom(...SOURCE_REGIONS, 'ca-central-1');
const snapshotFacts: fc.Arbitrary<SnapshotFacts> = fc
  .record({
    snapshotId: fc.constant('snap-1'),
    region,
    volumeId: optional(fc.constantFrom(...VOLUMES)),
    volumeSizeGiB: optional(fc.integer({ min: 1, max: 120 })),
    encrypted: fc.boolean(),
    description: fc.constantFrom('nightly db', 'weekly', 'nightly'),
    tags,
  })
  .map((facts) => defined(facts) as unknown as SnapshotFacts);
const imageFacts: fc.Arbitrary<ImageFacts> = fc.record({
  imageId: fc.constant('ami-1'),
  region,
  name: fc.constantFrom('web-1', 'db-2', 'other'),
  encrypted: fc.boolean(),
  tags,
});

const scanSnapshots = (rules: readonly SnapshotRule[], facts: SnapshotFacts) =>
  rules
    .filter((rule) => snapshotMatches(rule, facts))
    .flatMap((rule) =>
      rule.to.map((destination, destinationIndex) => ({ rule, destination, destinationIndex })),
    );
const scanImages = (rules: readonly ImageRule[], facts: ImageFacts) =>
  rules
    .filter((rule) => imageMatches(rule, facts))
    .flatMap((rule) =>
      rule.to.map((destination, destinationIndex) => ({ rule, destination, destinationIndex })),
    );

describe('Region and tag index of snapshot and image rules', () => {
  it('It should plan the same snapshot copies as the linear scan, in the same order (random rule sets)', () => {
    fc.assert(
      fc.property(
        listOf(snapshotRule),
        fc.array(snapshotFacts, { minLength: 1, maxLength: 30 }),
        (rules, snapshots) => {
          for (const facts of snapshots)
            expect(planSnapshotCopies(rules, facts)).toEqual(scanSnapshots(rules, facts));
        },
      ),
      { seed: 20240611, numRuns: 300 },
    );
  });

  it('It should plan the same AMI copies as the linear scan, in the same order (random rule sets)', () => {
    fc.assert(
      fc.property(
        listOf(imageRule),
        fc.array(imageFacts, { minLength: 1, maxLength: 30 }),
        (rules, images) => {
          for (const facts of images) expect(planImageCopies(rules, facts)).toEqual(scanImages(rules, facts));
        },
      ),
      { seed: 20240612, numRuns: 300 },
    );
  });

  it('It should route realistic 300-rule sets exactly as the scan does', () => {
    const { snapshots, images } = routingWorkload(300, 2000, 11);
    for (const facts of snapshots.events)
      expect(planSnapshotCopies(snapshots.rules, facts)).toEqual(scanSnapshots(snapshots.rules, facts));
    for (const facts of images.events)
      expect(planImageCopies(images.rules, facts)).toEqual(scanImages(images.rules, facts));
  });

  it('It should file each rule under its rarest required tag and return candidates in file order', () => {
    const rules: { name: string; regions: string[]; tags?: Record<string, string> }[] = [
      { name: 'dr-billing', regions: ['us-east-1'], tags: { dr: 'true', app: 'billing' } },
      { name: 'all', regions: ['us-east-1'] },
      { name: 'dr-web', regions: ['us-east-1', 'eu-west-1'], tags: { dr: 'true', app: 'web' } },
      { name: 'dr', regions: ['us-east-1'], tags: { dr: 'true' } },
    ];
    const index = new RegionTagIndex(rules, (rule) => rule);
    const names = (region: string, resourceTags: Record<string, string>) =>
      index.candidates(region, resourceTags).map((rule) => rule.name);
    // Candidates only: the router applies the full filter to them.
    expect(names('us-east-1', { app: 'billing' })).toEqual(['dr-billing', 'all']);
    expect(names('us-east-1', { app: 'web', dr: 'true' })).toEqual(['all', 'dr-web', 'dr']);
    expect(names('eu-west-1', { app: 'web' })).toEqual(['dr-web']);
    expect(names('ca-central-1', { app: 'web' })).toEqual([]);
  });

  it('It should build once per list, and again when the list was edited in place', () => {
    const cache = new WeakMap<readonly { regions: string[] }[], RegionTagIndex<{ regions: string[] }>>();
    const rules = [{ regions: ['us-east-1'] }];
    const first = indexOf(cache, rules, (rule) => rule);
    expect(indexOf(cache, rules, (rule) => rule)).toBe(first);
    rules.push({ regions: ['eu-west-1'] });
    expect(indexOf(cache, rules, (rule) => rule).candidates('eu-west-1', {})).toEqual([
      { regions: ['eu-west-1'] },
    ]);
  });
});
