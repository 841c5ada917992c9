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
});
