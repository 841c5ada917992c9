// The measuring half of `npm run bench -- requests` (bench/requests.ts prints and prices): replicates items
// through the sandbox with the real handlers and state machines, and counts what each one cost in requests.
// Kept apart from the report so that a test can run it on a tiny input.
import { CreateImageCommand, CreateSnapshotCommand } from '@aws-sdk/client-ec2';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { ConsumedUnits } from '#local/dynamodb';
import type { Delivery } from '#local/event-bus';
import { type Sandbox, startSandbox } from '#local/sandbox';
import type { Execution } from '#local/step-functions';
import { seededRandom } from '#local/virtual-clock';
import { parseConfig } from '#rules/load';
import type { Ec2CompletionMode } from '../statemachines/ec2-copy.ts';

const KiB = 1024;
const GiB = 1024 ** 3;

/** The fake EC2 copies 1 GiB per virtual minute: a volume of N GiB copies in N minutes. */
export const COPY_BYTES_PER_SECOND = GiB / 60;

export const BENCH_CONFIG = `
rules:
  - name: one-destination
    objects: { bucket: req-src, prefix: one/ }
    to:
      - { bucket: req-dr, region: us-west-2 }
  - name: two-destinations
    objects: { bucket: req-src, prefix: two/ }
    to:
      - { bucket: req-dr, region: us-west-2 }
      - { bucket: req-eu, region: eu-west-1 }
  - name: tag-filtered
    objects: { bucket: req-src, prefix: tagged/, tags: { dr: "true" } }
    to:
      - { bucket: req-dr, region: us-west-2 }
  - name: ebs-to-dr
    snapshots: { regions: [us-east-1], tags: { backup: dr } }
    to:
      - region: us-west-2
  - name: ami-to-dr
    images: { regions: [us-east-1], tags: { dr: "true" } }
    to:
      - region: us-west-2
`;

/** What replicating a batch of items cost, in total (divide by `items` for one item). */
export interface Tally {
  items: number;
  /** S3 requests by operation, the benchmark's own writes taken out. */
  s3: Record<string, number>;
  /** EC2 API calls by action, the benchmark's own calls taken out. */
  ec2: Record<string, number>;
  /** DynamoDB requests by operation (the copy-waiters table), failed conditions also apart. */
  dynamodb: Record<string, number>;
  /** The read and write request units those requests consumed (local/dynamodb-capacity.ts). */
  dynamodbUnits: ConsumedUnits;
  /** Lambda invocations by function: event handlers by bus target, state-machine steps by Task state. */
  lambda: Record<string, number>;
  executions: number;
  /** Step Functions state transitions: states entered, plus retries (each billed as a transition). */
  transitions: number;
  /** Copies made (replicas written, or EC2 copies that succeeded). */
  copies: number;
}

export interface ObjectScenario {
  name: string;
  prefix: string;
  destinations: number;
  /** Tags put on each source object, if any. */
  tags?: Record<string, string>;
  /** Whether the rule's filter lets the objects through (a copy per destination is expected). */
  copied: boolean;
}

export const OBJECT_SCENARIOS: ObjectScenario[] = [
  { name: 'one destination in another Region', prefix: 'one/', destinations: 1, copied: true },
  { name: 'two destinations (two Regions)', prefix: 'two/', destinations: 2, copied: true },
  {
    name: 'tag-filtered rule, tag matches',
    prefix: 'tagged/',
    destinations: 1,
    tags: { dr: 'true' },
    copied: true,
  },
  {
    name: 'tag-filtered rule, other tag value',
    prefix: 'tagged/',
    destinations: 1,
    tags: { dr: 'false' },
    copied: false,
  },
  { name: 'tag-filtered rule, untagged object', prefix: 'tagged/', destinations: 1, copied: false },
];

export interface Ec2Scenario {
  kind: 'snapshot' | 'image';
  label: string;
  /** Minutes of copy: the volume is this many GiB at COPY_BYTES_PER_SECOND. */
  minutes: number;
}

const increment = (map: Record<string, number>, key: string, by = 1) => {
  map[key] = (map[key] ?? 0) + by;
};

const withoutZeros = (map: Record<string, number>) =>
  Object.fromEntries(Object.entries(map).filter(([, count]) => count !== 0));

/**
 * A sandbox with the benchmark's rules (BENCH_CONFIG unless given), and the deliveries it made (Lambda
 * invocations of the handlers). The EC2 copy machines notice a copy's end as deployed (by its event) unless
 * `completion` says `polling`.
 */
export async function startBenchSandbox(
  config = BENCH_CONFIG,
  completion?: Ec2CompletionMode,
): Promise<{ sandbox: Sandbox; deliveries: Delivery[] }> {
  const deliveries: Delivery[] = [];
  const sandbox = await startSandbox({
    config: parseConfig(config, 'requests.yml'),
    port: 0,
    onDelivery: (delivery) => deliveries.push(delivery),
    ec2: { copyBytesPerSecond: COPY_BYTES_PER_SECOND },
    ...(completion ? { ec2Completion: completion } : {}),
  });
  return { sandbox, deliveries };
}

/** Counts from here on: call, do the work, settle, then call the returned function. */
export function startCounting(sandbox: Sandbox, deliveries: Delivery[]) {
  sandbox.requests.clear();
  sandbox.ec2.requests.clear();
  sandbox.dynamoDb.resetCounts();
  const deliveredBefore = deliveries.length;
  const executionsBefore = new Set(sandbox.stepFunctions.executions.values());
  return () => {
    const lambda: Record<string, number> = {};
    for (const delivery of deliveries.slice(deliveredBefore)) increment(lambda, delivery.target);
    const executions = [...sandbox.stepFunctions.executions.values()].filter(
      (execution) => !executionsBefore.has(execution),
    );
    let transitions = 0;
    for (const execution of executions) {
      for (const event of execution.events) {
        if (event.type === 'StateEntered') {
          transitions += 1;
          // A Task state runs its Lambda function once, and once more per retry (below).
          if (event.state.type === 'Task') increment(lambda, `step ${event.state.name}`);
        } else if (event.type === 'StateRetried') {
          transitions += 1;
          increment(lambda, `step ${event.state.name}`);
        }
      }
    }
    return {
      s3: Object.fromEntries(sandbox.requests),
      ec2: Object.fromEntries(sandbox.ec2.requests),
      dynamodb: Object.fromEntries(sandbox.dynamoDb.requests),
      dynamodbUnits: { ...sandbox.dynamoDb.consumed },
      lambda,
      executions,
      transitions,
    };
  };
}

/**
 * The "Object Created" events of `count` objects written under the scenario's prefix while the bus is
 * paused: nothing handles them here, so each can be run once through the bundled function (the logs
 * sample of bench/requests.ts) without the in-process handlers counting or copying it first.
 */
export async function heldBackObjectEvents(
  sandbox: Sandbox,
  scenario: ObjectScenario,
  count: number,
  seed: number,
): Promise<unknown[]> {
  sandbox.bus.pause();
  try {
    await writeObjects(sandbox, scenario, count, seed);
    await sandbox.settle();
    return sandbox.bus.dropped
      .splice(0)
      .filter((event) => (event as { 'detail-type'?: string })['detail-type'] === 'Object Created');
  } finally {
    sandbox.bus.resume();
  }
}

/** Writes `count` objects of 1–100 KB under the scenario's prefix, 8 at a time. */
async function writeObjects(sandbox: Sandbox, scenario: ObjectScenario, count: number, seed: number) {
  const random = seededRandom(seed);
  const client = sandbox.s3('us-east-1');
  const keys = Array.from({ length: count }, (_, i) => `${scenario.prefix}${seed}/object-${i}.bin`);
  const tagging = scenario.tags ? new URLSearchParams(scenario.tags).toString() : undefined;
  for (let start = 0; start < keys.length; start += 8) {
    await Promise.all(
      keys.slice(start, start + 8).map((key) => {
        const size = KiB + Math.floor(random() * 99 * KiB);
        return client.send(
          new PutObjectCommand({
            Bucket: 'req-src',
            Key: key,
            Body: Buffer.alloc(size, key.length % 251),
            ...(tagging ? { Tagging: tagging } : {}),
          }),
        );
      }),
    );
  }
}

/**
 * Writes `count` objects of 1–100 KB under the scenario's prefix (8 at a time), lets the pipeline settle,
 * and counts. The benchmark's own PutObjects are taken out of the S3 counts; it reads nothing while counting.
 */
export async function countObjects(
  sandbox: Sandbox,
  deliveries: Delivery[],
  scenario: ObjectScenario,
  count: number,
  seed: number,
): Promise<Tally> {
  const stop = startCounting(sandbox, deliveries);
  await writeObjects(sandbox, scenario, count, seed);
  await sandbox.settle();
  const counted = stop();
  const s3 = { ...counted.s3 };
  increment(s3, 'PutObject', -count);
  return {
    items: count,
    s3: withoutZeros(s3),
    ec2: withoutZeros(counted.ec2),
    dynamodb: counted.dynamodb,
    dynamodbUnits: counted.dynamodbUnits,
    lambda: counted.lambda,
    executions: counted.executions.length,
    transitions: counted.transitions,
    copies: s3.CopyObject ?? 0,
  };
}

/**
 * Creates `count` snapshots (or AMIs) of fresh volumes of `minutes` GiB, one after the other, each followed
 * to the end of its copy, and counts. The benchmark's own CreateSnapshot / CreateImage calls are taken out.
 */
export async function countEc2Copies(
  sandbox: Sandbox,
  deliveries: Delivery[],
  scenario: Ec2Scenario,
  count: number,
): Promise<Tally & { perCopyTransitions: number[] }> {
  const east = sandbox.ec2Client('us-east-1');
  const stop = startCounting(sandbox, deliveries);
  const perCopyTransitions: number[] = [];
  for (let i = 0; i < count; i++) {
    const before = new Set(sandbox.stepFunctions.executions.values());
    const volumeId = sandbox.ec2.createVolume('us-east-1', { sizeGiB: scenario.minutes });
    if (scenario.kind === 'snapshot') {
      await east.send(
        new CreateSnapshotCommand({
          VolumeId: volumeId,
          Description: 'nightly',
          TagSpecifications: [{ ResourceType: 'snapshot', Tags: [{ Key: 'backup', Value: 'dr' }] }],
        }),
      );
    } else {
      const instanceId = sandbox.ec2.createInstance('us-east-1', [volumeId]);
      await east.send(
        new CreateImageCommand({
          InstanceId: instanceId,
          Name: `web-${scenario.minutes}-${i}`,
          TagSpecifications: [{ ResourceType: 'image', Tags: [{ Key: 'dr', Value: 'true' }] }],
        }),
      );
    }
    await sandbox.settle();
    const started = [...sandbox.stepFunctions.executions.values()].filter((e) => !before.has(e));
    perCopyTransitions.push(...started.map(transitionsOf));
  }
  const counted = stop();
  const ec2 = { ...counted.ec2 };
  increment(ec2, scenario.kind === 'snapshot' ? 'CreateSnapshot' : 'CreateImage', -count);
  return {
    items: count,
    s3: withoutZeros(counted.s3),
    ec2: withoutZeros(ec2),
    dynamodb: counted.dynamodb,
    dynamodbUnits: counted.dynamodbUnits,
    lambda: counted.lambda,
    executions: counted.executions.length,
    transitions: counted.transitions,
    copies: counted.executions.filter((execution) => execution.status === 'SUCCEEDED').length,
    perCopyTransitions,
  };
}

const transitionsOf = (execution: Execution) =>
  execution.events.filter((event) => event.type === 'StateEntered' || event.type === 'StateRetried').length;
