/**
 * Locks and protection for Ferry's EC2 copies: the settings a destination may give (`lock`,
 * `deregistrationProtection`, `deprecateAfter`), the requests they become, and whether a copy past its
 * retention is still held by one. Pure: the finalize step (copy-machine/protect-copy.ts) makes the calls.
 *
 * AWS's rules, with their pages:
 * - LockSnapshot (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_LockSnapshot.html): `LockMode`
 *   governance or compliance; exactly one of `LockDuration` (1–36,500 days) and `ExpirationDate` (in the
 *   future); `CoolOffPeriod` 1–72 hours, in compliance mode only. A locked snapshot cannot be deleted until
 *   its lock expires (state `expired`) or, in governance mode or a compliance cooling-off period, it is
 *   unlocked ("Amazon EBS snapshot lock concepts",
 *   https://docs.aws.amazon.com/ebs/latest/userguide/snapshot-lock-concepts.html).
 * - EnableImageDeregistrationProtection (`WithCooldown`: once disabled, the protection stays 24 hours more)
 *   and DeregisterImage refusing a protected AMI ("Protect an Amazon EC2 AMI from deregistration",
 *   https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ami-deregistration-protection.html).
 * - EnableImageDeprecation (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_EnableImageDeprecation.html):
 *   `DeprecateAt` not in the past, at most 10 years from now, its seconds rounded to the nearest minute.
 */

import { z } from 'zod';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const MINUTE_MS = 60_000;

/** LockSnapshot's LockDuration bounds, in days. */
export const LOCK_DAYS = { min: 1, max: 36_500 } as const;
/** LockSnapshot's CoolOffPeriod bounds, in hours (compliance mode only). */
export const COOL_OFF_HOURS = { min: 1, max: 72 } as const;
/**
 * EnableImageDeprecation refuses a DeprecateAt more than 10 years from now. `deprecateAfter` counts from the
 * copy's creation, which is before now, so a duration of 3,650 days (less than 10 calendar years) always fits.
 */
export const MAX_DEPRECATE_AFTER_DAYS = 3_650;

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2})$/;

/**
 * `lock:` of a snapshot destination (and of an AMI destination, for the snapshots behind the copy). One
 * schema for the rule and the copy job that carries it, as `retain`.
 */
export const snapshotLockSchema = z
  .strictObject({
    mode: z.enum(['governance', 'compliance'], { error: 'expected governance or compliance' }),
    days: z
      .number()
      .int('expected a whole number of days')
      .min(LOCK_DAYS.min, `expected ${LOCK_DAYS.min}–${LOCK_DAYS.max} days (LockSnapshot's LockDuration)`)
      .max(LOCK_DAYS.max, `expected ${LOCK_DAYS.min}–${LOCK_DAYS.max} days (LockSnapshot's LockDuration)`)
      .optional(),
    /** A fixed expiry (ISO 8601 with a zone): every copy made before it is locked until then. */
    expiresAt: z
      .string()
      .regex(ISO_INSTANT, 'expected a date and time with a zone, such as 2027-06-30T00:00:00Z')
      .refine((text) => !Number.isNaN(Date.parse(text)), 'expected a date and time that exists')
      .optional(),
    coolOffHours: z
      .number()
      .int('expected a whole number of hours')
      .min(COOL_OFF_HOURS.min, `expected ${COOL_OFF_HOURS.min}–${COOL_OFF_HOURS.max} hours (CoolOffPeriod)`)
      .max(COOL_OFF_HOURS.max, `expected ${COOL_OFF_HOURS.min}–${COOL_OFF_HOURS.max} hours (CoolOffPeriod)`)
      .optional(),
  })
  .superRefine((lock, ctx) => {
    if ((lock.days === undefined) === (lock.expiresAt === undefined)) {
      ctx.addIssue({
        code: 'custom',
        message:
          'expected exactly one of days (how long each copy stays locked) or expiresAt (when every lock ends): ' +
          'LockSnapshot takes a LockDuration or an ExpirationDate, not both',
      });
    }
    if (lock.coolOffHours !== undefined && lock.mode !== 'compliance') {
      ctx.addIssue({
        code: 'custom',
        path: ['coolOffHours'],
        message:
          'a cooling-off period exists in compliance mode only: governance locks can be lifted at any time',
      });
    }
  });

export type SnapshotLock = z.infer<typeof snapshotLockSchema>;

/**
 * `deregistrationProtection:` of an AMI destination: `true`, or `{ cooldown: true }` for the 24-hour cooldown
 * after the protection is disabled. Normalized to `{ cooldown }`, which parses to itself (the job is parsed again).
 */
export const deregistrationProtectionSchema = z
  .union([z.boolean(), z.strictObject({ cooldown: z.boolean() })], {
    error: 'expected true, false or { cooldown: true }',
  })
  .transform((value): { cooldown: boolean } | undefined =>
    value === false ? undefined : value === true ? { cooldown: false } : value,
  );

export type DeregistrationProtection = z.infer<typeof deregistrationProtectionSchema>;

const DURATION = /^(\d+)(m|h|d|w)$/;
const UNIT_MS: Record<string, number> = { m: MINUTE_MS, h: HOUR_MS, d: DAY_MS, w: 7 * DAY_MS };

/** `30m`, `12h`, `90d`, `26w` in milliseconds; undefined for anything else. */
export function durationMs(text: string): number | undefined {
  const match = DURATION.exec(text);
  if (!match) return undefined;
  const [, count, unit] = match;
  return Number(count) * (UNIT_MS[unit ?? ''] ?? Number.NaN);
}

/** `deprecateAfter:` of an AMI destination: how long after the copy's creation EC2 deprecates it. */
export const deprecateAfterSchema = z.string().superRefine((text, ctx) => {
  const ms = durationMs(text);
  if (ms === undefined) {
    ctx.addIssue({
      code: 'custom',
      message:
        'expected a duration: a whole number and m, h, d or w (minutes, hours, days, weeks), such as 90d',
    });
  } else if (ms < MINUTE_MS) {
    ctx.addIssue({
      code: 'custom',
      message: 'expected at least 1m (EC2 keeps deprecation times to the minute)',
    });
  } else if (ms > MAX_DEPRECATE_AFTER_DAYS * DAY_MS) {
    ctx.addIssue({
      code: 'custom',
      message: `expected at most ${MAX_DEPRECATE_AFTER_DAYS}d: EnableImageDeprecation refuses a time more than 10 years ahead`,
    });
  }
});

/** The LockSnapshot request a lock setting makes (without the snapshot id). */
export interface LockRequest {
  LockMode: 'governance' | 'compliance';
  LockDuration?: number;
  ExpirationDate?: Date;
  CoolOffPeriod?: number;
}

export function lockRequestOf(lock: SnapshotLock): LockRequest {
  return {
    LockMode: lock.mode,
    ...(lock.days !== undefined ? { LockDuration: lock.days } : {}),
    ...(lock.expiresAt !== undefined ? { ExpirationDate: new Date(lock.expiresAt) } : {}),
    ...(lock.coolOffHours !== undefined ? { CoolOffPeriod: lock.coolOffHours } : {}),
  };
}

/** DescribeLockedSnapshots' `LockState`; `undefined` when the snapshot has no lock. */
export type LockState = 'compliance-cooloff' | 'governance' | 'compliance' | 'expired';

/**
 * Whether a snapshot's current lock already is what the rule asks, so a retried finalize does not lock it
 * again (after a compliance cooling-off period EC2 would refuse any change but a longer lock). The mode is
 * read from the state: `governance`, or `compliance`/`compliance-cooloff`.
 */
export function lockSatisfies(state: string | undefined, lock: SnapshotLock): boolean {
  if (state === undefined || state === 'expired') return false;
  return lock.mode === 'governance' ? state === 'governance' : state.startsWith('compliance');
}

/** Whether a lock in this state forbids deleting the snapshot (every state but `expired`). */
export const lockHolds = (state: string | undefined): boolean => state !== undefined && state !== 'expired';

/**
 * Whether DeregisterImage refuses the AMI. DescribeImages answers `disabled`, `enabled-with-cooldown`,
 * `enabled-without-cooldown`, or `disabled after <time>` while a disabled protection's cooldown runs: only
 * plain `disabled` (or no field, an AMI that never had protection) lets Ferry deregister it.
 */
export const protectionHolds = (protection: string | undefined): boolean =>
  protection !== undefined && protection !== '' && protection !== 'disabled';

/**
 * When the copy is deprecated: its creation plus `deprecateAfter`, to the minute (EC2 rounds seconds), and
 * never before the next minute, since EC2 refuses a time in the past (a copy that took longer than the
 * duration is deprecated at once).
 */
export function deprecateAtOf(createdAt: number, deprecateAfter: string, now: number): Date {
  const after = durationMs(deprecateAfter) ?? 0;
  const wanted = Math.round((createdAt + after) / MINUTE_MS) * MINUTE_MS;
  const earliest = Math.ceil((now + 1) / MINUTE_MS) * MINUTE_MS;
  return new Date(Math.max(wanted, earliest));
}

/** Why retention left a copy in place: the lock of a snapshot (its own, or one behind the AMI), or the AMI's protection. */
export type HoldReason = 'snapshot-lock' | 'deregistration-protection';

export interface HeldCopy {
  id: string;
  reason: HoldReason;
  /** The snapshots whose locks hold it, with their states; or the AMI's protection state. */
  detail: string;
}
