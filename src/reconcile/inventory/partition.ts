import type { ObjectRule } from '#rules/schema';
import { sourceKeyOf } from '../orphans.ts';
import type { DataFileItem } from './contract.ts';
import { partitionOf } from './join.ts';
import type { InventoryRow } from './rows.ts';

/**
 * How the inventory join is made correct without loading a whole inventory into one Lambda: S3 documents
 * no order for an inventory's rows, within a data file or across them, so Ferry relies on none. A first map
 * hashes every row of every data file (source and destinations) into `shards` buckets by the SOURCE key it
 * stands for (a replica row: its key mapped back through the destination's keyPrefix, `sourceKeyOf`), and
 * writes one shard object per data file, side and shard. A source row and the rows of its replicas then
 * always land in the same shard, at every destination at once (the keyPrefix mapping is one-to-one in the
 * rule's key space, so hashing the source key partitions each destination's key space as hashing the
 * replica key would), and the second map joins shard i of the source with shard i of every destination:
 * each child reads one bounded slice, and a source missing at two destinations is sent once.
 */

/**
 * The rows of one data file that belong to one side of a rule, grouped by shard: source rows under the
 * rule's prefix (the join applies the rest of the rule's filters, and leaves out old versions and delete
 * markers); a destination's rows in the rule's key space there.
 */
export function partitionRows(
  rule: ObjectRule,
  side: DataFileItem['side'],
  rows: readonly InventoryRow[],
  shards: number,
): Map<number, InventoryRow[]> {
  const groups = new Map<number, InventoryRow[]>();
  const destination = side === 'source' ? undefined : rule.to[side];
  if (side !== 'source' && !destination) return groups;
  for (const row of rows) {
    const sourceKey =
      destination === undefined
        ? row.key.startsWith(rule.objects.prefix)
          ? row.key
          : undefined
        : sourceKeyOf(rule, destination, row.key);
    if (sourceKey === undefined) continue;
    const shard = partitionOf(sourceKey, shards);
    const group = groups.get(shard);
    if (group) group.push(row);
    else groups.set(shard, [row]);
  }
  return groups;
}

/** Shards per rule when the input names none: about this many bytes of gzip'd CSV per shard and side. */
export const BYTES_PER_SHARD = 64 * 1024 * 1024;
export const MAX_SHARDS = 10_000;

/** Enough shards that no side of one shard holds much more than BYTES_PER_SHARD of the largest inventory. */
export const shardsFor = (largestInventoryBytes: number): number =>
  Math.min(MAX_SHARDS, Math.max(1, Math.ceil(largestInventoryBytes / BYTES_PER_SHARD)));
