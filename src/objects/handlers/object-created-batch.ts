import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { SqsSchema } from '@aws-lambda-powertools/parser/schemas/sqs';
import type { SQSRecord } from 'aws-lambda';
import pLimit from 'p-limit';
import { issuesOf, MalformedRecordError } from '#foundation/observability/malformed-event';
import { instrumented } from '#foundation/observability/middleware';
import type { Powertools } from '#foundation/observability/powertools';
import { ObjectCreatedEventSchema, sourceObjectOf } from '#objects/event';
import { type Report, throwIfRetryable } from '#objects/outcomes';
import { type ObjectReplicationDeps, replicateObject } from '#objects/replicate';
import { objectRuntimeFromEnvironment } from './wiring.ts';

/**
 * How many records of one batch are replicated at once. Each is a HEAD and a CopyObject per destination,
 * mostly waiting on S3, so they overlap; the bound keeps a batch of 100 from opening 100 copies at once
 * (the S3 client's sockets, and the memory measured in BENCHMARKS.md, requests).
 */
export const RECORD_CONCURRENCY = 16;

/** A record's body, the EventBridge event as the rule's SQS target wrote it, parsed by the event's schema. */
function eventOf(record: SQSRecord) {
  let body: unknown;
  try {
    body = JSON.parse(record.body);
  } catch {
    throw new MalformedRecordError(record.messageId, [{ path: 'body', message: 'expected JSON' }]);
  }
  const parsed = ObjectCreatedEventSchema.safeParse(body);
  if (!parsed.success) throw new MalformedRecordError(record.messageId, issuesOf(parsed.error.issues));
  return parsed.data;
}

/**
 * S3 "Object Created" events delivered by SQS in batches → each record replicated as objectCreated does
 * one event. A record with a retryable failure, or a malformed one, is reported in `batchItemFailures`
 * (Lambda's ReportBatchItemFailures, https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html):
 * only it goes back to the queue, to be received again after its visibility timeout and, past the queue's
 * maxReceiveCount, moved to the dead-letter queue. The records that succeeded are deleted by Lambda; one
 * received again (a lost response, a crash) finds its replica `up-to-date` (replica-guard.ts): no copy.
 * The metrics of the whole batch are one EMF document per dimension set (metric-documents.ts).
 */
export function createObjectCreatedBatchHandler(
  tools: Powertools,
  deps: ObjectReplicationDeps,
  concurrency = RECORD_CONCURRENCY,
) {
  const limit = pLimit(concurrency);
  const replicate = (record: SQSRecord): Promise<Report> =>
    limit(async () => {
      try {
        return throwIfRetryable(await replicateObject(sourceObjectOf(eventOf(record)), deps));
      } catch (error) {
        // Named here with its message id: Powertools reports the id, not why.
        tools.logger.warn('Record failed; it alone goes back to the queue', {
          messageId: record.messageId,
          receiveCount: record.attributes.ApproximateReceiveCount,
          error,
        });
        throw error;
      }
    });
  return instrumented(tools, SqsSchema, (event, context) =>
    tools.documents.batched(() =>
      processPartialResponse(event as never, replicate, new BatchProcessor(EventType.SQS), {
        context,
        // A batch whose every record failed is answered the same way, every id listed, not thrown: the
        // records go back one by one, and the invocation's error does not hide which ones.
        throwOnFullBatchFailure: false,
      }),
    ),
  );
}

/** The deployed function, wired at Lambda init. */
export function objectCreatedBatchHandlerFromEnvironment(env: NodeJS.ProcessEnv = process.env) {
  const { tools, deps } = objectRuntimeFromEnvironment(env);
  return createObjectCreatedBatchHandler(tools, deps);
}
