import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  clientTokenOf,
  type Ec2CopyJob,
  executionNameOf,
  retentionGroupOf,
} from '#ec2/copy-machine/contract';
import { copyTagsOf } from '#ec2/copy-machine/copy-tags';
import { Ec2TagTooLongError, TooManyEc2TagsError } from '#ec2/errors';
import { copyableTags, isFerryCopy, MARKER, tagList, tagMap } from '#ec2/markers';
import { MAX_DESTINATION_TAGS } from '#ec2/tag-limits';
import { snapshotCopyJob } from '#test/support/ec2-jobs';
import { recordingLog } from '#test/support/fixtures';

const job = snapshotCopyJob({
  destination: { tags: { 'copied-by': 'ferry' } },
  source: { sizeGiB: 8, tags: { team: 'db' } },
});

const NAME = /^[A-Za-z0-9_-]{1,80}$/;

/** Ids and Regions of every shape EC2 and AWS use: 8 or 17 hex digits, the longest Region names. */
const hex = (length: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${length}}$`));
const sourceId = fc
  .tuple(fc.constantFrom('snap-', 'ami-'), fc.oneof(hex(8), hex(17)))
  .map(([prefix, digits]) => prefix + digits);
const region = fc.constantFrom(
  'us-east-1',
  'eu-west-1',
  'ap-southeast-5',
  'us-gov-west-1',
  'us-isob-east-1',
  'il-central-1',
  'ap-northeast-3',
  'ca-west-1',
);
const jobs = fc.record({
  kind: fc.constantFrom('snapshot' as const, 'image' as const),
  id: sourceId,
  sourceRegion: region,
  rule: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/),
  destinationIndex: fc.nat({ max: 50 }),
  destinationRegion: region,
  account: fc.option(fc.stringMatching(/^\d{12}$/), { nil: undefined }),
});
type JobArgs = typeof jobs extends fc.Arbitrary<infer T> ? T : never;
const toJob = (args: JobArgs): Ec2CopyJob => ({
  ...job,
  kind: args.kind,
  rule: args.rule,
  destinationIndex: args.destinationIndex,
  destination: { ...job.destination, region: args.destinationRegion, account: args.account },
  source: { ...job.source, id: args.id, region: args.sourceRegion },
});

describe('executionNameOf', () => {
  it('is deterministic: the same copy always gets the same name', () => {
    expect(executionNameOf(structuredClone(job))).toBe(executionNameOf(job));
    // What is not the copy's identity does not change its name: the event time, tags, the description.
    expect(
      executionNameOf({
        ...job,
        eventTime: '2026-11-22T00:00:00Z',
        source: { ...job.source, tags: {}, description: 'other' },
      }),
    ).toBe(executionNameOf(job));
  });

  it('is at most 80 characters of [A-Za-z0-9_-], readable by its source and Region', () => {
    const name = executionNameOf(job);
    expect(name).toMatch(NAME);
    expect(name.startsWith('snap-0a1b2c3d4e5f60718-us-west-2-')).toBe(true);
  });

  it('differs per destination, Region, account, rule, source and kind', () => {
    const names = [
      job,
      { ...job, destinationIndex: 1 },
      { ...job, destination: { ...job.destination, region: 'eu-west-1' } },
      { ...job, destination: { ...job.destination, account: '444455556666' } },
      { ...job, rule: 'ebs-dr-2' },
      { ...job, source: { ...job.source, id: 'snap-0a1b2c3d4e5f60719' } },
      { ...job, source: { ...job.source, region: 'us-east-2' } },
      { ...job, kind: 'image' as const },
    ].map(executionNameOf);
    expect(new Set(names).size).toBe(names.length);
  });

  it('stays a valid name, and keeps copies apart, for every id and Region shape (property)', () => {
    fc.assert(
      fc.property(jobs, jobs, (a, b) => {
        const [first, second] = [toJob(a), toJob(b)];
        expect(executionNameOf(first)).toMatch(NAME);
        const sameIdentity =
          a.kind === b.kind &&
          a.id === b.id &&
          a.sourceRegion === b.sourceRegion &&
          a.rule === b.rule &&
          a.destinationIndex === b.destinationIndex &&
          a.destinationRegion === b.destinationRegion &&
          a.account === b.account;
        expect(executionNameOf(first) === executionNameOf(second)).toBe(sameIdentity);
      }),
    );
  });
});

describe('clientTokenOf', () => {
  it('is deterministic, at most 64 ASCII characters, and differs per copy', () => {
    const token = clientTokenOf(job);
    expect(token).toMatch(/^[\x21-\x7e]{1,64}$/);
    expect(clientTokenOf(structuredClone(job))).toBe(token);
    expect(clientTokenOf({ ...job, destinationIndex: 1 })).not.toBe(token);
    expect(clientTokenOf({ ...job, destination: { ...job.destination, region: 'eu-west-1' } })).not.toBe(
      token,
    );
    fc.assert(
      fc.property(jobs, (args) => {
        expect(clientTokenOf(toJob(args)).length).toBeLessThanOrEqual(64);
      }),
    );
  });

  it('differs per attempt of the copy, while the execution name does not', () => {
    const second = { ...job, attempt: 2 };
    expect(clientTokenOf(second)).not.toBe(clientTokenOf(job));
    expect(clientTokenOf({ ...job, attempt: 3 })).not.toBe(clientTokenOf(second));
    expect(executionNameOf(second)).toBe(executionNameOf(job));
  });
});

describe('markers and copied tags', () => {
  it("copyableTags drops AWS's and Ferry's keys, whatever their case, and keeps the user's", () => {
    expect(
      copyableTags({
        team: 'db',
        'aws:backup:source-resource': 'x',
        'AWS:cloudformation:stack-name': 'y',
        [MARKER.sourceId]: 'snap-1',
        'Ferry:rule': 'r',
        'awsome:tag': 'kept',
        'ferryman:tag': 'kept',
      }),
    ).toEqual({ team: 'db', 'awsome:tag': 'kept', 'ferryman:tag': 'kept' });
  });

  it("copyTagsOf gives the user's tags, the rule's tags, then Ferry's markers, which win", () => {
    const tagged: Ec2CopyJob = {
      ...job,
      destination: { ...job.destination, tags: { 'copied-by': 'ferry', team: 'dr' } },
      source: {
        ...job.source,
        tags: { team: 'db', owner: 'ops', 'aws:backup:source-resource': 'x', [MARKER.rule]: 'forged' },
      },
    };
    expect(copyTagsOf(tagged)).toEqual({
      team: 'dr',
      owner: 'ops',
      'copied-by': 'ferry',
      [MARKER.sourceId]: 'snap-0a1b2c3d4e5f60718',
      [MARKER.sourceRegion]: 'us-east-1',
      [MARKER.rule]: 'ebs-dr',
      [MARKER.group]: 'vol-0f1e2d3c4b5a69788',
    });
    const withoutUserTags = copyTagsOf({
      ...tagged,
      destination: { ...tagged.destination, copyTags: false },
    });
    expect(Object.keys(withoutUserTags)).not.toContain('owner');
    expect(Object.keys(withoutUserTags).filter((key) => key.toLowerCase().startsWith('aws:'))).toEqual([]);
  });

  /** `count` tags named so that key order is the reverse of insertion order. */
  const manyTags = (count: number, prefix: string): Record<string, string> =>
    Object.fromEntries(
      Array.from({ length: count }, (_, i) => [`${prefix}-${String(count - i).padStart(3, '0')}`, `v${i}`]),
    );

  it("copyTagsOf keeps the markers and the rule's tags whole, and fills what is left of EC2's 50 with copied tags in key order", () => {
    const log = recordingLog();
    const crowded = snapshotCopyJob({
      destination: { tags: { 'copied-by': 'ferry', team: 'dr' } },
      source: { tags: { ...manyTags(50, 'user'), team: 'db' } },
    });
    const tags = copyTagsOf(crowded, log);
    expect(Object.keys(tags)).toHaveLength(50);
    expect(tags).toMatchObject({
      'copied-by': 'ferry',
      team: 'dr',
      [MARKER.sourceId]: crowded.source.id,
      [MARKER.group]: crowded.source.volumeId,
    });
    // 6 fixed tags leave room for 44 of the 50 user tags: the first 44 in key order.
    const copied = Object.keys(tags).filter((key) => key.startsWith('user-'));
    expect(copied).toEqual(Array.from({ length: 44 }, (_, i) => `user-${String(i + 1).padStart(3, '0')}`));
    expect(log.warn).toHaveBeenCalledWith(
      expect.stringContaining('6 not copied'),
      expect.objectContaining({
        dropped: ['user-045', 'user-046', 'user-047', 'user-048', 'user-049', 'user-050'],
      }),
    );
  });

  it('copyTagsOf leaves out a copied tag EC2 would refuse, and copies the rest', () => {
    const log = recordingLog();
    const tags = copyTagsOf(
      snapshotCopyJob({ source: { tags: { long: 'x'.repeat(256), ['k'.repeat(128)]: 'v', team: 'db' } } }),
      log,
    );
    expect(Object.keys(tags).filter((key) => !key.startsWith('ferry:'))).toEqual(['team']);
    expect(log.warn).toHaveBeenCalledWith(expect.stringContaining('2 not copied'), expect.anything());
  });

  it("copyTagsOf refuses a rule's tags that do not fit with Ferry's markers: TooManyTags, a permanent cause", () => {
    const job47 = snapshotCopyJob({ destination: { tags: manyTags(47, 'set') } });
    expect(() => copyTagsOf(job47)).toThrow(TooManyEc2TagsError);
    expect(() => copyTagsOf(job47)).toThrow(/51 tags, EC2 allows 50/);
    expect(MAX_DESTINATION_TAGS).toBe(46);
    expect(
      Object.keys(copyTagsOf(snapshotCopyJob({ destination: { tags: manyTags(46, 'set') } }))),
    ).toHaveLength(50);
  });

  it("copyTagsOf refuses a rule's tag longer than EC2 allows (127-character keys, 255-character values): TagTooLong", () => {
    const withTag = (key: string, value: string) =>
      snapshotCopyJob({ destination: { tags: { [key]: value } } });
    expect(() => copyTagsOf(withTag('k'.repeat(128), 'v'))).toThrow(Ec2TagTooLongError);
    expect(() => copyTagsOf(withTag('k', 'v'.repeat(256)))).toThrow(Ec2TagTooLongError);
    // Characters, not UTF-16 units: 127 emoji are 254 units and fit.
    expect(copyTagsOf(withTag('🔑'.repeat(127), 'é'.repeat(255)))).toHaveProperty('🔑'.repeat(127));
  });

  it("copyTagsOf keeps the group marker within EC2's 255 characters", () => {
    const image = { ...job, kind: 'image' as const, source: { ...job.source, name: 'n'.repeat(300) } };
    expect(copyTagsOf(image)[MARKER.group]).toBe('n'.repeat(255));
  });

  it('groups retention by source volume for snapshots and by AMI name for images', () => {
    expect(retentionGroupOf(job)).toBe('vol-0f1e2d3c4b5a69788');
    expect(retentionGroupOf({ ...job, kind: 'image', source: { ...job.source, name: 'golden-web' } })).toBe(
      'golden-web',
    );
    const { volumeId: _, ...withoutVolume } = job.source;
    expect(retentionGroupOf({ ...job, source: withoutVolume })).toBe(job.source.id);
  });

  it("recognises Ferry's copies by their source-id marker, and converts tags both ways", () => {
    expect(isFerryCopy({ [MARKER.sourceId]: 'snap-1' })).toBe(true);
    expect(isFerryCopy({ [MARKER.rule]: 'r', team: 'db' })).toBe(false);
    const list = [
      { Key: 'team', Value: 'db' },
      { Key: 'empty', Value: '' },
    ];
    expect(tagMap([...list, { Value: 'no key' }, { Key: 'no-value' }])).toEqual({
      team: 'db',
      empty: '',
      'no-value': '',
    });
    expect(tagList(tagMap(list))).toEqual(list);
  });
});
