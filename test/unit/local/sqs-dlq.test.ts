import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SANDBOX_CREDENTIALS } from '#foundation/sandbox-credentials';
import { EventBus } from '#local/event-bus';
import { SANDBOX_QUEUE_NAME, serveDeadLetters } from '#local/sqs-dlq';
import { md5OfMessageAttributes } from '#local/sqs-wire';

const ACCOUNT = '000000000000';

/**
 * The sandbox's dead-letter queue in both of SQS's protocols: the query protocol as AWS CLI v2 2.9.19 (and
 * any client of that age) sends it, form-encoded with `Action=…`, answered in SQS's XML; and JSON 1.0, as
 * @aws-sdk/client-sqs sends it.
 */
describe('the sandbox SQS: the query protocol and JSON', () => {
  let server: http.Server;
  let endpoint: string;
  let bus: EventBus;

  beforeEach(async () => {
    bus = new EventBus({ targets: [] });
    bus.deadLetters.push({
      target: 'snapshot-created',
      event: { 'detail-type': 'EBS Snapshot Notification' },
      attempt: 3,
      error: Object.assign(new Error('EC2 did not answer'), { name: 'ServiceUnavailable' }),
    });
    server = http.createServer((req, res) => {
      void serveDeadLetters(bus, ACCOUNT, req, res, {
        accessKeyId: SANDBOX_CREDENTIALS.accessKeyId,
        region: 'us-east-1',
        service: 'sqs',
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const queueUrl = () => `${endpoint}/${ACCOUNT}/${SANDBOX_QUEUE_NAME}`;

  /** A query-protocol request as botocore's query serializer writes it. */
  const query = async (params: Record<string, string>) => {
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
      body: new URLSearchParams({ Version: '2012-11-05', ...params }).toString(),
    });
    return {
      status: response.status,
      type: response.headers.get('content-type'),
      xml: await response.text(),
    };
  };
  const one = (xml: string, element: string) => new RegExp(`<${element}>([^<]*)</${element}>`).exec(xml)?.[1];

  it('It should answer GetQueueUrl and GetQueueAttributes in XML, in the SQS namespace, with their results', async () => {
    const url = await query({ Action: 'GetQueueUrl', QueueName: SANDBOX_QUEUE_NAME });
    expect(url.status).toBe(200);
    expect(url.type).toBe('text/xml');
    expect(url.xml).toMatch(
      /^<\?xml version="1.0"\?><GetQueueUrlResponse xmlns="http:\/\/queue.amazonaws.com\/doc\/2012-11-05\/"><GetQueueUrlResult><QueueUrl>/,
    );
    expect(one(url.xml, 'QueueUrl')).toMatch(new RegExp(`/${ACCOUNT}/${SANDBOX_QUEUE_NAME}$`));
    expect(url.xml).toMatch(/<ResponseMetadata><RequestId>[0-9a-f-]{36}<\/RequestId><\/ResponseMetadata>/);

    const attributes = await query({
      Action: 'GetQueueAttributes',
      QueueUrl: queueUrl(),
      'AttributeName.1': 'All',
    });
    expect(attributes.xml).toContain(
      '<GetQueueAttributesResult><Attribute><Name>ApproximateNumberOfMessages</Name><Value>1</Value></Attribute>',
    );
    expect(attributes.xml).toContain(
      `<Attribute><Name>QueueArn</Name><Value>arn:aws:sqs:us-east-1:${ACCOUNT}:${SANDBOX_QUEUE_NAME}</Value></Attribute>`,
    );
  });

  it('It should send, receive with message attributes, and delete over the query protocol, with the digests SQS gives', async () => {
    const sent = await query({
      Action: 'SendMessage',
      QueueUrl: queueUrl(),
      MessageBody: '{"detail":"<a & b>"}',
      'MessageAttribute.1.Name': 'RULE_ARN',
      'MessageAttribute.1.Value.DataType': 'String',
      'MessageAttribute.1.Value.StringValue': 'arn:aws:events:us-east-1:000000000000:rule/r',
    });
    expect(sent.status).toBe(200);
    expect(one(sent.xml, 'MD5OfMessageBody')).toBe(
      createHash('md5').update('{"detail":"<a & b>"}').digest('hex'),
    );
    // The documented digest, spelled out: each field with a 4-byte length, a transport byte (1: String) before the value.
    const field = (text: string) => {
      const bytes = Buffer.from(text, 'utf8');
      const length = Buffer.alloc(4);
      length.writeUInt32BE(bytes.length);
      return Buffer.concat([length, bytes]);
    };
    const expected = createHash('md5')
      .update(
        Buffer.concat([
          field('RULE_ARN'),
          field('String'),
          Buffer.from([1]),
          field('arn:aws:events:us-east-1:000000000000:rule/r'),
        ]),
      )
      .digest('hex');
    expect(one(sent.xml, 'MD5OfMessageAttributes')).toBe(expected);

    const received = await query({
      Action: 'ReceiveMessage',
      QueueUrl: queueUrl(),
      MaxNumberOfMessages: '10',
      'AttributeName.1': 'All',
      'MessageAttributeName.1': 'All',
    });
    const messages = [...received.xml.matchAll(/<Message>(.*?)<\/Message>/g)].map((match) => match[1] ?? '');
    expect(messages).toHaveLength(2);
    const [deadLetter, mine] = messages;
    expect(JSON.parse((one(deadLetter ?? '', 'Body') ?? '').replaceAll('&quot;', '"'))).toMatchObject({
      requestContext: { condition: 'RetriesExhausted', approximateInvokeCount: 3 },
      responsePayload: { errorType: 'ServiceUnavailable', errorMessage: 'EC2 did not answer' },
    });
    expect(mine).toContain('<Body>{&quot;detail&quot;:&quot;&lt;a &amp; b&gt;&quot;}</Body>');
    expect(mine).toContain(`<MD5OfMessageAttributes>${expected}</MD5OfMessageAttributes>`);
    expect(mine).toContain(
      '<MessageAttribute><Name>RULE_ARN</Name><Value><StringValue>arn:aws:events:us-east-1:000000000000:rule/r</StringValue><DataType>String</DataType></Value></MessageAttribute>',
    );
    expect(mine).toMatch(/<Attribute><Name>SentTimestamp<\/Name><Value>\d+<\/Value><\/Attribute>/);

    for (const message of messages) {
      const deleted = await query({
        Action: 'DeleteMessage',
        QueueUrl: queueUrl(),
        ReceiptHandle: one(message, 'ReceiptHandle') ?? '',
      });
      expect(deleted.xml).toMatch(
        /^<\?xml version="1.0"\?><DeleteMessageResponse xmlns="[^"]+"><ResponseMetadata><RequestId>/,
      );
    }
    expect(bus.deadLetters).toEqual([]);
    const after = await query({
      Action: 'GetQueueAttributes',
      QueueUrl: queueUrl(),
      'AttributeName.1': 'All',
    });
    expect(after.xml).toContain('<Name>ApproximateNumberOfMessages</Name><Value>0</Value>');
  });

  it("It should answer errors with SQS's query error document and codes", async () => {
    const missing = await query({ Action: 'GetQueueUrl', QueueName: 'no-such-queue' });
    expect(missing.status).toBe(400);
    expect(missing.xml).toMatch(
      /<ErrorResponse xmlns="http:\/\/queue.amazonaws.com\/doc\/2012-11-05\/"><Error><Type>Sender<\/Type><Code>AWS.SimpleQueueService.NonExistentQueue<\/Code><Message>The specified queue does not exist.<\/Message><Detail\/><\/Error><RequestId>/,
    );
    const badHandle = await query({ Action: 'DeleteMessage', QueueUrl: queueUrl(), ReceiptHandle: 'nope' });
    expect(one(badHandle.xml, 'Code')).toBe('ReceiptHandleIsInvalid');
    const unknown = await query({ Action: 'PurgeQueue', QueueUrl: queueUrl() });
    expect(one(unknown.xml, 'Code')).toBe('AWS.SimpleQueueService.UnsupportedOperation');
  });

  it('It should digest message attributes as SQS documents it: strings, custom numbers, binaries, several', () => {
    // Digests from an independent implementation of the SQS developer guide's algorithm.
    const text = { attribName1: { DataType: 'String', StringValue: 'attribValue 1' } };
    const number = {
      customNumberTypeAttrib: {
        DataType: 'Number.float',
        StringValue: '4563442423554324324264524243.32543234',
      },
    };
    const binary = {
      binaryAttribute: {
        DataType: 'Binary',
        BinaryValue: Buffer.from('Hello binary world!').toString('base64'),
      },
    };
    expect(md5OfMessageAttributes(text)).toBe('19e27d4e946b072f3f58da80d94fd778');
    expect(md5OfMessageAttributes(number)).toBe('9fe1b90bbd9965bdf77bac517c7d2495');
    expect(md5OfMessageAttributes(binary)).toBe('31a92b15d92f8db860eda32aceb656c3');
    expect(md5OfMessageAttributes({ ...text, ...number, ...binary })).toBe(
      'c932db14a896c663f83c260297d594ff',
    );
    expect(md5OfMessageAttributes({})).toBeUndefined();
  });

  it('It should still answer the JSON protocol of @aws-sdk/client-sqs, with the same digests', async () => {
    const sqs = new SQSClient({ region: 'us-east-1', endpoint, credentials: SANDBOX_CREDENTIALS });
    try {
      const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: SANDBOX_QUEUE_NAME }));
      const MessageAttributes = { RULE_ARN: { DataType: 'String', StringValue: 'arn:x' } };
      const sent = await sqs.send(
        new SendMessageCommand({ QueueUrl, MessageBody: 'hello', MessageAttributes }),
      );
      expect(sent.MD5OfMessageAttributes).toBe(md5OfMessageAttributes(MessageAttributes));
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, MessageAttributeNames: ['RULE_.*'] }),
      );
      expect(Messages.map((m) => m.Body)).toEqual([expect.stringContaining('RetriesExhausted'), 'hello']);
      expect(Messages[1]?.MessageAttributes).toEqual(MessageAttributes);
      await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: Messages[1]?.ReceiptHandle }));
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['All'] }),
      );
      expect(Attributes).toMatchObject({ ApproximateNumberOfMessagesNotVisible: '1' });
      await expect(sqs.send(new GetQueueUrlCommand({ QueueName: 'nope' }))).rejects.toMatchObject({
        name: 'QueueDoesNotExist',
        $metadata: { httpStatusCode: 400 },
      });
    } finally {
      sqs.destroy();
    }
  });
});
