/**
 * What a DynamoDB request consumes, in the read and write request units on-demand bills (the sandbox counts
 * them for the benchmarks: local/dynamodb.ts). The rules, from the Developer Guide:
 * - an item's size is the sum of its attribute names' and values' lengths: a string its UTF-8 bytes, a
 *   number about 1 byte per two significant digits plus 1, a binary its raw bytes, a Boolean or null 1, a
 *   list or map 3 plus its elements, a set the sum of its members
 *   (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html);
 * - a write consumes 1 unit per 1 KB of the item, rounded up: PutItem the larger of the old and the new item,
 *   DeleteItem the deleted item; a conditional write whose condition fails still consumes units: 1 for an
 *   item that did not exist, else by the size of the item
 *   (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html);
 * - a write that puts, changes or removes an item's entry in a global secondary index consumes units there
 *   too: 1 write to put a new entry or to delete one, 2 when an index key changes, 1 when only projected
 *   values change, by the entry's size (the table's key, the index keys, the projected attributes and 100 bytes
 *   of overhead) (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html#GSI.ThroughputConsiderations.Writes,
 *   #GSI.StorageConsiderations);
 * - a read consumes 1 unit per 4 KB, rounded up, when strongly consistent and half that when eventually
 *   consistent; a GetItem of a missing item still 1 (or 0.5); a Query the total size of the items (index
 *   entries, on an index) it reads, rounded up to 4 KB once, a `Select: COUNT` as much as returning them
 *   (same pages).
 */

type AttributeValue = Record<string, unknown>;
type Item = Record<string, AttributeValue>;

const utf8 = (text: string) => Buffer.byteLength(text, 'utf8');

/** A number's size: 1 byte per two significant digits (leading and trailing zeros trimmed), plus 1. */
function numberBytes(text: string): number {
  const digits = text
    .replace(/^[-+]/, '')
    .replace(/[eE].*$/, '')
    .replace('.', '')
    .replace(/^0+/, '')
    .replace(/0+$/, '');
  return Math.ceil(Math.max(digits.length, 1) / 2) + 1;
}

function valueBytes(value: AttributeValue): number {
  const [type, content] = Object.entries(value)[0] ?? [];
  switch (type) {
    case 'S':
      return utf8(String(content));
    case 'N':
      return numberBytes(String(content));
    case 'B':
      return Buffer.from(String(content), 'base64').length;
    case 'BOOL':
    case 'NULL':
      return 1;
    case 'SS':
      return (content as string[]).reduce((sum, member) => sum + utf8(member), 0);
    case 'NS':
      return (content as string[]).reduce((sum, member) => sum + numberBytes(member), 0);
    case 'BS':
      return (content as string[]).reduce((sum, member) => sum + Buffer.from(member, 'base64').length, 0);
    case 'L':
      return 3 + (content as AttributeValue[]).reduce((sum, element) => sum + valueBytes(element), 0);
    case 'M':
      return 3 + itemBytes(content as Item);
    default:
      return 0;
  }
}

/** An item's size as DynamoDB counts it (the 400 KB limit, and the units a request consumes). */
export function itemBytes(item: Item): number {
  return Object.entries(item).reduce((sum, [name, value]) => sum + utf8(name) + valueBytes(value), 0);
}

/** The index an item may have an entry in: its keys (every attribute projected). */
export interface IndexKeys {
  partitionKey: string;
  sortKey: string;
}

/** Whether the item has an entry in a (sparse) index: only items that carry both its keys. */
export const inIndex = (item: Item | undefined, index: IndexKeys): item is Item =>
  item?.[index.partitionKey] !== undefined && item[index.sortKey] !== undefined;

/** An index entry's size: the item (every attribute projected, keys included) plus 100 bytes of overhead. */
export const indexEntryBytes = (item: Item) => itemBytes(item) + 100;

const KB = 1024;
const writeUnitsOf = (bytes: number) => Math.max(1, Math.ceil(bytes / KB));

/** Read units for `bytes` read at once: 1 per 4 KB (at least 4 KB), halved when eventually consistent. */
export const readUnitsOf = (bytes: number, consistent: boolean) =>
  Math.max(1, Math.ceil(bytes / (4 * KB))) * (consistent ? 1 : 0.5);

/** The write units of an index entry going from `before` to `after` (either may be absent). */
function indexWriteUnits(before: Item | undefined, after: Item | undefined, index: IndexKeys): number {
  const was = inIndex(before, index) ? before : undefined;
  const will = inIndex(after, index) ? after : undefined;
  if (!was && !will) return 0;
  if (!was && will) return writeUnitsOf(indexEntryBytes(will));
  if (was && !will) return writeUnitsOf(indexEntryBytes(was));
  if (!was || !will) return 0;
  const keyChanged = [index.partitionKey, index.sortKey].some(
    (key) => JSON.stringify(was[key]) !== JSON.stringify(will[key]),
  );
  return keyChanged
    ? writeUnitsOf(indexEntryBytes(was)) + writeUnitsOf(indexEntryBytes(will))
    : writeUnitsOf(indexEntryBytes(will));
}

/**
 * The write units of a PutItem (`after` the new item) or DeleteItem (`after` undefined) on an item that was
 * `before`: the table's, plus each index's when the write was made. A failed condition writes nothing but
 * the table's units.
 */
export function writeUnits(
  before: Item | undefined,
  after: Item | undefined,
  indexes: readonly IndexKeys[],
  written: boolean,
): number {
  if (!written) return before ? writeUnitsOf(itemBytes(after ?? before)) : 1;
  const table = writeUnitsOf(Math.max(before ? itemBytes(before) : 0, after ? itemBytes(after) : 0));
  return indexes.reduce((sum, index) => sum + indexWriteUnits(before, after, index), table);
}
