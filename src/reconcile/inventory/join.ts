import { unquote } from '#objects/copy-request';
import { etagsMustMatch, partsOfETag } from '#objects/etag-rule';
import { candidateRules, destinationKeyOf } from '#objects/router';
import type { ObjectDestination, ObjectRule } from '#rules/schema';
import { isOutranked } from '#rules/shared-replicas';
import { sourceKeyOf } from '../orphans.ts';
import {
  DuplicateInventoryKeyError,
  InventoryBucketMismatchError,
  UnknownInventoryDestinationError,
} from './errors.ts';
import type { InventoryRow } from './rows.ts';

/**
 * The join of one partition of a rule's source inventory with the same partition of one destination's
 * inventory, in the replica's key space (destinationKeyOf: the rule's prefix replaced by the keyPrefix).
 * Pure: no request is made. What it decides, and why:
 *
 * - Only current objects count: rows that are not the latest version, and delete markers, are left out on
 *   both sides (a source whose latest version is a delete marker is deleted; a replica whose latest is one
 *   is missing).
 * - A source row is a candidate when it passes the rule's bucket, prefix, suffix and size filters
 *   (candidateRules, as list reconcile). Tags are not in an inventory: a rule that filters on tags still
 *   joins every such row; a missing or stale one goes through the handlers' own path, which reads the
 *   source's tags and skips it when they do not match (as list reconcile does). A matched one is left alone
 *   (its replica is current whatever its tags).
 * - A replica key that a rule of higher priority owns (#rules/shared-replicas) is not this rule's to judge.
 * - `matched`: the replica row has the source's size and ETag, was written no earlier than the source
 *   (a replica older than its source's current version is stale, as in replicaStateOf), and the
 *   comparable-ETag rule (#objects/etag-rule) says the two ETags must be equal for a true copy. No HeadObject
 *   is needed for it.
 * - `stale`: another size (a copy always has its source's size), older than the source, or comparable ETags
 *   that differ. `missing`: no current replica row.
 * - `unverifiable`: same size, but the ETags cannot be compared (SSE-KMS, DSSE-KMS or SSE-C on a side, an
 *   encryption status the inventory does not carry, or a replica written in parts): these go to the
 *   existing HEAD-based check (replicaStateOf), which reads Ferry's markers.
 * - `orphanCandidates`: current replica rows in this rule's key space there (sourceKeyOf) with no current
 *   source row, only where the destination replicates deletes. They are candidates only: the orphan sweep's
 *   own check (orphanKeepReason, after a HEAD of the replica for its markers) decides what is deleted.
 *
 * Inventory rows carry no metadata, so Ferry's markers are not read for a matched replica: equal sizes and
 * equal comparable ETags (content digests) say it holds the source's bytes, whoever wrote it.
 */
export interface InventoryJoin {
  matched: number;
  missing: InventoryRow[];
  stale: InventoryRow[];
  unverifiable: InventoryRow[];
  orphanCandidates: InventoryRow[];
}

/** S3 Inventory's EncryptionStatus as the `x-amz-server-side-encryption` value the ETag rule knows. */
export const SSE_OF_STATUS: Record<string, string | undefined> = {
  'NOT-SSE': undefined,
  'SSE-S3': 'AES256',
  'SSE-KMS': 'aws:kms',
  'DSSE-KMS': 'aws:kms:dsse',
};

/**
 * Whether the two rows' ETags must be equal for a true copy: the comparable-ETag rule, with both sides'
 * encryption. An unknown encryption (no EncryptionStatus column) could be KMS, and SSE-C ETags are not MD5
 * digests either (https://docs.aws.amazon.com/AmazonS3/latest/API/API_Object.html, "ETag"): not comparable.
 */
function etagsComparable(source: InventoryRow, replica: InventoryRow, destination: ObjectDestination) {
  const statuses = [source.encryptionStatus, replica.encryptionStatus];
  if (statuses.some((status) => status === undefined || status === 'SSE-C')) return false;
  return etagsMustMatch({
    sourceETag: source.eTag,
    encryptions: [destination.encryption?.sse, ...statuses.map((status) => SSE_OF_STATUS[status ?? ''])],
    // As replicaStateOf: a replica in parts may or may not have kept the source's layout.
    replica: partsOfETag(replica.eTag) === 0 ? { copy: true } : { parts: 0 },
  });
}

type Verdict = 'matched' | 'stale' | 'unverifiable';

function verdictOf(source: InventoryRow, replica: InventoryRow, destination: ObjectDestination): Verdict {
  if (replica.size !== source.size || replica.lastModified < source.lastModified) return 'stale';
  if (!etagsComparable(source, replica, destination)) return 'unverifiable';
  return unquote(replica.eTag) === unquote(source.eTag) ? 'matched' : 'stale';
}

/** A row of a current object: the latest version, not a delete marker. */
export const isCurrent = (row: InventoryRow) => row.isLatest !== false && row.isDeleteMarker !== true;

function destinationIndexOf(rule: ObjectRule, destination: ObjectDestination): number {
  const same = rule.to.indexOf(destination);
  if (same >= 0) return same;
  // A destination that crossed a process boundary (JSON) is its rule's by bucket and keyPrefix.
  const found = rule.to.findIndex(
    (candidate) => candidate.bucket === destination.bucket && candidate.keyPrefix === destination.keyPrefix,
  );
  if (found < 0) throw new UnknownInventoryDestinationError(rule.name, destination.bucket);
  return found;
}

export function joinPartition(input: {
  rule: ObjectRule;
  destination: ObjectDestination;
  sourceRows: readonly InventoryRow[];
  replicaRows: readonly InventoryRow[];
}): InventoryJoin {
  const { rule, destination } = input;
  const destinationIndex = destinationIndexOf(rule, destination);
  const replicas = new Map<string, InventoryRow>();
  for (const row of input.replicaRows) {
    if (row.bucket !== destination.bucket)
      throw new InventoryBucketMismatchError('replica', destination.bucket, row.bucket);
    if (!isCurrent(row)) continue;
    if (replicas.has(row.key)) throw new DuplicateInventoryKeyError('replica', row.key);
    replicas.set(row.key, row);
  }

  const result: InventoryJoin = {
    matched: 0,
    missing: [],
    stale: [],
    unverifiable: [],
    orphanCandidates: [],
  };
  const sources = new Set<string>();
  const { bucket, prefix } = rule.objects;
  for (const row of input.sourceRows) {
    if (row.bucket !== bucket) throw new InventoryBucketMismatchError('source', bucket, row.bucket);
    if (!isCurrent(row) || !row.key.startsWith(prefix)) continue;
    if (sources.has(row.key)) throw new DuplicateInventoryKeyError('source', row.key);
    sources.add(row.key);
    const replicaKey = destinationKeyOf(rule, destination, row.key);
    const replica = replicas.get(replicaKey);
    // Its source exists: whatever the verdict, this replica is no orphan.
    replicas.delete(replicaKey);
    if (candidateRules([rule], { bucket, key: row.key, size: row.size }).length === 0) continue;
    if (isOutranked(rule, destinationIndex, destination.bucket, replicaKey)) continue;
    if (!replica) {
      result.missing.push(row);
      continue;
    }
    const verdict = verdictOf(row, replica, destination);
    if (verdict === 'matched') result.matched += 1;
    else result[verdict].push(row);
  }

  if (destination.replicateDeletes)
    for (const replica of replicas.values())
      if (sourceKeyOf(rule, destination, replica.key) !== undefined) result.orphanCandidates.push(replica);
  return result;
}

/**
 * Which of `partitions` a replica key belongs to: FNV-1a (32-bit) over the key's UTF-16 code units, modulo
 * the count. Stable across processes and runs (no seed), so the source rows (by destinationKeyOf of their
 * key) and the destination rows (by their own key) of one replica key always meet in the same partition,
 * and a child of the Distributed Map joins only its partition's rows: no Lambda loads a whole inventory,
 * and inventory files need no sorted order (S3 does not promise one).
 */
export function partitionOf(replicaKey: string, partitions: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < replicaKey.length; i++) {
    hash ^= replicaKey.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % partitions;
}
