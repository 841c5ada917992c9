import {
  DeleteObjectCommand,
  GetObjectLockConfigurationCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  type PutObjectCommandInput,
  PutObjectLockConfigurationCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Delivery } from '#local/event-bus';
import { type Sandbox, startSandbox } from '#local/sandbox';
import type { Execution } from '#local/step-functions';
import type { Outcome, Report } from '#objects/outcomes';
import { configFrom } from '#test/support/fixtures';

/**
 * Object Lock on replicas, end to end: the real object-created and object-deleted handlers and the real
 * object-copy state machine against the sandbox's S3 Object Lock model (local/s3/object-lock.ts), on the
 * virtual clock both Ferry and the sandbox's S3 count retention from.
 */

const MiB = 1024 * 1024;
const DAY = 86_400_000;

const CONFIG = configFrom(`
copy: { multipartThreshold: 8388608, partSize: 5242880, partConcurrency: 4 }
rules:
  - name: locked
    objects: { bucket: ol-source }
    to:
      - bucket: ol-vault
        region: us-west-2
        lock: { mode: COMPLIANCE, days: 30 }
        replicateDeletes: true
      - { bucket: ol-carry, region: us-west-2, lock: {} }
      - { bucket: ol-unlocked, region: us-west-2, lock: { mode: GOVERNANCE, days: 1 } }
      - { bucket: ol-plain, region: eu-west-1 }
`);

let sandbox: Sandbox;
const deliveries: Delivery[] = [];
const ended: Execution[] = [];
const source = () => sandbox.s3('us-east-1');
const dr = () => sandbox.s3('us-west-2');
const eu = () => sandbox.s3('eu-west-1');

/** Object Lock on an existing bucket: versioning first, then the configuration (object-lock-configure.html). */
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
  sandbox = await startSandbox({
    config: CONFIG,
    port: 0,
    onDelivery: (delivery) => deliveries.push(delivery),
    onExecutionEnd: (execution) => ended.push(execution),
  });
  await enableObjectLock(source(), 'ol-source');
  await enableObjectLock(dr(), 'ol-vault');
  await enableObjectLock(dr(), 'ol-carry');
  // ol-unlocked: versioned, but without Object Lock; ol-plain: neither, and its destination asks no lock.
  await dr().send(
    new PutBucketVersioningCommand({ Bucket: 'ol-unlocked', VersioningConfiguration: { Status: 'Enabled' } }),
  );
});
afterAll(() => sandbox.stop());

const bytesOf = (size: number, seed: number) => {
  const buffer = Buffer.alloc(size);
  for (let i = 0; i < size; i += 4096) buffer[i] = (i / 4096 + seed) % 251;
  return buffer;
};

async function put(key: string, body: Buffer | string, extra: Partial<PutObjectCommandInput> = {}) {
  await source().send(
    new PutObjectCommand({ Bucket: 'ol-source', Key: key, Body: body, ChecksumAlgorithm: 'CRC32', ...extra }),
  );
  await sandbox.settle();
}

async function lockOf(client: S3Client, bucket: string, key: string) {
  const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  return {
    mode: head.ObjectLockMode,
    retainUntil: head.ObjectLockRetainUntilDate?.toISOString(),
    legalHold: head.ObjectLockLegalHoldStatus,
    versionId: head.VersionId,
  };
}

async function missing(client: S3Client, bucket: string, key: string) {
  return client
    .send(new HeadObjectCommand({ Bucket: bucket, Key: key }))
    .then(() => false)
    .catch((error: { $metadata?: { httpStatusCode?: number } }) => error.$metadata?.httpStatusCode === 404);
}

const outcomesFor = (key: string): Outcome[] =>
  deliveries.flatMap((d) =>
    (d.result as Report | undefined)?.source === `s3://ol-source/${key}` ? (d.result as Report).outcomes : [],
  );

const outcomeAt = (key: string, bucket: string) =>
  outcomesFor(key).filter((o) => o.target === `s3://${bucket}/${key}`);

/** A retain-until date S3 keeps to the second at most; compared as ISO strings. */
const iso = (ms: number) => new Date(ms).toISOString();

describe('Object Lock on replicas (issue 15 §1)', () => {
  it('It should carry the source version’s lock to a single-copy replica, and take the stronger lock where the destination demands one', async () => {
    const key = 'single/report.pdf';
    const sourceUntil = Math.ceil((sandbox.clock.now() + 90 * DAY) / 1000) * 1000;
    await put(key, 'locked at the source', {
      ObjectLockMode: 'GOVERNANCE',
      ObjectLockRetainUntilDate: new Date(sourceUntil),
      ObjectLockLegalHoldStatus: 'ON',
    });

    // The destination's minimum (COMPLIANCE, 30 days) is the stronger mode; the source's date is later.
    expect(await lockOf(dr(), 'ol-vault', key)).toMatchObject({
      mode: 'COMPLIANCE',
      retainUntil: iso(sourceUntil),
      legalHold: 'ON',
    });
    // Carried as it is.
    expect(await lockOf(dr(), 'ol-carry', key)).toMatchObject({
      mode: 'GOVERNANCE',
      retainUntil: iso(sourceUntil),
      legalHold: 'ON',
    });
    // A destination without `lock` gets none, and is written as before.
    expect(await lockOf(eu(), 'ol-plain', key)).toMatchObject({ mode: undefined, legalHold: undefined });
    expect(outcomeAt(key, 'ol-plain')).toMatchObject([{ status: 'copied' }]);
  });

  it('It should lock a replica by the destination’s minimum when the source has no lock', async () => {
    const key = 'single/unlocked.txt';
    const before = sandbox.clock.now();
    await put(key, 'no lock at the source');
    const after = sandbox.clock.now();

    const vault = await lockOf(dr(), 'ol-vault', key);
    expect(vault.mode).toBe('COMPLIANCE');
    const until = Date.parse(vault.retainUntil ?? '');
    expect(until).toBeGreaterThanOrEqual(before + 30 * DAY - 1000);
    expect(until).toBeLessThanOrEqual(after + 30 * DAY + 1000);
    expect(vault.legalHold).toBeUndefined();
    // `lock: {}` only carries the source's lock: there is none.
    expect(await lockOf(dr(), 'ol-carry', key)).toMatchObject({ mode: undefined, retainUntil: undefined });
  });

  it('It should fail a destination without Object Lock as ObjectLockNotEnabled, writing nothing there, and copy the others', async () => {
    const key = 'single/needs-a-vault.txt';
    await put(key, 'the lock must hold');

    expect(outcomeAt(key, 'ol-unlocked')).toMatchObject([
      { status: 'failed', error: { class: 'permanent', cause: 'ObjectLockNotEnabled' } },
    ]);
    expect(await missing(dr(), 'ol-unlocked', key)).toBe(true);
    expect(outcomeAt(key, 'ol-vault')).toMatchObject([{ status: 'copied' }]);
    expect(outcomeAt(key, 'ol-plain')).toMatchObject([{ status: 'copied' }]);
    // What Ferry asked: the bucket's Object Lock configuration, which it has not.
    await expect(
      dr().send(new GetObjectLockConfigurationCommand({ Bucket: 'ol-unlocked' })),
    ).rejects.toMatchObject({ name: 'ObjectLockConfigurationNotFoundError' });
  });

  it('It should set the same lock at CreateMultipartUpload on the multipart path, and leave no upload where Object Lock is missing', async () => {
    const key = 'multipart/big.bin';
    const sourceUntil = Math.ceil((sandbox.clock.now() + 400 * DAY) / 1000) * 1000;
    await put(key, bytesOf(12 * MiB, 3), {
      ObjectLockMode: 'GOVERNANCE',
      ObjectLockRetainUntilDate: new Date(sourceUntil),
    });

    const runs = ended.filter((e) => (e.input as { source: { key: string } }).source.key === key);
    expect(runs.map((run) => run.status).sort()).toEqual(['FAILED', 'SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
    expect(await lockOf(dr(), 'ol-vault', key)).toMatchObject({
      mode: 'COMPLIANCE',
      retainUntil: iso(sourceUntil),
    });
    expect(await lockOf(dr(), 'ol-carry', key)).toMatchObject({
      mode: 'GOVERNANCE',
      retainUntil: iso(sourceUntil),
    });
    expect(await lockOf(eu(), 'ol-plain', key)).toMatchObject({ mode: undefined });

    const failedRun = runs.find((run) => run.status === 'FAILED');
    expect(`${failedRun?.error?.Error} ${failedRun?.error?.Cause}`).toContain('ObjectLockNotEnabled');
    expect(await missing(dr(), 'ol-unlocked', key)).toBe(true);
    const { Uploads = [] } = await dr().send(new ListMultipartUploadsCommand({ Bucket: 'ol-unlocked' }));
    expect(Uploads).toEqual([]);
  });

  it('It should keep a locked replica’s version when the source is deleted: a delete marker, and S3 refuses deleting the version', async () => {
    const key = 'delete/kept.txt';
    await put(key, 'a DR copy nobody can delete');
    const locked = await lockOf(dr(), 'ol-vault', key);
    expect(locked.mode).toBe('COMPLIANCE');

    await source().send(new DeleteObjectCommand({ Bucket: 'ol-source', Key: key }));
    await sandbox.settle();

    expect(outcomeAt(key, 'ol-vault')).toContainEqual(
      expect.objectContaining({ status: 'deleted', lockedVersionKept: true }),
    );
    // The key now shows a delete marker; the locked version is still there, and cannot be removed.
    expect(await missing(dr(), 'ol-vault', key)).toBe(true);
    const { Versions = [], DeleteMarkers = [] } = await dr().send(
      new ListObjectVersionsCommand({ Bucket: 'ol-vault', Prefix: key }),
    );
    expect(Versions.map((v) => v.VersionId)).toContain(locked.versionId);
    expect(DeleteMarkers).toHaveLength(1);
    await expect(
      dr().send(new DeleteObjectCommand({ Bucket: 'ol-vault', Key: key, VersionId: locked.versionId })),
    ).rejects.toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    // Even in GOVERNANCE mode a bypass would not help: the replica is COMPLIANCE.
    await expect(
      dr().send(
        new DeleteObjectCommand({
          Bucket: 'ol-vault',
          Key: key,
          VersionId: locked.versionId,
          BypassGovernanceRetention: true,
        }),
      ),
    ).rejects.toMatchObject({ $metadata: { httpStatusCode: 403 } });
  });
});
