// npm run bench -- requests [--objects 200] [--copies 3] [--minutes 10,60,360] [--seed 1]
//
// Requests and cost per replicated item, counted in the sandbox with the real handlers and state machines
// (bench/request-count.ts): S3 requests by operation per small object (1–100 KB), EC2 API calls per snapshot
// and AMI copy of a few durations, Lambda invocations, Step Functions state transitions. Priced at the
// published us-east-1 prices below, beside what S3 Replication and DLM / AWS Backup charge for the same copy.
// Writes bench/results/requests.{md,json}.
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { parse } from 'yaml';
import {
  countEc2Copies,
  countObjects,
  type Ec2Scenario,
  OBJECT_SCENARIOS,
  type ObjectScenario,
  startBenchSandbox,
  type Tally,
} from './request-count.ts';

/** Published us-east-1 prices (sources in BENCHMARKS.md, "Requests and cost per replicated item"). */
export const PRICES = {
  /** S3 Standard: PUT, COPY, POST, LIST requests. */
  s3Tier1PerRequest: 0.005 / 1000,
  /** S3 Standard: GET, SELECT and all other requests (HEAD included). */
  s3Tier2PerRequest: 0.0004 / 1000,
  lambdaPerRequest: 0.2 / 1_000_000,
  /** Lambda duration, Arm (Graviton2), first 7.5 billion GB-s of a month. */
  lambdaArmPerGbSecond: 0.0000133334,
  /** Step Functions Standard: per state transition, retries included. */
  stepFunctionsPerTransition: 0.025 / 1000,
};

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
  total: number;
}

/** What a tally costs per item. EC2 API calls and AWS-service events on EventBridge are free. */
export function costPerItem(tally: Tally, kind: 'objects' | 'ec2', memory: Record<string, number>): Cost {
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
  const per = (value: number) => value / tally.items;
  return {
    s3: per(s3),
    lambda: per(lambda),
    stepFunctions: per(stepFunctions),
    total: per(s3 + lambda + stepFunctions),
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
}
export interface Ec2Row {
  scenario: Ec2Scenario;
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
}): Promise<{ objects: ObjectRow[]; ec2: Ec2Row[] }> {
  const { sandbox, deliveries } = await startBenchSandbox();
  try {
    const objects: ObjectRow[] = [];
    for (const [i, scenario] of OBJECT_SCENARIOS.entries()) {
      const tally = await countObjects(sandbox, deliveries, scenario, options.objects, options.seed + i);
      objects.push({ scenario, tally, cost: costPerItem(tally, 'objects', options.memory) });
    }
    const ec2: Ec2Row[] = [];
    for (const kind of ['snapshot', 'image'] as const) {
      for (const minutes of options.minutes) {
        const scenario: Ec2Scenario = { kind, minutes, label: durationLabel(minutes) };
        const tally = await countEc2Copies(sandbox, deliveries, scenario, options.copies);
        ec2.push({ scenario, tally, cost: costPerItem(tally, 'ec2', options.memory) });
      }
    }
    return { objects, ec2 };
  } finally {
    await sandbox.stop();
  }
}

const durationLabel = (minutes: number) => (minutes < 60 ? `${minutes} min` : `${minutes / 60} h`);

/** S3 Replication charges one replication PUT request per object and destination (at the destination's class). */
const s3ReplicationPerObject = (destinations: number) => destinations * PRICES.s3Tier1PerRequest;

export function requestsReport(rows: { objects: ObjectRow[]; ec2: Ec2Row[] }, settings: string): string {
  const lines = [`${settings}.`, '', '#### Small objects (1–100 KB), per source object', ''];
  lines.push(
    '| scenario | goal | S3 requests per object | per destination | Lambda invocations | Step Functions transitions | Ferry $ per 1M objects (S3 + Lambda + SFN) | S3 Replication: requests, $ per 1M objects |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  );
  for (const { scenario, tally, cost } of rows.objects) {
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
    lines.push(
      `| ${scenario.name} | ${goal} | ${perItem(tally.s3, n)}${met ? '' : ' ✘'} | ${perDestination} | ` +
        `${perItem(tally.lambda, n)} | ${(tally.transitions / n).toFixed(2)} | ` +
        `${dollars(1e6 * cost.total)} (${dollars(1e6 * cost.s3)} + ${dollars(1e6 * cost.lambda)} + ${dollars(1e6 * cost.stepFunctions)}) | ${replication} |`,
    );
  }
  lines.push('', '#### EBS snapshot and AMI copies, per copy', '');
  lines.push(
    '| kind | copy | goal (transitions) | EC2 API calls per copy | Lambda invocations per copy | transitions per copy, median (min–max) | Ferry $ per copy (Lambda + SFN) | Ferry $ per 1,000 copies | DLM / AWS Backup request fee |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  );
  for (const { scenario, tally, cost } of rows.ec2) {
    const transitions = tally.perCopyTransitions;
    const worst = Math.max(...transitions);
    lines.push(
      `| ${scenario.kind === 'snapshot' ? 'EBS snapshot' : 'AMI (1 volume)'} | ${scenario.label} | ≤ 40 | ` +
        `${total(tally.ec2) / tally.items} (${perItem(tally.ec2, tally.items)}) | ` +
        `${total(tally.lambda) / tally.items} (${perItem(tally.lambda, tally.items)}) | ` +
        `${median(transitions)} (${Math.min(...transitions)}–${worst})${worst > 40 ? ' ✘' : ''} | ` +
        `${dollars(cost.total, 5)} (${dollars(cost.lambda, 6)} + ${dollars(cost.stepFunctions, 5)}) | ` +
        `${dollars(1000 * cost.total)} | none |`,
    );
  }
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
    },
  });
  const memory = deployedMemory(readFileSync('serverless.yml', 'utf8'));
  const options = {
    objects: Number(values.objects),
    copies: Number(values.copies),
    minutes: values.minutes.split(',').map(Number),
    seed: Number(values.seed),
    memory,
  };
  const rows = await runRequests(options);
  const settings =
    `${options.objects} objects per scenario, ${options.copies} copies per EC2 row (fake EC2 copying 1 GiB per ` +
    `virtual minute), Lambda at the serverless.yml memory (${Object.entries(memory)
      .map(([name, mb]) => `${name} ${mb} MB`)
      .join(', ')}) and assumed billed durations (${Object.entries(ASSUMED_MS)
      .map(([name, ms]) => `${name} ${ms} ms`)
      .join(', ')})`;
  const report = requestsReport(rows, settings);
  console.log(report);
  await mkdir('bench/results', { recursive: true });
  await writeFile('bench/results/requests.md', `${report}\n`);
  await writeFile(
    'bench/results/requests.json',
    `${JSON.stringify({ options, prices: PRICES, assumedMs: ASSUMED_MS, ...rows }, null, 2)}\n`,
  );
}
