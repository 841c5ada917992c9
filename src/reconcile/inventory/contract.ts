import { z } from 'zod';

/**
 * The one contract of the inventory-reconcile state machine (statemachines/inventory-reconcile.asl.yaml):
 * its input, what its Plan step writes for the two Distributed Maps to read (ItemReader, InputType JSON),
 * the batches the maps hand their children (ItemBatcher: `{ Items, BatchInput }`), and what each child
 * returns, which the join map's ResultWriter exports to S3 and `ferry backfill --inventory` reads back.
 */

/** Where a run writes its shards, its plan and the map's results: a bucket in the state machine's Region. */
export const WorkLocationSchema = z.strictObject({
  bucket: z.string().min(3),
  /** Ends with `/` (or is empty); the run writes under `prefix + runId + '/'`. */
  prefix: z.string(),
});
export type WorkLocation = z.infer<typeof WorkLocationSchema>;

/** The execution's input, as `ferry backfill --inventory` (or the schedule) starts it. */
export const InventoryReconcileInputSchema = z.strictObject({
  /** Names the run's work area; the execution name, so one name is one run. */
  runId: z.string().regex(/^[\w-]{1,80}$/, 'expected 1 to 80 letters, digits, "-" or "_"'),
  /** Only this rule (else every object rule that names inventories). */
  rule: z.string().min(1).optional(),
  work: WorkLocationSchema,
  /** How many shards each rule's rows are hashed into (else sized from the inventories' bytes). */
  shards: z.number().int().min(1).max(10_000).optional(),
});
export type InventoryReconcileInput = z.infer<typeof InventoryReconcileInputSchema>;

/** One inventory data file to partition: a side of a rule (`source`, or the index of a destination in `to`). */
export const DataFileItemSchema = z.strictObject({
  rule: z.string(),
  side: z.union([z.literal('source'), z.number().int().nonnegative()]),
  bucket: z.string(),
  key: z.string(),
  /** The manifest's `fileSchema`: the CSV's columns, in order. */
  fileSchema: z.string(),
});
export type DataFileItem = z.infer<typeof DataFileItemSchema>;

/** One shard of one rule to join: every side's rows whose source key hashes to `shard`. */
export const ShardItemSchema = z.strictObject({ rule: z.string(), shard: z.number().int().nonnegative() });
export type ShardItem = z.infer<typeof ShardItemSchema>;

/** What the whole run shares, handed to every child in the ItemBatcher's BatchInput. */
export const RunSchema = z.strictObject({
  runId: z.string(),
  work: WorkLocationSchema,
  shards: z.number().int().min(1),
});
export type Run = z.infer<typeof RunSchema>;

/** The Plan step's result (`$.plan`): where the two maps read their items and write their results. */
export const PlanSchema = z.strictObject({
  run: RunSchema,
  /** JSON arrays in the work bucket: DataFileItem[] and ShardItem[]. */
  filesKey: z.string(),
  shardsKey: z.string(),
  /** The join map's ResultWriter prefix. */
  resultsPrefix: z.string(),
  rules: z.array(z.string()),
});
export type Plan = z.infer<typeof PlanSchema>;

export const PlanInputSchema = z.strictObject({
  step: z.literal('plan'),
  input: InventoryReconcileInputSchema,
});

/** A child's input, as Step Functions' ItemBatcher shapes it. */
const batchOf = <Step extends string, Item extends z.ZodType>(step: Step, item: Item) =>
  z.object({
    Items: z.array(item).min(1),
    BatchInput: z.strictObject({ step: z.literal(step), run: RunSchema }),
  });
export const PartitionBatchSchema = batchOf('partition', DataFileItemSchema);
export const JoinBatchSchema = batchOf('join', ShardItemSchema);

/** Every input the inventory-batch function takes: the plan, or a batch of one of the two maps. */
export const InventoryStepInputSchema = z.union([PlanInputSchema, PartitionBatchSchema, JoinBatchSchema]);
export type InventoryStepInput = z.infer<typeof InventoryStepInputSchema>;

/** Where a run's files go, all under its own folder of the work location. */
export const runFolder = (run: Pick<Run, 'runId' | 'work'>) => `${run.work.prefix}${run.runId}/`;

/** The shard object prefix of one side of one rule (`source` or `to-INDEX`). */
export const shardPrefix = (
  run: Pick<Run, 'runId' | 'work'>,
  rule: string,
  side: DataFileItem['side'],
  shard: number,
) =>
  `${runFolder(run)}shards/${encodeURIComponent(rule)}/${side === 'source' ? 'source' : `to-${side}`}/${shard}/`;

/**
 * ResultWriter's export (https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultwriter.html):
 * the map state's output names `manifest.json`, which lists the result files by status; each file is a JSON
 * array of child executions, with their Input and Output as JSON strings.
 */
export const MapOutputSchema = z.object({
  MapRunArn: z.string(),
  ResultWriterDetails: z.object({ Bucket: z.string(), Key: z.string() }),
});
export const ResultManifestSchema = z.object({
  DestinationBucket: z.string(),
  MapRunArn: z.string(),
  ResultFiles: z.object({
    FAILED: z.array(z.object({ Key: z.string(), Size: z.number() })).default([]),
    PENDING: z.array(z.object({ Key: z.string(), Size: z.number() })).default([]),
    SUCCEEDED: z.array(z.object({ Key: z.string(), Size: z.number() })).default([]),
  }),
});
export const ChildResultSchema = z.object({
  Name: z.string().optional(),
  Status: z.string(),
  Input: z.string().optional(),
  Output: z.string().optional(),
  Error: z.string().optional(),
  Cause: z.string().optional(),
});
export type ChildResult = z.infer<typeof ChildResultSchema>;
