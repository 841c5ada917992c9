import { createHash } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  GetBucketLocationCommand,
  HeadBucketCommand,
  ListBucketsCommand,
  ListMultipartUploadsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { SANDBOX_CREDENTIALS } from '#local/sandbox';
import { refusal, usePlainS3Sandbox } from '#test/support/s3-answers';

/**
 * Listings exactly as S3 gives them (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html):
 * the four listing bugs of issue 12, paging, encodings, storage classes; bucket facts.
 */
const Bucket = 's3-plain';
const { sandbox, s3 } = usePlainS3Sandbox(async (s3) => {
  for (const Key of ['l/a.txt', 'l/b/1', 'l/b/2', 'l/c/d/deep.txt', 'l/e/f/g/deeper.txt', 'l/z.txt'])
    await s3.send(new PutObjectCommand({ Bucket, Key, Body: Key }));
});

/** Every page of a V2 listing, with the entries (keys and prefixes) of each. */
async function pagesV2(input: { Prefix: string; Delimiter?: string; MaxKeys: number }) {
  const pages: { keys: string[]; prefixes: string[]; keyCount: number | undefined }[] = [];
  let ContinuationToken: string | undefined;
  do {
    const page = await s3().send(new ListObjectsV2Command({ Bucket, ...input, ContinuationToken }));
    pages.push({
      keys: (page.Contents ?? []).map((object) => object.Key ?? ''),
      prefixes: (page.CommonPrefixes ?? []).map((prefix) => prefix.Prefix ?? ''),
      keyCount: page.KeyCount,
    });
    ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (ContinuationToken);
  return pages;
}

describe('sandbox S3: ListObjectsV2', () => {
  it('lists a prefix whose objects all sit two or more levels down (regression: it was dropped)', async () => {
    const page = await s3().send(new ListObjectsV2Command({ Bucket, Prefix: 'l/', Delimiter: '/' }));
    expect(page.CommonPrefixes?.map((prefix) => prefix.Prefix)).toEqual(['l/b/', 'l/c/', 'l/e/']);
    expect(page.Contents?.map((object) => object.Key)).toEqual(['l/a.txt', 'l/z.txt']);
    expect(page.KeyCount).toBe(5);
  });

  it('counts common prefixes against MaxKeys: MaxKeys 3 gives KeyCount 3 (regression: 5)', async () => {
    const page = await s3().send(
      new ListObjectsV2Command({ Bucket, Prefix: 'l/', Delimiter: '/', MaxKeys: 3 }),
    );
    expect(page.KeyCount).toBe(3);
    expect(page.Contents?.map((object) => object.Key)).toEqual(['l/a.txt']);
    expect(page.CommonPrefixes?.map((prefix) => prefix.Prefix)).toEqual(['l/b/', 'l/c/']);
    expect(page.IsTruncated).toBe(true);
  });

  it('never repeats a common prefix across pages of one entry (regression: PRE b/ twice)', async () => {
    const pages = await pagesV2({ Prefix: 'l/', Delimiter: '/', MaxKeys: 1 });
    expect(pages.map((page) => [...page.keys, ...page.prefixes])).toEqual([
      ['l/a.txt'],
      ['l/b/'],
      ['l/c/'],
      ['l/e/'],
      ['l/z.txt'],
    ]);
    expect(pages.every((page) => page.keyCount === 1)).toBe(true);
  });

  it('pages every key exactly once without a delimiter, and starts after StartAfter', async () => {
    const pages = await pagesV2({ Prefix: 'l/', MaxKeys: 4 });
    expect(pages.map((page) => page.keys.length)).toEqual([4, 2]);
    const after = await s3().send(new ListObjectsV2Command({ Bucket, Prefix: 'l/', StartAfter: 'l/b/2' }));
    expect(after.Contents?.map((object) => object.Key)).toEqual([
      'l/c/d/deep.txt',
      'l/e/f/g/deeper.txt',
      'l/z.txt',
    ]);
    expect(after.StartAfter).toBe('l/b/2');
  });

  it('refuses a continuation token it did not issue with 400 InvalidArgument', async () => {
    expect(
      await refusal(
        s3().send(new ListObjectsV2Command({ Bucket, Prefix: 'l/', ContinuationToken: 'bC9iLzE=' })),
      ),
    ).toEqual({ status: 400, code: 'InvalidArgument' });
  });

  it('reports each key its own storage class, ETag and size', async () => {
    await s3().send(new PutObjectCommand({ Bucket, Key: 'sc/ir', Body: 'ir', StorageClass: 'GLACIER_IR' }));
    await s3().send(new PutObjectCommand({ Bucket, Key: 'sc/ia', Body: 'ia!', StorageClass: 'STANDARD_IA' }));
    await s3().send(new PutObjectCommand({ Bucket, Key: 'sc/std', Body: 'std' }));
    const page = await s3().send(new ListObjectsV2Command({ Bucket, Prefix: 'sc/' }));
    expect(page.Contents?.map((object) => [object.Key, object.StorageClass, object.Size])).toEqual([
      ['sc/ia', 'STANDARD_IA', 3],
      ['sc/ir', 'GLACIER_IR', 2],
      ['sc/std', 'STANDARD', 3],
    ]);
    expect(page.Contents?.[2]?.ETag).toBe(`"${createHash('md5').update('std').digest('hex')}"`);
  });

  it('lists in UTF-8 byte order and url-encodes keys when asked (encoding-type=url)', async () => {
    for (const Key of ['enc/é', 'enc/z', 'enc/a b+c'])
      await s3().send(new PutObjectCommand({ Bucket, Key, Body: Key }));
    const plain = await s3().send(new ListObjectsV2Command({ Bucket, Prefix: 'enc/' }));
    expect(plain.Contents?.map((object) => object.Key)).toEqual(['enc/a b+c', 'enc/z', 'enc/é']);
    const encoded = await s3().send(
      new ListObjectsV2Command({ Bucket, Prefix: 'enc/', EncodingType: 'url' }),
    );
    expect(encoded.Contents?.map((object) => object.Key)).toEqual(['enc/a%20b%2Bc', 'enc/z', 'enc/%C3%A9']);
  });

  it('names the owner only with FetchOwner', async () => {
    const without = await s3().send(new ListObjectsV2Command({ Bucket, Prefix: 'l/a' }));
    expect(without.Contents?.[0]?.Owner).toBeUndefined();
    const withOwner = await s3().send(new ListObjectsV2Command({ Bucket, Prefix: 'l/a', FetchOwner: true }));
    expect(withOwner.Contents?.[0]?.Owner?.ID).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('sandbox S3: ListObjects (V1)', () => {
  it('gives NextMarker with a delimiter and pages by marker without repeating a prefix', async () => {
    const seen: string[] = [];
    let Marker: string | undefined;
    do {
      const page = await s3().send(
        new ListObjectsCommand({ Bucket, Prefix: 'l/', Delimiter: '/', MaxKeys: 2, Marker }),
      );
      seen.push(
        ...(page.Contents ?? []).map((o) => o.Key ?? ''),
        ...(page.CommonPrefixes ?? []).map((p) => p.Prefix ?? ''),
      );
      Marker = page.IsTruncated ? page.NextMarker : undefined;
      if (page.IsTruncated) expect(page.NextMarker).toBeDefined();
    } while (Marker);
    expect(seen.sort()).toEqual(['l/a.txt', 'l/b/', 'l/c/', 'l/e/', 'l/z.txt']);
  });

  it('omits NextMarker without a delimiter: the last key is the next marker', async () => {
    const page = await s3().send(new ListObjectsCommand({ Bucket, Prefix: 'l/', MaxKeys: 2 }));
    expect(page.IsTruncated).toBe(true);
    expect(page.NextMarker).toBeUndefined();
    const next = await s3().send(
      new ListObjectsCommand({ Bucket, Prefix: 'l/', MaxKeys: 2, Marker: page.Contents?.at(-1)?.Key }),
    );
    expect(next.Contents?.map((object) => object.Key)).toEqual(['l/b/2', 'l/c/d/deep.txt']);
  });
});

describe('sandbox S3: ListMultipartUploads', () => {
  it('pages uploads by key and upload id markers, each once, in key order', async () => {
    const created: string[] = [];
    for (const Key of ['mu/b', 'mu/a', 'mu/a', 'mu/c']) {
      const { UploadId } = await s3().send(new CreateMultipartUploadCommand({ Bucket, Key }));
      created.push(`${Key}@${UploadId}`);
    }
    const seen: string[] = [];
    let KeyMarker: string | undefined;
    let UploadIdMarker: string | undefined;
    let pages = 0;
    do {
      const page = await s3().send(
        new ListMultipartUploadsCommand({ Bucket, Prefix: 'mu/', MaxUploads: 1, KeyMarker, UploadIdMarker }),
      );
      pages += 1;
      seen.push(...(page.Uploads ?? []).map((upload) => `${upload.Key}@${upload.UploadId}`));
      KeyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      UploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
    } while (KeyMarker);
    expect(pages).toBe(4);
    // By key; the two uploads of one key in the order they were initiated.
    expect(seen).toEqual([created[1], created[2], created[0], created[3]]);
    for (const entry of created) {
      const [Key, UploadId] = entry.split('@');
      await s3().send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId }));
    }
    expect(
      (await s3().send(new ListMultipartUploadsCommand({ Bucket, Prefix: 'mu/' }))).Uploads,
    ).toBeUndefined();
  });
});

describe('sandbox S3: buckets', () => {
  it('answers GetBucketLocation with the Region, empty for us-east-1 (regression: null for us-west-2)', async () => {
    const west = await sandbox()
      .s3('us-west-2')
      .send(new GetBucketLocationCommand({ Bucket: 's3-west' }));
    expect(west.LocationConstraint).toBe('us-west-2');
    const east = await s3().send(new GetBucketLocationCommand({ Bucket }));
    expect(east.LocationConstraint ?? '').toBe('');
  });

  it('answers HeadBucket with its Region and refuses a request signed for another Region', async () => {
    const head = await sandbox()
      .s3('us-west-2')
      .send(new HeadBucketCommand({ Bucket: 's3-west' }));
    expect(head.BucketRegion).toBe('us-west-2');
    expect(await refusal(s3().send(new ListObjectsV2Command({ Bucket: 's3-west' })))).toEqual({
      status: 400,
      code: 'AuthorizationHeaderMalformed',
    });
  });

  it('creates, lists and deletes buckets as S3 does: BucketAlreadyOwnedByYou, BucketNotEmpty, NoSuchBucket', async () => {
    const eu = sandbox().s3('eu-west-1');
    await eu.send(
      new CreateBucketCommand({
        Bucket: 's3-new',
        CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' },
      }),
    );
    expect(
      await refusal(
        eu.send(
          new CreateBucketCommand({
            Bucket: 's3-new',
            CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' },
          }),
        ),
      ),
    ).toEqual({ status: 409, code: 'BucketAlreadyOwnedByYou' });
    expect((await eu.send(new GetBucketLocationCommand({ Bucket: 's3-new' }))).LocationConstraint).toBe(
      'eu-west-1',
    );
    const { Buckets } = await s3().send(new ListBucketsCommand({}));
    expect(Buckets?.map((bucket) => bucket.Name)).toEqual(['s3-new', 's3-plain', 's3-west']);
    await eu.send(new PutObjectCommand({ Bucket: 's3-new', Key: 'k', Body: 'x' }));
    expect(await refusal(eu.send(new DeleteBucketCommand({ Bucket: 's3-new' })))).toEqual({
      status: 409,
      code: 'BucketNotEmpty',
    });
    await eu.send(new DeleteObjectsCommand({ Bucket: 's3-new', Delete: { Objects: [{ Key: 'k' }] } }));
    await eu.send(new DeleteBucketCommand({ Bucket: 's3-new' }));
    expect(await refusal(eu.send(new ListObjectsV2Command({ Bucket: 's3-new' })))).toEqual({
      status: 404,
      code: 'NoSuchBucket',
    });
  });
});

describe('sandbox S3: DeleteObjects', () => {
  it('deletes each key, reports each (or only errors when Quiet), with an error per refused key', async () => {
    for (const Key of ['do/1', 'do/2']) await s3().send(new PutObjectCommand({ Bucket, Key, Body: Key }));
    const result = await s3().send(
      new DeleteObjectsCommand({
        Bucket,
        Delete: { Objects: [{ Key: 'do/1' }, { Key: 'do/missing' }, { Key: 'k'.repeat(1025) }] },
      }),
    );
    expect(result.Deleted?.map((deleted) => deleted.Key)).toEqual(['do/1', 'do/missing']);
    expect(result.Errors?.map((error) => error.Code)).toEqual(['KeyTooLongError']);
    const quiet = await s3().send(
      new DeleteObjectsCommand({ Bucket, Delete: { Quiet: true, Objects: [{ Key: 'do/2' }] } }),
    );
    expect(quiet.Deleted).toBeUndefined();
    expect((await s3().send(new ListObjectsV2Command({ Bucket, Prefix: 'do/' }))).KeyCount).toBe(0);
  });
});

describe('scripted listing faults (local/faults.ts)', () => {
  /** A client that does not retry: each scripted answer is seen as S3 sent it. */
  const once = () =>
    new S3Client({
      region: 'us-east-1',
      endpoint: sandbox().endpoint,
      credentials: SANDBOX_CREDENTIALS,
      forcePathStyle: true,
      maxAttempts: 1,
    });

  it('answers a scripted bucket’s listings as S3 does (503 SlowDown, 403 AccessDenied), then lists again', async () => {
    sandbox().faults.scriptFor(Bucket, 'ListObjectsV2', 'slowdown');
    sandbox().faults.scriptFor(Bucket, 'ListObjectVersions', 'denied');
    const client = once();
    await expect(client.send(new ListObjectsV2Command({ Bucket, Prefix: 'l/' }))).rejects.toMatchObject({
      name: 'SlowDown',
      $metadata: { httpStatusCode: 503 },
    });
    await expect(client.send(new ListObjectVersionsCommand({ Bucket, Prefix: 'l/' }))).rejects.toMatchObject({
      name: 'AccessDenied',
      $metadata: { httpStatusCode: 403 },
    });
    const listed = await client.send(new ListObjectsV2Command({ Bucket, Prefix: 'l/' }));
    expect(listed.KeyCount).toBe(6);
    const versions = await client.send(new ListObjectVersionsCommand({ Bucket, Prefix: 'l/' }));
    expect(versions.Versions).toHaveLength(6);
  });
});
