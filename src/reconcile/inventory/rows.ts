import { z } from 'zod';
import { MalformedEventKeyError } from '#objects/errors';
import { decodeEventKey } from '#objects/keys';
import { InventoryFieldMissingError, MalformedInventoryCsvError } from './errors.ts';

/**
 * One row of an S3 Inventory report in CSV, as the join reads it.
 *
 * The format (https://docs.aws.amazon.com/AmazonS3/latest/userguide/storage-inventory.html, "Amazon S3
 * Inventory list"; https://docs.aws.amazon.com/AmazonS3/latest/userguide/storage-inventory-location.html,
 * "Inventory manifest"):
 * - a CSV file has no header: the columns are those of the manifest's `fileSchema`
 *   (`"Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, LastModifiedDate, ETag, …"`), in that order;
 * - every field is quoted (`"…"`; a quote inside one is doubled, as in RFC 4180);
 * - the key is URL-encoded, a space as `+` (as in S3 event keys: decodeEventKey);
 * - `VersionId`, `IsLatest` and `IsDeleteMarker` are there only when the configuration lists all versions
 *   (IncludedObjectVersions `All`, https://docs.aws.amazon.com/AmazonS3/latest/API/API_InventoryConfiguration.html);
 *   a delete marker has no size and no ETag;
 * - the ETag is not quoted (ListObjectsV2 and HeadObject quote it: compare with `unquote`);
 * - `EncryptionStatus` is `NOT-SSE`, `SSE-S3`, `SSE-C`, `SSE-KMS` or `DSSE-KMS`.
 */

export const ENCRYPTION_STATUSES = ['NOT-SSE', 'SSE-S3', 'SSE-C', 'SSE-KMS', 'DSSE-KMS'] as const;

export const InventoryRowSchema = z.object({
  bucket: z.string().min(1),
  /** Decoded: the object's key as S3 APIs take it. */
  key: z.string(),
  /** Absent for a current-versions-only inventory, and for an object written before versioning (`null`). */
  versionId: z.string().optional(),
  isLatest: z.boolean().optional(),
  isDeleteMarker: z.boolean().optional(),
  /** Bytes; 0 for a delete marker (which has none). */
  size: z.number().int().nonnegative(),
  /** ISO 8601 in UTC as `Date#toISOString` writes it, so two of them compare as strings. */
  lastModified: z.iso.datetime(),
  /** Unquoted, as the inventory writes it; '' for a delete marker. */
  eTag: z.string(),
  storageClass: z.string().optional(),
  /** Absent when the inventory was configured without EncryptionStatus. */
  encryptionStatus: z.enum(ENCRYPTION_STATUSES).optional(),
});
export type InventoryRow = z.infer<typeof InventoryRowSchema>;

/** The manifest fields the join cannot do without. */
export const REQUIRED_INVENTORY_FIELDS = ['Bucket', 'Key', 'Size', 'LastModifiedDate', 'ETag'] as const;

/** The columns of a fileSchema (`"Bucket, Key, Size"`), checked for those the join needs. */
export function inventoryColumns(fileSchema: string): string[] {
  const columns = fileSchema.split(',').map((column) => column.trim());
  const missing = REQUIRED_INVENTORY_FIELDS.filter((field) => !columns.includes(field));
  if (missing.length > 0) throw new InventoryFieldMissingError(missing, fileSchema);
  return columns;
}

/**
 * The fields of one CSV line: quoted (`"a""b"` is `a"b`) or, tolerated, bare. Written by hand rather than
 * with a CSV library: inventory lines are one record each (an encoded key holds no line break), and this
 * loop is the benchmark's hot path (bench/inventory.ts).
 */
function fieldsOf(line: string, lineNumber: number): string[] {
  const fields: string[] = [];
  let at = 0;
  for (;;) {
    if (line.charCodeAt(at) === 34 /* " */) {
      let value = '';
      let from = at + 1;
      for (;;) {
        const quote = line.indexOf('"', from);
        if (quote < 0) throw new MalformedInventoryCsvError(lineNumber, 'a quoted field is not closed');
        value += line.slice(from, quote);
        if (line.charCodeAt(quote + 1) === 34) {
          value += '"';
          from = quote + 2;
          continue;
        }
        at = quote + 1;
        break;
      }
      fields.push(value);
    } else {
      const comma = line.indexOf(',', at);
      const end = comma < 0 ? line.length : comma;
      fields.push(line.slice(at, end));
      at = end;
    }
    if (at === line.length) return fields;
    if (line.charCodeAt(at) !== 44 /* , */)
      throw new MalformedInventoryCsvError(lineNumber, `expected a comma after field ${fields.length}`);
    at += 1;
  }
}

const booleanOf = (value: string | undefined, field: string, lineNumber: number): boolean | undefined => {
  if (value === undefined || value === '') return undefined;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new MalformedInventoryCsvError(lineNumber, `${field} is "${value}", not true or false`);
};

/** Parses the text of one (decompressed) inventory CSV file whose columns are the manifest's `fileSchema`. */
export function parseInventoryCsv(text: string, fileSchema: string): InventoryRow[] {
  const columns = inventoryColumns(fileSchema);
  const at = (name: string) => columns.indexOf(name);
  const index = {
    bucket: at('Bucket'),
    key: at('Key'),
    versionId: at('VersionId'),
    isLatest: at('IsLatest'),
    isDeleteMarker: at('IsDeleteMarker'),
    size: at('Size'),
    lastModified: at('LastModifiedDate'),
    eTag: at('ETag'),
    storageClass: at('StorageClass'),
    encryptionStatus: at('EncryptionStatus'),
  };
  const rows: InventoryRow[] = [];
  let start = 0;
  let lineNumber = 0;
  while (start < text.length) {
    const newline = text.indexOf('\n', start);
    const end = newline < 0 ? text.length : newline;
    let line = text.slice(start, end);
    start = end + 1;
    lineNumber += 1;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line === '') continue;
    const fields = fieldsOf(line, lineNumber);
    if (fields.length !== columns.length)
      throw new MalformedInventoryCsvError(
        lineNumber,
        `${fields.length} fields where the fileSchema has ${columns.length}`,
      );
    rows.push(rowOf(fields, index, lineNumber));
  }
  return rows;
}

type Columns = Record<
  | 'bucket'
  | 'key'
  | 'versionId'
  | 'isLatest'
  | 'isDeleteMarker'
  | 'size'
  | 'lastModified'
  | 'eTag'
  | 'storageClass'
  | 'encryptionStatus',
  number
>;

function rowOf(fields: string[], index: Columns, lineNumber: number): InventoryRow {
  const field = (position: number): string | undefined =>
    position < 0 ? undefined : (fields[position] as string);
  const isDeleteMarker = booleanOf(field(index.isDeleteMarker), 'IsDeleteMarker', lineNumber);
  const sizeText = field(index.size) ?? '';
  const eTag = field(index.eTag) ?? '';
  // A delete marker is the only row with no size and no ETag.
  if (!isDeleteMarker && (sizeText === '' || eTag === ''))
    throw new MalformedInventoryCsvError(lineNumber, 'an object row needs a Size and an ETag');
  const size = sizeText === '' ? 0 : Number(sizeText);
  const modified = new Date(field(index.lastModified) ?? '');
  if (Number.isNaN(modified.getTime()))
    throw new MalformedInventoryCsvError(
      lineNumber,
      `LastModifiedDate "${field(index.lastModified)}" is not a date`,
    );
  let key: string;
  try {
    key = decodeEventKey(field(index.key) ?? '');
  } catch (error) {
    if (!(error instanceof MalformedEventKeyError)) throw error;
    throw new MalformedInventoryCsvError(lineNumber, `Key "${field(index.key)}" is not URL-encoded`);
  }
  const versionId = field(index.versionId);
  const storageClass = field(index.storageClass);
  const encryptionStatus = field(index.encryptionStatus);
  const parsed = InventoryRowSchema.safeParse({
    bucket: field(index.bucket),
    key,
    ...(versionId ? { versionId } : {}),
    ...optional('isLatest', booleanOf(field(index.isLatest), 'IsLatest', lineNumber)),
    ...optional('isDeleteMarker', isDeleteMarker),
    size,
    lastModified: modified.toISOString(),
    eTag,
    ...(storageClass ? { storageClass } : {}),
    ...(encryptionStatus ? { encryptionStatus } : {}),
  });
  if (!parsed.success)
    throw new MalformedInventoryCsvError(
      lineNumber,
      parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '),
    );
  return parsed.data;
}

const optional = <Name extends string>(name: Name, value: boolean | undefined) =>
  value === undefined ? {} : ({ [name]: value } as Record<Name, boolean>);
