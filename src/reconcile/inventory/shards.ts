import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type DataFileItem, type Run, shardPrefix } from './contract.ts';
import { type InventoryRow, InventoryRowSchema } from './rows.ts';

/**
 * The shard objects the partition map writes and the join map reads, in the run's work folder: gzip'd JSON
 * lines of inventory rows (already decoded), one object per data file, side and shard. A retried partition
 * child writes the same keys again, so a retry never doubles a row.
 */

/** The shard object of one data file: named by the file's key, so it is the same on every attempt. */
export const shardObjectKey = (run: Run, item: DataFileItem, shard: number): string =>
  `${shardPrefix(run, item.rule, item.side, shard)}${createHash('sha256').update(`${item.bucket}/${item.key}`).digest('hex').slice(0, 32)}.jsonl.gz`;

export async function writeShard(client: S3Client, run: Run, key: string, rows: readonly InventoryRow[]) {
  const body = gzipSync(rows.map((row) => JSON.stringify(row)).join('\n'));
  await client.send(
    new PutObjectCommand({
      Bucket: run.work.bucket,
      Key: key,
      Body: body,
      ContentType: 'application/x-ndjson',
    }),
  );
}

/** Every row of one side of one shard: the shard objects under its prefix, read one after another. */
export async function readShard(
  client: S3Client,
  run: Run,
  rule: string,
  side: DataFileItem['side'],
  shard: number,
): Promise<InventoryRow[]> {
  const prefix = shardPrefix(run, rule, side, shard);
  const rows: InventoryRow[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({
        Bucket: run.work.bucket,
        Prefix: prefix,
        ...(token ? { ContinuationToken: token } : {}),
      }),
    );
    for (const { Key } of page.Contents ?? []) {
      if (!Key) continue;
      const answer = await client.send(new GetObjectCommand({ Bucket: run.work.bucket, Key }));
      const text = gunzipSync((await answer.Body?.transformToByteArray()) ?? new Uint8Array()).toString(
        'utf8',
      );
      for (const line of text.split('\n')) if (line) rows.push(InventoryRowSchema.parse(JSON.parse(line)));
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return rows;
}
