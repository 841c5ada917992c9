import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import type { InventoryLocation } from '#rules/schema';
import { InventoryFormatError, InventoryManifestInvalidError, InventoryNotFoundError } from './errors.ts';
import { inventoryColumns } from './rows.ts';

/**
 * An S3 Inventory report's manifest (https://docs.aws.amazon.com/AmazonS3/latest/userguide/storage-inventory-location.html):
 * which bucket it lists, the format and the columns of its data files, and the files themselves.
 */
export const InventoryManifestSchema = z.object({
  sourceBucket: z.string(),
  /** The inventory's destination bucket, as an ARN (`arn:aws:s3:::NAME`). */
  destinationBucket: z.string(),
  version: z.string(),
  /** Milliseconds since the epoch, as a string: when S3 began scanning the bucket. */
  creationTimestamp: z.string(),
  fileFormat: z.string(),
  fileSchema: z.string(),
  files: z.array(z.object({ key: z.string(), size: z.number(), MD5checksum: z.string() })),
});
export type InventoryManifest = z.infer<typeof InventoryManifestSchema>;

/** Where S3 writes a bucket's reports: `prefix/SOURCE-BUCKET/CONFIG-ID/` (the prefix joined with a `/`). */
export function reportFolderOf(location: InventoryLocation, sourceBucket: string): string {
  const prefix = location.prefix.replace(/\/+$/, '');
  return `${prefix ? `${prefix}/` : ''}${sourceBucket}/${location.configId}/`;
}

/** A report's folder name, `YYYY-MM-DDTHH-MMZ` (the time S3 began the scan). */
const REPORT_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}Z$/;

/**
 * The key of the newest report's manifest of `sourceBucket` at `location`: the report folders are listed
 * with a delimiter (`data/` and `hive/` sit beside them) and the latest timestamp wins, since the names sort
 * as their times do.
 */
export async function latestManifestKey(
  client: S3Client,
  location: InventoryLocation,
  sourceBucket: string,
): Promise<string> {
  const folder = reportFolderOf(location, sourceBucket);
  let latest: string | undefined;
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({
        Bucket: location.bucket,
        Prefix: folder,
        Delimiter: '/',
        ...(token ? { ContinuationToken: token } : {}),
      }),
    );
    for (const { Prefix } of page.CommonPrefixes ?? []) {
      const name = Prefix?.slice(folder.length, -1) ?? '';
      if (REPORT_TIMESTAMP.test(name) && (latest === undefined || name > latest)) latest = name;
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  if (latest === undefined) throw new InventoryNotFoundError(sourceBucket, location.bucket, folder);
  return `${folder}${latest}/manifest.json`;
}

/** Reads and checks a manifest: a CSV report of `sourceBucket` with every column Ferry needs. */
export async function readManifest(
  client: S3Client,
  bucket: string,
  key: string,
  sourceBucket: string,
): Promise<InventoryManifest> {
  const answer = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const text = (await answer.Body?.transformToString('utf8')) ?? '';
  return checkManifest(text, `s3://${bucket}/${key}`, sourceBucket);
}

/** Pure: a manifest's text, parsed and checked. */
export function checkManifest(text: string, where: string, sourceBucket: string): InventoryManifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InventoryManifestInvalidError(where, 'it is not JSON', { cause: error });
  }
  const parsed = InventoryManifestSchema.safeParse(json);
  if (!parsed.success) throw new InventoryManifestInvalidError(where, z.prettifyError(parsed.error));
  const manifest = parsed.data;
  if (manifest.sourceBucket !== sourceBucket)
    throw new InventoryManifestInvalidError(
      where,
      `it lists bucket ${manifest.sourceBucket}, not ${sourceBucket}`,
    );
  // Ferry reads CSV; ORC and Parquet reports are refused by name rather than misread.
  if (manifest.fileFormat !== 'CSV') throw new InventoryFormatError(where, manifest.fileFormat);
  // The columns the join cannot do without (InventoryFieldMissingError otherwise), checked before any file is read.
  inventoryColumns(manifest.fileSchema);
  return manifest;
}

/** The bucket name of a manifest's `destinationBucket` ARN. */
export const bucketOfArn = (arn: string): string => arn.replace(/^arn:[^:]+:s3:::/, '');
