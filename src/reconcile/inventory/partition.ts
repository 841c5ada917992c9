import { candidateRules } from '#objects/router';
import type { ObjectRule } from '#rules/schema';
import { sourceKeyOf } from '../orphans.ts';
import type { DataFileItem } from './contract.ts';
import type { InventoryRow } from './rows.ts';

/**
 * How the inventory join is made correct without loading a whole inventory into one Lambda: S3 documents
 * no order for an inventory's rows, within a data file or across them, so Ferry relies on none. A first map
 * hashes every row of every data file (source and destinations) by the SOURCE key it stands for (a replica
 * row: its key mapped back through the destination's keyPrefix) into `shards` buckets, and writes one shard
 * object per data file and bucket. A row and its replicas' rows then always land in the same shard, so the
 * second map joins shard i of the source with shard i of every destination, each a bounded slice.
 */

/** FNV-1a (32 bits) over the key's UTF-8 bytes: stable across runs and runtimes, cheap, well spread. */
export function shardOf(key: string, shards: number): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(key, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % shards;
}

/** Rows of the current objects only: a version that is not the latest, or a delete marker, is no object. */
const isCurrentObject = (row: InventoryRow): boolean => row.isLatest !== false && row.isDeleteMarker !== true;

/**
 * The rows of one data file that belong to one side of a rule, grouped by shard. Source rows must pass the
 * rule's pure filters (bucket, prefix, suffix, size; tags are checked by the create path); a destination's
 * rows must lie in the rule's key space there (`sourceKeyOf`), and are sharded by the source key.
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
    if (!isCurrentObject(row)) continue;
    let sourceKey: string | undefined;
    if (destination === undefined) {
      const facts = { bucket: row.bucket, key: row.key, size: row.size };
      sourceKey = candidateRules([rule], facts).length > 0 ? row.key : undefined;
    } else {
      sourceKey = sourceKeyOf(rule, destination, row.key);
    }
    if (sourceKey === undefined) continue;
    const shard = shardOf(sourceKey, shards);
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
