import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { CopyWaiter, CopyWaiters } from '#ec2/copy-machine/copy-waiters';

/**
 * The copy-waiters table: one item per copy an execution waits for, `copyKey` (`region/copy-id`) the
 * partition key, `expiresAt` (epoch seconds) its TTL attribute. PAY_PER_REQUEST: a few writes per copy.
 * Reads are strongly consistent, so a waiter stored just before its event is seen:
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.ReadConsistency.html
 */
export const COPY_WAITERS_TABLE_VARIABLE = 'FERRY_COPY_WAITERS_TABLE';

export function dynamoDbCopyWaiters(tableName: string, client: DynamoDBClient): CopyWaiters {
  return {
    async put(waiter) {
      await client.send(
        new PutItemCommand({
          TableName: tableName,
          Item: {
            copyKey: { S: waiter.key },
            taskToken: { S: waiter.taskToken },
            execution: { S: waiter.execution },
            expiresAt: { N: String(waiter.expiresAt) },
          },
        }),
      );
    },
    async get(key) {
      const { Item } = await client.send(
        new GetItemCommand({ TableName: tableName, Key: { copyKey: { S: key } }, ConsistentRead: true }),
      );
      if (!Item?.taskToken?.S || !Item.execution?.S || !Item.expiresAt?.N) return undefined;
      const waiter: CopyWaiter = {
        key,
        taskToken: Item.taskToken.S,
        execution: Item.execution.S,
        expiresAt: Number(Item.expiresAt.N),
      };
      return waiter;
    },
    async remove(key, taskToken) {
      try {
        await client.send(
          new DeleteItemCommand({
            TableName: tableName,
            Key: { copyKey: { S: key } },
            // A newer wait of the same copy (after a safety check) stored its own token: leave it.
            ConditionExpression: 'taskToken = :token',
            ExpressionAttributeValues: { ':token': { S: taskToken } },
          }),
        );
        return true;
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) return false;
        throw error;
      }
    },
  };
}
