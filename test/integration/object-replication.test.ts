import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutBucketVersioningCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3ClientFactory } from '#foundation/aws-clients';
import type { Delivery } from '#local/event-bus';
import { SANDBOX_CREDENTIALS, type Sandbox, startSandbox } from '#local/sandbox';
import { createObjectDeletedHandler } from '#objects/handlers/object-deleted';
import type { Report } from '#objects/outcomes';
import { configFrom, lambdaContext, recordingDeps } from '#test/support/fixtures';

const CONFIG = configFrom(`
rules:
  - name: docs
    objects: { bucket: it-source, prefix: docs/ }
    to:
      - bucket: it-dr
        region: us-west-2
        keyPrefix: mirror/
        storageClass: STANDARD_IA
        metadata: { set: { via: ferry } }
        tags: { set: { copy: dr } }
        replicateDeletes: true
      - { bucket: it-eu, region: eu-west-1 }
      - { bucket: it-vault, region: us-west-2, replicateDeletes: true, replicateLifecycleDeletes: true }
  - name: versions
    objects: { bucket: it-versioned }
    to:
      - { bucket: it-versioned-dr, region: us-west-2, replicateDeletes: true }
  - name: onward
    objects: { bucket: it-dr, replicas: skip }
    to:
      - { bucket: it-onward, region: us-west-2 }
`);

let sandbox: Sandbox;
const deliveries: Delivery[] = [];
const source = () => sandbox.s3('us-east-1');
const dr = () => sandbox.s3('us-west-2');
const eu = () => sandbox.s3('eu-west-1');

beforeAll(async () => {
  sandbox = await startSandbox({ config: CONFIG, port: 0, onDelivery: (d) => deliveries.push(d) });
});
afterAll(async () => {
  await sandbox.stop();
});

async function put(
  key: string,
  body: string,
  extra: Partial<ConstructorParameters<typeof PutObjectCommand>[0]> = {},
) {
  await source().send(new PutObjectCommand({ Bucket: 'it-source', Key: key, Body: body, ...extra }));
  await sandbox.settle();
}

async function read(client: ReturnType<typeof source>, bucket: string, key: string) {
  const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const { TagSet = [] } = await client.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }));
  return {
    body: await object.Body?.transformToString(),
    contentType: object.ContentType,
    metadata: object.Metadata,
    storageClass: object.StorageClass ?? 'STANDARD',
    tags: Object.fromEntries(TagSet.map((t) => [t.Key, t.Value])),
  };
}

type PublishedEvent = { detail: { bucket: { name: string }; object: { key: string } } };

/** The last event S3 published for a write to the source bucket under this (decoded) key. */
function lastSourceEvent(key: string): PublishedEvent {
  const event = (sandbox.bus.published as PublishedEvent[])
    .filter(
      (e) =>
        e.detail.bucket.name === 'it-source' &&
        decodeURIComponent(e.detail.object.key.replaceAll('+', ' ')) === key,
    )
    .at(-1);
  if (!event) throw new Error(`no event was published for ${key}`);
  return structuredClone(event);
}

const outcomesFor = (sourceKey: string) =>
  deliveries
    .filter((d) => (d.result as Report | undefined)?.source === `s3://it-source/${sourceKey}`)
    .flatMap((d) => (d.result as Report).outcomes);

describe('object replication in the sandbox (real handlers, real S3 protocol)', () => {
  it('It should copy bytes, content type, metadata, tags and storage class to every destination', async () => {
    const key = 'docs/Q3 plan+budget – ü 100%.txt';
    await put(key, 'quarterly plan', {
      ContentType: 'text/plain; charset=utf-8',
      Metadata: { owner: 'finance' },
      Tagging: 'team=fin&confidential=yes',
    });

    const mirrored = await read(dr(), 'it-dr', `mirror/Q3 plan+budget – ü 100%.txt`);
    expect(mirrored).toMatchObject({
      body: 'quarterly plan',
      contentType: 'text/plain; charset=utf-8',
      storageClass: 'STANDARD_IA',
      tags: { team: 'fin', confidential: 'yes', copy: 'dr' },
      metadata: expect.objectContaining({
        owner: 'finance',
        via: 'ferry',
        'ferry-rule': 'docs',
        'ferry-source-bucket': 'it-source',
      }),
    });
    const european = await read(eu(), 'it-eu', key);
    expect(european).toMatchObject({
      body: 'quarterly plan',
      storageClass: 'STANDARD',
      tags: { team: 'fin', confidential: 'yes' },
      metadata: expect.not.objectContaining({ via: 'ferry' }),
    });
  });

  it('It should not replicate replicas again, but replicate other objects of the same bucket', async () => {
    await put('docs/chained.txt', 'once');
    const onward = await dr().send(new ListObjectsV2Command({ Bucket: 'it-onward' }));
    expect(onward.Contents ?? []).toEqual([]);
    const skipped = deliveries.flatMap((d) => (d.result as Report | undefined)?.outcomes ?? []);
    expect(skipped).toContainEqual(
      expect.objectContaining({ rule: 'onward', status: 'skipped', reason: 'is-replica' }),
    );

    await dr().send(
      new PutObjectCommand({ Bucket: 'it-dr', Key: 'inbox/direct.txt', Body: 'not a replica' }),
    );
    await sandbox.settle();
    expect((await read(dr(), 'it-onward', 'inbox/direct.txt')).body).toBe('not a replica');
  });

  it('It should delete the replica where deletes are replicated, and keep the other', async () => {
    await put('docs/doomed.txt', 'short-lived');
    await source().send(new DeleteObjectCommand({ Bucket: 'it-source', Key: 'docs/doomed.txt' }));
    await sandbox.settle();
    await expect(
      dr().send(new HeadObjectCommand({ Bucket: 'it-dr', Key: 'mirror/doomed.txt' })),
    ).rejects.toThrow();
    expect((await read(eu(), 'it-eu', 'docs/doomed.txt')).body).toBe('short-lived');
  });

  it('It should never let a late event for an older version overwrite a newer replica', async () => {
    await put('docs/versioned.txt', 'first');
    const firstEvent = lastSourceEvent('docs/versioned.txt');
    await put('docs/versioned.txt', 'second');
    expect((await read(dr(), 'it-dr', 'mirror/versioned.txt')).body).toBe('second');

    sandbox.bus.put(firstEvent); // EventBridge delivers late, and out of order
    await sandbox.settle();
    expect((await read(dr(), 'it-dr', 'mirror/versioned.txt')).body).toBe('second');
    expect((await read(eu(), 'it-eu', 'docs/versioned.txt')).body).toBe('second');
    expect(outcomesFor('docs/versioned.txt')).toContainEqual(
      expect.objectContaining({ status: 'skipped', reason: 'source-changed' }),
    );
  });

  it('It should skip a source deleted before its event was handled: no replica, no failure, no retry', async () => {
    await put('docs/vanishing.txt', 'here');
    const event = lastSourceEvent('docs/vanishing.txt');
    event.detail.object.key = 'docs/gone-already.txt';
    const failuresBefore = sandbox.metrics.failures.get('NoSuchKey') ?? 0;
    sandbox.bus.put(event);
    await sandbox.settle();
    expect(sandbox.metrics.failures.get('NoSuchKey') ?? 0).toBe(failuresBefore);
    expect(sandbox.bus.deadLetters).toEqual([]);
    expect(outcomesFor('docs/gone-already.txt')).toEqual([
      expect.objectContaining({ status: 'skipped', reason: 'source-changed' }),
      expect.objectContaining({ status: 'skipped', reason: 'source-changed' }),
      expect.objectContaining({ status: 'skipped', reason: 'source-changed' }),
    ]);
    await expect(
      eu().send(new HeadObjectCommand({ Bucket: 'it-eu', Key: 'docs/gone-already.txt' })),
    ).rejects.toThrow();
  });

  it('It should store and replicate a streamed upload exactly (regression: aws-chunked framing was stored as content)', async () => {
    const data = Buffer.alloc(300_000, 9);
    await source().send(
      new PutObjectCommand({
        Bucket: 'it-source',
        Key: 'docs/streamed.bin',
        Body: Readable.from([data]),
        ContentLength: data.length,
      }),
    );
    await sandbox.settle();
    const stored = await source().send(
      new HeadObjectCommand({ Bucket: 'it-source', Key: 'docs/streamed.bin' }),
    );
    expect(stored.ContentLength).toBe(data.length);
    const replica = await eu().send(new GetObjectCommand({ Bucket: 'it-eu', Key: 'docs/streamed.bin' }));
    expect(Buffer.from((await replica.Body?.transformToByteArray()) ?? []).equals(data)).toBe(true);
  });

  it('It should send a malformed event to the dead letters after retries, naming the field', async () => {
    sandbox.bus.put({
      version: '0',
      id: 'broken',
      'detail-type': 'Object Created',
      source: 'aws.s3',
      account: '000000000000',
      time: '2026-11-22T00:00:00Z',
      region: 'us-east-1',
      resources: [],
      detail: {
        version: '0',
        bucket: { name: 'it-source' },
        object: { key: 'docs/x', size: 'huge', etag: 'e' },
        'request-id': 'r',
        requester: 'x',
        reason: 'PutObject',
      },
    });
    await sandbox.settle();
    expect(sandbox.bus.deadLetters).toHaveLength(1);
    expect(sandbox.bus.deadLetters[0]?.attempt).toBe(3);
    expect(sandbox.bus.deadLetters[0]?.error).toMatchObject({
      name: 'MalformedEventError',
      message: expect.stringContaining('detail.object.size'),
    });
  });
});

describe('deletes that must protect the DR copy (issue 11 §3)', () => {
  const exists = (client: ReturnType<typeof source>, bucket: string, key: string) =>
    client.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).then(
      () => true,
      () => false,
    );

  it('It should keep the replicas of a lifecycle expiration, except where a destination opts in', async () => {
    await put('docs/expiring.txt', 'kept in DR');
    expect(sandbox.expire('it-source', 'docs/expiring.txt')).toBe(true);
    await sandbox.settle();

    expect(await exists(dr(), 'it-dr', 'mirror/expiring.txt')).toBe(true); // replicateDeletes alone
    expect(await exists(dr(), 'it-vault', 'docs/expiring.txt')).toBe(false); // replicateLifecycleDeletes
    expect(outcomesFor('docs/expiring.txt')).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ target: 's3://it-dr/mirror/expiring.txt', reason: 'lifecycle-expiration' }),
        expect.objectContaining({ target: 's3://it-vault/docs/expiring.txt', status: 'deleted' }),
      ]),
    );
  });

  it("It should keep a replica that a newer copy rewrote between the delete's read and its DeleteObject", async () => {
    const key = 'docs/raced.txt';
    await put(key, 'first');
    // The delete's event is held back, and handled by a handler whose DeleteObject is preceded by a new
    // write of the source and its replication (the race: the replica changes after the handler read it).
    sandbox.bus.pause();
    await source().send(new DeleteObjectCommand({ Bucket: 'it-source', Key: key }));
    sandbox.bus.resume();
    const deleteEvent = sandbox.bus.dropped.at(-1);
    let raced = false;
    const s3 = createS3ClientFactory({
      endpoint: sandbox.endpoint,
      credentials: SANDBOX_CREDENTIALS,
      instrument: <T>(client: T) => {
        (client as S3Client).middlewareStack.add(
          (next, context) => async (args) => {
            if (context.commandName === 'DeleteObjectCommand' && !raced) {
              raced = true;
              await put(key, 'second');
            }
            return next(args);
          },
          { step: 'initialize' },
        );
        return client;
      },
    });
    const { tools, deps } = recordingDeps(CONFIG, s3);
    const report = (await createObjectDeletedHandler(tools, deps)(
      deleteEvent as never,
      lambdaContext,
    )) as Report;

    expect(raced).toBe(true);
    expect(report.outcomes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          target: 's3://it-dr/mirror/raced.txt',
          status: 'skipped',
          reason: 'newer-replica',
        }),
      ]),
    );
    expect((await read(dr(), 'it-dr', 'mirror/raced.txt')).body).toBe('second');
  });

  it('It should not bring back a deleted version when its copy event comes after the delete (versioned)', async () => {
    await source().send(
      new PutBucketVersioningCommand({
        Bucket: 'it-versioned',
        VersioningConfiguration: { Status: 'Enabled' },
      }),
    );
    const key = 'late.txt';
    sandbox.bus.pause(); // the creation's event is delayed...
    await source().send(new PutObjectCommand({ Bucket: 'it-versioned', Key: key, Body: 'v1' }));
    sandbox.bus.resume();
    const created = sandbox.bus.dropped.at(-1);
    // ...past the delete (a delete marker: v1 itself still exists, and a copy pinned to it would work).
    await source().send(new DeleteObjectCommand({ Bucket: 'it-versioned', Key: key }));
    await sandbox.settle();
    sandbox.bus.put(created);
    await sandbox.settle();

    expect(await exists(dr(), 'it-versioned-dr', key)).toBe(false);
    const outcomes = deliveries
      .filter((d) => (d.result as Report | undefined)?.source === `s3://it-versioned/${key}`)
      .flatMap((d) => (d.result as Report).outcomes);
    expect(outcomes).toContainEqual(expect.objectContaining({ status: 'skipped', reason: 'source-changed' }));
  });
});
