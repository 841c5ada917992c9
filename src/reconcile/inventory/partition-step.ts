import { gunzipSync } from 'node:zlib';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { DataFileItem, Run } from './contract.ts';
import { type InventoryDeps, inventoryClient, ruleNamed, workClient } from './deps.ts';
import { partitionRows } from './partition.ts';
import { parseInventoryCsv } from './rows.ts';
import { shardObjectKey, writeShard } from './shards.ts';

/**
 * A child of the partition map: reads each data file of its batch (gzip'd CSV, as S3 Inventory writes it),
 * keeps the rows of the file's side of its rule, and writes them into the run's shard objects by the hash
 * of their source key (partition.ts). Returns how many rows it read and kept.
 */
export async function partitionStep(
  items: readonly DataFileItem[],
  run: Run,
  deps: InventoryDeps,
): Promise<{ files: number; rows: number; kept: number }> {
  let rows = 0;
  let kept = 0;
  const work = workClient(deps);
  for (const item of items) {
    const rule = ruleNamed(deps, item.rule);
    const answer = await inventoryClient(deps, rule, item.side).send(
      new GetObjectCommand({ Bucket: item.bucket, Key: item.key }),
    );
    const bytes = (await answer.Body?.transformToByteArray()) ?? new Uint8Array();
    const parsed = parseInventoryCsv(gunzipSync(bytes).toString('utf8'), item.fileSchema);
    rows += parsed.length;
    for (const [shard, group] of partitionRows(rule, item.side, parsed, run.shards)) {
      kept += group.length;
      await writeShard(work, run, shardObjectKey(run, item, shard), group);
    }
  }
  return { files: items.length, rows, kept };
}
