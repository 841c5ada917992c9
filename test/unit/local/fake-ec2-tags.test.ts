import {
  CopyImageCommand,
  CopySnapshotCommand,
  CreateImageCommand,
  CreateSnapshotCommand,
  CreateSnapshotsCommand,
  CreateTagsCommand,
  CreateVolumeCommand,
  RegisterImageCommand,
  type Tag,
} from '@aws-sdk/client-ec2';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_REGISTER_IMAGE_SECONDS } from '#local/ec2/fake-ec2';
import { type StandaloneEc2, startStandaloneEc2 } from '#local/ec2/standalone';
import { VirtualClock } from '#local/virtual-clock';

/** `count` distinct tags `k0=v0`, `k1=v1`, … */
const tags = (count: number, prefix = 'k'): Tag[] =>
  Array.from({ length: count }, (_, i) => ({ Key: `${prefix}${i}`, Value: `v${i}` }));

const tooMany = { name: 'TagLimitExceeded', $metadata: { httpStatusCode: 400 } };
const invalid = { name: 'InvalidParameterValue', $metadata: { httpStatusCode: 400 } };

describe("the fake EC2: EC2's tag restrictions", () => {
  let ec2: StandaloneEc2;
  const east = () => ec2.client('us-east-1', { maxAttempts: 1 });
  const west = () => ec2.client('us-west-2', { maxAttempts: 1 });

  beforeEach(async () => {
    ec2 = await startStandaloneEc2({ clock: new VirtualClock(() => Date.UTC(2026, 11, 2, 7, 0, 0)) });
  });
  afterEach(() => ec2.close());

  const snapshotWith = async (Tags: Tag[]) => {
    const VolumeId = ec2.fake.createVolume('us-east-1', { sizeGiB: 1 });
    const { SnapshotId = '' } = await east().send(
      new CreateSnapshotCommand({ VolumeId, TagSpecifications: [{ ResourceType: 'snapshot', Tags }] }),
    );
    await ec2.fake.settle();
    return SnapshotId;
  };
  const tagsOf = (id: string) => Object.fromEntries(ec2.fake.snapshot('us-east-1', id)?.tags ?? []);

  it('It should take keys of 127 characters and values of 255, and refuse one character more', async () => {
    const id = await snapshotWith([]);
    // Characters, not UTF-16 units: each of these emoji is two units.
    const key = '🔑'.repeat(127);
    const value = 'v'.repeat(255);
    await east().send(new CreateTagsCommand({ Resources: [id], Tags: [{ Key: key, Value: value }] }));
    expect(tagsOf(id)).toEqual({ [key]: value });

    await expect(
      east().send(new CreateTagsCommand({ Resources: [id], Tags: [{ Key: 'k'.repeat(128), Value: 'x' }] })),
    ).rejects.toMatchObject({ ...invalid, message: expect.stringContaining('maximum length of 127') });
    await expect(
      east().send(new CreateTagsCommand({ Resources: [id], Tags: [{ Key: 'k', Value: 'v'.repeat(256) }] })),
    ).rejects.toMatchObject({ ...invalid, message: expect.stringContaining('maximum length of 255') });
    await expect(
      east().send(new CreateTagsCommand({ Resources: [id], Tags: [{ Key: 'AWS:Owner', Value: 'x' }] })),
    ).rejects.toMatchObject({ ...invalid, message: expect.stringContaining("starting with 'aws:'") });
    expect(tagsOf(id)).toEqual({ [key]: value });
  });

  it('It should count the tags a resource already has against the 50, and overwrite without counting twice', async () => {
    const id = await snapshotWith(tags(48));
    await east().send(new CreateTagsCommand({ Resources: [id], Tags: tags(2, 'new') }));
    expect(Object.keys(tagsOf(id))).toHaveLength(50);
    // A key it has already is overwritten: still 50.
    await east().send(new CreateTagsCommand({ Resources: [id], Tags: [{ Key: 'k0', Value: 'changed' }] }));
    expect(tagsOf(id).k0).toBe('changed');
    await expect(
      east().send(new CreateTagsCommand({ Resources: [id], Tags: [{ Key: 'one-more', Value: 'x' }] })),
    ).rejects.toMatchObject(tooMany);
    expect(Object.keys(tagsOf(id))).toHaveLength(50);
  });

  it('It should tag all the resources of a CreateTags or none, when one of them would pass the limit', async () => {
    const full = await snapshotWith(tags(50));
    const empty = await snapshotWith([]);
    await expect(
      east().send(new CreateTagsCommand({ Resources: [empty, full], Tags: [{ Key: 'team', Value: 'dr' }] })),
    ).rejects.toMatchObject(tooMany);
    expect(tagsOf(empty)).toEqual({});
  });

  it('It should refuse TagSpecifications past the limits on every action that takes them, and create nothing', async () => {
    const VolumeId = ec2.fake.createVolume('us-east-1', { sizeGiB: 1 });
    const InstanceId = ec2.fake.createInstance('us-east-1', [VolumeId]);
    const source = await snapshotWith([]);
    const { ImageId: image = '' } = await east().send(
      new RegisterImageCommand({
        Name: 'source-image',
        BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: source } }],
      }),
    );
    ec2.clock.advance(DEFAULT_REGISTER_IMAGE_SECONDS * 1000);
    await ec2.fake.settle();
    const before = {
      east: ec2.fake.snapshots('us-east-1').length,
      images: ec2.fake.images('us-east-1').length,
    };

    const specs = (ResourceType: 'snapshot' | 'image' | 'volume', Tags: Tag[]) => [{ ResourceType, Tags }];
    const requests = (ResourceType: 'snapshot' | 'image' | 'volume', Tags: Tag[]) => {
      const TagSpecifications = specs(ResourceType, Tags);
      switch (ResourceType) {
        case 'volume':
          return [
            () =>
              east().send(
                new CreateVolumeCommand({ AvailabilityZone: 'us-east-1a', Size: 1, TagSpecifications }),
              ),
          ];
        case 'snapshot':
          return [
            () => east().send(new CreateSnapshotCommand({ VolumeId, TagSpecifications })),
            () =>
              east().send(
                new CreateSnapshotsCommand({ InstanceSpecification: { InstanceId }, TagSpecifications }),
              ),
            () =>
              west().send(
                new CopySnapshotCommand({
                  SourceRegion: 'us-east-1',
                  SourceSnapshotId: source,
                  TagSpecifications,
                }),
              ),
            () => east().send(new CreateImageCommand({ InstanceId, Name: 'refused-a', TagSpecifications })),
            () =>
              west().send(
                new CopyImageCommand({
                  SourceRegion: 'us-east-1',
                  SourceImageId: image,
                  Name: 'refused-b',
                  TagSpecifications,
                }),
              ),
          ];
        case 'image':
          return [
            () => east().send(new CreateImageCommand({ InstanceId, Name: 'refused-c', TagSpecifications })),
            () =>
              east().send(
                new RegisterImageCommand({
                  Name: 'refused-d',
                  BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: source } }],
                  TagSpecifications,
                }),
              ),
            () =>
              west().send(
                new CopyImageCommand({
                  SourceRegion: 'us-east-1',
                  SourceImageId: image,
                  Name: 'refused-e',
                  TagSpecifications,
                }),
              ),
          ];
      }
    };
    for (const type of ['volume', 'snapshot', 'image'] as const) {
      for (const send of requests(type, tags(51))) await expect(send()).rejects.toMatchObject(tooMany);
      for (const send of requests(type, [{ Key: 'k'.repeat(128), Value: '' }]))
        await expect(send()).rejects.toMatchObject(invalid);
      for (const send of requests(type, [{ Key: 'aws:cloudformation:stack-name', Value: 'x' }]))
        await expect(send()).rejects.toMatchObject(invalid);
      for (const send of requests(type, [{ Key: 'k', Value: 'v'.repeat(256) }]))
        await expect(send()).rejects.toMatchObject(invalid);
    }
    await ec2.fake.settle();
    expect(ec2.fake.snapshots('us-east-1')).toHaveLength(before.east);
    expect(ec2.fake.images('us-east-1')).toHaveLength(before.images);
    expect(ec2.fake.snapshots('us-west-2')).toEqual([]);
    expect(ec2.fake.images('us-west-2')).toEqual([]);
    // Exactly 50 is within the limit.
    await expect(
      east().send(new CreateSnapshotCommand({ VolumeId, TagSpecifications: specs('snapshot', tags(50)) })),
    ).resolves.toMatchObject({ Tags: expect.arrayContaining([{ Key: 'k49', Value: 'v49' }]) });
  });

  it('It should count copied tags with the requested ones: CopyImageTags, and CreateSnapshots from the volume', async () => {
    const snapshot = await snapshotWith([]);
    const { ImageId = '' } = await east().send(
      new RegisterImageCommand({
        Name: 'tagged-image',
        BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: snapshot } }],
        TagSpecifications: [{ ResourceType: 'image', Tags: tags(40) }],
      }),
    );
    ec2.clock.advance(DEFAULT_REGISTER_IMAGE_SECONDS * 1000);
    await ec2.fake.settle();
    const copyImage = (Name: string, extra: number) =>
      west().send(
        new CopyImageCommand({
          SourceRegion: 'us-east-1',
          SourceImageId: ImageId,
          Name,
          CopyImageTags: true,
          TagSpecifications: [{ ResourceType: 'image', Tags: tags(extra, 'extra') }],
        }),
      );
    await expect(copyImage('too-many', 11)).rejects.toMatchObject(tooMany);
    expect(ec2.fake.snapshots('us-west-2')).toEqual([]);
    await expect(copyImage('just-fits', 10)).resolves.toMatchObject({ ImageId: expect.any(String) });

    const VolumeId = ec2.fake.createVolume('us-east-1', {
      sizeGiB: 1,
      tags: Object.fromEntries(tags(45, 'vol').map(({ Key, Value }) => [Key, Value])),
    });
    const InstanceId = ec2.fake.createInstance('us-east-1', [VolumeId]);
    const count = ec2.fake.snapshots('us-east-1').length;
    await expect(
      east().send(
        new CreateSnapshotsCommand({
          InstanceSpecification: { InstanceId },
          CopyTagsFromSource: 'volume',
          TagSpecifications: [{ ResourceType: 'snapshot', Tags: tags(6) }],
        }),
      ),
    ).rejects.toMatchObject(tooMany);
    expect(ec2.fake.snapshots('us-east-1')).toHaveLength(count);
  });
});
