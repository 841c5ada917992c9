// npm run bench -- tags [--objects 100] [--copies 3]
//
// What the change-sync path costs per tag change (README, "Replicas follow their source's tags"): in the
// sandbox, with the real handlers, N objects and a few snapshots and AMIs are replicated to one and to two
// destinations, then their source tags change (PutObjectTagging / DeleteObjectTagging → "Object Tags
// Added" / "Object Tags Deleted"; CreateTags / DeleteTags → "Tag Change on Resource"). Counted per change:
// S3 requests and EC2 calls (bench/request-count.ts), Lambda invocations and events on the bus; priced per
// million changes with the requests benchmark's prices and Lambda assumptions (bench/requests.ts).
// Writes bench/results/tags.{md,json}.
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import {
  CreateImageCommand,
  CreateSnapshotCommand,
  CreateTagsCommand,
  DeleteTagsCommand,
} from '@aws-sdk/client-ec2';
import { DeleteObjectTaggingCommand, PutObjectCommand, PutObjectTaggingCommand } from '@aws-sdk/client-s3';
import type { Delivery } from '#local/event-bus';
import type { Sandbox } from '#local/sandbox';
import { BENCH_CONFIG, startBenchSandbox, startCounting, type Tally } from './request-count.ts';
import { ASSUMED_MS, type Cost, costPerItem, deployedMemory } from './requests.ts';

/**
 * The requests benchmark's rules (objects under one/ and two/ of req-src: one and two destinations; a
 * snapshot rule and an AMI rule with one), with a two-destination snapshot and AMI rule added. Every
 * destination copies tags (the default).
 */
export const TAGS_CONFIG = `${BENCH_CONFIG}  - name: ebs-to-two
    snapshots: { regions: [us-east-1], tags: { backup: two } }
    to: [{ region: us-west-2 }, { region: eu-west-1 }]
  - name: ami-to-two
    images: { regions: [us-east-1], tags: { dr: two } }
    to: [{ region: us-west-2 }, { region: eu-west-1 }]
`;

/** The tag filter value of the rules with one and with two destinations (BENCH_CONFIG's, and ours). */
const FILTER: Record<'snapshot' | 'image', Record<1 | 2, string>> = {
  snapshot: { 1: 'dr', 2: 'two' },
  image: { 1: 'true', 2: 'two' },
};
const BUCKET = 'req-src';

export type TagChange = 'added' | 'deleted';
export interface TagScenario {
  kind: 'object' | 'snapshot' | 'image';
  destinations: 1 | 2;
  change: TagChange;
}

/** The counts of one scenario: a Tally of `items` tag changes, and the events the bus received for them. */
export interface TagRow {
  scenario: TagScenario;
  tally: Tally;
  /** Events published on the bus while counting (tag events of sources and of replicas alike). */
  events: number;
  /** Of those, the ones a handler's pattern matched (each a Lambda invocation). */
  delivered: number;
  cost: Cost;
}

const TAG_EVENTS = new Set(['Object Tags Added', 'Object Tags Deleted', 'Tag Change on Resource']);
const tagEventsIn = (events: unknown[]) =>
  events.filter((event) => TAG_EVENTS.has((event as { 'detail-type'?: string })['detail-type'] ?? '')).length;

const prefixOf = (destinations: 1 | 2) => (destinations === 1 ? 'one/' : 'two/');

const decrement = (map: Record<string, number>, key: string, by: number) => {
  const left = (map[key] ?? 0) - by;
  if (left === 0) delete map[key];
  else map[key] = left;
};

/** Replicates the sources of a scenario (not counted): keys of objects, or ids of snapshots / AMIs. */
async function replicateSources(
  sandbox: Sandbox,
  kind: TagScenario['kind'],
  destinations: 1 | 2,
  count: number,
) {
  const ids: string[] = [];
  if (kind === 'object') {
    const client = sandbox.s3('us-east-1');
    for (let i = 0; i < count; i++) {
      const key = `${prefixOf(destinations)}object-${i}.txt`;
      await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: key, Tagging: 'team=blue' }));
      ids.push(key);
    }
  } else {
    const east = sandbox.ec2Client('us-east-1');
    const filter = FILTER[kind][destinations];
    for (let i = 0; i < count; i++) {
      const volumeId = sandbox.ec2.createVolume('us-east-1', { sizeGiB: 1 });
      if (kind === 'snapshot') {
        const { SnapshotId = '' } = await east.send(
          new CreateSnapshotCommand({
            VolumeId: volumeId,
            TagSpecifications: [{ ResourceType: 'snapshot', Tags: [{ Key: 'backup', Value: filter }] }],
          }),
        );
        ids.push(SnapshotId);
      } else {
        const instanceId = sandbox.ec2.createInstance('us-east-1', [volumeId]);
        const { ImageId = '' } = await east.send(
          new CreateImageCommand({
            InstanceId: instanceId,
            Name: `tags-${filter}-${i}`,
            TagSpecifications: [{ ResourceType: 'image', Tags: [{ Key: 'dr', Value: filter }] }],
          }),
        );
        ids.push(ImageId);
      }
    }
  }
  await sandbox.settle();
  return ids;
}

/**
 * One tag change per source, one at a time (each settled before the next, as changes spread out in time
 * on AWS), and counts. The benchmark's own tag writes are taken out of the S3 and EC2 counts.
 */
async function countChanges(
  sandbox: Sandbox,
  deliveries: Delivery[],
  scenario: TagScenario,
  ids: string[],
  memory: Record<string, number>,
): Promise<TagRow> {
  const publishedBefore = sandbox.bus.published.length;
  const stop = startCounting(sandbox, deliveries);
  const s3 = sandbox.s3('us-east-1');
  const ec2 = sandbox.ec2Client('us-east-1');
  for (const [i, id] of ids.entries()) {
    const tags = [{ Key: 'team', Value: `red-${i}` }];
    if (scenario.kind === 'object' && scenario.change === 'added')
      await s3.send(new PutObjectTaggingCommand({ Bucket: BUCKET, Key: id, Tagging: { TagSet: tags } }));
    else if (scenario.kind === 'object')
      await s3.send(new DeleteObjectTaggingCommand({ Bucket: BUCKET, Key: id }));
    else if (scenario.change === 'added')
      await ec2.send(new CreateTagsCommand({ Resources: [id], Tags: tags }));
    else await ec2.send(new DeleteTagsCommand({ Resources: [id], Tags: [{ Key: 'team' }] }));
    await sandbox.settle();
  }
  const counted = stop();
  const ownS3 = { ...counted.s3 };
  const ownEc2 = { ...counted.ec2 };
  if (scenario.kind === 'object')
    decrement(ownS3, scenario.change === 'added' ? 'PutObjectTagging' : 'DeleteObjectTagging', ids.length);
  else decrement(ownEc2, scenario.change === 'added' ? 'CreateTags' : 'DeleteTags', ids.length);
  const events = sandbox.bus.published.slice(publishedBefore);
  const tally: Tally = {
    items: ids.length,
    s3: ownS3,
    ec2: ownEc2,
    dynamodb: counted.dynamodb,
    dynamodbUnits: counted.dynamodbUnits,
    lambda: counted.lambda,
    executions: counted.executions.length,
    transitions: counted.transitions,
    copies: 0,
  };
  return {
    scenario,
    tally,
    events: tagEventsIn(events),
    delivered: Object.values(counted.lambda).reduce((sum, count) => sum + count, 0),
    cost: costPerItem(tally, scenario.kind === 'object' ? 'objects' : 'ec2', memory),
  };
}

/** Runs every scenario in one sandbox. Exported for the test that runs it on a tiny input. */
export async function runTagSync(options: {
  objects: number;
  copies: number;
  memory: Record<string, number>;
}): Promise<TagRow[]> {
  const { sandbox, deliveries } = await startBenchSandbox(TAGS_CONFIG);
  try {
    const rows: TagRow[] = [];
    for (const kind of ['object', 'snapshot', 'image'] as const) {
      for (const destinations of [1, 2] as const) {
        const ids = await replicateSources(
          sandbox,
          kind,
          destinations,
          kind === 'object' ? options.objects : options.copies,
        );
        // Tags added (changed) first, then deleted: the second change sees the first one's result.
        for (const change of ['added', 'deleted'] as const) {
          rows.push(
            await countChanges(sandbox, deliveries, { kind, destinations, change }, ids, options.memory),
          );
        }
      }
    }
    return rows;
  } finally {
    await sandbox.stop();
  }
}

const perChange = (map: Record<string, number>, items: number) =>
  Object.entries(map)
    .map(([key, count]) => `${key} ${Number((count / items).toFixed(2))}`)
    .join(', ') || '—';
const dollars = (value: number) => `$${value.toFixed(2)}`;

const CHANGE_LABEL: Record<TagScenario['kind'], Record<TagChange, string>> = {
  object: {
    added: 'PutObjectTagging (Object Tags Added)',
    deleted: 'DeleteObjectTagging (Object Tags Deleted)',
  },
  snapshot: { added: 'CreateTags (Tag Change on Resource)', deleted: 'DeleteTags (Tag Change on Resource)' },
  image: { added: 'CreateTags (Tag Change on Resource)', deleted: 'DeleteTags (Tag Change on Resource)' },
};

export function tagSyncReport(rows: TagRow[], settings: string): string {
  const lines = [
    `${settings}.`,
    '',
    '| source | destinations | change | S3 requests per change | EC2 calls per change | Lambda invocations per change | tag events on the bus per change (delivered) | $ per 1M changes (S3 + Lambda) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const { scenario, tally, events, delivered, cost } of rows) {
    const n = tally.items;
    lines.push(
      `| ${scenario.kind === 'image' ? 'AMI' : scenario.kind} | ${scenario.destinations} | ` +
        `${CHANGE_LABEL[scenario.kind][scenario.change]} | ${perChange(tally.s3, n)} | ${perChange(tally.ec2, n)} | ` +
        `${perChange(tally.lambda, n)} | ${Number((events / n).toFixed(2))} (${Number((delivered / n).toFixed(2))}) | ` +
        `${dollars(1e6 * cost.total)} (${dollars(1e6 * cost.s3)} + ${dollars(1e6 * cost.lambda)}) |`,
    );
  }
  lines.push(
    '',
    'EC2 API calls and AWS-service events on the default bus are free; no state machine runs on this path.',
  );
  return lines.join('\n');
}

if (process.argv[2] === 'tags') {
  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  const { values } = parseArgs({
    args: process.argv.slice(3),
    options: {
      objects: { type: 'string', default: '100' },
      copies: { type: 'string', default: '3' },
    },
  });
  const memory = deployedMemory(readFileSync('serverless.yml', 'utf8'));
  const options = { objects: Number(values.objects), copies: Number(values.copies), memory };
  const rows = await runTagSync(options);
  const settings =
    `${options.objects} objects and ${options.copies} snapshots and AMIs per destination count, each changed ` +
    `once per row; Lambda at the serverless.yml memory (objectTagsChanged ${memory.objectTagsChanged ?? 256} MB, ` +
    `ec2TagsChanged ${memory.ec2TagsChanged ?? 256} MB) and assumed billed durations (objectTagsChanged ` +
    `${ASSUMED_MS.objectTagsChanged} ms, ec2TagsChanged ${ASSUMED_MS.ec2TagsChanged} ms)`;
  const report = tagSyncReport(rows, settings);
  console.log(report);
  await mkdir('bench/results', { recursive: true });
  await writeFile('bench/results/tags.md', `${report}\n`);
  await writeFile(
    'bench/results/tags.json',
    `${JSON.stringify({ options, assumedMs: ASSUMED_MS, rows }, null, 2)}\n`,
  );
}
