import { type Message, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { DEAD_LETTER_SOURCE_ATTRIBUTE, deadLetterOf } from '#foundation/dead-letter';
import { ObjectCreatedEventSchema, sourceObjectOf } from '#objects/event';
import { candidateRules, destinationKeyOf } from '#objects/router';
import { type FerryConfig, objectRulesOf } from '#rules/config';
import type { PendingItem } from './backlog-monitor.ts';
import { objectRpoItem } from './items.ts';

/**
 * The items of rules with `rpo` that wait in the dead-letter queue: each message is an event Ferry failed to
 * handle (a Lambda on-failure record or an EventBridge target's dead letter, #foundation/dead-letter), routed
 * to its rules by the object router; its source time is the event's `time`, so a dead letter ages as the
 * item it stands for.
 *
 * Only "Object Created" events become items. Routing is by bucket, prefix, suffix and size: a rule that also
 * filters on tags counts the object without reading its tags (the monitor reads no source), so it may count
 * one its tags would exclude. EC2 events (snapshots, AMIs) route on tags read from EC2 and are not counted
 * here (README "Recovery-point objective").
 */
export function pendingOfDeadLetter(config: Pick<FerryConfig, 'rules'>, message: Message): PendingItem[] {
  const letter = deadLetterOf(message);
  if (letter.kind === 'unknown') return [];
  const event = ObjectCreatedEventSchema.safeParse(letter.payload);
  if (!event.success) return [];
  const source = sourceObjectOf(event.data);
  return candidateRules(objectRulesOf(config), source).flatMap((rule) =>
    rule.to.flatMap((destination) => {
      const item = objectRpoItem(
        { rule, destination, destinationKey: destinationKeyOf(rule, destination, source.key) },
        source,
      );
      return item ? [{ ...item, where: 'dead-letter' as const, cause: letter.cause }] : [];
    }),
  );
}

/** How many receives one pass makes at most: 10 messages each (ReceiveMessage's maximum). */
export const DEAD_LETTER_RECEIVES = 20;

/**
 * Reads the dead-letter queue without taking its messages: ReceiveMessage with `VisibilityTimeout: 0`, so
 * each message is visible again at once, for `ferry redrive` and the next pass; no DeleteMessage. Counts are
 * approximate, as SQS documents: a short poll samples a weighted random set of its servers and may answer
 * fewer messages than the queue holds, or none
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html,
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/working-with-visibility-timeouts.html).
 * So it receives up to DEAD_LETTER_RECEIVES times, keeps each MessageId once, and stops at the first
 * receive that brings nothing new.
 */
export async function deadLetterItems(
  sqs: SQSClient,
  queueUrl: string,
  config: Pick<FerryConfig, 'rules'>,
): Promise<PendingItem[]> {
  const seen = new Set<string>();
  const items: PendingItem[] = [];
  for (let receive = 0; receive < DEAD_LETTER_RECEIVES; receive += 1) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 0,
        WaitTimeSeconds: 0,
        MessageAttributeNames: ['All'],
        // A delivery queue's redrive moved it here: the system attribute says so (#foundation/dead-letter).
        MessageSystemAttributeNames: [DEAD_LETTER_SOURCE_ATTRIBUTE],
      }),
    );
    const fresh = Messages.filter((message) => message.MessageId && !seen.has(message.MessageId));
    if (fresh.length === 0) break;
    for (const message of fresh) {
      seen.add(message.MessageId ?? '');
      items.push(...pendingOfDeadLetter(config, message));
    }
  }
  return items;
}
