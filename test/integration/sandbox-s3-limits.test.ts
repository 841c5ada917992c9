import {
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  PutObjectTaggingCommand,
} from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { refusal, usePlainS3Sandbox } from '#test/support/s3-answers';

/** The sandbox S3 refuses what S3 refuses, with S3's status and code (README: the rules it enforces). */
const { s3 } = usePlainS3Sandbox();
const Bucket = 's3-plain';

/** User metadata of exactly `bytes` bytes (names and values, UTF-8). */
const metadataOf = (bytes: number) => ({ m: 'x'.repeat(bytes - 1) });
const tagging = (count: number) =>
  new URLSearchParams(
    Array.from({ length: count }, (_, i): [string, string] => [`k${i}`, `v${i}`]),
  ).toString();

describe('sandbox S3: user metadata is limited to 2 KB', () => {
  it('accepts 2,048 bytes of metadata and refuses 2,049 on PutObject with 400 MetadataTooLarge', async () => {
    await s3().send(new PutObjectCommand({ Bucket, Key: 'meta/ok', Body: 'x', Metadata: metadataOf(2048) }));
    expect(
      await refusal(
        s3().send(new PutObjectCommand({ Bucket, Key: 'meta/big', Body: 'x', Metadata: metadataOf(2049) })),
      ),
    ).toEqual({ status: 400, code: 'MetadataTooLarge' });
  });

  it('counts the UTF-8 bytes of names and values: 1,000 two-byte characters and a 49-byte name are too many', async () => {
    const Metadata = { ['n'.repeat(49)]: 'é'.repeat(1000) };
    expect(
      await refusal(s3().send(new PutObjectCommand({ Bucket, Key: 'meta/utf8', Body: 'x', Metadata }))),
    ).toEqual({
      status: 400,
      code: 'MetadataTooLarge',
    });
  });

  it('refuses too much metadata on CopyObject with REPLACE and on CreateMultipartUpload', async () => {
    await s3().send(new PutObjectCommand({ Bucket, Key: 'meta/source', Body: 'x' }));
    expect(
      await refusal(
        s3().send(
          new CopyObjectCommand({
            Bucket,
            Key: 'meta/copy',
            CopySource: `${Bucket}/meta/source`,
            MetadataDirective: 'REPLACE',
            Metadata: metadataOf(2049),
          }),
        ),
      ),
    ).toEqual({ status: 400, code: 'MetadataTooLarge' });
    expect(
      await refusal(
        s3().send(new CreateMultipartUploadCommand({ Bucket, Key: 'meta/mpu', Metadata: metadataOf(2049) })),
      ),
    ).toEqual({ status: 400, code: 'MetadataTooLarge' });
  });
});

describe('sandbox S3: at most 10 tags, keys of 128 and values of 256 characters', () => {
  it('accepts 10 tags and refuses 11 with 400 BadRequest, on PutObject, CopyObject and CreateMultipartUpload', async () => {
    await s3().send(new PutObjectCommand({ Bucket, Key: 'tags/ten', Body: 'x', Tagging: tagging(10) }));
    const head = await s3().send(new HeadObjectCommand({ Bucket, Key: 'tags/ten' }));
    expect(head.TagCount).toBe(10);
    const eleven = { status: 400, code: 'BadRequest' };
    expect(
      await refusal(
        s3().send(new PutObjectCommand({ Bucket, Key: 'tags/11', Body: 'x', Tagging: tagging(11) })),
      ),
    ).toEqual(eleven);
    expect(
      await refusal(
        s3().send(
          new CopyObjectCommand({
            Bucket,
            Key: 'tags/copy',
            CopySource: `${Bucket}/tags/ten`,
            TaggingDirective: 'REPLACE',
            Tagging: tagging(11),
          }),
        ),
      ),
    ).toEqual(eleven);
    expect(
      await refusal(
        s3().send(new CreateMultipartUploadCommand({ Bucket, Key: 'tags/mpu', Tagging: tagging(11) })),
      ),
    ).toEqual(eleven);
  });

  it('refuses a key of 129 characters, a value of 257, an aws: key, a repeated key and characters outside the tag set with 400 InvalidTag', async () => {
    await s3().send(new PutObjectCommand({ Bucket, Key: 'tags/target', Body: 'x' }));
    const put = (TagSet: { Key: string; Value: string }[]) =>
      refusal(s3().send(new PutObjectTaggingCommand({ Bucket, Key: 'tags/target', Tagging: { TagSet } })));
    const invalid = { status: 400, code: 'InvalidTag' };
    await s3().send(
      new PutObjectTaggingCommand({
        Bucket,
        Key: 'tags/target',
        Tagging: { TagSet: [{ Key: 'k'.repeat(128), Value: 'v'.repeat(256) }] },
      }),
    );
    expect(await put([{ Key: 'k'.repeat(129), Value: 'v' }])).toEqual(invalid);
    expect(await put([{ Key: 'k', Value: 'v'.repeat(257) }])).toEqual(invalid);
    expect(await put([{ Key: 'aws:owner', Value: 'v' }])).toEqual(invalid);
    expect(await put([{ Key: 'k', Value: 'semi;colon' }])).toEqual(invalid);
    await s3().send(
      new PutObjectTaggingCommand({
        Bucket,
        Key: 'tags/target',
        Tagging: { TagSet: [{ Key: 'équipe', Value: 'a b_c.d:e/f=g+h-i@j 42' }] },
      }),
    );
    expect(
      await put([
        { Key: 'k', Value: '1' },
        { Key: 'k', Value: '2' },
      ]),
    ).toEqual(invalid);
  });
});

describe('sandbox S3: keys are any UTF-8 of 1 to 1,024 bytes', () => {
  it('refuses a key of 1,025 bytes with 400 KeyTooLongError and accepts one of 1,024', async () => {
    await s3().send(new PutObjectCommand({ Bucket, Key: 'k'.repeat(1024), Body: 'x' }));
    expect(
      await refusal(s3().send(new PutObjectCommand({ Bucket, Key: 'k'.repeat(1025), Body: 'x' }))),
    ).toEqual({
      status: 400,
      code: 'KeyTooLongError',
    });
  });

  it('stores, reads and lists keys with long segments, "..", "//", unicode, "+", "%" and spaces', async () => {
    const keys = [
      `odd/${'s'.repeat(300)}/end`,
      'odd/../up',
      'odd//double',
      'odd/ünï ćødé 🚢',
      'odd/a+b%20c d',
      'odd/./dot',
    ];
    for (const Key of keys) await s3().send(new PutObjectCommand({ Bucket, Key, Body: Key }));
    for (const Key of keys) {
      const object = await s3().send(new GetObjectCommand({ Bucket, Key }));
      expect(await object.Body?.transformToString()).toBe(Key);
    }
    const listed = await s3().send(new ListObjectsV2Command({ Bucket, Prefix: 'odd/' }));
    const byBytes = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    expect(listed.Contents?.map((object) => object.Key)).toEqual(byBytes);
  });
});
