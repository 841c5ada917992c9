import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  paginateScan,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import type { CopyWaiter, CopyWaiters, WaiterListing } from '#ec2/copy-machine/copy-waiters';
import { SLOT_QUEUE_INDEX, type SlotWaiter, type SlotWaiters } from '#ec2/copy-machine/slot-queue';

/**
 * The copy-waiters table: one item per copy an execution waits for, `copyKey` (`region/copy-id`) the
 * partition key, `expiresAt` (epoch seconds) its TTL attribute. PAY_PER_REQUEST: a few writes per copy.
 * Reads are strongly consistent, so a waiter stored just before its event is seen:
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.ReadConsistency.html
 */
export const COPY_WAITERS_TABLE_VARIABLE = 'FERRY_COPY_WAITERS_TABLE';

type Item = Record<string, AttributeValue>;

/** The attributes every waiter's item holds, copy or slot: a kind's own fields are spread beside them. */
const waiterItem = (waiter: CopyWaiter): Item => ({
  copyKey: { S: waiter.key },
  taskToken: { S: waiter.taskToken },
  execution: { S: waiter.execution },
  expiresAt: { N: String(waiter.expiresAt) },
});

/** The waiter an item of `key` holds, or undefined when one of its attributes is missing. */
const waiterOf = (key: string, item: Item | undefined): CopyWaiter | undefined => {
  const { taskToken, execution, expiresAt } = item ?? {};
  if (!taskToken?.S || !execution?.S || !expiresAt?.N) return undefined;
  return { key, taskToken: taskToken.S, execution: execution.S, expiresAt: Number(expiresAt.N) };
};

export function dynamoDbCopyWaiters(tableName: string, client: DynamoDBClient): CopyWaiters {
  return {
    async put(waiter) {
      await client.send(new PutItemCommand({ TableName: tableName, Item: waiterItem(waiter) }));
    },
    async get(key) {
      const { Item } = await client.send(
        new GetItemCommand({ TableName: tableName, Key: { copyKey: { S: key } }, ConsistentRead: true }),
      );
      return waiterOf(key, Item);
    },
    // A newer wait of the same copy (after a safety check) stored its own token: leave it.
    remove: (key, taskToken) => removeHeld(client, tableName, key, taskToken),
  };
}

/**
 * The whole table, every page (a Scan answers at most 1 MB per page and says where to go on with
 * `LastEvaluatedKey`: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Scan.html). No
 * FilterExpression for the `slot/…` and `freed/…` items: a filter is applied after the read and the Scan
 * consumes the same read units (same page), so the caller skips them itself. Eventually consistent (half the
 * units): a waiter stored during the Scan is the next sweep's, and AwaitCopy describes its copy just after
 * storing it (a copy already ended is signalled there). That order also means a Scan may return a waiter
 * whose copy EC2 does not list yet: the sweep leaves such a copy to its checks (sweep.ts, `verdictOf`). The table holds only copies and slot waits in flight (items of ~0.5 KB), so an hourly
 * Scan of a few hundred items is a page or two.
 */
export function dynamoDbWaiterListing(tableName: string, client: DynamoDBClient): WaiterListing {
  return {
    async all() {
      const waiters: CopyWaiter[] = [];
      for await (const page of paginateScan({ client }, { TableName: tableName }))
        for (const item of page.Items ?? []) {
          const key = item.copyKey?.S;
          const waiter = key ? waiterOf(key, item) : undefined;
          if (waiter) waiters.push(waiter);
        }
      return waiters;
    },
  };
}

/** Deletes `key` if it still holds `taskToken`; false when a newer wait (or none) holds it. */
async function removeHeld(client: DynamoDBClient, tableName: string, key: string, taskToken: string) {
  try {
    await client.send(
      new DeleteItemCommand({
        TableName: tableName,
        Key: { copyKey: { S: key } },
        ConditionExpression: 'taskToken = :token',
        ExpressionAttributeValues: { ':token': { S: taskToken } },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

/** The key of a slot already handed on: the claim writes it, a failed wake-up's release deletes it. */
const freedKey = (freed: string): Item => ({ copyKey: { S: `freed/${freed}` } });

/**
 * The slot waiters, in the same table under `slot/…` keys, and the slots already handed on under `freed/…`
 * keys (a conditional put: the first waker wins). The index is read eventually consistently (a global
 * secondary index offers nothing else): slot-queue.ts says what that costs.
 */
export function dynamoDbSlotWaiters(tableName: string, client: DynamoDBClient): SlotWaiters {
  return {
    async put(waiter) {
      await client.send(
        new PutItemCommand({
          TableName: tableName,
          Item: {
            ...waiterItem(waiter),
            slotQueue: { S: waiter.queue },
            queuedAt: { N: String(waiter.queuedAt) },
          },
        }),
      );
    },
    async oldest(queue, limit) {
      const { Items = [] } = await client.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: SLOT_QUEUE_INDEX.name,
          KeyConditionExpression: 'slotQueue = :queue',
          ExpressionAttributeValues: { ':queue': { S: queue } },
          ScanIndexForward: true,
          Limit: limit,
        }),
      );
      return Items.flatMap((item): SlotWaiter[] => {
        const { copyKey, queuedAt } = item;
        const waiter = copyKey?.S ? waiterOf(copyKey.S, item) : undefined;
        if (!waiter || !queuedAt?.N) return [];
        return [{ ...waiter, queue, queuedAt: Number(queuedAt.N) }];
      });
    },
    // Select COUNT: the number of matching items, not the items; `Limit` bounds how many one Query reads,
    // so a count up to `atMost` (small items, far under a page's 1 MB) needs no paging:
    // https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Query.Other.html
    async ahead(queue, queuedAt, atMost) {
      const { Count = 0 } = await client.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: SLOT_QUEUE_INDEX.name,
          KeyConditionExpression: 'slotQueue = :queue AND queuedAt < :at',
          ExpressionAttributeValues: { ':queue': { S: queue }, ':at': { N: String(queuedAt) } },
          Select: 'COUNT',
          Limit: atMost,
        }),
      );
      return Count;
    },
    remove: (key, taskToken) => removeHeld(client, tableName, key, taskToken),
    async claim(freed, expiresAt) {
      try {
        await client.send(
          new PutItemCommand({
            TableName: tableName,
            Item: { ...freedKey(freed), expiresAt: { N: String(expiresAt) } },
            ConditionExpression: 'attribute_not_exists(copyKey)',
          }),
        );
        return true;
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) return false;
        throw error;
      }
    },
    async release(freed) {
      await client.send(new DeleteItemCommand({ TableName: tableName, Key: freedKey(freed) }));
    },
  };
}
