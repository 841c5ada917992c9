import { CreateMultipartUploadCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { createS3ClientFactory } from '#foundation/aws-clients';
import type { CopyJob } from '#objects/copy-machine/contract';
import { startMultipartCopy } from '#objects/copy-machine/multipart-copy';
import { MiB } from '#objects/copy-machine/part-planner';
import { etagsComparable } from '#objects/copy-request';
import { etagsMustMatch } from '#objects/etag-rule';
import type { SourceObject } from '#objects/event';
import { planCopies } from '#objects/router';
import { replicaStateOf } from '#reconcile/objects';
import { objectRulesOf } from '#rules/config';
import { configFrom, SMALL_MULTIPART_SETTINGS } from '#test/support/fixtures';

const s3 = mockClient(S3Client);
afterEach(() => s3.reset());

const config = configFrom(`
rules:
  - name: big
    objects: { bucket: acme-prod, prefix: media/ }
    to:
      - { bucket: acme-dr, region: us-west-2 }
`);
const source: SourceObject = {
  versionId: undefined,
  bucket: 'acme-prod',
  key: 'media/film.mov',
  region: 'us-east-1',
  account: '111122223333',
  size: 12 * MiB,
  etag: 'aaaabbbbccccddddeeeeffff00001111-2',
  sequencer: '0055AED6DCD90281E5',
  eventTime: '2026-11-21T18:43:48Z',
};
const [plan] = planCopies(objectRulesOf(config), source);
if (!plan) throw new Error('the test rule must match the test object');

describe('the ETag rule', () => {
  it('It should compare ETags only without KMS, and only where the copy reproduces the source layout', () => {
    const plain = 'b1946ac92492d2347c6235b4d2611184';
    expect(etagsMustMatch({ sourceETag: plain, encryptions: [], replica: { copy: true } })).toBe(true);
    expect(etagsMustMatch({ sourceETag: `${plain}-3`, encryptions: [], replica: { copy: true } })).toBe(
      false,
    );
    expect(etagsMustMatch({ sourceETag: `${plain}-3`, encryptions: [], replica: { parts: 3 } })).toBe(true);
    expect(etagsMustMatch({ sourceETag: `${plain}-3`, encryptions: [], replica: { parts: 0 } })).toBe(false);
    expect(etagsMustMatch({ sourceETag: plain, encryptions: [], replica: { parts: 1 } })).toBe(false);
    for (const sse of ['aws:kms', 'aws:kms:dsse']) {
      expect(
        etagsMustMatch({ sourceETag: plain, encryptions: ['AES256', sse], replica: { copy: true } }),
      ).toBe(false);
    }
  });

  it('It should not expect a DSSE-KMS source ETag from a multipart copy (the two copies of the rule disagreed)', async () => {
    const head = {
      ETag: `"${source.etag}"`,
      ContentLength: 6 * MiB,
      PartsCount: 2,
      ServerSideEncryption: 'aws:kms:dsse' as const,
    };
    s3.on(HeadObjectCommand).resolves(head);
    s3.on(CreateMultipartUploadCommand).resolves({ UploadId: 'up-1' });
    const job: CopyJob = { mode: 'multipart', plan, source, reason: 'large' };
    const upload = await startMultipartCopy(job, {
      s3: createS3ClientFactory(),
      settings: SMALL_MULTIPART_SETTINGS,
    });
    // The layout is kept (2 parts of 6 MiB), but a DSSE-KMS ETag is no digest: nothing to expect.
    expect(upload.partCount).toBe(2);
    expect(upload.expectedETag).toBe('');
    // The fast path and reconcile follow the same rule for the same source.
    expect(etagsComparable(plan, { ...source, etag: 'b1946ac92492d2347c6235b4d2611184' }, head)).toBe(false);
  });

  it('It should not call a DSSE-KMS replica stale because its ETag is not the MD5 (reconcile)', () => {
    const state = replicaStateOf(
      {
        Metadata: {
          'ferry-source-bucket': 'acme-prod',
          'ferry-source-key': 'media%2Fa.txt',
          'ferry-rule': 'big',
        },
        ETag: '"0f0e0d0c0b0a09080706050403020100"',
        ServerSideEncryption: 'aws:kms:dsse',
      },
      {
        bucket: 'acme-prod',
        key: 'media/a.txt',
        size: 5,
        etag: '"b1946ac92492d2347c6235b4d2611184"',
        lastModified: undefined,
      },
      plan.destination,
    );
    expect(state).toBe('current');
  });
});
