import { DeleteObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { createS3ClientFactory } from '#aws/clients';
import { createObjectDeletedHandler } from '#handlers/object-deleted';
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

const replica = (sequencer: string, key = 'invoices%2F2026%2Fmarch.pdf') => ({
  Metadata: {
    'ferry-source-bucket': 'acme-prod',
    'ferry-source-key': key,
    'ferry-source-sequencer': sequencer,
    'ferry-rule': 'invoices',
  },
});

function invoke(event: unknown) {
  const { tools, deps } = recordingDeps(configFrom(CONFIG), createS3ClientFactory());
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
