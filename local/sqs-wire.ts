import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from './aws-json.ts';
import { escapeXml, readBody } from './s3-wire.ts';

/**
 * SQS's two wire protocols, as SQS serves both on one endpoint:
 * - JSON 1.0 (`X-Amz-Target: AmazonSQS.<Operation>`), what @aws-sdk/client-sqs and recent AWS CLIs speak;
 * - the query protocol (a form-encoded POST, `Action=<Operation>&Version=2012-11-05&…`, answered in XML in
 *   the `http://queue.amazonaws.com/doc/2012-11-05/` namespace), what older clients speak, AWS CLI v2 2.9.19
 *   (Debian's `awscli`) among them.
 * Both are read into one input (the JSON shape) and each answer is written back in the request's protocol.
 */

export type SqsProtocol = 'json' | 'query';

export interface MessageAttribute {
  DataType: string;
  StringValue?: string;
  BinaryValue?: string;
}

/** The inputs of the operations the sandbox serves, named as in SQS's JSON protocol. */
export interface SqsInput {
  QueueName?: string;
  QueueUrl?: string;
  AttributeNames?: string[];
  /** The newer name of `AttributeNames` (system attributes such as DeadLetterQueueSourceArn). */
  MessageSystemAttributeNames?: string[];
  MaxNumberOfMessages?: number;
  VisibilityTimeout?: number;
  MessageAttributeNames?: string[];
  ReceiptHandle?: string;
  MessageBody?: string;
  MessageAttributes?: Record<string, MessageAttribute>;
}

export interface SqsRequest {
  protocol: SqsProtocol;
  operation: string;
  input: SqsInput;
}

/** An SQS error: the JSON shape name, the query protocol's code, and SQS's message. */
export interface SqsError {
  type: string;
  queryCode: string;
  message: string;
}

export const NAMESPACE = 'http://queue.amazonaws.com/doc/2012-11-05/';

/** `Name.1`, `Name.2`, … in index order, and the structures `Name.N.*` each as a map of its own. */
function indexed(params: URLSearchParams, name: string): Map<number, Map<string, string>> {
  const groups = new Map<number, Map<string, string>>();
  const pattern = new RegExp(`^${name}\\.(\\d+)(?:\\.(.+))?$`);
  for (const [key, value] of params) {
    const match = pattern.exec(key);
    if (!match?.[1]) continue;
    const index = Number(match[1]);
    const group = groups.get(index) ?? new Map<string, string>();
    group.set(match[2] ?? '', value);
    groups.set(index, group);
  }
  return new Map([...groups].sort(([a], [b]) => a - b));
}

const listOf = (params: URLSearchParams, name: string): string[] | undefined => {
  const values = [...indexed(params, name).values()].flatMap((group) => group.get('') ?? []);
  return values.length > 0 ? values : undefined;
};

const intOf = (params: URLSearchParams, name: string): number | undefined => {
  const value = params.get(name);
  return value === null || value === '' ? undefined : Number(value);
};

/** The query protocol's parameters, in the JSON protocol's shape. */
export function queryInputOf(params: URLSearchParams): SqsInput {
  const attributes = [...indexed(params, 'MessageAttribute').values()].flatMap((group) => {
    const name = group.get('Name');
    const dataType = group.get('Value.DataType');
    if (!name || !dataType) return [];
    const attribute: MessageAttribute = { DataType: dataType };
    const text = group.get('Value.StringValue');
    const binary = group.get('Value.BinaryValue');
    if (text !== undefined) attribute.StringValue = text;
    if (binary !== undefined) attribute.BinaryValue = binary;
    return [[name, attribute] as const];
  });
  const input: SqsInput = {};
  const set = <K extends keyof SqsInput>(key: K, value: SqsInput[K] | undefined | null) => {
    if (value !== undefined && value !== null) input[key] = value;
  };
  set('QueueName', params.get('QueueName'));
  set('QueueUrl', params.get('QueueUrl'));
  // Older clients name system attributes `AttributeName.N`, newer ones `MessageSystemAttributeName.N`.
  set('AttributeNames', listOf(params, 'AttributeName') ?? listOf(params, 'MessageSystemAttributeName'));
  set('MaxNumberOfMessages', intOf(params, 'MaxNumberOfMessages'));
  set('VisibilityTimeout', intOf(params, 'VisibilityTimeout'));
  set('MessageAttributeNames', listOf(params, 'MessageAttributeName'));
  set('ReceiptHandle', params.get('ReceiptHandle'));
  set('MessageBody', params.get('MessageBody'));
  if (attributes.length > 0) input.MessageAttributes = Object.fromEntries(attributes);
  return input;
}

/** A JSON request names its operation in `X-Amz-Target`; a query request in `Action`. */
export async function readSqsRequest(req: IncomingMessage, url: URL): Promise<SqsRequest> {
  const body = (await readBody(req)).toString('utf8');
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string' && target !== '') {
    return {
      protocol: 'json',
      operation: target.slice(target.lastIndexOf('.') + 1),
      input: (body ? JSON.parse(body) : {}) as SqsInput,
    };
  }
  const params = new URLSearchParams(url.search);
  for (const [name, value] of new URLSearchParams(body)) params.set(name, value);
  return { protocol: 'query', operation: params.get('Action') ?? '', input: queryInputOf(params) };
}

const md5 = (bytes: string | Buffer) => createHash('md5').update(bytes).digest('hex');

export const md5OfBody = (body: string): string => md5(Buffer.from(body, 'utf8'));

/**
 * SQS's digest of message attributes (SQS developer guide, "Calculating the MD5 message digest for message
 * attributes"): by name in order, each name, data type and value with a 4-byte big-endian length, and a
 * transport byte between type and value (1 for String and Number, 2 for Binary). Clients check it.
 */
export function md5OfMessageAttributes(attributes: Record<string, MessageAttribute>): string | undefined {
  const names = Object.keys(attributes).sort();
  if (names.length === 0) return undefined;
  const parts: Buffer[] = [];
  const field = (bytes: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    parts.push(length, bytes);
  };
  for (const name of names) {
    const attribute = attributes[name];
    if (!attribute) continue;
    field(Buffer.from(name, 'utf8'));
    field(Buffer.from(attribute.DataType, 'utf8'));
    const binary = attribute.DataType.startsWith('Binary');
    parts.push(Buffer.from([binary ? 2 : 1]));
    field(
      binary
        ? Buffer.from(attribute.BinaryValue ?? '', 'base64')
        : Buffer.from(attribute.StringValue ?? '', 'utf8'),
    );
  }
  return md5(Buffer.concat(parts));
}

const el = (name: string, value: string | number | undefined): string =>
  value === undefined ? '' : `<${name}>${escapeXml(String(value))}</${name}>`;

const attributesXml = (element: string, attributes: Record<string, string> | undefined): string =>
  Object.entries(attributes ?? {})
    .map(([name, value]) => `<${element}>${el('Name', name)}${el('Value', value)}</${element}>`)
    .join('');

const messageAttributesXml = (attributes: Record<string, MessageAttribute> | undefined): string =>
  Object.entries(attributes ?? {})
    .map(
      ([name, value]) =>
        `<MessageAttribute>${el('Name', name)}<Value>${el('StringValue', value.StringValue)}${el('BinaryValue', value.BinaryValue)}${el('DataType', value.DataType)}</Value></MessageAttribute>`,
    )
    .join('');

export interface ReceivedMessage {
  MessageId: string;
  ReceiptHandle: string;
  MD5OfBody: string;
  Body: string;
  Attributes: Record<string, string>;
  MD5OfMessageAttributes?: string;
  MessageAttributes?: Record<string, MessageAttribute>;
}

/** What each operation answers, in the JSON shape; the query protocol's XML is built from the same. */
export type SqsResult =
  | { operation: 'GetQueueUrl'; QueueUrl: string }
  | { operation: 'GetQueueAttributes'; Attributes: Record<string, string> }
  | { operation: 'ReceiveMessage'; Messages: ReceivedMessage[] }
  | { operation: 'SendMessage'; MessageId: string; MD5OfMessageBody: string; MD5OfMessageAttributes?: string }
  | { operation: 'DeleteMessage' | 'ChangeMessageVisibility' };

function resultXml(result: SqsResult): string | undefined {
  switch (result.operation) {
    case 'GetQueueUrl':
      return el('QueueUrl', result.QueueUrl);
    case 'GetQueueAttributes':
      return attributesXml('Attribute', result.Attributes);
    case 'ReceiveMessage':
      return result.Messages.map(
        (message) =>
          `<Message>${el('MessageId', message.MessageId)}${el('ReceiptHandle', message.ReceiptHandle)}${el('MD5OfBody', message.MD5OfBody)}${el('Body', message.Body)}${attributesXml('Attribute', message.Attributes)}${el('MD5OfMessageAttributes', message.MD5OfMessageAttributes)}${messageAttributesXml(message.MessageAttributes)}</Message>`,
      ).join('');
    case 'SendMessage':
      return `${el('MD5OfMessageBody', result.MD5OfMessageBody)}${el('MD5OfMessageAttributes', result.MD5OfMessageAttributes)}${el('MessageId', result.MessageId)}`;
    default:
      // DeleteMessage and ChangeMessageVisibility answer only their request id.
      return undefined;
  }
}

function sendXml(res: ServerResponse, status: number, requestId: string, xml: string): void {
  const body = `<?xml version="1.0"?>${xml}`;
  res.writeHead(status, {
    'content-type': 'text/xml',
    'x-amzn-requestid': requestId,
    'content-length': String(Buffer.byteLength(body)),
  });
  res.end(body);
}

export function sendSqsResult(
  res: ServerResponse,
  protocol: SqsProtocol,
  requestId: string,
  result: SqsResult,
): void {
  const { operation, ...fields } = result;
  if (protocol === 'json') {
    sendJson(res, 200, fields, { 'x-amzn-requestid': requestId });
    return;
  }
  const inner = resultXml(result);
  sendXml(
    res,
    200,
    requestId,
    `<${operation}Response xmlns="${NAMESPACE}">${inner === undefined ? '' : `<${operation}Result>${inner}</${operation}Result>`}<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${operation}Response>`,
  );
}

/**
 * A client error (400). In JSON, the shape's name in `__type`, and the query code in `x-amzn-query-error`,
 * as SQS sends it for clients that still know only the query codes; in the query protocol, SQS's error
 * document with the query code.
 */
export function sendSqsError(res: ServerResponse, protocol: SqsProtocol, requestId: string, error: SqsError) {
  if (protocol === 'json') {
    return sendJson(
      res,
      400,
      { __type: `com.amazonaws.sqs#${error.type}`, message: error.message },
      { 'x-amzn-requestid': requestId, 'x-amzn-query-error': `${error.queryCode};Sender` },
    );
  }
  sendXml(
    res,
    400,
    requestId,
    `<ErrorResponse xmlns="${NAMESPACE}"><Error><Type>Sender</Type>${el('Code', error.queryCode)}${el('Message', error.message)}<Detail/></Error>${el('RequestId', requestId)}</ErrorResponse>`,
  );
}
