import {
  DescribeLockedSnapshotsCommand,
  type EC2Client,
  EnableImageDeprecationCommand,
  EnableImageDeregistrationProtectionCommand,
  LockSnapshotCommand,
} from '@aws-sdk/client-ec2';
import type { CopyKind, CopyView } from '#ec2/copy-kind';
import {
  deprecateAtOf,
  type HeldCopy,
  lockHolds,
  lockRequestOf,
  lockSatisfies,
  protectionHolds,
  type SnapshotLock,
} from '#ec2/copy-protection';
import { CopyProtectionNotVerifiedError, LockExpiryPassedError } from '#ec2/errors';
import type { Ec2CopyJob } from './contract.ts';
import { raise } from './error-translation.ts';

/**
 * The finalize step's locks and protection (settings and rules: src/ec2/copy-protection.ts). Every call is
 * safe to repeat: what is already in place is read first (DescribeLockedSnapshots, DescribeImages) and left
 * alone, and what Ferry sets is read back before the copy counts as finalized.
 */

export interface CopyProtection {
  /** The snapshots locked: the copy, or the snapshots behind the AMI copy. */
  locked: string[];
  /** The AMI copy's DeregistrationProtection, as read back. */
  deregistrationProtection?: string;
  /** The AMI copy's DeprecationTime, as read back. */
  deprecationTime?: string;
}

const LOCK_READ_BATCH = 200;

/** DescribeLockedSnapshots' LockState of each snapshot named (absent: no lock), every page. */
export async function lockStatesOf(
  client: EC2Client,
  snapshotIds: readonly string[],
): Promise<Map<string, string>> {
  const states = new Map<string, string>();
  // The API reference gives no bound on SnapshotId.N: batches keep one request of a large prune modest.
  for (let start = 0; start < snapshotIds.length; start += LOCK_READ_BATCH) {
    const SnapshotIds = snapshotIds.slice(start, start + LOCK_READ_BATCH);
    let NextToken: string | undefined;
    do {
      const page = await client
        .send(new DescribeLockedSnapshotsCommand({ SnapshotIds, NextToken }))
        .catch(raise);
      for (const info of page.Snapshots ?? []) {
        if (info.SnapshotId && info.LockState) states.set(info.SnapshotId, info.LockState);
      }
      NextToken = page.NextToken;
    } while (NextToken);
  }
  return states;
}

async function lockSnapshots(
  client: EC2Client,
  snapshotIds: readonly string[],
  lock: SnapshotLock,
  now: number,
): Promise<string[]> {
  if (snapshotIds.length === 0) return [];
  const before = await lockStatesOf(client, snapshotIds);
  const toLock = snapshotIds.filter((id) => !lockSatisfies(before.get(id), lock));
  for (const id of toLock) {
    // EC2 would refuse it with InvalidParameterValue; Ferry names the cause before asking.
    if (lock.expiresAt !== undefined && Date.parse(lock.expiresAt) <= now)
      raise(new LockExpiryPassedError(id, lock.expiresAt));
    await client.send(new LockSnapshotCommand({ SnapshotId: id, ...lockRequestOf(lock) })).catch(raise);
  }
  if (toLock.length > 0) {
    const after = await lockStatesOf(client, snapshotIds);
    const unlocked = snapshotIds.filter((id) => !lockSatisfies(after.get(id), lock));
    if (unlocked.length > 0)
      raise(
        new CopyProtectionNotVerifiedError(
          `${unlocked.join(', ')} not locked in ${lock.mode} mode after LockSnapshot (${unlocked.map((id) => after.get(id) ?? 'no lock').join(', ')})`,
        ),
      );
  }
  return [...snapshotIds];
}

const wantedProtection = (cooldown: boolean) =>
  cooldown ? 'enabled-with-cooldown' : 'enabled-without-cooldown';

/**
 * Locks the copy (or the snapshots behind the AMI copy), protects and deprecates the AMI copy, as the
 * destination says; the copy is completed (`view` is what finalize read).
 */
export async function protectCopy(
  job: Ec2CopyJob,
  view: CopyView,
  client: EC2Client,
  kind: CopyKind,
  now: number,
): Promise<CopyProtection> {
  const { lock, deregistrationProtection, deprecateAfter } = job.destination;
  const result: CopyProtection = { locked: [] };
  if (lock) {
    const snapshots = job.kind === 'snapshot' ? [view.id] : (view.snapshotIds ?? []);
    result.locked = await lockSnapshots(client, snapshots, lock, now);
  }
  if (job.kind !== 'image' || (!deregistrationProtection && !deprecateAfter)) return result;

  let changed = false;
  if (
    deregistrationProtection &&
    view.deregistrationProtection !== wantedProtection(deregistrationProtection.cooldown)
  ) {
    await client
      .send(
        new EnableImageDeregistrationProtectionCommand({
          ImageId: view.id,
          WithCooldown: deregistrationProtection.cooldown,
        }),
      )
      .catch(raise);
    changed = true;
  }
  // A deprecation time already set (a retried finalize, or an operator's choice) is kept.
  if (deprecateAfter && !view.deprecationTime) {
    await client
      .send(
        new EnableImageDeprecationCommand({
          ImageId: view.id,
          DeprecateAt: deprecateAtOf(view.createdAt, deprecateAfter, now),
        }),
      )
      .catch(raise);
    changed = true;
  }
  const final = changed ? await kind.describe(client, view.id).catch(raise) : view;
  if (
    deregistrationProtection &&
    final?.deregistrationProtection !== wantedProtection(deregistrationProtection.cooldown)
  )
    raise(
      new CopyProtectionNotVerifiedError(
        `${view.id} reads DeregistrationProtection ${final?.deregistrationProtection ?? 'absent'} after EnableImageDeregistrationProtection`,
      ),
    );
  if (deprecateAfter && !final?.deprecationTime)
    raise(
      new CopyProtectionNotVerifiedError(`${view.id} has no DeprecationTime after EnableImageDeprecation`),
    );
  if (final?.deregistrationProtection) result.deregistrationProtection = final.deregistrationProtection;
  if (final?.deprecationTime) result.deprecationTime = final.deprecationTime;
  return result;
}

/**
 * Which of the copies retention would remove are held: a snapshot whose lock has not expired, an AMI with
 * deregistration protection (or in its cooldown), or an AMI one of whose snapshots is locked. Ferry never
 * unlocks or disables protection to prune (that would defeat the protection): a held copy stays, is
 * reported, and goes at a later finalize of its group once nothing holds it.
 */
export async function heldCopies(
  job: Ec2CopyJob,
  client: EC2Client,
  candidates: readonly CopyView[],
): Promise<Map<string, HeldCopy>> {
  const held = new Map<string, HeldCopy>();
  const snapshotsOf = (copy: CopyView) => (job.kind === 'snapshot' ? [copy.id] : (copy.snapshotIds ?? []));
  const states = await lockStatesOf(
    client,
    candidates.flatMap((copy) => snapshotsOf(copy)),
  );
  for (const copy of candidates) {
    if (job.kind === 'image' && protectionHolds(copy.deregistrationProtection)) {
      held.set(copy.id, {
        id: copy.id,
        reason: 'deregistration-protection',
        detail: `DeregistrationProtection ${copy.deregistrationProtection}`,
      });
      continue;
    }
    const locks = snapshotsOf(copy).filter((id) => lockHolds(states.get(id)));
    if (locks.length > 0)
      held.set(copy.id, {
        id: copy.id,
        reason: 'snapshot-lock',
        detail: locks.map((id) => `${id} ${states.get(id)}`).join(', '),
      });
  }
  return held;
}
