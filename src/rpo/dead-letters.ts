import type { Image, Snapshot } from '@aws-sdk/client-ec2';
import { type Message, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { availableImageOf, ImageStateChangeEventSchema } from '#ec2/images/event';
import { describeImage, imageFactsOf } from '#ec2/images/replicate';
import { type ImageFacts, planImageCopies } from '#ec2/images/router';
import { isFerryCopy, type Tags } from '#ec2/markers';
import { createdSnapshotsOf, SnapshotEventSchema } from '#ec2/snapshots/event';
import { describeSnapshots, snapshotFactsOf } from '#ec2/snapshots/replicate';
import { planSnapshotCopies, type SnapshotFacts } from '#ec2/snapshots/router';
import type { Ec2ClientFactory, S3ClientFactory } from '#foundation/aws-clients';
import { DEAD_LETTER_SOURCE_ATTRIBUTE, deadLetterOf } from '#foundation/dead-letter';
import { ObjectCreatedEventSchema, type SourceObject, sourceObjectOf } from '#objects/event';
import { candidateRules, destinationKeyOf, filtersOnTags } from '#objects/router';
import { readTags } from '#objects/source-reads';
import { type FerryConfig, imageRulesOf, objectRulesOf, snapshotRulesOf } from '#rules/config';
import type { ImageRule, SnapshotRule } from '#rules/ec2-schema';
import { tagsMatch } from '#rules/tags';
import type { PendingItem } from './backlog-monitor.ts';
import { ec2RpoItem, objectRpoItem } from './items.ts';

/**
 * The items of rules with `rpo` that wait in the dead-letter queue: each message is an event Ferry failed to
 * handle (a Lambda on-failure record or an EventBridge target's dead letter, #foundation/dead-letter: either
 * way the source's EventBridge event, never a copy machine input: a machine's failure is its execution's,
 * src/rpo/ended.ts), routed to its rules as routing routes it; its source time is the event's `time`, so a
 * dead letter ages as the item it stands for.
 * - "Object Created": by the object router (bucket, prefix, suffix, size); a rule that also filters on tags
 *   gets the object only if its tags, read with GetObjectTagging as the fast path reads them, match: exact,
 *   where counting it under every rule it could belong to would count items no rule will copy.
 * - "EBS Snapshot Notification" / "EBS Multi-Volume Snapshots Completion Status": DescribeSnapshots in the
 *   snapshot's Region, then the snapshot router (tags, volume, size, encryption, description), as
 *   snapshotCreated routes it; "EC2 AMI State Change": DescribeImages and the image router, as imageAvailable.
 * What cannot be read or routed is counted under a named cause (`Unroutable`), never dropped.
 */

/** Why a dead letter stands for no item of a rule with `rpo`. */
export type UnroutableCause =
  | 'not-an-event' // the body is not JSON, or not a Lambda failure record or EventBridge dead letter
  | 'unknown-event' // an event of none of the kinds Ferry routes
  | 'source-gone' // its source no longer exists: there is nothing to copy
  | 'source-unreadable' // reading the source's tags or facts failed (access denied, throttled…)
  | 'no-rpo-rule'; // no rule with `rpo` matches it (a rule without one may)

export interface DeadLetterCount {
  items: PendingItem[];
  unroutable: Map<UnroutableCause, number>;
}

/** Where the monitor reads a dead letter's source: its Region's S3 and EC2, as routing reads it. */
export interface SourceReaders {
  s3: S3ClientFactory;
  ec2: Ec2ClientFactory;
}

type Routed = PendingItem[] | UnroutableCause;

const withRpo = <Rule extends { rpo?: string | undefined }>(rules: readonly Rule[]): Rule[] =>
  rules.filter((rule) => rule.rpo !== undefined);

const readFailed = (error: unknown): UnroutableCause => {
  const name = (error as Error).name;
  return name === 'NoSuchKey' || name === 'NotFound' ? 'source-gone' : 'source-unreadable';
};

async function objectItems(
  config: Pick<FerryConfig, 'rules'>,
  source: SourceObject,
  cause: string,
  readers: SourceReaders,
): Promise<Routed> {
  const candidates = candidateRules(withRpo(objectRulesOf(config)), source);
  let tags: Record<string, string> | undefined;
  if (candidates.some(filtersOnTags)) {
    try {
      tags = await readTags(readers.s3({ region: source.region }), source);
    } catch (error) {
      return readFailed(error);
    }
  }
  const rules = candidates.filter((rule) => !filtersOnTags(rule) || tagsMatch(rule.objects.tags, tags ?? {}));
  const items = rules.flatMap((rule) =>
    rule.to.flatMap((destination) => {
      const item = objectRpoItem(
        { rule, destination, destinationKey: destinationKeyOf(rule, destination, source.key) },
        source,
      );
      return item ? [{ ...item, where: 'dead-letter' as const, cause }] : [];
    }),
  );
  return items.length > 0 ? items : 'no-rpo-rule';
}

interface Ec2Plan {
  rule: { name: string; rpo?: string | undefined };
  destination: { region: string; account?: string | undefined };
}

/** How the monitor reads one kind of EC2 source: as routing reads it (snapshotCreated, imageAvailable). */
interface Ec2SourceKind<Rule, Described, Facts extends { tags: Tags }> {
  kind: 'snapshot' | 'image';
  describe: (client: ReturnType<Ec2ClientFactory>, id: string) => Promise<Described | undefined>;
  factsOf: (described: Described, region: string) => Facts;
  plan: (rules: readonly Rule[], facts: Facts) => readonly Ec2Plan[];
  /** The size an item carries, where the kind's facts have one. */
  sizeGiB?: (facts: Facts) => number | undefined;
}

/**
 * The RPO items of an event's EC2 sources: each described in its Region, Ferry's own copies skipped, the
 * rest planned over the rules with `rpo`; the first source that cannot be read names the whole letter's cause.
 */
async function ec2SourceItems<
  Rule extends { rpo?: string | undefined },
  Described,
  Facts extends { tags: Tags },
>(
  reader: Ec2SourceKind<Rule, Described, Facts>,
  allRules: readonly Rule[],
  sources: readonly { id: string; region: string }[],
  eventTime: string,
  cause: string,
  readers: SourceReaders,
): Promise<Routed> {
  const rules = withRpo(allRules);
  if (rules.length === 0 || sources.length === 0) return 'no-rpo-rule';
  const items: PendingItem[] = [];
  for (const { id, region } of sources) {
    let described: Described | undefined;
    try {
      described = await reader.describe(readers.ec2({ region }), id);
    } catch {
      return 'source-unreadable';
    }
    if (!described) return 'source-gone';
    const facts = reader.factsOf(described, region);
    if (isFerryCopy(facts.tags)) continue;
    const sizeGiB = reader.sizeGiB?.(facts);
    for (const plan of reader.plan(rules, facts)) {
      const item = ec2RpoItem({
        kind: reader.kind,
        rule: plan.rule.name,
        rpo: plan.rule.rpo,
        eventTime,
        source: { id, ...(sizeGiB !== undefined ? { sizeGiB } : {}) },
        destination: plan.destination,
      });
      if (item) items.push({ ...item, where: 'dead-letter', cause });
    }
  }
  return items.length > 0 ? items : 'no-rpo-rule';
}

const snapshotSource: Ec2SourceKind<SnapshotRule, Snapshot, SnapshotFacts> = {
  kind: 'snapshot',
  describe: async (client, id) => (await describeSnapshots(client, [id])).get(id),
  factsOf: snapshotFactsOf,
  plan: planSnapshotCopies,
  sizeGiB: (facts) => facts.volumeSizeGiB,
};

const imageSource: Ec2SourceKind<ImageRule, Image, ImageFacts> = {
  kind: 'image',
  describe: describeImage,
  factsOf: imageFactsOf,
  plan: planImageCopies,
};

async function snapshotItems(
  config: Pick<FerryConfig, 'rules'>,
  payload: unknown,
  cause: string,
  readers: SourceReaders,
): Promise<Routed | undefined> {
  const event = SnapshotEventSchema.safeParse(payload);
  if (!event.success) return undefined;
  const created = createdSnapshotsOf(event.data)
    .filter((snapshot) => snapshot.accepted)
    .map(({ snapshotId, region }) => ({ id: snapshotId, region }));
  return ec2SourceItems(snapshotSource, snapshotRulesOf(config), created, event.data.time, cause, readers);
}

async function imageItems(
  config: Pick<FerryConfig, 'rules'>,
  payload: unknown,
  cause: string,
  readers: SourceReaders,
): Promise<Routed | undefined> {
  const event = ImageStateChangeEventSchema.safeParse(payload);
  if (!event.success) return undefined;
  const available = availableImageOf(event.data);
  const images = available.accepted ? [{ id: available.imageId, region: available.region }] : [];
  return ec2SourceItems(imageSource, imageRulesOf(config), images, event.data.time, cause, readers);
}

/** The items one dead letter stands for, or why it stands for none. */
export async function pendingOfDeadLetter(
  config: Pick<FerryConfig, 'rules'>,
  message: Message,
  readers: SourceReaders,
): Promise<Routed> {
  const letter = deadLetterOf(message);
  if (letter.kind === 'unknown') return 'not-an-event';
  const object = ObjectCreatedEventSchema.safeParse(letter.payload);
  if (object.success) return objectItems(config, sourceObjectOf(object.data), letter.cause, readers);
  return (
    (await snapshotItems(config, letter.payload, letter.cause, readers)) ??
    (await imageItems(config, letter.payload, letter.cause, readers)) ??
    'unknown-event'
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
  readers: SourceReaders,
): Promise<DeadLetterCount> {
  const seen = new Set<string>();
  const count: DeadLetterCount = { items: [], unroutable: new Map() };
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
      const routed = await pendingOfDeadLetter(config, message, readers);
      if (typeof routed === 'string') count.unroutable.set(routed, (count.unroutable.get(routed) ?? 0) + 1);
      else count.items.push(...routed);
    }
  }
  return count;
}
