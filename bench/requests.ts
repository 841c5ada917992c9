// npm run bench -- requests [--objects 200] [--copies 3] [--minutes 10,60,360] [--seed 1]
//                            [--completion events,polling]
//
// Requests and cost per replicated item, counted in the sandbox with the real handlers and state machines
// (bench/request-count.ts): S3 requests by operation per small object (1–100 KB), EC2 API calls per snapshot
// and AMI copy of a few durations, Lambda invocations, Step Functions state transitions, DynamoDB requests
// and the request units they consumed (the copy-waiters table). The EC2 rows run once per completion mode
// named: `events` as deployed (AwaitCopy, the copy's event invoking ec2CopyCompleted), `polling` the
// adaptive poll, side by side. Priced at the published us-east-1 prices (bench/prices.ts), beside what S3
// Replication and DLM / AWS Backup charge for the same copy. Writes bench/results/requests.{md,json}.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parse } from 'yaml';
import { readServerlessFile } from '#deploy/function-bundles';
import { buildFunctionBundle, bundleEnvironment, runBundle, writeRulesFile } from '#local/bundled-function';
import { CONDITION_FAILED_SUFFIX } from '#local/dynamodb';
import { SANDBOX_CREDENTIALS, type Sandbox } from '#local/sandbox';
import { DEPLOYED_EC2_COMPLETION, type Ec2CompletionMode } from '../statemachines/ec2-copy.ts';
import { deliveryReport, measureDelivery } from './delivery.ts';
import {
  addTally,
  emptyTally,
  LOG_PRICE_PER_BYTE,
  type LogTally,
  systemLines,
  tallyInvocation,
} from './log-volume.ts';
import { PRICES } from './prices.ts';
import {
  BENCH_CONFIG,
  countEc2Copies,
  countObjects,
  type Ec2Scenario,
  heldBackObjectEvents,
  OBJECT_SCENARIOS,
  type ObjectScenario,
  startBenchSandbox,
  type Tally,
} from './request-count.ts';

export { PRICES };

const S3_TIER_1 = new Set([
  'PutObject',
  'CopyObject',
  'UploadPart',
  'UploadPartCopy',
  'CreateMultipartUpload',
  'CompleteMultipartUpload',
  'ListParts',
  'ListObjects',
  'ListMultipartUploads',
  'PutObjectTagging',
]);
/** Requests S3 does not charge for. */
const S3_FREE = new Set(['DeleteObject', 'DeleteObjects', 'AbortMultipartUpload']);

/**
 * Billed duration assumed per invocation (ms), on AWS rather than in the sandbox (whose local S3 and EC2
 * answer in microseconds): the object handler makes one HEAD and cross-Region CopyObjects of ≤ 100 KB in
 * parallel; the EC2 handlers and steps make one to three EC2 calls (and StartExecution).
 */
export const ASSUMED_MS: Record<string, number> = {
  objectCreated: 200,
  snapshotCreated: 150,
  imageAvailable: 150,
  ec2CopyStep: 100,
  objectCopyStep: 1000,
  /** A source HEAD and GetObjectTagging, then a replica HEAD and PutObjectTagging per destination. */
  objectTagsChanged: 200,
  /** One Describe of the source, then per destination a Describe of the copies and Create/DeleteTags. */
  ec2TagsChanged: 200,
  /** A Query of the slot queue, a claim (PutItem), a GetItem, SendTaskSuccess and a DeleteItem. */
  ec2CopyCompleted: 100,
};

/** Each invocation counted in a Tally, by the serverless.yml function that serves it. */
const functionOf = (counted: string, kind: 'objects' | 'ec2'): string => {
  if (counted.startsWith('step ')) return kind === 'objects' ? 'objectCopyStep' : 'ec2CopyStep';
  return counted.replace(/-(\w)/g, (_, letter: string) => letter.toUpperCase());
};

/** Memory (MB) of each function as deployed: its own memorySize in serverless.yml, else the provider's. */
export function deployedMemory(serverlessYml: string): Record<string, number> {
  const document = parse(serverlessYml) as {
    provider: { memorySize: number };
    functions: Record<string, { memorySize?: number }>;
  };
  return Object.fromEntries(
    Object.entries(document.functions).map(([name, fn]) => [
      name,
      fn.memorySize ?? document.provider.memorySize,
    ]),
  );
}

export interface Cost {
  s3: number;
  lambda: number;
  stepFunctions: number;
  /** DynamoDB on-demand request units (the copy-waiters table). */
  dynamodb: number;
  /** CloudWatch Logs ingestion, from the logs sample (0 when none was taken). */
  logs: number;
  total: number;
}

/** serverless.yml's provider.logs.lambda, with Lambda's defaults where it says nothing (Text, INFO). */
export function deployedLogging(serverlessYml: string) {
  const document = parse(serverlessYml) as {
    provider: {
      logs?: { lambda?: { logFormat?: string; applicationLogLevel?: string; systemLogLevel?: string } };
    };
  };
  const lambda = document.provider.logs?.lambda ?? {};
  return {
    logFormat: (lambda.logFormat ?? 'Text') as 'Text' | 'JSON',
    applicationLogLevel: lambda.applicationLogLevel ?? 'INFO',
    systemLogLevel: (lambda.systemLogLevel ?? 'INFO') as 'DEBUG' | 'INFO' | 'WARN',
  };
}

/**
 * Runs each held-back event once through the objectCreated bundle (a child process per event, against the
 * sandbox) and tallies its log events and bytes, Lambda's platform lines included. Returns the total and
 * the number of invocations sampled.
 */
export async function sampleLogs(
  sandbox: Sandbox,
  events: unknown[],
  logging: ReturnType<typeof deployedLogging>,
  memoryMb: number,
): Promise<{ tally: LogTally; invocations: number }> {
  const folder = mkdtempSync(join(tmpdir(), 'ferry-logs-'));
  try {
    const service = readServerlessFile();
    const bundle = await buildFunctionBundle(service, 'objectCreated', join(folder, 'objectCreated'));
    const env = {
      ...bundleEnvironment(service, writeRulesFile(folder, 'requests', BENCH_CONFIG), logging),
      AWS_ACCESS_KEY_ID: SANDBOX_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: SANDBOX_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL: sandbox.endpoint,
    };
    let tally = emptyTally();
    for (const event of events) {
      const run = await runBundle(bundle, env, { event, cwd: folder });
      if (run.status !== 0) throw new Error(`objectCreated bundle failed: ${run.stderr}`);
      // The platform lines, with ASSUMED_MS as the duration and a request id of AWS's length.
      const system = systemLines(logging, {
        requestId: '00000000-0000-0000-0000-000000000000',
        durationMs: ASSUMED_MS.objectCreated ?? 200,
        memoryMb,
        maxMemoryMb: 90,
      });
      tally = addTally(tally, tallyInvocation(run.invocationOutput, system));
    }
    return { tally, invocations: events.length };
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

/**
 * What a tally costs per item. EC2 API calls, AWS-service events on EventBridge and Step Functions API
 * calls (SendTaskSuccess) are free; DynamoDB is billed by the request units consumed.
 */
export function costPerItem(
  tally: Tally,
  kind: 'objects' | 'ec2',
  memory: Record<string, number>,
  logBytesPerItem = 0,
): Cost {
  let s3 = 0;
  for (const [operation, count] of Object.entries(tally.s3)) {
    if (S3_FREE.has(operation)) continue;
    s3 += count * (S3_TIER_1.has(operation) ? PRICES.s3Tier1PerRequest : PRICES.s3Tier2PerRequest);
  }
  let lambda = 0;
  for (const [counted, invocations] of Object.entries(tally.lambda)) {
    const name = functionOf(counted, kind);
    const gbSeconds = ((memory[name] ?? 256) / 1024) * ((ASSUMED_MS[name] ?? 200) / 1000);
    lambda += invocations * (PRICES.lambdaPerRequest + gbSeconds * PRICES.lambdaArmPerGbSecond);
  }
  const stepFunctions = tally.transitions * PRICES.stepFunctionsPerTransition;
  const dynamodb =
    tally.dynamodbUnits.write * PRICES.dynamoDbPerWriteUnit +
    tally.dynamodbUnits.read * PRICES.dynamoDbPerReadUnit;
  const per = (value: number) => value / tally.items;
  return {
    s3: per(s3),
    lambda: per(lambda),
    stepFunctions: per(stepFunctions),
    dynamodb: per(dynamodb),
    logs: logBytesPerItem * LOG_PRICE_PER_BYTE,
    total: per(s3 + lambda + stepFunctions + dynamodb) + logBytesPerItem * LOG_PRICE_PER_BYTE,
  };
}

const perItem = (map: Record<string, number>, items: number) =>
  Object.entries(map)
    .filter(([, count]) => count > 0)
    .map(([key, count]) => `${key} ${Number((count / items).toFixed(2))}`)
    .join(', ') || '—';
const total = (map: Record<string, number>) => Object.values(map).reduce((sum, count) => sum + count, 0);
const dollars = (value: number, digits = 2) => `$${value.toFixed(digits)}`;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

export interface ObjectRow {
  scenario: ObjectScenario;
  tally: Tally;
  cost: Cost;
  /** Log events and bytes per object, from the sample (undefined when none was taken). */
  logs?: { events: number; bytes: number; metricEvents: number; metricBytes: number; sampled: number };
}
export interface Ec2Row {
  scenario: Ec2Scenario;
  /** How the copy machine noticed the copy's end. */
  completion: Ec2CompletionMode;
  tally: Tally & { perCopyTransitions: number[] };
  cost: Cost;
}

/** Runs every scenario in one sandbox. Exported for the test that runs it on a tiny input. */
export async function runRequests(options: {
  objects: number;
  copies: number;
  minutes: number[];
  seed: number;
  memory: Record<string, number>;
  /** The completion modes the EC2 rows run with, each in its own sandbox (default: the deployed one). */
  completion?: readonly Ec2CompletionMode[];
  /** Objects per scenario run through the bundled objectCreated function to count its logs (0: none). */
  logSample?: number;
  logging?: ReturnType<typeof deployedLogging>;
}): Promise<{ objects: ObjectRow[]; ec2: Ec2Row[] }> {
  const { sandbox, deliveries } = await startBenchSandbox();
  try {
    const objects: ObjectRow[] = [];
    for (const [i, scenario] of OBJECT_SCENARIOS.entries()) {
      const tally = await countObjects(sandbox, deliveries, scenario, options.objects, options.seed + i);
      let logs: ObjectRow['logs'];
      if (options.logSample && options.logging) {
        // Other keys than the counted ones (seed offset), so each sampled object is new to the pipeline.
        const events = await heldBackObjectEvents(
          sandbox,
          scenario,
          options.logSample,
          options.seed + 1000 + i,
        );
        const sample = await sampleLogs(
          sandbox,
          events,
          options.logging,
          options.memory.objectCreated ?? 256,
        );
        const per = (value: number) => value / sample.invocations;
        logs = {
          events: per(sample.tally.events),
          bytes: per(sample.tally.bytes),
          metricEvents: per(sample.tally.metricEvents),
          metricBytes: per(sample.tally.metricBytes),
          sampled: sample.invocations,
        };
      }
      objects.push({
        scenario,
        tally,
        cost: costPerItem(tally, 'objects', options.memory, logs?.bytes ?? 0),
        ...(logs ? { logs } : {}),
      });
    }
    const ec2: Ec2Row[] = [];
    for (const completion of options.completion ?? [DEPLOYED_EC2_COMPLETION]) {
      ec2.push(...(await runEc2Rows(options, completion)));
    }
    return { objects, ec2 };
  } finally {
    await sandbox.stop();
  }
}

/** The EC2 rows of one completion mode, in a sandbox of their own that runs the machines that way. */
async function runEc2Rows(
  options: { copies: number; minutes: number[]; memory: Record<string, number> },
  completion: Ec2CompletionMode,
): Promise<Ec2Row[]> {
  const { sandbox, deliveries } = await startBenchSandbox(BENCH_CONFIG, completion);
  try {
    const rows: Ec2Row[] = [];
    for (const kind of ['snapshot', 'image'] as const) {
      for (const minutes of options.minutes) {
        const scenario: Ec2Scenario = { kind, minutes, label: durationLabel(minutes) };
        const tally = await countEc2Copies(sandbox, deliveries, scenario, options.copies);
        rows.push({ scenario, completion, tally, cost: costPerItem(tally, 'ec2', options.memory) });
      }
    }
    return rows;
  } finally {
    await sandbox.stop();
  }
}

/** What the delivery section measured with, for its heading. */
export const deliverySettings = (options: { objects: number; runs: number; latencyMs: number }) =>
  `${options.objects} objects of 1–100 KB, one destination, each path run ${options.runs} times through the ` +
  `packaged function (a process per invocation, init excluded from the timing) against the sandbox with S3 ` +
  `answering every request after ${options.latencyMs} ms; wall and CPU time are medians per invocation on ` +
  `this host, not on Lambda; SQS requests and billed durations are computed (bench/delivery.ts)`;

/** Transitions per copy each machine aims at: issue 4's for the poll, issue 17's when the event ends it. */
const TRANSITION_GOAL: Record<Ec2CompletionMode, number> = { polling: 40, events: 10 };

const kindLabel = (scenario: Ec2Scenario) =>
  scenario.kind === 'snapshot' ? 'EBS snapshot' : 'AMI (1 volume)';
const round = (value: number) => Number(value.toFixed(2));

/**
 * Events against polling for each EC2 row run both ways: the figures per copy and their ratio (events /
 * polling). Nothing when only one mode ran.
 */
function sideBySide(rows: readonly Ec2Row[]): string[] {
  const polled = rows.filter((row) => row.completion === 'polling');
  const pairs = rows.flatMap((row) => {
    if (row.completion !== 'events') return [];
    const other = polled.find(
      (candidate) =>
        candidate.scenario.kind === row.scenario.kind && candidate.scenario.minutes === row.scenario.minutes,
    );
    return other ? [{ events: row, polling: other }] : [];
  });
  if (pairs.length === 0) return [];
  const cell = (polling: number, events: number, format = (value: number) => String(round(value))) =>
    `${format(polling)} → ${format(events)} (${polling === 0 ? '—' : `${(events / polling).toFixed(2)}×`})`;
  const perCopy = (row: Ec2Row, map: Record<string, number>) => total(map) / row.tally.items;
  // A failed condition is counted twice in the tally (the request, and apart): count requests once.
  const requestsOf = (map: Record<string, number>) =>
    Object.fromEntries(
      Object.entries(map).filter(([operation]) => !operation.endsWith(CONDITION_FAILED_SUFFIX)),
    );
  const lines = [
    '',
    '#### Events against polling, per copy (polling → events, and events / polling)',
    '',
    '| kind | copy | EC2 API calls | Lambda invocations | transitions (median) | DynamoDB requests | Ferry $ per 1,000 copies |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const { events, polling } of pairs) {
    lines.push(
      `| ${kindLabel(events.scenario)} | ${events.scenario.label} | ` +
        `${cell(perCopy(polling, polling.tally.ec2), perCopy(events, events.tally.ec2))} | ` +
        `${cell(perCopy(polling, polling.tally.lambda), perCopy(events, events.tally.lambda))} | ` +
        `${cell(median(polling.tally.perCopyTransitions), median(events.tally.perCopyTransitions))} | ` +
        `${cell(perCopy(polling, requestsOf(polling.tally.dynamodb)), perCopy(events, requestsOf(events.tally.dynamodb)))} | ` +
        `${cell(1000 * polling.cost.total, 1000 * events.cost.total, (value) => dollars(value, 3))} |`,
    );
  }
  return lines;
}

const durationLabel = (minutes: number) => (minutes < 60 ? `${minutes} min` : `${minutes / 60} h`);

/** S3 Replication charges one replication PUT request per object and destination (at the destination's class). */
const s3ReplicationPerObject = (destinations: number) => destinations * PRICES.s3Tier1PerRequest;

export function requestsReport(rows: { objects: ObjectRow[]; ec2: Ec2Row[] }, settings: string): string {
  const lines = [`${settings}.`, '', '#### Small objects (1–100 KB), per source object', ''];
  lines.push(
    '| scenario | goal | S3 requests per object | per destination | Lambda invocations | Step Functions transitions | log events, bytes per object (of which EMF) | Ferry $ per 1M objects (S3 + Lambda + SFN + logs) | S3 Replication: requests, $ per 1M objects | Ferry − S3 Replication, $ per 1M (goal ≤ $0.50) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  );
  for (const { scenario, tally, cost, logs } of rows.objects) {
    const n = tally.items;
    const heads = (tally.s3.HeadObject ?? 0) / n;
    const copies = (tally.s3.CopyObject ?? 0) / n;
    const copiesExpected = scenario.copied ? scenario.destinations : 0;
    const met = copies === copiesExpected && heads <= 1;
    const goal = scenario.copied
      ? `${scenario.destinations} COPY + ≤ 1 HEAD`
      : '0 COPY + ≤ 1 HEAD (+ tag read)';
    const perDestination = scenario.copied
      ? `COPY ${(copies / scenario.destinations).toFixed(2)}, HEAD ${(heads / scenario.destinations).toFixed(2)}`
      : '—';
    const replication = scenario.copied
      ? `${scenario.destinations} PUT, ${dollars(1e6 * s3ReplicationPerObject(scenario.destinations))}`
      : '0 (filtered out), $0.00';
    const logCell = logs
      ? `${logs.events.toFixed(1)} events, ${Math.round(logs.bytes)} B (EMF ${logs.metricEvents.toFixed(1)}, ${Math.round(logs.metricBytes)} B); ${logs.sampled} sampled`
      : 'not sampled';
    const overhead =
      1e6 * (cost.total - (scenario.copied ? s3ReplicationPerObject(scenario.destinations) : 0));
    lines.push(
      `| ${scenario.name} | ${goal} | ${perItem(tally.s3, n)}${met ? '' : ' ✘'} | ${perDestination} | ` +
        `${perItem(tally.lambda, n)} | ${(tally.transitions / n).toFixed(2)} | ${logCell} | ` +
        `${dollars(1e6 * cost.total)} (${dollars(1e6 * cost.s3)} + ${dollars(1e6 * cost.lambda)} + ${dollars(1e6 * cost.stepFunctions)} + ${dollars(1e6 * cost.logs)}) | ${replication} | ` +
        `${dollars(overhead)}${overhead > 0.5 ? ' ✘' : ''} |`,
    );
  }
  lines.push('', '#### EBS snapshot and AMI copies, per copy', '');
  lines.push(
    '| kind | copy | completion | goal (transitions) | EC2 API calls per copy | Lambda invocations per copy | transitions per copy, median (min–max) | DynamoDB requests per copy | DynamoDB units per copy: write, read | Ferry $ per copy (Lambda + SFN + DynamoDB) | Ferry $ per 1,000 copies | DLM / AWS Backup request fee |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  );
  for (const { scenario, completion, tally, cost } of rows.ec2) {
    const transitions = tally.perCopyTransitions;
    const worst = Math.max(...transitions);
    const goal = TRANSITION_GOAL[completion];
    const n = tally.items;
    lines.push(
      `| ${kindLabel(scenario)} | ${scenario.label} | ${completion} | ≤ ${goal} | ` +
        `${round(total(tally.ec2) / n)} (${perItem(tally.ec2, n)}) | ` +
        `${round(total(tally.lambda) / n)} (${perItem(tally.lambda, n)}) | ` +
        `${median(transitions)} (${Math.min(...transitions)}–${worst})${worst > goal ? ' ✘' : ''} | ` +
        `${perItem(tally.dynamodb, n)} | ` +
        `${round(tally.dynamodbUnits.write / n)}, ${round(tally.dynamodbUnits.read / n)} | ` +
        `${dollars(cost.total, 6)} (${dollars(cost.lambda, 6)} + ${dollars(cost.stepFunctions, 6)} + ${dollars(cost.dynamodb, 7)}) | ` +
        `${dollars(1000 * cost.total, 3)} | none |`,
    );
  }
  lines.push(...sideBySide(rows.ec2));
  lines.push(
    '',
    '✘ marks a figure past its goal. Data transfer and storage are left out: every tool pays the same.',
  );
  return lines.join('\n');
}

if (process.argv[2] === 'requests') {
  // The handlers' logs (and Powertools' notes about metrics) would bury the report.
  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  const { values } = parseArgs({
    args: process.argv.slice(3),
    options: {
      objects: { type: 'string', default: '200' },
      copies: { type: 'string', default: '3' },
      minutes: { type: 'string', default: '10,60,360' },
      seed: { type: 'string', default: '1' },
      completion: { type: 'string', default: 'events,polling' },
      'log-sample': { type: 'string', default: '10' },
      'delivery-objects': { type: 'string', default: '100' },
      'batch-sizes': { type: 'string', default: '10,100' },
      'delivery-runs': { type: 'string', default: '3' },
      'latency-ms': { type: 'string', default: '20' },
    },
  });
  const completion = values.completion.split(',').map((mode): Ec2CompletionMode => {
    if (mode !== 'polling' && mode !== 'events')
      throw new Error(`--completion takes events and/or polling, not ${mode}`);
    return mode;
  });
  const memory = deployedMemory(readFileSync('serverless.yml', 'utf8'));
  const logging = deployedLogging(readFileSync('serverless.yml', 'utf8'));
  const options = {
    objects: Number(values.objects),
    copies: Number(values.copies),
    minutes: values.minutes.split(',').map(Number),
    seed: Number(values.seed),
    completion,
    memory,
    logSample: Number(values['log-sample']),
    logging,
  };
  const rows = await runRequests(options);
  const settings =
    `${options.objects} objects per scenario, ${options.copies} copies per EC2 row (fake EC2 copying 1 GiB per ` +
    `virtual minute; completion ${completion.join(' and ')}, each in its own sandbox), Lambda at the serverless.yml memory (${Object.entries(
      memory,
    )
      .map(([name, mb]) => `${name} ${mb} MB`)
      .join(', ')}) and assumed billed durations (${Object.entries(ASSUMED_MS)
      .map(([name, ms]) => `${name} ${ms} ms`)
      .join(', ')}), logs counted on ${options.logSample} objects per scenario run through the bundled ` +
    `objectCreated function (logFormat ${logging.logFormat}, application ${logging.applicationLogLevel}, system ` +
    `${logging.systemLogLevel}), priced at $0.50 per GB ingested`;
  const deliveryOptions = {
    objects: Number(values['delivery-objects']),
    batchSizes: values['batch-sizes'].split(',').map(Number),
    runs: Number(values['delivery-runs']),
    latencyMs: Number(values['latency-ms']),
    logging,
    seed: options.seed + 2000,
  };
  const delivery = deliveryOptions.objects > 0 ? await measureDelivery(deliveryOptions) : [];
  const report = [
    requestsReport(rows, settings),
    ...(delivery.length > 0 ? ['', deliveryReport(delivery, deliverySettings(deliveryOptions))] : []),
  ].join('\n');
  console.log(report);
  await mkdir('bench/results', { recursive: true });
  await writeFile('bench/results/requests.md', `${report}\n`);
  await writeFile(
    'bench/results/requests.json',
    `${JSON.stringify({ options, prices: PRICES, assumedMs: ASSUMED_MS, ...rows, delivery }, null, 2)}\n`,
  );
}
