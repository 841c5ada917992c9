import type { IncomingMessage, ServerResponse } from 'node:http';
import { readJsonRequest, sendJson, sendJsonError } from './aws-json.ts';

/**
 * DynamoDB for the sandbox: the JSON 1.0 protocol (`X-Amz-Target: DynamoDB_20120810.Operation`), the
 * operations Ferry uses (PutItem, GetItem, DeleteItem) on tables with a string partition key, and the subset
 * of condition expressions Ferry writes (`a = :v`, `attribute_exists(a)`, `attribute_not_exists(a)`, names as
 * `#n`). Anything outside that subset is refused as DynamoDB refuses a malformed request: a
 * ValidationException, never a silent success. A failed condition is a ConditionalCheckFailedException.
 * Errors and limits: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html,
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html (400 KB per item).
 * TTL is not emulated by deleting: like DynamoDB, which deletes expired items "typically within two days",
 * the sandbox keeps them, and readers must ignore expired items themselves.
 */

type AttributeValue = Record<string, unknown>;
type Item = Record<string, AttributeValue>;

const MAX_ITEM_BYTES = 400 * 1024;

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
  Item?: Item;
  Key?: Item;
  ConditionExpression?: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: Record<string, AttributeValue>;
}

/** Item size as DynamoDB counts it, near enough: attribute names plus their values' JSON. */
const itemBytes = (item: Item) =>
  Object.entries(item).reduce((sum, [name, value]) => sum + name.length + JSON.stringify(value).length, 0);

const CONDITION =
  /^\s*(?:(attribute_exists|attribute_not_exists)\(\s*([#\w]+)\s*\)|([#\w]+)\s*=\s*(:\w+))\s*$/;

export class LocalDynamoDb {
  private readonly tables = new Map<string, { hashKey: string; items: Map<string, Item> }>();

  /** A table with a string partition key (the sandbox creates what the deployment would). */
  createTable(name: string, hashKey: string): void {
    if (!this.tables.has(name)) this.tables.set(name, { hashKey, items: new Map() });
  }

  /** The items of a table, for tests and the sandbox's checks. */
  items(name: string): Item[] {
    return [...(this.tables.get(name)?.items.values() ?? [])];
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
    const names = request.ExpressionAttributeNames ?? {};
    const values = request.ExpressionAttributeValues ?? {};
    const used = new Set<string>();
    const nameOf = (token: string) => {
      if (!token.startsWith('#')) return token;
      const name = names[token];
      if (!name)
        throw invalid(
          `Invalid ConditionExpression: An expression attribute name used in the document path is not defined; attribute name: ${token}`,
        );
      used.add(token);
      return name;
    };
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
    const unusedNames = Object.keys(names).filter((name) => !used.has(name));
    if (unusedNames.length > 0)
      throw invalid(
        `Value provided in ExpressionAttributeNames unused in expressions: keys: {${unusedNames}}`,
      );
    const unusedValues = Object.keys(values).filter((value) => !used.has(value));
    if (unusedValues.length > 0)
      throw invalid(
        `Value provided in ExpressionAttributeValues unused in expressions: keys: {${unusedValues}}`,
      );
    return result;
  }

  /** One request; the answer's JSON, or a DynamoDbError. */
  handle(operation: string, request: Request): unknown {
    switch (operation) {
      case 'PutItem': {
        const table = this.table(request.TableName);
        const item = request.Item ?? {};
        const key = this.keyOf(table.hashKey, item, 'item');
        if (itemBytes(item) > MAX_ITEM_BYTES)
          throw invalid('Item size has exceeded the maximum allowed size');
        if (!this.meets(request, table.items.get(key)))
          throw new DynamoDbError('ConditionalCheckFailedException', 'The conditional request failed');
        table.items.set(key, structuredClone(item));
        return {};
      }
      case 'GetItem': {
        const table = this.table(request.TableName);
        const item = table.items.get(this.keyOf(table.hashKey, request.Key, 'key'));
        return item ? { Item: structuredClone(item) } : {};
      }
      case 'DeleteItem': {
        const table = this.table(request.TableName);
        const key = this.keyOf(table.hashKey, request.Key, 'key');
        if (!this.meets(request, table.items.get(key)))
          throw new DynamoDbError('ConditionalCheckFailedException', 'The conditional request failed');
        table.items.delete(key);
        return {};
      }
      default:
        throw new DynamoDbError(
          'ValidationException',
          `The Ferry sandbox does not serve dynamodb:${operation}`,
        );
    }
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
