import {
  DescribeImagesCommand,
  DescribeLockedSnapshotsCommand,
  EC2Client,
  EnableImageDeprecationCommand,
  EnableImageDeregistrationProtectionCommand,
  LockSnapshotCommand,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CopyView } from '#ec2/copy-kind';
import type { Ec2CopyJob } from '#ec2/copy-machine/contract';
import { heldCopies, protectCopy } from '#ec2/copy-machine/protect-copy';
import { imageCopies } from '#ec2/images/image-copies';
import { snapshotCopies } from '#ec2/snapshots/snapshot-copies';
import { PermanentCopyError, RetryableCopyError } from '#foundation/errors/step-errors';
import { snapshotCopyJob } from '#test/support/ec2-jobs';

const ec2 = mockClient(EC2Client);
beforeEach(() => ec2.onAnyCommand().resolves({}));
afterEach(() => ec2.reset());

const client = () => new EC2Client({ region: 'us-west-2' });
const NOW = Date.parse('2026-11-21T19:00:00Z');
const COPY = 'snap-0c0c0c0c0c0c0c0c1';
const AMI = 'ami-0c0c0c0c0c0c0c0c1';

const snapshotView = (id = COPY): CopyView => ({
  id,
  state: 'completed',
  progress: 100,
  tags: {},
  createdAt: NOW,
});
const imageView = (change: Partial<CopyView> = {}): CopyView => ({
  id: AMI,
  state: 'completed',
  progress: 100,
  tags: {},
  createdAt: NOW - 3_600_000,
  snapshotIds: ['snap-0000000000000000a', 'snap-0000000000000000b'],
  deregistrationProtection: 'disabled',
  ...change,
});
const imageJob = (destination: Partial<Ec2CopyJob['destination']>): Ec2CopyJob => ({
  ...snapshotCopyJob({ destination }),
  kind: 'image',
});

describe('protectCopy', () => {
  it('It should lock a snapshot copy, then read the lock back', async () => {
    ec2
      .on(DescribeLockedSnapshotsCommand)
      .resolvesOnce({ Snapshots: [] })
      .resolves({ Snapshots: [{ SnapshotId: COPY, LockState: 'governance' }] });
    const job = snapshotCopyJob({ destination: { lock: { mode: 'governance', days: 7 } } });
    const result = await protectCopy(job, snapshotView(), client(), snapshotCopies, NOW);
    expect(result).toEqual({ locked: [COPY] });
    expect(ec2).toReceiveCommandWith(LockSnapshotCommand, {
      SnapshotId: COPY,
      LockMode: 'governance',
      LockDuration: 7,
    });
    expect(ec2).toReceiveCommandTimes(DescribeLockedSnapshotsCommand, 2);
  });

  it('It should leave a lock of the asked mode alone (a retried finalize), and replace one of another mode', async () => {
    ec2
      .on(DescribeLockedSnapshotsCommand)
      .resolves({ Snapshots: [{ SnapshotId: COPY, LockState: 'compliance' }] });
    const compliance = snapshotCopyJob({
      destination: { lock: { mode: 'compliance', days: 7, coolOffHours: 1 } },
    });
    await protectCopy(compliance, snapshotView(), client(), snapshotCopies, NOW);
    expect(ec2).not.toReceiveCommand(LockSnapshotCommand);

    const governance = snapshotCopyJob({ destination: { lock: { mode: 'governance', days: 7 } } });
    // Compliance past its cooling-off period cannot become governance: EC2's refusal reads back as not locked.
    await expect(
      protectCopy(governance, snapshotView(), client(), snapshotCopies, NOW),
    ).rejects.toBeInstanceOf(RetryableCopyError);
    expect(ec2).toReceiveCommandTimes(LockSnapshotCommand, 1);
  });

  it('It should refuse an expiresAt in the past as LockExpiryPassed, before any LockSnapshot', async () => {
    const job = snapshotCopyJob({
      destination: { lock: { mode: 'governance', expiresAt: '2026-01-01T00:00:00Z' } },
    });
    const error = await protectCopy(job, snapshotView(), client(), snapshotCopies, NOW).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PermanentCopyError);
    expect((error as PermanentCopyError).classified.cause).toBe('LockExpiryPassed');
    expect(ec2).not.toReceiveCommand(LockSnapshotCommand);
  });

  it('It should protect and deprecate an AMI copy, lock its snapshots, and verify all three', async () => {
    const snapshots = imageView().snapshotIds ?? [];
    ec2
      .on(DescribeLockedSnapshotsCommand)
      .resolvesOnce({ Snapshots: [] })
      .resolves({ Snapshots: snapshots.map((SnapshotId) => ({ SnapshotId, LockState: 'governance' })) });
    ec2.on(DescribeImagesCommand).resolves({
      Images: [
        {
          ImageId: AMI,
          State: 'available',
          DeregistrationProtection: 'enabled-with-cooldown',
          DeprecationTime: '2026-12-21T18:00:00.000Z',
        },
      ],
    });
    const job = imageJob({
      lock: { mode: 'governance', days: 2 },
      deregistrationProtection: { cooldown: true },
      deprecateAfter: '30d',
    });
    const result = await protectCopy(job, imageView(), client(), imageCopies, NOW);
    expect(result).toEqual({
      locked: snapshots,
      deregistrationProtection: 'enabled-with-cooldown',
      deprecationTime: '2026-12-21T18:00:00.000Z',
    });
    expect(ec2).toReceiveCommandTimes(LockSnapshotCommand, 2);
    expect(ec2).toReceiveCommandWith(EnableImageDeregistrationProtectionCommand, {
      ImageId: AMI,
      WithCooldown: true,
    });
    expect(ec2).toReceiveCommandWith(EnableImageDeprecationCommand, {
      ImageId: AMI,
      DeprecateAt: new Date('2026-12-21T18:00:00.000Z'),
    });
  });

  it('It should send nothing for an AMI copy already protected and deprecated', async () => {
    const job = imageJob({ deregistrationProtection: { cooldown: false }, deprecateAfter: '30d' });
    const view = imageView({
      deregistrationProtection: 'enabled-without-cooldown',
      deprecationTime: '2026-12-01T00:00:00.000Z',
    });
    const result = await protectCopy(job, view, client(), imageCopies, NOW);
    expect(result).toMatchObject({ deregistrationProtection: 'enabled-without-cooldown' });
    expect(ec2).not.toReceiveCommand(EnableImageDeregistrationProtectionCommand);
    expect(ec2).not.toReceiveCommand(EnableImageDeprecationCommand);
    expect(ec2).not.toReceiveCommand(DescribeImagesCommand);
  });

  it('It should fail retryably when the protection does not read back', async () => {
    ec2
      .on(DescribeImagesCommand)
      .resolves({ Images: [{ ImageId: AMI, State: 'available', DeregistrationProtection: 'disabled' }] });
    const job = imageJob({ deregistrationProtection: { cooldown: false } });
    await expect(protectCopy(job, imageView(), client(), imageCopies, NOW)).rejects.toBeInstanceOf(
      RetryableCopyError,
    );
  });
});

describe('heldCopies', () => {
  it('It should read the locks of a large prune in batches of 200 ids', async () => {
    const many = Array.from({ length: 250 }, (_, i) => snapshotView(`snap-${String(i).padStart(17, '0')}`));
    ec2.on(DescribeLockedSnapshotsCommand).resolves({ Snapshots: [] });
    expect((await heldCopies(snapshotCopyJob(), client(), many)).size).toBe(0);
    const sizes = ec2
      .commandCalls(DescribeLockedSnapshotsCommand)
      .map((call) => call.args[0].input.SnapshotIds?.length);
    expect(sizes).toEqual([200, 50]);
  });

  it('It should hold locked snapshots, and AMIs that are protected or have a locked snapshot', async () => {
    ec2.on(DescribeLockedSnapshotsCommand).resolves({
      Snapshots: [
        { SnapshotId: 'snap-0000000000000000a', LockState: 'compliance-cooloff' },
        { SnapshotId: 'snap-0000000000000000c', LockState: 'expired' },
      ],
    });
    const snapshotsHeld = await heldCopies(snapshotCopyJob(), client(), [
      snapshotView('snap-0000000000000000a'),
      snapshotView('snap-0000000000000000c'),
    ]);
    expect([...snapshotsHeld.keys()]).toEqual(['snap-0000000000000000a']);

    const images = await heldCopies(imageJob({}), client(), [
      imageView({ id: 'ami-1', snapshotIds: ['snap-0000000000000000a'] }),
      imageView({
        id: 'ami-2',
        snapshotIds: ['snap-0000000000000000c'],
        deregistrationProtection: 'disabled after 2026-11-22T19:00:00Z',
      }),
      imageView({ id: 'ami-3', snapshotIds: ['snap-0000000000000000c'] }),
    ]);
    expect([...images.values()]).toEqual([
      { id: 'ami-1', reason: 'snapshot-lock', detail: 'snap-0000000000000000a compliance-cooloff' },
      {
        id: 'ami-2',
        reason: 'deregistration-protection',
        detail: 'DeregistrationProtection disabled after 2026-11-22T19:00:00Z',
      },
    ]);
  });
});
