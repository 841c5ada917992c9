// Part of `npm run bench -- requests`: objectCreated delivered directly (one invocation per event) against
// the SQS batch path (one invocation per batch), measured with the functions as packaged
// (local/bundled-function.ts) against a sandbox whose S3 answers each request after a modelled latency.
// Measured: S3 requests, invocations, log events and bytes, and each invocation's wall and CPU time and peak
// memory. Computed from those and list prices: SQS requests, Lambda GB-s at each memory size, $ per million.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readServerlessFile } from '#deploy/function-bundles';
import {
  buildEntryBundle,
  buildFunctionBundle,
  bundleEnvironment,
  type FunctionBundle,
  runBundle,
  writeRulesFile,
} from '#local/bundled-function';
import { SANDBOX_CREDENTIALS, startSandbox } from '#local/sandbox';
import { sqsRecordOf } from '#local/sqs-event-source';
import { parseConfig } from '#rules/load';
import { LOG_PRICE_PER_BYTE, systemLines, tallyInvocation } from './log-volume.ts';
import { PRICES } from './prices.ts';
import { BENCH_CONFIG, heldBackObjectEvents, OBJECT_SCENARIOS } from './request-count.ts';

/**
 * SQS Standard queue requests, first 100 billion a month: $0.40 per million, each 64 KB chunk of a payload
 * one request (Amazon SQS pricing page, https://aws.amazon.com/sqs/pricing/). An S3 event is about 1.2 KB.
 */
export const SQS_PRICE_PER_REQUEST = 0.4 / 1_000_000;
/** ReceiveMessage and DeleteMessageBatch take at most 10 messages (API_ReceiveMessage.html, MaxNumberOfMessages). */
export const SQS_MESSAGES_PER_CALL = 10;
/** At 1,769 MB a function has one vCPU (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html). */
export const MB_PER_VCPU = 1769;
export const MEMORY_SIZES = [128, 256, 512, 1024, 1769] as const;

export interface DeliveryPath {
  label: string;
  /** 0: direct, one event per invocation. */
  batchSize: number;
  objects: number;
  invocations: number;
  s3: { head: number; copy: number; other: number };
  logs: { events: number; bytes: number };
  /** Per warm invocation, medians over the runs after the first; peak memory the largest seen. */
  wallMs: number;
  cpuMs: number;
  /** Per invocation that was its process's first (run 0): what a cold start's invocation adds. */
  firstWallMs: number;
  firstCpuMs: number;
  maxRssMb: number;
}

export interface PathCost {
  memoryMb: number;
  /** Modelled billed duration of one invocation at that memory (ms). */
  durationMs: number;
  perObject: {
    s3: number;
    sqs: number;
    sqsRequests: number;
    lambda: number;
    gbSeconds: number;
    logs: number;
    total: number;
  };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

/**
 * The duration one invocation would bill at `memoryMb`: its waiting (wall − CPU, measured here) as is, and
 * its CPU time stretched by the share of a vCPU the memory buys (memory / 1,769 MB, at most one: the handler
 * is one Node thread). A model, not a Lambda measurement: it assumes the waiting (S3's latency) does not
 * change with memory and that this host's CPU is as fast as a Graviton vCPU.
 */
export function modelledDurationMs(path: Pick<DeliveryPath, 'wallMs' | 'cpuMs'>, memoryMb: number): number {
  const share = Math.min(1, memoryMb / MB_PER_VCPU);
  return Math.ceil(Math.max(0, path.wallMs - path.cpuMs) + path.cpuMs / share);
}

/**
 * SQS requests per object of the batch path, computed (not counted): EventBridge's SendMessage of the event
 * (one request, the event under 64 KB), then the poller's ReceiveMessage and DeleteMessageBatch, at best
 * one each per 10 messages of a batch. Empty receives of an idle queue are a monthly constant, not per object.
 */
export const sqsRequestsPerObject = (batchSize: number): number =>
  batchSize === 0 ? 0 : 1 + (2 * Math.ceil(batchSize / SQS_MESSAGES_PER_CALL)) / batchSize;

export function costOf(path: DeliveryPath, memoryMb: number): PathCost {
  const durationMs = modelledDurationMs(path, memoryMb);
  const perInvocation = path.invocations / path.objects;
  const gbSeconds = perInvocation * (memoryMb / 1024) * (durationMs / 1000);
  const lambda = perInvocation * PRICES.lambdaPerRequest + gbSeconds * PRICES.lambdaArmPerGbSecond;
  const s3 =
    (path.s3.copy * PRICES.s3Tier1PerRequest + (path.s3.head + path.s3.other) * PRICES.s3Tier2PerRequest) /
    path.objects;
  const sqsRequests = sqsRequestsPerObject(path.batchSize);
  const sqs = sqsRequests * SQS_PRICE_PER_REQUEST;
  const logs = (path.logs.bytes / path.objects) * LOG_PRICE_PER_BYTE;
  return {
    memoryMb,
    durationMs,
    perObject: { s3, sqs, sqsRequests, lambda, gbSeconds, logs, total: s3 + sqs + lambda + logs },
  };
}

/**
 * The memory a path should run with: the cheapest of MEMORY_SIZES whose room is at least 1.5× the peak
 * memory measured (headroom for larger events and batches than the benchmark's).
 */
export function chosenMemory(path: DeliveryPath): PathCost {
  const fitting = MEMORY_SIZES.filter((size) => size >= path.maxRssMb * 1.5);
  const costs = (fitting.length > 0 ? fitting : [MEMORY_SIZES[MEMORY_SIZES.length - 1] ?? 1769]).map((size) =>
    costOf(path, size),
  );
  return costs.reduce((best, cost) => (cost.perObject.total < best.perObject.total ? cost : best));
}

const QUEUE_ARN = 'arn:aws:sqs:us-east-1:000000000000:ferry-bench-object-created';

/** Measures each path on the same objects (one destination): direct, then batches of each size. */
export async function measureDelivery(options: {
  objects: number;
  batchSizes: number[];
  runs: number;
  latencyMs: number;
  logging: {
    logFormat: 'Text' | 'JSON';
    systemLogLevel: 'DEBUG' | 'INFO' | 'WARN';
    applicationLogLevel: string;
  };
  seed: number;
}): Promise<DeliveryPath[]> {
  const sandbox = await startSandbox({
    config: parseConfig(BENCH_CONFIG, 'requests.yml'),
    port: 0,
    shaping: { latencyMs: options.latencyMs },
  });
  const folder = mkdtempSync(join(tmpdir(), 'ferry-delivery-'));
  try {
    const scenario = OBJECT_SCENARIOS[0];
    if (!scenario) throw new Error('no object scenario');
    const events = await heldBackObjectEvents(sandbox, scenario, options.objects, options.seed);
    const service = readServerlessFile();
    const direct = await buildFunctionBundle(service, 'objectCreated', join(folder, 'direct'));
    const batch = await buildEntryBundle(
      service,
      'functions/object-created-batch.ts',
      'functions/object-created-batch',
      join(folder, 'batch'),
    );
    const env = {
      ...bundleEnvironment(service, writeRulesFile(folder, 'requests', BENCH_CONFIG), options.logging),
      AWS_ACCESS_KEY_ID: SANDBOX_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: SANDBOX_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL: sandbox.endpoint,
    };
    const paths: DeliveryPath[] = [];
    for (const batchSize of [0, ...options.batchSizes]) {
      const inputs =
        batchSize === 0
          ? events
          : chunks(events, batchSize).map((chunk, b) => ({
              Records: chunk.map((event, i) =>
                sqsRecordOf(QUEUE_ARN, {
                  id: `00000000-0000-4000-8000-${String(b * batchSize + i).padStart(12, '0')}`,
                  body: JSON.stringify(event),
                  sentAt: Date.now(),
                  receives: 1,
                }),
              ),
            }));
      paths.push(
        await measurePath(sandbox, batchSize === 0 ? direct : batch, env, folder, inputs, {
          label: batchSize === 0 ? 'direct (EventBridge → Lambda)' : `SQS, batches of ${batchSize}`,
          batchSize,
          objects: events.length,
          runs: options.runs,
          logging: options.logging,
        }),
      );
    }
    return paths;
  } finally {
    rmSync(folder, { recursive: true, force: true });
    await sandbox.stop();
  }
}

const chunks = <T>(items: readonly T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

async function measurePath(
  sandbox: Awaited<ReturnType<typeof startSandbox>>,
  bundle: FunctionBundle,
  env: Record<string, string>,
  cwd: string,
  inputs: readonly unknown[],
  path: {
    label: string;
    batchSize: number;
    objects: number;
    runs: number;
    logging: Parameters<typeof systemLines>[0];
  },
): Promise<DeliveryPath> {
  const walls: number[] = [];
  const cpus: number[] = [];
  let maxRssMb = 0;
  let logEvents = 0;
  let logBytes = 0;
  let s3 = { head: 0, copy: 0, other: 0 };
  // Run 0 counts requests and logs, each invocation the first of its process. The runs after it time warm
  // invocations, as Lambda's are but for a cold start: each process first handles another input (the next
  // one) untimed. Their timings are the ones reported, when there are any.
  const warmWalls: number[] = [];
  const warmCpus: number[] = [];
  for (let run = 0; run < path.runs; run += 1) {
    sandbox.requests.clear();
    for (const [index, input] of inputs.entries()) {
      const warmUp = run > 0 && inputs.length > 1 ? inputs[(index + 1) % inputs.length] : undefined;
      const result = await runBundle(bundle, env, {
        event: input,
        cwd,
        ...(warmUp !== undefined ? { warmUp } : {}),
      });
      if (result.status !== 0 || !result.timing) throw new Error(`${path.label}: ${result.stderr}`);
      if (path.batchSize > 0 && JSON.parse(result.result).batchItemFailures.length > 0)
        throw new Error(`${path.label}: records failed: ${result.result}`);
      (run > 0 ? warmWalls : walls).push(result.timing.wallMs);
      (run > 0 ? warmCpus : cpus).push(result.timing.cpuMs);
      maxRssMb = Math.max(maxRssMb, result.timing.maxRssMb);
      if (run === 0) {
        const system = systemLines(path.logging, {
          requestId: '00000000-0000-0000-0000-000000000000',
          durationMs: result.timing.wallMs,
          memoryMb: 256,
          maxMemoryMb: Math.round(result.timing.maxRssMb),
        });
        const tally = tallyInvocation(result.invocationOutput, system);
        logEvents += tally.events;
        logBytes += tally.bytes;
      }
    }
    if (run === 0) {
      const head = sandbox.requests.get('HeadObject') ?? 0;
      const copy = sandbox.requests.get('CopyObject') ?? 0;
      const all = [...sandbox.requests.values()].reduce((sum, count) => sum + count, 0);
      s3 = { head, copy, other: all - head - copy };
    }
  }
  return {
    label: path.label,
    batchSize: path.batchSize,
    objects: path.objects,
    invocations: inputs.length,
    s3,
    logs: { events: logEvents, bytes: logBytes },
    wallMs: median(warmWalls.length > 0 ? warmWalls : walls),
    cpuMs: median(warmCpus.length > 0 ? warmCpus : cpus),
    firstWallMs: median(walls),
    firstCpuMs: median(cpus),
    maxRssMb,
  };
}

const usd = (value: number) => `$${(value * 1_000_000).toFixed(2)}`;
const S3_REPLICATION_PER_OBJECT = PRICES.s3Tier1PerRequest;

/** The side-by-side table, and the memory sweep behind the chosen sizes. */
export function deliveryReport(paths: readonly DeliveryPath[], settings: string): string {
  const lines = [
    '#### Delivery: direct against SQS batches (one destination, per object)',
    '',
    `${settings}.`,
    '',
    '| path | S3 requests | SQS requests (computed) | invocations | log events, bytes | per warm invocation: wall, CPU, peak memory (measured; first invocation: wall, CPU) | memory chosen | billed ms per invocation (modelled) | Lambda GB-s | $ per 1M objects: S3 + SQS + Lambda + logs | Ferry − S3 Replication (goal ≤ $0.50) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const path of paths) {
    const cost = chosenMemory(path);
    const per = (value: number) => Number((value / path.objects).toFixed(3));
    const { perObject } = cost;
    const overhead = perObject.total - S3_REPLICATION_PER_OBJECT;
    lines.push(
      `| ${path.label} | HEAD ${per(path.s3.head)}, COPY ${per(path.s3.copy)} | ${perObject.sqsRequests.toFixed(2)} | ${per(path.invocations)} | ${per(path.logs.events)}, ${Math.round(path.logs.bytes / path.objects)} B | ${path.wallMs.toFixed(0)} ms, ${path.cpuMs.toFixed(0)} ms, ${path.maxRssMb.toFixed(0)} MB (${path.firstWallMs.toFixed(0)} ms, ${path.firstCpuMs.toFixed(0)} ms) | ${cost.memoryMb} MB | ${cost.durationMs} | ${perObject.gbSeconds.toFixed(5)} | ${usd(perObject.total)} (${usd(perObject.s3)} + ${usd(perObject.sqs)} + ${usd(perObject.lambda)} + ${usd(perObject.logs)}) | ${usd(overhead)}${overhead * 1_000_000 > 0.5 ? ' ✘' : ''} |`,
    );
  }
  lines.push(
    '',
    `| path | ${MEMORY_SIZES.map((size) => `${size} MB`).join(' | ')} |`,
    `| --- | ${MEMORY_SIZES.map(() => '---').join(' | ')} |`,
  );
  for (const path of paths) {
    lines.push(
      `| ${path.label} | ${MEMORY_SIZES.map((size) => {
        const cost = costOf(path, size);
        return `${cost.durationMs} ms, ${usd(cost.perObject.lambda)}`;
      }).join(' | ')} |`,
    );
  }
  return lines.join('\n');
}
