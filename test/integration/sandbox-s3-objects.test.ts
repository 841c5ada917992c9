import { createHash } from 'node:crypto';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { refusal, usePlainS3Sandbox } from '#test/support/s3-answers';

/** Object attributes, copies and multipart uploads as S3 stores and answers them. */
const { s3 } = usePlainS3Sandbox();
const Bucket = 's3-plain';
const MiB = 1024 * 1024;
const md5 = (bytes: Buffer | string) => createHash('md5').update(bytes).digest();

/** A multipart object of the given part sizes (bytes 0, 1, 2… per part), and its bytes. */
async function multipart(Key: string, sizes: number[]) {
  const { UploadId } = await s3().send(
    new CreateMultipartUploadCommand({ Bucket, Key, ContentType: 'text/x-parts' }),
  );
  const bodies = sizes.map((size, i) => Buffer.alloc(size, i));
  const parts = [];
  for (const [i, Body] of bodies.entries()) {
    const { ETag } = await s3().send(
      new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: i + 1, Body }),
    );
    parts.push({ PartNumber: i + 1, ETag });
  }
  const done = await s3().send(
    new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: parts } }),
  );
  return { etag: done.ETag, bytes: Buffer.concat(bodies), bodies };
}

describe('sandbox S3: object attributes', () => {
  it('stores and returns metadata and content headers, and omits the storage class of STANDARD objects', async () => {
    await s3().send(
      new PutObjectCommand({
        Bucket,
        Key: 'attr/a',
        Body: 'a',
        Metadata: { colour: 'blue' },
        ContentType: 'text/plain',
        ContentEncoding: 'identity',
        ContentDisposition: 'inline',
        ContentLanguage: 'en',
        CacheControl: 'max-age=60',
        Expires: new Date('2030-01-01T00:00:00Z'),
        WebsiteRedirectLocation: '/elsewhere',
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: 'alias/ferry',
        Tagging: 'a=1&b=2',
      }),
    );
    const head = await s3().send(new HeadObjectCommand({ Bucket, Key: 'attr/a' }));
    expect(head).toMatchObject({
      Metadata: { colour: 'blue' },
      ContentType: 'text/plain',
      ContentEncoding: 'identity',
      ContentDisposition: 'inline',
      ContentLanguage: 'en',
      CacheControl: 'max-age=60',
      WebsiteRedirectLocation: '/elsewhere',
      ServerSideEncryption: 'aws:kms',
      SSEKMSKeyId: 'alias/ferry',
      TagCount: 2,
    });
    expect(head.Expires?.toISOString()).toBe('2030-01-01T00:00:00.000Z');
    expect(head.StorageClass).toBeUndefined();
    const plain = await s3().send(new PutObjectCommand({ Bucket, Key: 'attr/plain', Body: 'p' }));
    expect(plain.ServerSideEncryption).toBe('AES256');
  });

  it('keeps metadata with MetadataDirective COPY (not the website redirect) and replaces it with REPLACE', async () => {
    await s3().send(
      new CopyObjectCommand({
        Bucket,
        Key: 'attr/copied',
        CopySource: `${Bucket}/attr/a`,
        StorageClass: 'STANDARD_IA',
      }),
    );
    const copied = await s3().send(new HeadObjectCommand({ Bucket, Key: 'attr/copied' }));
    expect(copied).toMatchObject({
      Metadata: { colour: 'blue' },
      ContentType: 'text/plain',
      StorageClass: 'STANDARD_IA',
      TagCount: 2,
    });
    expect(copied.WebsiteRedirectLocation).toBeUndefined();
    expect(copied.ServerSideEncryption).toBe('AES256');
    await s3().send(
      new CopyObjectCommand({
        Bucket,
        Key: 'attr/replaced',
        CopySource: `${Bucket}/attr/a`,
        MetadataDirective: 'REPLACE',
        Metadata: { shape: 'round' },
        TaggingDirective: 'REPLACE',
        Tagging: 'c=3',
      }),
    );
    const replaced = await s3().send(new HeadObjectCommand({ Bucket, Key: 'attr/replaced' }));
    expect(replaced.Metadata).toEqual({ shape: 'round' });
    expect(replaced.ContentType).toBe('binary/octet-stream');
    const tags = await s3().send(new GetObjectTaggingCommand({ Bucket, Key: 'attr/replaced' }));
    expect(tags.TagSet).toEqual([{ Key: 'c', Value: '3' }]);
  });

  it('gives an object written under SSE-KMS an ETag that is not the MD5 of its bytes, and a copy of it under SSE-S3 the MD5 (API_Object, "ETag")', async () => {
    const Body = 'the same bytes, three ways';
    const hex = md5(Body).toString('hex');
    const kms = { ServerSideEncryption: 'aws:kms' as const, SSEKMSKeyId: 'alias/ferry' };
    const put = await s3().send(new PutObjectCommand({ Bucket, Key: 'sse/kms', Body, ...kms }));
    expect(put.ETag).not.toBe(`"${hex}"`);
    const dsse = await s3().send(
      new PutObjectCommand({ Bucket, Key: 'sse/dsse', Body, ServerSideEncryption: 'aws:kms:dsse' }),
    );
    expect(dsse.ETag).not.toBe(`"${hex}"`);
    const plain = await s3().send(new PutObjectCommand({ Bucket, Key: 'sse/s3', Body }));
    expect(plain.ETag).toBe(`"${hex}"`);
    // KMS to SSE-S3: the MD5 of the bytes, which the KMS source's ETag is not.
    const toPlain = await s3().send(
      new CopyObjectCommand({ Bucket, Key: 'sse/kms-copy', CopySource: `${Bucket}/sse/kms` }),
    );
    expect(toPlain.CopyObjectResult?.ETag).toBe(`"${hex}"`);
    // SSE-S3 to KMS: not the MD5, though the source's ETag is; a part copy of a KMS source is its range's MD5.
    const toKms = await s3().send(
      new CopyObjectCommand({ Bucket, Key: 'sse/s3-copy', CopySource: `${Bucket}/sse/s3`, ...kms }),
    );
    expect(toKms.CopyObjectResult?.ETag).not.toBe(`"${hex}"`);
    const { UploadId } = await s3().send(new CreateMultipartUploadCommand({ Bucket, Key: 'sse/parts' }));
    const part = await s3().send(
      new UploadPartCopyCommand({
        Bucket,
        Key: 'sse/parts',
        UploadId,
        PartNumber: 1,
        CopySource: `${Bucket}/sse/kms`,
      }),
    );
    expect(part.CopyPartResult?.ETag).toBe(`"${hex}"`);
    const head = await s3().send(new HeadObjectCommand({ Bucket, Key: 'sse/kms' }));
    expect(head).toMatchObject({ ETag: put.ETag, ServerSideEncryption: 'aws:kms' });
  });

  it('refuses a copy of an object to itself that changes nothing with 400 InvalidRequest', async () => {
    expect(
      await refusal(
        s3().send(new CopyObjectCommand({ Bucket, Key: 'attr/a', CopySource: `${Bucket}/attr/a` })),
      ),
    ).toEqual({
      status: 400,
      code: 'InvalidRequest',
    });
  });

  it('answers a Range GET with 206 and Content-Range, and an unsatisfiable one with 416 InvalidRange', async () => {
    await s3().send(new PutObjectCommand({ Bucket, Key: 'attr/range', Body: '0123456789' }));
    const part = await s3().send(new GetObjectCommand({ Bucket, Key: 'attr/range', Range: 'bytes=2-5' }));
    expect(part.$metadata.httpStatusCode).toBe(206);
    expect(part.ContentRange).toBe('bytes 2-5/10');
    expect(await part.Body?.transformToString()).toBe('2345');
    const suffix = await s3().send(new GetObjectCommand({ Bucket, Key: 'attr/range', Range: 'bytes=-3' }));
    expect(await suffix.Body?.transformToString()).toBe('789');
    expect(
      await refusal(s3().send(new GetObjectCommand({ Bucket, Key: 'attr/range', Range: 'bytes=10-' }))),
    ).toEqual({
      status: 416,
      code: 'InvalidRange',
    });
  });
});

describe('sandbox S3: multipart objects', () => {
  it('gives a completed upload the md5-of-part-md5s-N ETag, its parts on HEAD ?partNumber and ranges across parts', async () => {
    const { etag, bytes } = await multipart('mp/three', [5 * MiB, 5 * MiB, 1234]);
    const expected = createHash('md5')
      .update(
        Buffer.concat([
          md5(bytes.subarray(0, 5 * MiB)),
          md5(bytes.subarray(5 * MiB, 10 * MiB)),
          md5(bytes.subarray(10 * MiB)),
        ]),
      )
      .digest('hex');
    expect(etag).toBe(`"${expected}-3"`);
    const head = await s3().send(new HeadObjectCommand({ Bucket, Key: 'mp/three', PartNumber: 3 }));
    expect([head.PartsCount, head.ContentLength, head.ContentType]).toEqual([3, 1234, 'text/x-parts']);
    const across = await s3().send(
      new GetObjectCommand({ Bucket, Key: 'mp/three', Range: `bytes=${5 * MiB - 2}-${5 * MiB + 1}` }),
    );
    expect(Buffer.from((await across.Body?.transformToByteArray()) ?? [])).toEqual(Buffer.from([0, 0, 1, 1]));
    const whole = await s3().send(new GetObjectCommand({ Bucket, Key: 'mp/three' }));
    expect(Buffer.from((await whole.Body?.transformToByteArray()) ?? []).equals(bytes)).toBe(true);
  });

  it('gives CopyObject of a multipart source a single-part MD5 ETag, and part copies the MD5 of their range', async () => {
    const { bytes } = await multipart('mp/source', [5 * MiB, 100]);
    const copy = await s3().send(
      new CopyObjectCommand({ Bucket, Key: 'mp/copy', CopySource: `${Bucket}/mp/source` }),
    );
    expect(copy.CopyObjectResult?.ETag).toBe(`"${md5(bytes).toString('hex')}"`);
    const { UploadId } = await s3().send(new CreateMultipartUploadCommand({ Bucket, Key: 'mp/parts' }));
    const part = await s3().send(
      new UploadPartCopyCommand({
        Bucket,
        Key: 'mp/parts',
        UploadId,
        PartNumber: 1,
        CopySource: `${Bucket}/mp/source`,
        CopySourceRange: `bytes=${5 * MiB - 10}-${5 * MiB + 9}`,
      }),
    );
    expect(part.CopyPartResult?.ETag).toBe(
      `"${md5(bytes.subarray(5 * MiB - 10, 5 * MiB + 10)).toString('hex')}"`,
    );
  });

  it('gives a part copy the MD5 of its range whether it is one source part, spans parts, or is hashed off the main thread', async () => {
    // Parts of 9 MiB and 6 MiB: ranges of 8 MiB and more are hashed in a worker; a range that is exactly a
    // source part reuses that part's MD5. Every ETag must be the range's real MD5 either way.
    const { bytes } = await multipart('mp/layout', [9 * MiB, 6 * MiB]);
    const { UploadId } = await s3().send(new CreateMultipartUploadCommand({ Bucket, Key: 'mp/relaid' }));
    const ranges: [number, number][] = [
      [0, 9 * MiB - 1],
      [9 * MiB, 15 * MiB - 1],
      [MiB, 10 * MiB - 1],
      [0, 15 * MiB - 1],
    ];
    for (const [index, [first, last]] of ranges.entries()) {
      const part = await s3().send(
        new UploadPartCopyCommand({
          Bucket,
          Key: 'mp/relaid',
          UploadId,
          PartNumber: index + 1,
          CopySource: `${Bucket}/mp/layout`,
          CopySourceRange: `bytes=${first}-${last}`,
        }),
      );
      expect(part.CopyPartResult?.ETag).toBe(`"${md5(bytes.subarray(first, last + 1)).toString('hex')}"`);
    }
    // The completion's ETag comes from the part MD5s alone, as S3's does.
    const listed = await s3().send(new ListPartsCommand({ Bucket, Key: 'mp/relaid', UploadId }));
    const done = await s3().send(
      new CompleteMultipartUploadCommand({
        Bucket,
        Key: 'mp/relaid',
        UploadId,
        MultipartUpload: {
          Parts: (listed.Parts ?? []).map(({ PartNumber, ETag }) => ({ PartNumber, ETag })),
        },
      }),
    );
    const partMd5s = ranges.map(([first, last]) => md5(bytes.subarray(first, last + 1)));
    expect(done.ETag).toBe(`"${md5(Buffer.concat(partMd5s)).toString('hex')}-4"`);
  });

  it('refuses a completion with a small part (EntityTooSmall), parts out of order (InvalidPartOrder) or unknown (InvalidPart)', async () => {
    const { UploadId } = await s3().send(new CreateMultipartUploadCommand({ Bucket, Key: 'mp/bad' }));
    const one = await s3().send(
      new UploadPartCommand({ Bucket, Key: 'mp/bad', UploadId, PartNumber: 1, Body: 'small' }),
    );
    const two = await s3().send(
      new UploadPartCommand({ Bucket, Key: 'mp/bad', UploadId, PartNumber: 2, Body: 'last' }),
    );
    const complete = (Parts: { PartNumber: number; ETag: string | undefined }[]) =>
      refusal(
        s3().send(
          new CompleteMultipartUploadCommand({ Bucket, Key: 'mp/bad', UploadId, MultipartUpload: { Parts } }),
        ),
      );
    expect(
      await complete([
        { PartNumber: 1, ETag: one.ETag },
        { PartNumber: 2, ETag: two.ETag },
      ]),
    ).toEqual({
      status: 400,
      code: 'EntityTooSmall',
    });
    expect(
      await complete([
        { PartNumber: 2, ETag: two.ETag },
        { PartNumber: 1, ETag: one.ETag },
      ]),
    ).toEqual({
      status: 400,
      code: 'InvalidPartOrder',
    });
    expect(await complete([{ PartNumber: 1, ETag: two.ETag }])).toEqual({ status: 400, code: 'InvalidPart' });
    expect(await complete([{ PartNumber: 3, ETag: one.ETag }])).toEqual({ status: 400, code: 'InvalidPart' });
    // A single small part is a whole object: the last part has no minimum.
    await s3().send(
      new CompleteMultipartUploadCommand({
        Bucket,
        Key: 'mp/bad',
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 2, ETag: two.ETag }] },
      }),
    );
    const object = await s3().send(new GetObjectCommand({ Bucket, Key: 'mp/bad' }));
    expect(await object.Body?.transformToString()).toBe('last');
  });
});

describe('sandbox S3: the expected object size of a completion (x-amz-mp-object-size)', () => {
  it('refuses a completion whose parts do not add up to MpuObjectSize with 400 InvalidRequest, and keeps the upload', async () => {
    const Key = 'mp/sized';
    const { UploadId } = await s3().send(new CreateMultipartUploadCommand({ Bucket, Key }));
    const { ETag } = await s3().send(
      new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 1, Body: 'eleven byte' }),
    );
    const complete = (MpuObjectSize: number) =>
      s3().send(
        new CompleteMultipartUploadCommand({
          Bucket,
          Key,
          UploadId,
          MpuObjectSize,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag }] },
        }),
      );
    expect(await refusal(complete(12))).toEqual({ status: 400, code: 'InvalidRequest' });
    await expect(s3().send(new HeadObjectCommand({ Bucket, Key }))).rejects.toThrow();
    await complete(11);
    expect((await s3().send(new HeadObjectCommand({ Bucket, Key }))).ContentLength).toBe(11);
  });
});

describe('sandbox S3: ListParts', () => {
  it('pages parts by part number marker, with NextPartNumberMarker and IsTruncated', async () => {
    const { UploadId } = await s3().send(new CreateMultipartUploadCommand({ Bucket, Key: 'lp/parts' }));
    for (const PartNumber of [3, 1, 2])
      await s3().send(
        new UploadPartCommand({ Bucket, Key: 'lp/parts', UploadId, PartNumber, Body: `part ${PartNumber}` }),
      );
    const first = await s3().send(new ListPartsCommand({ Bucket, Key: 'lp/parts', UploadId, MaxParts: 2 }));
    expect(first.Parts?.map((part) => part.PartNumber)).toEqual([1, 2]);
    expect([first.IsTruncated, first.NextPartNumberMarker]).toEqual([true, '2']);
    const rest = await s3().send(
      new ListPartsCommand({
        Bucket,
        Key: 'lp/parts',
        UploadId,
        MaxParts: 2,
        PartNumberMarker: first.NextPartNumberMarker,
      }),
    );
    expect(rest.Parts?.map((part) => [part.PartNumber, part.Size, part.ETag])).toEqual([
      [3, 6, `"${md5('part 3').toString('hex')}"`],
    ]);
    expect(rest.IsTruncated).toBe(false);
  });
});

describe('sandbox S3: requests S3 refuses', () => {
  it('refuses a body whose Content-MD5 does not match with 400 BadDigest, and keeps nothing', async () => {
    expect(
      await refusal(
        s3().send(
          new PutObjectCommand({
            Bucket,
            Key: 'no/digest',
            Body: 'body',
            ContentMD5: md5('other').toString('base64'),
          }),
        ),
      ),
    ).toEqual({ status: 400, code: 'BadDigest' });
    expect(await refusal(s3().send(new HeadObjectCommand({ Bucket, Key: 'no/digest' })))).toMatchObject({
      status: 404,
    });
  });

  it('refuses an unknown storage class, a part number over 10,000 and an unknown upload', async () => {
    expect(
      await refusal(
        s3().send(
          new PutObjectCommand({ Bucket, Key: 'no/class', Body: 'x', StorageClass: 'COLD' as never }),
        ),
      ),
    ).toEqual({ status: 400, code: 'InvalidStorageClass' });
    const { UploadId } = await s3().send(new CreateMultipartUploadCommand({ Bucket, Key: 'no/part' }));
    expect(
      await refusal(
        s3().send(new UploadPartCommand({ Bucket, Key: 'no/part', UploadId, PartNumber: 10_001, Body: 'x' })),
      ),
    ).toEqual({ status: 400, code: 'InvalidArgument' });
    expect(
      await refusal(
        s3().send(
          new UploadPartCommand({ Bucket, Key: 'no/part', UploadId: 'nope', PartNumber: 1, Body: 'x' }),
        ),
      ),
    ).toEqual({ status: 404, code: 'NoSuchUpload' });
  });

  it('refuses SSE-C over plain HTTP (400 InvalidRequest) and another expected bucket owner (403 AccessDenied)', async () => {
    expect(
      await refusal(
        s3().send(
          new PutObjectCommand({
            Bucket,
            Key: 'no/ssec',
            Body: 'x',
            SSECustomerAlgorithm: 'AES256',
            SSECustomerKey: 'k'.repeat(32),
          }),
        ),
      ),
    ).toEqual({ status: 400, code: 'InvalidRequest' });
    expect(
      await refusal(
        s3().send(
          new PutObjectCommand({ Bucket, Key: 'no/owner', Body: 'x', ExpectedBucketOwner: '111122223333' }),
        ),
      ),
    ).toEqual({ status: 403, code: 'AccessDenied' });
  });
});
