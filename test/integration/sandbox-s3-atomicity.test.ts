import { createHash } from 'node:crypto';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '#local/sandbox';
import { configFrom } from '#test/support/fixtures';

/**
 * The sandbox S3 applies each write to a key in one step, and a copy holds the version it copies; these
 * tests race requests on one key and hold it to S3's atomicity. Keys outside the rule's prefix, so Ferry copies nothing here.
 */
const CONFIG = configFrom(`
rules:
  - name: docs
    objects: { bucket: at-source, prefix: docs/ }
    to: [{ bucket: at-dr, region: us-west-2 }]
`);

let sandbox: Sandbox;
const s3 = () => sandbox.s3('us-east-1');
const md5 = (body: string) => createHash('md5').update(body).digest('hex');

beforeAll(async () => {
  sandbox = await startSandbox({ config: CONFIG, port: 0 });
});
afterAll(() => sandbox.stop());

type CreatedEvent = { detail: { object: { key: string; etag: string; sequencer: string } } };

describe('sandbox S3: writes to one key are atomic and ordered', () => {
  it('gives each of many concurrent writes its own event, the last sequencer to the object that stays', async () => {
    const key = 'race/puts.txt';
    const bodies = Array.from({ length: 12 }, (_, i) => `version ${i + 1}`);
    await Promise.all(
      bodies.map((Body) => s3().send(new PutObjectCommand({ Bucket: 'at-source', Key: key, Body }))),
    );
    await sandbox.settle();

    const events = (sandbox.bus.published as CreatedEvent[])
      .filter((event) => event.detail.object.key === 'race/puts.txt')
      .sort((a, b) => (a.detail.object.sequencer < b.detail.object.sequencer ? -1 : 1));
    // Every write's event names that write's bytes: twelve different ETags, those of the twelve bodies.
    expect(new Set(events.map((event) => event.detail.object.etag))).toEqual(new Set(bodies.map(md5)));
    const final = await s3().send(new GetObjectCommand({ Bucket: 'at-source', Key: key }));
    const finalBody = await final.Body?.transformToString();
    expect(events.at(-1)?.detail.object.etag).toBe(md5(finalBody ?? ''));
  });

  it('copies exactly the version a copy-source If-Match names, or refuses, while the source is rewritten', async () => {
    const key = 'race/source.txt';
    let copied = 0;
    let refused = 0;
    for (let round = 0; round < 25; round++) {
      const current = `round ${round}`;
      await s3().send(new PutObjectCommand({ Bucket: 'at-source', Key: key, Body: current }));
      const [copy] = await Promise.allSettled([
        s3().send(
          new CopyObjectCommand({
            Bucket: 'at-source',
            Key: 'race/copy.txt',
            CopySource: `at-source/${key}`,
            CopySourceIfMatch: `"${md5(current)}"`,
          }),
        ),
        s3().send(new PutObjectCommand({ Bucket: 'at-source', Key: key, Body: `${current}, rewritten` })),
      ]);
      if (copy.status === 'rejected') {
        expect((copy.reason as Error).name).toBe('PreconditionFailed');
        refused += 1;
        continue;
      }
      const replica = await s3().send(new GetObjectCommand({ Bucket: 'at-source', Key: 'race/copy.txt' }));
      expect(await replica.Body?.transformToString()).toBe(current);
      copied += 1;
    }
    expect(copied + refused).toBe(25);
  });

  it('leaves the object at a key as it was while a multipart copy to that key is under way', async () => {
    const read = async (Key: string) =>
      (await s3().send(new GetObjectCommand({ Bucket: 'at-source', Key }))).Body?.transformToString();
    await s3().send(
      new PutObjectCommand({ Bucket: 'at-source', Key: 'race/replica.txt', Body: 'old replica' }),
    );
    await s3().send(new PutObjectCommand({ Bucket: 'at-source', Key: 'race/new.txt', Body: 'new bytes' }));
    const { UploadId } = await s3().send(
      new CreateMultipartUploadCommand({ Bucket: 'at-source', Key: 'race/replica.txt' }),
    );
    const { CopyPartResult } = await s3().send(
      new UploadPartCopyCommand({
        Bucket: 'at-source',
        Key: 'race/replica.txt',
        UploadId,
        PartNumber: 1,
        CopySource: 'at-source/race/new.txt',
      }),
    );
    expect(await read('race/replica.txt')).toBe('old replica');
    await s3().send(
      new CompleteMultipartUploadCommand({
        Bucket: 'at-source',
        Key: 'race/replica.txt',
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: CopyPartResult?.ETag }] },
      }),
    );
    expect(await read('race/replica.txt')).toBe('new bytes');
  });
});
