import { DeleteObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { createS3ClientFactory } from '#foundation/aws-clients';
import { deleteReplica } from '#objects/delete-replicas';
import { markersFor } from '#objects/markers';
import {
  lockHolds,
  lockRequestFields,
  minimumRetainUntil,
  replicaLock,
  replicaLockFields,
  sourceLockOf,
} from '#objects/object-lock';
import { planDeletes } from '#objects/router';
import { objectRulesOf } from '#rules/config';
import { validateConfig } from '#rules/load';
import type { ObjectLockPolicy } from '#rules/schema';
import { configFrom, s3Error } from '#test/support/fixtures';

const NOW = Date.parse('2026-12-02T12:00:00Z');
const DAY = 86_400_000;
const at = (ms: number) => new Date(ms);
const policy = (extra: Partial<ObjectLockPolicy> = {}): ObjectLockPolicy => ({ copy: true, ...extra });

describe('the replica’s Object Lock (pure)', () => {
  it('It should lock nothing for a destination without lock, whatever the source’s lock', () => {
    const source = { mode: 'COMPLIANCE' as const, retainUntil: at(NOW + DAY), legalHold: 'ON' as const };
    expect(replicaLock(undefined, source, NOW)).toEqual({});
  });

  it('It should carry the source’s retention and legal hold as they are', () => {
    const source = { mode: 'GOVERNANCE' as const, retainUntil: at(NOW + 5 * DAY), legalHold: 'ON' as const };
    expect(replicaLock(policy(), source, NOW)).toEqual(source);
  });

  it('It should not carry a retention already past, nor a legal hold OFF', () => {
    expect(
      replicaLock(policy(), { mode: 'COMPLIANCE', retainUntil: at(NOW - 1), legalHold: 'OFF' }, NOW),
    ).toEqual({});
  });

  it('It should apply the destination’s minimum when the source has none, from now', () => {
    expect(replicaLock(policy({ mode: 'GOVERNANCE', days: 30 }), {}, NOW)).toEqual({
      mode: 'GOVERNANCE',
      retainUntil: at(NOW + 30 * DAY),
    });
    // Years are calendar years, as S3 counts a default retention in years.
    expect(minimumRetainUntil({ years: 1 }, Date.parse('2028-02-29T00:00:00Z')).toISOString()).toBe(
      '2029-03-01T00:00:00.000Z',
    );
  });

  it.each([
    // [source, minimum, expected]: the mode is COMPLIANCE if either is, the date is the later one.
    ['GOVERNANCE', 90, 'COMPLIANCE', 30, 'COMPLIANCE', 90],
    ['COMPLIANCE', 10, 'GOVERNANCE', 30, 'COMPLIANCE', 30],
    ['GOVERNANCE', 10, 'GOVERNANCE', 30, 'GOVERNANCE', 30],
    ['COMPLIANCE', 40, 'COMPLIANCE', 30, 'COMPLIANCE', 40],
  ] as const)(
    'It should take the stronger of a %s source lock for %i days and a %s minimum of %i days',
    (sourceMode, sourceDays, minimumMode, minimumDays, mode, days) => {
      const source = { mode: sourceMode, retainUntil: at(NOW + sourceDays * DAY) };
      expect(replicaLock(policy({ mode: minimumMode, days: minimumDays }), source, NOW)).toEqual({
        mode,
        retainUntil: at(NOW + days * DAY),
      });
    },
  );

  it('It should ignore the source’s lock with copy: false, and keep the minimum', () => {
    const source = { mode: 'COMPLIANCE' as const, retainUntil: at(NOW + 99 * DAY), legalHold: 'ON' as const };
    expect(replicaLock(policy({ copy: false, mode: 'GOVERNANCE', days: 1 }), source, NOW)).toEqual({
      mode: 'GOVERNANCE',
      retainUntil: at(NOW + DAY),
    });
  });

  it('It should read the source’s lock from its HEAD and give the same request fields to either write path', () => {
    const head = {
      ObjectLockMode: 'GOVERNANCE' as const,
      ObjectLockRetainUntilDate: at(NOW + 2 * DAY),
      ObjectLockLegalHoldStatus: 'ON' as const,
    };
    expect(sourceLockOf(head)).toEqual({
      mode: 'GOVERNANCE',
      retainUntil: at(NOW + 2 * DAY),
      legalHold: 'ON',
    });
    expect(replicaLockFields({ lock: policy({ mode: 'COMPLIANCE', days: 1 }) }, head, NOW)).toEqual({
      ObjectLockMode: 'COMPLIANCE',
      ObjectLockRetainUntilDate: at(NOW + 2 * DAY),
      ObjectLockLegalHoldStatus: 'ON',
    });
    expect(lockRequestFields({})).toEqual({});
  });

  it('It should say a lock holds while a legal hold is ON or the date is ahead', () => {
    expect(lockHolds({ legalHold: 'ON' }, NOW)).toBe(true);
    expect(lockHolds({ mode: 'GOVERNANCE', retainUntil: at(NOW + 1) }, NOW)).toBe(true);
    expect(lockHolds({ mode: 'COMPLIANCE', retainUntil: at(NOW) }, NOW)).toBe(false);
    expect(lockHolds({}, NOW)).toBe(false);
  });
});

describe('lock in replication.yml', () => {
  const issuesOf = (lock: unknown) => {
    const result = validateConfig({
      rules: [
        {
          name: 'vault',
          objects: { bucket: 'acme-prod' },
          to: [{ bucket: 'acme-vault', region: 'us-west-2', lock }],
        },
      ],
    });
    return result.ok ? [] : result.issues;
  };

  it.each([
    [{}],
    [{ mode: 'COMPLIANCE', days: 30 }],
    [{ mode: 'GOVERNANCE', years: 100, copy: false }],
    [{ mode: 'COMPLIANCE', days: 36_500 }],
  ])('It should accept lock %j', (lock) => {
    expect(issuesOf(lock)).toEqual([]);
  });

  it.each([
    [{ mode: 'COMPLIANCE' }, 'rules[0].to[0].lock.mode', /needs days or years/],
    [{ days: 3 }, 'rules[0].to[0].lock.mode', /required with days or years/],
    [{ mode: 'COMPLIANCE', days: 1, years: 1 }, 'rules[0].to[0].lock.years', /not both/],
    [{ mode: 'COMPLIANCE', days: 0 }, 'rules[0].to[0].lock.days', /at least 1/],
    [{ mode: 'COMPLIANCE', days: 36_501 }, 'rules[0].to[0].lock.days', /at most 36500 days/],
    [{ mode: 'COMPLIANCE', years: 101 }, 'rules[0].to[0].lock.years', /at most 100 years/],
    [{ mode: 'COMPLIANCE', days: 1.5 }, 'rules[0].to[0].lock.days', /whole number/],
    [{ mode: 'LEGAL', days: 1 }, 'rules[0].to[0].lock.mode', /GOVERNANCE, COMPLIANCE/],
    [{ copy: false }, 'rules[0].to[0].lock.copy', /locks nothing/],
    [{ mode: 'COMPLIANCE', days: 1, retain: 2 }, 'rules[0].to[0].lock', /retain/],
  ])('It should refuse lock %j at %s', (lock, path, message) => {
    expect(issuesOf(lock)).toContainEqual({ path, message: expect.stringMatching(message) });
  });
});

describe('a replicated delete of a locked replica', () => {
  const s3 = mockClient(S3Client);
  afterEach(() => s3.reset());
  const [rule] = objectRulesOf(
    configFrom(`
rules:
  - name: vault
    objects: { bucket: acme-prod }
    to:
      - { bucket: acme-vault, region: us-west-2, replicateDeletes: true, lock: { mode: COMPLIANCE, days: 1 } }
`),
  );
  if (!rule) throw new Error('the test rule must load');
  const deleted = {
    bucket: 'acme-prod',
    key: 'a.txt',
    versionId: 'v9',
    sequencer: '0055AED6DCD90281E6',
    deletionType: 'Delete Marker Created',
  };
  const [plan] = planDeletes([rule], deleted);
  if (!plan) throw new Error('the rule replicates deletes');
  const replicaHead = (lock: object) =>
    s3.on(HeadObjectCommand, { Bucket: 'acme-vault' }).resolves({
      ETag: '"abc"',
      Metadata: markersFor({
        bucket: 'acme-prod',
        key: 'a.txt',
        versionId: 'v1',
        sequencer: '0055AED6DCD90281E5',
        rule: 'vault',
      }),
      ...lock,
    });
  const remove = () => deleteReplica(plan, deleted, { s3: createS3ClientFactory(), now: () => NOW });

  it('It should name a delete S3 refuses for the replica’s lock "held-by-lock", not a failure to retry', async () => {
    replicaHead({ ObjectLockLegalHoldStatus: 'ON' });
    s3.on(DeleteObjectCommand).rejects(s3Error('AccessDenied', 403));
    await expect(remove()).resolves.toMatchObject({ status: 'skipped', reason: 'held-by-lock' });
  });

  it('It should still fail a 403 on a replica no lock holds (access, not a lock)', async () => {
    replicaHead({ ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: at(NOW - DAY) });
    s3.on(DeleteObjectCommand).rejects(s3Error('AccessDenied', 403));
    await expect(remove()).resolves.toMatchObject({ status: 'failed', error: { cause: 'AccessDenied' } });
  });

  it('It should say the locked version stays when the delete adds a delete marker', async () => {
    replicaHead({ ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: at(NOW + DAY) });
    s3.on(DeleteObjectCommand).resolves({ DeleteMarker: true });
    await expect(remove()).resolves.toEqual({
      status: 'deleted',
      rule: 'vault',
      target: 's3://acme-vault/a.txt',
      lockedVersionKept: true,
    });
  });
});
