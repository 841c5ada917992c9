import { readFileSync } from 'node:fs';
import {
  CreateImageCommand,
  CreateSnapshotCommand,
  CreateTagsCommand,
  DeleteTagsCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  type Image,
  type Snapshot,
} from '@aws-sdk/client-ec2';
import {
  DeleteObjectTaggingCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MARKER } from '#ec2/markers';
import type { Delivery } from '#local/event-bus';
import { type Sandbox, startSandbox } from '#local/sandbox';
import type { Report } from '#objects/outcomes';
import { configFrom } from '#test/support/fixtures';

/**
 * Replicas and copies follow their source's tag changes, end to end: the sandbox's S3 emits "Object Tags
 * Added" / "Object Tags Deleted" on PutObjectTagging / DeleteObjectTagging, and its fake EC2 "Tag Change on
 * Resource" on CreateTags / DeleteTags; the bus delivers them by the patterns the deployment generates to
 * the real object-tags-changed and ec2-tags-changed handlers.
 */

const CONFIG = configFrom(`
rules:
  - name: docs
    objects: { bucket: tf-source, prefix: docs/ }
    to:
      - { bucket: tf-dr, region: us-west-2, keyPrefix: mirror/, tags: { set: { copy: dr } } }
      - { bucket: tf-plain, region: eu-west-1, tags: { copy: false, set: { owner: ferry } } }
  - name: versions
    objects: { bucket: tf-versioned }
    to:
      - { bucket: tf-versioned-dr, region: us-west-2 }
  - name: filtered
    objects: { bucket: tf-filtered, tags: { dr: "true" } }
    to:
      - { bucket: tf-filtered-dr, region: us-west-2 }
  - name: ebs-to-dr
    snapshots: { regions: [us-east-1], tags: { backup: dr } }
    to:
      - region: us-west-2
        tags: { copied-by: ferry }
  - name: ami-to-dr
    images: { regions: [us-east-1], tags: { dr: "true" } }
    to:
      - region: us-west-2
      - { region: eu-west-1, copyTags: false }
`);

let sandbox: Sandbox;
const deliveries: Delivery[] = [];
const east = () => sandbox.s3('us-east-1');
const west = () => sandbox.s3('us-west-2');

beforeAll(async () => {
  sandbox = await startSandbox({ config: CONFIG, port: 0, onDelivery: (d) => deliveries.push(d) });
});
afterAll(() => sandbox.stop());

async function tagsOf(client: S3Client, Bucket: string, Key: string, VersionId?: string) {
  const { TagSet = [] } = await client.send(new GetObjectTaggingCommand({ Bucket, Key, VersionId }));
  return Object.fromEntries(TagSet.map((tag) => [tag.Key, tag.Value]));
}

const putTags = async (Bucket: string, Key: string, tags: Record<string, string>, VersionId?: string) => {
  await east().send(
    new PutObjectTaggingCommand({
      Bucket,
      Key,
      VersionId,
      Tagging: { TagSet: Object.entries(tags).map(([k, v]) => ({ Key: k, Value: v })) },
    }),
  );
  await sandbox.settle();
};

/** The reports of object-tags-changed for one key, in delivery order. */
const tagReports = (key: string): Report[] =>
  deliveries
    .filter((d) => d.target === 'object-tags-changed' && d.result !== undefined)
    .map((d) => d.result as Report)
    .filter((report) => report.source.endsWith(`/${key}`));

describe('Object replicas follow their source’s tag changes', () => {
  it('It should re-apply each destination’s tag policy (copy + set) when the source’s tags are added, changed and deleted', async () => {
    await east().send(
      new PutObjectCommand({ Bucket: 'tf-source', Key: 'docs/a.txt', Body: 'a', Tagging: 'team=blue' }),
    );
    await sandbox.settle();
    expect(await tagsOf(west(), 'tf-dr', 'mirror/a.txt')).toEqual({ team: 'blue', copy: 'dr' });

    await putTags('tf-source', 'docs/a.txt', { team: 'red', stage: 'prod' });
    expect(await tagsOf(west(), 'tf-dr', 'mirror/a.txt')).toEqual({ team: 'red', stage: 'prod', copy: 'dr' });
    // copy: false: the replica's tags are its `set`, which no source change moves.
    expect(await tagsOf(sandbox.s3('eu-west-1'), 'tf-plain', 'docs/a.txt')).toEqual({ owner: 'ferry' });
    const [report] = tagReports('docs/a.txt');
    expect(report?.outcomes.map((o) => [o.target, o.status, 'reason' in o ? o.reason : ''])).toEqual([
      ['s3://tf-dr/mirror/a.txt', 'tags-synced', ''],
      ['s3://tf-plain/docs/a.txt', 'skipped', 'tags-not-copied'],
    ]);

    await east().send(new DeleteObjectTaggingCommand({ Bucket: 'tf-source', Key: 'docs/a.txt' }));
    await sandbox.settle();
    expect(await tagsOf(west(), 'tf-dr', 'mirror/a.txt')).toEqual({ copy: 'dr' });
  });

  it('It should tag the replica of the current version only: a tag change on an older version changes no replica', async () => {
    await east().send(
      new PutBucketVersioningCommand({
        Bucket: 'tf-versioned',
        VersioningConfiguration: { Status: 'Enabled' },
      }),
    );
    await west().send(
      new PutBucketVersioningCommand({
        Bucket: 'tf-versioned-dr',
        VersioningConfiguration: { Status: 'Enabled' },
      }),
    );
    const first = await east().send(
      new PutObjectCommand({ Bucket: 'tf-versioned', Key: 'v.txt', Body: '1' }),
    );
    await sandbox.settle();
    await east().send(new PutObjectCommand({ Bucket: 'tf-versioned', Key: 'v.txt', Body: '22' }));
    await sandbox.settle();
    const replica = await west().send(new HeadObjectCommand({ Bucket: 'tf-versioned-dr', Key: 'v.txt' }));

    await putTags('tf-versioned', 'v.txt', { old: 'yes' }, first.VersionId);
    expect(await tagsOf(west(), 'tf-versioned-dr', 'v.txt')).toEqual({});
    expect(
      tagReports('v.txt')
        .at(-1)
        ?.outcomes.map((o) => ('reason' in o ? o.reason : o.status)),
    ).toEqual(['source-changed']);

    await putTags('tf-versioned', 'v.txt', { current: 'yes' });
    expect(await tagsOf(west(), 'tf-versioned-dr', 'v.txt')).toEqual({ current: 'yes' });
    // Written on the replica's own version (PutObjectTagging's VersionId), not a new one.
    const after = await west().send(new HeadObjectCommand({ Bucket: 'tf-versioned-dr', Key: 'v.txt' }));
    expect(after.VersionId).toBe(replica.VersionId);
    expect(await tagsOf(west(), 'tf-versioned-dr', 'v.txt', replica.VersionId)).toEqual({ current: 'yes' });
  });

  it('It should keep the replica as it is when new tags stop matching the rule’s tag filter, and copy nothing when they start to', async () => {
    await east().send(
      new PutObjectCommand({ Bucket: 'tf-filtered', Key: 'f.txt', Body: 'f', Tagging: 'dr=true&team=a' }),
    );
    await sandbox.settle();
    expect(await tagsOf(west(), 'tf-filtered-dr', 'f.txt')).toEqual({ dr: 'true', team: 'a' });

    await putTags('tf-filtered', 'f.txt', { team: 'b' });
    expect(await tagsOf(west(), 'tf-filtered-dr', 'f.txt')).toEqual({ dr: 'true', team: 'a' });
    expect(
      tagReports('f.txt')
        .at(-1)
        ?.outcomes.map((o) => ('reason' in o ? o.reason : o.status)),
    ).toEqual(['filter-unmatched']);

    await east().send(new PutObjectCommand({ Bucket: 'tf-filtered', Key: 'g.txt', Body: 'g' }));
    await sandbox.settle();
    await putTags('tf-filtered', 'g.txt', { dr: 'true' });
    expect(
      tagReports('g.txt')
        .at(-1)
        ?.outcomes.map((o) => ('reason' in o ? o.reason : o.status)),
    ).toEqual(['absent']);
    await expect(
      west().send(new HeadObjectCommand({ Bucket: 'tf-filtered-dr', Key: 'g.txt' })),
    ).rejects.toThrow();
  });

  it('It should fail a tag change that would give the replica more than 10 tags as TooManyTags, and send nothing', async () => {
    await east().send(new PutObjectCommand({ Bucket: 'tf-source', Key: 'docs/many.txt', Body: 'm' }));
    await sandbox.settle();
    const ten = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`k${i}`, 'v']));
    await putTags('tf-source', 'docs/many.txt', ten);
    const outcome = tagReports('docs/many.txt').at(-1)?.outcomes[0];
    expect(outcome?.status === 'failed' && outcome.error.cause).toBe('TooManyTags');
    expect(await tagsOf(west(), 'tf-dr', 'mirror/many.txt')).toEqual({ copy: 'dr' });
  });

  it('It should repair a lost tag change on reconcile with a PutObjectTagging, not a re-copy', async () => {
    await east().send(
      new PutObjectCommand({ Bucket: 'tf-source', Key: 'docs/lost.txt', Body: 'l', Tagging: 'v=1' }),
    );
    await sandbox.settle();
    expect(await tagsOf(west(), 'tf-dr', 'mirror/lost.txt')).toEqual({ v: '1', copy: 'dr' });
    // The event is lost: the tags change behind Ferry's back (written on the replica directly here, as a
    // replica that missed its source's change looks the same).
    await west().send(
      new PutObjectTaggingCommand({
        Bucket: 'tf-dr',
        Key: 'mirror/lost.txt',
        Tagging: { TagSet: [{ Key: 'v', Value: 'stale' }] },
      }),
    );
    const before = await west().send(new HeadObjectCommand({ Bucket: 'tf-dr', Key: 'mirror/lost.txt' }));
    sandbox.requests.clear();
    const report = await sandbox.reconcile({ rule: 'docs' });
    const docs = report.rules.find((rule) => rule.rule === 'docs');
    expect(docs?.tagsRepaired).toBe(1);
    expect(docs?.sent).toBe(0);
    expect(await tagsOf(west(), 'tf-dr', 'mirror/lost.txt')).toEqual({ v: '1', copy: 'dr' });
    const after = await west().send(new HeadObjectCommand({ Bucket: 'tf-dr', Key: 'mirror/lost.txt' }));
    expect(after.LastModified).toEqual(before.LastModified);
    expect(sandbox.requests.get('CopyObject') ?? 0).toBe(0);
    expect(sandbox.requests.get('PutObjectTagging')).toBe(1);
    // A second pass finds every replica's tags right: reads only.
    sandbox.requests.clear();
    expect((await sandbox.reconcile({ rule: 'docs' })).rules[0]?.tagsRepaired ?? 0).toBe(0);
    expect(sandbox.requests.get('PutObjectTagging') ?? 0).toBe(0);
  });

  it('It should repair a lost tag change on the replica’s own version in a versioned destination', async () => {
    // tf-versioned(-dr) are versioned by the test above.
    await east().send(
      new PutObjectCommand({ Bucket: 'tf-versioned', Key: 'w.txt', Body: 'w', Tagging: 'v=1' }),
    );
    await sandbox.settle();
    const replica = await west().send(new HeadObjectCommand({ Bucket: 'tf-versioned-dr', Key: 'w.txt' }));
    await west().send(
      new PutObjectTaggingCommand({
        Bucket: 'tf-versioned-dr',
        Key: 'w.txt',
        Tagging: { TagSet: [{ Key: 'v', Value: 'stale' }] },
      }),
    );
    const report = await sandbox.reconcile({ rule: 'versions' });
    expect(report.rules[0]?.tagsRepaired).toBe(1);
    expect(await tagsOf(west(), 'tf-versioned-dr', 'w.txt', replica.VersionId)).toEqual({ v: '1' });
  });

  it('It should deliver the AWS-shaped "Object Tags Added" event of the docs to the handler through the bus patterns', async () => {
    const event = JSON.parse(readFileSync('test/events/s3/object-tags-added.json', 'utf8'));
    // Its bucket has no rule here: the deployment's patterns do not deliver it.
    await sandbox.settle();
    const count = deliveries.length;
    sandbox.bus.put(event);
    await sandbox.settle();
    expect(deliveries.slice(count).filter((d) => d.target === 'object-tags-changed')).toEqual([]);
    sandbox.bus.put({
      ...event,
      detail: {
        ...event.detail,
        bucket: { name: 'tf-source' },
        object: { ...event.detail.object, key: 'docs/a.txt' },
      },
    });
    await sandbox.settle();
    expect(deliveries.slice(count).map((d) => d.target)).toContain('object-tags-changed');
  });
});

const ec2Tags = (snapshot: Snapshot | undefined) =>
  Object.fromEntries((snapshot?.Tags ?? []).map((t) => [t.Key, t.Value]));

describe('Snapshot copies follow their source’s tag changes', () => {
  it('It should bring the copy’s tags to the policy: CreateTags for added or changed, DeleteTags for removed, never Ferry’s markers or the rule’s tags', async () => {
    const east2 = sandbox.ec2Client('us-east-1');
    const volumeId = sandbox.ec2.createVolume('us-east-1', { sizeGiB: 1 });
    const { SnapshotId = '' } = await east2.send(
      new CreateSnapshotCommand({
        VolumeId: volumeId,
        TagSpecifications: [
          {
            ResourceType: 'snapshot',
            Tags: [
              { Key: 'backup', Value: 'dr' },
              { Key: 'app', Value: 'web' },
              { Key: 'owner', Value: 'ana' },
            ],
          },
        ],
      }),
    );
    await sandbox.settle();
    const west2 = sandbox.ec2Client('us-west-2');
    const copyOf = async () =>
      (
        await west2.send(
          new DescribeSnapshotsCommand({
            OwnerIds: ['self'],
            Filters: [{ Name: `tag:${MARKER.sourceId}`, Values: [SnapshotId] }],
          }),
        )
      ).Snapshots?.[0];
    expect(ec2Tags(await copyOf())).toMatchObject({ app: 'web', owner: 'ana', 'copied-by': 'ferry' });

    await east2.send(
      new CreateTagsCommand({
        Resources: [SnapshotId],
        Tags: [
          { Key: 'app', Value: 'api' },
          { Key: 'tier', Value: 'gold' },
          { Key: 'copied-by', Value: 'someone' },
        ],
      }),
    );
    await east2.send(new DeleteTagsCommand({ Resources: [SnapshotId], Tags: [{ Key: 'owner' }] }));
    await sandbox.settle();

    const tags = ec2Tags(await copyOf());
    expect(tags).toMatchObject({
      app: 'api',
      tier: 'gold',
      backup: 'dr',
      // The rule's own tags win over a source tag of the same key, and stay.
      'copied-by': 'ferry',
      [MARKER.sourceId]: SnapshotId,
      [MARKER.rule]: 'ebs-to-dr',
    });
    expect(tags).not.toHaveProperty('owner');
    const handled = deliveries.filter((d) => d.target === 'ec2-tags-changed' && d.result !== undefined);
    expect(handled.length).toBeGreaterThanOrEqual(2);
  });
});

describe('AMI copies follow their source’s tag changes', () => {
  it('It should retag the AMI copy where copyTags is on, and leave the copy whose destination does not copy tags', async () => {
    const east2 = sandbox.ec2Client('us-east-1');
    const volumeId = sandbox.ec2.createVolume('us-east-1', { sizeGiB: 1 });
    const instanceId = sandbox.ec2.createInstance('us-east-1', [volumeId]);
    const { ImageId = '' } = await east2.send(
      new CreateImageCommand({
        InstanceId: instanceId,
        Name: 'web-1',
        TagSpecifications: [
          {
            ResourceType: 'image',
            Tags: [
              { Key: 'dr', Value: 'true' },
              { Key: 'build', Value: '1' },
            ],
          },
        ],
      }),
    );
    await sandbox.settle();
    const copyIn = async (region: string): Promise<Image | undefined> =>
      (
        await sandbox.ec2Client(region).send(
          new DescribeImagesCommand({
            Owners: ['self'],
            Filters: [{ Name: `tag:${MARKER.sourceId}`, Values: [ImageId] }],
          }),
        )
      ).Images?.[0];
    const tagsIn = async (region: string) =>
      Object.fromEntries(((await copyIn(region))?.Tags ?? []).map((t) => [t.Key, t.Value]));
    expect(await tagsIn('us-west-2')).toMatchObject({ build: '1' });
    const euBefore = await tagsIn('eu-west-1');
    expect(euBefore).not.toHaveProperty('build');

    await east2.send(new CreateTagsCommand({ Resources: [ImageId], Tags: [{ Key: 'build', Value: '2' }] }));
    await sandbox.settle();
    expect(await tagsIn('us-west-2')).toMatchObject({ build: '2', dr: 'true', [MARKER.rule]: 'ami-to-dr' });
    expect(await tagsIn('eu-west-1')).toEqual(euBefore);
    // The snapshots behind the AMI copy were tagged with it, and follow it.
    const west = sandbox.ec2Client('us-west-2');
    const snapshotIds = ((await copyIn('us-west-2'))?.BlockDeviceMappings ?? []).flatMap((mapping) =>
      mapping.Ebs?.SnapshotId ? [mapping.Ebs.SnapshotId] : [],
    );
    expect(snapshotIds.length).toBeGreaterThan(0);
    const { Snapshots = [] } = await west.send(new DescribeSnapshotsCommand({ SnapshotIds: snapshotIds }));
    expect(Snapshots).toHaveLength(snapshotIds.length);
    for (const snapshot of Snapshots)
      expect(Object.fromEntries((snapshot.Tags ?? []).map((t) => [t.Key, t.Value]))).toMatchObject({
        build: '2',
        dr: 'true',
      });
  });
});
