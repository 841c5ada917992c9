import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '#local/sandbox';
import { configFrom } from '#test/support/fixtures';
import { refusal } from '#test/support/s3-answers';

/**
 * Versioning as S3 has it (https://docs.aws.amazon.com/AmazonS3/latest/userguide/Versioning.html): new
 * buckets unversioned; version ids; delete markers; null versions; ListObjectVersions paging; the events.
 */
const CONFIG = configFrom(`
rules:
  - name: untouched
    objects: { bucket: v-source, prefix: never-written/ }
    to: [{ bucket: v-other, region: us-east-1 }]
`);
let sandbox: Sandbox;
const s3 = () => sandbox.s3('us-east-1');
const Bucket = 'v-source';

beforeAll(async () => {
  sandbox = await startSandbox({ config: CONFIG, port: 0 });
});
afterAll(() => sandbox.stop());

const enable = (Status: 'Enabled' | 'Suspended', bucket = Bucket) =>
  s3().send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status } }));
const bodyOf = async (Key: string, VersionId?: string) =>
  (await s3().send(new GetObjectCommand({ Bucket, Key, VersionId }))).Body?.transformToString();

type Detail = {
  object: { key: string; 'version-id'?: string; etag?: string };
  reason: string;
  'deletion-type'?: string;
};
const eventsFor = (key: string) =>
  (sandbox.bus.published as { 'detail-type': string; detail: Detail }[]).filter(
    (event) => event.detail.object.key === key,
  );

describe('sandbox S3: bucket versioning', () => {
  it('starts unversioned (no Status, no version ids) and can be enabled and suspended', async () => {
    expect((await s3().send(new GetBucketVersioningCommand({ Bucket: 'v-other' }))).Status).toBeUndefined();
    const plain = await s3().send(new PutObjectCommand({ Bucket: 'v-other', Key: 'plain', Body: 'x' }));
    expect(plain.VersionId).toBeUndefined();
    await enable('Enabled');
    expect((await s3().send(new GetBucketVersioningCommand({ Bucket }))).Status).toBe('Enabled');
  });

  it('gives every PutObject, CopyObject and CompleteMultipartUpload its own version, readable by id', async () => {
    const first = await s3().send(new PutObjectCommand({ Bucket, Key: 'doc', Body: 'one' }));
    const second = await s3().send(new PutObjectCommand({ Bucket, Key: 'doc', Body: 'two' }));
    const copied = await s3().send(
      new CopyObjectCommand({
        Bucket,
        Key: 'doc-copy',
        CopySource: `${Bucket}/doc?versionId=${first.VersionId}`,
      }),
    );
    const { UploadId } = await s3().send(new CreateMultipartUploadCommand({ Bucket, Key: 'doc' }));
    const part = await s3().send(
      new UploadPartCommand({ Bucket, Key: 'doc', UploadId, PartNumber: 1, Body: 'three' }),
    );
    const completed = await s3().send(
      new CompleteMultipartUploadCommand({
        Bucket,
        Key: 'doc',
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
      }),
    );
    const ids = [first.VersionId, second.VersionId, copied.VersionId, completed.VersionId];
    expect(ids.every((id) => typeof id === 'string' && id.length === 32)).toBe(true);
    expect(new Set(ids).size).toBe(4);
    expect(copied.CopySourceVersionId).toBe(first.VersionId);
    expect(await bodyOf('doc-copy')).toBe('one');
    expect(await bodyOf('doc', first.VersionId)).toBe('one');
    expect(await bodyOf('doc', second.VersionId)).toBe('two');
    expect(await bodyOf('doc')).toBe('three');
    const head = await s3().send(new HeadObjectCommand({ Bucket, Key: 'doc', VersionId: second.VersionId }));
    expect(head.VersionId).toBe(second.VersionId);
    const tags = await s3().send(
      new GetObjectTaggingCommand({ Bucket, Key: 'doc', VersionId: first.VersionId }),
    );
    expect(tags.VersionId).toBe(first.VersionId);
    await sandbox.settle();
    expect(eventsFor('doc').map((event) => event.detail.object['version-id'])).toEqual([
      first.VersionId,
      second.VersionId,
      completed.VersionId,
    ]);
  });

  it('puts a delete marker on DeleteObject: GET is 404 with x-amz-delete-marker, GET of the marker by id 405', async () => {
    const written = await s3().send(new PutObjectCommand({ Bucket, Key: 'gone', Body: 'kept' }));
    const deleted = await s3().send(new DeleteObjectCommand({ Bucket, Key: 'gone' }));
    expect(deleted.DeleteMarker).toBe(true);
    expect(deleted.VersionId).toMatch(/^.{32}$/);
    expect(await refusal(bodyOf('gone'))).toEqual({ status: 404, code: 'NoSuchKey' });
    expect(await refusal(bodyOf('gone', deleted.VersionId))).toEqual({
      status: 405,
      code: 'MethodNotAllowed',
    });
    expect(await bodyOf('gone', written.VersionId)).toBe('kept');
    await sandbox.settle();
    expect(eventsFor('gone').at(-1)).toMatchObject({
      'detail-type': 'Object Deleted',
      detail: {
        reason: 'DeleteObject',
        'deletion-type': 'Delete Marker Created',
        object: { 'version-id': deleted.VersionId },
      },
    });
    // Deleting the marker by its id brings the object back, permanently deleting the marker.
    await s3().send(new DeleteObjectCommand({ Bucket, Key: 'gone', VersionId: deleted.VersionId }));
    expect(await bodyOf('gone')).toBe('kept');
    await sandbox.settle();
    expect(eventsFor('gone').at(-1)?.detail['deletion-type']).toBe('Permanently Deleted');
  });

  it('writes null versions while versioning is suspended, replacing the null version each time', async () => {
    await enable('Enabled', 'v-other');
    const versioned = await s3().send(
      new PutObjectCommand({ Bucket: 'v-other', Key: 'n', Body: 'versioned' }),
    );
    await enable('Suspended', 'v-other');
    const nulled = await s3().send(new PutObjectCommand({ Bucket: 'v-other', Key: 'n', Body: 'null 1' }));
    await s3().send(new PutObjectCommand({ Bucket: 'v-other', Key: 'n', Body: 'null 2' }));
    expect(nulled.VersionId).toBe('null');
    const versions = await s3().send(new ListObjectVersionsCommand({ Bucket: 'v-other', Prefix: 'n' }));
    expect(versions.Versions?.map((v) => [v.VersionId, v.IsLatest])).toEqual([
      ['null', true],
      [versioned.VersionId, false],
    ]);
  });
  it('answers an unknown version 404 NoSuchVersion, and DeleteObjects deletes versions by id', async () => {
    const one = await s3().send(new PutObjectCommand({ Bucket, Key: 'dv', Body: 'one' }));
    const two = await s3().send(new PutObjectCommand({ Bucket, Key: 'dv', Body: 'two' }));
    expect(await refusal(bodyOf('dv', 'x'.repeat(32)))).toEqual({ status: 404, code: 'NoSuchVersion' });
    const result = await s3().send(
      new DeleteObjectsCommand({
        Bucket,
        Delete: { Objects: [{ Key: 'dv', VersionId: two.VersionId }, { Key: 'dv-other' }] },
      }),
    );
    expect(result.Deleted?.map((d) => [d.Key, d.VersionId, d.DeleteMarker ?? false])).toEqual([
      ['dv', two.VersionId, false],
      ['dv-other', undefined, true],
    ]);
    expect(await bodyOf('dv')).toBe('one');
    expect(one.VersionId).not.toBe(two.VersionId);
  });
});

describe('sandbox S3: ListObjectVersions', () => {
  it('lists versions newest first per key, delete markers apart, and pages by key and version markers', async () => {
    const ids: string[] = [];
    for (const body of ['1', '2', '3'])
      ids.push((await s3().send(new PutObjectCommand({ Bucket, Key: 'lv/a', Body: body }))).VersionId ?? '');
    const marker = (await s3().send(new DeleteObjectCommand({ Bucket, Key: 'lv/a' }))).VersionId;
    const b = (await s3().send(new PutObjectCommand({ Bucket, Key: 'lv/b', Body: 'b' }))).VersionId;

    const seen: string[] = [];
    let KeyMarker: string | undefined;
    let VersionIdMarker: string | undefined;
    const pages: number[] = [];
    do {
      const page = await s3().send(
        new ListObjectVersionsCommand({ Bucket, Prefix: 'lv/', MaxKeys: 2, KeyMarker, VersionIdMarker }),
      );
      const entries = [...(page.DeleteMarkers ?? []), ...(page.Versions ?? [])];
      pages.push(entries.length);
      seen.push(...entries.map((entry) => `${entry.Key}@${entry.VersionId}`));
      KeyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      VersionIdMarker = page.IsTruncated ? page.NextVersionIdMarker : undefined;
    } while (KeyMarker);
    expect(pages).toEqual([2, 2, 1]);
    expect(new Set(seen)).toEqual(
      new Set([marker, ...[...ids].reverse()].map((id) => `lv/a@${id}`).concat(`lv/b@${b}`)),
    );

    const first = await s3().send(new ListObjectVersionsCommand({ Bucket, Prefix: 'lv/', MaxKeys: 2 }));
    expect(first.DeleteMarkers?.map((m) => [m.VersionId, m.IsLatest])).toEqual([[marker, true]]);
    expect(first.Versions?.map((v) => [v.VersionId, v.IsLatest])).toEqual([[ids[2], false]]);
    expect([first.NextKeyMarker, first.NextVersionIdMarker]).toEqual(['lv/a', ids[2]]);
  });

  it('rolls keys up into common prefixes with a delimiter, counted once against MaxKeys', async () => {
    for (const Key of ['lp/x/1', 'lp/x/2', 'lp/y/1', 'lp/z'])
      await s3().send(new PutObjectCommand({ Bucket, Key, Body: Key }));
    const page = await s3().send(
      new ListObjectVersionsCommand({ Bucket, Prefix: 'lp/', Delimiter: '/', MaxKeys: 2 }),
    );
    expect(page.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['lp/x/', 'lp/y/']);
    expect(page.Versions).toBeUndefined();
    expect(page.IsTruncated).toBe(true);
    const next = await s3().send(
      new ListObjectVersionsCommand({
        Bucket,
        Prefix: 'lp/',
        Delimiter: '/',
        MaxKeys: 2,
        KeyMarker: page.NextKeyMarker,
      }),
    );
    expect(next.CommonPrefixes).toBeUndefined();
    expect(next.Versions?.map((v) => v.Key)).toEqual(['lp/z']);
  });
});

describe('sandbox S3: lifecycle expiration (sandbox.expire)', () => {
  it('expires into a delete marker in a versioned bucket, with reason "Lifecycle Expiration"', async () => {
    await s3().send(new PutObjectCommand({ Bucket, Key: 'life/v', Body: 'x' }));
    expect(sandbox.expire(Bucket, 'life/v')).toBe(true);
    await sandbox.settle();
    expect(eventsFor('life/v').at(-1)?.detail).toMatchObject({
      reason: 'Lifecycle Expiration',
      'deletion-type': 'Delete Marker Created',
    });
    expect(await refusal(bodyOf('life/v'))).toEqual({ status: 404, code: 'NoSuchKey' });
    expect(sandbox.expire(Bucket, 'life/v')).toBe(false);
  });

  it('expires permanently in an unversioned bucket', async () => {
    // Both buckets here have had versioning by now: a bucket of a fresh sandbox never had it.
    const fresh = await startSandbox({
      config: configFrom(`
rules:
  - name: untouched
    objects: { bucket: v-fresh, prefix: never-written/ }
    to: [{ bucket: v-fresh-dr, region: us-east-1 }]
`),
      port: 0,
    });
    try {
      await fresh.s3('us-east-1').send(new PutObjectCommand({ Bucket: 'v-fresh', Key: 'life/u', Body: 'x' }));
      expect(fresh.expire('v-fresh', 'life/u')).toBe(true);
      await fresh.settle();
      const events = (fresh.bus.published as { detail: Detail }[]).filter(
        (e) => e.detail.object.key === 'life/u',
      );
      expect(events.at(-1)?.detail).toMatchObject({
        reason: 'Lifecycle Expiration',
        'deletion-type': 'Permanently Deleted',
      });
      expect(events.at(-1)?.detail.object['version-id']).toBeUndefined();
    } finally {
      await fresh.stop();
    }
  });
});
