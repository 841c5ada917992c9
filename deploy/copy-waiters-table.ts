import { SLOT_QUEUE_INDEX } from '#ec2/copy-machine/slot-queue';
import type { Deployment } from './template-parts.ts';

/**
 * The copy-waiters table (src/adapters/copy-waiters.ts): the task token of every EC2 copy execution that
 * waits for its copy's completion event, one item per copy in flight, under `copyKey` (`region/copy-id`).
 * AWS::DynamoDB::Table (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-dynamodb-table.html):
 * - `BillingMode: PAY_PER_REQUEST`: a put, a get and a conditional delete per copy, a few writes a day to
 *   bursts of hundreds; on-demand has no capacity to size and costs nothing while no copy runs.
 * - `TimeToLiveSpecification` on `expiresAt` (a Number, epoch seconds, as TTL requires): the waiter a lost
 *   event left is removed by DynamoDB, "typically within two days of expiration"; an expired item may
 *   still be read until then, so readers check `expiresAt` themselves (`isLive`,
 *   https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/TTL.html).
 * - `SSESpecification.SSEEnabled: false` is DynamoDB's default encryption at rest under an AWS owned key
 *   (true would mean the AWS managed key, billed per KMS request, for tokens that live hours).
 * - No point-in-time recovery: a restored token is useless (its task has timed out or ended), so there is
 *   nothing to recover; PITR is billed per GB-month.
 * - `DeletionPolicy: Delete` (and on replacement): unlike the dead letters and logs, which the stack keeps
 *   as evidence, the table holds nothing that outlives the executions; a retained table would be an
 *   orphan that blocks the next deploy of the same name. A copy in flight when the table goes is still
 *   finished by its safety check (statemachines/ec2-copy.ts).
 * - One sparse global secondary index, `slot-queue` (partition `slotQueue`, sort `queuedAt`, every attribute
 *   projected): the copies waiting for a slot under EC2's copy limit, oldest first, which the next copy to
 *   end wakes (src/ec2/copy-machine/slot-queue.ts). Only slot waiters carry its keys; on-demand, it has no
 *   capacity of its own to size
 *   (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-dynamodb-table-globalsecondaryindex.html).
 * - A known name, `<service>-<stage>-copy-waiters`, as the dead-letter queue has: the sandbox names its
 *   table the same way, so the IAM proof evaluates the sandbox's calls against this table's ARN.
 */
export const COPY_WAITERS_TABLE_ID = 'CopyWaitersTable';

export const copyWaitersTableName = (deployment: Pick<Deployment, 'service' | 'stage'>): string =>
  `${deployment.service}-${deployment.stage}-copy-waiters`;

export const copyWaitersTableArn: { 'Fn::GetAtt': [string, string] } = {
  'Fn::GetAtt': [COPY_WAITERS_TABLE_ID, 'Arn'],
};

export function copyWaitersTable(deployment: Deployment) {
  return {
    [COPY_WAITERS_TABLE_ID]: {
      Type: 'AWS::DynamoDB::Table',
      DeletionPolicy: 'Delete',
      UpdateReplacePolicy: 'Delete',
      Properties: {
        TableName: copyWaitersTableName(deployment),
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'copyKey', AttributeType: 'S' },
          { AttributeName: SLOT_QUEUE_INDEX.partitionKey, AttributeType: 'S' },
          { AttributeName: SLOT_QUEUE_INDEX.sortKey, AttributeType: 'N' },
        ],
        KeySchema: [{ AttributeName: 'copyKey', KeyType: 'HASH' }],
        GlobalSecondaryIndexes: [
          {
            IndexName: SLOT_QUEUE_INDEX.name,
            KeySchema: [
              { AttributeName: SLOT_QUEUE_INDEX.partitionKey, KeyType: 'HASH' },
              { AttributeName: SLOT_QUEUE_INDEX.sortKey, KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
        SSESpecification: { SSEEnabled: false },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: false },
      },
    },
  };
}
