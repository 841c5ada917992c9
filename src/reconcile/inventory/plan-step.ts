import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { InventoryLocation, ObjectRule } from '#rules/schema';
import {
  type DataFileItem,
  type InventoryReconcileInput,
  type Plan,
  runFolder,
  type ShardItem,
} from './contract.ts';
import { type InventoryDeps, inventoryClient, inventoryRulesOf, workClient } from './deps.ts';
import { latestManifestKey, readManifest } from './manifest.ts';
import { shardsFor } from './partition.ts';

/** One side of a rule: the bucket whose inventory it is, and where that inventory is published. */
const sidesOf = (
  rule: ObjectRule,
): { side: DataFileItem['side']; bucket: string; location: InventoryLocation }[] => [
  { side: 'source', bucket: rule.objects.bucket, location: rule.objects.inventory as InventoryLocation },
  ...rule.to.map((destination, index) => ({
    side: index,
    bucket: destination.bucket,
    location: destination.inventory as InventoryLocation,
  })),
];

/**
 * The Plan step: for each rule, the newest report of its source's inventory and of each destination's
 * (checked: CSV, the fields the join needs, the right bucket), their data files as the partition map's
 * items, and the rule's shards as the join map's items, both written as JSON arrays in the run's folder
 * (the maps' ItemReader reads them: a plan of a billion objects outgrows a state's 256 KiB payload).
 */
export async function planStep(input: InventoryReconcileInput, deps: InventoryDeps): Promise<Plan> {
  const rules = inventoryRulesOf(deps.allRules, input.rule);
  const files: DataFileItem[] = [];
  let largest = 0;
  for (const rule of rules) {
    for (const { side, bucket, location } of sidesOf(rule)) {
      const client = inventoryClient(deps, rule, side);
      const key = await latestManifestKey(client, location, bucket);
      const manifest = await readManifest(client, location.bucket, key, bucket);
      largest = Math.max(
        largest,
        manifest.files.reduce((sum, file) => sum + file.size, 0),
      );
      for (const file of manifest.files)
        files.push({
          rule: rule.name,
          side,
          bucket: location.bucket,
          key: file.key,
          fileSchema: manifest.fileSchema,
        });
    }
  }
  const run = { runId: input.runId, work: input.work, shards: input.shards ?? shardsFor(largest) };
  const shardItems: ShardItem[] = rules.flatMap((rule) =>
    Array.from({ length: run.shards }, (_, shard) => ({ rule: rule.name, shard })),
  );
  const folder = runFolder(run);
  const plan: Plan = {
    run,
    filesKey: `${folder}plan/files.json`,
    shardsKey: `${folder}plan/shards.json`,
    resultsPrefix: `${folder}results`,
    rules: rules.map((rule) => rule.name),
  };
  const client = workClient(deps);
  for (const [key, items] of [
    [plan.filesKey, files],
    [plan.shardsKey, shardItems],
  ] as const)
    await client.send(
      new PutObjectCommand({
        Bucket: run.work.bucket,
        Key: key,
        Body: JSON.stringify(items),
        ContentType: 'application/json',
      }),
    );
  return plan;
}
