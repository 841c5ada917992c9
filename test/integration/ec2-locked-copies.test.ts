import {
  CreateImageCommand,
  CreateSnapshotCommand,
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeLockedSnapshotsCommand,
  DescribeSnapshotsCommand,
  DisableImageDeregistrationProtectionCommand,
  type Image,
  type Snapshot,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ec2CopyJob } from '#ec2/copy-machine/contract';
import type { FinalizedCopy } from '#ec2/copy-machine/finalize-step';
import { MARKER } from '#ec2/markers';
import { type Sandbox, startSandbox } from '#local/sandbox';
import type { Execution } from '#local/step-functions';
import { configFrom } from '#test/support/fixtures';

/**
 * Locked snapshot copies, protected and deprecated AMI copies, and retention that waits for the locks
 * (issue 15 §1): the real handlers, the real ec2-copy machine and steps, against the fake EC2's locks and
 * protection (local/ec2/snapshot-locks.ts, image-protection.ts), with the virtual clock carrying the days.
 */

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const CONFIG = configFrom(`
rules:
  - name: ebs-governance
    snapshots: { regions: [us-east-1], tags: { backup: governance } }
    to:
      - region: us-west-2
        retain: { count: 1 }
        lock: { mode: governance, days: 7 }
  - name: ebs-compliance
    snapshots: { regions: [us-east-1], tags: { backup: compliance } }
    to:
      - region: us-west-2
        lock: { mode: compliance, days: 1, coolOffHours: 1 }
  - name: ebs-past-expiry
    snapshots: { regions: [us-east-1], tags: { backup: past-expiry } }
    to:
      - region: us-west-2
        lock: { mode: governance, expiresAt: "2000-01-01T00:00:00Z" }
  - name: ami-protected
    images: { regions: [us-east-1], tags: { dr: protected } }
    to:
      - region: us-west-2
        retain: { count: 1 }
        deregistrationProtection: true
        deprecateAfter: 30d
        lock: { mode: governance, days: 2 }
  - name: ami-snapshots-locked
    images: { regions: [us-east-1], tags: { dr: locked } }
    to:
      - region: eu-west-1
        retain: { count: 1 }
        lock: { mode: governance, days: 2 }
`);

let sandbox: Sandbox;
const ended: Execution[] = [];
const east = () => sandbox.ec2Client('us-east-1');

beforeAll(async () => {
  sandbox = await startSandbox({
    config: CONFIG,
    port: 0,
    onExecutionEnd: (execution) => ended.push(execution),
    ec2: { copyBytesPerSecond: 64 * 1024 * 1024 },
  });
});
afterAll(() => sandbox.stop());

const tagList = (tags: Record<string, string>) =>
  Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));

async function createSnapshot(tags: Record<string, string>, volumeId?: string) {
  const volume = volumeId ?? sandbox.ec2.createVolume('us-east-1', { sizeGiB: 8, encrypted: false });
  const { SnapshotId } = await east().send(
    new CreateSnapshotCommand({
      VolumeId: volume,
      Description: 'nightly',
      TagSpecifications: [{ ResourceType: 'snapshot', Tags: tagList(tags) }],
    }),
  );
  await sandbox.settle();
  return { snapshotId: SnapshotId ?? '', volumeId: volume };
}

/** Creates an AMI in us-east-1; a rebuild deregisters the AMI it replaces first (AMI names are unique). */
async function createImage(name: string, tags: Record<string, string>, replaces?: string): Promise<string> {
  if (replaces) await east().send(new DeregisterImageCommand({ ImageId: replaces }));
  const volumeId = sandbox.ec2.createVolume('us-east-1', { sizeGiB: 8 });
  const instanceId = sandbox.ec2.createInstance('us-east-1', [volumeId]);
  const { ImageId } = await east().send(
    new CreateImageCommand({
      InstanceId: instanceId,
      Name: name,
      TagSpecifications: [{ ResourceType: 'image', Tags: tagList(tags) }],
    }),
  );
  await sandbox.settle();
  return ImageId ?? '';
}

const executionOf = (sourceId: string): Execution | undefined =>
  [...sandbox.stepFunctions.executions.values()].find(
    (execution) => (execution.input as Ec2CopyJob).source.id === sourceId,
  );
/** The Finalize step's result (its ResultPath is `$.result`). */
const finalized = (sourceId: string) =>
  (executionOf(sourceId)?.output as { result?: FinalizedCopy } | undefined)?.result;

async function snapshotCopiesOf(sourceId: string): Promise<Snapshot[]> {
  const { Snapshots } = await sandbox.ec2Client('us-west-2').send(
    new DescribeSnapshotsCommand({
      OwnerIds: ['self'],
      Filters: [{ Name: `tag:${MARKER.sourceId}`, Values: [sourceId] }],
    }),
  );
  return Snapshots ?? [];
}

async function imageCopiesOf(sourceId: string, region: string): Promise<Image[]> {
  const { Images } = await sandbox.ec2Client(region).send(
    new DescribeImagesCommand({
      Owners: ['self'],
      Filters: [{ Name: `tag:${MARKER.sourceId}`, Values: [sourceId] }],
    }),
  );
  return Images ?? [];
}

async function lockStateOf(region: string, snapshotId: string): Promise<string | undefined> {
  const { Snapshots } = await sandbox
    .ec2Client(region)
    .send(new DescribeLockedSnapshotsCommand({ SnapshotIds: [snapshotId] }));
  return Snapshots?.[0]?.LockState;
}

const snapshotIdsOf = (image: Image) =>
  (image.BlockDeviceMappings ?? []).flatMap((m) => (m.Ebs?.SnapshotId ? [m.Ebs.SnapshotId] : []));

const callsOf = (operation: string) => sandbox.calls().filter((call) => call.operation === operation);

describe('locked EC2 copies on the sandbox', () => {
  it('locks a snapshot copy once completed, and EC2 then refuses to delete it', async () => {
    const { snapshotId } = await createSnapshot({ backup: 'governance' });
    expect(executionOf(snapshotId)?.status).toBe('SUCCEEDED');
    const [copy] = await snapshotCopiesOf(snapshotId);
    const copyId = copy?.SnapshotId ?? '';
    expect(copy?.State).toBe('completed');
    expect(finalized(snapshotId)?.locked).toEqual([copyId]);
    expect(await lockStateOf('us-west-2', copyId)).toBe('governance');
    await expect(
      sandbox.ec2Client('us-west-2').send(new DeleteSnapshotCommand({ SnapshotId: copyId })),
    ).rejects.toMatchObject({ name: 'SnapshotLocked' });
  });

  it('retention leaves a copy its lock holds, reports it, and prunes it once the lock has expired', async () => {
    const first = await createSnapshot({ backup: 'governance' });
    const [firstCopy] = await snapshotCopiesOf(first.snapshotId);
    const heldBefore = sandbox.metrics.heldCopies;

    const second = await createSnapshot({ backup: 'governance' }, first.volumeId);
    const [secondCopy] = await snapshotCopiesOf(second.snapshotId);
    // retain count 1 would prune the first copy; its 7-day lock keeps it, reported as held, no delete tried.
    expect(await snapshotCopiesOf(first.snapshotId)).toHaveLength(1);
    expect(finalized(second.snapshotId)).toMatchObject({
      pruned: [],
      held: [{ id: firstCopy?.SnapshotId, reason: 'snapshot-lock' }],
    });
    expect(sandbox.metrics.heldCopies).toBe(heldBefore + 1);
    const deletes = callsOf('DeleteSnapshot').filter(
      (call) => call.input.SnapshotId === firstCopy?.SnapshotId,
    );
    expect(deletes).toEqual([]);

    // Eight days on, both locks have expired: the next copy of the volume prunes both older ones.
    sandbox.clock.advance(8 * DAY);
    expect(await lockStateOf('us-west-2', firstCopy?.SnapshotId ?? '')).toBe('expired');
    const third = await createSnapshot({ backup: 'governance' }, first.volumeId);
    expect(executionOf(third.snapshotId)?.status).toBe('SUCCEEDED');
    expect(await snapshotCopiesOf(first.snapshotId)).toEqual([]);
    expect(await snapshotCopiesOf(second.snapshotId)).toEqual([]);
    expect(await snapshotCopiesOf(third.snapshotId)).toHaveLength(1);
    expect(finalized(third.snapshotId)).toMatchObject({ held: [] });
    expect([...(finalized(third.snapshotId)?.pruned ?? [])].sort()).toEqual(
      [firstCopy?.SnapshotId, secondCopy?.SnapshotId].sort(),
    );
  });

  it('a retried finalize finds the lock already there and does not lock again', async () => {
    // LockSnapshot is carried out, but its answers are lost until the step gives up; the machine retries
    // the Finalize step, which must read the lock (DescribeLockedSnapshots) rather than lock again.
    sandbox.ec2.faults.script('LockSnapshot', 'lost-answer', 'lost-answer', 'lost-answer');
    const lostBefore = sandbox.ec2.faults.injected.get('lost-answer') ?? 0;
    const locksBefore = callsOf('LockSnapshot').length;
    const { snapshotId } = await createSnapshot({ backup: 'compliance' });
    const lost = (sandbox.ec2.faults.injected.get('lost-answer') ?? 0) - lostBefore;
    const lockCalls = callsOf('LockSnapshot').length - locksBefore;
    sandbox.ec2.faults.clear();

    const execution = executionOf(snapshotId);
    expect(execution?.status).toBe('SUCCEEDED');
    expect(execution?.retries.get('Finalize')).toBeGreaterThanOrEqual(1);
    expect(lost).toBeGreaterThan(0);
    // One LockSnapshot (the SDK's attempts at it, each answer lost): the retried finalize sent none.
    expect(lockCalls).toBe(1);
    const [copy] = await snapshotCopiesOf(snapshotId);
    expect(finalized(snapshotId)?.locked).toEqual([copy?.SnapshotId]);
    expect(await lockStateOf('us-west-2', copy?.SnapshotId ?? '')).toBe('compliance-cooloff');
    // Past the 1-hour cooling-off period the compliance lock can no longer be lifted.
    sandbox.clock.advance(2 * HOUR);
    expect(await lockStateOf('us-west-2', copy?.SnapshotId ?? '')).toBe('compliance');
  });

  it('fails a copy whose lock.expiresAt has passed with LockExpiryPassed, without asking EC2 to lock it', async () => {
    const locksBefore = callsOf('LockSnapshot').length;
    const { snapshotId } = await createSnapshot({ backup: 'past-expiry' });
    const execution = executionOf(snapshotId);
    expect(execution?.status).toBe('FAILED');
    expect(JSON.stringify(execution?.error ?? execution?.output ?? '')).toContain('LockExpiryPassed');
    expect(callsOf('LockSnapshot').length).toBe(locksBefore);
  });

  it('protects and deprecates an AMI copy and locks the snapshots behind it; retention reports the protected copy held', async () => {
    const first = await createImage('web', { dr: 'protected' });
    expect(executionOf(first)?.status).toBe('SUCCEEDED');
    const [copy] = await imageCopiesOf(first, 'us-west-2');
    const snapshots = snapshotIdsOf(copy ?? {});
    expect(snapshots.length).toBeGreaterThan(0);
    expect(copy?.DeregistrationProtection).toBe('enabled-without-cooldown');
    const created = Date.parse(copy?.CreationDate ?? '');
    const deprecation = Date.parse(copy?.DeprecationTime ?? '');
    expect(Math.abs(deprecation - (created + 30 * DAY))).toBeLessThanOrEqual(60_000);
    for (const id of snapshots) expect(await lockStateOf('us-west-2', id)).toBe('governance');
    expect(finalized(first)).toMatchObject({
      locked: snapshots,
      deregistrationProtection: 'enabled-without-cooldown',
      deprecationTime: copy?.DeprecationTime,
    });
    await expect(
      sandbox.ec2Client('us-west-2').send(new DeregisterImageCommand({ ImageId: copy?.ImageId ?? '' })),
    ).rejects.toMatchObject({ name: 'OperationNotPermitted' });

    // Past retention (count 1) and past its snapshots' locks, the protected copy still stays: Ferry never
    // disables protection itself.
    sandbox.clock.advance(3 * DAY);
    const second = await createImage('web', { dr: 'protected' }, first);
    expect(executionOf(second)?.status).toBe('SUCCEEDED');
    expect(await imageCopiesOf(first, 'us-west-2')).toHaveLength(1);
    expect(finalized(second)).toMatchObject({
      pruned: [],
      held: [{ id: copy?.ImageId, reason: 'deregistration-protection' }],
    });
    expect(callsOf('DisableImageDeregistrationProtection')).toEqual([]);

    // An operator lifts the protection: the group's next copy prunes the old one, image and snapshots.
    await sandbox
      .ec2Client('us-west-2')
      .send(new DisableImageDeregistrationProtectionCommand({ ImageId: copy?.ImageId ?? '' }));
    const [secondCopy] = await imageCopiesOf(second, 'us-west-2');
    await sandbox
      .ec2Client('us-west-2')
      .send(new DisableImageDeregistrationProtectionCommand({ ImageId: secondCopy?.ImageId ?? '' }));
    sandbox.clock.advance(3 * DAY);
    const third = await createImage('web', { dr: 'protected' }, second);
    expect(executionOf(third)?.status).toBe('SUCCEEDED');
    expect(await imageCopiesOf(first, 'us-west-2')).toEqual([]);
    expect(await imageCopiesOf(second, 'us-west-2')).toEqual([]);
    for (const id of snapshots) expect(sandbox.ec2.snapshot('us-west-2', id)).toBeUndefined();
  });

  it('holds an unprotected AMI copy while the snapshots behind it are locked, then prunes it', async () => {
    const first = await createImage('batch', { dr: 'locked' });
    const [copy] = await imageCopiesOf(first, 'eu-west-1');
    const snapshots = snapshotIdsOf(copy ?? {});
    const second = await createImage('batch', { dr: 'locked' }, first);
    expect(await imageCopiesOf(first, 'eu-west-1')).toHaveLength(1);
    expect(finalized(second)).toMatchObject({
      pruned: [],
      held: [{ id: copy?.ImageId, reason: 'snapshot-lock' }],
    });
    // No DeregisterImage was tried: the AMI stays usable while its snapshots are locked.
    expect(callsOf('DeregisterImage').filter((call) => call.input.ImageId === copy?.ImageId)).toEqual([]);

    sandbox.clock.advance(3 * DAY);
    const third = await createImage('batch', { dr: 'locked' }, second);
    expect(executionOf(third)?.status).toBe('SUCCEEDED');
    expect(await imageCopiesOf(first, 'eu-west-1')).toEqual([]);
    for (const id of snapshots) expect(sandbox.ec2.snapshot('eu-west-1', id)).toBeUndefined();
  });
});
