import { z } from 'zod';

/** Ferry's Lambda functions, by their key in serverless.yml. */
export const LAMBDA_FUNCTIONS = [
  'objectCreated',
  // objectCreated's batch form, deployed only with `deployment.delivery.mode: queue` (deploy/sqs-delivery.ts).
  'objectCreatedBatch',
  'objectDeleted',
  'objectCopyStep',
  'objectTagsChanged',
  'snapshotCreated',
  'imageAvailable',
  'ec2CopyStep',
  'ec2CopyCompleted',
  // The hourly sweep of the copies waited for by event (src/ec2/copy-machine/sweep.ts).
  'ec2CopySweep',
  'ec2TagsChanged',
  'reconcile',
  'rpoMonitor',
  'inventoryBatch',
] as const;
export type LambdaFunction = (typeof LAMBDA_FUNCTIONS)[number];

/**
 * How the stack runs its functions, beside the rules (`deployment:` in replication.yml).
 *
 * `reservedConcurrency`: per function, the most instances it may run at once, reserved out of the account's
 * concurrency. A storm of events (a bulk upload, a backup window) then throttles that function instead of
 * taking the whole account's pool from its other functions. A function without an entry shares the
 * unreserved pool, as Lambda does by default. Lambda refuses a reservation that would leave the account
 * fewer than 100 unreserved (https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html),
 * which only the deploy can check. 0 would stop the function altogether, so it is refused here.
 */
/**
 * How S3 "Object Created" events reach Ferry (README, "Delivery in batches through SQS"). `direct` (the
 * default): one EventBridge rule per pattern invokes objectCreated once per event. `queue`: the rules send
 * the events to an SQS queue, and Lambda's event source mapping invokes objectCreatedBatch with up to
 * `batchSize` of them, waiting up to `batchingWindowSeconds` to fill a batch. Lambda's limits for a
 * standard queue (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-parameters.html): BatchSize
 * 1–10,000, MaximumBatchingWindowInSeconds 0–300, and a BatchSize over 10 needs a window of at least 1 s
 * (https://docs.aws.amazon.com/sdk-for-kotlin/api/latest/lambda/aws.sdk.kotlin.services.lambda.model/-get-event-source-mapping-response/maximum-batching-window-in-seconds.html).
 */
export const DELIVERY_LIMITS = {
  maxBatchSize: 10_000,
  maxBatchingWindowSeconds: 300,
  /** The largest BatchSize Lambda takes without a batching window. */
  maxBatchSizeWithoutWindow: 10,
} as const;

export const DeliverySettingsSchema = z
  .strictObject({
    mode: z.enum(['direct', 'queue']).default('direct'),
    batchSize: z
      .number()
      .int('expected a whole number of records')
      .min(1, 'expected at least 1 record')
      .max(
        DELIVERY_LIMITS.maxBatchSize,
        `expected at most ${DELIVERY_LIMITS.maxBatchSize} (Lambda's limit for a standard queue)`,
      )
      .default(10),
    batchingWindowSeconds: z
      .number()
      .int('expected a whole number of seconds')
      .min(0, 'expected at least 0 s')
      .max(
        DELIVERY_LIMITS.maxBatchingWindowSeconds,
        `expected at most ${DELIVERY_LIMITS.maxBatchingWindowSeconds} s (Lambda's limit)`,
      )
      .default(1),
  })
  .refine(
    (delivery) =>
      delivery.batchSize <= DELIVERY_LIMITS.maxBatchSizeWithoutWindow || delivery.batchingWindowSeconds >= 1,
    {
      path: ['batchingWindowSeconds'],
      message: `a batchSize over ${DELIVERY_LIMITS.maxBatchSizeWithoutWindow} needs batchingWindowSeconds of at least 1 (Lambda refuses it otherwise)`,
    },
  );
export type DeliverySettings = z.infer<typeof DeliverySettingsSchema>;

export const DeploymentSettingsSchema = z.strictObject({
  delivery: DeliverySettingsSchema.default(DeliverySettingsSchema.parse({})),
  reservedConcurrency: z
    .partialRecord(
      z.enum(LAMBDA_FUNCTIONS),
      z
        .number()
        .int('expected a whole number of concurrent executions')
        .min(1, 'expected at least 1 (0 would stop the function)'),
    )
    .default({}),
});
export type DeploymentSettings = z.infer<typeof DeploymentSettingsSchema>;
