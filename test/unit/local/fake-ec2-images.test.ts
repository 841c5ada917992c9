import {
  CopyImageCommand,
  CreateImageCommand,
  CreateSnapshotCommand,
  CreateTagsCommand,
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  ModifyImageAttributeCommand,
  RegisterImageCommand,
} from '@aws-sdk/client-ec2';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_REGISTER_IMAGE_SECONDS } from '#local/ec2/fake-ec2';
import { type StandaloneEc2, startStandaloneEc2 } from '#local/ec2/standalone';
import { VirtualClock } from '#local/virtual-clock';

const MiB = 1024 * 1024;

describe('the fake EC2: images', () => {
  let ec2: StandaloneEc2;
  const east = () => ec2.client('us-east-1', { maxAttempts: 1 });
  const west = () => ec2.client('us-west-2', { maxAttempts: 1 });

  beforeEach(async () => {
    ec2 = await startStandaloneEc2({
      clock: new VirtualClock(() => Date.UTC(2026, 10, 21, 20, 0, 0)),
      copyBytesPerSecond: 100 * MiB,
      kmsKeys: { 'us-west-2': ['alias/ferry-dr'] },
    });
  });
  afterEach(() => ec2.close());

  /** An available image of an instance with an 8 GiB root volume and a 20 GiB data volume. */
  const imageOf = async (Name: string) => {
    const root = ec2.fake.createVolume('us-east-1', { sizeGiB: 8 });
    const data = ec2.fake.createVolume('us-east-1', { sizeGiB: 20, encrypted: true });
    const InstanceId = ec2.fake.createInstance('us-east-1', [root, data]);
    const { ImageId = '' } = await east().send(
      new CreateImageCommand({
        InstanceId,
        Name,
        Description: 'web server',
        TagSpecifications: [
          { ResourceType: 'image', Tags: [{ Key: 'app', Value: 'web' }] },
          { ResourceType: 'snapshot', Tags: [{ Key: 'app', Value: 'web-disk' }] },
        ],
      }),
    );
    await ec2.fake.settle();
    return { ImageId, InstanceId };
  };

  const describeImage = async (region: 'us-east-1' | 'us-west-2', ImageId: string) =>
    (await ec2.client(region).send(new DescribeImagesCommand({ ImageIds: [ImageId] }))).Images?.[0];

  it('It should create an image with a snapshot per volume, and find it by owner, name, state and tag', async () => {
    const { ImageId, InstanceId } = await imageOf('web-2026-11-21');
    const { Images = [] } = await east().send(
      new DescribeImagesCommand({
        Owners: ['self'],
        Filters: [
          { Name: 'name', Values: ['web-*'] },
          { Name: 'state', Values: ['available'] },
          { Name: 'tag:app', Values: ['web'] },
        ],
      }),
    );
    expect(Images.map((image) => image.ImageId)).toEqual([ImageId]);
    expect(Images[0]).toMatchObject({
      State: 'available',
      SourceInstanceId: InstanceId,
      RootDeviceName: '/dev/xvda',
    });
    const devices = Images[0]?.BlockDeviceMappings ?? [];
    expect(devices.map((d) => [d.DeviceName, d.Ebs?.VolumeSize, d.Ebs?.Encrypted])).toEqual([
      ['/dev/xvda', 8, false],
      ['/dev/xvdb', 20, true],
    ]);
    const { Snapshots = [] } = await east().send(
      new DescribeSnapshotsCommand({ Filters: [{ Name: 'tag:app', Values: ['web-disk'] }] }),
    );
    expect(Snapshots.map((s) => [s.State, s.Description])).toEqual([
      ['completed', `Created by CreateImage(${InstanceId}) for ${ImageId}`],
      ['completed', `Created by CreateImage(${InstanceId}) for ${ImageId}`],
    ]);
    await expect(
      east().send(new CreateImageCommand({ InstanceId, Name: 'web-2026-11-21' })),
    ).rejects.toMatchObject({
      name: 'InvalidAMIName.Duplicate',
      message: `AMI name web-2026-11-21 is already in use by AMI ${ImageId}`,
    });
  });

  it('It should copy an image with its backing snapshots, available once they all completed', async () => {
    const { ImageId } = await imageOf('web');
    const { ImageId: copyId = '' } = await west().send(
      new CopyImageCommand({
        SourceRegion: 'us-east-1',
        SourceImageId: ImageId,
        Name: 'web-dr',
        CopyImageTags: true,
        TagSpecifications: [{ ResourceType: 'image', Tags: [{ Key: 'ferry', Value: 'copy' }] }],
      }),
    );
    expect(await describeImage('us-west-2', copyId)).toMatchObject({
      State: 'pending',
      SourceImageId: ImageId,
    });
    const backing = () => ec2.fake.snapshots('us-west-2');
    expect(backing().map((s) => [s.state, s.description, s.copy?.imageId])).toEqual([
      [
        'pending',
        expect.stringContaining(`Copied for DestinationAmi ${copyId} from SourceAmi ${ImageId}`),
        copyId,
      ],
      [
        'pending',
        expect.stringContaining(`Copied for DestinationAmi ${copyId} from SourceAmi ${ImageId}`),
        copyId,
      ],
    ]);

    ec2.clock.advance(82_000); // the 8 GiB root is across, the 20 GiB volume (204.8 s) is not
    expect(backing().map((s) => s.state)).toEqual(['completed', 'pending']);
    expect((await describeImage('us-west-2', copyId))?.State).toBe('pending');
    ec2.clock.advance(123_000);
    const copy = await describeImage('us-west-2', copyId);
    expect(copy?.State).toBe('available');
    expect(Object.fromEntries((copy?.Tags ?? []).map((t) => [t.Key, t.Value]))).toEqual({
      app: 'web',
      ferry: 'copy',
    });
    expect(copy?.BlockDeviceMappings?.map((d) => d.Ebs?.SnapshotId)).toEqual(
      backing().map((s) => s.snapshotId),
    );
    expect(backing().every((s) => s.state === 'completed' && s.region === 'us-west-2')).toBe(true);
  });

  it("It should fail an image copy whose source's snapshot is deleted while the copy is pending", async () => {
    const { ImageId } = await imageOf('web');
    const { ImageId: copyId = '' } = await west().send(
      new CopyImageCommand({ SourceRegion: 'us-east-1', SourceImageId: ImageId, Name: 'web-dr' }),
    );
    // The source's snapshots are in use by the source image until it is deregistered.
    await east().send(new DeregisterImageCommand({ ImageId }));
    const [root] = ec2.fake.snapshots('us-east-1');
    await east().send(new DeleteSnapshotCommand({ SnapshotId: root?.snapshotId }));
    ec2.clock.advance(300_000);
    expect(await describeImage('us-west-2', copyId)).toMatchObject({
      State: 'failed',
      StateReason: {
        Code: 'Client.InvalidSnapshot.NotFound',
        Message: expect.stringContaining(`The source snapshot ${root?.snapshotId} was deleted`),
      },
    });
  });

  it('It should return the same image for the same ClientToken, and refuse the token for another request', async () => {
    const { ImageId } = await imageOf('web');
    const request = {
      SourceRegion: 'us-east-1',
      SourceImageId: ImageId,
      Name: 'web-dr',
      ClientToken: 'ferry-job-1',
    };
    const first = await west().send(new CopyImageCommand(request));
    const again = await west().send(new CopyImageCommand(request));
    expect(again.ImageId).toBe(first.ImageId);
    expect(ec2.fake.images('us-west-2')).toHaveLength(1);
    await expect(west().send(new CopyImageCommand({ ...request, Name: 'other' }))).rejects.toMatchObject({
      name: 'IdempotentParameterMismatch',
    });
  });

  it('It should fail an image copy to a key unknown in the destination, later, with a state reason', async () => {
    const { ImageId } = await imageOf('web');
    const { ImageId: copyId = '' } = await west().send(
      new CopyImageCommand({
        SourceRegion: 'us-east-1',
        SourceImageId: ImageId,
        Name: 'web-dr',
        Encrypted: true,
        KmsKeyId: 'alias/not-here',
      }),
    );
    expect((await describeImage('us-west-2', copyId))?.State).toBe('pending');
    ec2.clock.advance(60_000);
    const failed = await describeImage('us-west-2', copyId);
    expect(failed).toMatchObject({
      State: 'failed',
      StateReason: { Message: 'AMI snapshot copy failed with error: Given key ID is not accessible' },
    });
    expect(ec2.fake.snapshots('us-west-2').map((s) => [s.state, s.encrypted])).toEqual([
      ['error', true],
      ['error', true],
    ]);
  });

  it('It should keep snapshots in use by an image, and keep them when the image is deregistered', async () => {
    const { ImageId } = await imageOf('web');
    const [root] = ec2.fake.snapshots('us-east-1');
    await expect(
      east().send(new DeleteSnapshotCommand({ SnapshotId: root?.snapshotId })),
    ).rejects.toMatchObject({
      name: 'InvalidSnapshot.InUse',
      message: `The snapshot ${root?.snapshotId} is currently in use by ${ImageId}`,
    });
    await east().send(new DeregisterImageCommand({ ImageId }));
    await expect(describeImage('us-east-1', ImageId)).rejects.toMatchObject({
      name: 'InvalidAMIID.NotFound',
    });
    expect(ec2.fake.snapshots('us-east-1')).toHaveLength(2);
    await east().send(new DeleteSnapshotCommand({ SnapshotId: root?.snapshotId }));
    expect(ec2.fake.snapshots('us-east-1')).toHaveLength(1);
  });

  it('It should delete the snapshots too when DeregisterImage asks for it', async () => {
    const { ImageId } = await imageOf('web');
    const answer = await east().send(
      new DeregisterImageCommand({ ImageId, DeleteAssociatedSnapshots: true }),
    );
    expect(answer.DeleteSnapshotResults?.map((r) => r.ReturnCode)).toEqual(['success', 'success']);
    expect(ec2.fake.snapshots('us-east-1')).toEqual([]);
  });

  it('It should keep a registered image pending for its registration time: tags added meanwhile are there when its event fires', async () => {
    await imageOf('web');
    const [root] = ec2.fake.snapshots('us-east-1');
    const seen: { state: unknown; tags: Record<string, string> }[] = [];
    const { ImageId = '' } = await east().send(
      new RegisterImageCommand({
        Name: 'tagged-later',
        BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: root?.snapshotId } }],
      }),
    );
    const before = ec2.fake.events.length;
    await east().send(new CreateTagsCommand({ Resources: [ImageId], Tags: [{ Key: 'dr', Value: 'true' }] }));
    ec2.clock.advance(DEFAULT_REGISTER_IMAGE_SECONDS * 1000 - 1);
    ec2.fake.refresh();
    expect(ec2.fake.image('us-east-1', ImageId)?.state).toBe('pending');
    ec2.clock.advance(1);
    ec2.fake.refresh();
    // The CreateTags sent its own "Tag Change on Resource" event; the AMI's state events are these.
    const stateEvents = ec2.fake.events
      .slice(before)
      .filter((e) => e['detail-type'] === 'EC2 AMI State Change');
    for (const event of stateEvents) {
      const image = ec2.fake.image('us-east-1', String(event.detail.ImageId));
      seen.push({ state: event.detail.State, tags: Object.fromEntries(image?.tags ?? []) });
    }
    expect(seen).toEqual([{ state: 'available', tags: { dr: 'true' } }]);
  });

  it('It should make a registered image available in an idle fake too, without a request to notice it', async () => {
    const idle = await startStandaloneEc2({ registerImageSeconds: 0.2 });
    try {
      const VolumeId = idle.fake.createVolume('us-east-1', { sizeGiB: 1 });
      const client = idle.client('us-east-1');
      const { SnapshotId } = await client.send(new CreateSnapshotCommand({ VolumeId }));
      await idle.fake.settle();
      const { ImageId } = await client.send(
        new RegisterImageCommand({
          Name: 'idle',
          BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId } }],
        }),
      );
      const available = () =>
        idle.fake.events.some(
          (event) => event.detail.ImageId === ImageId && event.detail.State === 'available',
        );
      expect(available()).toBe(false);
      // No request and no refresh from here on: the fake's own timer emits the event.
      await vi.waitFor(() => expect(available()).toBe(true), { timeout: 10_000, interval: 50 });
    } finally {
      await idle.close();
    }
  });

  it('It should register an image from snapshots, and refuse unknown snapshots', async () => {
    const { ImageId } = await imageOf('web');
    const [root] = ec2.fake.snapshots('us-east-1');
    const registered = await east().send(
      new RegisterImageCommand({
        Name: 'web-registered',
        RootDeviceName: '/dev/sda1',
        Architecture: 'arm64',
        BlockDeviceMappings: [{ DeviceName: '/dev/sda1', Ebs: { SnapshotId: root?.snapshotId } }],
      }),
    );
    await ec2.fake.settle();
    expect((await describeImage('us-east-1', registered.ImageId ?? ''))?.State).toBe('pending');
    ec2.clock.advance(DEFAULT_REGISTER_IMAGE_SECONDS * 1000);
    expect(await describeImage('us-east-1', registered.ImageId ?? '')).toMatchObject({
      State: 'available',
      Architecture: 'arm64',
      RootDeviceName: '/dev/sda1',
    });
    await east().send(new DeregisterImageCommand({ ImageId }));
    await expect(
      east().send(new DeleteSnapshotCommand({ SnapshotId: root?.snapshotId })),
    ).rejects.toMatchObject({
      name: 'InvalidSnapshot.InUse',
    });
    await expect(
      east().send(
        new RegisterImageCommand({
          Name: 'nothing',
          BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: 'snap-0123456789abcdef0' } }],
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidSnapshot.NotFound' });
  });

  it('shares an image with accounts by its launch permission, in both forms, and unshares it', async () => {
    const { ImageId } = await imageOf('shared');
    await east().send(
      new ModifyImageAttributeCommand({ ImageId, LaunchPermission: { Add: [{ UserId: '444455556666' }] } }),
    );
    await east().send(
      new ModifyImageAttributeCommand({ ImageId, OperationType: 'add', UserIds: ['777788889999'] }),
    );
    expect([...(ec2.fake.image('us-east-1', ImageId)?.launchPermissions ?? [])]).toEqual([
      '444455556666',
      '777788889999',
    ]);
    await east().send(
      new ModifyImageAttributeCommand({
        ImageId,
        LaunchPermission: { Remove: [{ UserId: '444455556666' }] },
      }),
    );
    expect([...(ec2.fake.image('us-east-1', ImageId)?.launchPermissions ?? [])]).toEqual(['777788889999']);
    await expect(east().send(new ModifyImageAttributeCommand({ ImageId }))).rejects.toMatchObject({
      name: 'MissingParameter',
    });
    await expect(
      west().send(new ModifyImageAttributeCommand({ ImageId, OperationType: 'add', UserIds: ['1'] })),
    ).rejects.toMatchObject({ name: 'InvalidAMIID.NotFound' });
  });
});
