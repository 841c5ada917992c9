// Requests, cost and wall time of reconciling with inventories, computed (not measured on AWS) from the join's
// measured time per batch, beside today's list + HEAD reconcile and S3 Batch Replication. Pure: the
// benchmark (bench/inventory.ts) and its test call it. Prices and their pages: BENCHMARKS.md, "Inventory
// reconcile".
import { CHECK_CONCURRENCY } from '#reconcile/objects';
import { PRICES } from './requests.ts';

/** Published us-east-1 prices beside bench/requests.ts's PRICES (which this reuses for requests, Lambda, SFN). */
export const INVENTORY_PRICES = {
  /** S3 Inventory: per million objects listed (Amazon S3 pricing page, "Management & insights"). */
  inventoryPerMillionObjects: 0.0025,
  /** S3 Batch Operations, which Batch Replication runs on: per job (same page, "Batch Operations"). */
  batchOperationsPerJob: 0.25,
  /** … and per million objects processed. */
  batchOperationsPerMillionObjects: 1.0,
};

/** What the model assumes, each named where the table shows it. */
export interface CostAssumptions {
  /** Measured: the parse, partition and join of one batch (batchRows source rows and their replica rows). */
  batchMs: number;
  batchRows: number;
  /** The batch Lambda's memory: 1,769 MB is one full vCPU, the one core the benchmark measured on. */
  memoryMb: number;
  /** Distributed Map MaxConcurrency: child executions at once. */
  maxConcurrency: number;
  /** Share of objects the join cannot verify (KMS, SSE-C, parts): they get today's HEAD. */
  unverifiableShare: number;
  /**
   * Children per batch: one of stage 1 (parse an inventory slice, write its lines to their partitions) and
   * one of stage 2 (read a partition of each side, join), as the benchmark runs them.
   */
  stages: number;
  /** State transitions per child execution (its Task state, one retry allowance). */
  transitionsPerChild: number;
  /** Per child, on top of the measured CPU time: its start, and its S3 reads and writes. */
  childOverheadMs: number;
  /** A HEAD's latency as reconcile sees it (reconcile makes CHECK_CONCURRENCY at a time). */
  headLatencyMs: number;
  /** The scheduled reconcile's memory (serverless.yml). */
  reconcileMemoryMb: number;
}

export const DEFAULT_ASSUMPTIONS: Omit<CostAssumptions, 'batchMs' | 'batchRows' | 'unverifiableShare'> = {
  memoryMb: 1769,
  maxConcurrency: 1000,
  stages: 2,
  transitionsPerChild: 2,
  childOverheadMs: 500,
  headLatencyMs: 20,
  reconcileMemoryMb: 512,
};

export interface CostLine {
  path: string;
  requests: string;
  dollars: number;
  /** The parts of `dollars`, labelled. */
  parts: string;
}

const MILLION = 1_000_000;
const money = (value: number) => `$${value < 0.01 ? value.toFixed(5) : value.toFixed(3)}`;
const lambdaGbSecondCost = (seconds: number, memoryMb: number) =>
  seconds * (memoryMb / 1024) * PRICES.lambdaArmPerGbSecond;

/**
 * Per million source objects and one destination, to find what needs copying (the copies themselves are the
 * same requests on every path except S3 Batch Replication, which copies every object its manifest lists).
 */
export function costPerMillion(a: CostAssumptions): CostLine[] {
  const pages = MILLION / 1000;
  // Today: list the source and (for orphans) the destination, a page of 1,000 keys per LIST; a HEAD per key.
  const listHeadSeconds = ((MILLION / CHECK_CONCURRENCY) * a.headLatencyMs) / 1000;
  const listHead = {
    list: 2 * pages * PRICES.s3Tier1PerRequest,
    head: MILLION * PRICES.s3Tier2PerRequest,
    lambda: lambdaGbSecondCost(listHeadSeconds, a.reconcileMemoryMb),
  };
  const batches = MILLION / a.batchRows;
  const children = batches * a.stages;
  // The measured CPU of a batch's two stages, and each child's overhead.
  const lambdaSeconds = batches * ((a.batchMs + a.stages * a.childOverheadMs) / 1000);
  const heads = MILLION * a.unverifiableShare;
  const inventory = {
    reports: 2 * INVENTORY_PRICES.inventoryPerMillionObjects,
    // Per batch, stage 1 writes its partition of both sides (2 PUT) and stage 2 reads them back (2 GET); the
    // inventory files' and manifests' GETs, a few per file S3 writes, are left out.
    s3:
      batches * 2 * (PRICES.s3Tier1PerRequest + PRICES.s3Tier2PerRequest) + heads * PRICES.s3Tier2PerRequest,
    stepFunctions: children * a.transitionsPerChild * PRICES.stepFunctionsPerTransition,
    lambda: children * PRICES.lambdaPerRequest + lambdaGbSecondCost(lambdaSeconds, a.memoryMb),
  };
  const batchReplication = {
    job: INVENTORY_PRICES.batchOperationsPerJob,
    objects: INVENTORY_PRICES.batchOperationsPerMillionObjects,
  };
  // Not in its total, as not in the others': the copies (it copies every object its manifest lists).
  const batchCopies = MILLION * PRICES.s3Tier1PerRequest;
  const sum = (parts: Record<string, number>) =>
    Object.values(parts).reduce((total, part) => total + part, 0);
  return [
    {
      path: "today's list + HEAD reconcile",
      requests: `${2 * pages} LIST, ${MILLION.toLocaleString('en-US')} HEAD`,
      dollars: sum(listHead),
      parts: `LIST ${money(listHead.list)} + HEAD ${money(listHead.head)} + Lambda ${money(listHead.lambda)} (assumed ${a.headLatencyMs} ms per HEAD, ${CHECK_CONCURRENCY} at a time, ${a.reconcileMemoryMb} MB)`,
    },
    {
      path: 'inventory join (computed)',
      requests: `2 inventories; ${2 * batches} PUT + ${2 * batches} GET of partitions; ${heads.toLocaleString('en-US')} HEAD (unverifiable); ${children} child executions`,
      dollars: sum(inventory),
      parts: `inventory ${money(inventory.reports)} + S3 ${money(inventory.s3)} + Step Functions ${money(inventory.stepFunctions)} (${a.transitionsPerChild} transitions per child) + Lambda ${money(inventory.lambda)} (${lambdaSeconds.toFixed(0)} s at ${a.memoryMb} MB: ${a.batchMs.toFixed(0)} ms measured per batch + ${a.stages} × ${a.childOverheadMs} ms assumed)`,
    },
    {
      path: 'S3 Batch Replication',
      requests: `1 job, ${MILLION.toLocaleString('en-US')} objects processed, ${MILLION.toLocaleString('en-US')} copies`,
      dollars: sum(batchReplication),
      parts: `job ${money(batchReplication.job)} + objects processed ${money(batchReplication.objects)}; then its copy requests, ${money(batchCopies)} if it copies every object (PUT price)`,
    },
  ];
}

/**
 * Wall time to join a billion objects: waves of MaxConcurrency batches, each its measured time (both stages)
 * plus each stage's child overhead. `children` counts batches.
 */
export function billionWallSeconds(a: CostAssumptions): { children: number; waves: number; seconds: number } {
  const children = Math.ceil(1e9 / a.batchRows);
  const waves = Math.ceil(children / a.maxConcurrency);
  return { children, waves, seconds: (waves * (a.batchMs + a.stages * a.childOverheadMs)) / 1000 };
}

/** Today's list + HEAD pass over a billion keys in one process: CHECK_CONCURRENCY HEADs at a time. */
export const billionListHeadSeconds = (a: Pick<CostAssumptions, 'headLatencyMs'>) =>
  ((1e9 / CHECK_CONCURRENCY) * a.headLatencyMs) / 1000;
