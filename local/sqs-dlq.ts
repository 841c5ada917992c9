import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Delivery, EventBus } from './event-bus.ts';
import { sandboxFunctionArn } from './lambda-api.ts';
import type { SigningScope } from './sigv4.ts';
import {
  type MessageAttribute,
  md5OfBody,
  md5OfMessageAttributes,
  readSqsRequest,
  type SqsError,
  type SqsInput,
  type SqsResult,
  sendSqsError,
  sendSqsResult,
} from './sqs-wire.ts';

/**
 * The deployment's dead-letter queue, `ferry-sandbox-dead-letters`, over the bus's dead letters: a minimal
 * SQS with GetQueueUrl, GetQueueAttributes, ReceiveMessage, DeleteMessage, ChangeMessageVisibility and
 * SendMessage, in both of SQS's protocols (JSON 1.0 and the query protocol, local/sqs-wire.ts), so that the
 * AWS SDK and AWS CLIs old and new all work.
 *
 * A dead letter of the bus is an event whose handler still failed after Lambda's two retries; in AWS that
 * lands in the queue as the Lambda on-failure destination record (`requestContext`, `requestPayload`,
 * `responseContext`, `responsePayload`), and so it does here. SendMessage puts any other message in (an
 * EventBridge target's dead letter, with its `RULE_ARN`, `TARGET_ARN`, `ERROR_CODE`… attributes, say).
 * Deleting a bus dead letter removes it from `bus.deadLetters`.
 */

export const SANDBOX_QUEUE_NAME = 'ferry-sandbox-dead-letters';
const DEFAULT_VISIBILITY_SECONDS = 30;

interface Sent {
  body: string;
  attributes: Record<string, MessageAttribute>;
  /** System attributes SQS itself sets: DeadLetterQueueSourceArn on a message its redrive moved here. */
  system?: Record<string, string>;
}

interface QueueState {
  ids: WeakMap<Delivery | Sent, { id: string; sentAt: number }>;
  sent: Sent[];
  /** Until when (real time) a received message stays invisible. */
  invisibleUntil: Map<string, number>;
  receipts: Map<string, string>;
}

const states = new WeakMap<EventBus, QueueState>();
const stateOf = (bus: EventBus): QueueState => {
  let state = states.get(bus);
  if (!state) {
    state = { ids: new WeakMap(), sent: [], invisibleUntil: new Map(), receipts: new Map() };
    states.set(bus, state);
  }
  return state;
};

interface Message {
  id: string;
  sentAt: number;
  body: string;
  attributes: Sent['attributes'];
  system: Record<string, string>;
  source: Delivery | Sent;
}

/** The record Lambda sends to an on-failure destination once retries are exhausted. */
function destinationRecord(delivery: Delivery, sentAt: number, region: string, account: string): string {
  return JSON.stringify({
    version: '1.0',
    timestamp: new Date(sentAt).toISOString(),
    requestContext: {
      requestId: randomUUID(),
      functionArn: `${sandboxFunctionArn(delivery.target, region, account)}:$LATEST`,
      condition: 'RetriesExhausted',
      approximateInvokeCount: delivery.attempt,
    },
    requestPayload: delivery.event,
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    responsePayload: {
      errorType: delivery.error?.name ?? 'Error',
      errorMessage: delivery.error?.message ?? '',
      trace: [],
    },
  });
}

/**
 * A message an SQS delivery queue's redrive policy moves here once its receive count passes
 * maxReceiveCount (local/sqs-event-source.ts): the body as it was sent, its message attributes, and the
 * system attribute `DeadLetterQueueSourceArn`, the queue it came from
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html).
 */
export function moveToDeadLetters(bus: EventBus, body: string, sourceQueueArn: string): void {
  stateOf(bus).sent.push({ body, attributes: {}, system: { DeadLetterQueueSourceArn: sourceQueueArn } });
}

function messagesOf(bus: EventBus, state: QueueState, region: string, account: string): Message[] {
  const entry = (source: Delivery | Sent) => {
    let known = state.ids.get(source);
    if (!known) {
      known = { id: randomUUID(), sentAt: Date.now() };
      state.ids.set(source, known);
    }
    return known;
  };
  return [
    ...bus.deadLetters.map((delivery) => {
      const { id, sentAt } = entry(delivery);
      // Built once, so every receive shows the same record (its requestId included).
      const body = bodies.get(delivery) ?? destinationRecord(delivery, sentAt, region, account);
      bodies.set(delivery, body);
      return { id, sentAt, body, attributes: {}, system: {}, source: delivery };
    }),
    ...state.sent.map((sent) => ({
      ...entry(sent),
      body: sent.body,
      attributes: sent.attributes,
      system: sent.system ?? {},
      source: sent,
    })),
  ];
}
const bodies = new WeakMap<Delivery, string>();

const queueDoesNotExist: SqsError = {
  type: 'QueueDoesNotExist',
  queryCode: 'AWS.SimpleQueueService.NonExistentQueue',
  message: 'The specified queue does not exist.',
};

/** Which message attributes a receive asked for: by name, `All`, `.*`, or a prefix followed by `.*`. */
const wantedAttribute = (wanted: readonly string[], name: string) =>
  wanted.some(
    (pattern) =>
      pattern === 'All' ||
      pattern === '.*' ||
      pattern === name ||
      (pattern.endsWith('.*') && name.startsWith(pattern.slice(0, -2))),
  );

/** The queue's answer to one request, in the JSON shape; errors as SQS names them in both protocols. */
function answer(
  bus: EventBus,
  account: string,
  region: string,
  queueUrl: string,
  operation: string,
  request: SqsInput,
): SqsResult | SqsError {
  const state = stateOf(bus);
  if (operation === 'GetQueueUrl') {
    if (request.QueueName !== SANDBOX_QUEUE_NAME) return queueDoesNotExist;
    return { operation, QueueUrl: queueUrl };
  }
  if (!request.QueueUrl?.endsWith(`/${account}/${SANDBOX_QUEUE_NAME}`)) return queueDoesNotExist;
  const now = Date.now();
  const messages = messagesOf(bus, state, region, account);
  const visible = (message: Message) => (state.invisibleUntil.get(message.id) ?? 0) <= now;

  switch (operation) {
    case 'GetQueueAttributes': {
      const shown = messages.filter(visible).length;
      return {
        operation,
        Attributes: {
          ApproximateNumberOfMessages: String(shown),
          ApproximateNumberOfMessagesNotVisible: String(messages.length - shown),
          ApproximateNumberOfMessagesDelayed: '0',
          QueueArn: `arn:aws:sqs:${region}:${account}:${SANDBOX_QUEUE_NAME}`,
        },
      };
    }
    case 'ReceiveMessage': {
      const max = Math.min(Math.max(request.MaxNumberOfMessages ?? 1, 1), 10);
      const seconds = request.VisibilityTimeout ?? DEFAULT_VISIBILITY_SECONDS;
      const wanted = request.MessageAttributeNames ?? [];
      const wantedSystem = [
        ...(request.AttributeNames ?? []),
        ...(request.MessageSystemAttributeNames ?? []),
      ];
      const picked = messages.filter(visible).slice(0, max);
      return {
        operation,
        Messages: picked.map((message) => {
          state.invisibleUntil.set(message.id, now + seconds * 1000);
          const handle = `${message.id}.${randomUUID()}`;
          state.receipts.set(handle, message.id);
          const attributes = Object.fromEntries(
            Object.entries(message.attributes).filter(([name]) => wantedAttribute(wanted, name)),
          );
          const digest = md5OfMessageAttributes(attributes);
          return {
            MessageId: message.id,
            ReceiptHandle: handle,
            MD5OfBody: md5OfBody(message.body),
            Body: message.body,
            Attributes: {
              SentTimestamp: String(message.sentAt),
              ...Object.fromEntries(
                Object.entries(message.system).filter(([name]) => wantedAttribute(wantedSystem, name)),
              ),
            },
            ...(digest ? { MD5OfMessageAttributes: digest, MessageAttributes: attributes } : {}),
          };
        }),
      };
    }
    case 'DeleteMessage':
    case 'ChangeMessageVisibility': {
      const id = state.receipts.get(request.ReceiptHandle ?? '');
      if (!id) {
        return {
          type: 'ReceiptHandleIsInvalid',
          queryCode: 'ReceiptHandleIsInvalid',
          message: `The input receipt handle "${request.ReceiptHandle}" is not valid.`,
        };
      }
      const message = messages.find((candidate) => candidate.id === id);
      if (operation === 'ChangeMessageVisibility') {
        if (message) state.invisibleUntil.set(id, now + (request.VisibilityTimeout ?? 0) * 1000);
        return { operation };
      }
      if (message) {
        const list: (Delivery | Sent)[] = 'target' in message.source ? bus.deadLetters : state.sent;
        list.splice(list.indexOf(message.source), 1);
        state.invisibleUntil.delete(id);
      }
      return { operation };
    }
    case 'SendMessage': {
      const sent: Sent = { body: request.MessageBody ?? '', attributes: request.MessageAttributes ?? {} };
      state.sent.push(sent);
      const { id } = messagesOf(bus, state, region, account).at(-1) ?? { id: '' };
      const digest = md5OfMessageAttributes(sent.attributes);
      return {
        operation,
        MessageId: id,
        MD5OfMessageBody: md5OfBody(sent.body),
        ...(digest ? { MD5OfMessageAttributes: digest } : {}),
      };
    }
    default:
      return {
        type: 'UnsupportedOperation',
        queryCode: 'AWS.SimpleQueueService.UnsupportedOperation',
        message: `The Ferry sandbox does not serve sqs:${operation}`,
      };
  }
}

export async function serveDeadLetters(
  bus: EventBus,
  account: string,
  req: IncomingMessage,
  res: ServerResponse,
  scope: SigningScope,
  url = new URL(req.url ?? '/', 'http://127.0.0.1'),
): Promise<void> {
  const { protocol, operation, input } = await readSqsRequest(req, url);
  const requestId = randomUUID();
  const queueUrl = `http://${req.headers.host ?? '127.0.0.1'}/${account}/${SANDBOX_QUEUE_NAME}`;
  const result = answer(bus, account, scope.region, queueUrl, operation, input);
  if ('queryCode' in result) return sendSqsError(res, protocol, requestId, result);
  sendSqsResult(res, protocol, requestId, result);
}
