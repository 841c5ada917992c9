import { HeadObjectCommand, PutBucketVersioningCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createEc2ClientFactory, createS3ClientFactory } from '#foundation/aws-clients';
import { SANDBOX_CREDENTIALS } from '#foundation/sandbox-credentials';
import { type Sandbox, startSandbox } from '#local/sandbox';
import { SANDBOX_QUEUE_NAME } from '#local/sqs-dlq';
import { deadLetterItems } from '#rpo/dead-letters';
import { configFrom } from '#test/support/fixtures';
import { operateClients, redriveCommand } from '../../cli/operate.ts';

/**
 * "Object Created" delivered through the SQS delivery queue in batches (local/sqs-event-source.ts), handled
 * by the real batch handler against the sandbox's S3: a failed record alone goes back to the queue, a
 * poison record reaches the dead letters after maxReceiveCount receives (where the RPO monitor counts it
 * and `ferry redrive` finds it), and a batch whose invocation dies loses nothing and copies nothing twice.
 */

const CONFIG = configFrom(`
rules:
  - name: docs
    objects: { bucket: batch-source, prefix: docs/ }
    rpo: 15m
    to:
      - { bucket: batch-dr, region: us-west-2 }
  - name: logs
    objects: { bucket: batch-logs, prefix: logs/ }
    to:
      - { bucket: batch-logs-dr, region: us-west-2 }
  - name: versioned
    objects: { bucket: batch-versioned }
    to:
      - { bucket: batch-versioned-dr, region: us-west-2 }
`);

const MAX_RECEIVES = 3;
let sandbox: Sandbox;
const source = () => sandbox.s3('us-east-1');
const dr = () => sandbox.s3('us-west-2');
const queue = () => {
  if (!sandbox.objectCreatedQueue) throw new Error('the sandbox runs without its delivery queue');
  return sandbox.objectCreatedQueue;
};
let sqs: SQSClient;
let queueUrl: string;

beforeAll(async () => {
  sandbox = await startSandbox({
    config: CONFIG,
    port: 0,
    objectCreatedQueue: {
      batchSize: 10,
      batchingWindowMs: 30,
      visibilityTimeoutMs: 100,
      maxReceiveCount: MAX_RECEIVES,
    },
  });
  sqs = new SQSClient({ region: 'us-east-1', endpoint: sandbox.endpoint, credentials: SANDBOX_CREDENTIALS });
  queueUrl = `${sandbox.endpoint}/${sandbox.account}/${SANDBOX_QUEUE_NAME}`;
});
afterAll(async () => {
  sqs.destroy();
  await sandbox.stop();
});
beforeEach(() => {
  sandbox.faults.clear();
});

const sourceBucketOf = (key: string) =>
  key.startsWith('logs/') ? 'batch-logs' : key.startsWith('v/') ? 'batch-versioned' : 'batch-source';

/** Writes the objects at once (their events reach the queue together, one batch), then settles. */
async function putAll(keys: readonly string[]) {
  await Promise.all(
    keys.map((key) =>
      source().send(new PutObjectCommand({ Bucket: sourceBucketOf(key), Key: key, Body: `body of ${key}` })),
    ),
  );
  await sandbox.settle();
}

async function replicaOf(bucket: string, key: string) {
  try {
    return await dr().send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  } catch {
    return undefined;
  }
}

/** The invocations since `from` that carried a message of these ids. */
const invocationsSince = (from: number) => queue().invocations.slice(from);

describe('objectCreated through the SQS delivery queue, in batches', () => {
  it('It should retry only the record that failed: the others of its batch are deleted, not received again', async () => {
    const from = queue().invocations.length;
    const copiesBefore = sandbox.requests.get('CopyObject') ?? 0;
    // Every attempt the SDK makes to read the one object of batch-logs fails (3 attempts), once: its
    // record fails retryably (a source read is not handed to the copy machine).
    sandbox.faults.scriptFor('batch-logs', 'HeadObject', 'unavailable', 'unavailable', 'unavailable');
    const docs = ['docs/a.txt', 'docs/b.txt', 'docs/c.txt', 'docs/d.txt'];
    await putAll([...docs, 'logs/one.log']);

    const invocations = invocationsSince(from);
    const [first, ...retries] = invocations;
    expect(first?.messageIds).toHaveLength(5);
    expect(first?.failed).toHaveLength(1);
    // The retry carries the failed message alone, and it succeeds.
    expect(retries.map((invocation) => invocation.messageIds)).toEqual([first?.failed]);
    expect(retries[0]?.failed).toEqual([]);
    for (const key of docs) expect(await replicaOf('batch-dr', key)).toBeDefined();
    expect(await replicaOf('batch-logs-dr', 'logs/one.log')).toBeDefined();
    // One copy per object: the records that succeeded were not handled again.
    expect((sandbox.requests.get('CopyObject') ?? 0) - copiesBefore).toBe(5);
    expect(queue().depth).toBe(0);
  });

  it('It should move a poison record to the dead letters after maxReceiveCount receives, where the RPO monitor counts it and ferry redrive finds it', async () => {
    const from = queue().invocations.length;
    // Every read of the one object of batch-source fails, however often it is tried: it never succeeds.
    sandbox.faults.scriptFor(
      'batch-source',
      'HeadObject',
      ...Array<'unavailable'>(3 * MAX_RECEIVES).fill('unavailable'),
    );
    // A malformed event too (an ETag of "*"), as a rule's target could be sent one.
    sandbox.bus.put({
      version: '0',
      id: 'poison-1',
      'detail-type': 'Object Created',
      source: 'aws.s3',
      account: sandbox.account,
      time: new Date().toISOString(),
      region: 'us-east-1',
      resources: ['arn:aws:s3:::batch-source'],
      detail: {
        version: '0',
        bucket: { name: 'batch-source' },
        object: { key: 'docs/poison.txt', size: 3, etag: '*', sequencer: '01' },
        'request-id': 'r',
        requester: 'someone',
        reason: 'PutObject',
      },
    });
    await putAll(['docs/stuck.txt', 'logs/fine.log']);

    const invocations = invocationsSince(from);
    const received = (id: string) => invocations.filter((call) => call.messageIds.includes(id)).length;
    const moved = queue().movedToDeadLetters;
    expect(moved).toHaveLength(2);
    for (const id of moved) expect(received(id)).toBe(MAX_RECEIVES);
    expect(await replicaOf('batch-logs-dr', 'logs/fine.log')).toBeDefined();
    expect(await replicaOf('batch-dr', 'docs/stuck.txt')).toBeUndefined();

    // The RPO monitor's pending items: the well-formed one stands for its replica; the malformed one
    // routes to no item (its event does not parse), but it is in the queue all the same.
    const readers = {
      s3: createS3ClientFactory({ endpoint: sandbox.endpoint, credentials: SANDBOX_CREDENTIALS }),
      ec2: createEc2ClientFactory({ endpoint: sandbox.endpoint, credentials: SANDBOX_CREDENTIALS }),
    };
    const pending = await deadLetterItems(sqs, queueUrl, CONFIG, readers);
    expect(pending.items.map((item) => [item.where, item.rule, item.destination])).toEqual([
      ['dead-letter', 'docs', 's3://batch-dr/docs/stuck.txt'],
    ]);
    expect(Object.fromEntries(pending.unroutable)).toEqual({ 'unknown-event': 1 });
    const target = { stage: 'sandbox', region: 'us-east-1', endpoint: sandbox.endpoint };
    const clients = operateClients(target);
    const dryRun = await redriveCommand({ ...target, max: 10, dryRun: true }, clients);
    clients.sqs.destroy();
    clients.lambda.destroy();
    clients.sfn.destroy();
    const text = dryRun.lines.join('\n');
    expect(text).toContain('SQS redrive dead letter');
    expect(text).toContain('queue ferry-sandbox-objectCreatedBatch: would hand back');
  });

  it('It should lose nothing and copy nothing twice when a batch invocation dies after its work', async () => {
    // A versioned source: its copies go through the replica guard, which finds each replica of the
    // second receive `up-to-date` (same source, same sequencer) and writes nothing. (An unversioned source's
    // record would be copied again, pinned to the event's ETag by CopySourceIfMatch: the same bytes.)
    await source().send(
      new PutBucketVersioningCommand({
        Bucket: 'batch-versioned',
        VersioningConfiguration: { Status: 'Enabled' },
      }),
    );
    const from = queue().invocations.length;
    const copiesBefore = sandbox.requests.get('CopyObject') ?? 0;
    sandbox.crashes.crashOnce({
      function: 'ObjectCreatedBatchLambdaFunction',
      when: () => true,
      after: 'work',
    });
    const keys = ['v/crash-1.txt', 'v/crash-2.txt', 'v/crash-3.txt'];
    await putAll(keys);

    const invocations = invocationsSince(from);
    expect(invocations[0]?.error?.name).toBe('Lambda.Unknown');
    // Every message came back after its visibility timeout, and the second receive was a no-op copy-wise.
    const again = invocations.slice(1).flatMap((invocation) => invocation.messageIds);
    expect(new Set(again)).toEqual(new Set(invocations[0]?.messageIds));
    expect((sandbox.requests.get('CopyObject') ?? 0) - copiesBefore).toBe(keys.length);
    for (const key of keys) expect(await replicaOf('batch-versioned-dr', key)).toBeDefined();
    expect(queue().depth).toBe(0);
  });
});
