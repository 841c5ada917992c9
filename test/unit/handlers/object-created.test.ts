import { CopyObjectCommand, GetObjectTaggingCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CopyAttemptsExhaustedError } from '#adapters/execution-attempts';
import { createS3ClientFactory } from '#foundation/aws-clients';
import type { CopyStarter } from '#objects/copy-machine/contract';
import { createObjectCreatedHandler } from '#objects/handlers/object-created';
import type { Report } from '#objects/outcomes';
import { configFrom, lambdaContext, recordingDeps, s3Error, s3Event } from '#test/support/fixtures';

const s3 = mockClient(S3Client);

const SOURCE_HEAD = {
  ETag: '"b1946ac92492d2347c6235b4d2611184"',
  ContentLength: 5576,
  ContentType: 'application/pdf',
  CacheControl: 'max-age=60',
  ContentDisposition: 'inline',
  ContentEncoding: 'identity',
  ContentLanguage: 'de',
  Metadata: { owner: 'finance' },
  StorageClass: 'STANDARD_IA' as const,
  TagCount: 2,
};

function setup(yaml: string) {
  const recorded = recordingDeps(configFrom(yaml), createS3ClientFactory());
  const handler = createObjectCreatedHandler(recorded.tools, recorded.deps);
  const invoke = (event: unknown) => handler(event as never, lambdaContext) as Promise<Report>;
  return { ...recorded, invoke };
}

const ONE_DESTINATION = `
rules:
  - name: invoices
    objects: { bucket: acme-prod, prefix: invoices/ }
    to:
      - { bucket: acme-dr, region: us-west-2 }
`;

beforeEach(() => {
  s3.on(HeadObjectCommand).resolves(SOURCE_HEAD);
  s3.on(CopyObjectCommand).resolves({ CopyObjectResult: { ETag: '"b1946ac92492d2347c6235b4d2611184"' } });
  s3.on(GetObjectTaggingCommand).resolves({
    TagSet: [
      { Key: 'dr', Value: 'true' },
      { Key: 'team', Value: 'ap' },
    ],
  });
});
afterEach(() => s3.reset());

describe('object-created handler', () => {
  it('It should copy the exact object of the event with metadata, content headers and markers', async () => {
    const { invoke, metrics } = setup(ONE_DESTINATION);
    const report = await invoke(s3Event('object-created'));

    expect(report.outcomes).toEqual([
      expect.objectContaining({ status: 'copied', target: 's3://acme-dr/invoices/2026/q3 report ü+1.pdf' }),
    ]);
    expect(s3).toReceiveCommandWith(HeadObjectCommand, {
      Bucket: 'acme-prod',
      Key: 'invoices/2026/q3 report ü+1.pdf',
      IfMatch: 'b1946ac92492d2347c6235b4d2611184',
      ExpectedBucketOwner: '111122223333',
    });
    expect(s3).toReceiveCommandExactlyOnceWith(CopyObjectCommand, {
      Bucket: 'acme-dr',
      Key: 'invoices/2026/q3 report ü+1.pdf',
      CopySource: 'acme-prod/invoices/2026/q3%20report%20%C3%BC%2B1.pdf',
      CopySourceIfMatch: 'b1946ac92492d2347c6235b4d2611184',
      ExpectedSourceBucketOwner: '111122223333',
      MetadataDirective: 'REPLACE',
      Metadata: {
        owner: 'finance',
        'ferry-source-bucket': 'acme-prod',
        'ferry-source-key': 'invoices%2F2026%2Fq3%20report%20%C3%BC%2B1.pdf',
        'ferry-source-sequencer': '00617F08299329D189',
        'ferry-rule': 'invoices',
        'ferry-source-etag': 'b1946ac92492d2347c6235b4d2611184',
      },
      ContentType: 'application/pdf',
      CacheControl: 'max-age=60',
      ContentDisposition: 'inline',
      ContentEncoding: 'identity',
      ContentLanguage: 'de',
      TaggingDirective: 'COPY',
      StorageClass: 'STANDARD_IA',
    });
    const copy = s3.commandCalls(CopyObjectCommand)[0]?.args[0].input;
    expect(copy).not.toHaveProperty('ACL');
    expect(copy).not.toHaveProperty('IfNoneMatch');
    expect(s3).not.toReceiveCommand(GetObjectTaggingCommand);
    expect(metrics.copied).toHaveBeenCalledWith('invoices', 5576, 2000);
  });

  it('It should apply every destination option to its own CopyObject', async () => {
    const { invoke } = setup(`
rules:
  - name: fan-out
    objects: { bucket: acme-prod, prefix: invoices/ }
    to:
      - bucket: acme-dr
        region: us-west-2
        keyPrefix: mirror/
        storageClass: GLACIER_IR
        encryption: { sse: aws:kms, kmsKeyId: alias/dr }
        metadata: { copy: false, set: { tier: cold } }
        tags: { copy: false, set: { copy: dr } }
      - bucket: partner-dr
        region: eu-west-1
        account: "222233334444"
        roleArn: arn:aws:iam::222233334444:role/ferry-writer
        externalId: acme-ferry-7f3a9c
        encryption: { sse: AES256 }
        tags: { set: { origin: acme } }
`);
    await invoke(s3Event('object-created'));

    expect(s3).toReceiveCommandWith(CopyObjectCommand, {
      Bucket: 'acme-dr',
      Key: 'mirror/2026/q3 report ü+1.pdf',
      StorageClass: 'GLACIER_IR',
      ServerSideEncryption: 'aws:kms',
      SSEKMSKeyId: 'alias/dr',
      BucketKeyEnabled: true,
      Metadata: expect.not.objectContaining({ owner: 'finance' }),
      TaggingDirective: 'REPLACE',
      Tagging: 'copy=dr',
    });
    expect(s3).toReceiveCommandWith(CopyObjectCommand, {
      Bucket: 'partner-dr',
      ExpectedBucketOwner: '222233334444',
      ACL: 'bucket-owner-full-control',
      ServerSideEncryption: 'AES256',
      StorageClass: 'STANDARD_IA',
      Metadata: expect.objectContaining({ owner: 'finance', 'ferry-rule': 'fan-out' }),
      TaggingDirective: 'REPLACE',
      Tagging: 'dr=true&team=ap&origin=acme',
    });
    const kmsCopy = s3.commandCalls(CopyObjectCommand).find((c) => c.args[0].input.Bucket === 'acme-dr');
    expect(kmsCopy?.args[0].input.Metadata).toHaveProperty('tier', 'cold');
    // Tags were read once for the destination that adds to copied tags, not per destination.
    expect(s3).toReceiveCommandTimes(GetObjectTaggingCommand, 1);
  });

  it('It should read tags only when a matching rule filters on them, and skip a non-matching object', async () => {
    const { invoke } = setup(`
rules:
  - name: tagged
    objects: { bucket: acme-prod, prefix: invoices/, tags: { dr: "false" } }
    to: [ { bucket: acme-dr, region: us-west-2 } ]
`);
    const report = await invoke(s3Event('object-created'));
    expect(s3).toReceiveCommandTimes(GetObjectTaggingCommand, 1);
    expect(s3).not.toReceiveCommand(CopyObjectCommand);
    expect(report.outcomes).toEqual([]);
  });

  it('It should skip when the source changed since the event (412), without failing', async () => {
    s3.on(CopyObjectCommand).rejects(s3Error('PreconditionFailed', 412));
    const { invoke, metrics, log } = setup(ONE_DESTINATION);
    const report = await invoke(s3Event('object-created'));
    expect(report.outcomes).toEqual([
      expect.objectContaining({ status: 'skipped', reason: 'source-changed' }),
    ]);
    expect(metrics.skipped).toHaveBeenCalledWith('invoices', 'source-changed');
    expect(metrics.failed).not.toHaveBeenCalled();
    expect(log.debug).toHaveBeenCalledWith('Skipped: source-changed', expect.any(Object));
  });

  it('It should skip every destination when HeadObject already sees a newer object (412)', async () => {
    s3.on(HeadObjectCommand).rejects(s3Error('412', 412));
    const { invoke } = setup(ONE_DESTINATION);
    const report = await invoke(s3Event('object-created'));
    expect(report.outcomes).toEqual([
      expect.objectContaining({ status: 'skipped', reason: 'source-changed' }),
    ]);
    expect(s3).not.toReceiveCommand(CopyObjectCommand);
  });

  it('It should throw for a retry when a copy resolves without an ETag (an embedded error the SDK missed)', async () => {
    s3.on(CopyObjectCommand).resolves({ CopyObjectResult: {} });
    const { invoke, metrics } = setup(ONE_DESTINATION);
    await expect(invoke(s3Event('object-created'))).rejects.toMatchObject({
      name: 'RetryableReplicationError',
      message: expect.stringContaining('CopyResultMissingETagError'),
    });
    expect(metrics.failed).toHaveBeenCalledWith('invoices', 'CopyResultMissingETagError');
  });

  it('It should throw for a retry when the replica ETag differs from the source', async () => {
    s3.on(CopyObjectCommand).resolves({ CopyObjectResult: { ETag: '"0000"' } });
    const { invoke } = setup(ONE_DESTINATION);
    await expect(invoke(s3Event('object-created'))).rejects.toThrow(/ReplicaVerificationError/);
  });

  it('It should throw for a retry on throttling that outlasted the SDK, after trying every destination', async () => {
    s3.on(CopyObjectCommand, { Bucket: 'acme-dr' }).rejects(s3Error('SlowDown', 503));
    const { invoke } = setup(`
rules:
  - name: two
    objects: { bucket: acme-prod }
    to: [ { bucket: acme-dr, region: us-west-2 }, { bucket: acme-eu, region: eu-west-1 } ]
`);
    const failure = await invoke(s3Event('object-created')).catch((error: { report: Report }) => error);
    expect((failure as { report: Report }).report.outcomes.map((o) => o.status).sort()).toEqual([
      'copied',
      'failed',
    ]);
  });

  it('It should skip, not fail, a source deleted since the event (404 on its read or its copy): never copied', async () => {
    s3.on(CopyObjectCommand).rejects(s3Error('NoSuchKey', 404));
    const { invoke, metrics } = setup(ONE_DESTINATION);
    expect((await invoke(s3Event('object-created'))).outcomes).toEqual([
      expect.objectContaining({ status: 'skipped', reason: 'source-changed' }),
    ]);
    s3.on(HeadObjectCommand).rejects(s3Error('NotFound', 404));
    expect((await invoke(s3Event('object-created'))).outcomes).toEqual([
      expect.objectContaining({ status: 'skipped', reason: 'source-changed' }),
    ]);
    expect(metrics.failed).not.toHaveBeenCalled();
  });

  it.each([
    ['AccessDenied', 403],
    ['NoSuchBucket', 404],
    ['InvalidObjectState', 403],
    ['KMS.NotFoundException', 400],
  ])('It should log and count %s as a permanent failure without throwing', async (name, status) => {
    s3.on(CopyObjectCommand).rejects(s3Error(name, status));
    const { invoke, metrics, log } = setup(ONE_DESTINATION);
    const report = await invoke(s3Event('object-created'));
    expect(report.outcomes).toEqual([
      expect.objectContaining({
        status: 'failed',
        error: expect.objectContaining({ class: 'permanent', cause: name }),
      }),
    ]);
    expect(metrics.failed).toHaveBeenCalledWith('invoices', name);
    expect(log.error).toHaveBeenCalledWith(
      `Permanent failure: ${name}`,
      expect.objectContaining({ rule: 'invoices' }),
    );
  });

  it('It should not replicate a Ferry replica unless the rule chains replicas', async () => {
    s3.on(HeadObjectCommand).resolves({
      ...SOURCE_HEAD,
      Metadata: { 'ferry-source-bucket': 'elsewhere', 'ferry-source-key': 'k', 'ferry-rule': 'other' },
    });
    const { invoke } = setup(ONE_DESTINATION);
    const report = await invoke(s3Event('object-created'));
    expect(report.outcomes).toEqual([expect.objectContaining({ status: 'skipped', reason: 'is-replica' })]);
    expect(s3).not.toReceiveCommand(CopyObjectCommand);
  });

  describe('versioned sources', () => {
    // The source's current object is the event's version (HeadObject answers as S3 does for that version).
    beforeEach(() => {
      s3.on(HeadObjectCommand, { Bucket: 'acme-prod' }).resolves({
        ...SOURCE_HEAD,
        ETag: '"d41d8cd98f00b204e9800998ecf8427e"',
        VersionId: '3HL4kqtJlcpXroDTDmJ-rmSpXd3dIbrHY',
      });
    });

    const replicaHead = (sequencer: string) => ({
      ETag: '"aaaa"',
      Metadata: {
        'ferry-source-bucket': 'acme-prod',
        'ferry-source-key': 'invoices%2F2026%2Fmarch.pdf',
        'ferry-source-sequencer': sequencer,
        'ferry-rule': 'invoices',
      },
    });

    it('It should never let an older version overwrite a newer replica', async () => {
      s3.on(HeadObjectCommand, { Bucket: 'acme-dr' }).resolves(replicaHead('00617F0832A1D5C2C0'));
      const { invoke } = setup(ONE_DESTINATION);
      const report = await invoke(s3Event('object-created-versioned'));
      expect(report.outcomes).toEqual([
        expect.objectContaining({ status: 'skipped', reason: 'newer-replica' }),
      ]);
      expect(s3).not.toReceiveCommand(CopyObjectCommand);
    });

    it('It should copy the event version over an older replica, only if the replica is still the one it saw', async () => {
      s3.on(HeadObjectCommand, { Bucket: 'acme-dr' }).resolves(replicaHead('00617F0800000000'));
      s3.on(CopyObjectCommand).resolves({ CopyObjectResult: { ETag: '"d41d8cd98f00b204e9800998ecf8427e"' } });
      const { invoke } = setup(ONE_DESTINATION);
      await invoke(s3Event('object-created-versioned'));
      expect(s3).toReceiveCommandWith(CopyObjectCommand, {
        CopySource: 'acme-prod/invoices/2026/march.pdf?versionId=3HL4kqtJlcpXroDTDmJ-rmSpXd3dIbrHY',
        IfMatch: '"aaaa"',
        Metadata: expect.objectContaining({ 'ferry-source-version': '3HL4kqtJlcpXroDTDmJ-rmSpXd3dIbrHY' }),
      });
    });

    it('It should write only if the key is still absent, and re-check after losing that race', async () => {
      s3.on(HeadObjectCommand, { Bucket: 'acme-dr' })
        .rejectsOnce(s3Error('NotFound', 404))
        .resolves(replicaHead('00617F0832A1D5C2C0'));
      s3.on(CopyObjectCommand).rejectsOnce(s3Error('PreconditionFailed', 412));
      const { invoke } = setup(ONE_DESTINATION);
      const report = await invoke(s3Event('object-created-versioned'));
      expect(s3).toReceiveCommandWith(CopyObjectCommand, { IfNoneMatch: '*' });
      expect(report.outcomes).toEqual([
        expect.objectContaining({ status: 'skipped', reason: 'newer-replica' }),
      ]);
    });
  });

  describe('bad input', () => {
    it('It should ignore an object no rule covers, with a debug log and no AWS call', async () => {
      const { invoke, log } = setup(ONE_DESTINATION);
      const event = s3Event('object-created');
      event.detail.bucket.name = 'unrelated-bucket';
      expect((await invoke(event)).outcomes).toEqual([]);
      expect(log.debug).toHaveBeenCalledWith('No rule covers this object', {
        source: expect.stringContaining('unrelated-bucket'),
      });
      expect(s3.calls()).toHaveLength(0);
    });

    it.each([
      ['a missing detail', (e: Record<string, unknown>) => delete e.detail, 'detail'],
      [
        'a size of the wrong type',
        (e: { detail: { object: Record<string, unknown> } }) => {
          e.detail.object.size = 'big';
        },
        'size',
      ],
      [
        'an unknown detail-type',
        (e: Record<string, unknown>) => {
          e['detail-type'] = 'Object Restore Completed';
        },
        'detail-type',
      ],
      [
        'a missing etag',
        (e: { detail: { object: Record<string, unknown> } }) => delete e.detail.object.etag,
        'etag',
      ],
      [
        'an undecodable key',
        (e: { detail: { object: Record<string, unknown> } }) => {
          e.detail.object.key = 'a%zz';
        },
        'not valid URL-encoded',
      ],
    ])('It should reject %s with an error naming the field, and copy nothing', async (_, breakIt, field) => {
      const { invoke } = setup(ONE_DESTINATION);
      const event = s3Event('object-created');
      breakIt(event as never);
      await expect(invoke(event)).rejects.toMatchObject({
        name: 'MalformedEventError',
        message: expect.stringContaining(field),
      });
      expect(s3.calls()).toHaveLength(0);
    });
  });
});

describe('object-created handler: large objects handed to the object-copy machine', () => {
  const LARGE = { ...SOURCE_HEAD, ContentLength: 2 * 1024 ** 3, TagCount: 0 };
  const largeEvent = () => {
    const event = s3Event('object-created');
    event.detail.object.size = LARGE.ContentLength;
    return event;
  };
  const withStarter = (start: CopyStarter['start']) => {
    const recorded = setup(ONE_DESTINATION);
    const handler = createObjectCreatedHandler(recorded.tools, { ...recorded.deps, copies: { start } });
    return {
      ...recorded,
      invoke: (event: unknown) => handler(event as never, lambdaContext) as Promise<Report>,
    };
  };

  it('It should report a copy whose every attempt failed for good as a permanent failure, not retry the event', async () => {
    s3.on(HeadObjectCommand).resolves(LARGE);
    const exhausted = new CopyAttemptsExhaustedError([
      { name: 'invoices-a', status: 'FAILED' },
      { name: 'invoices-a-a2', status: 'FAILED' },
      { name: 'invoices-a-a3', status: 'TIMED_OUT' },
    ]);
    const { invoke, metrics } = withStarter(() => Promise.reject(exhausted));
    const report = await invoke(largeEvent());

    expect(report.outcomes).toEqual([
      expect.objectContaining({
        status: 'failed',
        error: expect.objectContaining({
          class: 'permanent',
          message: expect.stringMatching(/gave up after 3 attempts/),
        }),
      }),
    ]);
    expect(metrics.failed).toHaveBeenCalledOnce();
    expect(s3).not.toReceiveCommand(CopyObjectCommand);
  });

  it('It should fail the event for a retry when the machine could not be reached', async () => {
    s3.on(HeadObjectCommand).resolves(LARGE);
    const { invoke } = withStarter(() =>
      Promise.reject(Object.assign(new Error('throttled'), { name: 'ThrottlingException' })),
    );
    await expect(invoke(largeEvent())).rejects.toMatchObject({ name: 'RetryableReplicationError' });
  });
});
