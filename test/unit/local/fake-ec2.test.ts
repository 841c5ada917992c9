import {
  CopySnapshotCommand,
  CreateSnapshotCommand,
  CreateTagsCommand,
  DeleteSnapshotCommand,
  DeleteTagsCommand,
  DescribeSnapshotAttributeCommand,
  DescribeSnapshotsCommand,
  ModifySnapshotAttributeCommand,
  ModifySnapshotTierCommand,
} from '@aws-sdk/client-ec2';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type StandaloneEc2, startStandaloneEc2 } from '#local/ec2/standalone';
import { VirtualClock } from '#local/virtual-clock';

const MiB = 1024 * 1024;
const tag = (Key: string, Value: string) => ({ ResourceType: 'snapshot' as const, Tags: [{ Key, Value }] });

describe('the fake EC2: snapshots', () => {
  let ec2: StandaloneEc2;
  const east = () => ec2.client('us-east-1', { maxAttempts: 1 });
  const west = () => ec2.client('us-west-2', { maxAttempts: 1 });

  beforeEach(async () => {
    ec2 = await startStandaloneEc2({
      clock: new VirtualClock(() => Date.UTC(2026, 10, 21, 18, 0, 0)),
      copyBytesPerSecond: 100 * MiB,
      kmsKeys: { 'us-west-2': ['alias/ferry-dr', '1234abcd-12ab-34cd-56ef-1234567890ab'] },
    });
  });
  afterEach(() => ec2.close());

  /** A completed snapshot of a new volume in us-east-1. */
  const snapshotOf = async (
    spec: { sizeGiB: number; encrypted?: boolean; kmsKeyId?: string },
    team = 'dr',
  ) => {
    const VolumeId = ec2.fake.createVolume('us-east-1', spec);
    const { SnapshotId } = await east().send(
      new CreateSnapshotCommand({ VolumeId, Description: 'nightly', TagSpecifications: [tag('team', team)] }),
    );
    await ec2.fake.settle();
    return SnapshotId ?? '';
  };

  it('It should create snapshots pending, complete them, and find them by tag, owner and status', async () => {
    const VolumeId = ec2.fake.createVolume('us-east-1', { sizeGiB: 8 });
    const created = await east().send(
      new CreateSnapshotCommand({ VolumeId, Description: 'nightly', TagSpecifications: [tag('team', 'dr')] }),
    );
    expect(created).toMatchObject({
      State: 'pending',
      VolumeId,
      VolumeSize: 8,
      Tags: [{ Key: 'team', Value: 'dr' }],
    });
    expect(created.SnapshotId).toMatch(/^snap-[0-9a-f]{17}$/);
    await snapshotOf({ sizeGiB: 2 }, 'web');
    await ec2.fake.settle();

    const byTag = await east().send(
      new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: [{ Name: 'tag:team', Values: ['d*'] }] }),
    );
    expect(byTag.Snapshots?.map((s) => [s.SnapshotId, s.State, s.Progress])).toEqual([
      [created.SnapshotId, 'completed', '100%'],
    ]);
    const byKey = await east().send(
      new DescribeSnapshotsCommand({
        Filters: [
          { Name: 'tag-key', Values: ['team'] },
          { Name: 'volume-size', Values: ['2'] },
        ],
      }),
    );
    expect(byKey.Snapshots).toHaveLength(1);
    const otherOwner = await east().send(new DescribeSnapshotsCommand({ OwnerIds: ['111122223333'] }));
    expect(otherOwner.Snapshots).toEqual([]);
    const elsewhere = await west().send(new DescribeSnapshotsCommand({}));
    expect(elsewhere.Snapshots).toEqual([]);
  });

  it('It should page through snapshots with MaxResults and NextToken', async () => {
    for (let i = 0; i < 7; i++) await snapshotOf({ sizeGiB: 1 });
    const first = await east().send(new DescribeSnapshotsCommand({ MaxResults: 5 }));
    expect(first.Snapshots).toHaveLength(5);
    expect(first.NextToken).toBeTruthy();
    const second = await east().send(
      new DescribeSnapshotsCommand({ MaxResults: 5, NextToken: first.NextToken }),
    );
    expect(second.Snapshots).toHaveLength(2);
    expect(second.NextToken).toBeUndefined();
  });

  it('It should copy in the destination Region, pending with a linear Progress until the bytes are across', async () => {
    const source = await snapshotOf({ sizeGiB: 100 }); // 1,024 s at 100 MiB/s
    const { SnapshotId } = await west().send(
      new CopySnapshotCommand({
        SourceRegion: 'us-east-1',
        SourceSnapshotId: source,
        TagSpecifications: [tag('ferry', 'copy')],
      }),
    );
    const describe = async () =>
      (await west().send(new DescribeSnapshotsCommand({ SnapshotIds: [SnapshotId ?? ''] }))).Snapshots?.[0];
    expect(await describe()).toMatchObject({
      State: 'pending',
      Progress: '0%',
      VolumeId: 'vol-ffffffff',
      Description: `[Copied ${source} from us-east-1] nightly`,
      Tags: [{ Key: 'ferry', Value: 'copy' }],
    });
    ec2.clock.advance(512_000);
    expect(await describe()).toMatchObject({ State: 'pending', Progress: '50%' });
    ec2.clock.advance(511_000);
    expect(await describe()).toMatchObject({ State: 'pending', Progress: '99%' });
    ec2.clock.advance(1_000);
    expect(await describe()).toMatchObject({ State: 'completed', Progress: '100%' });
  });

  it('It should fail a pending copy at once when its source is deleted, and never complete it', async () => {
    const source = await snapshotOf({ sizeGiB: 100 }); // 1,024 s at 100 MiB/s
    const { SnapshotId } = await west().send(
      new CopySnapshotCommand({ SourceRegion: 'us-east-1', SourceSnapshotId: source }),
    );
    ec2.clock.advance(100_000);
    await east().send(new DeleteSnapshotCommand({ SnapshotId: source }));
    const describe = async () =>
      (await west().send(new DescribeSnapshotsCommand({ SnapshotIds: [SnapshotId ?? ''] }))).Snapshots?.[0];
    expect(await describe()).toMatchObject({
      State: 'error',
      Progress: '9%',
      StateMessage: `The source snapshot ${source} was deleted before the copy completed`,
    });
    ec2.clock.advance(2_000_000);
    expect(await describe()).toMatchObject({ State: 'error' });
    expect(ec2.fake.events.filter((e) => e.detail.event === 'copySnapshot')).toEqual([
      expect.objectContaining({ detail: expect.objectContaining({ result: 'failed' }) }),
    ]);
  });

  it('It should finish a time-based copy within its CompletionDurationMinutes and refuse other durations', async () => {
    const source = await snapshotOf({ sizeGiB: 1000 }); // 10,240 s at full speed
    const { SnapshotId = '' } = await west().send(
      new CopySnapshotCommand({
        SourceRegion: 'us-east-1',
        SourceSnapshotId: source,
        CompletionDurationMinutes: 15,
      }),
    );
    ec2.clock.advance(15 * 60_000);
    expect(ec2.fake.snapshot('us-west-2', SnapshotId)).toMatchObject({
      state: 'completed',
      completionDurationMinutes: 15,
    });
    await expect(
      west().send(
        new CopySnapshotCommand({
          SourceRegion: 'us-east-1',
          SourceSnapshotId: source,
          CompletionDurationMinutes: 20,
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterValue' });
  });

  it('It should keep copies encrypted, and fail a copy to a key unknown in the destination later, not at once', async () => {
    const source = await snapshotOf({ sizeGiB: 10, encrypted: true });
    const plain = await west().send(
      new CopySnapshotCommand({ SourceRegion: 'us-east-1', SourceSnapshotId: source, Encrypted: false }),
    );
    const dr = await west().send(
      new CopySnapshotCommand({
        SourceRegion: 'us-east-1',
        SourceSnapshotId: source,
        Encrypted: true,
        KmsKeyId: 'alias/ferry-dr',
      }),
    );
    const eastKey = 'arn:aws:kms:us-east-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const bad = await west().send(
      new CopySnapshotCommand({
        SourceRegion: 'us-east-1',
        SourceSnapshotId: source,
        Encrypted: true,
        KmsKeyId: eastKey,
      }),
    );
    await expect(
      west().send(
        new CopySnapshotCommand({
          SourceRegion: 'us-east-1',
          SourceSnapshotId: source,
          KmsKeyId: 'alias/ferry-dr',
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterDependency', $metadata: { httpStatusCode: 400 } });

    expect(ec2.fake.snapshot('us-west-2', bad.SnapshotId ?? '')?.state).toBe('pending');
    ec2.clock.advance(61_000);
    const { Snapshots = [] } = await west().send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }));
    const byId = new Map(Snapshots.map((s) => [s.SnapshotId, s]));
    expect(byId.get(bad.SnapshotId)).toMatchObject({
      State: 'error',
      StateMessage: 'Given key ID is not accessible',
    });
    expect(byId.get(plain.SnapshotId)).toMatchObject({ State: 'pending', Encrypted: true });
    expect(byId.get(dr.SnapshotId)).toMatchObject({
      Encrypted: true,
      KmsKeyId: 'arn:aws:kms:us-west-2:000000000000:alias/ferry-dr',
    });
    ec2.clock.advance(60_000);
    expect(ec2.fake.snapshot('us-west-2', dr.SnapshotId ?? '')?.state).toBe('completed');
  });

  it('It should refuse to copy a snapshot that is unknown or not completed yet', async () => {
    await expect(
      west().send(
        new CopySnapshotCommand({ SourceRegion: 'us-east-1', SourceSnapshotId: 'snap-0123456789abcdef0' }),
      ),
    ).rejects.toMatchObject({
      name: 'InvalidSnapshot.NotFound',
      message: "The snapshot 'snap-0123456789abcdef0' does not exist.",
    });
    const source = await snapshotOf({ sizeGiB: 100 });
    const pending = await west().send(
      new CopySnapshotCommand({ SourceRegion: 'us-east-1', SourceSnapshotId: source }),
    );
    await expect(
      east().send(
        new CopySnapshotCommand({ SourceRegion: 'us-west-2', SourceSnapshotId: pending.SnapshotId }),
      ),
    ).rejects.toMatchObject({ name: 'IncorrectState' });
  });

  it('It should archive only completed snapshots, and show the archive tier afterwards', async () => {
    const source = await snapshotOf({ sizeGiB: 4 });
    const tiered = await east().send(
      new ModifySnapshotTierCommand({ SnapshotId: source, StorageTier: 'archive' }),
    );
    expect(tiered.SnapshotId).toBe(source);
    expect(tiered.TieringStartTime?.toISOString()).toBe('2026-11-21T18:00:00.000Z');
    const { Snapshots } = await east().send(new DescribeSnapshotsCommand({ SnapshotIds: [source] }));
    expect(Snapshots?.[0]?.StorageTier).toBe('archive');

    const { SnapshotId } = await west().send(
      new CopySnapshotCommand({ SourceRegion: 'us-east-1', SourceSnapshotId: source }),
    );
    await expect(
      west().send(new ModifySnapshotTierCommand({ SnapshotId, StorageTier: 'archive' })),
    ).rejects.toMatchObject({
      name: 'IncorrectState',
    });
  });

  it('It should delete snapshots, and tell unknown and malformed ids apart', async () => {
    const source = await snapshotOf({ sizeGiB: 1 });
    await east().send(new DeleteSnapshotCommand({ SnapshotId: source }));
    expect(ec2.fake.snapshots('us-east-1')).toEqual([]);
    await expect(east().send(new DeleteSnapshotCommand({ SnapshotId: source }))).rejects.toMatchObject({
      name: 'InvalidSnapshot.NotFound',
    });
    await expect(
      east().send(new DescribeSnapshotsCommand({ SnapshotIds: ['my-snapshot'] })),
    ).rejects.toMatchObject({
      name: 'InvalidSnapshotID.Malformed',
    });
  });

  it("It should tag and untag resources, refusing keys in AWS's own namespace", async () => {
    const source = await snapshotOf({ sizeGiB: 1 });
    await east().send(new CreateTagsCommand({ Resources: [source], Tags: [{ Key: 'owner', Value: 'ops' }] }));
    await east().send(new DeleteTagsCommand({ Resources: [source], Tags: [{ Key: 'team' }] }));
    expect(Object.fromEntries(ec2.fake.snapshot('us-east-1', source)?.tags ?? [])).toEqual({ owner: 'ops' });
    await expect(
      east().send(new CreateTagsCommand({ Resources: [source], Tags: [{ Key: 'aws:backup', Value: 'x' }] })),
    ).rejects.toMatchObject({
      name: 'InvalidParameterValue',
      message: expect.stringContaining("starting with 'aws:'"),
    });
    await expect(
      east().send(
        new CreateTagsCommand({ Resources: ['snap-0123456789abcdef0'], Tags: [{ Key: 'a', Value: 'b' }] }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidSnapshot.NotFound' });
  });

  it('It should share snapshots with accounts, but not those encrypted with the default EBS key', async () => {
    const source = await snapshotOf({ sizeGiB: 1, encrypted: true, kmsKeyId: 'alias/shared' });
    await east().send(
      new ModifySnapshotAttributeCommand({
        SnapshotId: source,
        Attribute: 'createVolumePermission',
        CreateVolumePermission: { Add: [{ UserId: '444455556666' }] },
      }),
    );
    const shared = await east().send(
      new DescribeSnapshotAttributeCommand({ SnapshotId: source, Attribute: 'createVolumePermission' }),
    );
    expect(shared.CreateVolumePermissions).toEqual([{ UserId: '444455556666' }]);

    const defaultKey = await snapshotOf({ sizeGiB: 1, encrypted: true });
    await expect(
      east().send(
        new ModifySnapshotAttributeCommand({
          SnapshotId: defaultKey,
          OperationType: 'add',
          UserIds: ['444455556666'],
        }),
      ),
    ).rejects.toMatchObject({ name: 'OperationNotPermitted' });
  });
});
