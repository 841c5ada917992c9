import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Delivery } from '#local/event-bus';
import { TRANSIENT_FAULT_KINDS } from '#local/faults';
import { type Sandbox, startSandbox } from '#local/sandbox';
import { type Execution, statesEnteredOf } from '#local/step-functions';
import { markersFor } from '#objects/markers';
import type { Outcome, Report } from '#objects/outcomes';
import { configFrom } from '#test/support/fixtures';

const MiB = 1024 * 1024;

const CONFIG = configFrom(`
copy: { multipartThreshold: 8388608, partSize: 5242880, partConcurrency: 4 }
rules:
  - name: mirror
    objects: { bucket: sm-source }
    to:
      - bucket: sm-dr
        region: us-west-2
        tags: { set: { copy: dr } }
        replicateDeletes: true
  - name: versions
    objects: { bucket: sm-versioned }
    to:
      - { bucket: sm-versioned-dr, region: us-west-2 }
  - name: plain
    objects: { bucket: sm-plain }
    to:
      - { bucket: sm-plain-dr, region: us-west-2 }
`);

let sandbox: Sandbox;
const deliveries: Delivery[] = [];
const ended: Execution[] = [];
const source = () => sandbox.s3('us-east-1');
const dr = () => sandbox.s3('us-west-2');

beforeAll(async () => {
  sandbox = await startSandbox({
    config: CONFIG,
    port: 0,
    onDelivery: (delivery) => deliveries.push(delivery),
    onExecutionEnd: (execution) => ended.push(execution),
  });
});
afterEach(() => sandbox.faults.clear());
afterAll(() => sandbox.stop());

const bytesOf = (size: number, seed: number) => {
  const buffer = Buffer.alloc(size);
  for (let i = 0; i < size; i += 4096) buffer[i] = (i / 4096 + seed) % 251;
  return buffer;
};

async function put(key: string, body: Buffer, tagging = 'owner=me') {
  await source().send(
    new PutObjectCommand({
      Bucket: 'sm-source',
      Key: key,
      Body: body,
      Tagging: tagging,
      Metadata: { origin: 'test' },
    }),
  );
  await sandbox.settle();
}

async function replica(key: string) {
  const object = await dr().send(new GetObjectCommand({ Bucket: 'sm-dr', Key: key }));
  const { TagSet = [] } = await dr().send(new GetObjectTaggingCommand({ Bucket: 'sm-dr', Key: key }));
  return {
    body: Buffer.from((await object.Body?.transformToByteArray()) ?? []),
    etag: object.ETag?.replaceAll('"', ''),
    metadata: object.Metadata,
    tags: Object.fromEntries(TagSet.map((tag) => [tag.Key, tag.Value])),
  };
}

const outcomesFor = (key: string): Outcome[] =>
  deliveries.flatMap((d) =>
    (d.result as Report | undefined)?.source === `s3://sm-source/${key}` ? (d.result as Report).outcomes : [],
  );

const executionFor = (key: string) =>
  ended.filter((e) => (e.input as { source: { key: string } }).source.key === key).at(-1);

describe('retry path: copies that outlast the SDK go to the state machine', () => {
  it.each(TRANSIENT_FAULT_KINDS)(
    'It should finish a copy hit by three "%s" faults, retrying in the state machine',
    async (fault) => {
      const key = `retry/${fault}.txt`;
      sandbox.faults.script('CopyObject', fault, fault, fault);
      const body = Buffer.from(`survived ${fault}`);
      await put(key, body);

      expect(outcomesFor(key)).toEqual([expect.objectContaining({ status: 'handed-off' })]);
      expect(executionFor(key)?.status).toBe('SUCCEEDED');
      const copy = await replica(key);
      expect(copy.body.equals(body)).toBe(true);
      expect(copy.tags).toEqual({ owner: 'me', copy: 'dr' });
      expect(copy.metadata).toMatchObject({ origin: 'test', 'ferry-rule': 'mirror' });
    },
  );

  it('It should catch an error embedded in a 200 with a trailing newline, which the SDK resolves without ETag', async () => {
    const key = 'retry/newline-once.txt';
    sandbox.faults.script('CopyObject', 'embedded-newline');
    await put(key, Buffer.from('x'));
    expect(outcomesFor(key)).toEqual([
      expect.objectContaining({ status: 'handed-off', reason: 'CopyResultMissingETagError' }),
    ]);
    expect((await replica(key)).body.toString()).toBe('x');
  });

  it('It should retry in the state machine with backoff on the virtual clock, not in real time', async () => {
    const key = 'retry/twice.txt';
    // Three for the fast path (the SDK's attempts), three for the state machine's first attempt.
    sandbox.faults.script('CopyObject', ...Array<'slowdown'>(6).fill('slowdown'));
    const before = sandbox.clock.skippedMs;
    await put(key, Buffer.from('late'));
    const execution = executionFor(key);
    expect(execution?.status).toBe('SUCCEEDED');
    expect(execution?.retries.get('CopyObject')).toBe(1);
    expect(sandbox.clock.skippedMs).toBeGreaterThan(before);
  });

  it('It should fail with the cause and count it when throttling never ends, leaving no replica', async () => {
    const key = 'retry/forever.txt';
    sandbox.faults.setRates({ slowdown: 1 });
    const failuresBefore = sandbox.metrics.failures.get('SlowDown') ?? 0;
    const skippedBefore = sandbox.clock.skippedMs;
    await put(key, Buffer.from('never'));

    const execution = executionFor(key);
    expect(execution?.status).toBe('FAILED');
    expect(execution?.error).toMatchObject({
      Error: 'RetryableCopyError',
      Cause: expect.stringContaining('SlowDown'),
    });
    expect(execution?.retries.get('CopyObject')).toBe(25);
    expect(sandbox.metrics.failures.get('SlowDown')).toBe(failuresBefore + 1);
    expect(sandbox.clock.skippedMs - skippedBefore).toBeGreaterThan(60 * 60_000); // hours, virtually
    await expect(dr().send(new HeadObjectCommand({ Bucket: 'sm-dr', Key: key }))).rejects.toThrow();
  });
});

describe('multipart path: objects above the threshold', () => {
  it('It should copy a large object byte for byte, with metadata, tags and a multipart ETag', async () => {
    const key = 'large/plain.bin';
    const body = bytesOf(20 * MiB + 17, 1);
    await put(key, body);

    expect(outcomesFor(key)).toEqual([
      expect.objectContaining({
        status: 'handed-off',
        reason: expect.stringContaining('multipart threshold'),
      }),
    ]);
    const copy = await replica(key);
    expect(copy.body.equals(body)).toBe(true);
    expect(copy.etag).toMatch(/-5$/); // 20 MiB + 17 bytes in 5 MiB parts
    expect(copy.tags).toEqual({ owner: 'me', copy: 'dr' });
    expect(copy.metadata).toMatchObject({ origin: 'test', 'ferry-source-bucket': 'sm-source' });
    const uploads = await dr().send(new ListMultipartUploadsCommand({ Bucket: 'sm-dr' }));
    expect(uploads.Uploads ?? []).toEqual([]);
  });

  it("It should keep the source's part layout, so the replica has the same ETag", async () => {
    const key = 'large/layout.bin';
    const parts = [bytesOf(6 * MiB, 2), bytesOf(6 * MiB, 3), bytesOf(2 * MiB + 5, 4)];
    const client = source();
    const { UploadId } = await client.send(
      new CreateMultipartUploadCommand({ Bucket: 'sm-source', Key: key }),
    );
    const etags = [];
    for (const [index, part] of parts.entries()) {
      const { ETag } = await client.send(
        new UploadPartCommand({ Bucket: 'sm-source', Key: key, UploadId, PartNumber: index + 1, Body: part }),
      );
      etags.push({ PartNumber: index + 1, ETag });
    }
    await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'sm-source',
        Key: key,
        UploadId,
        MultipartUpload: { Parts: etags },
      }),
    );
    await sandbox.settle();

    const sourceHead = await client.send(new HeadObjectCommand({ Bucket: 'sm-source', Key: key }));
    const copy = await replica(key);
    expect(copy.body.equals(Buffer.concat(parts))).toBe(true);
    expect(sourceHead.ETag?.replaceAll('"', '')).toMatch(/-3$/);
    expect(copy.etag).toBe(sourceHead.ETag?.replaceAll('"', ''));
    const firstPart = await dr().send(new HeadObjectCommand({ Bucket: 'sm-dr', Key: key, PartNumber: 1 }));
    expect(firstPart).toMatchObject({ ContentLength: 6 * MiB, PartsCount: 3 });
  });

  it('It should complete from the parts the Map carried, without ListParts or a HEAD of the replica around the completion', async () => {
    const count = (operation: string) => sandbox.requests.get(operation) ?? 0;
    const key = 'big/rounds.bin';
    const body = bytesOf(12 * MiB, 15);
    const before = { list: count('ListParts'), heads: count('HeadObject') };
    await put(key, body);
    expect(executionFor(key)?.status).toBe('SUCCEEDED');
    expect((await replica(key)).body.equals(body)).toBe(true);
    expect(count('ListParts')).toBe(before.list);
    // The object-created handler reads the event's object (1); the prepare step the source, whether it is
    // current and the replica key, side by side (3); the complete step only whether the source is still
    // current (1): 5 HEADs, where the copy made 8 (a guard read of the replica before the completion and
    // a verifying one after it).
    expect(count('HeadObject') - before.heads).toBe(5);
  });

  it('It should abort the upload when part copies fail for good: no orphan, no replica', async () => {
    const key = 'large/doomed.bin';
    sandbox.faults.setRates({ unavailable: 1 });
    await put(key, bytesOf(10 * MiB, 5));

    expect(executionFor(key)?.status).toBe('FAILED');
    const states = statesEnteredOf(executionFor(key) as Execution);
    expect(states).toContain('AbortUpload');
    const uploads = await dr().send(new ListMultipartUploadsCommand({ Bucket: 'sm-dr' }));
    expect(uploads.Uploads ?? []).toEqual([]);
    await expect(dr().send(new HeadObjectCommand({ Bucket: 'sm-dr', Key: key }))).rejects.toThrow();
  });

  it('It should copy once when the same event arrives twice', async () => {
    const key = 'large/duplicate.bin';
    const body = bytesOf(9 * MiB, 6);
    await put(key, body);
    const executionsBefore = sandbox.stepFunctions.executions.size;
    const event = sandbox.bus.published.find(
      (e) => (e as { detail: { object: { key: string } } }).detail.object.key === key,
    );
    sandbox.bus.put(structuredClone(event)); // at-least-once delivery
    await sandbox.settle();

    expect(sandbox.stepFunctions.executions.size).toBe(executionsBefore);
    expect(outcomesFor(key)).toHaveLength(2);
    expect(
      new Set(outcomesFor(key).map((o) => (o.status === 'handed-off' ? o.execution : ''))),
    ).toHaveProperty('size', 1);
    expect((await replica(key)).body.equals(body)).toBe(true);
  });
});

/**
 * The object-copy step's runtime dies once at `action` for `key`: after its work (its requests reached
 * S3, e.g. CreateMultipartUpload or CompleteMultipartUpload), or before it starts; Step Functions retries it.
 */
const crashAt = (
  action: string,
  key: string,
  whileDown?: () => Promise<void>,
  after: 'work' | 'start' = 'work',
) =>
  sandbox.crashes.crashOnce({
    after,
    function: 'ObjectCopyStepLambdaFunction',
    when: (input) => {
      const step = input as { action?: string; job?: { source?: { key?: string } } };
      return step.action === action && step.job?.source?.key === key;
    },
    ...(whileDown ? { whileDown } : {}),
  });

describe('multipart path: a step that dies without answering', () => {
  const uploadsLeft = async () =>
    (await dr().send(new ListMultipartUploadsCommand({ Bucket: 'sm-dr' }))).Uploads ?? [];
  const aborts = () => sandbox.requests.get('AbortMultipartUpload') ?? 0;
  const statesOf = (execution: Execution | undefined) => (execution ? statesEnteredOf(execution) : []);

  it('It should abort the upload a crashed prepare step created, and copy with a new one', async () => {
    const key = 'crash/prepare.bin';
    const body = bytesOf(12 * MiB + 9, 7);
    crashAt('prepare', key);
    const crashesBefore = sandbox.crashes.crashed.length;
    const abortsBefore = aborts();
    await put(key, body);

    expect(sandbox.crashes.crashed.length).toBe(crashesBefore + 1);
    const execution = executionFor(key);
    expect(execution?.status).toBe('SUCCEEDED');
    expect(execution?.retries.get('StartUpload')).toBe(1);
    expect(statesOf(execution)).not.toContain('CleanUpUploads');
    const copy = await replica(key);
    expect(copy.body.equals(body)).toBe(true);
    expect(copy.etag).toMatch(/-3$/);
    expect(aborts() - abortsBefore).toBe(1); // the crashed attempt's upload, found by the retry
    expect(await uploadsLeft()).toEqual([]);
  });

  it('It should leave no upload and no replica when the source is deleted while the step was down (a skip, not a failure)', async () => {
    const key = 'crash/deleted.bin';
    crashAt('prepare', key, async () => {
      await source().send(new DeleteObjectCommand({ Bucket: 'sm-source', Key: key }));
    });
    const abortsBefore = aborts();
    await put(key, bytesOf(10 * MiB, 8));

    const execution = executionFor(key);
    expect(execution?.status).toBe('SUCCEEDED');
    expect(execution?.error).toBeUndefined();
    expect(statesOf(execution)).toEqual(
      expect.arrayContaining(['StartUpload', 'CleanUpUploads', 'SourceChanged']),
    );
    expect(statesOf(execution)).not.toContain('RecordFailure');
    expect(aborts() - abortsBefore).toBe(1);
    expect(await uploadsLeft()).toEqual([]);
    await expect(dr().send(new HeadObjectCommand({ Bucket: 'sm-dr', Key: key }))).rejects.toThrow();
  });

  it('It should finish when the complete step dies after S3 completed the upload', async () => {
    const key = 'crash/complete.bin';
    const body = bytesOf(11 * MiB, 9);
    crashAt('complete', key);
    await put(key, body);

    const execution = executionFor(key);
    expect(execution?.status).toBe('SUCCEEDED');
    expect(execution?.retries.get('CompleteUpload')).toBe(1);
    expect(statesOf(execution)).not.toContain('AbortUpload');
    expect((await replica(key)).body.equals(body)).toBe(true);
    expect(await uploadsLeft()).toEqual([]);
  });
});

describe('multipart path: ordering against newer writes (issue 11 §1, §3)', () => {
  /**
   * Holds a step back (its first attempt dies before it starts, and Step Functions retries it) while the
   * source changes and the newer object is replicated. `complete`: every part is copied by then.
   */
  const holdBack = (action: 'prepare' | 'complete', key: string, whileDown: () => Promise<void>) =>
    sandbox.crashes.crashOnce({
      function: 'ObjectCopyStepLambdaFunction',
      after: 'start',
      when: (input) => {
        const step = input as { action?: string; job?: { source?: { key?: string } } };
        return step.action === action && step.job?.source?.key === key;
      },
      whileDown,
    });
  const completeOf = (key: string, whileDown: () => Promise<void>) => holdBack('complete', key, whileDown);
  const uploadsLeft = async () =>
    (await dr().send(new ListMultipartUploadsCommand({ Bucket: 'sm-dr' }))).Uploads ?? [];
  const statesOf = (execution: Execution | undefined) => (execution ? statesEnteredOf(execution) : []);

  it("It should not complete v1 over v2's replica when the source was overwritten after the last part copy", async () => {
    const key = 'order/overwritten.bin';
    const v2 = Buffer.from('v2 is 19 bytes long');
    completeOf(key, async () => {
      await source().send(new PutObjectCommand({ Bucket: 'sm-source', Key: key, Body: v2 }));
      await sandbox.bus.drain(); // v2 goes the fast path: its replica is written now
      expect((await replica(key)).body.equals(v2)).toBe(true);
    });
    const skips = () =>
      (sandbox.metrics.skips.get('source-changed') ?? 0) + (sandbox.metrics.skips.get('newer-replica') ?? 0);
    const skippedBefore = skips();
    await put(key, bytesOf(10 * MiB, 10));

    const execution = executionFor(key);
    expect(execution?.status).toBe('SUCCEEDED');
    expect(statesOf(execution)).toEqual(expect.arrayContaining(['AbortUpload', 'SourceChanged']));
    expect(statesOf(execution)).not.toContain('Copied');
    expect((await replica(key)).body.equals(v2)).toBe(true);
    // Skipped, for either reason: the source no longer holds v1, and the replica is from a later write.
    expect(skips()).toBe(skippedBefore + 1);
    expect(await uploadsLeft()).toEqual([]);
  });

  it('It should not bring back a deleted object: a copy completing after the delete was replicated writes nothing', async () => {
    const key = 'order/deleted.bin';
    completeOf(key, async () => {
      await source().send(new DeleteObjectCommand({ Bucket: 'sm-source', Key: key }));
      await sandbox.bus.drain(); // the delete is handled: there is no replica yet to delete
    });
    await put(key, bytesOf(10 * MiB, 11));

    const execution = executionFor(key);
    expect(execution?.status).toBe('SUCCEEDED');
    expect(statesOf(execution)).toEqual(expect.arrayContaining(['AbortUpload', 'SourceChanged']));
    await expect(dr().send(new HeadObjectCommand({ Bucket: 'sm-dr', Key: key }))).rejects.toThrow();
    expect(await uploadsLeft()).toEqual([]);
  });

  it("It should not overwrite a newer event's replica written at the key during the part copies, though the source is unchanged", async () => {
    const key = 'order/newer-replica.bin';
    const newer = Buffer.from('a newer replica');
    // Ferry's replica of this source key from a later event (a greater sequencer), written while the
    // copy's completion was held back: the key no longer holds what the prepare step read there.
    completeOf(key, async () => {
      await dr().send(
        new PutObjectCommand({
          Bucket: 'sm-dr',
          Key: key,
          Body: newer,
          Metadata: markersFor({ bucket: 'sm-source', key, sequencer: 'FFFFFFFFFFFFFFFFFF', rule: 'mirror' }),
        }),
      );
    });
    const skippedBefore = sandbox.metrics.skips.get('newer-replica') ?? 0;
    await put(key, bytesOf(10 * MiB, 14));

    const execution = executionFor(key);
    expect(execution?.status).toBe('SUCCEEDED');
    expect(statesOf(execution)).toEqual(expect.arrayContaining(['AbortUpload', 'SourceChanged']));
    expect((await replica(key)).body.equals(newer)).toBe(true);
    expect(sandbox.metrics.skips.get('newer-replica')).toBe(skippedBefore + 1);
    expect(await uploadsLeft()).toEqual([]);
  });

  describe('versioned source', () => {
    const versions = () => sandbox.s3('us-east-1');
    const replicaOf = async (key: string) => {
      const object = await dr().send(new GetObjectCommand({ Bucket: 'sm-versioned-dr', Key: key }));
      return {
        body: Buffer.from((await object.Body?.transformToByteArray()) ?? []),
        version: object.Metadata?.['ferry-source-version'],
      };
    };
    const v2 = Buffer.from('v2 is 19 bytes long');
    const putV2 = (key: string) => async () => {
      const { VersionId } = await versions().send(
        new PutObjectCommand({ Bucket: 'sm-versioned', Key: key, Body: v2 }),
      );
      await sandbox.bus.drain(); // v2 goes the fast path: its replica is written now
      expect((await replicaOf(key)).version).toBe(VersionId);
    };
    const putV1 = async (key: string, seed: number) => {
      await versions().send(
        new PutBucketVersioningCommand({
          Bucket: 'sm-versioned',
          VersioningConfiguration: { Status: 'Enabled' },
        }),
      );
      await versions().send(
        new PutObjectCommand({ Bucket: 'sm-versioned', Key: key, Body: bytesOf(10 * MiB, seed) }),
      );
      await sandbox.settle();
    };
    const current = async (key: string) =>
      (await versions().send(new HeadObjectCommand({ Bucket: 'sm-versioned', Key: key }))).VersionId;
    const count = (operation: string) => sandbox.requests.get(operation) ?? 0;

    it('It should copy no part of v1 when v2 was replicated before its execution started', async () => {
      const key = 'order/v-early.bin';
      holdBack('prepare', key, putV2(key));
      const partsBefore = count('UploadPartCopy');
      const uploadsBefore = count('CreateMultipartUpload');
      const abortsBefore = count('AbortMultipartUpload');
      await putV1(key, 12);

      const execution = executionFor(key);
      expect(execution?.status).toBe('SUCCEEDED');
      expect(statesOf(execution)).toContain('SourceChanged');
      expect(count('UploadPartCopy')).toBe(partsBefore);
      // The upload is created beside the guard's reads (the job carries the source's attributes), and
      // aborted when they say v1 is no longer current: none is left.
      expect(count('CreateMultipartUpload')).toBe(uploadsBefore + 1);
      expect(count('AbortMultipartUpload')).toBeGreaterThanOrEqual(abortsBefore + 1);
      const uploads = await dr().send(new ListMultipartUploadsCommand({ Bucket: 'sm-versioned-dr' }));
      expect(uploads.Uploads ?? []).toEqual([]);
      const copy = await replicaOf(key);
      expect(copy.body.equals(v2)).toBe(true);
      expect(copy.version).toBe(await current(key));
    });

    it("It should not complete v1 over v2's replica when v2 was replicated during v1's part copies", async () => {
      const key = 'order/v-late.bin';
      completeOf(key, putV2(key));
      await putV1(key, 13);

      const execution = executionFor(key);
      expect(execution?.status).toBe('SUCCEEDED');
      expect(statesOf(execution)).toEqual(expect.arrayContaining(['AbortUpload', 'SourceChanged']));
      const copy = await replicaOf(key);
      expect(copy.body.equals(v2)).toBe(true);
      expect(copy.version).toBe(await current(key));
      const uploads = await dr().send(new ListMultipartUploadsCommand({ Bucket: 'sm-versioned-dr' }));
      expect(uploads.Uploads ?? []).toEqual([]);
    });
  });
});

describe("multipart path: the upload created beside the prepare step's reads (issue 17 §2)", () => {
  const plain = () => sandbox.s3('us-east-1');
  const count = (operation: string) => sandbox.requests.get(operation) ?? 0;
  const uploadsLeft = async () =>
    (await dr().send(new ListMultipartUploadsCommand({ Bucket: 'sm-plain-dr' }))).Uploads ?? [];
  const putPlain = async (key: string, body: Buffer, metadata = { origin: 'plain' }) => {
    await plain().send(
      new PutObjectCommand({ Bucket: 'sm-plain', Key: key, Body: body, Metadata: metadata }),
    );
    await sandbox.settle();
  };
  const replicaOf = async (key: string) => {
    const object = await dr().send(new GetObjectCommand({ Bucket: 'sm-plain-dr', Key: key }));
    return {
      body: Buffer.from((await object.Body?.transformToByteArray()) ?? []),
      metadata: object.Metadata,
    };
  };
  const stepCalls = (key: string) =>
    sandbox
      .calls()
      .filter((call) => call.function === 'objectCopyStep' && call.input.Key === key)
      .map((call) => call.operation);

  it('It should send CreateMultipartUpload before the reads answer, from the attributes the object-created handler read', async () => {
    const key = 'early/kept.bin';
    const body = bytesOf(10 * MiB, 21);
    const before = { creates: count('CreateMultipartUpload'), aborts: count('AbortMultipartUpload') };
    await putPlain(key, body);

    const execution = executionFor(key);
    expect(execution?.status).toBe('SUCCEEDED');
    const copy = await replicaOf(key);
    expect(copy.body.equals(body)).toBe(true);
    expect(copy.metadata).toMatchObject({ origin: 'plain', 'ferry-rule': 'plain' });
    // One upload, kept: its request was the one the prepare step's own HEAD gives.
    expect(count('CreateMultipartUpload') - before.creates).toBe(1);
    expect(count('AbortMultipartUpload') - before.aborts).toBe(0);
    // Started before the prepare step's HEADs (calls are recorded in the order they start).
    const calls = stepCalls(key);
    expect(calls.indexOf('CreateMultipartUpload')).toBeGreaterThanOrEqual(0);
    expect(calls.indexOf('CreateMultipartUpload')).toBeLessThan(calls.indexOf('HeadObject'));
    expect(await uploadsLeft()).toEqual([]);
  });

  it("It should abort the early upload and create one from the prepare step's read when the attributes changed under the same ETag", async () => {
    const key = 'early/changed.bin';
    const body = bytesOf(10 * MiB, 22);
    // Held back before the prepare step runs: the object is rewritten in place with other metadata (same
    // bytes, so the same ETag), and that write's own event waits in the bus.
    crashAt(
      'prepare',
      key,
      async () => {
        await plain().send(
          new PutObjectCommand({
            Bucket: 'sm-plain',
            Key: key,
            Body: body,
            Metadata: { origin: 'rewritten' },
          }),
        );
      },
      'start',
    );
    const aborts = count('AbortMultipartUpload');
    await putPlain(key, body);

    const execution = ended.filter((e) => (e.input as { source: { key: string } }).source.key === key)[0];
    expect(execution?.status).toBe('SUCCEEDED');
    expect(statesEnteredOf(execution as Execution)).toContain('Copied');
    // The upload made from the event's attributes went; the replica has what the source holds now.
    expect(count('AbortMultipartUpload') - aborts).toBeGreaterThanOrEqual(1);
    expect((await replicaOf(key)).metadata).toMatchObject({ origin: 'rewritten' });
    expect(await uploadsLeft()).toEqual([]);
  });

  it("It should abort a crashed prepare's upload but not the one its retry is creating at the same time", async () => {
    const key = 'early/crashed.bin';
    const body = bytesOf(12 * MiB + 3, 23);
    crashAt('prepare', key);
    const before = { creates: count('CreateMultipartUpload'), aborts: count('AbortMultipartUpload') };
    await putPlain(key, body);

    const execution = executionFor(key);
    expect(execution?.status).toBe('SUCCEEDED');
    expect(execution?.retries.get('StartUpload')).toBe(1);
    expect((await replicaOf(key)).body.equals(body)).toBe(true);
    expect(count('CreateMultipartUpload') - before.creates).toBe(2);
    expect(count('AbortMultipartUpload') - before.aborts).toBe(1); // the crashed attempt's only
    expect(await uploadsLeft()).toEqual([]);
  });

  it('It should abort the early upload and write nothing when the source was deleted before the prepare step', async () => {
    const key = 'early/deleted.bin';
    crashAt(
      'prepare',
      key,
      async () => {
        await plain().send(new DeleteObjectCommand({ Bucket: 'sm-plain', Key: key }));
      },
      'start',
    );
    const before = {
      creates: count('CreateMultipartUpload'),
      aborts: count('AbortMultipartUpload'),
      parts: count('UploadPartCopy'),
    };
    await putPlain(key, bytesOf(10 * MiB, 24));

    const execution = ended.filter((e) => (e.input as { source: { key: string } }).source.key === key)[0];
    expect(execution?.status).toBe('SUCCEEDED');
    expect(statesEnteredOf(execution as Execution)).toContain('SourceChanged');
    expect(count('CreateMultipartUpload') - before.creates).toBe(1);
    expect(count('AbortMultipartUpload') - before.aborts).toBeGreaterThanOrEqual(1);
    expect(count('UploadPartCopy')).toBe(before.parts);
    expect(await uploadsLeft()).toEqual([]);
    await expect(dr().send(new HeadObjectCommand({ Bucket: 'sm-plain-dr', Key: key }))).rejects.toThrow();
  });
});
