import {
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  type PutObjectCommandInput,
  PutObjectLegalHoldCommand,
  PutObjectLockConfigurationCommand,
  PutObjectRetentionCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '#local/sandbox';
import { configFrom } from '#test/support/fixtures';

/**
 * Replicas follow their source's Object Lock changes through reconcile, end to end: S3 emits no event for
 * PutObjectRetention or PutObjectLegalHold (src/reconcile/lock-compare.ts cites the event lists), so the
 * sandbox's S3 emits none either, and the real reconcile pass compares each replica's lock, on the HEAD it
 * makes, with what the lock computation wants, against the sandbox's Object Lock model
 * (local/s3/object-lock.ts) on the virtual clock.
 */

const DAY = 86_400_000;

const destinations = `
      - { bucket: rl-vault, region: us-west-2, lock: { mode: COMPLIANCE, days: 30 } }
      - { bucket: rl-carry, region: us-west-2, lock: {} }
      - { bucket: rl-plain, region: eu-west-1 }`;
const CONFIG = configFrom(`
rules:
  - name: raise
    objects: { bucket: rl-source, prefix: raise/ }
    to:${destinations}
  - name: stronger
    objects: { bucket: rl-source, prefix: stronger/ }
    to:${destinations}
  - name: expired
    objects: { bucket: rl-source, prefix: expired/ }
    to:${destinations}
`);

let sandbox: Sandbox;
const source = () => sandbox.s3('us-east-1');
const west = () => sandbox.s3('us-west-2');

async function enableObjectLock(client: S3Client, bucket: string) {
  await client.send(
    new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }),
  );
  await client.send(
    new PutObjectLockConfigurationCommand({
      Bucket: bucket,
      ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled' },
    }),
  );
}

beforeAll(async () => {
  sandbox = await startSandbox({ config: CONFIG, port: 0 });
  await enableObjectLock(source(), 'rl-source');
  await enableObjectLock(west(), 'rl-vault');
  await enableObjectLock(west(), 'rl-carry');
});
afterAll(() => sandbox.stop());

async function put(key: string, extra: Partial<PutObjectCommandInput> = {}) {
  await source().send(
    new PutObjectCommand({
      Bucket: 'rl-source',
      Key: key,
      Body: `body of ${key}`,
      ChecksumAlgorithm: 'CRC32',
      ...extra,
    }),
  );
  await sandbox.settle();
}

async function lockOf(bucket: string, key: string) {
  const head = await west().send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  return {
    mode: head.ObjectLockMode,
    retainUntil: head.ObjectLockRetainUntilDate?.toISOString(),
    legalHold: head.ObjectLockLegalHoldStatus,
    versionId: head.VersionId,
  };
}

const versionsOf = async (bucket: string, key: string) =>
  (await west().send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }))).Versions?.length;

const iso = (ms: number) => new Date(ms).toISOString();
/** A minimum counted from the copy, which the virtual clock places a few milliseconds after the put. */
const minimumOf = (lock: { retainUntil?: string | undefined }, from: number, days: number) =>
  new Date(lock.retainUntil ?? 0).getTime() - (from + days * DAY);
const retain = (key: string, mode: 'GOVERNANCE' | 'COMPLIANCE', until: number, bypass = false) =>
  source().send(
    new PutObjectRetentionCommand({
      Bucket: 'rl-source',
      Key: key,
      Retention: { Mode: mode, RetainUntilDate: new Date(until) },
      ...(bypass ? { BypassGovernanceRetention: true } : {}),
    }),
  );
const hold = (key: string, status: 'ON' | 'OFF') =>
  source().send(
    new PutObjectLegalHoldCommand({ Bucket: 'rl-source', Key: key, LegalHold: { Status: status } }),
  );

describe('Reconcile compares replica locks where a destination has `lock`, and raises them, never lowers', () => {
  it('It should raise a retention the source extended and set a legal hold it placed, on the same replica versions', async () => {
    const written = sandbox.clock.now();
    await put('raise/a.txt', {
      ObjectLockMode: 'GOVERNANCE',
      ObjectLockRetainUntilDate: new Date(written + 10 * DAY),
    });
    const vault = await lockOf('rl-vault', 'raise/a.txt');
    const carry = await lockOf('rl-carry', 'raise/a.txt');
    expect(vault.mode).toBe('COMPLIANCE');
    expect(minimumOf(vault, written, 30)).toBeGreaterThanOrEqual(0);
    expect(minimumOf(vault, written, 30)).toBeLessThan(60_000);
    expect(carry).toMatchObject({ mode: 'GOVERNANCE', retainUntil: iso(written + 10 * DAY) });
    expect(carry.legalHold ?? 'OFF').toBe('OFF');

    // Nothing changed since the copy: nothing to raise (the minimum counted from the write is met).
    sandbox.clock.advance(3_600_000);
    const quiet = (await sandbox.reconcile({ rule: 'raise' })).rules[0];
    expect(quiet).toMatchObject({ scanned: 1, missing: 0, stale: 0, failed: [] });
    expect(quiet?.locksRepaired ?? 0).toBe(0);

    // The source's lock changes: S3 tells nobody, so the replicas keep their old lock until reconcile.
    await retain('raise/a.txt', 'GOVERNANCE', written + 60 * DAY);
    await hold('raise/a.txt', 'ON');
    await sandbox.settle();
    expect(await lockOf('rl-carry', 'raise/a.txt')).toEqual(carry);
    expect(await lockOf('rl-vault', 'raise/a.txt')).toEqual(vault);

    const report = (await sandbox.reconcile({ rule: 'raise' })).rules[0];
    expect(report).toMatchObject({ scanned: 1, missing: 0, stale: 0, sent: 0, failed: [], locksRepaired: 2 });
    // Carried: the source's new date and hold. The vault keeps COMPLIANCE (stronger than the source's
    // GOVERNANCE), extended to the source's later date, and the hold.
    expect(await lockOf('rl-carry', 'raise/a.txt')).toEqual({
      mode: 'GOVERNANCE',
      retainUntil: iso(written + 60 * DAY),
      legalHold: 'ON',
      versionId: carry.versionId,
    });
    expect(await lockOf('rl-vault', 'raise/a.txt')).toEqual({
      mode: 'COMPLIANCE',
      retainUntil: iso(written + 60 * DAY),
      legalHold: 'ON',
      versionId: vault.versionId,
    });
    // Repaired in place, never re-copied.
    expect(await versionsOf('rl-vault', 'raise/a.txt')).toBe(1);
    expect(await versionsOf('rl-carry', 'raise/a.txt')).toBe(1);

    // Repaired once: the next pass finds them as wanted.
    const again = (await sandbox.reconcile({ rule: 'raise' })).rules[0];
    expect(again?.locksRepaired ?? 0).toBe(0);
    expect(again?.locksStronger ?? 0).toBe(0);
  });

  it('It should leave a replica locked more than its source now is, and count it', async () => {
    const written = sandbox.clock.now();
    await put('stronger/b.txt', {
      ObjectLockMode: 'GOVERNANCE',
      ObjectLockRetainUntilDate: new Date(written + 40 * DAY),
      ObjectLockLegalHoldStatus: 'ON',
    });
    const vault = await lockOf('rl-vault', 'stronger/b.txt');
    const carry = await lockOf('rl-carry', 'stronger/b.txt');
    expect(carry).toMatchObject({
      mode: 'GOVERNANCE',
      retainUntil: iso(written + 40 * DAY),
      legalHold: 'ON',
    });
    expect(vault).toMatchObject({
      mode: 'COMPLIANCE',
      retainUntil: iso(written + 40 * DAY),
      legalHold: 'ON',
    });

    // The source is shortened (GOVERNANCE, with the bypass) and released: Ferry never follows that way.
    await retain('stronger/b.txt', 'GOVERNANCE', written + 5 * DAY, true);
    await hold('stronger/b.txt', 'OFF');
    const report = (await sandbox.reconcile({ rule: 'stronger' })).rules[0];
    expect(report).toMatchObject({ scanned: 1, failed: [], locksStronger: 2 });
    expect(report?.locksRepaired ?? 0).toBe(0);
    expect(await lockOf('rl-carry', 'stronger/b.txt')).toEqual(carry);
    expect(await lockOf('rl-vault', 'stronger/b.txt')).toEqual(vault);
  });

  it('It should not renew a minimum that has run out, and lock a replica whose source was locked after it expired', async () => {
    const written = sandbox.clock.now();
    await put('expired/c.txt');
    const vault = await lockOf('rl-vault', 'expired/c.txt');
    expect(vault.mode).toBe('COMPLIANCE');
    expect(minimumOf(vault, written, 30)).toBeGreaterThanOrEqual(0);
    expect(minimumOf(vault, written, 30)).toBeLessThan(60_000);
    expect((await lockOf('rl-carry', 'expired/c.txt')).mode).toBeUndefined();

    sandbox.clock.advance(31 * DAY);
    const lapsed = (await sandbox.reconcile({ rule: 'expired' })).rules[0];
    expect(lapsed).toMatchObject({ scanned: 1, failed: [] });
    expect(lapsed?.locksRepaired ?? 0).toBe(0);

    const until = sandbox.clock.now() + 10 * DAY;
    await retain('expired/c.txt', 'GOVERNANCE', until);
    const report = (await sandbox.reconcile({ rule: 'expired' })).rules[0];
    expect(report).toMatchObject({ failed: [], locksRepaired: 2 });
    // Only the carried retention is in force now: the vault's own minimum was met and has run out.
    expect(await lockOf('rl-vault', 'expired/c.txt')).toMatchObject({
      mode: 'GOVERNANCE',
      retainUntil: iso(until),
    });
    expect(await lockOf('rl-carry', 'expired/c.txt')).toMatchObject({
      mode: 'GOVERNANCE',
      retainUntil: iso(until),
    });
  });
});
