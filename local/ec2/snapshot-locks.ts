import type { ActionHandler, ActionRequest, Ec2Context } from './context.ts';
import { checkIdShape, Ec2Error, invalidValue } from './errors.ts';
import { matchesFilters, paginate } from './filters.ts';
import { isoTime } from './ids.ts';
import { filtersOf } from './query.ts';
import type { SnapshotLock, SnapshotRecord } from './records.ts';
import { el } from './render.ts';

/**
 * EBS snapshot lock, as the EBS user guide describes it ("Amazon EBS snapshot lock concepts",
 * https://docs.aws.amazon.com/ebs/latest/userguide/snapshot-lock-concepts.html; "Considerations for Amazon
 * EBS snapshot lock", https://docs.aws.amazon.com/ebs/latest/userguide/snapshot-lock-considerations.html) and
 * the EC2 API reference gives LockSnapshot, UnlockSnapshot and DescribeLockedSnapshots
 * (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_LockSnapshot.html,
 * https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_UnlockSnapshot.html,
 * https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_LockedSnapshotsInfo.html):
 * - governance: locked at once, no cooling-off; can be unlocked, and its mode and duration changed, any time;
 * - compliance: during its optional cooling-off period (1–72 h) it can be unlocked and its settings changed;
 *   after it, it cannot be unlocked, its mode cannot change, and its duration can only grow;
 * - a locked snapshot cannot be deleted until its lock expires (state `expired`) or it is unlocked;
 * - only a `pending` or `completed` snapshot can be locked. A pending snapshot's lock duration starts when it
 *   completes (until then LockSnapshot answers no expiry and no start time), it cannot be deleted while
 *   pending, and its lock is cancelled if it fails.
 * States are not stored: they follow from the lock's settings and the sandbox's virtual clock.
 */

export type LockState = 'compliance-cooloff' | 'governance' | 'compliance' | 'expired';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/**
 * The documentation names no error code for what a lock refuses (a delete, an unlock after the cooling-off
 * period, a change compliance mode forbids). These are the sandbox's choice; Ferry must not depend on them,
 * and should read the lock (DescribeLockedSnapshots) rather than parse the refusal.
 */
export const SNAPSHOT_LOCKED = 'SnapshotLocked';
const lockRefused = (message: string) => new Ec2Error('OperationNotPermitted', message);

/** When the duration started: at locking, or once a snapshot locked while pending completed. */
function durationStart(snapshot: SnapshotRecord, lock: SnapshotLock): number | undefined {
  if (snapshot.state !== 'completed') return undefined;
  return Math.max(lock.createdOn, snapshot.completionTime ?? lock.createdOn);
}

function expiresAt(snapshot: SnapshotRecord, lock: SnapshotLock): number | undefined {
  if (lock.expirationDate !== undefined) return lock.expirationDate;
  const start = durationStart(snapshot, lock);
  return start === undefined || lock.durationDays === undefined
    ? undefined
    : start + lock.durationDays * DAY_MS;
}

const coolOffEndsAt = (lock: SnapshotLock): number | undefined =>
  lock.mode === 'compliance' && lock.coolOffHours !== undefined && lock.coolOffStart !== undefined
    ? lock.coolOffStart + lock.coolOffHours * HOUR_MS
    : undefined;

/** The lock's state at `now`; undefined when the snapshot has no lock (or a failed snapshot lost it). */
export function lockStateAt(snapshot: SnapshotRecord, now: number): LockState | undefined {
  const lock = snapshot.lock;
  if (!lock || snapshot.state === 'error') return undefined;
  const expiry = expiresAt(snapshot, lock);
  if (expiry !== undefined && now >= expiry) return 'expired';
  if (lock.mode === 'governance') return 'governance';
  const coolOffEnd = coolOffEndsAt(lock);
  return coolOffEnd !== undefined && now < coolOffEnd ? 'compliance-cooloff' : 'compliance';
}

/** Whether DeleteSnapshot (or DeregisterImage's DeleteAssociatedSnapshots) may delete it now. */
export function isDeletable(snapshot: SnapshotRecord, now: number): boolean {
  const state = lockStateAt(snapshot, now);
  if (state === undefined) return true;
  // A snapshot locked while pending cannot be deleted while it is pending, whatever its expiry.
  return state === 'expired' && snapshot.state !== 'pending';
}

export function assertDeletable(snapshot: SnapshotRecord, now: number): void {
  if (!isDeletable(snapshot, now)) {
    throw new Ec2Error(
      SNAPSHOT_LOCKED,
      `The snapshot ${snapshot.snapshotId} is locked (${lockStateAt(snapshot, now)}) and cannot be deleted.`,
    );
  }
}

function lockedSnapshot(context: Ec2Context, { region, params }: ActionRequest): SnapshotRecord {
  const id = params.required('SnapshotId');
  checkIdShape('snap', id);
  return context.store(region).snapshot(id);
}

const combination = (message: string) => new Ec2Error('InvalidParameterCombination', message);

/** The request's lock settings, checked against the API reference's bounds. */
function requestedLock(request: ActionRequest, now: number) {
  const { params } = request;
  const mode = params.required('LockMode');
  if (mode !== 'governance' && mode !== 'compliance') throw invalidValue('LockMode', mode);
  const durationDays = params.int('LockDuration');
  const expiration = params.get('ExpirationDate');
  if ((durationDays === undefined) === (expiration === undefined))
    throw combination('You must specify either LockDuration or ExpirationDate, but not both.');
  if (durationDays !== undefined && (durationDays < 1 || durationDays > 36_500))
    throw invalidValue('LockDuration', String(durationDays), 'Expecting a value between 1 and 36500.');
  let expirationDate: number | undefined;
  if (expiration !== undefined) {
    expirationDate = Date.parse(expiration);
    if (Number.isNaN(expirationDate)) throw invalidValue('ExpirationDate', expiration);
    if (expirationDate <= now)
      throw invalidValue('ExpirationDate', expiration, 'The expiration date must be in the future.');
  }
  const coolOffHours = params.int('CoolOffPeriod');
  if (coolOffHours !== undefined) {
    if (mode === 'governance') throw combination('CoolOffPeriod can be specified in compliance mode only.');
    if (coolOffHours < 1 || coolOffHours > 72)
      throw invalidValue('CoolOffPeriod', String(coolOffHours), 'Expecting a value between 1 and 72.');
  }
  return { mode, durationDays, expirationDate, coolOffHours } as const;
}

/**
 * LockSnapshot locks a snapshot, or changes the settings of its lock: freely in governance mode and during
 * compliance mode's cooling-off period; after it, only to a later expiry, in compliance mode, with no
 * CoolOffPeriod. A change keeps the lock's creation time (so a new LockDuration counts from the same start);
 * a cooling-off period starts when compliance mode is entered and is measured from then when it is changed.
 */
const LockSnapshot: ActionHandler = (context, request) => {
  const snapshot = lockedSnapshot(context, request);
  const now = context.now();
  const wanted = requestedLock(request, now);
  if (snapshot.state !== 'pending' && snapshot.state !== 'completed') {
    throw new Ec2Error(
      'IncorrectState',
      `Snapshot ${snapshot.snapshotId} is in the ${snapshot.state} state: only pending or completed snapshots can be locked.`,
    );
  }
  const current = lockStateAt(snapshot, now);
  const earlier = current === undefined || current === 'expired' ? undefined : snapshot.lock;
  const lock: SnapshotLock = {
    mode: wanted.mode,
    createdOn: earlier?.createdOn ?? now,
    ...(wanted.durationDays !== undefined ? { durationDays: wanted.durationDays } : {}),
    ...(wanted.expirationDate !== undefined ? { expirationDate: wanted.expirationDate } : {}),
  };
  if (current === 'compliance' && earlier) {
    if (wanted.mode !== 'compliance')
      throw lockRefused(
        `The lock mode of snapshot ${snapshot.snapshotId} cannot change after its cooling-off period.`,
      );
    if (wanted.coolOffHours !== undefined)
      throw lockRefused(
        `Snapshot ${snapshot.snapshotId} is past its cooling-off period: omit CoolOffPeriod.`,
      );
    // A pending snapshot's expiry is not known yet: compare as if it completed now.
    const expiry = (l: SnapshotLock) => expiresAt(snapshot, l) ?? now + (l.durationDays ?? 0) * DAY_MS;
    if (expiry(lock) < expiry(earlier))
      throw lockRefused(`The lock of snapshot ${snapshot.snapshotId} can only be extended.`);
    if (earlier.coolOffHours !== undefined) lock.coolOffHours = earlier.coolOffHours;
    if (earlier.coolOffStart !== undefined) lock.coolOffStart = earlier.coolOffStart;
  } else if (wanted.mode === 'compliance' && wanted.coolOffHours !== undefined) {
    lock.coolOffHours = wanted.coolOffHours;
    lock.coolOffStart = current === 'compliance-cooloff' ? (earlier?.coolOffStart ?? now) : now;
  }
  snapshot.lock = lock;
  return lockFieldsXml(snapshot, lock, now, 'LockSnapshot');
};

/** UnlockSnapshot: a governance lock, or a compliance lock still in its cooling-off period. */
const UnlockSnapshot: ActionHandler = (context, request) => {
  const snapshot = lockedSnapshot(context, request);
  const state = lockStateAt(snapshot, context.now());
  if (state === undefined)
    throw new Ec2Error('IncorrectState', `Snapshot ${snapshot.snapshotId} is not locked.`);
  if (state === 'compliance') {
    throw lockRefused(
      `Snapshot ${snapshot.snapshotId} is locked in compliance mode past its cooling-off period and cannot be unlocked.`,
    );
  }
  delete snapshot.lock;
  return el('snapshotId', snapshot.snapshotId);
};

/** The fields of LockSnapshotResult and LockedSnapshotsInfo (each orders them its own way, as the model). */
function lockFieldsXml(
  snapshot: SnapshotRecord,
  lock: SnapshotLock,
  now: number,
  shape: 'LockSnapshot' | 'LockedSnapshotsInfo',
): string {
  const start = durationStart(snapshot, lock);
  const expiry = expiresAt(snapshot, lock);
  const coolOffEnd = coolOffEndsAt(lock);
  const time = (name: string, at: number | undefined) => (at === undefined ? '' : el(name, isoTime(at)));
  const common = [
    el('snapshotId', snapshot.snapshotId),
    el('lockState', lockStateAt(snapshot, now)),
    el('lockDuration', lock.durationDays),
    el('coolOffPeriod', lock.coolOffHours),
    time('coolOffPeriodExpiresOn', coolOffEnd),
    time('lockCreatedOn', lock.createdOn),
  ];
  return shape === 'LockSnapshot'
    ? [...common, time('lockExpiresOn', expiry), time('lockDurationStartTime', start)].join('')
    : [
        el('ownerId', snapshot.ownerId),
        ...common,
        time('lockDurationStartTime', start),
        time('lockExpiresOn', expiry),
      ].join('');
}

/** DescribeLockedSnapshots: the snapshots with a lock (expired ones too), by `SnapshotId.N` and `lock-state`. */
const DescribeLockedSnapshots: ActionHandler = (context, { region, params }) => {
  const store = context.store(region);
  const now = context.now();
  const ids = params.list('SnapshotId');
  for (const id of ids) {
    checkIdShape('snap', id);
    store.snapshot(id);
  }
  const filters = filtersOf(params);
  const locked = [...store.snapshots.values()].filter(
    (snapshot) =>
      lockStateAt(snapshot, now) !== undefined &&
      (ids.length === 0 || ids.includes(snapshot.snapshotId)) &&
      matchesFilters(snapshot, filters, (s, name) =>
        name === 'lock-state' ? [lockStateAt(s, now) ?? ''] : undefined,
      ),
  );
  const { page, nextToken } = paginate(locked, params);
  const items = page.map(
    (snapshot) =>
      `<item>${snapshot.lock ? lockFieldsXml(snapshot, snapshot.lock, now, 'LockedSnapshotsInfo') : ''}</item>`,
  );
  return `<snapshotSet>${items.join('')}</snapshotSet>${el('nextToken', nextToken)}`;
};

export const snapshotLockActions: Record<string, ActionHandler> = {
  LockSnapshot,
  UnlockSnapshot,
  DescribeLockedSnapshots,
};
