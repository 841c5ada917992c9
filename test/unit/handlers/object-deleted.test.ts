import { DeleteObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { createS3ClientFactory } from '#foundation/aws-clients';
import { createObjectDeletedHandler } from '#objects/handlers/object-deleted';
import type { Report } from '#objects/outcomes';
import { configFrom, lambdaContext, recordingDeps, s3Error, s3Event } from '#test/support/fixtures';

const s3 = mockClient(S3Client);
afterEach(() => s3.reset());

const CONFIG = `
rules:
  - name: invoices
    objects: { bucket: acme-prod, prefix: invoices/ }
    to:
      - { bucket: acme-dr, region: us-west-2, keyPrefix: mirror/, replicateDeletes: true }
      - { bucket: acme-vault, region: us-west-2 }
`;

const replica = (sequencer: string, key = 'invoices%2F2026%2Fmarch.pdf', etag = '"r1"') => ({
  ETag: etag,
  Metadata: {
    'ferry-source-bucket': 'acme-prod',
    'ferry-source-key': key,
    'ferry-source-sequencer': sequencer,
    'ferry-rule': 'invoices',
  },
});

function invoke(event: unknown, config = CONFIG) {
  const { tools, deps } = recordingDeps(configFrom(config), createS3ClientFactory());
  return createObjectDeletedHandler(tools, deps)(event as never, lambdaContext) as Promise<Report>;
}

describe('object-deleted handler', () => {
  it("It should delete Ferry's replica where the rule replicates deletes, and only there", async () => {
    s3.on(HeadObjectCommand).resolves(replica('00617F0800000001'));
    const report = await invoke(s3Event('object-deleted'));
    expect(report.outcomes).toEqual([
      expect.objectContaining({ status: 'deleted', target: 's3://acme-dr/mirror/2026/march.pdf' }),
    ]);
    expect(s3).toReceiveCommandExactlyOnceWith(DeleteObjectCommand, {
      Bucket: 'acme-dr',
      Key: 'mirror/2026/march.pdf',
    });
  });

  it('It should never delete an object that Ferry did not replicate from this source', async () => {
    s3.on(HeadObjectCommand).resolves({ Metadata: { owner: 'someone' } });
    expect((await invoke(s3Event('object-deleted'))).outcomes).toEqual([
      expect.objectContaining({ status: 'skipped', reason: 'not-a-replica' }),
    ]);
    s3.on(HeadObjectCommand).resolves(replica('00617F0800000001', 'invoices%2Fother.pdf'));
    await invoke(s3Event('object-deleted'));
    expect(s3).not.toReceiveCommand(DeleteObjectCommand);
  });

  it('It should keep a replica written from a later write than the delete', async () => {
    s3.on(HeadObjectCommand).resolves(replica('00617F08FFFFFFFFFF'));
    expect((await invoke(s3Event('object-deleted'))).outcomes).toEqual([
      expect.objectContaining({ status: 'skipped', reason: 'newer-replica' }),
    ]);
    expect(s3).not.toReceiveCommand(DeleteObjectCommand);
  });

  it('It should report a replica that is already gone as absent, and a denied delete as a failure', async () => {
    s3.on(HeadObjectCommand).rejects(s3Error('NotFound', 404));
    expect((await invoke(s3Event('object-deleted'))).outcomes).toEqual([
      expect.objectContaining({ status: 'skipped', reason: 'absent' }),
    ]);
    s3.on(HeadObjectCommand).resolves(replica('00617F0800000001'));
    s3.on(DeleteObjectCommand).rejects(s3Error('AccessDenied', 403));
    expect((await invoke(s3Event('object-deleted'))).outcomes).toEqual([
      expect.objectContaining({
        status: 'failed',
        error: expect.objectContaining({ cause: 'AccessDenied' }),
      }),
    ]);
  });
});

describe('object-deleted handler: a delete never removes a replica it did not read (issue 11 §3)', () => {
  it('It should delete only on the condition that the replica still has the ETag it read', async () => {
    s3.on(HeadObjectCommand).resolves(replica('00617F0800000001'));
    await invoke(s3Event('object-deleted'));
    expect(s3).toReceiveCommandExactlyOnceWith(DeleteObjectCommand, {
      Bucket: 'acme-dr',
      Key: 'mirror/2026/march.pdf',
      IfMatch: '"r1"',
    });
  });

  it.each([
    ['PreconditionFailed', 412],
    ['ConditionalRequestConflict', 409],
  ])('It should re-read after a %s and keep a replica a newer copy wrote meanwhile', async (code, status) => {
    s3.on(HeadObjectCommand)
      .resolvesOnce(replica('00617F0800000001'))
      .resolves(replica('00617F08FFFFFFFFFF', undefined, '"r2"'));
    s3.on(DeleteObjectCommand).rejectsOnce(s3Error(code, status));
    const report = await invoke(s3Event('object-deleted'));
    expect(report.outcomes).toEqual([
      expect.objectContaining({ status: 'skipped', reason: 'newer-replica' }),
    ]);
    expect(s3).toReceiveCommandTimes(DeleteObjectCommand, 1);
  });

  it('It should delete on the new ETag when the replica that moved is still older than the delete', async () => {
    s3.on(HeadObjectCommand)
      .resolvesOnce(replica('00617F0800000001'))
      .resolves(replica('00617F0800000002', undefined, '"r2"'));
    s3.on(DeleteObjectCommand).rejectsOnce(s3Error('PreconditionFailed', 412)).resolves({});
    const report = await invoke(s3Event('object-deleted'));
    expect(report.outcomes).toEqual([expect.objectContaining({ status: 'deleted' })]);
    expect(s3).toReceiveNthCommandWith(DeleteObjectCommand, 2, { IfMatch: '"r2"' });
  });

  it('It should report absent when the replica is gone by the time of the conditional delete (404)', async () => {
    s3.on(HeadObjectCommand).resolves(replica('00617F0800000001'));
    s3.on(DeleteObjectCommand).rejects(s3Error('NoSuchKey', 404));
    expect((await invoke(s3Event('object-deleted'))).outcomes).toEqual([
      expect.objectContaining({ status: 'skipped', reason: 'absent' }),
    ]);
  });
});

describe('object-deleted handler: lifecycle expirations (issue 11 §3)', () => {
  const expired = () => {
    const event = s3Event('object-deleted');
    event.detail.reason = 'Lifecycle Expiration';
    return event;
  };
  const OPT_IN = CONFIG.replace(
    'replicateDeletes: true',
    'replicateDeletes: true, replicateLifecycleDeletes: true',
  );

  it('It should keep the replica of a source a lifecycle rule expired, even where deletes are replicated', async () => {
    s3.on(HeadObjectCommand).resolves(replica('00617F0800000001'));
    const report = await invoke(expired());
    expect(report.outcomes).toEqual([
      expect.objectContaining({
        status: 'skipped',
        reason: 'lifecycle-expiration',
        target: 's3://acme-dr/mirror/2026/march.pdf',
      }),
    ]);
    expect(s3).not.toReceiveCommand(DeleteObjectCommand);
  });

  it('It should delete it where the destination opts in with replicateLifecycleDeletes', async () => {
    s3.on(HeadObjectCommand).resolves(replica('00617F0800000001'));
    const report = await invoke(expired(), OPT_IN);
    expect(report.outcomes).toEqual([expect.objectContaining({ status: 'deleted' })]);
    expect(s3).toReceiveCommandExactlyOnceWith(DeleteObjectCommand, {
      Key: 'mirror/2026/march.pdf',
      IfMatch: '"r1"',
    });
  });

  it('It should refuse replicateLifecycleDeletes without replicateDeletes, naming the field', () => {
    expect(() =>
      configFrom(
        CONFIG.replace(
          'keyPrefix: mirror/, replicateDeletes: true',
          'keyPrefix: mirror/, replicateLifecycleDeletes: true',
        ),
      ),
    ).toThrow(/replicateLifecycleDeletes/);
  });
});
