import { PassThrough } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  RestoreObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { refusal, usePlainS3Sandbox } from '#test/support/s3-answers';

/** Conditional requests as S3 answers them: writes, deletes, reads, copy sources; archived sources. */
const { sandbox, s3 } = usePlainS3Sandbox();
const Bucket = 's3-plain';

const put = async (Key: string, Body: string) =>
  (await s3().send(new PutObjectCommand({ Bucket, Key, Body }))).ETag ?? '';
const read = async (Key: string) =>
  (await s3().send(new GetObjectCommand({ Bucket, Key }))).Body?.transformToString();
const failed = { status: 412, code: 'PreconditionFailed' };

describe('sandbox S3: conditional writes', () => {
  it('refuses PutObject If-None-Match * over an object (412) and writes where there is none', async () => {
    await s3().send(new PutObjectCommand({ Bucket, Key: 'cw/new', Body: 'first', IfNoneMatch: '*' }));
    expect(
      await refusal(
        s3().send(new PutObjectCommand({ Bucket, Key: 'cw/new', Body: 'second', IfNoneMatch: '*' })),
      ),
    ).toEqual(failed);
    expect(await read('cw/new')).toBe('first');
  });

  it('answers PutObject If-Match with 412 on another ETag and 404 NoSuchKey where there is no object', async () => {
    const etag = await put('cw/match', 'one');
    await s3().send(new PutObjectCommand({ Bucket, Key: 'cw/match', Body: 'two', IfMatch: etag }));
    expect(
      await refusal(
        s3().send(new PutObjectCommand({ Bucket, Key: 'cw/match', Body: 'three', IfMatch: etag })),
      ),
    ).toEqual(failed);
    expect(
      await refusal(s3().send(new PutObjectCommand({ Bucket, Key: 'cw/none', Body: 'x', IfMatch: etag }))),
    ).toEqual({
      status: 404,
      code: 'NoSuchKey',
    });
    expect(await read('cw/match')).toBe('two');
  });

  it('applies If-Match and If-None-Match to the destination of CopyObject', async () => {
    await put('cw/source', 'source');
    const etag = await put('cw/dest', 'dest');
    const copy = (condition: { IfMatch?: string; IfNoneMatch?: string }) =>
      s3().send(
        new CopyObjectCommand({ Bucket, Key: 'cw/dest', CopySource: `${Bucket}/cw/source`, ...condition }),
      );
    expect(await refusal(copy({ IfNoneMatch: '*' }))).toEqual(failed);
    expect(await refusal(copy({ IfMatch: '"0123456789abcdef0123456789abcdef"' }))).toEqual(failed);
    await copy({ IfMatch: etag });
    expect(await read('cw/dest')).toBe('source');
  });

  it('refuses a CompleteMultipartUpload If-Match on a replaced object (412), and If-None-Match over one', async () => {
    const etag = await put('cw/mpu', 'old');
    const complete = async (condition: { IfMatch?: string; IfNoneMatch?: string }) => {
      const { UploadId } = await s3().send(new CreateMultipartUploadCommand({ Bucket, Key: 'cw/mpu' }));
      const part = await s3().send(
        new UploadPartCommand({ Bucket, Key: 'cw/mpu', UploadId, PartNumber: 1, Body: 'multipart' }),
      );
      return s3().send(
        new CompleteMultipartUploadCommand({
          Bucket,
          Key: 'cw/mpu',
          UploadId,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
          ...condition,
        }),
      );
    };
    await put('cw/mpu', 'newer');
    expect(await refusal(complete({ IfMatch: etag }))).toEqual(failed);
    expect(await refusal(complete({ IfNoneMatch: '*' }))).toEqual(failed);
    expect(await read('cw/mpu')).toBe('newer');
  });

  it('answers 409 ConditionalRequestConflict to a conditional completion when the key was deleted during the upload', async () => {
    await put('cw/conflict', 'old');
    const { UploadId } = await s3().send(new CreateMultipartUploadCommand({ Bucket, Key: 'cw/conflict' }));
    const part = await s3().send(
      new UploadPartCommand({ Bucket, Key: 'cw/conflict', UploadId, PartNumber: 1, Body: 'multipart' }),
    );
    await s3().send(new DeleteObjectCommand({ Bucket, Key: 'cw/conflict' }));
    expect(
      await refusal(
        s3().send(
          new CompleteMultipartUploadCommand({
            Bucket,
            Key: 'cw/conflict',
            UploadId,
            IfNoneMatch: '*',
            MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
          }),
        ),
      ),
    ).toEqual({ status: 409, code: 'ConditionalRequestConflict' });
    // The upload is gone after a conflict: S3 says to initiate another.
    expect(
      await refusal(s3().send(new AbortMultipartUploadCommand({ Bucket, Key: 'cw/conflict', UploadId }))),
    ).toEqual({
      status: 404,
      code: 'NoSuchUpload',
    });
  });

  it('refuses DeleteObject If-Match on another ETag (412) and deletes on the object ETag', async () => {
    const etag = await put('cw/delete', 'x');
    expect(
      await refusal(
        s3().send(
          new DeleteObjectCommand({
            Bucket,
            Key: 'cw/delete',
            IfMatch: '"ffffffffffffffffffffffffffffffff"',
          }),
        ),
      ),
    ).toEqual(failed);
    await s3().send(new DeleteObjectCommand({ Bucket, Key: 'cw/delete', IfMatch: etag }));
    expect(await refusal(read('cw/delete'))).toEqual({ status: 404, code: 'NoSuchKey' });
  });
});

describe('sandbox S3: conditional reads', () => {
  const past = new Date(Date.now() - 3_600_000);
  const future = new Date(Date.now() + 3_600_000);

  it('answers GetObject If-Match on another ETag 412, If-None-Match on its ETag 304', async () => {
    const etag = await put('cr/a', 'a');
    expect(
      await refusal(s3().send(new GetObjectCommand({ Bucket, Key: 'cr/a', IfMatch: '"nope"' }))),
    ).toEqual(failed);
    expect(
      await refusal(s3().send(new GetObjectCommand({ Bucket, Key: 'cr/a', IfNoneMatch: etag }))),
    ).toMatchObject({
      status: 304,
    });
    const head = await s3().send(new HeadObjectCommand({ Bucket, Key: 'cr/a', IfMatch: etag }));
    expect(head.ETag).toBe(etag);
  });

  it('answers If-Modified-Since a later time 304 and If-Unmodified-Since an earlier time 412', async () => {
    await put('cr/b', 'b');
    expect(
      await refusal(s3().send(new GetObjectCommand({ Bucket, Key: 'cr/b', IfModifiedSince: future }))),
    ).toMatchObject({
      status: 304,
    });
    expect(
      await refusal(s3().send(new GetObjectCommand({ Bucket, Key: 'cr/b', IfUnmodifiedSince: past }))),
    ).toEqual(failed);
    const fresh = await s3().send(new GetObjectCommand({ Bucket, Key: 'cr/b', IfModifiedSince: past }));
    expect(await fresh.Body?.transformToString()).toBe('b');
  });

  it('lets a true If-Match win over a false If-Unmodified-Since, as S3 documents', async () => {
    const etag = await put('cr/c', 'c');
    const object = await s3().send(
      new GetObjectCommand({ Bucket, Key: 'cr/c', IfMatch: etag, IfUnmodifiedSince: past }),
    );
    expect(await object.Body?.transformToString()).toBe('c');
  });
});

describe('sandbox S3: copy-source conditions', () => {
  const past = new Date(Date.now() - 3_600_000);
  const future = new Date(Date.now() + 3_600_000);
  const copy = (condition: Record<string, unknown>) =>
    s3().send(
      new CopyObjectCommand({ Bucket, Key: 'cs/copy', CopySource: `${Bucket}/cs/source`, ...condition }),
    );

  it('refuses each failing x-amz-copy-source-if-* condition with 412', async () => {
    const etag = await put('cs/source', 'source');
    expect(await refusal(copy({ CopySourceIfMatch: '"other"' }))).toEqual(failed);
    expect(await refusal(copy({ CopySourceIfNoneMatch: etag }))).toEqual(failed);
    expect(await refusal(copy({ CopySourceIfModifiedSince: future }))).toEqual(failed);
    expect(await refusal(copy({ CopySourceIfUnmodifiedSince: past }))).toEqual(failed);
    await copy({ CopySourceIfMatch: etag, CopySourceIfModifiedSince: past });
    expect(await read('cs/copy')).toBe('source');
  });

  it('copies when If-Match holds and If-Unmodified-Since does not, and refuses when If-None-Match fails and If-Modified-Since holds', async () => {
    const etag = await put('cs/source', 'precedence');
    await copy({ CopySourceIfMatch: etag, CopySourceIfUnmodifiedSince: past });
    expect(await read('cs/copy')).toBe('precedence');
    expect(await refusal(copy({ CopySourceIfNoneMatch: etag, CopySourceIfModifiedSince: past }))).toEqual(
      failed,
    );
  });

  it('refuses an UploadPartCopy whose copy-source If-Match fails with 412', async () => {
    await put('cs/source', 'part source');
    const { UploadId } = await s3().send(new CreateMultipartUploadCommand({ Bucket, Key: 'cs/mpu' }));
    expect(
      await refusal(
        s3().send(
          new UploadPartCopyCommand({
            Bucket,
            Key: 'cs/mpu',
            UploadId,
            PartNumber: 1,
            CopySource: `${Bucket}/cs/source`,
            CopySourceIfMatch: '"other"',
          }),
        ),
      ),
    ).toEqual(failed);
  });
});

describe('sandbox S3: archived sources', () => {
  it('refuses GetObject, CopyObject and UploadPartCopy of a GLACIER object with 403 InvalidObjectState until restored', async () => {
    await s3().send(new PutObjectCommand({ Bucket, Key: 'arc/cold', Body: 'cold', StorageClass: 'GLACIER' }));
    const archived = { status: 403, code: 'InvalidObjectState' };
    expect(await refusal(read('arc/cold'))).toEqual(archived);
    expect(
      await refusal(
        s3().send(new CopyObjectCommand({ Bucket, Key: 'arc/copy', CopySource: `${Bucket}/arc/cold` })),
      ),
    ).toEqual(archived);
    const { UploadId } = await s3().send(new CreateMultipartUploadCommand({ Bucket, Key: 'arc/mpu' }));
    expect(
      await refusal(
        s3().send(
          new UploadPartCopyCommand({
            Bucket,
            Key: 'arc/mpu',
            UploadId,
            PartNumber: 1,
            CopySource: `${Bucket}/arc/cold`,
          }),
        ),
      ),
    ).toEqual(archived);
    const head = await s3().send(new HeadObjectCommand({ Bucket, Key: 'arc/cold' }));
    expect(head.StorageClass).toBe('GLACIER');

    await s3().send(new RestoreObjectCommand({ Bucket, Key: 'arc/cold', RestoreRequest: { Days: 1 } }));
    const restored = await s3().send(new HeadObjectCommand({ Bucket, Key: 'arc/cold' }));
    expect(restored.Restore).toMatch(/^ongoing-request="false", expiry-date=/);
    await s3().send(new CopyObjectCommand({ Bucket, Key: 'arc/copy', CopySource: `${Bucket}/arc/cold` }));
    expect(await read('arc/copy')).toBe('cold');
  });

  it('refuses DEEP_ARCHIVE sources as well', async () => {
    await s3().send(
      new PutObjectCommand({ Bucket, Key: 'arc/deep', Body: 'deep', StorageClass: 'DEEP_ARCHIVE' }),
    );
    expect(
      await refusal(
        s3().send(new CopyObjectCommand({ Bucket, Key: 'arc/copy2', CopySource: `${Bucket}/arc/deep` })),
      ),
    ).toEqual({ status: 403, code: 'InvalidObjectState' });
  });
});

describe('sandbox S3: a conditional write overtaken by a delete', () => {
  it('answers a PutObject If-Match 409 ConditionalRequestConflict when the key is deleted while its body streams', async () => {
    const etag = await put('cw/streaming', 'old');
    const body = new PassThrough();
    const puts = () => sandbox().requests.get('PutObject') ?? 0;
    const before = puts();
    const write = refusal(
      s3().send(
        new PutObjectCommand({ Bucket, Key: 'cw/streaming', Body: body, ContentLength: 3, IfMatch: etag }),
      ),
    );
    body.write('n');
    // The write has begun once the sandbox counted it and the gateway took it up (the turn after).
    while (puts() === before) await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    await s3().send(new DeleteObjectCommand({ Bucket, Key: 'cw/streaming' }));
    body.end('ew');
    expect(await write).toEqual({ status: 409, code: 'ConditionalRequestConflict' });
  });
});
