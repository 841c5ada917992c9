import { describe, expect, it } from 'vitest';
import { itemBytes, readUnitsOf, writeUnits } from '#local/dynamodb-capacity';

// Item sizes and units as the DynamoDB Developer Guide computes them (local/dynamodb-capacity.ts).
describe('DynamoDB item sizes and request units', () => {
  it('sizes an item by its names and values: strings in UTF-8, numbers by significant digits, documents with 3 bytes each', () => {
    expect(itemBytes({ k: { S: 'é' } })).toBe(1 + 2);
    // 12345: 5 significant digits → 3 bytes, plus 1.
    expect(itemBytes({ n: { N: '12345' } })).toBe(1 + 4);
    // Leading and trailing zeros are trimmed: 1000 and 0.001 are one digit.
    expect(itemBytes({ n: { N: '1000' } })).toBe(1 + 2);
    expect(itemBytes({ n: { N: '0.001' } })).toBe(1 + 2);
    expect(itemBytes({ b: { BOOL: true }, z: { NULL: true } })).toBe(2 + 2);
    expect(itemBytes({ m: { M: { a: { S: 'xy' } } }, l: { L: [{ S: 'xy' }] } })).toBe(
      1 + 3 + 3 + (1 + 3 + 2),
    );
    expect(itemBytes({ bin: { B: Buffer.from('abcd').toString('base64') } })).toBe(3 + 4);
  });

  it('counts index writes only for items in the sparse index, and two when an index key changes', () => {
    const index = { partitionKey: 'q', sortKey: 'at' };
    const plain = { k: { S: 'a' } };
    const queued = (at: string) => ({ k: { S: 'a' }, q: { S: 'q1' }, at: { N: at } });
    expect(writeUnits(undefined, plain, [index], true)).toBe(1);
    expect(writeUnits(undefined, queued('1'), [index], true)).toBe(2);
    expect(writeUnits(queued('1'), queued('1'), [index], true)).toBe(2);
    expect(writeUnits(queued('1'), queued('2'), [index], true)).toBe(3);
    expect(writeUnits(queued('1'), undefined, [index], true)).toBe(2);
    // A failed condition writes no index entry: 1 unit for a missing item, else by the item's size.
    expect(writeUnits(undefined, queued('1'), [index], false)).toBe(1);
    expect(writeUnits({ k: { S: 'a' }, big: { S: 'x'.repeat(3000) } }, undefined, [index], false)).toBe(3);
  });

  it('rounds reads up to 4 KB and halves an eventually consistent one', () => {
    expect(readUnitsOf(0, true)).toBe(1);
    expect(readUnitsOf(0, false)).toBe(0.5);
    expect(readUnitsOf(4096, true)).toBe(1);
    expect(readUnitsOf(4097, true)).toBe(2);
    expect(readUnitsOf(16_000, false)).toBe(2);
  });
});
