import { CopyObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { SQSBatchResponse } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createS3ClientFactory } from '#foundation/aws-clients';
import { sqsRecordOf } from '#local/sqs-event-source';
import { createObjectCreatedBatchHandler } from '#objects/handlers/object-created-batch';
import { configFrom, lambdaContext, recordingDeps, s3Error, s3Event } from '#test/support/fixtures';

/** The batch handler on mocked S3: what one batch answers, record by record (the sandbox runs it for real). */

const s3 = mockClient(S3Client);
const QUEUE = 'arn:aws:sqs:us-east-1:111122223333:ferry-dev-object-created';
const CONFIG = configFrom(`
rules:
  - name: invoices
    objects: { bucket: acme-prod, prefix: invoices/ }
    to:
      - { bucket: acme-dr, region: us-west-2 }
`);

const record = (id: string, body: string) =>
  sqsRecordOf(QUEUE, { id, body, sentAt: Date.parse('2026-05-01T12:00:00Z'), receives: 1 });
const eventFor = (key: string) => {
  const event = structuredClone(s3Event('object-created')) as { detail: { object: { key: string } } };
  event.detail.object.key = key;
  return JSON.stringify(event);
};

function setup(concurrency?: number) {
  const recorded = recordingDeps(CONFIG, createS3ClientFactory());
  const handler = createObjectCreatedBatchHandler(recorded.tools, recorded.deps, concurrency);
  const invoke = (records: ReturnType<typeof record>[]) =>
    handler({ Records: records } as never, lambdaContext) as Promise<SQSBatchResponse>;
  return { ...recorded, invoke };
}

beforeEach(() => {
  s3.on(HeadObjectCommand).resolves({ ETag: '"b1946ac92492d2347c6235b4d2611184"', ContentLength: 5576 });
  s3.on(CopyObjectCommand).resolves({ CopyObjectResult: { ETag: '"b1946ac92492d2347c6235b4d2611184"' } });
});
afterEach(() => s3.reset());

describe('object-created batch handler', () => {
  it('It should answer only the malformed and the retryably failed records, naming them, and copy the rest', async () => {
    s3.on(HeadObjectCommand, { Key: 'invoices/slow.pdf' }).rejects(s3Error('SlowDown', 503));
    const { invoke } = setup();
    const response = await invoke([
      record('ok-1', eventFor('invoices/a.pdf')),
      record('not-json', '{'),
      record('bad-etag', eventFor('invoices/b.pdf').replace('b1946ac92492d2347c6235b4d2611184', '*')),
      record('slow', eventFor('invoices/slow.pdf')),
      record('ok-2', eventFor('invoices/c.pdf')),
    ]);
    expect(response.batchItemFailures.map((failure) => failure.itemIdentifier).sort()).toEqual([
      'bad-etag',
      'not-json',
      'slow',
    ]);
    expect(
      s3
        .commandCalls(CopyObjectCommand)
        .map((call) => call.args[0].input.Key)
        .sort(),
    ).toEqual(['invoices/a.pdf', 'invoices/c.pdf']);
  });

  it('It should answer every record of a batch that failed whole, without throwing', async () => {
    const { invoke } = setup();
    const response = await invoke([record('x', 'no'), record('y', 'nope')]);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'x' }, { itemIdentifier: 'y' }]);
  });

  it('It should replicate at most `concurrency` records at once', async () => {
    let inFlight = 0;
    let most = 0;
    s3.on(HeadObjectCommand).callsFake(async () => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight -= 1;
      return { ETag: '"b1946ac92492d2347c6235b4d2611184"', ContentLength: 5576 };
    });
    const { invoke } = setup(3);
    const records = Array.from({ length: 12 }, (_, i) => record(`r${i}`, eventFor(`invoices/${i}.pdf`)));
    const response = await invoke(records);
    expect(response.batchItemFailures).toEqual([]);
    expect(most).toBe(3);
  });
});
