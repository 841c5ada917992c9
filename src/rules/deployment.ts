import { z } from 'zod';

/** Ferry's Lambda functions, by their key in serverless.yml. */
export const LAMBDA_FUNCTIONS = [
  'objectCreated',
  'objectDeleted',
  'objectCopyStep',
  'objectTagsChanged',
  'snapshotCreated',
  'imageAvailable',
  'ec2CopyStep',
  'ec2CopyCompleted',
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
export const DeploymentSettingsSchema = z.strictObject({
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
