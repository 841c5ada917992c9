import { HeadObjectCommand, S3Client, UploadPartCopyCommand } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { createS3ClientFactory } from '#foundation/aws-clients';
import type { CopyJob } from '#objects/copy-machine/contract';
import { type CopyStepDeps, runCopyStep } from '#objects/copy-machine/copy-steps';
import type { SourceObject } from '#objects/event';
import { planCopies } from '#objects/router';
import { objectRulesOf } from '#rules/config';
import { configFrom, recordingLog, recordingMetrics, s3Error } from '#test/support/fixtures';

/**
 * A part copy refused for a source under a KMS key the rule does not name fails for good as
 * SourceKeyNotConfigured, as the fast path's CopyObject does (test/unit/objects/copy-one.test.ts): the key is
 * the job's (the handler's HEAD), or read by one HEAD after the refusal when the job has no attributes.
 */
const s3 = mockClient(S3Client);
afterEach(() => s3.reset());

const KEY = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const source: SourceObject = {
  versionId: undefined,
  bucket: 'acme-prod',
  key: 'media/film.mov',
  region: 'us-east-1',
  account: '111122223333',
  size: 700 * 1024 * 1024,
  etag: 'aaaabbbbccccddddeeeeffff00001111',
  sequencer: '0055AED6DCD90281E5',
  eventTime: '2026-11-21T18:00:00Z',
};
const jobOf = (kmsKeys: string): CopyJob => {
  const rules = objectRulesOf(
    configFrom(`
rules:
  - name: big
    objects: { bucket: acme-prod, prefix: media/${kmsKeys} }
    to: [{ bucket: acme-dr, region: us-west-2 }]
`),
  );
  const [plan] = planCopies(rules, source);
  if (!plan) throw new Error('the test rule must match the test object');
  return { mode: 'multipart', plan, source, reason: 'large' };
};
const deps = {
  s3: createS3ClientFactory(),
  log: recordingLog(),
  metrics: recordingMetrics(),
  now: () => Date.now(),
  multipart: { partConcurrency: 2 },
} as unknown as CopyStepDeps;
const copyParts = (job: CopyJob) =>
  runCopyStep(
    {
      action: 'copy-parts',
      job,
      upload: { uploadId: 'u1', partSize: 64 * 1024 * 1024 },
      batch: { first: 1, last: 1 },
    },
    deps,
  );

describe('a part copy refused for a source under a KMS key', () => {
  it('It should name the key the job carries when the rule does not name it', async () => {
    s3.on(UploadPartCopyCommand).rejects(s3Error('AccessDenied', 403));
    const job = { ...jobOf(''), attributes: { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: KEY } };
    await expect(copyParts(job)).rejects.toMatchObject({
      name: 'PermanentCopyError',
      classified: { cause: 'SourceKeyNotConfigured', message: expect.stringContaining(KEY) },
    });
    expect(s3.commandCalls(HeadObjectCommand)).toHaveLength(0);
  });

  it('It should read the key by one HEAD when the job has none, and leave a named key’s refusal as it is', async () => {
    s3.on(UploadPartCopyCommand).rejects(s3Error('AccessDenied', 403));
    s3.on(HeadObjectCommand).resolves({ ServerSideEncryption: 'aws:kms', SSEKMSKeyId: KEY });
    await expect(copyParts(jobOf(''))).rejects.toMatchObject({
      classified: { cause: 'SourceKeyNotConfigured' },
    });
    expect(s3.commandCalls(HeadObjectCommand)).toHaveLength(1);
    await expect(copyParts(jobOf(`, kmsKeys: ['${KEY}']`))).rejects.toMatchObject({
      name: 'PermanentCopyError',
      classified: { cause: 'AccessDenied' },
    });
  });
});
