import type { EventPattern } from '#rules/event-patterns';
import type { Cfn, CfnResource, Deployment } from './template-parts.ts';
import { deadLetterQueue, EVENT_RETRY_POLICY } from './template-parts.ts';

/**
 * The CloudFormation resources that deliver a function's events through an SQS queue in batches (README,
 * "Delivery in batches through SQS"). Generated and tested, NOT yet added to the template: the deployment
 * still delivers every event directly (see the README for why). Per function:
 * - the delivery queue: visibility timeout six times the function timeout plus the batching window (Lambda's
 *   advice for SQS sources; never below the function timeout, which Lambda refuses), 14 days of retention,
 *   SSE, and a redrive policy to Ferry's dead-letter queue after `maxReceiveCount` receives
 *   (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html);
 * - its queue policy: only EventBridge may send, from these rules (`aws:SourceArn`,
 *   https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html);
 * - one rule per pattern, its target the queue, with EventBridge's retries and dead letters as today;
 * - the event source mapping: BatchSize, MaximumBatchingWindowInSeconds (a batch over 10 needs ≥ 1 s) and
 *   `ReportBatchItemFailures` (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-parameters.html);
 * - the statement the function's role needs to poll (ReceiveMessage, DeleteMessage, GetQueueAttributes).
 */
export const DELIVERY = {
  batchSize: 10,
  batchingWindowSeconds: 1,
  maxReceiveCount: 5,
  visibilityFactor: 6,
} as const;

/** Settings Lambda or SQS would refuse. */
export class DeliverySettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeliverySettingsError';
  }
}

const pascal = (name: string) => `${name.charAt(0).toUpperCase()}${name.slice(1)}`;

/** What Lambda's poller calls on the queue with the function's execution role. */
export const DELIVERY_POLL_ACTIONS = [
  'sqs:ReceiveMessage',
  'sqs:DeleteMessage',
  'sqs:GetQueueAttributes',
] as const;

/** The ARN of a function's delivery queue, as the template names it. */
export const deliveryQueueArn = (fn: string): { 'Fn::GetAtt': [string, string] } => ({
  'Fn::GetAtt': [`${pascal(fn)}DeliveryQueue`, 'Arn'],
});
/** SQS's longest visibility timeout: 12 hours (ChangeMessageVisibility, API reference). */
const MAX_VISIBILITY_SECONDS = 43_200;

/** A function's delivery queue's name: `<service>-<stage>-<function>`. */
export const deliveryQueueName = (deployment: Pick<Deployment, 'service' | 'stage'>, fn: string): string =>
  `${deployment.service}-${deployment.stage}-${fn}`;

/** The logical ids of a function's delivery rules, one per pattern. */
export const deliveryRuleIds = (fn: string, patterns: readonly EventPattern[]): string[] =>
  patterns.map((_, index) => `${pascal(fn)}DeliveryRule${index + 1}`);

export function deliveryResources(
  deployment: Deployment,
  fn: string,
  patterns: readonly EventPattern[],
  functionTimeoutSeconds: number,
  settings: { batchSize: number; batchingWindowSeconds: number; maxReceiveCount: number } = DELIVERY,
): { resources: Record<string, CfnResource>; roleStatement: Record<string, Cfn> } {
  if (settings.batchSize < 1 || settings.batchSize > 10_000)
    throw new DeliverySettingsError(`BatchSize must be 1–10000, not ${settings.batchSize}`);
  if (settings.batchSize > 10 && settings.batchingWindowSeconds < 1)
    throw new DeliverySettingsError('a BatchSize over 10 needs MaximumBatchingWindowInSeconds of at least 1');
  const visibility = DELIVERY.visibilityFactor * functionTimeoutSeconds + settings.batchingWindowSeconds;
  if (visibility > MAX_VISIBILITY_SECONDS)
    throw new DeliverySettingsError(`a visibility timeout of ${visibility} s is over SQS's 12 hours`);
  const id = `${pascal(fn)}Delivery`;
  const queueArn = deliveryQueueArn(fn);
  const deadLetters: Cfn = { 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] };
  const rules = deliveryRuleIds(fn, patterns).map((rule, index) => [rule, patterns[index]] as const);
  // The dead-letter queue's shape (14 days, SSE, sendable only by EventBridge from these rules, in this
  // account), but not retained with the stack: it holds events in transit, not evidence; what failed for
  // good is in the dead-letter queue, which is kept.
  const { [`${id}Queue`]: retained, ...policy } = deadLetterQueue(
    `${id}Queue`,
    deliveryQueueName(deployment, fn),
    rules.map(([rule]) => ({ 'Fn::GetAtt': [rule, 'Arn'] })),
  );
  const { DeletionPolicy: _kept, UpdateReplacePolicy: _replaced, ...queue } = retained ?? { Type: '' };
  const resources: Record<string, CfnResource> = {
    [`${id}Queue`]: {
      ...queue,
      Type: 'AWS::SQS::Queue',
      Properties: {
        ...queue.Properties,
        VisibilityTimeout: visibility,
        RedrivePolicy: { deadLetterTargetArn: deadLetters, maxReceiveCount: settings.maxReceiveCount },
      },
    },
    ...policy,
    ...Object.fromEntries(
      rules.map(([rule, pattern]) => [
        rule,
        {
          Type: 'AWS::Events::Rule',
          Properties: {
            EventPattern: pattern,
            State: 'ENABLED',
            Targets: [
              {
                Id: 'delivery-queue',
                Arn: queueArn,
                RetryPolicy: {
                  MaximumEventAgeInSeconds: EVENT_RETRY_POLICY.maximumEventAge,
                  MaximumRetryAttempts: EVENT_RETRY_POLICY.maximumRetryAttempts,
                },
                DeadLetterConfig: { Arn: deadLetters },
              },
            ],
          },
        },
      ]),
    ),
    [`${id}Mapping`]: {
      Type: 'AWS::Lambda::EventSourceMapping',
      Properties: {
        EventSourceArn: queueArn,
        FunctionName: { Ref: `${pascal(fn)}LambdaFunction` },
        BatchSize: settings.batchSize,
        MaximumBatchingWindowInSeconds: settings.batchingWindowSeconds,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      },
    },
  };
  const roleStatement = {
    Effect: 'Allow',
    Action: [...DELIVERY_POLL_ACTIONS],
    Resource: [queueArn],
  };
  return { resources, roleStatement };
}
