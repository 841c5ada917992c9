import {
  CreateImageCommand,
  CreateSnapshotCommand,
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeLockedSnapshotsCommand,
  DescribeSnapshotsCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { MARKER, tagList } from '#ec2/markers';
import { type Check, type DemoPartResult, resultOf } from './demo-checks.ts';
import { DR, SOURCE } from './demo-ec2-expectations.ts';
import { snapshotIdsOf, userCall } from './demo-ec2-verify.ts';
import type { Sandbox } from './sandbox.ts';

/**
 * The lock scenes of the demo (issue 15 §1: "the demo shows it"), written for rules ebs-vault-locked and
 * ami-protected of `local/sandbox.replication.yml`: a snapshot whose copy Ferry locks (LockSnapshot,
 * compliance, 30 days), and an AMI whose copy Ferry protects from deregistration, its snapshots locked
 * (governance, 14 days). Then the scene plays whoever compromised the DR account: it tries to delete the
 * snapshot copy and to deregister the AMI copy with its snapshots, and shows the refusals.
 *
 * AWS documents that a locked snapshot cannot be deleted and a protected AMI cannot be deregistered, but no
 * error code for either (https://docs.aws.amazon.com/ebs/latest/userguide/snapshot-lock-concepts.html,
 * https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ami-deregistration-protection.html): the codes shown
 * are the fake EC2's (local/ec2/snapshot-locks.ts, image-protection.ts), and the checks hold on the refusal
 * and on the lock read back, never on Ferry parsing a code.
 */

export const LOCKED_SNAPSHOT_RULE = 'ebs-vault-locked';
export const PROTECTED_IMAGE_RULE = 'ami-protected';
const SNAPSHOT_LOCK = { state: 'compliance', days: 30 };
const IMAGE_SNAPSHOT_LOCK = { state: 'governance', days: 14 };

interface Refusal {
  /** The request as a user would type it. */
  request: string;
  /** `refused: CODE (message)`, or `accepted` when EC2 did it. */
  answer: string;
  refused: boolean;
}

export async function runEc2LockDemo(
  sandbox: Sandbox,
  print: (line: string) => void,
): Promise<DemoPartResult> {
  const east = sandbox.ec2Client(SOURCE);
  const dr = sandbox.ec2Client(DR);
  print(
    `Locked copies: nobody with the DR account can delete them (rules ${LOCKED_SNAPSHOT_RULE}, ${PROTECTED_IMAGE_RULE})`,
  );
  const checks = [
    ...(await snapshotScene(sandbox, east, dr, print)),
    ...(await imageScene(sandbox, east, dr, print)),
  ];
  return resultOf(checks);
}

async function snapshotScene(
  sandbox: Sandbox,
  east: EC2Client,
  dr: EC2Client,
  print: (line: string) => void,
): Promise<Check[]> {
  const volumeId = sandbox.ec2.createVolume(SOURCE, { sizeGiB: 8 });
  const { SnapshotId = '' } = await userCall(() =>
    east.send(
      new CreateSnapshotCommand({
        VolumeId: volumeId,
        Description: 'payroll vault backup',
        TagSpecifications: [{ ResourceType: 'snapshot', Tags: tagList({ backup: 'vault' }) }],
      }),
    ),
  );
  print(`  create-snapshot ${SnapshotId} of ${volumeId} (8 GiB, backup=vault)`);
  await sandbox.settle();
  const { Snapshots = [] } = await userCall(() =>
    dr.send(
      new DescribeSnapshotsCommand({
        OwnerIds: ['self'],
        Filters: [{ Name: `tag:${MARKER.sourceId}`, Values: [SnapshotId] }],
      }),
    ),
  );
  const copyId = Snapshots[0]?.SnapshotId;
  const label = `snapshot copy of ${SnapshotId} in ${DR}`;
  if (Snapshots.length !== 1 || !copyId) {
    return [{ ok: false, label, detail: `${Snapshots.length} copies found, expected 1` }];
  }
  const lock = await lockOf(dr, copyId);
  print(`    copy ${copyId} in ${DR}: ${lock.description}`);
  const refusal = await attempt(`delete-snapshot ${copyId}`, () =>
    dr.send(new DeleteSnapshotCommand({ SnapshotId: copyId })),
  );
  print(`  ${refusal.request}   (as an intruder in the DR account would) → ${refusal.answer}`);
  const stillThere = await exists(dr, copyId);
  return [
    {
      ok: lock.state === SNAPSHOT_LOCK.state && lock.days === SNAPSHOT_LOCK.days,
      label,
      detail: `${copyId} ${lock.description} (rule asks ${SNAPSHOT_LOCK.state}, ${SNAPSHOT_LOCK.days} days)`,
    },
    {
      ok: refusal.refused && stillThere,
      label: `${label} (DeleteSnapshot)`,
      detail: `${refusal.answer}; the copy ${stillThere ? 'is still there' : 'is gone'}`,
    },
  ];
}

async function imageScene(
  sandbox: Sandbox,
  east: EC2Client,
  dr: EC2Client,
  print: (line: string) => void,
): Promise<Check[]> {
  const instance = sandbox.ec2.createInstance(SOURCE, [sandbox.ec2.createVolume(SOURCE, { sizeGiB: 8 })]);
  const { ImageId = '' } = await userCall(() =>
    east.send(
      new CreateImageCommand({
        InstanceId: instance,
        Name: 'ferry-demo-payments',
        Description: 'payments service, release 1',
        TagSpecifications: [{ ResourceType: 'image', Tags: tagList({ dr: 'protected' }) }],
      }),
    ),
  );
  print(`  create-image ${ImageId} "ferry-demo-payments" of ${instance} (dr=protected)`);
  await sandbox.settle();
  const { Images = [] } = await userCall(() =>
    dr.send(
      new DescribeImagesCommand({
        Owners: ['self'],
        Filters: [{ Name: `tag:${MARKER.sourceId}`, Values: [ImageId] }],
      }),
    ),
  );
  const copy = Images[0];
  const label = `AMI copy of ${ImageId} in ${DR}`;
  if (Images.length !== 1 || !copy?.ImageId) {
    return [{ ok: false, label, detail: `${Images.length} copies found, expected 1` }];
  }
  const copyId = copy.ImageId;
  const snapshotIds = snapshotIdsOf(copy);
  const locks = await Promise.all(snapshotIds.map((id) => lockOf(dr, id)));
  print(
    `    copy ${copyId} in ${DR} is ${copy.State}, deregistration protection ${copy.DeregistrationProtection}; ` +
      `its snapshots ${snapshotIds.map((id, i) => `${id} ${locks[i]?.description}`).join(', ')}`,
  );
  const deregister = await attempt(`deregister-image ${copyId}`, () =>
    dr.send(new DeregisterImageCommand({ ImageId: copyId, DeleteAssociatedSnapshots: true })),
  );
  print(
    `  ${deregister.request} --delete-associated-snapshots   (as an intruder would) → ${deregister.answer}`,
  );
  const { Images: after = [] } = await userCall(() =>
    dr.send(new DescribeImagesCommand({ ImageIds: [copyId] })),
  );
  const protection = copy.DeregistrationProtection ?? 'disabled';
  const locked =
    locks.length > 0 &&
    locks.every((lock) => lock.state === IMAGE_SNAPSHOT_LOCK.state && lock.days === IMAGE_SNAPSHOT_LOCK.days);
  return [
    {
      ok: copy.State === 'available' && protection.startsWith('enabled') && locked,
      label,
      detail:
        `${copyId} ${copy.State}, deregistration protection ${protection}, ` +
        `${locks.length} snapshots ${locked ? `locked ${IMAGE_SNAPSHOT_LOCK.state} for ${IMAGE_SNAPSHOT_LOCK.days} days` : locks.map((lock) => lock.description).join(', ')}`,
    },
    {
      ok: deregister.refused && after[0]?.State === 'available',
      label: `${label} (DeregisterImage)`,
      detail: `${deregister.answer}; the copy is ${after[0]?.State ?? 'gone'}`,
    },
  ];
}

/** The snapshot's lock as DescribeLockedSnapshots reports it. */
async function lockOf(
  client: EC2Client,
  snapshotId: string,
): Promise<{ state?: string; days?: number; description: string }> {
  const { Snapshots = [] } = await userCall(() =>
    client.send(new DescribeLockedSnapshotsCommand({ SnapshotIds: [snapshotId] })),
  );
  const lock = Snapshots[0];
  if (!lock?.LockState) return { description: 'not locked' };
  const until = lock.LockExpiresOn ? ` until ${lock.LockExpiresOn.toISOString()}` : '';
  return {
    state: lock.LockState,
    days: lock.LockDuration,
    description: `locked ${lock.LockState} for ${lock.LockDuration} days${until}`,
  };
}

/** Whoever holds the DR account tries it: the answer EC2 gives. */
async function attempt(request: string, call: () => Promise<unknown>): Promise<Refusal> {
  try {
    await userCall(call);
    return { request, answer: 'accepted', refused: false };
  } catch (error) {
    const { name, message, $metadata } = error as Error & { $metadata?: { httpStatusCode?: number } };
    // A refusal is EC2's 4xx answer; a 5xx or throttling that outlasted the retries refused nothing.
    const status = $metadata?.httpStatusCode ?? 0;
    return { request, answer: `refused: ${name} (${message})`, refused: status >= 400 && status < 500 };
  }
}

async function exists(client: EC2Client, snapshotId: string): Promise<boolean> {
  const { Snapshots = [] } = await userCall(() =>
    client.send(
      new DescribeSnapshotsCommand({
        OwnerIds: ['self'],
        Filters: [{ Name: 'snapshot-id', Values: [snapshotId] }],
      }),
    ),
  );
  return Snapshots.length === 1;
}
