import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createS3ClientFactory } from '#foundation/aws-clients';
import { createPowertools } from '#foundation/observability/powertools';
import { type CopyJob, executionNameOf } from '#objects/copy-machine/contract';
import type { CopyStepDeps } from '#objects/copy-machine/copy-steps';
import { MAX_BATCHES } from '#objects/copy-machine/multipart-copy';
import { MAX_OBJECT_SIZE, MiB } from '#objects/copy-machine/part-planner';
import type { SourceObject } from '#objects/event';
import { createObjectCopyStepHandler } from '#objects/handlers/object-copy-step';
import { markersFor } from '#objects/markers';
import { planCopies } from '#objects/router';
import { objectRulesOf } from '#rules/config';
import {
  configFrom,
  lambdaContext,
  recordingLog,
  recordingMetrics,
  SMALL_MULTIPART_SETTINGS,
  s3Error,
} from '#test/support/fixtures';

const s3 = mockClient(S3Client);
afterEach(() => s3.reset());

const config = configFrom(`
rules:
  - name: big
    objects: { bucket: acme-prod, prefix: media/ }
    to:
      - bucket: acme-dr
        region: us-west-2
        storageClass: STANDARD_IA
        encryption: { sse: aws:kms, kmsKeyId: alias/dr }
        tags: { set: { copy: dr } }
`);

const SIZE = 12 * MiB + 3;
const source: SourceObject = {
  versionId: undefined,
  bucket: 'acme-prod',
  key: 'media/film.mov',
  region: 'us-east-1',
  account: '111122223333',
  size: SIZE,
  etag: 'aaaabbbbccccddddeeeeffff00001111-3',
  sequencer: '0055AED6DCD90281E5',
  eventTime: '2026-11-21T18:43:48Z',
};
const [plan] = planCopies(objectRulesOf(config), source);
if (!plan) throw new Error('the test rule must match the test object');
const job: CopyJob = { mode: 'multipart', plan, source, reason: 'large' };

function handler() {
  const deps: CopyStepDeps = {
    s3: createS3ClientFactory(),
    log: recordingLog(),
    metrics: recordingMetrics(),
    now: () => Date.parse('2026-11-21T18:53:48Z'),
    multipart: SMALL_MULTIPART_SETTINGS,
  };
  const invoke = createObjectCopyStepHandler(createPowertools(), deps);
  return { deps, run: (input: unknown) => invoke(input as never, lambdaContext) };
}

beforeEach(() => {
  const attributes = {
    ContentType: 'video/quicktime',
    CacheControl: 'no-cache',
    Metadata: { camera: 'a' },
    TagCount: 1,
    ETag: `"${source.etag}"`,
  };
  s3.on(HeadObjectCommand, { Bucket: 'acme-prod' }).resolves({ ...attributes, ContentLength: SIZE });
  // A multipart source: the HEAD of part 1 carries the attributes and the layout in one request.
  s3.on(HeadObjectCommand, { Bucket: 'acme-prod', PartNumber: 1 }).resolves({
    ...attributes,
    ContentLength: 6 * MiB,
    PartsCount: 3,
  });
  // No replica yet at the destination key.
  s3.on(HeadObjectCommand, { Bucket: 'acme-dr' }).rejects(s3Error('NotFound', 404));
  s3.on(GetObjectTaggingCommand).resolves({ TagSet: [{ Key: 'team', Value: 'video' }] });
  s3.on(CreateMultipartUploadCommand).resolves({ UploadId: 'up-1' });
  s3.on(UploadPartCopyCommand).resolves({ CopyPartResult: { ETag: '"p"' } });
});

describe('object-copy-step handler', () => {
  it('It should create the upload with everything a multipart copy does not carry, keeping the source layout', async () => {
    const upload = await handler().run({ action: 'prepare', job });
    // Part 1 of the event's object; whether it is still the current one; what is at the replica key.
    expect(s3).toReceiveCommandTimes(HeadObjectCommand, 3);
    expect(s3).toReceiveCommandWith(HeadObjectCommand, { PartNumber: 1, IfMatch: source.etag });
    expect(s3).toReceiveCommandWith(CreateMultipartUploadCommand, {
      Bucket: 'acme-dr',
      Key: 'media/film.mov',
      ContentType: 'video/quicktime',
      CacheControl: 'no-cache',
      Metadata: expect.objectContaining({
        camera: 'a',
        'ferry-rule': 'big',
        'ferry-source-key': 'media%2Ffilm.mov',
      }),
      Tagging: 'team=video&copy=dr',
      StorageClass: 'STANDARD_IA',
      ServerSideEncryption: 'aws:kms',
      SSEKMSKeyId: 'alias/dr',
    });
    // 6 MiB parts as in the source (not the 5 MiB setting): 6 MiB, 6 MiB, 3 bytes; 2 in flight per batch,
    // and 8 MiB per batch at most, so two batches, as even as whole parts allow.
    expect(upload).toEqual({
      uploadId: 'up-1',
      partSize: 6 * MiB,
      partCount: 3,
      batches: [
        { first: 1, last: 2 },
        { first: 3, last: 3 },
      ],
      expectedETag: '', // SSE-KMS on the destination: the ETag cannot match
      condition: { ifNoneMatch: '*' }, // nothing at the replica key: the completion must find it so
    });
  });

  it('It should copy each part of a batch from the event version with its byte range and ETag condition', async () => {
    const result = await handler().run({
      action: 'copy-parts',
      job,
      upload: { uploadId: 'up-1', partSize: 6 * MiB },
      batch: { first: 2, last: 3 },
    });
    // What CompleteMultipartUpload must list for these parts, as their copies answered.
    expect(result).toEqual({
      copied: 2,
      parts: [
        { PartNumber: 2, ETag: '"p"' },
        { PartNumber: 3, ETag: '"p"' },
      ],
    });
    expect(s3).toReceiveCommandTimes(UploadPartCopyCommand, 2);
    expect(s3).toReceiveCommandWith(UploadPartCopyCommand, {
      UploadId: 'up-1',
      PartNumber: 3,
      CopySource: 'acme-prod/media/film.mov',
      CopySourceRange: `bytes=${12 * MiB}-${SIZE - 1}`,
      CopySourceIfMatch: source.etag,
      ExpectedSourceBucketOwner: '111122223333',
    });
  });

  it('It should fail the prepare step retryably, under its own name, when no UploadId comes back', async () => {
    s3.on(CreateMultipartUploadCommand).resolves({});
    await expect(handler().run({ action: 'prepare', job })).rejects.toMatchObject({
      name: 'RetryableCopyError',
      message: expect.stringMatching(/^CreateMultipartUploadMissingUploadIdError: .*without an UploadId/),
    });
    expect(s3).not.toReceiveCommand(UploadPartCopyCommand);
  });

  it('It should fail a batch retryably when a part copy answers without an ETag', async () => {
    s3.on(UploadPartCopyCommand).resolves({ CopyPartResult: {} });
    await expect(
      handler().run({
        action: 'copy-parts',
        job,
        upload: { uploadId: 'up-1', partSize: 6 * MiB },
        batch: { first: 1, last: 1 },
      }),
    ).rejects.toMatchObject({
      name: 'RetryableCopyError',
      message: expect.stringContaining('CopyResultMissingETagError'),
    });
  });

  it('It should turn a changed source into SourceChangedError and access errors into PermanentCopyError', async () => {
    s3.on(UploadPartCopyCommand).rejects(s3Error('PreconditionFailed', 412));
    const input = {
      action: 'copy-parts',
      job,
      upload: { uploadId: 'up-1', partSize: 6 * MiB },
      batch: { first: 1, last: 1 },
    };
    await expect(handler().run(input)).rejects.toMatchObject({ name: 'SourceChangedError' });
    s3.on(UploadPartCopyCommand).rejects(s3Error('AccessDenied', 403));
    await expect(handler().run(input)).rejects.toMatchObject({ name: 'PermanentCopyError' });
  });

  it('It should complete from the parts S3 lists, verify the size, and count the copy', async () => {
    s3.on(ListPartsCommand).resolves({
      Parts: [3, 1, 2].map((n) => ({ PartNumber: n, ETag: `"e${n}"` })),
      IsTruncated: false,
    });
    s3.on(CompleteMultipartUploadCommand).resolves({ ETag: '"final-3"' });
    s3.on(HeadObjectCommand, { Bucket: 'acme-dr' }).resolves({ ContentLength: SIZE });
    const { run, deps } = handler();
    const outcome = await run({
      action: 'complete',
      job,
      upload: { uploadId: 'up-1', partCount: 3, expectedETag: '' },
    });
    expect(outcome).toMatchObject({ status: 'copied', etag: 'final-3', bytes: SIZE });
    expect(s3).toReceiveCommandWith(CompleteMultipartUploadCommand, {
      UploadId: 'up-1',
      MpuObjectSize: SIZE, // S3 checks the size: 400 InvalidRequest for any other
      MultipartUpload: { Parts: [1, 2, 3].map((n) => ({ PartNumber: n, ETag: `"e${n}"` })) },
    });
    expect(deps.metrics.copied).toHaveBeenCalledWith('big', SIZE, 600_000);
    expect(deps.log.debug).toHaveBeenCalledWith(
      'Replica written and verified',
      expect.objectContaining({
        status: 'copied',
        target: 's3://acme-dr/media/film.mov',
        reason: job.reason,
      }),
    );
  });

  it('It should refuse to complete when a listed part is missing', async () => {
    s3.on(ListPartsCommand).resolves({ Parts: [{ PartNumber: 1, ETag: '"e1"' }], IsTruncated: false });
    const input = { action: 'complete', job, upload: { uploadId: 'up-1', partCount: 3, expectedETag: '' } };
    await expect(handler().run(input)).rejects.toMatchObject({
      name: 'RetryableCopyError',
      message: expect.stringContaining('has parts 1 of 1 with ETags, expected 3 with ETags'),
    });
    expect(s3).not.toReceiveCommand(CompleteMultipartUploadCommand);
  });

  it("It should create the replica with the source's checksum algorithm and complete with each part's checksum", async () => {
    s3.on(HeadObjectCommand, { Bucket: 'acme-prod', PartNumber: 1 }).resolves({
      ContentLength: 6 * MiB,
      PartsCount: 3,
      ChecksumCRC32C: 'AAAAAA==-3',
    });
    await handler().run({ action: 'prepare', job });
    expect(s3).toReceiveCommandWith(HeadObjectCommand, { ChecksumMode: 'ENABLED' });
    expect(s3).toReceiveCommandWith(CreateMultipartUploadCommand, { ChecksumAlgorithm: 'CRC32C' });

    s3.on(ListPartsCommand).resolves({
      Parts: [1, 2, 3].map((n) => ({ PartNumber: n, ETag: `"e${n}"`, ChecksumCRC32C: `c${n}==` })),
      IsTruncated: false,
    });
    s3.on(CompleteMultipartUploadCommand).resolves({ ETag: '"final-3"' });
    s3.on(HeadObjectCommand, { Bucket: 'acme-dr' }).resolves({ ContentLength: SIZE });
    await handler().run({
      action: 'complete',
      job,
      upload: { uploadId: 'up-1', partCount: 3, expectedETag: '' },
    });
    expect(s3).toReceiveCommandWith(CompleteMultipartUploadCommand, {
      MultipartUpload: {
        Parts: [1, 2, 3].map((n) => ({ PartNumber: n, ETag: `"e${n}"`, ChecksumCRC32C: `c${n}==` })),
      },
    });
  });

  it('It should keep a 48.8 TiB copy within 200 Map iterations, covering every part', async () => {
    const largest = { ...job, source: { ...source, size: MAX_OBJECT_SIZE, etag: 'plain' } };
    s3.on(HeadObjectCommand, { Bucket: 'acme-prod' }).resolves({
      ContentLength: MAX_OBJECT_SIZE,
      ETag: '"plain"',
    });
    const upload = (await handler().run({ action: 'prepare', job: largest })) as {
      partCount: number;
      batches: { first: number; last: number }[];
    };
    expect(upload.partCount).toBe(10_000);
    expect(upload.batches.length).toBeLessThanOrEqual(MAX_BATCHES);
    expect(upload.batches[0]?.first).toBe(1);
    expect(upload.batches.at(-1)?.last).toBe(10_000);
    const gaps = upload.batches
      .slice(1)
      .filter((batch, index) => batch.first !== (upload.batches[index]?.last ?? 0) + 1);
    expect(gaps).toEqual([]);
  });

  it('It should abort an upload it created when a later prepare step fails', async () => {
    const tooLarge = { ...job, source: { ...source, size: 60 * 1024 ** 4, etag: 'plain' } };
    s3.on(HeadObjectCommand, { Bucket: 'acme-prod' }).resolves({
      ContentLength: 60 * 1024 ** 4,
      ETag: '"plain"',
    });
    await expect(handler().run({ action: 'prepare', job: tooLarge })).rejects.toMatchObject({
      name: 'PermanentCopyError',
    });
    expect(s3).toReceiveCommandWith(AbortMultipartUploadCommand, { UploadId: 'up-1', Bucket: 'acme-dr' });
  });

  it('It should name the destination account as the expected owner on every request to the replica', async () => {
    const owned: CopyJob = {
      ...job,
      plan: { ...job.plan, destination: { ...job.plan.destination, account: '444455556666' } },
    };
    s3.on(ListPartsCommand).resolves({
      Parts: [1, 2, 3].map((n) => ({ PartNumber: n, ETag: `"e${n}"` })),
      IsTruncated: false,
    });
    s3.on(CompleteMultipartUploadCommand).resolves({ ETag: '"final-3"' });
    s3.on(HeadObjectCommand, { Bucket: 'acme-dr' }).resolves({ ContentLength: SIZE });
    const { run } = handler();
    const upload = { uploadId: 'up-1', partSize: 6 * MiB };
    await run({ action: 'copy-parts', job: owned, upload, batch: { first: 1, last: 1 } });
    await run({
      action: 'complete',
      job: owned,
      upload: { uploadId: 'up-1', partCount: 3, expectedETag: '' },
    });
    await run({ action: 'abort', job: owned, uploadId: 'up-1' });
    const toReplica = [
      UploadPartCopyCommand,
      ListPartsCommand,
      CompleteMultipartUploadCommand,
      AbortMultipartUploadCommand,
    ]
      .flatMap((command) => s3.commandCalls(command as never))
      .concat(s3.commandCalls(HeadObjectCommand, { Bucket: 'acme-dr' }))
      .map((call) => call.args[0].input as { ExpectedBucketOwner?: string });
    expect(toReplica.length).toBeGreaterThanOrEqual(5);
    for (const input of toReplica) expect(input).toMatchObject({ ExpectedBucketOwner: '444455556666' });
    // A rule that names no account sends no expectation.
    s3.resetHistory();
    await run({ action: 'abort', job, uploadId: 'up-1' });
    expect(s3.commandCalls(AbortMultipartUploadCommand)[0]?.args[0].input).not.toHaveProperty(
      'ExpectedBucketOwner',
    );
  });

  it('It should treat an upload that is already gone as aborted', async () => {
    s3.on(AbortMultipartUploadCommand).rejects(s3Error('NoSuchUpload', 404));
    await expect(handler().run({ action: 'abort', job, uploadId: 'up-1' })).resolves.toEqual({
      aborted: 'up-1',
    });
  });

  it('It should record a failure with its cause for the alarm', async () => {
    const { run, deps } = handler();
    await run({
      action: 'record-failure',
      job,
      error: { Error: 'RetryableCopyError', Cause: 'SlowDown: Please reduce your request rate.' },
    });
    expect(deps.metrics.failed).toHaveBeenCalledWith('big', 'SlowDown');
    await run({ action: 'record-failure', job, error: { Error: 'States.Timeout', Cause: '' } });
    expect(deps.metrics.failed).toHaveBeenCalledWith('big', 'States.Timeout');
  });

  it('It should retry a single copy with the same request as the fast path', async () => {
    s3.on(HeadObjectCommand, { Bucket: 'acme-prod' }).resolves({
      ContentLength: 5,
      Metadata: {},
      TagCount: 0,
    });
    s3.on(CopyObjectCommand).resolves({ CopyObjectResult: { ETag: '"x"' } });
    const small = { ...job, mode: 'single', source: { ...source, size: 5, etag: 'x' } };
    await expect(handler().run({ action: 'copy', job: small })).resolves.toMatchObject({ status: 'copied' });
    expect(s3).toReceiveCommandWith(CopyObjectCommand, {
      CopySourceIfMatch: 'x',
      TaggingDirective: 'REPLACE',
      Tagging: 'copy=dr',
    });
  });

  it('It should reject a step input the state machine could not have built, naming the field', async () => {
    await expect(handler().run({ action: 'copy-parts', job })).rejects.toMatchObject({
      name: 'MalformedEventError',
      message: expect.stringContaining('upload'),
    });
  });
});

describe('object-copy-step: uploads a dead step left behind', () => {
  const startedAt = '2026-11-21T18:50:00.400Z';
  const upload = (UploadId: string, Initiated: string, Key = 'media/film.mov') => ({
    Key,
    UploadId,
    Initiated: new Date(Initiated),
  });
  const aborted = () =>
    s3.commandCalls(AbortMultipartUploadCommand).map((call) => call.args[0].input.UploadId);

  it('It should abort, before creating its own, the uploads on exactly the replica key started since the execution', async () => {
    s3.on(ListMultipartUploadsCommand)
      .resolvesOnce({
        Uploads: [
          upload('older', '2026-11-21T18:49:59.000Z'), // before the execution: not this copy's
          upload('crashed', '2026-11-21T18:50:00.000Z'), // S3 may report the second only: same second counts
          upload('other-key', '2026-11-21T18:50:10.000Z', 'media/film.mov.bak'),
        ],
        IsTruncated: true,
        NextKeyMarker: 'media/film.mov',
        NextUploadIdMarker: 'crashed',
      })
      .resolvesOnce({ Uploads: [upload('crashed-again', '2026-11-21T18:50:30.000Z')], IsTruncated: false });
    const { run, deps } = handler();
    const created = await run({ action: 'prepare', job, startedAt });

    expect(created).toMatchObject({ uploadId: 'up-1' });
    expect(s3).toReceiveCommandWith(ListMultipartUploadsCommand, {
      Bucket: 'acme-dr',
      Prefix: 'media/film.mov',
    });
    expect(s3).toReceiveNthCommandWith(ListMultipartUploadsCommand, 2, {
      KeyMarker: 'media/film.mov',
      UploadIdMarker: 'crashed',
    });
    expect(aborted()).toEqual(['crashed', 'crashed-again']);
    expect(s3).toReceiveCommandWith(AbortMultipartUploadCommand, {
      Bucket: 'acme-dr',
      Key: 'media/film.mov',
    });
    // The source still holds the job's object (read without version or condition): no newer copy to spare.
    const unconditional = s3
      .commandCalls(HeadObjectCommand)
      .map((call) => call.args[0].input)
      .filter((head) => head.Bucket === 'acme-prod' && !head.IfMatch && !head.VersionId && !head.PartNumber);
    expect(unconditional).toHaveLength(1);
    expect(s3).toReceiveCommandTimes(CreateMultipartUploadCommand, 1);
    expect(deps.log.warn).toHaveBeenCalledWith(
      'Aborted uploads an earlier attempt left',
      expect.objectContaining({ aborted: ['crashed', 'crashed-again'] }),
    );
  });

  it('It should not list anything when the state machine passes no execution start, nor read the source twice when nothing is left', async () => {
    await handler().run({ action: 'prepare', job });
    expect(s3).not.toReceiveCommand(ListMultipartUploadsCommand);
    s3.on(ListMultipartUploadsCommand).resolves({ Uploads: [upload('older', '2026-11-21T18:40:00Z')] });
    await handler().run({ action: 'prepare', job, startedAt });
    // Three per prepare (part 1, the current source object, the replica key); none for the clean-up.
    expect(s3).toReceiveCommandTimes(HeadObjectCommand, 6);
    expect(s3).not.toReceiveCommand(AbortMultipartUploadCommand);
  });

  it('It should leave alone the uploads started after a newer source object was written (its own copy)', async () => {
    s3.on(ListMultipartUploadsCommand).resolves({
      Uploads: [upload('ours', '2026-11-21T18:50:01Z'), upload('newer-copy', '2026-11-21T18:50:25Z')],
    });
    s3.on(HeadObjectCommand, { Bucket: 'acme-prod' }).resolves({
      ETag: '"a-newer-object-1"',
      LastModified: new Date('2026-11-21T18:50:20Z'),
    });
    const { run, deps } = handler();
    await expect(run({ action: 'clean-up', job, startedAt })).resolves.toEqual({
      aborted: ['ours'],
      kept: ['newer-copy'],
      failed: [],
    });
    expect(aborted()).toEqual(['ours']);
    expect(deps.log.info).toHaveBeenCalledWith(
      'Left uploads of a newer source object alone',
      expect.anything(),
    );
  });

  it('It should compare versions when the source is versioned, and abort everything when the source is gone', async () => {
    const versioned = { ...job, source: { ...source, versionId: 'v1' } };
    s3.on(ListMultipartUploadsCommand).resolves({ Uploads: [upload('ours', '2026-11-21T18:50:01Z')] });
    s3.on(HeadObjectCommand, { Bucket: 'acme-prod' }).resolves({
      VersionId: 'v2',
      ETag: `"${source.etag}"`, // the same bytes written again: still another version
      LastModified: new Date('2026-11-21T18:50:00Z'),
    });
    await expect(handler().run({ action: 'clean-up', job: versioned, startedAt })).resolves.toMatchObject({
      aborted: [],
      kept: ['ours'],
    });
    // Gone: 404, or 403 where the role may not list the source bucket.
    for (const gone of [s3Error('NotFound', 404), s3Error('Forbidden', 403)]) {
      s3.on(HeadObjectCommand, { Bucket: 'acme-prod' }).rejects(gone);
      await expect(handler().run({ action: 'clean-up', job: versioned, startedAt })).resolves.toMatchObject({
        aborted: ['ours'],
        kept: [],
      });
    }
  });

  it('It should report uploads it cannot abort and go on; one already gone counts as aborted', async () => {
    s3.on(ListMultipartUploadsCommand).resolves({
      Uploads: [upload('gone', '2026-11-21T18:50:01Z'), upload('denied', '2026-11-21T18:50:02Z')],
    });
    s3.on(AbortMultipartUploadCommand, { UploadId: 'gone' }).rejects(s3Error('NoSuchUpload', 404));
    s3.on(AbortMultipartUploadCommand, { UploadId: 'denied' }).rejects(s3Error('AccessDenied', 403));
    const { run, deps } = handler();
    await expect(run({ action: 'clean-up', job, startedAt })).resolves.toEqual({
      aborted: ['gone'],
      kept: [],
      failed: [{ uploadId: 'denied', cause: 'AccessDenied' }],
    });
    expect(deps.log.error).toHaveBeenCalledWith(
      'Could not abort uploads left on s3://acme-dr/media/film.mov',
      expect.objectContaining({ failed: [{ uploadId: 'denied', cause: 'AccessDenied' }] }),
    );
    // The copy itself is not at fault: the prepare step creates its upload all the same.
    await expect(run({ action: 'prepare', job, startedAt })).resolves.toMatchObject({ uploadId: 'up-1' });
  });

  it('It should fail retryably, before creating anything, when an abort or the listing may pass on a retry', async () => {
    s3.on(ListMultipartUploadsCommand).resolves({ Uploads: [upload('crashed', '2026-11-21T18:50:01Z')] });
    s3.on(AbortMultipartUploadCommand).rejects(s3Error('SlowDown', 503));
    await expect(handler().run({ action: 'prepare', job, startedAt })).rejects.toMatchObject({
      name: 'RetryableCopyError',
      message: expect.stringContaining('SlowDown'),
    });
    s3.on(ListMultipartUploadsCommand).rejects(s3Error('InternalError', 500));
    await expect(handler().run({ action: 'clean-up', job, startedAt })).rejects.toMatchObject({
      name: 'RetryableCopyError',
    });
    expect(s3).not.toReceiveCommand(CreateMultipartUploadCommand);
  });

  it('It should log and go on when the uploads cannot be listed at all (no permission)', async () => {
    s3.on(ListMultipartUploadsCommand).rejects(s3Error('AccessDenied', 403));
    const { run, deps } = handler();
    await expect(run({ action: 'prepare', job, startedAt })).resolves.toMatchObject({ uploadId: 'up-1' });
    expect(deps.log.error).toHaveBeenCalledWith(
      'Could not look for uploads left on s3://acme-dr/media/film.mov: AccessDenied',
      expect.anything(),
    );
  });

  it('It should reject a clean-up without the execution start', async () => {
    await expect(handler().run({ action: 'clean-up', job })).rejects.toMatchObject({
      name: 'MalformedEventError',
    });
  });
});

describe('object-copy-step: a completion retried after S3 completed', () => {
  const input = { action: 'complete', job, upload: { uploadId: 'up-1', partCount: 3, expectedETag: '' } };
  const replicaOf = (overrides: Partial<SourceObject> = {}) => ({
    ContentLength: SIZE,
    ETag: '"0123456789abcdef0123456789abcdef-3"',
    Metadata: { camera: 'a', ...markersFor({ ...source, ...overrides, rule: 'big' }) },
  });

  it('It should report the replica an earlier attempt completed, without completing again', async () => {
    s3.on(ListPartsCommand).rejects(s3Error('NoSuchUpload', 404));
    s3.on(HeadObjectCommand, { Bucket: 'acme-dr' }).resolves(replicaOf());
    const { run, deps } = handler();
    await expect(run(input)).resolves.toMatchObject({
      status: 'copied',
      target: 's3://acme-dr/media/film.mov',
      etag: '0123456789abcdef0123456789abcdef-3',
      bytes: SIZE,
    });
    expect(s3).not.toReceiveCommand(CompleteMultipartUploadCommand);
    expect(deps.metrics.copied).toHaveBeenCalledWith('big', SIZE, 600_000);
  });

  it('It should do the same when the upload disappears between ListParts and CompleteMultipartUpload', async () => {
    s3.on(ListPartsCommand).resolves({ Parts: [1, 2, 3].map((n) => ({ PartNumber: n, ETag: `"e${n}"` })) });
    s3.on(CompleteMultipartUploadCommand).rejects(s3Error('NoSuchUpload', 404));
    s3.on(HeadObjectCommand, { Bucket: 'acme-dr' }).resolves(replicaOf());
    await expect(handler().run(input)).resolves.toMatchObject({ status: 'copied' });
  });

  it('It should fail with NoSuchUpload when the key holds anything but this copy of this source event', async () => {
    s3.on(ListPartsCommand).rejects(s3Error('NoSuchUpload', 404));
    const cases = [
      replicaOf({ sequencer: '0055AED6DCD9999999' }), // another event's replica
      { ...replicaOf(), ContentLength: SIZE - 1 },
      { ...replicaOf(), ETag: '"0123456789abcdef0123456789abcdef-2"' },
      { ContentLength: SIZE, ETag: '"x-3"', Metadata: {} }, // not written by Ferry
    ];
    for (const replica of cases) {
      s3.on(HeadObjectCommand, { Bucket: 'acme-dr' }).resolves(replica);
      await expect(handler().run(input)).rejects.toMatchObject({
        name: 'PermanentCopyError',
        message: expect.stringContaining('NoSuchUpload'),
      });
    }
    s3.on(HeadObjectCommand, { Bucket: 'acme-dr' }).rejects(s3Error('NotFound', 404));
    await expect(handler().run(input)).rejects.toMatchObject({
      message: expect.stringContaining('NoSuchUpload'),
    });
  });
});

describe('execution names', () => {
  it('It should name the same copy the same way, and different copies differently, within 80 characters', () => {
    const name = executionNameOf(job);
    expect(name).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
    expect(executionNameOf(structuredClone(job))).toBe(name);
    expect(executionNameOf({ ...job, source: { ...source, etag: 'other' } })).not.toBe(name);
    expect(executionNameOf({ ...job, reason: 'SlowDown' })).toBe(name); // the reason is not the copy's identity
  });
});

describe('object-copy-step: ordering against the replica and the source (issue 11 §1)', () => {
  const complete = { action: 'complete', job, upload: { uploadId: 'up-1', partCount: 3, expectedETag: '' } };
  const versioned = { ...job, source: { ...source, versionId: 'v1' } };
  const replicaAt = (sequencer: string, etag = '"older-replica"') => ({
    ContentLength: SIZE,
    ETag: etag,
    Metadata: markersFor({ ...source, sequencer, rule: 'big' }),
  });
  const NEWER = '0055AED6DCD90281F0';
  const OLDER = '0055AED6DCD9028100';
  const listed = () =>
    s3.on(ListPartsCommand).resolves({
      Parts: [1, 2, 3].map((n) => ({ PartNumber: n, ETag: `"e${n}"` })),
      IsTruncated: false,
    });
  /** The source's current object, read without a version on the event's ETag. */
  const currentSource = () => ({ Bucket: 'acme-prod', Key: 'media/film.mov', IfMatch: source.etag });

  it('It should not even create an upload when a newer replica is already at the key, and count the skip', async () => {
    s3.on(HeadObjectCommand, { Bucket: 'acme-dr' }).resolves(replicaAt(NEWER));
    const { run, deps } = handler();
    await expect(run({ action: 'prepare', job })).rejects.toMatchObject({
      name: 'SourceChangedError',
      message: expect.stringContaining('newer-replica'),
    });
    expect(s3).not.toReceiveCommand(CreateMultipartUploadCommand);
    expect(deps.metrics.skipped).toHaveBeenCalledWith('big', 'newer-replica');
  });

  it('It should not create an upload for a version that is no longer the current one', async () => {
    s3.on(HeadObjectCommand, currentSource()).resolves({ VersionId: 'v2', ETag: `"${source.etag}"` });
    const { run, deps } = handler();
    await expect(run({ action: 'prepare', job: versioned })).rejects.toMatchObject({
      name: 'SourceChangedError',
    });
    expect(s3).not.toReceiveCommand(CreateMultipartUploadCommand);
    expect(deps.metrics.skipped).toHaveBeenCalledWith('big', 'source-changed');
  });

  it('It should complete only if the key is still absent when nothing was there', async () => {
    listed();
    s3.on(CompleteMultipartUploadCommand).resolves({ ETag: '"final-3"' });
    s3.on(HeadObjectCommand, { Bucket: 'acme-dr' })
      .rejectsOnce(s3Error('NotFound', 404))
      .resolves({ ContentLength: SIZE });
    await expect(handler().run(complete)).resolves.toMatchObject({ status: 'copied' });
    expect(s3).toReceiveCommandWith(CompleteMultipartUploadCommand, { IfNoneMatch: '*' });
    expect(s3).toReceiveCommandWith(HeadObjectCommand, currentSource());
  });

  it('It should complete over an older replica only if it is still the one it read', async () => {
    listed();
    s3.on(CompleteMultipartUploadCommand).resolves({ ETag: '"final-3"' });
    s3.on(HeadObjectCommand, { Bucket: 'acme-dr' })
      .resolvesOnce(replicaAt(OLDER))
      .resolves({ ContentLength: SIZE });
    await expect(handler().run(complete)).resolves.toMatchObject({ status: 'copied' });
    const call = s3.commandCalls(CompleteMultipartUploadCommand)[0]?.args[0].input;
    expect(call).toMatchObject({ IfMatch: '"older-replica"' });
    expect(call).not.toHaveProperty('IfNoneMatch');
  });

  it('It should not complete when a newer replica landed during the part copies, and end as newer-replica', async () => {
    listed();
    s3.on(HeadObjectCommand, { Bucket: 'acme-dr' }).resolves(replicaAt(NEWER));
    const { run, deps } = handler();
    await expect(run(complete)).rejects.toMatchObject({
      name: 'SourceChangedError',
      message: expect.stringContaining('newer-replica'),
    });
    expect(s3).not.toReceiveCommand(CompleteMultipartUploadCommand);
    expect(deps.metrics.skipped).toHaveBeenCalledWith('big', 'newer-replica');
    expect(deps.metrics.copied).not.toHaveBeenCalled();
  });

  it('It should not complete when the source was overwritten after the last part copy', async () => {
    listed();
    s3.on(HeadObjectCommand, currentSource()).rejects(s3Error('PreconditionFailed', 412));
    await expect(handler().run(complete)).rejects.toMatchObject({ name: 'SourceChangedError' });
    expect(s3).not.toReceiveCommand(CompleteMultipartUploadCommand);
  });

  it('It should not complete a version deleted since (a delete marker is current): no resurrection', async () => {
    listed();
    s3.on(HeadObjectCommand, currentSource()).rejects(s3Error('NotFound', 404));
    await expect(handler().run({ ...complete, job: versioned })).rejects.toMatchObject({
      name: 'SourceChangedError',
    });
    expect(s3).not.toReceiveCommand(CompleteMultipartUploadCommand);
  });

  it.each([
    ['PreconditionFailed', 412],
    ['ConditionalRequestConflict', 409],
  ])(
    'It should re-read the replica after a %s and decide again, never completing blindly',
    async (code, status) => {
      listed();
      s3.on(CompleteMultipartUploadCommand).rejectsOnce(s3Error(code, status));
      s3.on(HeadObjectCommand, { Bucket: 'acme-dr' })
        .resolvesOnce(replicaAt(OLDER))
        .resolves(replicaAt(NEWER, '"newer"'));
      await expect(handler().run(complete)).rejects.toMatchObject({
        message: expect.stringContaining('newer-replica'),
      });
      expect(s3).toReceiveCommandTimes(CompleteMultipartUploadCommand, 1);
    },
  );

  describe('completing from what the prepare step read and the Map carried (issue 17: fewer rounds)', () => {
    const carried = [1, 2, 3].map((n) => ({ PartNumber: n, ETag: `"e${n}"` }));
    const batches = [
      { copied: 2, parts: carried.slice(0, 2) },
      { copied: 1, parts: carried.slice(2) },
    ];
    const fromPrepare = (condition: object) => ({
      ...complete,
      upload: { ...complete.upload, condition },
      batches,
    });

    it('It should complete from the carried parts on the read condition, with the size for S3 to check, and read only the source', async () => {
      s3.on(CompleteMultipartUploadCommand).resolves({ ETag: '"final-3"' });
      await expect(handler().run(fromPrepare({ ifMatch: '"older-replica"' }))).resolves.toMatchObject({
        status: 'copied',
        etag: 'final-3',
      });
      expect(s3).not.toReceiveCommand(ListPartsCommand);
      // One HEAD: the source is still current. The replica key is neither read before nor after.
      expect(s3).toReceiveCommandTimes(HeadObjectCommand, 1);
      expect(s3).toReceiveCommandWith(HeadObjectCommand, currentSource());
      expect(s3).toReceiveCommandWith(CompleteMultipartUploadCommand, {
        IfMatch: '"older-replica"',
        MpuObjectSize: SIZE,
        MultipartUpload: { Parts: carried },
      });
    });

    it('It should list the parts when a batch result lacks them', async () => {
      listed();
      s3.on(CompleteMultipartUploadCommand).resolves({ ETag: '"final-3"' });
      const partial = { ...fromPrepare({ ifNoneMatch: '*' }), batches: [batches[0], { copied: 1 }] };
      await expect(handler().run(partial)).resolves.toMatchObject({ status: 'copied' });
      expect(s3).toReceiveCommandTimes(ListPartsCommand, 1);
      expect(s3).toReceiveCommandWith(CompleteMultipartUploadCommand, { IfNoneMatch: '*' });
    });

    it('It should not complete v1 when the source changed, even on a condition that still holds', async () => {
      s3.on(HeadObjectCommand, currentSource()).rejects(s3Error('PreconditionFailed', 412));
      await expect(handler().run(fromPrepare({ ifNoneMatch: '*' }))).rejects.toMatchObject({
        name: 'SourceChangedError',
      });
      expect(s3).not.toReceiveCommand(CompleteMultipartUploadCommand);
    });

    it('It should read the key and decide again when a newer replica landed since the prepare step (412)', async () => {
      s3.on(CompleteMultipartUploadCommand).rejects(s3Error('PreconditionFailed', 412));
      s3.on(HeadObjectCommand, { Bucket: 'acme-dr' }).resolves(replicaAt(NEWER, '"newer"'));
      const { run, deps } = handler();
      await expect(run(fromPrepare({ ifNoneMatch: '*' }))).rejects.toMatchObject({
        name: 'SourceChangedError',
        message: expect.stringContaining('newer-replica'),
      });
      expect(s3).toReceiveCommandTimes(CompleteMultipartUploadCommand, 1);
      expect(s3).toReceiveCommandWith(HeadObjectCommand, { Bucket: 'acme-dr' });
      expect(deps.metrics.skipped).toHaveBeenCalledWith('big', 'newer-replica');
    });
  });

  it('It should complete on the new condition when the replica that moved is still older', async () => {
    listed();
    s3.on(CompleteMultipartUploadCommand)
      .rejectsOnce(s3Error('PreconditionFailed', 412))
      .resolves({ ETag: '"final-3"' });
    s3.on(HeadObjectCommand, { Bucket: 'acme-dr' })
      .resolvesOnce(replicaAt(OLDER, '"first"'))
      .resolvesOnce(replicaAt(OLDER, '"second"'))
      .resolves({ ContentLength: SIZE });
    await expect(handler().run(complete)).resolves.toMatchObject({ status: 'copied' });
    expect(s3).toReceiveNthCommandWith(CompleteMultipartUploadCommand, 1, { IfMatch: '"first"' });
    expect(s3).toReceiveNthCommandWith(CompleteMultipartUploadCommand, 2, { IfMatch: '"second"' });
  });

  it('It should end a copy whose source was deleted since the event quietly, at the prepare and the part copies', async () => {
    s3.on(HeadObjectCommand, { Bucket: 'acme-prod', PartNumber: 1 }).rejects(s3Error('NotFound', 404));
    await expect(handler().run({ action: 'prepare', job })).rejects.toMatchObject({
      name: 'SourceChangedError',
    });
    s3.on(UploadPartCopyCommand).rejects(s3Error('NoSuchKey', 404));
    const parts = {
      action: 'copy-parts',
      job,
      upload: { uploadId: 'up-1', partSize: 6 * MiB },
      batch: { first: 1, last: 1 },
    };
    await expect(handler().run(parts)).rejects.toMatchObject({ name: 'SourceChangedError' });
    expect(s3).not.toReceiveCommand(CreateMultipartUploadCommand);
  });

  it('It should count a retried single copy that finds a newer replica as a skip', async () => {
    const single = { ...versioned, mode: 'single', source: { ...versioned.source, size: 5 } };
    s3.on(HeadObjectCommand, { Bucket: 'acme-prod' }).resolves({
      ContentLength: 5,
      ETag: `"${source.etag}"`,
      VersionId: 'v1',
    });
    s3.on(HeadObjectCommand, { Bucket: 'acme-dr' }).resolves(replicaAt(NEWER));
    const { run, deps } = handler();
    await expect(run({ action: 'copy', job: single })).resolves.toMatchObject({
      status: 'skipped',
      reason: 'newer-replica',
    });
    expect(s3).not.toReceiveCommand(CopyObjectCommand);
    expect(deps.metrics.skipped).toHaveBeenCalledWith('big', 'newer-replica');
    // Logged as the handlers log a skip (one logOutcome), the skip's reason kept over the job's.
    expect(deps.log.debug).toHaveBeenCalledWith(
      'Skipped: newer-replica',
      expect.objectContaining({
        status: 'skipped',
        target: 's3://acme-dr/media/film.mov',
        reason: 'newer-replica',
      }),
    );
  });

  it('It should give the key up after losing the race three times, as source-changed', async () => {
    listed();
    s3.on(CompleteMultipartUploadCommand).rejects(s3Error('PreconditionFailed', 412));
    s3.on(HeadObjectCommand, { Bucket: 'acme-dr' }).resolves(replicaAt(OLDER));
    await expect(handler().run(complete)).rejects.toMatchObject({ name: 'SourceChangedError' });
    expect(s3).toReceiveCommandTimes(CompleteMultipartUploadCommand, 3);
  });
});

describe('object-copy-step: a part copy refused for a source under a KMS key', () => {
  const KEY = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
  const copyParts = (copyJob: CopyJob) =>
    handler().run({
      action: 'copy-parts',
      job: copyJob,
      upload: { uploadId: 'up-1', partSize: 6 * MiB },
      batch: { first: 1, last: 1 },
    });
  /** The job's rule, naming these source keys. */
  const naming = (kmsKeys: string[]): CopyJob => ({
    ...job,
    plan: { ...job.plan, rule: { ...job.plan.rule, objects: { ...job.plan.rule.objects, kmsKeys } } },
  });
  beforeEach(() => {
    s3.on(UploadPartCopyCommand).rejects(s3Error('AccessDenied', 403));
  });

  it('It should fail for good as SourceKeyNotConfigured, naming the key the job carries, when the rule does not name it', async () => {
    const carrying = { ...job, attributes: { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: KEY } };
    await expect(copyParts(carrying)).rejects.toMatchObject({
      name: 'PermanentCopyError',
      message: expect.stringMatching(new RegExp(`^SourceKeyNotConfigured: .*${KEY}.*objects\\.kmsKeys`)),
    });
    expect(s3).toReceiveCommandTimes(HeadObjectCommand, 0);
  });

  it('It should read the key by one HEAD when the job has none, and leave a named key’s refusal as it is', async () => {
    s3.on(HeadObjectCommand, { Bucket: 'acme-prod' }).resolves({
      ServerSideEncryption: 'aws:kms',
      SSEKMSKeyId: KEY,
    });
    await expect(copyParts(job)).rejects.toMatchObject({
      message: expect.stringMatching(/^SourceKeyNotConfigured: /),
    });
    expect(s3).toReceiveCommandTimes(HeadObjectCommand, 1);
    await expect(copyParts(naming([KEY]))).rejects.toMatchObject({
      name: 'PermanentCopyError',
      message: expect.stringMatching(/^AccessDenied: /),
    });
  });
});
