import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  planSnapshotCopies,
  type SnapshotFacts,
  snapshotFactsFilteredBy,
  snapshotMatches,
} from '#ec2/snapshots/router';
import { type SnapshotRule, SnapshotRuleSchema } from '#rules/ec2-schema';

const rule = (
  name: string,
  snapshots: Record<string, unknown>,
  ...to: Record<string, unknown>[]
): SnapshotRule =>
  SnapshotRuleSchema.parse({
    name,
    snapshots: { regions: ['us-east-1'], ...snapshots },
    to: to.length > 0 ? to : [{ region: 'us-west-2', kmsKeyId: 'alias/dr' }],
  });

const snapshot = (facts: Partial<SnapshotFacts> = {}): SnapshotFacts => ({
  snapshotId: 'snap-0a1b2c3d4e5f60718',
  region: 'us-east-1',
  volumeId: 'vol-0f1e2d3c4b5a69788',
  volumeSizeGiB: 100,
  encrypted: true,
  description: 'nightly backup of db-1',
  tags: { backup: 'dr', team: 'db' },
  ...facts,
});

const names = (rules: readonly SnapshotRule[], facts: SnapshotFacts) =>
  planSnapshotCopies(rules, facts).map((plan) => plan.rule.name);

describe('snapshot router', () => {
  it.each([
    ['its Region', { regions: ['eu-west-1'] }, {}, false],
    ['one of its Regions', { regions: ['eu-west-1', 'us-east-1'] }, {}, true],
    ['its tags', { tags: { backup: 'dr' } }, {}, true],
    ['a tag value (case matters)', { tags: { backup: 'DR' } }, {}, false],
    ['a missing tag', { tags: { backup: 'dr', tier: 'gold' } }, {}, false],
    ['its volume', { volumeIds: ['vol-0f1e2d3c4b5a69788'] }, {}, true],
    ['another volume', { volumeIds: ['vol-01234567'] }, {}, false],
    ['an unknown volume', { volumeIds: ['vol-0f1e2d3c4b5a69788'] }, { volumeId: undefined }, false],
    ['the lower size bound (inclusive)', { minVolumeSize: 100 }, {}, true],
    ['a size below the lower bound', { minVolumeSize: 101 }, {}, false],
    ['the upper size bound (inclusive)', { maxVolumeSize: 100 }, {}, true],
    ['a size above the upper bound', { maxVolumeSize: 99 }, {}, false],
    ['an unknown size against a size filter', { minVolumeSize: 1 }, { volumeSizeGiB: undefined }, false],
    ['encryption', { encrypted: true }, {}, true],
    ['no encryption', { encrypted: false }, {}, false],
    ['an unencrypted snapshot', { encrypted: false }, { encrypted: false }, true],
    ['a description pattern', { description: '^nightly' }, {}, true],
    ['an unanchored description pattern', { description: 'db-\\d' }, {}, true],
    ['a description that does not match', { description: '^weekly' }, {}, false],
  ])('It should filter on %s', (_, filter, facts, matches) => {
    const encryptedFilter = 'encrypted' in filter && filter.encrypted === true;
    const r = rule('r', filter, {
      region: 'us-west-2',
      ...(encryptedFilter ? { kmsKeyId: 'alias/dr' } : {}),
    });
    expect(snapshotMatches(r, snapshot(facts))).toBe(matches);
    expect(planSnapshotCopies([r], snapshot(facts))).toHaveLength(matches ? 1 : 0);
  });

  it('It should make one plan per destination of every matching rule, in rule order', () => {
    const fanOut = rule(
      'fan',
      { tags: { backup: 'dr' } },
      { region: 'us-west-2', kmsKeyId: 'alias/dr' },
      { region: 'eu-west-1', kmsKeyId: 'alias/eu', retain: { count: 3 } },
    );
    const big = rule('big', { minVolumeSize: 50 }, { region: 'ap-southeast-2', kmsKeyId: 'alias/ap' });
    const other = rule('other', { regions: ['eu-central-1'] });
    const plans = planSnapshotCopies([fanOut, other, big], snapshot());
    expect(plans.map((plan) => [plan.rule.name, plan.destinationIndex, plan.destination.region])).toEqual([
      ['fan', 0, 'us-west-2'],
      ['fan', 1, 'eu-west-1'],
      ['big', 0, 'ap-southeast-2'],
    ]);
    expect(plans[1]?.destination.retain).toEqual({ count: 3 });
    expect(names([fanOut, other, big], snapshot({ volumeSizeGiB: 8, tags: {} }))).toEqual([]);
  });

  it('It should list the facts each rule filters on besides the Region', () => {
    expect(snapshotFactsFilteredBy(rule('plain', {}))).toEqual([]);
    expect(
      snapshotFactsFilteredBy(
        rule('all', {
          tags: { a: 'b' },
          volumeIds: ['vol-01234567'],
          maxVolumeSize: 10,
          encrypted: false,
          description: 'x',
        }),
      ),
    ).toEqual(['tags', 'volumeId', 'volumeSize', 'encrypted', 'description']);
  });

  it('It should match sizes exactly within [minVolumeSize, maxVolumeSize]', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2000 }),
        fc.integer({ min: 1, max: 2000 }),
        fc.nat(3000),
        (a, b, size) => {
          const [minVolumeSize, maxVolumeSize] = a <= b ? [a, b] : [b, a];
          const r = rule('s', { minVolumeSize, maxVolumeSize });
          expect(snapshotMatches(r, snapshot({ volumeSizeGiB: size }))).toBe(
            size >= minVolumeSize && size <= maxVolumeSize,
          );
        },
      ),
    );
  });
});
