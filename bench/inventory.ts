// npm run bench -- inventory [--rows 1000000] [--runs 5] [--batch 10000] [--seed 1] [--max-concurrency 1000]
//                            [--memory-mb 1769]
//
// The inventory join's throughput per process: a generated pair of S3 Inventory reports (source and one
// destination, CSV as S3 writes it, bench/inventory-workload.ts) with known shares of missing, stale,
// unverifiable and orphaned items is parsed (parseInventoryCsv), partitioned by replica key (partitionOf) into
// batches of `--batch` source rows, and each batch joined (joinPartition), one at a time, in one process.
// Every run's result is checked exactly against the generated truth, and the run fails loudly if it differs.
// Prints rows/s (median of the runs, after one warm-up), the time per batch, the memory peak, and the cost per
// million objects and wall time for a billion computed from the time per batch (bench/inventory-cost.ts).
// Writes bench/results/inventory.{md,json}.
import { mkdir, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { destinationKeyOf } from '#objects/router';
import { joinPartition, partitionOf } from '#reconcile/inventory/join';
import { type InventoryRow, parseInventoryCsv } from '#reconcile/inventory/rows';
import { CHECK_CONCURRENCY } from '#reconcile/objects';
import {
  billionListHeadSeconds,
  billionWallSeconds,
  type CostAssumptions,
  costPerMillion,
  DEFAULT_ASSUMPTIONS,
} from './inventory-cost.ts';
import {
  BENCH_FILE_SCHEMA,
  BENCH_RULE,
  BENCH_SHARES,
  generateInventoryPair,
  type InventoryPair,
  type InventoryTruth,
} from './inventory-workload.ts';

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

/** The join's result differs from the generated truth: the benchmark's figures would be of a wrong join. */
export class InventoryJoinMismatchError extends Error {
  constructor(readonly differences: string[]) {
    super(`the inventory join differs from the generated truth: ${differences.join('; ')}`);
    this.name = 'InventoryJoinMismatchError';
  }
}

export interface InventoryRun {
  /** Stage 1, as the map's first children do it: parse each inventory file and split its lines by partition. */
  partitionMs: number;
  /** Stage 2, one batch after another: parse one partition of each side and join them. */
  joinMs: number;
  totalMs: number;
  batches: number;
}

const now = () => Number(process.hrtime.bigint()) / 1e6;
const destination = BENCH_RULE.to[0] as (typeof BENCH_RULE.to)[number];

/** The key a source row's replica has (what partitions it); a key outside the rule keeps its own. */
const replicaKeyOf = (row: InventoryRow) =>
  row.key.startsWith(BENCH_RULE.objects.prefix)
    ? destinationKeyOf(BENCH_RULE, destination, row.key)
    : row.key;

/**
 * Stage 1 for one side: each file parsed on its own (one file's rows alive at a time), and its lines appended
 * to the text of the partition its replica key hashes to. The lines are kept as S3 wrote them, so stage 2
 * parses exactly what a child would read back from S3.
 */
function partitionSide(files: readonly string[], batches: number, keyOf: (row: InventoryRow) => string) {
  const parts = Array.from({ length: batches }, (): string[] => []);
  for (const text of files) {
    const rows = parseInventoryCsv(text, BENCH_FILE_SCHEMA);
    // The generator writes no empty lines, so the rows and the lines are in step.
    const lines = text.split('\n');
    rows.forEach((row, i) => {
      parts[partitionOf(keyOf(row), batches)]?.push(lines[i] as string);
    });
  }
  return parts.map((lines) => lines.join('\n'));
}

/** One timed pass: stage 1 over every file of both sides, then stage 2 batch by batch. */
export function runInventoryJoin(
  pair: InventoryPair,
  batchRows: number,
): { run: InventoryRun; result: InventoryTruth } {
  const batches = Math.max(1, Math.ceil(pair.sourceRows / batchRows));
  const start = now();
  const sourceParts = partitionSide(pair.sourceFiles, batches, replicaKeyOf);
  const replicaParts = partitionSide(pair.replicaFiles, batches, (row) => row.key);
  const partitioned = now();
  const result: InventoryTruth = {
    matched: 0,
    missing: [],
    stale: [],
    unverifiable: [],
    orphanCandidates: [],
  };
  for (let batch = 0; batch < batches; batch++) {
    const sourceRows = parseInventoryCsv(sourceParts[batch] ?? '', BENCH_FILE_SCHEMA);
    const replicaRows = parseInventoryCsv(replicaParts[batch] ?? '', BENCH_FILE_SCHEMA);
    const joined = joinPartition({ rule: BENCH_RULE, destination, sourceRows, replicaRows });
    result.matched += joined.matched;
    for (const row of joined.missing) result.missing.push(row.key);
    for (const row of joined.stale) result.stale.push(row.key);
    for (const row of joined.unverifiable) result.unverifiable.push(row.key);
    for (const row of joined.orphanCandidates) result.orphanCandidates.push(row.key);
  }
  const end = now();
  return {
    run: {
      partitionMs: partitioned - start,
      joinMs: end - partitioned,
      totalMs: end - start,
      batches,
    },
    result,
  };
}

/** Throws InventoryJoinMismatchError unless `result` is exactly `truth`. */
export function checkAgainstTruth(result: InventoryTruth, truth: InventoryTruth): void {
  const differences: string[] = [];
  if (result.matched !== truth.matched) differences.push(`matched ${result.matched}, truth ${truth.matched}`);
  for (const list of ['missing', 'stale', 'unverifiable', 'orphanCandidates'] as const) {
    const found = [...result[list]].sort();
    const expected = truth[list];
    if (found.length === expected.length && found.every((key, i) => key === expected[i])) continue;
    const known = new Set(expected);
    const extra = found.filter((key) => !known.has(key)).slice(0, 3);
    differences.push(
      `${list}: ${found.length} found, truth ${expected.length}${extra.length ? ` (e.g. ${extra.join(', ')})` : ''}`,
    );
  }
  if (differences.length > 0) throw new InventoryJoinMismatchError(differences);
}

export interface Rate {
  median: number;
  min: number;
  max: number;
}

export interface InventoryBench {
  sourceRows: number;
  replicaRows: number;
  batchRows: number;
  runs: InventoryRun[];
  /** Both stages, both sides' rows. */
  rowsPerSecond: Rate;
  /** Stage 2 alone: the join's rows per second (parse of the partitions + joinPartition). */
  joinRowsPerSecond: Rate;
  /** Medians per batch: stage 1's share, stage 2, and both. */
  partitionMsPerBatch: number;
  joinMsPerBatch: number;
  batchMs: number;
  maxRssMiB: number;
  truth: InventoryTruth;
}

const rateOf = (values: number[]): Rate => ({
  median: median(values),
  min: Math.min(...values),
  max: Math.max(...values),
});

export function runInventoryBench(options: {
  rows: number;
  runs: number;
  batch: number;
  seed: number;
}): InventoryBench {
  const pair = generateInventoryPair(options.rows, options.seed);
  const timed: InventoryRun[] = [];
  // One warm-up (JIT), then the timed runs; every run is checked, the warm-up too.
  for (let i = 0; i <= options.runs; i++) {
    const { run, result } = runInventoryJoin(pair, options.batch);
    checkAgainstTruth(result, pair.truth);
    if (i > 0) timed.push(run);
  }
  const rows = pair.sourceRows + pair.replicaRows;
  const batches = timed[0]?.batches ?? 1;
  return {
    sourceRows: pair.sourceRows,
    replicaRows: pair.replicaRows,
    batchRows: options.batch,
    runs: timed,
    rowsPerSecond: rateOf(timed.map((run) => rows / (run.totalMs / 1000))),
    joinRowsPerSecond: rateOf(timed.map((run) => rows / (run.joinMs / 1000))),
    partitionMsPerBatch: median(timed.map((run) => run.partitionMs)) / batches,
    joinMsPerBatch: median(timed.map((run) => run.joinMs)) / batches,
    batchMs: median(timed.map((run) => run.totalMs)) / batches,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    truth: pair.truth,
  };
}

const count = (value: number) => Math.round(value).toLocaleString('en-US');
const rate = (r: Rate) => `${count(r.median)} (${count(r.min)}–${count(r.max)})`;
const duration = (seconds: number) =>
  seconds < 120
    ? `${seconds.toFixed(0)} s`
    : seconds < 7200
      ? `${(seconds / 60).toFixed(0)} min`
      : seconds < 172_800
        ? `${(seconds / 3600).toFixed(1)} h`
        : `${(seconds / 86_400).toFixed(1)} days`;

export function inventoryReport(bench: InventoryBench, assumptions: CostAssumptions): string {
  const { truth } = bench;
  const wall = billionWallSeconds(assumptions);
  const lines = [
    `${count(bench.sourceRows)} source rows and ${count(bench.replicaRows)} replica rows (${count(truth.matched)} matched, ` +
      `${count(truth.missing.length)} missing, ${count(truth.stale.length)} stale, ${count(truth.unverifiable.length)} ` +
      `unverifiable, ${count(truth.orphanCandidates.length)} orphan candidates: every run equal to the truth), ` +
      `batches of ${count(bench.batchRows)} source rows, ${bench.runs.length} timed runs after one warm-up.`,
    '',
    '| measured | median (min–max) |',
    '| --- | --- |',
    `| the join's rows/s per process (stage 2: parse a partition of each side + join, both sides' rows) | ${rate(bench.joinRowsPerSecond)} |`,
    `| rows/s per process, both stages (stage 1: parse each inventory file, split its lines by partition) | ${rate(bench.rowsPerSecond)} |`,
    `| time per batch of ${count(bench.batchRows)} source rows and their replica rows: stage 1 · stage 2 · both | ${bench.partitionMsPerBatch.toFixed(1)} · ${bench.joinMsPerBatch.toFixed(1)} · ${bench.batchMs.toFixed(1)} ms |`,
    `| memory peak of the process (max RSS: the generated inventories, their partitions, one batch) | ${bench.maxRssMiB.toFixed(0)} MiB |`,
    '',
    'Per million source objects, one destination, to find what needs copying (computed from the prices and the ' +
      'measured time per batch; copies of missing and stale items cost the same on every path and are left out):',
    '',
    '| path | requests | $ per 1M objects | made of |',
    '| --- | --- | --- | --- |',
    ...costPerMillion(assumptions).map(
      (line) => `| ${line.path} | ${line.requests} | $${line.dollars.toFixed(3)} | ${line.parts} |`,
    ),
    '',
    `Wall time for 1,000,000,000 objects (computed): ${count(wall.children)} batches at MaxConcurrency ` +
      `${count(assumptions.maxConcurrency)} = ${count(wall.waves)} waves × (${bench.batchMs.toFixed(0)} ms measured + ` +
      `${assumptions.stages} stages × ${assumptions.childOverheadMs} ms assumed overhead) = ${duration(wall.seconds)}; ` +
      `today's list + HEAD pass in one process: ${duration(billionListHeadSeconds(assumptions))} (assumed ` +
      `${assumptions.headLatencyMs} ms per HEAD, ${CHECK_CONCURRENCY} at a time).`,
  ];
  return lines.join('\n');
}

if (process.argv[2] === 'inventory') {
  const { values } = parseArgs({
    args: process.argv.slice(3),
    options: {
      rows: { type: 'string', default: '1000000' },
      runs: { type: 'string', default: '5' },
      batch: { type: 'string', default: '10000' },
      seed: { type: 'string', default: '1' },
      'max-concurrency': { type: 'string', default: String(DEFAULT_ASSUMPTIONS.maxConcurrency) },
      'memory-mb': { type: 'string', default: String(DEFAULT_ASSUMPTIONS.memoryMb) },
    },
  });
  const options = {
    rows: Number(values.rows),
    runs: Number(values.runs),
    batch: Number(values.batch),
    seed: Number(values.seed),
  };
  const bench = runInventoryBench(options);
  const assumptions: CostAssumptions = {
    ...DEFAULT_ASSUMPTIONS,
    maxConcurrency: Number(values['max-concurrency']),
    memoryMb: Number(values['memory-mb']),
    batchMs: bench.batchMs,
    batchRows: options.batch,
    unverifiableShare: BENCH_SHARES.unverifiable,
  };
  const report = inventoryReport(bench, assumptions);
  console.log(report);
  await mkdir('bench/results', { recursive: true });
  await writeFile('bench/results/inventory.md', `${report}\n`);
  const { truth, ...figures } = bench;
  await writeFile(
    'bench/results/inventory.json',
    `${JSON.stringify({ options, assumptions, ...figures, truthCounts: { matched: truth.matched, missing: truth.missing.length, stale: truth.stale.length, unverifiable: truth.unverifiable.length, orphanCandidates: truth.orphanCandidates.length } }, null, 2)}\n`,
  );
}
