import { createHash, randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { encodeEventKey } from '#objects/keys';
import { FERRY_INVENTORY_FIELDS } from '#reconcile/inventory/configuration';
import type { StoredInventoryConfiguration } from './inventory-configuration.ts';
import { byteOrder, type S3Store } from './store.ts';

/**
 * S3 Inventory for the sandbox, on demand (S3 publishes daily or weekly; a test or the demo asks for a report
 * when it wants one). The report is what S3 documents
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/storage-inventory.html,
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/storage-inventory-location.html):
 * - data files `PREFIX/SOURCE-BUCKET/CONFIG-ID/data/UUID.csv.gz`: gzip'd CSV without a header, every field
 *   quoted, the key URL-encoded (a space as `+`), the ETag unquoted, dates in ISO 8601, EncryptionStatus
 *   `NOT-SSE`, `SSE-S3`, `SSE-KMS` or `DSSE-KMS`; with all versions, VersionId, IsLatest and IsDeleteMarker
 *   (a delete marker has no size and no ETag);
 * - `PREFIX/SOURCE-BUCKET/CONFIG-ID/YYYY-MM-DDTHH-MMZ/manifest.json` (sourceBucket, destinationBucket as an
 *   ARN, version, creationTimestamp in milliseconds, fileFormat, fileSchema, files with key, size and the MD5
 *   of each file) and `manifest.checksum` (the MD5 of manifest.json).
 * S3 documents no order for the rows; the sandbox writes each file's rows in reverse key order, so nothing
 * that reads them can come to rely on sorted input.
 */

export interface InventoryRequest {
  /** Where S3 would publish: the destination bucket, its prefix, the configuration id. */
  destination: { bucket: string; prefix: string };
  configId: string;
  /** IncludedObjectVersions: the current versions only, or all of them. */
  versions?: 'Current' | 'All';
  /** The optional fields the configuration lists (default: what Ferry needs). */
  fields?: readonly string[];
  /** Rows per data file (S3 splits large reports into several files). */
  rowsPerFile?: number;
  /** The configuration's Filter Prefix: only keys that begin with it are listed. */
  filterPrefix?: string;
}

/** A report the sandbox cannot publish as the bucket's stored configuration asks. */
export class UnpublishableInventoryError extends Error {
  constructor(sourceBucket: string, configId: string, reason: string) {
    super(`the sandbox does not publish inventory ${configId} of bucket ${sourceBucket}: ${reason}`);
    this.name = 'UnpublishableInventoryError';
  }
}

/**
 * The request as the bucket's stored configuration of that id says it (inventory-configuration.ts), where
 * there is one: its destination bucket and prefix, versions, optional fields and filter. A disabled
 * configuration publishes nothing, and the sandbox writes CSV only (ORC and Parquet are refused by name).
 */
export function requestOfConfiguration(
  sourceBucket: string,
  request: InventoryRequest,
  configuration: StoredInventoryConfiguration | undefined,
): InventoryRequest {
  if (!configuration) return request;
  if (!configuration.isEnabled)
    throw new UnpublishableInventoryError(sourceBucket, configuration.id, 'the configuration is disabled');
  if (configuration.destination.format !== 'CSV')
    throw new UnpublishableInventoryError(
      sourceBucket,
      configuration.id,
      `the sandbox writes CSV reports, not ${configuration.destination.format}`,
    );
  return {
    ...request,
    destination: {
      bucket: configuration.destination.bucketArn.replace(/^arn:[^:]+:s3:::/, ''),
      prefix: configuration.destination.prefix ?? '',
    },
    versions: configuration.includedObjectVersions,
    fields: configuration.optionalFields,
    ...(configuration.filterPrefix !== undefined ? { filterPrefix: configuration.filterPrefix } : {}),
  };
}

const ENCRYPTION_STATUS: Record<string, string> = {
  AES256: 'SSE-S3',
  'aws:kms': 'SSE-KMS',
  'aws:kms:dsse': 'DSSE-KMS',
};

/** The fields of one version, by inventory column. */
type Row = Record<string, string>;

function rowsOf(store: S3Store, bucketName: string, versions: 'Current' | 'All', filterPrefix = ''): Row[] {
  const bucket = store.bucket(bucketName);
  const rows: Row[] = [];
  for (const key of store.sortedKeys(bucket)) {
    if (!key.startsWith(filterPrefix)) continue;
    const all = store.versionsOf(bucket, key);
    for (const [index, version] of all.entries()) {
      if (versions === 'Current' && (index > 0 || version.kind === 'marker')) break;
      const object = version.kind === 'object' ? version : undefined;
      rows.push({
        Bucket: bucketName,
        Key: encodeEventKey(key),
        VersionId: version.versionId === 'null' ? '' : version.versionId,
        IsLatest: String(index === 0),
        IsDeleteMarker: String(version.kind === 'marker'),
        Size: object ? String(object.size) : '',
        LastModifiedDate: version.lastModified.toISOString(),
        ETag: object ? object.etag.replaceAll('"', '') : '',
        StorageClass: object?.storageClass ?? '',
        EncryptionStatus: object ? (ENCRYPTION_STATUS[object.serverSideEncryption ?? ''] ?? 'NOT-SSE') : '',
      });
    }
  }
  return rows;
}

const quoted = (value: string) => `"${value.replaceAll('"', '""')}"`;

/** `YYYY-MM-DDTHH-MMZ`: the report folder's name, from the time the scan began. */
const folderTime = (at: Date) => `${at.toISOString().slice(0, 16).replace(':', '-')}Z`;

export interface InventoryReport {
  /** Each object S3 would write into the destination bucket, in the order it would write them. */
  objects: { key: string; body: Buffer | string }[];
  /** The bucket S3 writes them into: the configuration's destination. */
  bucket: string;
  manifestKey: string;
  rows: number;
}

/** The report of `sourceBucket` as S3 Inventory would publish it now. */
export function inventoryReport(
  store: S3Store,
  sourceBucket: string,
  request: InventoryRequest,
  now: Date,
): InventoryReport {
  const versions = request.versions ?? 'Current';
  const columns = [
    'Bucket',
    'Key',
    ...(versions === 'All' ? ['VersionId', 'IsLatest', 'IsDeleteMarker'] : []),
    ...(request.fields ?? FERRY_INVENTORY_FIELDS),
  ];
  const rows = rowsOf(store, sourceBucket, versions, request.filterPrefix);
  const prefix = request.destination.prefix.replace(/\/+$/, '');
  const folder = `${prefix ? `${prefix}/` : ''}${sourceBucket}/${request.configId}/`;
  const perFile = request.rowsPerFile ?? 1000;
  const objects: InventoryReport['objects'] = [];
  const files: { key: string; size: number; MD5checksum: string }[] = [];
  for (let start = 0; start < rows.length; start += perFile) {
    const slice = rows.slice(start, start + perFile).sort((a, b) => byteOrder(b.Key ?? '', a.Key ?? ''));
    const text = slice.map((row) => columns.map((column) => quoted(row[column] ?? '')).join(',')).join('\n');
    const body = gzipSync(`${text}\n`);
    const key = `${folder}data/${randomUUID()}.csv.gz`;
    objects.push({ key, body });
    files.push({ key, size: body.length, MD5checksum: createHash('md5').update(body).digest('hex') });
  }
  const manifest = JSON.stringify({
    sourceBucket,
    destinationBucket: `arn:aws:s3:::${request.destination.bucket}`,
    version: '2016-11-30',
    creationTimestamp: String(now.getTime()),
    fileFormat: 'CSV',
    fileSchema: columns.join(', '),
    files,
  });
  const manifestKey = `${folder}${folderTime(now)}/manifest.json`;
  objects.push({ key: manifestKey, body: manifest });
  objects.push({
    key: `${folder}${folderTime(now)}/manifest.checksum`,
    body: createHash('md5').update(manifest).digest('hex'),
  });
  return { objects, bucket: request.destination.bucket, manifestKey, rows: rows.length };
}
