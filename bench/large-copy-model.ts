// The remote-S3 model behind `npm run bench -- objects`, computed instead of run: the physical lower bound of
// a server-side copy, and how long each tool's request pattern takes under the same model (latency per
// request; copy rate per request; an aggregate rate per bucket pair that the requests in flight share), for
// sizes too large to copy in the sandbox. The sandbox's copy model (local/s3/copy-model.ts) applies the same
// rules to real requests; the benchmark prints both where both exist, so the two can be compared.

import { MAX_CARRIED_PARTS } from '#objects/copy-machine/multipart-copy';
import {
  MAP_MAX_CONCURRENCY,
  MAX_PART_SIZE,
  MAX_PARTS,
  MIN_PART_SIZE,
  MiB,
  type PartSizing,
  partSizeFor,
  planBatches,
  planParts,
} from '#objects/copy-machine/part-planner';
import { PRICES } from './requests.ts';

export interface S3Model {
  latencySeconds: number;
  /** Per copy request. */
  requestBytesPerSecond: number;
  /** Per source and destination bucket pair, shared by the requests in flight. */
  pairBytesPerSecond: number;
}

/**
 * The fastest any copier can be: every byte through the pair's aggregate rate, plus one round of
 * requests that must follow each other (HEAD the source, CreateMultipartUpload, the part copies side by
 * side, CompleteMultipartUpload).
 */
export const lowerBound = (size: number, model: S3Model) =>
  size / model.pairBytesPerSecond + 4 * model.latencySeconds;

/** A tool's requests: sequential ones before and after, and part copies in groups (Ferry's batches). */
export interface RequestPlan {
  sequentialBefore: number;
  sequentialAfter: number;
  /** Part sizes, per group; a group copies its parts `partConcurrency` at a time. */
  groups: number[][];
  groupConcurrency: number;
  partConcurrency: number;
}

interface Transfer {
  group: number;
  latencyLeft: number;
  bytesLeft: number;
}

/**
 * Seconds the plan takes under the model, and how long each group ran (a Lambda invocation's duration, for
 * Ferry). Part copies wait one latency, then move their bytes at min(per-request rate, pair rate / copies
 * moving bytes); an event-driven simulation of that sharing.
 */
export function simulate(plan: RequestPlan, model: S3Model): { seconds: number; groupSeconds: number[] } {
  const pending = plan.groups.map((parts) => [...parts]);
  const groupStart: number[] = [];
  const groupSeconds: number[] = plan.groups.map(() => 0);
  const running = plan.groups.map(() => 0);
  let nextGroup = 0;
  let activeGroups = 0;
  let now = plan.sequentialBefore * model.latencySeconds;
  const transfers: Transfer[] = [];
  const fill = () => {
    while (activeGroups < plan.groupConcurrency && nextGroup < plan.groups.length) {
      groupStart[nextGroup] = now;
      nextGroup += 1;
      activeGroups += 1;
    }
    for (let group = 0; group < nextGroup; group++) {
      const parts = pending[group] ?? [];
      while (parts.length > 0 && (running[group] ?? 0) < plan.partConcurrency) {
        transfers.push({ group, latencyLeft: model.latencySeconds, bytesLeft: parts.shift() ?? 0 });
        running[group] = (running[group] ?? 0) + 1;
      }
    }
  };
  fill();
  while (transfers.length > 0) {
    const moving = transfers.filter((t) => t.latencyLeft <= 0).length;
    const rate = Math.min(model.requestBytesPerSecond, model.pairBytesPerSecond / Math.max(1, moving));
    const step = Math.min(...transfers.map((t) => (t.latencyLeft > 0 ? t.latencyLeft : t.bytesLeft / rate)));
    now += step;
    for (const t of transfers) {
      if (t.latencyLeft > 0) t.latencyLeft -= step;
      else t.bytesLeft -= rate * step;
    }
    for (let index = transfers.length - 1; index >= 0; index--) {
      const t = transfers[index] as Transfer;
      if (t.latencyLeft > 1e-12 || t.bytesLeft > 1e-6) {
        if (t.latencyLeft < 1e-12) t.latencyLeft = 0;
        continue;
      }
      transfers.splice(index, 1);
      running[t.group] = (running[t.group] ?? 1) - 1;
      if ((running[t.group] ?? 0) === 0 && (pending[t.group]?.length ?? 0) === 0) {
        groupSeconds[t.group] = now - (groupStart[t.group] ?? now);
        activeGroups -= 1;
      }
    }
    fill();
  }
  return { seconds: now + plan.sequentialAfter * model.latencySeconds, groupSeconds };
}

/** Sequential S3 requests besides the part copies, as counted in the sandbox (BENCHMARKS.md). */
// 4 rounds at 1 GiB (71 requests, 64 of them part copies) after the benchmark's HEAD (standing in for the
// object-created handler's, whose attributes the job carries): ListMultipartUploads, the source's HEAD,
// the replica guard's HEADs of source and replica key and CreateMultipartUpload, all side by side; the
// part copies; then the guard's HEAD of the source and CompleteMultipartUpload (on the condition of the
// replica state read beside Create; the parts' ETags come from the Map's results). The AWS CLI makes the
// same number: HEAD, GetObjectTagging, Create, the parts, Complete.
// It was 9 rounds, then 5 (CreateMultipartUpload after the reads: `FERRY_BEFORE_CREATE_AFTER_READS`).
const FERRY_BEFORE = 2;
/** The code before the upload was created beside the reads (the main branch's, for `ferry-main`). */
export const FERRY_BEFORE_CREATE_AFTER_READS = 3;
const FERRY_AFTER = 2;

/** ListParts pages the completion needs: none when the Map's results carry every part. */
const listPartsPages = (parts: number) => (parts > MAX_CARRIED_PARTS ? Math.ceil(parts / 1000) : 0);

export function ferryPlan(
  size: number,
  sizing: PartSizing,
  before = FERRY_BEFORE,
): RequestPlan & { partSize: number } {
  const parts = planParts(size, { preferredPartSize: partSizeFor(size, sizing) });
  const batches = planBatches(parts, sizing);
  const sizes = parts.map((part) => part.end - part.start + 1);
  return {
    partSize: sizes[0] ?? size,
    sequentialBefore: before,
    sequentialAfter: FERRY_AFTER + listPartsPages(parts.length),
    groups: batches.map(({ first, last }) => sizes.slice(first - 1, last)),
    groupConcurrency: Math.min(MAP_MAX_CONCURRENCY, batches.length),
    partConcurrency: sizing.partConcurrency,
  };
}

/**
 * The AWS CLI (s3transfer): multipart above `multipart_threshold` (8 MiB by default) in parts of
 * `multipart_chunksize`, doubled until 10,000 parts cover the object (its ChunksizeAdjuster), within
 * 5 MiB–5 GiB; `max_concurrent_requests` in flight; a HEAD and GetObjectTagging before, Create too.
 */
export function awsCliPlan(size: number, chunkSize: number, concurrency: number): RequestPlan {
  let chunk = Math.min(MAX_PART_SIZE, Math.max(MIN_PART_SIZE, chunkSize));
  while (Math.ceil(size / chunk) > MAX_PARTS) chunk = Math.min(MAX_PART_SIZE, chunk * 2);
  return sequentialTool(3, 1, uniformParts(size, chunk), concurrency);
}

/** rclone 1.60: one CopyObject below `--s3-copy-cutoff` (4.656 GiB), else parts of that size, one at a time. */
export function rclonePlan(size: number, cutoff = 4.656 * 1024 ** 3): RequestPlan {
  if (size < cutoff) return sequentialTool(4, 0, [size], 1);
  return sequentialTool(6, 1, uniformParts(size, Math.floor(cutoff)), 1);
}

/** Parts of `chunk` bytes, the last one smaller: how the peers split an object. */
function uniformParts(size: number, chunk: number): number[] {
  const count = Math.ceil(size / chunk);
  return Array.from({ length: count }, (_, i) => (i < count - 1 ? chunk : size - chunk * (count - 1)));
}

/** A one-process tool: its requests before and after, and all its parts in one group. */
const sequentialTool = (
  before: number,
  after: number,
  parts: number[],
  concurrency: number,
): RequestPlan => ({
  sequentialBefore: before,
  sequentialAfter: after,
  groups: [parts],
  groupConcurrency: 1,
  partConcurrency: concurrency,
});

/**
 * What one Ferry copy costs beyond what every copier pays (data transfer and storage are the same): its S3
 * requests (UploadPartCopy, Create, Complete, ListMultipartUploads at the PUT/COPY price; HEADs at
 * the GET price), its Lambda invocations (prepare, each batch for as long as it runs, complete, at the
 * deployed 512 MB on Arm; prepare and complete assumed 1 s each) and its Step Functions transitions
 * (ChooseMode, StartUpload, CopyParts, one per batch, CompleteUpload, Copied).
 */
export function ferryCost(plan: RequestPlan, groupSeconds: number[], memoryMb = 512) {
  const parts = plan.groups.reduce((sum, group) => sum + group.length, 0);
  // ListMultipartUploads, Create, Complete (and ListParts pages only above MAX_CARRIED_PARTS); HEADs: the
  // source, whether it is current and the replica key before Create, whether it is current before Complete.
  const tier1 = parts + 3 + listPartsPages(parts);
  const tier2 = 4;
  const s3 = tier1 * PRICES.s3Tier1PerRequest + tier2 * PRICES.s3Tier2PerRequest;
  const gb = memoryMb / 1024;
  const invocations = plan.groups.length + 2;
  const seconds = groupSeconds.reduce((a, b) => a + b, 0) + 2;
  const lambda = invocations * PRICES.lambdaPerRequest + gb * seconds * PRICES.lambdaArmPerGbSecond;
  const stepFunctions = (5 + plan.groups.length) * PRICES.stepFunctionsPerTransition;
  return { s3, lambda, stepFunctions, total: s3 + lambda + stepFunctions, requests: tier1 + tier2 };
}

export const CLI_SWEEP = {
  chunkSizes: [8, 16, 64, 256].map((m) => m * MiB),
  concurrencies: [10, 32, 64],
};
