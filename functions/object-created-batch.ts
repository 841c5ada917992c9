import { objectCreatedBatchHandlerFromEnvironment } from '#objects/handlers/object-created-batch';

/** Lambda's entry for S3 "Object Created" events from the SQS delivery queue, in batches. */
export const handler = objectCreatedBatchHandlerFromEnvironment();
