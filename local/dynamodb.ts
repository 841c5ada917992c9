import type { IncomingMessage, ServerResponse } from 'node:http';
import { readJsonRequest, sendJson, sendJsonError } from './aws-json.ts';
import { indexEntryBytes, itemBytes, readUnitsOf, writeUnits } from './dynamodb-capacity.ts';

/**
 * DynamoDB for the sandbox: the JSON 1.0 protocol (`X-Amz-Target: DynamoDB_20120810.Operation`), the
 * operations Ferry uses (PutItem, GetItem, DeleteItem; Query on a global secondary index; Scan) on tables with a
 * string partition key, and the subset of condition expressions Ferry writes (`a = :v`,
 * `attribute_exists(a)`, `attribute_not_exists(a)`, names as `#n`). A Query's key condition is the index's
 * partition key `= :v`, optionally `AND` its sort key compared (`=`, `<`, `<=`, `>`, `>=`) with a value; its
 * items come sorted by the sort key (numbers numerically, strings by their UTF-8 bytes), reversed with
 * `ScanIndexForward: false`, at most `Limit` of them with a `LastEvaluatedKey` when more remain (with
 * `Select: COUNT`, only their `Count`: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Query.Other.html); an index
 * holds only the items that carry both its keys (a sparse index), and refuses `ConsistentRead`
 * (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_Query.html,
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Query.KeyConditionExpressions.html). Anything outside that subset is refused as DynamoDB refuses a malformed request: a
 * ValidationException, never a silent success. A failed condition is a ConditionalCheckFailedException.
 * Errors and limits: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html,
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html (400 KB per item).
 * TTL is not emulated by deleting: like DynamoDB, which deletes expired items "typically within two days",
 * the sandbox keeps them, and readers must ignore expired items themselves.
 * Every request is counted by operation, and what it consumed in read and write request units
 * (local/dynamodb-capacity.ts), for the benchmarks to price as on-demand bills it.
 */

type AttributeValue = Record<string, unknown>;
type Item = Record<string, AttributeValue>;

const MAX_ITEM_BYTES = 400 * 1024;
/** The most a Scan (or Query) page reads before it stops and answers a `LastEvaluatedKey`. */
const SCAN_PAGE_BYTES = 1024 * 1024;

/** A refusal DynamoDB would answer with HTTP 400 and this error type. */
export class DynamoDbError extends Error {
  constructor(
    readonly type: 'ValidationException' | 'ConditionalCheckFailedException' | 'ResourceNotFoundException',
    message: string,
  ) {
    super(message);
    this.name = type;
  }
}

const invalid = (message: string) => new DynamoDbError('ValidationException', message);

interface Request {
  TableName?: string;
  IndexName?: string;
  KeyConditionExpression?: string;
  ScanIndexForward?: boolean;
  Limit?: number;
  Select?: string;
  ConsistentRead?: boolean;
  FilterExpression?: string;
  ProjectionExpression?: string;
  Segment?: number;
  ExclusiveStartKey?: Item;
  Item?: Item;
  Key?: Item;
  ConditionExpression?: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: Record<string, AttributeValue>;
}

const CONDITION =
  /^\s*(?:(attribute_exists|attribute_not_exists)\(\s*([#\w]+)\s*\)|([#\w]+)\s*=\s*(:\w+))\s*$/;

/** A global secondary index: its partition and sort keys, every attribute projected. */
export interface LocalIndex {
  name: string;
  partitionKey: string;
  sortKey: string;
}

/** The `Select` values the sandbox serves: all of DynamoDB's but SPECIFIC_ATTRIBUTES (a projection). */
const QUERY_SELECTS = new Set(['ALL_ATTRIBUTES', 'ALL_PROJECTED_ATTRIBUTES', 'COUNT']);

const KEY_CONDITION = /^\s*([#\w]+)\s*=\s*(:\w+)\s*(?:\s+AND\s+([#\w]+)\s*(=|<=|<|>=|>)\s*(:\w+)\s*)?$/i;

/** The scalar a key attribute holds: a number for N, the string for S. */
const scalarOf = (value: AttributeValue | undefined): string | number | undefined =>
  typeof value?.N === 'string' ? Number(value.N) : typeof value?.S === 'string' ? value.S : undefined;

const compare = (a: string | number, b: string | number): number =>
  typeof a === 'number' && typeof b === 'number'
    ? a - b
    : Buffer.compare(Buffer.from(String(a)), Buffer.from(String(b)));

/** The request's `#name` placeholders, resolved for `expression`, and the placeholders it used. */
function expressionNames(request: Request, expression: string) {
  const names = request.ExpressionAttributeNames ?? {};
  const used = new Set<string>();
  const nameOf = (token: string) => {
    if (!token.startsWith('#')) return token;
    const name = names[token];
    if (!name)
      throw invalid(
        `Invalid ${expression}: An expression attribute name used in the document path is not defined; attribute name: ${token}`,
      );
    used.add(token);
    return name;
  };
  return { used, nameOf };
}

/** DynamoDB refuses names and values a request defines but its expressions do not use. */
function refuseUnused(request: Request, used: ReadonlySet<string>): void {
  const unusedNames = Object.keys(request.ExpressionAttributeNames ?? {}).filter((name) => !used.has(name));
  if (unusedNames.length > 0)
    throw invalid(`Value provided in ExpressionAttributeNames unused in expressions: keys: {${unusedNames}}`);
  const unusedValues = Object.keys(request.ExpressionAttributeValues ?? {}).filter(
    (value) => !used.has(value),
  );
  if (unusedValues.length > 0)
    throw invalid(
      `Value provided in ExpressionAttributeValues unused in expressions: keys: {${unusedValues}}`,
    );
}

/** How a write whose condition failed is counted apart: `PutItem (condition failed)`. */
export const CONDITION_FAILED_SUFFIX = ' (condition failed)';

/** What the requests since the last reset consumed: on-demand's read and write request units. */
export interface ConsumedUnits {
  read: number;
  write: number;
}

export class LocalDynamoDb {
  /** Requests served, by operation (refused ones too; a failed condition also as `<operation> (condition failed)`). */
  readonly requests = new Map<string, number>();
  /** The units those requests consumed, table and indexes (a refused request consumes none). */
  readonly consumed: ConsumedUnits = { read: 0, write: 0 };

  /** Starts the counts again (a benchmark's measurement). */
  resetCounts(): void {
    this.requests.clear();
    this.consumed.read = 0;
    this.consumed.write = 0;
  }

  private count(operation: string) {
    this.requests.set(operation, (this.requests.get(operation) ?? 0) + 1);
  }

  private readonly tables = new Map<
    string,
    { hashKey: string; items: Map<string, Item>; indexes: readonly LocalIndex[] }
  >();

  /** A table with a string partition key (the sandbox creates what the deployment would). */
  createTable(name: string, hashKey: string, indexes: readonly LocalIndex[] = []): void {
    if (!this.tables.has(name)) this.tables.set(name, { hashKey, items: new Map(), indexes });
  }

  /** The items of a table, for tests and the sandbox's checks. */
  items(name: string): Item[] {
    return [...(this.tables.get(name)?.items.values() ?? [])];
  }

  /** Drops the items `lost` picks, as a fault would (a test's lost write): how many it dropped. */
  drop(name: string, lost: (item: Item) => boolean): number {
    const items = this.tables.get(name)?.items;
    let dropped = 0;
    for (const [key, item] of items ?? []) if (lost(item) && items?.delete(key)) dropped += 1;
    return dropped;
  }

  private table(name: string | undefined) {
    const table = name ? this.tables.get(name) : undefined;
    if (!table) throw new DynamoDbError('ResourceNotFoundException', 'Requested resource not found');
    return table;
  }

  /** The key's string value; the key must hold exactly the partition key, as a non-empty string. */
  private keyOf(hashKey: string, key: Item | undefined, where: 'key' | 'item'): string {
    const value = key?.[hashKey];
    if (!value) {
      throw invalid(
        where === 'item'
          ? `One or more parameter values were invalid: Missing the key ${hashKey} in the item`
          : 'The provided key element does not match the schema',
      );
    }
    if (where === 'key' && Object.keys(key ?? {}).length !== 1)
      throw invalid('The provided key element does not match the schema');
    if (typeof value.S !== 'string' || Object.keys(value).length !== 1)
      throw invalid(
        `One or more parameter values were invalid: Type mismatch for key ${hashKey} expected: S`,
      );
    if (value.S === '')
      throw invalid(
        `One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: ${hashKey}`,
      );
    return value.S;
  }

  /** Whether `existing` meets the request's condition; ValidationException for what is not understood. */
  private meets(request: Request, existing: Item | undefined): boolean {
    const values = request.ExpressionAttributeValues ?? {};
    const { used, nameOf } = expressionNames(request, 'ConditionExpression');
    let result = true;
    if (request.ConditionExpression !== undefined) {
      const match = CONDITION.exec(request.ConditionExpression);
      if (!match)
        throw invalid(
          `Invalid ConditionExpression: the Ferry sandbox supports only a = :v, attribute_exists(a) and attribute_not_exists(a): ${request.ConditionExpression}`,
        );
      const [, fn, fnName, left, placeholder] = match;
      if (fn && fnName) {
        const present = existing?.[nameOf(fnName)] !== undefined;
        result = fn === 'attribute_exists' ? present : !present;
      } else if (left && placeholder) {
        const value = values[placeholder];
        if (!value)
          throw invalid(
            `Invalid ConditionExpression: An expression attribute value used in expression is not defined; attribute value: ${placeholder}`,
          );
        used.add(placeholder);
        const actual = existing?.[nameOf(left)];
        result = actual !== undefined && JSON.stringify(actual) === JSON.stringify(value);
      }
    }
    refuseUnused(request, used);
    return result;
  }

  /** Query on a global secondary index: the partition's items with both index keys, by the sort key. */
  private query(request: Request) {
    const table = this.table(request.TableName);
    if (request.IndexName === undefined)
      throw invalid('The Ferry sandbox serves Query on a global secondary index only (IndexName)');
    const index = table.indexes.find((candidate) => candidate.name === request.IndexName);
    if (!index) throw invalid(`The table does not have the specified index: ${request.IndexName}`);
    if (request.ConsistentRead)
      throw invalid('Consistent reads are not supported on global secondary indexes');
    if (request.Limit !== undefined && (!Number.isInteger(request.Limit) || request.Limit < 1))
      throw invalid(
        `1 validation error detected: Value '${request.Limit}' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1`,
      );
    if (request.Select === 'SPECIFIC_ATTRIBUTES')
      throw invalid(
        'The Ferry sandbox does not serve Select SPECIFIC_ATTRIBUTES (no projection expressions)',
      );
    if (request.Select !== undefined && !QUERY_SELECTS.has(request.Select))
      throw invalid(
        `1 validation error detected: Value '${request.Select}' at 'select' failed to satisfy constraint: Member must satisfy enum value set: [SPECIFIC_ATTRIBUTES, COUNT, ALL_ATTRIBUTES, ALL_PROJECTED_ATTRIBUTES]`,
      );
    if (request.ExclusiveStartKey !== undefined)
      throw invalid('The Ferry sandbox does not page a Query (ExclusiveStartKey)');
    if (request.KeyConditionExpression === undefined)
      throw invalid(
        'Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.',
      );
    const match = KEY_CONDITION.exec(request.KeyConditionExpression);
    if (!match)
      throw invalid(
        `Invalid KeyConditionExpression: the Ferry sandbox supports only k = :v [AND s op :v]: ${request.KeyConditionExpression}`,
      );
    const { used, nameOf } = expressionNames(request, 'KeyConditionExpression');
    const values = request.ExpressionAttributeValues ?? {};
    const boundOf = (placeholder: string) => {
      const value = scalarOf(values[placeholder]);
      if (value === undefined)
        throw invalid(
          `Invalid KeyConditionExpression: An expression attribute value used in expression is not defined; attribute value: ${placeholder}`,
        );
      used.add(placeholder);
      return value;
    };
    const [, left, placeholder = '', sortName, operator, sortPlaceholder] = match;
    if (nameOf(left ?? '') !== index.partitionKey)
      throw invalid(`Query condition missed key schema element: ${index.partitionKey}`);
    const partition = boundOf(placeholder);
    const sortBound = sortName && sortPlaceholder ? boundOf(sortPlaceholder) : undefined;
    if (sortName && nameOf(sortName) !== index.sortKey)
      throw invalid(`Query key condition not supported: ${request.KeyConditionExpression}`);
    refuseUnused(request, used);
    const inSort = (sort: string | number) => {
      if (sortBound === undefined) return true;
      const order = compare(sort, sortBound);
      return operator === '='
        ? order === 0
        : operator === '<'
          ? order < 0
          : operator === '<='
            ? order <= 0
            : operator === '>'
              ? order > 0
              : order >= 0;
    };
    const matching = [...table.items.values()]
      .flatMap((item) => {
        const sort = scalarOf(item[index.sortKey]);
        return scalarOf(item[index.partitionKey]) === partition && sort !== undefined && inSort(sort)
          ? [{ item, sort }]
          : [];
      })
      .sort((a, b) => compare(a.sort, b.sort) * (request.ScanIndexForward === false ? -1 : 1));
    const page = matching.slice(0, request.Limit ?? matching.length);
    // The entries read (every one a COUNT counts too), rounded up to 4 KB once; an index reads eventually.
    this.consumed.read += readUnitsOf(
      page.reduce((sum, { item }) => sum + indexEntryBytes(item), 0),
      false,
    );
    const last = page.at(-1)?.item;
    return {
      ...(request.Select === 'COUNT' ? {} : { Items: page.map(({ item }) => structuredClone(item)) }),
      Count: page.length,
      ScannedCount: page.length,
      ...(last && page.length < matching.length
        ? {
            LastEvaluatedKey: Object.fromEntries(
              [table.hashKey, index.partitionKey, index.sortKey].map((key) => [key, last[key]]),
            ),
          }
        : {}),
    };
  }

  /**
   * Scan of a table: its items in key order, a page at most `Limit` items and at most 1 MB of them
   * ("If the total size of scanned items exceeds the maximum dataset size limit of 1 MB, the scan completes
   * and results are returned to the user", with `LastEvaluatedKey` to go on from:
   * https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_Scan.html), consuming the units of
   * the items read (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html).
   * No filter, projection or parallel segments (Ferry writes none): refused rather than ignored.
   */
  private scan(request: Request) {
    const table = this.table(request.TableName);
    for (const unsupported of ['FilterExpression', 'ProjectionExpression', 'Segment', 'IndexName'] as const)
      if (request[unsupported] !== undefined)
        throw invalid(`The Ferry sandbox does not serve a Scan with ${unsupported}`);
    if (request.Limit !== undefined && (!Number.isInteger(request.Limit) || request.Limit < 1))
      throw invalid(
        `1 validation error detected: Value '${request.Limit}' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1`,
      );
    // DynamoDB leaves a Scan's order unspecified; the sandbox pages in one defined order (the keys sorted,
    // unique strings) so a page resumes strictly after its start key, whether or not that item still exists.
    const keys = [...table.items.keys()].sort();
    const startKey = request.ExclusiveStartKey
      ? this.keyOf(table.hashKey, request.ExclusiveStartKey, 'key')
      : undefined;
    const start = startKey === undefined ? 0 : keys.filter((key) => key <= startKey).length;
    const page: Item[] = [];
    let bytes = 0;
    for (const key of keys.slice(start)) {
      const item = table.items.get(key);
      if (!item) continue;
      if (page.length === (request.Limit ?? Number.POSITIVE_INFINITY) || bytes >= SCAN_PAGE_BYTES) break;
      page.push(item);
      bytes += itemBytes(item);
    }
    this.consumed.read += readUnitsOf(bytes, request.ConsistentRead === true);
    const last = page.at(-1);
    const more = start + page.length < keys.length;
    return {
      Items: page.map((item) => structuredClone(item)),
      Count: page.length,
      ScannedCount: page.length,
      ...(last && more ? { LastEvaluatedKey: { [table.hashKey]: last[table.hashKey] } } : {}),
    };
  }

  /** One request; the answer's JSON, or a DynamoDbError. Counted, with the units it consumed. */
  handle(operation: string, request: Request): unknown {
    this.count(operation);
    switch (operation) {
      case 'PutItem': {
        const table = this.table(request.TableName);
        const item = request.Item ?? {};
        const key = this.keyOf(table.hashKey, item, 'item');
        if (itemBytes(item) > MAX_ITEM_BYTES)
          throw invalid('Item size has exceeded the maximum allowed size');
        const existing = table.items.get(key);
        const met = this.meets(request, existing);
        this.consumed.write += writeUnits(existing, item, table.indexes, met);
        if (!met) throw this.conditionFailed(operation);
        table.items.set(key, structuredClone(item));
        return {};
      }
      case 'GetItem': {
        const table = this.table(request.TableName);
        const item = table.items.get(this.keyOf(table.hashKey, request.Key, 'key'));
        this.consumed.read += readUnitsOf(item ? itemBytes(item) : 0, request.ConsistentRead === true);
        return item ? { Item: structuredClone(item) } : {};
      }
      case 'DeleteItem': {
        const table = this.table(request.TableName);
        const key = this.keyOf(table.hashKey, request.Key, 'key');
        const existing = table.items.get(key);
        const met = this.meets(request, existing);
        this.consumed.write += writeUnits(existing, undefined, table.indexes, met);
        if (!met) throw this.conditionFailed(operation);
        table.items.delete(key);
        return {};
      }
      case 'Query':
        return this.query(request);
      case 'Scan':
        return this.scan(request);
      default:
        throw new DynamoDbError(
          'ValidationException',
          `The Ferry sandbox does not serve dynamodb:${operation}`,
        );
    }
  }

  /** The refusal of a write whose condition failed, counted apart (it still consumed its units). */
  private conditionFailed(operation: string) {
    this.count(`${operation}${CONDITION_FAILED_SUFFIX}`);
    return new DynamoDbError('ConditionalCheckFailedException', 'The conditional request failed');
  }

  async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { operation, input } = await readJsonRequest(req);
    try {
      sendJson(res, 200, this.handle(operation, input as Request));
    } catch (error) {
      if (error instanceof DynamoDbError) return sendJsonError(res, 400, error.type, error.message);
      throw error;
    }
  }
}
