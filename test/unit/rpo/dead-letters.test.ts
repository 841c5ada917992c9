import type { Message } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import type { PendingItem } from '#rpo/backlog-monitor';
import { pendingOfDeadLetter, type SourceReaders } from '#rpo/dead-letters';
import { configFrom, s3Event } from '#test/support/fixtures';

const CONFIG = configFrom(`
rules:
  - name: invoices-rpo
    rpo: 15m
    objects: { bucket: acme-prod, prefix: invoices/ }
    to:
      - { bucket: acme-dr, region: us-west-2 }
      - { bucket: acme-archive, region: eu-west-1, keyPrefix: old/ }
  - name: invoices-plain
    objects: { bucket: acme-prod, prefix: invoices/ }
    to: [{ bucket: acme-plain, region: us-west-2 }]
`);

const FUNCTION_ARN = 'arn:aws:lambda:us-east-1:111122223333:function:ferry-prod-objectCreated';

/** The record Lambda sends to an on-failure destination, with the event as requestPayload. */
const lambdaRecord = (event: unknown) => ({
  MessageId: 'm-1',
  Body: JSON.stringify({
    version: '1.0',
    requestContext: { functionArn: `${FUNCTION_ARN}:$LATEST`, condition: 'RetriesExhausted' },
    requestPayload: event,
    responsePayload: { errorType: 'SlowDown', errorMessage: 'Please reduce your request rate.' },
  }),
});

/** These rules filter on nothing a source read would answer: any read is a bug. */
const NO_READS = {
  s3: () => {
    throw new Error('no source read expected');
  },
  ec2: () => {
    throw new Error('no source read expected');
  },
} as unknown as SourceReaders;

async function itemsOf(message: Message): Promise<PendingItem[]> {
  const routed = await pendingOfDeadLetter(CONFIG, message, NO_READS);
  if (typeof routed === 'string') throw new Error(`routed to no item: ${routed}`);
  return routed;
}

describe('dead letters as pending items', () => {
  it('It should route a Lambda failure record of an Object Created event to each destination of rules with rpo, aged from the event time', async () => {
    const items = await itemsOf(lambdaRecord(s3Event('object-created')));
    expect(items.map((item) => item.destination).sort()).toEqual([
      expect.stringMatching(/^s3:\/\/acme-archive\/old\//),
      expect.stringMatching(/^s3:\/\/acme-dr\/invoices\//),
    ]);
    for (const item of items) {
      expect(item).toMatchObject({
        rule: 'invoices-rpo',
        kind: 'object',
        where: 'dead-letter',
        sourceTime: Date.parse('2026-11-21T18:43:48Z'),
        rpoMs: 15 * 60_000,
        bytes: 5576,
        cause: 'SlowDown: Please reduce your request rate.',
      });
      expect(item.item).toMatch(/^s3:\/\/acme-prod\/invoices\//);
    }
  });

  it('It should read an EventBridge target dead letter (the event as body) the same way', async () => {
    const items = await itemsOf({
      MessageId: 'm-2',
      Body: JSON.stringify(s3Event('object-created')),
      MessageAttributes: {
        TARGET_ARN: { DataType: 'String', StringValue: FUNCTION_ARN },
        ERROR_CODE: { DataType: 'String', StringValue: 'SDK_CLIENT_ERROR' },
      },
    });
    expect(items).toHaveLength(2);
    expect(items[0]?.cause).toBe('SDK_CLIENT_ERROR');
  });

  it('It should name why a dead letter stands for no item: not an event, no rule with rpo, an unknown event', async () => {
    const routed = (message: Message) => pendingOfDeadLetter(CONFIG, message, NO_READS);
    expect(await routed({ MessageId: 'x', Body: 'not json' })).toBe('not-an-event');
    const other = s3Event('object-created');
    other.detail.object.key = 'photos/a.jpg';
    expect(await routed(lambdaRecord(other))).toBe('no-rpo-rule');
    expect(await routed(lambdaRecord(s3Event('object-deleted')))).toBe('unknown-event');
    const broken = s3Event('object-created');
    delete broken.time;
    expect(await routed(lambdaRecord(broken))).toBe('unknown-event');
  });
});
