import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetObjectLegalHoldCommand,
  GetObjectLockConfigurationCommand,
  GetObjectRetentionCommand,
  HeadObjectCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectLegalHoldCommand,
  PutObjectLockConfigurationCommand,
  PutObjectRetentionCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { SANDBOX_CREDENTIALS } from '#foundation/sandbox-credentials';
import { refusal, usePlainS3Sandbox } from '#test/support/s3-answers';

/**
 * S3 Object Lock as the sandbox models it (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html):
 * bucket configuration, per-version retention and legal holds, and the deletes they refuse. Retain-until
 * dates are held against the sandbox's virtual clock, which the tests move forward.
 */
const { s3, sandbox } = usePlainS3Sandbox();
const DAY = 86_400_000;
/** A date `ms` after the sandbox's now, in whole seconds (as the SDK sends dates). */
const fromNow = (ms: number) => new Date(Math.ceil((sandbox().clock.now() + ms) / 1000) * 1000);

let buckets = 0;
/** A new bucket created with Object Lock enabled. */
async function lockedBucket(): Promise<string> {
  const Bucket = `lock-${++buckets}`;
  await s3().send(new CreateBucketCommand({ Bucket, ObjectLockEnabledForBucket: true }));
  return Bucket;
}

const put = (
  Bucket: string,
  Key: string,
  more: Partial<ConstructorParameters<typeof PutObjectCommand>[0]> = {},
) => s3().send(new PutObjectCommand({ Bucket, Key, Body: `body of ${Key}`, ...more }));
const head = (Bucket: string, Key: string, VersionId?: string) =>
  s3().send(new HeadObjectCommand({ Bucket, Key, VersionId }));
const retain = (
  Bucket: string,
  Key: string,
  VersionId: string | undefined,
  Mode: 'GOVERNANCE' | 'COMPLIANCE',
  RetainUntilDate: Date,
  BypassGovernanceRetention?: boolean,
) =>
  s3().send(
    new PutObjectRetentionCommand({
      Bucket,
      Key,
      VersionId,
      Retention: { Mode, RetainUntilDate },
      BypassGovernanceRetention,
    }),
  );

describe('sandbox S3 Object Lock: bucket configuration', () => {
  it('It should enable versioning with Object Lock at CreateBucket, and refuse to suspend it (409 InvalidBucketState)', async () => {
    const Bucket = await lockedBucket();
    expect((await s3().send(new GetBucketVersioningCommand({ Bucket }))).Status).toBe('Enabled');
    const config = await s3().send(new GetObjectLockConfigurationCommand({ Bucket }));
    expect(config.ObjectLockConfiguration).toEqual({ ObjectLockEnabled: 'Enabled' });
    expect(
      await refusal(
        s3().send(
          new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: 'Suspended' } }),
        ),
      ),
    ).toEqual({ status: 409, code: 'InvalidBucketState' });
    expect((await s3().send(new GetBucketVersioningCommand({ Bucket }))).Status).toBe('Enabled');
  });

  it('It should answer 404 ObjectLockConfigurationNotFoundError for a bucket without Object Lock', async () => {
    expect(await refusal(s3().send(new GetObjectLockConfigurationCommand({ Bucket: 's3-plain' })))).toEqual({
      status: 404,
      code: 'ObjectLockConfigurationNotFoundError',
    });
  });

  it('It should enable Object Lock on an existing bucket only once its versioning is enabled', async () => {
    const Bucket = 'lock-existing';
    await s3().send(new CreateBucketCommand({ Bucket }));
    const enable = () =>
      s3().send(
        new PutObjectLockConfigurationCommand({
          Bucket,
          ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled' },
        }),
      );
    expect(await refusal(enable())).toEqual({ status: 409, code: 'InvalidBucketState' });
    await s3().send(
      new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: 'Enabled' } }),
    );
    await enable();
    const config = await s3().send(new GetObjectLockConfigurationCommand({ Bucket }));
    expect(config.ObjectLockConfiguration?.ObjectLockEnabled).toBe('Enabled');
  });

  it('It should keep a default retention of a mode and Days or Years, refusing both, neither, or a period below 1', async () => {
    const Bucket = await lockedBucket();
    const configure = (DefaultRetention: {
      Mode?: 'GOVERNANCE' | 'COMPLIANCE';
      Days?: number;
      Years?: number;
    }) =>
      s3().send(
        new PutObjectLockConfigurationCommand({
          Bucket,
          ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention } },
        }),
      );
    await configure({ Mode: 'COMPLIANCE', Years: 2 });
    const config = await s3().send(new GetObjectLockConfigurationCommand({ Bucket }));
    expect(config.ObjectLockConfiguration?.Rule?.DefaultRetention).toEqual({ Mode: 'COMPLIANCE', Years: 2 });
    expect(await refusal(configure({ Mode: 'GOVERNANCE', Days: 1, Years: 1 }))).toEqual({
      status: 400,
      code: 'MalformedXML',
    });
    expect(await refusal(configure({ Mode: 'GOVERNANCE' }))).toEqual({ status: 400, code: 'MalformedXML' });
    expect(await refusal(configure({ Days: 3 }))).toEqual({ status: 400, code: 'MalformedXML' });
    expect(await refusal(configure({ Mode: 'GOVERNANCE', Days: 0 }))).toEqual({
      status: 400,
      code: 'InvalidArgument',
    });
    // The refused configurations changed nothing.
    const after = await s3().send(new GetObjectLockConfigurationCommand({ Bucket }));
    expect(after.ObjectLockConfiguration?.Rule?.DefaultRetention).toEqual({ Mode: 'COMPLIANCE', Years: 2 });
  });
});

describe('sandbox S3 Object Lock: locks on writes', () => {
  it('It should refuse lock headers on a bucket without Object Lock (400 InvalidRequest), on Put, Copy and CreateMultipartUpload', async () => {
    await put('s3-plain', 'plain/source');
    const lock = { ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: fromNow(DAY) } as const;
    expect(await refusal(put('s3-plain', 'plain/locked', lock))).toEqual({
      status: 400,
      code: 'InvalidRequest',
    });
    expect(await refusal(put('s3-plain', 'plain/held', { ObjectLockLegalHoldStatus: 'ON' }))).toEqual({
      status: 400,
      code: 'InvalidRequest',
    });
    expect(
      await refusal(
        s3().send(
          new CopyObjectCommand({
            Bucket: 's3-plain',
            Key: 'plain/copy',
            CopySource: 's3-plain/plain/source',
            ...lock,
          }),
        ),
      ),
    ).toEqual({ status: 400, code: 'InvalidRequest' });
    expect(
      await refusal(
        s3().send(new CreateMultipartUploadCommand({ Bucket: 's3-plain', Key: 'plain/mpu', ...lock })),
      ),
    ).toEqual({ status: 400, code: 'InvalidRequest' });
    expect(await refusal(head('s3-plain', 'plain/locked'))).toEqual({ status: 404, code: 'NotFound' });
  });

  it('It should refuse a mode without a date, a date without a mode, and a date in the past (400 InvalidArgument)', async () => {
    const Bucket = await lockedBucket();
    expect(await refusal(put(Bucket, 'k', { ObjectLockMode: 'GOVERNANCE' }))).toEqual({
      status: 400,
      code: 'InvalidArgument',
    });
    expect(await refusal(put(Bucket, 'k', { ObjectLockRetainUntilDate: fromNow(DAY) }))).toEqual({
      status: 400,
      code: 'InvalidArgument',
    });
    expect(
      await refusal(
        put(Bucket, 'k', { ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: fromNow(-DAY) }),
      ),
    ).toEqual({ status: 400, code: 'InvalidArgument' });
  });

  it('It should require Content-MD5 or a checksum on a PutObject with Object Lock parameters', async () => {
    const Bucket = await lockedBucket();
    // The SDK adds a CRC32 checksum to every PutObject unless told to add one only where S3 requires it.
    const bare = new S3Client({
      region: 'us-east-1',
      endpoint: sandbox().endpoint,
      forcePathStyle: true,
      credentials: SANDBOX_CREDENTIALS,
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
    const lock = { ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: fromNow(DAY) } as const;
    expect(await refusal(bare.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'x', ...lock })))).toEqual({
      status: 400,
      code: 'InvalidRequest',
    });
    // Without lock parameters (and no default retention) none is needed.
    await bare.send(new PutObjectCommand({ Bucket, Key: 'plain', Body: 'x' }));
    const ContentMD5 = createHash('md5').update('x').digest('base64');
    const written = await bare.send(
      new PutObjectCommand({ Bucket, Key: 'k', Body: 'x', ContentMD5, ...lock }),
    );
    expect(written.VersionId).toBeDefined();
    // The bucket's default retention makes every PutObject one with Object Lock parameters.
    await s3().send(
      new PutObjectLockConfigurationCommand({
        Bucket,
        ObjectLockConfiguration: {
          ObjectLockEnabled: 'Enabled',
          Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 1 } },
        },
      }),
    );
    expect(await refusal(bare.send(new PutObjectCommand({ Bucket, Key: 'plain', Body: 'x' })))).toEqual({
      status: 400,
      code: 'InvalidRequest',
    });
    bare.destroy();
  });

  it('It should give a version its lock on PutObject, and return it on HEAD, GET, GetObjectRetention and GetObjectLegalHold', async () => {
    const Bucket = await lockedBucket();
    const until = fromNow(3 * DAY);
    const { VersionId } = await put(Bucket, 'doc', {
      ObjectLockMode: 'COMPLIANCE',
      ObjectLockRetainUntilDate: until,
      ObjectLockLegalHoldStatus: 'ON',
    });
    const headed = await head(Bucket, 'doc');
    expect(headed.ObjectLockMode).toBe('COMPLIANCE');
    expect(headed.ObjectLockRetainUntilDate?.getTime()).toBe(until.getTime());
    expect(headed.ObjectLockLegalHoldStatus).toBe('ON');
    const got = await s3().send(new GetObjectCommand({ Bucket, Key: 'doc', VersionId }));
    expect(got.ObjectLockMode).toBe('COMPLIANCE');
    await got.Body?.transformToString();
    const retention = await s3().send(new GetObjectRetentionCommand({ Bucket, Key: 'doc', VersionId }));
    expect(retention.Retention?.Mode).toBe('COMPLIANCE');
    expect(retention.Retention?.RetainUntilDate?.getTime()).toBe(until.getTime());
    const hold = await s3().send(new GetObjectLegalHoldCommand({ Bucket, Key: 'doc', VersionId }));
    expect(hold.LegalHold?.Status).toBe('ON');
    // A newer version of the key is a separate version with a lock of its own (here none).
    await put(Bucket, 'doc');
    expect((await head(Bucket, 'doc')).ObjectLockMode).toBeUndefined();
    expect((await head(Bucket, 'doc', VersionId)).ObjectLockMode).toBe('COMPLIANCE');
  });

  it('It should apply the bucket default retention to a write that names none, from the version creation time', async () => {
    const Bucket = await lockedBucket();
    await s3().send(
      new PutObjectLockConfigurationCommand({
        Bucket,
        ObjectLockConfiguration: {
          ObjectLockEnabled: 'Enabled',
          Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 2 } },
        },
      }),
    );
    const before = sandbox().clock.now();
    await put(Bucket, 'defaulted');
    const headed = await head(Bucket, 'defaulted');
    expect(headed.ObjectLockMode).toBe('GOVERNANCE');
    const until = headed.ObjectLockRetainUntilDate?.getTime() ?? 0;
    expect(until).toBeGreaterThanOrEqual(before + 2 * DAY - 1000);
    expect(until).toBeLessThanOrEqual(sandbox().clock.now() + 2 * DAY);
    // Explicit settings override the default.
    const explicit = fromNow(5 * DAY);
    await put(Bucket, 'explicit', { ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: explicit });
    expect((await head(Bucket, 'explicit')).ObjectLockMode).toBe('COMPLIANCE');
    // A copy takes the destination's default, not its source's lock.
    await s3().send(new CopyObjectCommand({ Bucket, Key: 'copied', CopySource: `${Bucket}/explicit` }));
    expect((await head(Bucket, 'copied')).ObjectLockMode).toBe('GOVERNANCE');
  });

  it('It should give a CopyObject the lock its request names', async () => {
    const Bucket = await lockedBucket();
    await put('s3-plain', 'copy/source');
    const until = fromNow(DAY);
    await s3().send(
      new CopyObjectCommand({
        Bucket,
        Key: 'copy',
        CopySource: 's3-plain/copy/source',
        ObjectLockMode: 'GOVERNANCE',
        ObjectLockRetainUntilDate: until,
        ObjectLockLegalHoldStatus: 'OFF',
      }),
    );
    const headed = await head(Bucket, 'copy');
    expect(headed.ObjectLockMode).toBe('GOVERNANCE');
    expect(headed.ObjectLockRetainUntilDate?.getTime()).toBe(until.getTime());
    expect(headed.ObjectLockLegalHoldStatus).toBe('OFF');
  });

  it('It should apply at CompleteMultipartUpload the lock CreateMultipartUpload set', async () => {
    const Bucket = await lockedBucket();
    const until = fromNow(DAY);
    const { UploadId } = await s3().send(
      new CreateMultipartUploadCommand({
        Bucket,
        Key: 'mpu',
        ObjectLockMode: 'COMPLIANCE',
        ObjectLockRetainUntilDate: until,
        ObjectLockLegalHoldStatus: 'ON',
      }),
    );
    const part = await s3().send(
      new UploadPartCommand({ Bucket, Key: 'mpu', UploadId, PartNumber: 1, Body: 'x' }),
    );
    const done = await s3().send(
      new CompleteMultipartUploadCommand({
        Bucket,
        Key: 'mpu',
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
      }),
    );
    const headed = await head(Bucket, 'mpu', done.VersionId);
    expect(headed.ObjectLockMode).toBe('COMPLIANCE');
    expect(headed.ObjectLockRetainUntilDate?.getTime()).toBe(until.getTime());
    expect(headed.ObjectLockLegalHoldStatus).toBe('ON');
    expect(
      await refusal(s3().send(new DeleteObjectCommand({ Bucket, Key: 'mpu', VersionId: done.VersionId }))),
    ).toEqual({ status: 403, code: 'AccessDenied' });
  });
});

describe('sandbox S3 Object Lock: retention and legal hold changes', () => {
  it('It should refuse retention and legal-hold requests on a bucket without Object Lock (400 InvalidRequest)', async () => {
    await put('s3-plain', 'plain/r');
    expect(await refusal(retain('s3-plain', 'plain/r', undefined, 'GOVERNANCE', fromNow(DAY)))).toEqual({
      status: 400,
      code: 'InvalidRequest',
    });
    expect(
      await refusal(s3().send(new GetObjectRetentionCommand({ Bucket: 's3-plain', Key: 'plain/r' }))),
    ).toEqual({ status: 400, code: 'InvalidRequest' });
    expect(
      await refusal(
        s3().send(
          new PutObjectLegalHoldCommand({ Bucket: 's3-plain', Key: 'plain/r', LegalHold: { Status: 'ON' } }),
        ),
      ),
    ).toEqual({ status: 400, code: 'InvalidRequest' });
  });

  it('It should answer 404 NoSuchObjectLockConfiguration for a version with no retention or no legal hold', async () => {
    const Bucket = await lockedBucket();
    await put(Bucket, 'bare');
    expect(await refusal(s3().send(new GetObjectRetentionCommand({ Bucket, Key: 'bare' })))).toEqual({
      status: 404,
      code: 'NoSuchObjectLockConfiguration',
    });
    expect(await refusal(s3().send(new GetObjectLegalHoldCommand({ Bucket, Key: 'bare' })))).toEqual({
      status: 404,
      code: 'NoSuchObjectLockConfiguration',
    });
  });

  it('It should let GOVERNANCE be extended by anyone, shortened or removed only with the bypass header', async () => {
    const Bucket = await lockedBucket();
    const { VersionId } = await put(Bucket, 'gov');
    await retain(Bucket, 'gov', VersionId, 'GOVERNANCE', fromNow(2 * DAY));
    await retain(Bucket, 'gov', VersionId, 'GOVERNANCE', fromNow(4 * DAY));
    expect(await refusal(retain(Bucket, 'gov', VersionId, 'GOVERNANCE', fromNow(DAY)))).toEqual({
      status: 403,
      code: 'AccessDenied',
    });
    const shorter = fromNow(DAY);
    await retain(Bucket, 'gov', VersionId, 'GOVERNANCE', shorter, true);
    const retention = await s3().send(new GetObjectRetentionCommand({ Bucket, Key: 'gov', VersionId }));
    expect(retention.Retention?.RetainUntilDate?.getTime()).toBe(shorter.getTime());
    const remove = (BypassGovernanceRetention: boolean) =>
      s3().send(
        new PutObjectRetentionCommand({
          Bucket,
          Key: 'gov',
          VersionId,
          Retention: {},
          BypassGovernanceRetention,
        }),
      );
    expect(await refusal(remove(false))).toEqual({ status: 403, code: 'AccessDenied' });
    await remove(true);
    expect(
      await refusal(s3().send(new GetObjectRetentionCommand({ Bucket, Key: 'gov', VersionId }))),
    ).toEqual({
      status: 404,
      code: 'NoSuchObjectLockConfiguration',
    });
    expect(await refusal(retain(Bucket, 'gov', VersionId, 'GOVERNANCE', fromNow(-DAY)))).toEqual({
      status: 400,
      code: 'InvalidArgument',
    });
  });

  it('It should let COMPLIANCE only be extended: never shortened nor turned into GOVERNANCE, bypass or not', async () => {
    const Bucket = await lockedBucket();
    const { VersionId } = await put(Bucket, 'comp', {
      ObjectLockMode: 'COMPLIANCE',
      ObjectLockRetainUntilDate: fromNow(2 * DAY),
    });
    const longer = fromNow(3 * DAY);
    await retain(Bucket, 'comp', VersionId, 'COMPLIANCE', longer);
    expect(await refusal(retain(Bucket, 'comp', VersionId, 'COMPLIANCE', fromNow(DAY), true))).toEqual({
      status: 403,
      code: 'AccessDenied',
    });
    expect(await refusal(retain(Bucket, 'comp', VersionId, 'GOVERNANCE', fromNow(5 * DAY), true))).toEqual({
      status: 403,
      code: 'AccessDenied',
    });
    const retention = await s3().send(new GetObjectRetentionCommand({ Bucket, Key: 'comp', VersionId }));
    expect(retention.Retention).toEqual({ Mode: 'COMPLIANCE', RetainUntilDate: longer });
  });
});

describe('sandbox S3 Object Lock: deletes', () => {
  it('It should refuse deleting a COMPLIANCE version until its date passes on the clock, and allow a delete marker meanwhile', async () => {
    const Bucket = await lockedBucket();
    const { VersionId } = await put(Bucket, 'kept', {
      ObjectLockMode: 'COMPLIANCE',
      ObjectLockRetainUntilDate: fromNow(DAY),
    });
    const deleteVersion = (BypassGovernanceRetention?: boolean) =>
      s3().send(new DeleteObjectCommand({ Bucket, Key: 'kept', VersionId, BypassGovernanceRetention }));
    expect(await refusal(deleteVersion())).toEqual({ status: 403, code: 'AccessDenied' });
    expect(await refusal(deleteVersion(true))).toEqual({ status: 403, code: 'AccessDenied' });
    const marker = await s3().send(new DeleteObjectCommand({ Bucket, Key: 'kept' }));
    expect(marker.DeleteMarker).toBe(true);
    expect((await head(Bucket, 'kept', VersionId)).ObjectLockMode).toBe('COMPLIANCE');
    sandbox().clock.advance(DAY + 1000);
    const deleted = await deleteVersion();
    expect(deleted.VersionId).toBe(VersionId);
    expect(await refusal(head(Bucket, 'kept', VersionId))).toEqual({ status: 404, code: 'NotFound' });
  });

  it('It should delete a GOVERNANCE version only with the bypass header', async () => {
    const Bucket = await lockedBucket();
    const { VersionId } = await put(Bucket, 'gov', {
      ObjectLockMode: 'GOVERNANCE',
      ObjectLockRetainUntilDate: fromNow(DAY),
    });
    expect(await refusal(s3().send(new DeleteObjectCommand({ Bucket, Key: 'gov', VersionId })))).toEqual({
      status: 403,
      code: 'AccessDenied',
    });
    await s3().send(
      new DeleteObjectCommand({ Bucket, Key: 'gov', VersionId, BypassGovernanceRetention: true }),
    );
    expect(await refusal(head(Bucket, 'gov', VersionId))).toEqual({ status: 404, code: 'NotFound' });
  });

  it('It should hold a version under legal hold, bypass or not, until the hold is OFF', async () => {
    const Bucket = await lockedBucket();
    const { VersionId } = await put(Bucket, 'held');
    const hold = (Status: 'ON' | 'OFF') =>
      s3().send(new PutObjectLegalHoldCommand({ Bucket, Key: 'held', VersionId, LegalHold: { Status } }));
    await hold('ON');
    const deleteVersion = () =>
      s3().send(new DeleteObjectCommand({ Bucket, Key: 'held', VersionId, BypassGovernanceRetention: true }));
    expect(await refusal(deleteVersion())).toEqual({ status: 403, code: 'AccessDenied' });
    await hold('OFF');
    expect(
      (await s3().send(new GetObjectLegalHoldCommand({ Bucket, Key: 'held', VersionId }))).LegalHold,
    ).toEqual({
      Status: 'OFF',
    });
    await deleteVersion();
    expect(await refusal(head(Bucket, 'held', VersionId))).toEqual({ status: 404, code: 'NotFound' });
  });

  it('It should report each locked version of a DeleteObjects as its own AccessDenied error, and delete the rest', async () => {
    const Bucket = await lockedBucket();
    const locked = await put(Bucket, 'a', {
      ObjectLockMode: 'COMPLIANCE',
      ObjectLockRetainUntilDate: fromNow(DAY),
    });
    const governed = await put(Bucket, 'b', {
      ObjectLockMode: 'GOVERNANCE',
      ObjectLockRetainUntilDate: fromNow(DAY),
    });
    const free = await put(Bucket, 'c');
    const objects = [
      { Key: 'a', VersionId: locked.VersionId },
      { Key: 'b', VersionId: governed.VersionId },
      { Key: 'c', VersionId: free.VersionId },
    ];
    const first = await s3().send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: objects } }));
    expect(first.Errors?.map((error) => [error.Key, error.Code])).toEqual([
      ['a', 'AccessDenied'],
      ['b', 'AccessDenied'],
    ]);
    expect(first.Deleted?.map((deleted) => deleted.Key)).toEqual(['c']);
    const bypassed = await s3().send(
      new DeleteObjectsCommand({
        Bucket,
        Delete: { Objects: objects.slice(0, 2) },
        BypassGovernanceRetention: true,
      }),
    );
    expect(bypassed.Errors?.map((error) => error.Key)).toEqual(['a']);
    expect(bypassed.Deleted?.map((deleted) => deleted.Key)).toEqual(['b']);
    expect((await head(Bucket, 'a', locked.VersionId)).ObjectLockMode).toBe('COMPLIANCE');
  });
});

const hasAwsCli = spawnSync('aws', ['--version'], { encoding: 'utf8' }).status === 0;

describe.runIf(hasAwsCli)('sandbox S3 Object Lock through the AWS CLI', () => {
  // Asynchronous: the sandbox answers from this very process, so a blocking call would deadlock.
  const aws = async (...args: string[]) => {
    try {
      const { stdout } = await promisify(execFile)(
        'aws',
        ['--endpoint-url', sandbox().endpoint, '--region', 'us-east-1', '--output', 'json', ...args],
        {
          encoding: 'utf8',
          env: {
            ...process.env,
            AWS_ACCESS_KEY_ID: SANDBOX_CREDENTIALS.accessKeyId,
            AWS_SECRET_ACCESS_KEY: SANDBOX_CREDENTIALS.secretAccessKey,
            AWS_CONFIG_FILE: '/dev/null',
            AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
          },
        },
      );
      return { ok: true, out: stdout };
    } catch (error) {
      return { ok: false, out: String((error as { stderr?: string }).stderr ?? error) };
    }
  };

  it("It should lock a version put with `s3api put-object --object-lock-*`, and refuse its deletion with AWS's message", async () => {
    expect(
      (await aws('s3api', 'create-bucket', '--bucket', 'lock-cli', '--object-lock-enabled-for-bucket')).ok,
    ).toBe(true);
    const until = fromNow(DAY).toISOString();
    const put = await aws(
      's3api',
      'put-object',
      '--bucket',
      'lock-cli',
      '--key',
      'evidence.txt',
      '--object-lock-mode',
      'COMPLIANCE',
      '--object-lock-retain-until-date',
      until,
    );
    expect(put.ok).toBe(true);
    const { VersionId } = JSON.parse(put.out) as { VersionId: string };
    const retention = await aws(
      's3api',
      'get-object-retention',
      '--bucket',
      'lock-cli',
      '--key',
      'evidence.txt',
    );
    expect(JSON.parse(retention.out).Retention.Mode).toBe('COMPLIANCE');
    const refused = await aws(
      's3api',
      'delete-object',
      '--bucket',
      'lock-cli',
      '--key',
      'evidence.txt',
      // One argument with `=`: a version id may begin with '-' (the sandbox's are base64url), which the CLI's
      // parser would otherwise take for an option.
      `--version-id=${VersionId}`,
      '--bypass-governance-retention',
    );
    expect(refused.ok).toBe(false);
    expect(refused.out).toContain(
      'An error occurred (AccessDenied) when calling the DeleteObject operation: Access Denied because object protected by object lock.',
    );
  });
});
