import {
  CopySnapshotCommand,
  CreateImageCommand,
  CreateSnapshotCommand,
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeLockedSnapshotsCommand,
  DisableImageDeprecationCommand,
  DisableImageDeregistrationProtectionCommand,
  EnableImageDeprecationCommand,
  EnableImageDeregistrationProtectionCommand,
  LockSnapshotCommand,
  type LockSnapshotCommandInput,
  ModifyImageAttributeCommand,
  UnlockSnapshotCommand,
} from '@aws-sdk/client-ec2';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type StandaloneEc2, startStandaloneEc2 } from '#local/ec2/standalone';
import { VirtualClock } from '#local/virtual-clock';

const START = Date.UTC(2026, 11, 2, 8, 0, 0);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const MiB = 1024 * 1024;

const refused = (name: string) => ({ name, $metadata: { httpStatusCode: 400 } });

describe('the fake EC2: snapshot locks, AMI deregistration protection and deprecation', () => {
  let ec2: StandaloneEc2;
  const east = () => ec2.client('us-east-1', { maxAttempts: 1 });
  const west = () => ec2.client('us-west-2', { maxAttempts: 1 });
  const at = (ms: number) => new Date(START + ms);

  beforeEach(async () => {
    ec2 = await startStandaloneEc2({
      clock: new VirtualClock(() => START),
      copyBytesPerSecond: 100 * MiB,
      kmsKeys: { 'us-west-2': ['alias/ferry-dr'] },
      throttling: false,
    });
  });
  afterEach(() => ec2.close());

  const completedSnapshot = async (sizeGiB = 1) => {
    const VolumeId = ec2.fake.createVolume('us-east-1', { sizeGiB });
    const { SnapshotId = '' } = await east().send(new CreateSnapshotCommand({ VolumeId }));
    await ec2.fake.settle();
    return SnapshotId;
  };
  const lock = (input: Omit<LockSnapshotCommandInput, 'LockMode'> & { LockMode?: string }) =>
    east().send(new LockSnapshotCommand(input as LockSnapshotCommandInput));
  const deleteSnapshot = (SnapshotId: string, client = east()) =>
    client.send(new DeleteSnapshotCommand({ SnapshotId }));
  const lockedState = async (SnapshotId: string, client = east()) =>
    (await client.send(new DescribeLockedSnapshotsCommand({ SnapshotIds: [SnapshotId] }))).Snapshots?.[0];

  it('It should refuse to delete a governance-locked snapshot until its lock expires, then delete it', async () => {
    const id = await completedSnapshot();
    const locked = await lock({ SnapshotId: id, LockMode: 'governance', LockDuration: 1 });
    expect(locked).toMatchObject({
      SnapshotId: id,
      LockState: 'governance',
      LockDuration: 1,
      LockCreatedOn: at(0),
      LockDurationStartTime: at(0),
      LockExpiresOn: at(DAY),
    });
    expect(locked.CoolOffPeriod).toBeUndefined();

    await expect(deleteSnapshot(id)).rejects.toMatchObject(refused('SnapshotLocked'));
    ec2.clock.advance(DAY - 1);
    await expect(deleteSnapshot(id)).rejects.toMatchObject(refused('SnapshotLocked'));
    expect(await lockedState(id)).toMatchObject({ LockState: 'governance', OwnerId: '000000000000' });

    ec2.clock.advance(1);
    expect(await lockedState(id)).toMatchObject({ LockState: 'expired', LockExpiresOn: at(DAY) });
    await deleteSnapshot(id);
    expect(ec2.fake.snapshot('us-east-1', id)).toBeUndefined();
  });

  it('It should let a governance lock be unlocked, shortened and turned into compliance at any time', async () => {
    const id = await completedSnapshot();
    await lock({ SnapshotId: id, LockMode: 'governance', LockDuration: 30 });
    const shorter = await lock({ SnapshotId: id, LockMode: 'governance', LockDuration: 2 });
    expect(shorter).toMatchObject({ LockState: 'governance', LockExpiresOn: at(2 * DAY) });

    await east().send(new UnlockSnapshotCommand({ SnapshotId: id }));
    expect(await lockedState(id)).toBeUndefined();
    await lock({ SnapshotId: id, LockMode: 'governance', LockDuration: 2 });
    ec2.clock.advance(HOUR);
    const compliance = await lock({
      SnapshotId: id,
      LockMode: 'compliance',
      LockDuration: 2,
      CoolOffPeriod: 1,
    });
    expect(compliance).toMatchObject({
      LockState: 'compliance-cooloff',
      CoolOffPeriod: 1,
      // The cooling-off period starts when compliance mode is entered.
      CoolOffPeriodExpiresOn: at(2 * HOUR),
      LockCreatedOn: at(0),
    });
    await expect(deleteSnapshot(id)).rejects.toMatchObject(refused('SnapshotLocked'));
  });

  it('It should allow unlocking and any change in the cooling-off period, and after it only a longer lock', async () => {
    const id = await completedSnapshot();
    const locked = await lock({ SnapshotId: id, LockMode: 'compliance', LockDuration: 10, CoolOffPeriod: 2 });
    expect(locked).toMatchObject({
      LockState: 'compliance-cooloff',
      CoolOffPeriod: 2,
      CoolOffPeriodExpiresOn: at(2 * HOUR),
      LockExpiresOn: at(10 * DAY),
    });
    await expect(deleteSnapshot(id)).rejects.toMatchObject(refused('SnapshotLocked'));
    // In the cooling-off period: shorter, another mode, a longer cooling-off period; then back.
    await lock({ SnapshotId: id, LockMode: 'governance', LockDuration: 5 });
    await lock({ SnapshotId: id, LockMode: 'compliance', LockDuration: 5, CoolOffPeriod: 3 });
    expect(await lockedState(id)).toMatchObject({
      LockState: 'compliance-cooloff',
      CoolOffPeriodExpiresOn: at(3 * HOUR),
    });
    await east().send(new UnlockSnapshotCommand({ SnapshotId: id }));
    await lock({ SnapshotId: id, LockMode: 'compliance', LockDuration: 5, CoolOffPeriod: 1 });

    ec2.clock.advance(HOUR);
    expect(await lockedState(id)).toMatchObject({ LockState: 'compliance', LockDuration: 5 });
    await expect(east().send(new UnlockSnapshotCommand({ SnapshotId: id }))).rejects.toMatchObject(
      refused('OperationNotPermitted'),
    );
    await expect(lock({ SnapshotId: id, LockMode: 'compliance', LockDuration: 4 })).rejects.toMatchObject(
      refused('OperationNotPermitted'),
    );
    await expect(lock({ SnapshotId: id, LockMode: 'governance', LockDuration: 9 })).rejects.toMatchObject(
      refused('OperationNotPermitted'),
    );
    await expect(
      lock({ SnapshotId: id, LockMode: 'compliance', LockDuration: 9, CoolOffPeriod: 1 }),
    ).rejects.toMatchObject(refused('OperationNotPermitted'));
    const longer = await lock({ SnapshotId: id, LockMode: 'compliance', ExpirationDate: at(9 * DAY) });
    expect(longer).toMatchObject({ LockState: 'compliance', LockExpiresOn: at(9 * DAY) });
    await expect(deleteSnapshot(id)).rejects.toMatchObject(refused('SnapshotLocked'));

    ec2.clock.advance(9 * DAY);
    expect(await lockedState(id)).toMatchObject({ LockState: 'expired' });
    await deleteSnapshot(id);
  });

  it('It should lock in compliance mode at once without a cooling-off period', async () => {
    const id = await completedSnapshot();
    const locked = await lock({ SnapshotId: id, LockMode: 'compliance', ExpirationDate: at(3 * DAY) });
    expect(locked).toMatchObject({ LockState: 'compliance', LockExpiresOn: at(3 * DAY) });
    expect(locked.CoolOffPeriodExpiresOn).toBeUndefined();
    await expect(east().send(new UnlockSnapshotCommand({ SnapshotId: id }))).rejects.toMatchObject(
      refused('OperationNotPermitted'),
    );
  });

  it('It should refuse lock settings outside the API reference bounds, and a snapshot that does not exist', async () => {
    const id = await completedSnapshot();
    const invalid = refused('InvalidParameterValue');
    const combination = refused('InvalidParameterCombination');
    await expect(lock({ SnapshotId: id, LockDuration: 1 })).rejects.toMatchObject(
      refused('MissingParameter'),
    );
    await expect(lock({ SnapshotId: id, LockMode: 'forever', LockDuration: 1 })).rejects.toMatchObject(
      invalid,
    );
    await expect(lock({ SnapshotId: id, LockMode: 'governance' })).rejects.toMatchObject(combination);
    await expect(
      lock({ SnapshotId: id, LockMode: 'governance', LockDuration: 1, ExpirationDate: at(DAY) }),
    ).rejects.toMatchObject(combination);
    await expect(lock({ SnapshotId: id, LockMode: 'governance', LockDuration: 0 })).rejects.toMatchObject(
      invalid,
    );
    await expect(
      lock({ SnapshotId: id, LockMode: 'governance', LockDuration: 36_501 }),
    ).rejects.toMatchObject(invalid);
    await expect(
      lock({ SnapshotId: id, LockMode: 'governance', ExpirationDate: at(-HOUR) }),
    ).rejects.toMatchObject(invalid);
    await expect(
      lock({ SnapshotId: id, LockMode: 'governance', LockDuration: 1, CoolOffPeriod: 1 }),
    ).rejects.toMatchObject(combination);
    await expect(
      lock({ SnapshotId: id, LockMode: 'compliance', LockDuration: 1, CoolOffPeriod: 73 }),
    ).rejects.toMatchObject(invalid);
    await expect(
      lock({ SnapshotId: id, LockMode: 'compliance', LockDuration: 1, CoolOffPeriod: 0 }),
    ).rejects.toMatchObject(invalid);
    // Nothing was locked by the refused requests; the bounds themselves are accepted.
    expect(await lockedState(id)).toBeUndefined();
    await lock({ SnapshotId: id, LockMode: 'compliance', LockDuration: 36_500, CoolOffPeriod: 72 });
    await expect(
      lock({ SnapshotId: 'snap-0123456789abcdef0', LockMode: 'governance', LockDuration: 1 }),
    ).rejects.toMatchObject(refused('InvalidSnapshot.NotFound'));
    await expect(
      east().send(new UnlockSnapshotCommand({ SnapshotId: await completedSnapshot() })),
    ).rejects.toMatchObject(refused('IncorrectState'));
  });

  it('It should lock a pending copy, start its duration when it completes, and refuse its deletion meanwhile', async () => {
    const source = await completedSnapshot(100);
    const { SnapshotId: copyId = '' } = await west().send(
      new CopySnapshotCommand({ SourceRegion: 'us-east-1', SourceSnapshotId: source }),
    );
    const locked = await west().send(
      new LockSnapshotCommand({ SnapshotId: copyId, LockMode: 'governance', LockDuration: 7 }),
    );
    expect(locked).toMatchObject({ LockState: 'governance', LockDuration: 7, LockCreatedOn: at(0) });
    expect(locked.LockExpiresOn).toBeUndefined();
    expect(locked.LockDurationStartTime).toBeUndefined();
    await expect(deleteSnapshot(copyId, west())).rejects.toMatchObject(refused('SnapshotLocked'));

    // 100 GiB at 100 MiB/s: 1,024 s of sandbox time.
    const copyMs = 1024 * 1000;
    ec2.clock.advance(copyMs - 1);
    expect(await lockedState(copyId, west())).not.toHaveProperty('LockExpiresOn');
    expect(ec2.fake.snapshot('us-west-2', copyId)?.state).toBe('pending');
    ec2.clock.advance(1);
    expect(await lockedState(copyId, west())).toMatchObject({
      LockState: 'governance',
      LockDurationStartTime: at(copyMs),
      LockExpiresOn: at(copyMs + 7 * DAY),
    });
  });

  it('It should cancel the lock of a pending copy that fails', async () => {
    const source = await completedSnapshot(1);
    const { SnapshotId: copyId = '' } = await west().send(
      new CopySnapshotCommand({
        SourceRegion: 'us-east-1',
        SourceSnapshotId: source,
        Encrypted: true,
        KmsKeyId: 'alias/not-in-us-west-2',
      }),
    );
    await west().send(
      new LockSnapshotCommand({ SnapshotId: copyId, LockMode: 'governance', LockDuration: 7 }),
    );
    ec2.clock.advance(HOUR);
    expect(ec2.fake.snapshot('us-west-2', copyId)?.state).toBe('error');
    expect(await lockedState(copyId, west())).toBeUndefined();
    await deleteSnapshot(copyId, west());
    // An errored snapshot cannot be locked.
    const { SnapshotId: failed = '' } = await west().send(
      new CopySnapshotCommand({
        SourceRegion: 'us-east-1',
        SourceSnapshotId: source,
        Encrypted: true,
        KmsKeyId: 'alias/gone',
      }),
    );
    ec2.clock.advance(HOUR);
    await expect(
      west().send(new LockSnapshotCommand({ SnapshotId: failed, LockMode: 'governance', LockDuration: 1 })),
    ).rejects.toMatchObject(refused('IncorrectState'));
  });

  it('It should describe locked snapshots by lock state and id, expired ones included', async () => {
    const governance = await completedSnapshot();
    const cooling = await completedSnapshot();
    const unlocked = await completedSnapshot();
    await lock({ SnapshotId: governance, LockMode: 'governance', LockDuration: 1 });
    await lock({ SnapshotId: cooling, LockMode: 'compliance', LockDuration: 3, CoolOffPeriod: 72 });
    const byState = async (...states: string[]) =>
      (
        await east().send(
          new DescribeLockedSnapshotsCommand({ Filters: [{ Name: 'lock-state', Values: states }] }),
        )
      ).Snapshots?.map((s) => s.SnapshotId);
    expect(await byState('governance')).toEqual([governance]);
    expect(await byState('compliance-cooloff', 'governance')).toEqual([governance, cooling]);
    ec2.clock.advance(DAY);
    expect(await byState('expired')).toEqual([governance]);
    expect((await east().send(new DescribeLockedSnapshotsCommand({}))).Snapshots).toHaveLength(2);
    expect(await lockedState(unlocked)).toBeUndefined();
    await expect(
      east().send(new DescribeLockedSnapshotsCommand({ Filters: [{ Name: 'lock-mode', Values: ['x'] }] })),
    ).rejects.toMatchObject(refused('InvalidParameterValue'));
  });

  /** An available image of an instance with one 8 GiB volume. */
  const image = async (Name: string) => {
    const InstanceId = ec2.fake.createInstance('us-east-1', [
      ec2.fake.createVolume('us-east-1', { sizeGiB: 8 }),
    ]);
    const { ImageId = '' } = await east().send(new CreateImageCommand({ InstanceId, Name }));
    await ec2.fake.settle();
    return ImageId;
  };
  const described = async (ImageId: string) =>
    (await east().send(new DescribeImagesCommand({ ImageIds: [ImageId] }))).Images?.[0];

  it('It should keep the locked snapshot of a deregistered AMI when its snapshots are to be deleted too', async () => {
    const ImageId = await image('locked-backing');
    const snapshotId = (await described(ImageId))?.BlockDeviceMappings?.[0]?.Ebs?.SnapshotId ?? '';
    await lock({ SnapshotId: snapshotId, LockMode: 'governance', LockDuration: 1 });
    const answer = await east().send(
      new DeregisterImageCommand({ ImageId, DeleteAssociatedSnapshots: true }),
    );
    expect(answer.DeleteSnapshotResults).toEqual([{ SnapshotId: snapshotId, ReturnCode: 'client-error' }]);
    expect(ec2.fake.snapshot('us-east-1', snapshotId)).toBeDefined();
  });

  it('It should refuse to deregister a protected AMI, and render its protection as DescribeImages does', async () => {
    const ImageId = await image('protected');
    expect((await described(ImageId))?.DeregistrationProtection).toBe('disabled');
    const enabled = await east().send(new EnableImageDeregistrationProtectionCommand({ ImageId }));
    expect(enabled.Return).toBe('true');
    expect((await described(ImageId))?.DeregistrationProtection).toBe('enabled-without-cooldown');
    await expect(east().send(new DeregisterImageCommand({ ImageId }))).rejects.toMatchObject(
      refused('OperationNotPermitted'),
    );
    await east().send(new DisableImageDeregistrationProtectionCommand({ ImageId }));
    expect((await described(ImageId))?.DeregistrationProtection).toBe('disabled');
    await east().send(new DeregisterImageCommand({ ImageId }));
    expect(ec2.fake.image('us-east-1', ImageId)).toBeUndefined();
  });

  it('It should keep protecting an AMI for 24 hours after protection with a cooldown is disabled', async () => {
    const ImageId = await image('cooldown');
    await east().send(new EnableImageDeregistrationProtectionCommand({ ImageId, WithCooldown: true }));
    expect((await described(ImageId))?.DeregistrationProtection).toBe('enabled-with-cooldown');
    await east().send(new DisableImageDeregistrationProtectionCommand({ ImageId }));
    expect((await described(ImageId))?.DeregistrationProtection).toBe('disabled after 2026-12-03T08:00:00Z');
    ec2.clock.advance(DAY - 1);
    await expect(east().send(new DeregisterImageCommand({ ImageId }))).rejects.toMatchObject(
      refused('OperationNotPermitted'),
    );
    ec2.clock.advance(1);
    expect((await described(ImageId))?.DeregistrationProtection).toBe('disabled');
    await east().send(new DeregisterImageCommand({ ImageId }));
  });

  it('It should deprecate an AMI at a time rounded to the minute, within AWS bounds, and still show it to its owner', async () => {
    const ImageId = await image('deprecated');
    const deprecate = (DeprecateAt: Date) =>
      east().send(new EnableImageDeprecationCommand({ ImageId, DeprecateAt }));
    const invalid = refused('InvalidParameterValue');
    await expect(deprecate(at(-60_000))).rejects.toMatchObject(invalid);
    await expect(deprecate(new Date(Date.UTC(2036, 11, 2, 8, 0, 1)))).rejects.toMatchObject(invalid);
    expect((await deprecate(at(HOUR + 40_000))).Return).toBe(true);
    expect((await described(ImageId))?.DeprecationTime).toBe('2026-12-02T09:01:00Z');

    ec2.clock.advance(2 * HOUR);
    const { Images = [] } = await east().send(new DescribeImagesCommand({ Owners: ['self'] }));
    expect(Images.map((i) => i.ImageId)).toEqual([ImageId]);

    await east().send(new DisableImageDeprecationCommand({ ImageId }));
    expect((await described(ImageId))?.DeprecationTime).toBeUndefined();
    // A public AMI: at most 2 years after its creation date.
    await east().send(
      new ModifyImageAttributeCommand({ ImageId, LaunchPermission: { Add: [{ Group: 'all' }] } }),
    );
    await expect(deprecate(new Date(Date.UTC(2028, 11, 3)))).rejects.toMatchObject(invalid);
    await deprecate(new Date(Date.UTC(2028, 11, 1)));
  });
});
