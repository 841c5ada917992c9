import type { Message } from '@aws-sdk/client-sqs';

/**
 * The messages of Ferry's dead-letter queue, read back: `ferry redrive` hands them back, the backlog monitor
 * and `ferry status` count the items they stand for (src/rpo/dead-letters.ts). One reader for both.
 */

/** Where a dead letter goes back to, or why it cannot. */
export type DeadLetter =
  | { kind: 'lambda-destination'; functionArn: string; payload: unknown; cause: string }
  | { kind: 'eventbridge'; functionArn: string; payload: unknown; cause: string; rule?: string }
  | { kind: 'delivery-queue'; queueArn: string; payload: unknown; cause: string }
  | { kind: 'unknown'; reason: string };

export const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The system attribute a dead letter moved by a queue's redrive policy carries: the queue it left. */
export const DEAD_LETTER_SOURCE_ATTRIBUTE = 'DeadLetterQueueSourceArn';

/**
 * Reads a message of the dead-letter queue: a Lambda on-failure destination record (`requestContext.functionArn`,
 * `requestPayload`), an event an EventBridge target could not take (the event as body; `RULE_ARN`,
 * `TARGET_ARN`, `ERROR_CODE`, `ERROR_MESSAGE` as message attributes), or a message an SQS delivery queue's
 * redrive policy moved here after maxReceiveCount receives (the event as body, as the rule's SQS target
 * sent it; the system attribute DeadLetterQueueSourceArn names the queue,
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html — asked
 * for with MessageSystemAttributeNames). Lambda targets and delivery queues are handed back.
 */
export function deadLetterOf(message: Message): DeadLetter {
  let body: unknown;
  try {
    body = JSON.parse(message.Body ?? '');
  } catch {
    return { kind: 'unknown', reason: 'the body is not JSON' };
  }
  const attribute = (name: string) => message.MessageAttributes?.[name]?.StringValue;
  const sourceQueue = message.Attributes?.[DEAD_LETTER_SOURCE_ATTRIBUTE];
  if (sourceQueue !== undefined) {
    if (!/^arn:aws[\w-]*:sqs:[^:]+:\d{12}:[\w-]{1,80}$/.test(sourceQueue))
      return { kind: 'unknown', reason: `its source ${sourceQueue} is not an SQS queue` };
    if (!isObject(body)) return { kind: 'unknown', reason: 'the body is not an event' };
    return {
      kind: 'delivery-queue',
      queueArn: sourceQueue,
      payload: body,
      cause: 'received maxReceiveCount times without success',
    };
  }
  const target = attribute('TARGET_ARN');
  if (target !== undefined) {
    if (!/^arn:aws[\w-]*:lambda:[^:]+:\d{12}:function:[^:]+(:[^:]+)?$/.test(target))
      return { kind: 'unknown', reason: `its target ${target} is not a Lambda function` };
    if (!isObject(body)) return { kind: 'unknown', reason: 'the body is not an event' };
    const code = attribute('ERROR_CODE');
    const text = attribute('ERROR_MESSAGE');
    const rule = attribute('RULE_ARN');
    return {
      kind: 'eventbridge',
      functionArn: target,
      payload: body,
      cause: [code, text].filter(Boolean).join(': ') || 'EventBridge could not deliver it',
      ...(rule ? { rule } : {}),
    };
  }
  if (isObject(body) && isObject(body.requestContext) && 'requestPayload' in body) {
    const functionArn = body.requestContext.functionArn;
    if (typeof functionArn !== 'string' || !functionArn.includes(':function:'))
      return { kind: 'unknown', reason: 'its requestContext names no function' };
    const response = isObject(body.responsePayload) ? body.responsePayload : {};
    const cause =
      [response.errorType, response.errorMessage].filter((part) => typeof part === 'string').join(': ') ||
      String(body.requestContext.condition ?? 'the invocation failed');
    return { kind: 'lambda-destination', functionArn, payload: body.requestPayload, cause };
  }
  return { kind: 'unknown', reason: 'neither a Lambda failure record nor an EventBridge dead letter' };
}
