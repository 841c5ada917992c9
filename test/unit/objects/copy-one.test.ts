import { CopyObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createS3ClientFactory } from '#foundation/aws-clients';
import { copyToDestination } from '#objects/copy-one';
import type { SourceObject } from '#objects/event';
import { markersFor } from '#objects/markers';
import { copyDecision, copyOrder } from '#objects/replica-guard';
import { planCopies } from '#objects/router';
import { objectRulesOf } from '#rules/config';
import { configFrom, s3Error } from '#test/support/fixtures';

const s3 = mockClient(S3Client);
afterEach(() => s3.reset());

const rules = objectRulesOf(
  configFrom(`
rules:
  - name: docs
    objects: { bucket: acme-prod, prefix: docs/ }
    to:
      - { bucket: acme-dr, region: us-west-2 }
`),
);
const source: SourceObject = {
  bucket: 'acme-prod',
  key: 'docs/a.txt',
  region: 'us-east-1',
  account: '111122223333',
  size: 19,
  etag: '0123456789abcdef0123456789abcdef',
  versionId: 'v1',
  sequencer: '0055AED6DCD90281E5',
  eventTime: '2026-11-21T18:43:48Z',
};
const [plan] = planCopies(rules, source);
if (!plan) throw new Error('the test rule must match the test object');
const head = { ContentLength: 19, ETag: `"${source.etag}"`, Metadata: {} };
const copy = () => copyToDestination(plan, source, head, undefined, { s3: createS3ClientFactory() });
const current = { Bucket: 'acme-prod', Key: 'docs/a.txt', IfMatch: source.etag };

beforeEach(() => {
  s3.on(HeadObjectCommand, current).resolves({ VersionId: 'v1', ETag: `"${source.etag}"` });
  s3.on(HeadObjectCommand, { Bucket: 'acme-dr' }).rejects(s3Error('NotFound', 404));
  s3.on(CopyObjectCommand).resolves({ CopyObjectResult: { ETag: `"${source.etag}"` } });
});

describe('the fast path of a versioned source', () => {
  it('It should read the source and the replica key side by side, one round trip', async () => {
    // The source's HEAD answers only once the replica's has been asked: read one after the other, the
    // decision would never come.
    let replicaAsked: () => void = () => undefined;
    const asked = new Promise<void>((resolve) => {
      replicaAsked = resolve;
    });
    s3.on(HeadObjectCommand, current).callsFake(async () => {
      await asked;
      return { VersionId: 'v1', ETag: `"${source.etag}"` };
    });
    s3.on(HeadObjectCommand, { Bucket: 'acme-dr' }).callsFake(async () => {
      replicaAsked();
      throw s3Error('NotFound', 404);
    });
    const client = new S3Client({ region: 'us-east-1' });
    await expect(copyDecision({ source: client, destination: client }, plan, source)).resolves.toEqual({
      exists: false,
    });
  });

  it('It should decide source-changed when the source changed, even if the replica could not be read', async () => {
    s3.on(HeadObjectCommand, current).rejects(s3Error('PreconditionFailed', 412));
    s3.on(HeadObjectCommand, { Bucket: 'acme-dr' }).rejects(s3Error('InternalError', 500));
    const client = new S3Client({ region: 'us-east-1', maxAttempts: 1 });
    await expect(copyDecision({ source: client, destination: client }, plan, source)).resolves.toBe(
      'source-changed',
    );
  });

  it('It should copy the current version only if the replica key is still absent', async () => {
    await expect(copy()).resolves.toMatchObject({ status: 'copied' });
    expect(s3).toReceiveCommandWith(HeadObjectCommand, current);
    expect(s3).toReceiveCommandWith(CopyObjectCommand, { IfNoneMatch: '*' });
  });

  it.each([
    ['replaced by a newer version', () => s3.on(HeadObjectCommand, current).resolves({ VersionId: 'v2' })],
    [
      'deleted (a delete marker is current)',
      () => s3.on(HeadObjectCommand, current).rejects(s3Error('NotFound', 404)),
    ],
    [
      'deleted, read without s3:ListBucket',
      () => s3.on(HeadObjectCommand, current).rejects(s3Error('Forbidden', 403)),
    ],
    [
      'overwritten with other bytes',
      () => s3.on(HeadObjectCommand, current).rejects(s3Error('PreconditionFailed', 412)),
    ],
  ])(
    'It should not copy a version that was since %s: no stale replica, no resurrection',
    async (_, change) => {
      change();
      await expect(copy()).resolves.toMatchObject({ status: 'skipped', reason: 'source-changed' });
      expect(s3).not.toReceiveCommand(CopyObjectCommand);
    },
  );
});

describe('the source check against an S3 that ignores If-Match on HEAD', () => {
  it('It should still see from the ETag it answers that the source holds other bytes now', async () => {
    s3.on(HeadObjectCommand, current).resolves({
      VersionId: 'v1',
      ETag: '"ffffffffffffffffffffffffffffffff"',
    });
    await expect(copy()).resolves.toMatchObject({ status: 'skipped', reason: 'source-changed' });
    expect(s3).not.toReceiveCommand(CopyObjectCommand);
  });
});

describe('the order of a copy against the replica (copyOrder)', () => {
  const replica = (sequencer: string, key = source.key) => ({
    exists: true as const,
    etag: '"r"',
    size: 1,
    markers: {
      sourceBucket: 'acme-prod',
      sourceKey: encodeURIComponent(key),
      sourceVersion: undefined,
      sequencer,
      rule: 'docs',
    },
  });

  it('It should keep a later replica, recognise the same one, and overwrite an older one', () => {
    expect(copyOrder(replica('0055AED6DCD90281F0'), source)).toBe('newer-replica');
    expect(copyOrder(replica('0055AED6DCD90281E5'), source)).toBe('up-to-date');
    expect(copyOrder(replica('0055AED6DCD9028100'), source)).toBeUndefined();
  });

  it("It should overwrite nothing, objects Ferry did not write, and another source key's replica", () => {
    expect(copyOrder({ exists: false }, source)).toBeUndefined();
    expect(copyOrder({ exists: true, etag: '"x"', size: 1, markers: undefined }, source)).toBeUndefined();
    expect(copyOrder(replica('FFFFFFFFFFFFFFFFFF', 'docs/b.txt'), source)).toBeUndefined();
    expect(markersFor({ ...source, rule: 'docs' })).toHaveProperty(
      'ferry-source-sequencer',
      source.sequencer,
    );
  });
});

describe('a copy refused for a source under a KMS key (SSE-KMS)', () => {
  const KEY = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
  const kmsHead = { ...head, ServerSideEncryption: 'aws:kms' as const, SSEKMSKeyId: KEY };
  const rulesNaming = (kmsKeys: string) =>
    objectRulesOf(
      configFrom(`
rules:
  - name: docs
    objects: { bucket: acme-prod, prefix: docs/, kmsKeys: [${kmsKeys}] }
    to:
      - { bucket: acme-dr, region: us-west-2 }
`),
    );
  const copyUnder = (kmsRules: typeof rules, sourceHead: typeof head) => {
    const [kmsPlan] = planCopies(kmsRules, source);
    if (!kmsPlan) throw new Error('the test rule must match the test object');
    return copyToDestination(kmsPlan, source, sourceHead, undefined, { s3: createS3ClientFactory() });
  };
  beforeEach(() => {
    s3.on(CopyObjectCommand).rejects(s3Error('AccessDenied', 403));
  });

  it('It should name the key and what to configure when the rule does not name it', async () => {
    const outcome = await copyToDestination(plan, source, kmsHead, undefined, {
      s3: createS3ClientFactory(),
    });
    expect(outcome).toMatchObject({
      status: 'failed',
      error: { class: 'permanent', cause: 'SourceKeyNotConfigured' },
    });
    const message = outcome.status === 'failed' ? outcome.error.message : '';
    expect(message).toContain(KEY);
    expect(message).toContain('objects.kmsKeys');
    expect(message).toContain('rule "docs"');
  });

  it('It should leave the refusal as it is when the rule names the key (its ARN, id or an alias), or the source has none', async () => {
    for (const named of [`'${KEY}'`, '1234abcd-12ab-34cd-56ef-1234567890ab', 'alias/source'])
      expect(await copyUnder(rulesNaming(named), kmsHead), named).toMatchObject({
        status: 'failed',
        error: { cause: 'AccessDenied' },
      });
    expect(await copyUnder(rules, head)).toMatchObject({
      status: 'failed',
      error: { cause: 'AccessDenied' },
    });
  });

  it('It should not name a failure other than a refusal', async () => {
    s3.on(CopyObjectCommand).rejects(s3Error('NoSuchBucket', 404));
    expect(await copyUnder(rules, kmsHead)).toMatchObject({
      status: 'failed',
      error: { cause: 'NoSuchBucket' },
    });
  });
});
