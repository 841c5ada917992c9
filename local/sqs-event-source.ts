import { createHash, randomUUID } from 'node:crypto';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

/**
 * The sandbox's SQS delivery queue and Lambda's SQS event source mapping over it: what EventBridge sends
 * (`send`, the rule's SQS target) waits in the queue, and a poller hands it to the real handler in batches,
 * with the semantics AWS documents:
 * - a batch is up to `batchSize` records, sent when full or when the batching window has passed since the
 *   first visible message (BatchSize, MaximumBatchingWindowInSeconds,
 *   https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-parameters.html);
 * - a received message is invisible for the visibility timeout, and its receive count goes up by one
 *   (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-visibility-timeout.html);
 * - when the handler answers, the records it does not list in `batchItemFailures` are deleted; the listed
 *   ones stay, visible again after the timeout. An answer that names an id not in the batch, or an
 *   invocation that fails (an error, a crash), deletes nothing: the whole batch comes back
 *   (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html);
 * - a message whose receive count has reached maxReceiveCount is, at its next receive, moved to the
 *   dead-letter queue instead (the redrive policy,
 *   https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html).
 * Times are the sandbox's own, in milliseconds, so that tests see a retry within the test. Lambda refuses an SQS
 * source whose visibility timeout is below the function timeout (and advises six times it; README
 * "Delivery in batches through SQS"), so a message never shows again while the invocation that has it still runs: here
 * too, a message of a batch in flight stays hidden until that invocation ends, however slow the host.
 */
export interface SqsEventSourceOptions {
  queueArn: string;
  batchSize: number;
  batchingWindowMs: number;
  visibilityTimeoutMs: number;
  maxReceiveCount: number;
  /** Lambda's synchronous invocation of the function with one batch. */
  invoke(event: SQSEvent): Promise<unknown>;
  /** The redrive: the message moved to the dead-letter queue, with the queue it came from. */
  deadLetter(body: string, sourceQueueArn: string): void;
  /**
   * Each call Lambda's poller makes on the queue with the function's execution role (the IAM proof's):
   * GetQueueAttributes when the mapping starts, ReceiveMessage per poll, DeleteMessage per batch it deletes
   * from (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html).
   */
  pollerCall?(operation: 'GetQueueAttributes' | 'ReceiveMessage' | 'DeleteMessage'): void;
}

interface Queued {
  id: string;
  body: string;
  sentAt: number;
  receives: number;
  firstReceiveAt?: number;
  invisibleUntil: number;
  /** Its batch's invocation has not ended. */
  inFlight: boolean;
}

/** One invocation of the function: which records it had and what came of them. */
export interface BatchInvocation {
  messageIds: string[];
  failed: string[];
  error?: Error;
}

/** The quotas the SQS event source mapping's parameters are bound by (services-sqs-parameters.html). */
export class SqsEventSourceSettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SqsEventSourceSettingsError';
  }
}

export class SqsEventSource {
  readonly invocations: BatchInvocation[] = [];
  /** Messages the redrive moved to the dead-letter queue, by id. */
  readonly movedToDeadLetters: string[] = [];
  private readonly queue: Queued[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private readonly waiters: (() => void)[] = [];

  constructor(private readonly options: SqsEventSourceOptions) {
    // Lambda refuses a batch over 10 without a batching window of at least 1 s, and over 10,000 at all.
    if (!(options.batchSize >= 1 && options.batchSize <= 10_000))
      throw new SqsEventSourceSettingsError(`BatchSize must be 1–10000, not ${options.batchSize}`);
    if (options.batchSize > 10 && options.batchingWindowMs < 1000)
      throw new SqsEventSourceSettingsError(
        'a BatchSize over 10 needs MaximumBatchingWindowInSeconds of at least 1',
      );
    if (!(options.maxReceiveCount >= 1 && options.maxReceiveCount <= 1000))
      throw new SqsEventSourceSettingsError(`maxReceiveCount must be 1–1000, not ${options.maxReceiveCount}`);
    options.pollerCall?.('GetQueueAttributes');
  }

  /** SendMessage: the message waits in the queue. Returns its MessageId. */
  send(body: string): string {
    const id = randomUUID();
    this.queue.push({ id, body, sentAt: Date.now(), receives: 0, invisibleUntil: 0, inFlight: false });
    this.schedule();
    return id;
  }

  /** Messages in the queue (visible or not). */
  get depth(): number {
    return this.queue.length;
  }

  /** Resolves once the queue is empty and no batch is being handled. */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.inFlight.size > 0) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private changed(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }

  /** Polls now if a batch is ready, or sets a timer for when one will be (window, or visibility). */
  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const now = Date.now();
    const visible = this.queue.filter((message) => !message.inFlight && message.invisibleUntil <= now);
    if (visible.length > 0) {
      const oldest = Math.min(...visible.map((message) => Math.max(message.sentAt, message.invisibleUntil)));
      const due = oldest + this.options.batchingWindowMs;
      if (visible.length >= this.options.batchSize || due <= now) {
        this.poll(now);
        return;
      }
      this.timer = setTimeout(() => this.schedule(), due - now);
      return;
    }
    const waiting = this.queue.filter((message) => !message.inFlight);
    if (waiting.length === 0) return; // An ending invocation schedules again.
    const next = Math.min(...waiting.map((message) => message.invisibleUntil));
    this.timer = setTimeout(() => this.schedule(), Math.max(next - now, 1));
  }

  /** One ReceiveMessage of the poller, and the invocation with what it received. */
  private poll(now: number): void {
    this.options.pollerCall?.('ReceiveMessage');
    const batch: Queued[] = [];
    for (const message of [...this.queue]) {
      if (batch.length >= this.options.batchSize) break;
      if (message.inFlight || message.invisibleUntil > now) continue;
      if (message.receives >= this.options.maxReceiveCount) {
        this.queue.splice(this.queue.indexOf(message), 1);
        this.movedToDeadLetters.push(message.id);
        this.options.deadLetter(message.body, this.options.queueArn);
        continue;
      }
      message.receives += 1;
      message.firstReceiveAt ??= now;
      message.invisibleUntil = now + this.options.visibilityTimeoutMs;
      message.inFlight = true;
      batch.push(message);
    }
    if (batch.length > 0) {
      const run = this.invoke(batch);
      this.inFlight.add(run);
      void run.finally(() => {
        for (const message of batch) message.inFlight = false;
        this.inFlight.delete(run);
        this.schedule();
        this.changed();
      });
    }
    this.changed();
    this.schedule();
  }

  private async invoke(batch: Queued[]): Promise<void> {
    const ids = batch.map((message) => message.id);
    const invocation: BatchInvocation = { messageIds: ids, failed: ids };
    this.invocations.push(invocation);
    let response: unknown;
    try {
      response = await this.options.invoke({
        Records: batch.map((message) => sqsRecordOf(this.options.queueArn, message)),
      });
    } catch (error) {
      invocation.error = error as Error;
      return; // Nothing deleted: each message shows again after its visibility timeout.
    }
    const failures = (response as Partial<SQSBatchResponse> | undefined)?.batchItemFailures ?? [];
    const failed = failures.map((failure) => failure.itemIdentifier);
    if (failed.some((id) => !ids.includes(id))) return; // An invalid answer fails the whole batch.
    invocation.failed = failed;
    if (failed.length < batch.length) this.options.pollerCall?.('DeleteMessage');
    for (const message of batch) {
      if (failed.includes(message.id)) continue;
      const index = this.queue.indexOf(message);
      if (index >= 0) this.queue.splice(index, 1);
    }
  }
}

/**
 * A message as a record of Lambda's SQS event (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html):
 * the body as sent, the receive count so far, the queue's ARN and Region.
 */
export function sqsRecordOf(
  queueArn: string,
  message: { id: string; body: string; sentAt: number; receives: number; firstReceiveAt?: number },
): SQSRecord {
  const [, , , region = 'us-east-1', account = '000000000000'] = queueArn.split(':');
  return {
    messageId: message.id,
    receiptHandle: `${message.id}.${message.receives}`,
    body: message.body,
    attributes: {
      ApproximateReceiveCount: String(message.receives),
      SentTimestamp: String(message.sentAt),
      SenderId: account,
      ApproximateFirstReceiveTimestamp: String(message.firstReceiveAt ?? message.sentAt),
    },
    messageAttributes: {},
    md5OfBody: createHash('md5').update(message.body).digest('hex'),
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: region,
  };
}
