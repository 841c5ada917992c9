import { candidateRules } from '#objects/router';
import {
  CHECK_CONCURRENCY,
  emptyObjectRuleReport,
  type ListedObject,
  reconcileOne,
  sendThroughCreatePath,
} from '../objects.ts';
import { checkCandidate, sourceKeyOf } from '../orphans.ts';
import type { RuleReport } from '../report.ts';
import type { Run, ShardItem } from './contract.ts';
import { type InventoryDeps, ruleNamed, workClient } from './deps.ts';
import { isCurrent, joinPartition, SSE_OF_STATUS } from './join.ts';
import type { InventoryRow } from './rows.ts';
import { readShard } from './shards.ts';

/**
 * A source row as the create path and the HEAD check take it: what a listing would have said of the object,
 * and its encryption, which a listing does not say (replicaStateOf weighs it for a replica without the
 * source-ETag marker).
 */
const listedOf = (row: InventoryRow): ListedObject => ({
  key: row.key,
  size: row.size,
  etag: row.eTag,
  lastModified: new Date(row.lastModified),
  serverSideEncryption: SSE_OF_STATUS[row.encryptionStatus ?? ''],
});

/** Runs `work` over `items`, at most CHECK_CONCURRENCY at a time (as the listing pass does). */
async function inBatches<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
  for (let start = 0; start < items.length; start += CHECK_CONCURRENCY)
    await Promise.all(items.slice(start, start + CHECK_CONCURRENCY).map(work));
}

/**
 * One shard of one rule: its source rows joined with each destination's rows (joinPartition: the keyPrefix
 * mapping, the rule's filters, shared replica keys and the comparable-ETag rule). A row whose replicas all
 * match costs no request at all. A source missing or stale at some destination is sent once through the
 * create path (which writes every destination that needs it, with its guard). A row whose ETags cannot be
 * compared (KMS, SSE-C, a replica in parts) gets the listing pass's HEAD check (reconcileOne), which reads
 * Ferry's markers, unless it is already being sent. A replica row with no source row, at a destination that replicates deletes
 * (lifecycle deletes included, as the listing sweep requires), goes through the orphan check: a HEAD of its
 * source, and the object-deleted handler's delete only on a 404.
 */
export async function joinShard(item: ShardItem, run: Run, deps: InventoryDeps): Promise<RuleReport> {
  const rule = ruleNamed(deps, item.rule);
  const report = emptyObjectRuleReport(rule);
  const client = workClient(deps);
  const sourceRows = await readShard(client, run, rule.name, 'source', item.shard);
  const needs = new Map<string, { row: InventoryRow; missing: boolean }>();
  const unverifiable = new Map<string, InventoryRow>();
  const orphans: { index: number; key: string; sourceKey: string }[] = [];
  for (const [index, destination] of rule.to.entries()) {
    const replicaRows = await readShard(client, run, rule.name, index, item.shard);
    const joined = joinPartition({ rule, destination, sourceRows, replicaRows });
    for (const row of joined.missing) needs.set(row.key, { row, missing: true });
    for (const row of joined.stale)
      needs.set(row.key, { row, missing: needs.get(row.key)?.missing ?? false });
    for (const row of joined.unverifiable) unverifiable.set(row.key, row);
    if (!destination.replicateDeletes || !destination.replicateLifecycleDeletes) continue;
    for (const row of joined.orphanCandidates) {
      const sourceKey = sourceKeyOf(rule, destination, row.key);
      if (sourceKey !== undefined) orphans.push({ index, key: row.key, sourceKey });
    }
  }
  for (const key of needs.keys()) unverifiable.delete(key);
  // Scanned, as the listing pass counts it: the source's current objects that pass the rule's filters.
  report.scanned = sourceRows.filter(
    (row) =>
      isCurrent(row) &&
      candidateRules([rule], { bucket: row.bucket, key: row.key, size: row.size }).length > 0,
  ).length;
  for (const { missing } of needs.values()) {
    if (missing) report.missing += 1;
    else report.stale += 1;
  }
  await inBatches([...needs.values()], ({ row }) => sendThroughCreatePath(rule, listedOf(row), report, deps));
  await inBatches([...unverifiable.values()], (row) => reconcileOne(rule, listedOf(row), report, deps));
  await inBatches(orphans, ({ index, key, sourceKey }) =>
    checkCandidate(rule, index, key, sourceKey, report, deps),
  );
  return report;
}

/** A child of the join map: each shard of its batch joined; one report per rule of the batch. */
export async function joinStep(
  items: readonly ShardItem[],
  run: Run,
  deps: InventoryDeps,
): Promise<{ rules: RuleReport[] }> {
  const reports: RuleReport[] = [];
  for (const item of items) reports.push(await joinShard(item, run, deps));
  return { rules: reports };
}
