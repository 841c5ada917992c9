import { describe, expect, it } from 'vitest';
import { DynamoDbError, LocalDynamoDb } from '#local/dynamodb';

/** The sandbox's DynamoDB refuses what DynamoDB refuses, with DynamoDB's error types. */
const table = () => {
  const db = new LocalDynamoDb();
  db.createTable('waiters', 'copyKey');
  return db;
};
const refusal = (work: () => unknown) => {
  try {
    work();
  } catch (error) {
    if (error instanceof DynamoDbError) return error.type;
    throw error;
  }
  return 'accepted';
};

/** A Query of queue `q1` on the slot-queue index. */
const query = (db: LocalDynamoDb, extra: Record<string, unknown> = {}) =>
  db.handle('Query', {
    TableName: 'waiters',
    IndexName: 'slot-queue',
    KeyConditionExpression: 'slotQueue = :q',
    ExpressionAttributeValues: { ':q': { S: 'q1' } },
    ...extra,
  }) as { Items: Record<string, { S?: string }>[]; LastEvaluatedKey?: unknown };

describe('the local DynamoDB', () => {
  it('puts, gets and deletes an item by its partition key', () => {
    const db = table();
    const Item = { copyKey: { S: 'us-west-2/snap-1' }, taskToken: { S: 't1' } };
    db.handle('PutItem', { TableName: 'waiters', Item });
    expect(
      db.handle('GetItem', { TableName: 'waiters', Key: { copyKey: { S: 'us-west-2/snap-1' } } }),
    ).toEqual({
      Item,
    });
    db.handle('DeleteItem', { TableName: 'waiters', Key: { copyKey: { S: 'us-west-2/snap-1' } } });
    expect(
      db.handle('GetItem', { TableName: 'waiters', Key: { copyKey: { S: 'us-west-2/snap-1' } } }),
    ).toEqual({});
  });

  it('deletes on a condition only when it holds (ConditionalCheckFailedException otherwise)', () => {
    const db = table();
    db.handle('PutItem', { TableName: 'waiters', Item: { copyKey: { S: 'k' }, taskToken: { S: 'new' } } });
    const remove = (token: string) => () =>
      db.handle('DeleteItem', {
        TableName: 'waiters',
        Key: { copyKey: { S: 'k' } },
        ConditionExpression: 'taskToken = :token',
        ExpressionAttributeValues: { ':token': { S: token } },
      });
    expect(refusal(remove('old'))).toBe('ConditionalCheckFailedException');
    expect(db.items('waiters')).toHaveLength(1);
    expect(refusal(remove('new'))).toBe('accepted');
    expect(db.items('waiters')).toHaveLength(0);
  });

  it('refuses malformed requests as ValidationException, and unknown tables as ResourceNotFoundException', () => {
    const db = table();
    expect(refusal(() => db.handle('PutItem', { TableName: 'nope', Item: { copyKey: { S: 'k' } } }))).toBe(
      'ResourceNotFoundException',
    );
    expect(refusal(() => db.handle('PutItem', { TableName: 'waiters', Item: { other: { S: 'k' } } }))).toBe(
      'ValidationException',
    );
    expect(refusal(() => db.handle('GetItem', { TableName: 'waiters', Key: { copyKey: { N: '1' } } }))).toBe(
      'ValidationException',
    );
    expect(refusal(() => db.handle('GetItem', { TableName: 'waiters', Key: { copyKey: { S: '' } } }))).toBe(
      'ValidationException',
    );
    // An expression outside the subset, and a value the expression does not use.
    expect(
      refusal(() =>
        db.handle('DeleteItem', {
          TableName: 'waiters',
          Key: { copyKey: { S: 'k' } },
          ConditionExpression: 'begins_with(taskToken, :t)',
          ExpressionAttributeValues: { ':t': { S: 'x' } },
        }),
      ),
    ).toBe('ValidationException');
    expect(
      refusal(() =>
        db.handle('DeleteItem', {
          TableName: 'waiters',
          Key: { copyKey: { S: 'k' } },
          ConditionExpression: 'attribute_exists(copyKey)',
          ExpressionAttributeValues: { ':unused': { S: 'x' } },
        }),
      ),
    ).toBe('ValidationException');
    const big = { copyKey: { S: 'k' }, blob: { S: 'x'.repeat(400 * 1024) } };
    expect(refusal(() => db.handle('PutItem', { TableName: 'waiters', Item: big }))).toBe(
      'ValidationException',
    );
  });

  describe('Query on a global secondary index', () => {
    const INDEX = { name: 'slot-queue', partitionKey: 'slotQueue', sortKey: 'queuedAt' };
    const indexed = () => {
      const db = new LocalDynamoDb();
      db.createTable('waiters', 'copyKey', [INDEX]);
      const put = (key: string, queue: string | undefined, at: number | undefined) =>
        db.handle('PutItem', {
          TableName: 'waiters',
          Item: {
            copyKey: { S: key },
            ...(queue ? { slotQueue: { S: queue } } : {}),
            ...(at !== undefined ? { queuedAt: { N: String(at) } } : {}),
          },
        });
      put('late', 'q1', 300);
      put('early', 'q1', 20);
      put('middle', 'q1', 100);
      put('other', 'q2', 1);
      put('no-sort-key', 'q1', undefined);
      put('copy-waiter', undefined, undefined);
      return db;
    };
    const keys = (answer: { Items: Record<string, { S?: string }>[] }) =>
      answer.Items.map((item) => item.copyKey?.S);

    it('returns the partition by the sort key numerically, sparse, reversed and limited on request', () => {
      const db = indexed();
      expect(keys(query(db))).toEqual(['early', 'middle', 'late']);
      expect(keys(query(db, { ScanIndexForward: false }))).toEqual(['late', 'middle', 'early']);
      const first = query(db, { Limit: 1 });
      expect(keys(first)).toEqual(['early']);
      expect(first.LastEvaluatedKey).toEqual({
        copyKey: { S: 'early' },
        slotQueue: { S: 'q1' },
        queuedAt: { N: '20' },
      });
      expect(query(db).LastEvaluatedKey).toBeUndefined();
      expect(
        keys(
          query(db, {
            KeyConditionExpression: '#q = :q AND queuedAt > :after',
            ExpressionAttributeNames: { '#q': 'slotQueue' },
            ExpressionAttributeValues: { ':q': { S: 'q1' }, ':after': { N: '50' } },
          }),
        ),
      ).toEqual(['middle', 'late']);
    });

    it('counts instead of returning items with Select COUNT, within the key condition and the Limit', () => {
      const db = indexed();
      const countBefore = (at: number, extra: Record<string, unknown> = {}) =>
        db.handle('Query', {
          TableName: 'waiters',
          IndexName: 'slot-queue',
          KeyConditionExpression: 'slotQueue = :q AND queuedAt < :at',
          ExpressionAttributeValues: { ':q': { S: 'q1' }, ':at': { N: String(at) } },
          Select: 'COUNT',
          ...extra,
        });
      expect(countBefore(300)).toEqual({ Count: 2, ScannedCount: 2 });
      expect(countBefore(20)).toEqual({ Count: 0, ScannedCount: 0 });
      expect(countBefore(1000, { Limit: 2 })).toMatchObject({
        Count: 2,
        LastEvaluatedKey: expect.anything(),
      });
      expect(refusal(() => countBefore(300, { Select: 'EVERYTHING' }))).toBe('ValidationException');
      expect(refusal(() => countBefore(300, { Select: 'SPECIFIC_ATTRIBUTES' }))).toBe('ValidationException');
    });

    it('refuses what DynamoDB refuses: ConsistentRead on a GSI, an unknown index, a non-key condition, Limit 0', () => {
      const db = indexed();
      expect(refusal(() => query(db, { ConsistentRead: true }))).toBe('ValidationException');
      expect(refusal(() => query(db, { IndexName: 'nope' }))).toBe('ValidationException');
      expect(refusal(() => query(db, { KeyConditionExpression: 'copyKey = :q' }))).toBe(
        'ValidationException',
      );
      expect(refusal(() => query(db, { Limit: 0 }))).toBe('ValidationException');
      expect(refusal(() => query(db, { KeyConditionExpression: 'slotQueue = :missing' }))).toBe(
        'ValidationException',
      );
      expect(
        refusal(() => query(db, { ExpressionAttributeValues: { ':q': { S: 'q1' }, ':unused': { S: 'x' } } })),
      ).toBe('ValidationException');
      expect(refusal(() => query(db, { KeyConditionExpression: 'begins_with(slotQueue, :q)' }))).toBe(
        'ValidationException',
      );
    });
  });

  describe('counts requests and the request units they consume, as on-demand bills them', () => {
    const INDEX = { name: 'slot-queue', partitionKey: 'slotQueue', sortKey: 'queuedAt' };
    const counted = () => {
      const db = new LocalDynamoDb();
      db.createTable('waiters', 'copyKey', [INDEX]);
      return db;
    };
    const waiter = { copyKey: { S: 'us-west-2/snap-1' }, taskToken: { S: 't1' } };
    const slotWaiter = (key: string) => ({
      copyKey: { S: key },
      taskToken: { S: 't' },
      slotQueue: { S: 'q1' },
      queuedAt: { N: '1700000000000' },
    });

    it('a write of an item under 1 KB is 1 write unit, an item with the index keys 1 more for its entry', () => {
      const db = counted();
      db.handle('PutItem', { TableName: 'waiters', Item: waiter });
      expect(db.consumed).toEqual({ read: 0, write: 1 });
      db.handle('PutItem', { TableName: 'waiters', Item: slotWaiter('slot/q1/a') });
      expect(db.consumed.write).toBe(3);
      // Deleting it removes the index entry too.
      db.handle('DeleteItem', { TableName: 'waiters', Key: { copyKey: { S: 'slot/q1/a' } } });
      expect(db.consumed.write).toBe(5);
      expect(Object.fromEntries(db.requests)).toEqual({ PutItem: 2, DeleteItem: 1 });
    });

    it('rounds a write up to the next 1 KB, of the larger of the old and the new item', () => {
      const db = counted();
      const big = { copyKey: { S: 'k' }, blob: { S: 'x'.repeat(1500) } };
      db.handle('PutItem', { TableName: 'waiters', Item: big });
      expect(db.consumed.write).toBe(2);
      // Replacing it with a small item still writes over the 2 KB one.
      db.handle('PutItem', { TableName: 'waiters', Item: { copyKey: { S: 'k' } } });
      expect(db.consumed.write).toBe(4);
    });

    it('a write whose condition fails still consumes its units, and is counted apart', () => {
      const db = counted();
      db.handle('PutItem', { TableName: 'waiters', Item: waiter });
      db.resetCounts();
      const claim = () =>
        db.handle('PutItem', {
          TableName: 'waiters',
          Item: waiter,
          ConditionExpression: 'attribute_not_exists(copyKey)',
        });
      expect(refusal(claim)).toBe('ConditionalCheckFailedException');
      const removeOther = () =>
        db.handle('DeleteItem', {
          TableName: 'waiters',
          Key: { copyKey: { S: 'missing' } },
          ConditionExpression: 'taskToken = :t',
          ExpressionAttributeValues: { ':t': { S: 't1' } },
        });
      expect(refusal(removeOther)).toBe('ConditionalCheckFailedException');
      expect(db.consumed).toEqual({ read: 0, write: 2 });
      expect(Object.fromEntries(db.requests)).toEqual({
        PutItem: 1,
        'PutItem (condition failed)': 1,
        DeleteItem: 1,
        'DeleteItem (condition failed)': 1,
      });
    });

    it('a strongly consistent read is 1 read unit per 4 KB, an eventually consistent one half, even of a missing item', () => {
      const db = counted();
      db.handle('PutItem', { TableName: 'waiters', Item: waiter });
      db.resetCounts();
      db.handle('GetItem', { TableName: 'waiters', Key: { copyKey: waiter.copyKey }, ConsistentRead: true });
      expect(db.consumed.read).toBe(1);
      db.handle('GetItem', { TableName: 'waiters', Key: { copyKey: { S: 'missing' } } });
      expect(db.consumed.read).toBe(1.5);
    });

    it('a Query reads its entries as one eventually consistent read, rounded up to 4 KB once, a COUNT as much', () => {
      const db = counted();
      for (const key of ['a', 'b', 'c'])
        db.handle('PutItem', { TableName: 'waiters', Item: slotWaiter(key) });
      db.resetCounts();
      query(db);
      expect(db.consumed.read).toBe(0.5);
      query(db, { Select: 'COUNT' });
      expect(db.consumed.read).toBe(1);
      // A refused request consumes nothing, though it is counted.
      expect(refusal(() => query(db, { ConsistentRead: true }))).toBe('ValidationException');
      expect(db.consumed.read).toBe(1);
      expect(db.requests.get('Query')).toBe(3);
    });
  });

  it('scans a table a page at a time (Limit, LastEvaluatedKey, ExclusiveStartKey) and refuses a filter', () => {
    const db = table();
    for (const n of [1, 2, 3, 4, 5])
      db.handle('PutItem', { TableName: 'waiters', Item: { copyKey: { S: `us-west-2/snap-${n}` } } });
    const keys: string[] = [];
    let start: Record<string, Record<string, unknown>> | undefined;
    let pages = 0;
    do {
      const page = db.handle('Scan', {
        TableName: 'waiters',
        Limit: 2,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }) as { Items: { copyKey: { S: string } }[]; LastEvaluatedKey?: typeof start };
      keys.push(...page.Items.map((item) => item.copyKey.S));
      start = page.LastEvaluatedKey;
      pages += 1;
    } while (start);
    expect(pages).toBe(3);
    expect(keys.sort()).toEqual([1, 2, 3, 4, 5].map((n) => `us-west-2/snap-${n}`));
    expect(
      refusal(() =>
        db.handle('Scan', { TableName: 'waiters', FilterExpression: 'begins_with(copyKey, :p)' }),
      ),
    ).toBe('ValidationException');
  });

  it('resumes a Scan strictly after its start key, whether or not that item is still there', () => {
    const db = table();
    // Inserted out of key order: a page's resume point must not depend on insertion order.
    for (const key of ['m', 'z', 'a', 'q', 'c'])
      db.handle('PutItem', { TableName: 'waiters', Item: { copyKey: { S: key } } });
    const scan = (start?: Record<string, Record<string, unknown>>) =>
      db.handle('Scan', {
        TableName: 'waiters',
        Limit: 2,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }) as {
        Items: { copyKey: { S: string } }[];
        LastEvaluatedKey?: Record<string, Record<string, unknown>>;
      };
    const first = scan();
    const seen = first.Items.map((item) => item.copyKey.S);
    // The page's last item is deleted before the next page is asked for.
    const last = first.LastEvaluatedKey;
    expect(last).toBeDefined();
    db.handle('DeleteItem', { TableName: 'waiters', Key: last });
    let start = last;
    while (start) {
      const page = scan(start);
      seen.push(...page.Items.map((item) => item.copyKey.S));
      start = page.LastEvaluatedKey;
    }
    // Every item read once, none twice, none skipped.
    expect(seen.sort()).toEqual(['a', 'c', 'm', 'q', 'z']);
  });

  it('ends a Scan page at 1 MB read', () => {
    const db = table();
    const big = 'x'.repeat(300 * 1024);
    for (const n of [1, 2, 3, 4, 5])
      db.handle('PutItem', { TableName: 'waiters', Item: { copyKey: { S: `k${n}` }, blob: { S: big } } });
    const first = db.handle('Scan', { TableName: 'waiters' }) as {
      Items: unknown[];
      LastEvaluatedKey?: unknown;
    };
    expect(first.Items).toHaveLength(4);
    expect(first.LastEvaluatedKey).toEqual({ copyKey: { S: 'k4' } });
  });
});
