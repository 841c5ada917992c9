import { describe, expect, it } from 'vitest';
import { Ec2CopyJobSchema } from '#ec2/copy-machine/contract';
import {
  deprecateAtOf,
  durationMs,
  lockHolds,
  lockRequestOf,
  lockSatisfies,
  protectionHolds,
} from '#ec2/copy-protection';
import { imageRulesOf, snapshotRulesOf } from '#rules/config';
import { validateConfig } from '#rules/load';

const MINUTE = 60_000;
const DAY = 86_400_000;

const issuesOf = (rule: unknown) => {
  const result = validateConfig({ rules: [rule] });
  if (result.ok) throw new Error('expected the configuration to be invalid');
  return result.issues;
};
const configOf = (rule: unknown) => {
  const result = validateConfig({ rules: [rule] });
  if (!result.ok) throw new Error(result.issues.map((i) => `${i.path}: ${i.message}`).join('\n'));
  return result.config;
};
const snapshotRule = (destination: Record<string, unknown>) => ({
  name: 'ebs-locked',
  snapshots: { regions: ['us-east-1'] },
  to: [{ region: 'us-west-2', ...destination }],
});
const imageRule = (destination: Record<string, unknown>) => ({
  name: 'ami-protected',
  images: { regions: ['us-east-1'] },
  to: [{ region: 'us-west-2', ...destination }],
});

describe('lock, deregistrationProtection and deprecateAfter in replication.yml', () => {
  it('It should accept a governance lock for days and a compliance lock with a cooling-off period', () => {
    const [rule] = snapshotRulesOf(configOf(snapshotRule({ lock: { mode: 'governance', days: 30 } })));
    expect(rule?.to[0]?.lock).toEqual({ mode: 'governance', days: 30 });
    const [compliance] = snapshotRulesOf(
      configOf(
        snapshotRule({ lock: { mode: 'compliance', expiresAt: '2030-01-01T00:00:00Z', coolOffHours: 72 } }),
      ),
    );
    expect(compliance?.to[0]?.lock).toMatchObject({ mode: 'compliance', coolOffHours: 72 });
  });

  it.each([
    [{ mode: 'governance' }, 'rules[0].to[0].lock', /exactly one of days .* or expiresAt/],
    [{ mode: 'governance', days: 1, expiresAt: '2030-01-01T00:00:00Z' }, 'rules[0].to[0].lock', /not both/],
    [{ mode: 'governance', days: 0 }, 'rules[0].to[0].lock.days', /1–36500 days/],
    [{ mode: 'governance', days: 36_501 }, 'rules[0].to[0].lock.days', /1–36500 days/],
    [{ mode: 'governance', days: 1.5 }, 'rules[0].to[0].lock.days', /whole number/],
    [{ mode: 'compliance', days: 1, coolOffHours: 73 }, 'rules[0].to[0].lock.coolOffHours', /1–72 hours/],
    [{ mode: 'compliance', days: 1, coolOffHours: 0 }, 'rules[0].to[0].lock.coolOffHours', /1–72 hours/],
    [
      { mode: 'governance', days: 1, coolOffHours: 2 },
      'rules[0].to[0].lock.coolOffHours',
      /compliance mode only/,
    ],
    [{ mode: 'legal-hold', days: 1 }, 'rules[0].to[0].lock.mode', /governance or compliance/],
    [{ mode: 'governance', expiresAt: '2030-01-01' }, 'rules[0].to[0].lock.expiresAt', /with a zone/],
    [{ mode: 'governance', days: 1, until: 2 }, 'rules[0].to[0].lock', /until/],
  ])('It should refuse lock %j at %s', (lock, path, message) => {
    expect(issuesOf(snapshotRule({ lock }))).toContainEqual({
      path,
      message: expect.stringMatching(message),
    });
  });

  it('It should take protection and deprecation on AMI destinations only', () => {
    const [rule] = imageRulesOf(
      configOf(
        imageRule({
          deregistrationProtection: { cooldown: true },
          deprecateAfter: '90d',
          lock: { mode: 'governance', days: 7 },
        }),
      ),
    );
    expect(rule?.to[0]).toMatchObject({
      deregistrationProtection: { cooldown: true },
      deprecateAfter: '90d',
      lock: { mode: 'governance', days: 7 },
    });
    expect(
      imageRulesOf(configOf(imageRule({ deregistrationProtection: true })))[0]?.to[0]
        ?.deregistrationProtection,
    ).toEqual({
      cooldown: false,
    });
    expect(
      imageRulesOf(configOf(imageRule({ deregistrationProtection: false })))[0]?.to[0]
        ?.deregistrationProtection,
    ).toBeUndefined();
    expect(issuesOf(snapshotRule({ deprecateAfter: '30d' }))).toContainEqual({
      path: 'rules[0].to[0]',
      message: expect.stringMatching(/deprecateAfter/),
    });
  });

  it.each([
    ['30', /expected a duration/],
    ['0m', /at least 1m/],
    ['3651d', /at most 3650d.*10 years/],
    ['1y', /expected a duration/],
  ])('It should refuse deprecateAfter %s', (deprecateAfter, message) => {
    expect(issuesOf(imageRule({ deprecateAfter }))).toContainEqual({
      path: 'rules[0].to[0].deprecateAfter',
      message: expect.stringMatching(message),
    });
  });

  it('It should carry the settings into the copy job unchanged when the job is parsed again', () => {
    const [rule] = imageRulesOf(
      configOf(
        imageRule({
          deregistrationProtection: true,
          deprecateAfter: '12h',
          lock: { mode: 'compliance', days: 3, coolOffHours: 1 },
        }),
      ),
    );
    const job = {
      kind: 'image',
      rule: 'ami-protected',
      destinationIndex: 0,
      destination: rule?.to[0],
      source: {
        id: 'ami-1',
        region: 'us-east-1',
        account: '111122223333',
        encrypted: false,
        description: '',
        tags: {},
      },
      eventTime: '2026-11-21T18:43:48Z',
    };
    const once = Ec2CopyJobSchema.parse(job);
    expect(Ec2CopyJobSchema.parse(JSON.parse(JSON.stringify(once)))).toEqual(once);
    expect(once.destination).toMatchObject({
      deregistrationProtection: { cooldown: false },
      deprecateAfter: '12h',
      lock: { mode: 'compliance', days: 3, coolOffHours: 1 },
    });
  });
});

describe('copy-protection rules', () => {
  it('It should turn a lock into LockSnapshot parameters', () => {
    expect(lockRequestOf({ mode: 'compliance', days: 30, coolOffHours: 24 })).toEqual({
      LockMode: 'compliance',
      LockDuration: 30,
      CoolOffPeriod: 24,
    });
    expect(lockRequestOf({ mode: 'governance', expiresAt: '2030-01-01T00:00:00Z' })).toEqual({
      LockMode: 'governance',
      ExpirationDate: new Date('2030-01-01T00:00:00Z'),
    });
  });

  it('It should find a lock in place only when its state matches the mode asked for', () => {
    const governance = { mode: 'governance', days: 1 } as const;
    const compliance = { mode: 'compliance', days: 1 } as const;
    expect(lockSatisfies('governance', governance)).toBe(true);
    expect(lockSatisfies('compliance-cooloff', compliance)).toBe(true);
    expect(lockSatisfies('compliance', compliance)).toBe(true);
    expect(lockSatisfies('governance', compliance)).toBe(false);
    expect(lockSatisfies('compliance', governance)).toBe(false);
    expect(lockSatisfies('expired', governance)).toBe(false);
    expect(lockSatisfies(undefined, governance)).toBe(false);
  });

  it('It should hold a snapshot until its lock expires, and an AMI while any protection or cooldown lasts', () => {
    for (const state of ['governance', 'compliance', 'compliance-cooloff'])
      expect(lockHolds(state)).toBe(true);
    expect(lockHolds('expired')).toBe(false);
    expect(lockHolds(undefined)).toBe(false);
    for (const protection of [
      'enabled-with-cooldown',
      'enabled-without-cooldown',
      'disabled after 2026-12-03T10:00:00Z',
    ])
      expect(protectionHolds(protection)).toBe(true);
    expect(protectionHolds('disabled')).toBe(false);
    expect(protectionHolds(undefined)).toBe(false);
  });

  it('It should read durations in minutes, hours, days and weeks', () => {
    expect(durationMs('15m')).toBe(15 * MINUTE);
    expect(durationMs('2h')).toBe(120 * MINUTE);
    expect(durationMs('90d')).toBe(90 * DAY);
    expect(durationMs('2w')).toBe(14 * DAY);
    expect(durationMs('2 w')).toBeUndefined();
  });

  it('It should deprecate at creation plus the duration, to the minute, never in the past', () => {
    const created = Date.parse('2026-11-21T18:43:48Z');
    expect(deprecateAtOf(created, '30d', created + 60 * MINUTE).toISOString()).toBe(
      '2026-12-21T18:44:00.000Z',
    );
    // A copy that took longer than its deprecation delay: the next minute, which EC2 accepts.
    expect(deprecateAtOf(created, '1h', created + 3 * 60 * MINUTE).toISOString()).toBe(
      '2026-11-21T21:44:00.000Z',
    );
  });
});
