import { createHash } from 'node:crypto';
import { CreateImageCommand, CreateSnapshotCommand, type EC2Client } from '@aws-sdk/client-ec2';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { Sandbox } from '#local/sandbox';
import { seededRandom } from '#local/virtual-clock';
import {
  MULTIPART_THRESHOLD,
  PART_SIZE,
  plansOf,
  SOURCE_BUCKET,
  SOURCE_REGION,
  type SoakOptions,
  VERSIONED_BUCKET,
} from './options.ts';

/** A source object by bucket and key, as `bucket/key` (bucket names hold no slash). */
export const sourceId = (bucket: string, key: string) => `${bucket}/${key}`;
export const splitSourceId = (id: string) => {
  const slash = id.indexOf('/');
  return { bucket: id.slice(0, slash), key: id.slice(slash + 1) };
};

/** A limit the replica of a source breaks by design, so its copy must end as this named permanent failure. */
export type ExpectedRefusal = 'MetadataTooLarge' | 'TooManyTags';

/**
 * A large object overwritten while its first version's multipart copy runs: at its part batch (`parts`,
 * the overwrite lands while the part copies are in flight), or just before its CompleteMultipartUpload
 * (`complete`: the step dies before its work, and while it is down the source is overwritten with a small
 * object whose fast-path copy lands first, so the retried Complete meets a newer replica).
 */
export interface Race {
  id: string;
  stage: 'parts' | 'complete';
  /** The overwrite was made (the step was reached). */
  fired: boolean;
  /** `complete` only: the newer version's replica was there before the old copy's Complete ran. */
  newerFirst: boolean;
}

/** What the soak asked of the sandbox: the sources it created, and what it did to them. */
export interface Workload {
  /** Every source written (by `sourceId`), with how many times (1 + overwrites); deleted ones included. */
  writes: Map<string, number>;
  deleted: Set<string>;
  /** Sources a lifecycle expiration removed (after their replicas were made), with the expired bytes' SHA-256. */
  expired: Map<string, string>;
  /** Sources whose replica S3 cannot take (user metadata or tags over its limits with Ferry's additions). */
  expectedRefusals: Map<string, ExpectedRefusal>;
  /** `meta/` sources whose replica fits only with compact markers (a long key, metadata near 2 KB). */
  compactOnly: Set<string>;
  races: Race[];
  /** The multipart object whose part batch the crash hits. */
  crashKey: string | undefined;
  snapshots: { id: string; tags: Record<string, string> }[];
  images: { id: string; tags: Record<string, string> }[];
  /** Calls of the soak's own that EC2 throttled and the soak retried (not Ferry's). */
  driverRetries: number;
}

/** Runs `work` over `items` with at most `limit` at once. */
export async function inPool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** An object's current version: its bytes' SHA-256, its user metadata and version id; undefined if none. */
export async function readObject(client: S3Client, bucket: string, key: string) {
  try {
    const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const body = await object.Body?.transformToByteArray();
    return {
      hash: sha256(body ?? new Uint8Array()),
      metadata: object.Metadata ?? {},
      versionId: object.VersionId,
    };
  } catch (error) {
    if ((error as Error).name === 'NoSuchKey') return undefined;
    throw error;
  }
}

/** Bytes that differ by key and write, cheap to make. */
function bodyOf(key: string, write: number, size: number): Buffer {
  const head = Buffer.from(`${key}#${write}\n`);
  const body = Buffer.alloc(Math.max(size, head.length));
  head.copy(body);
  for (let i = head.length; i < body.length; i += 512) body[i] = (i / 512 + write * 31 + key.length) % 251;
  return body;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The soak's own EC2 calls meet the same injected throttling as Ferry's: it waits and asks again. */
async function patiently<T>(workload: Workload, call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      const { name, code } = error as Error & { code?: string };
      // Throttling and 5xx, and a connection the loaded sandbox reset (the call was not carried out).
      const transient =
        ['RequestLimitExceeded', 'Unavailable', 'InternalError', 'TimeoutError'].includes(name) ||
        code === 'ECONNRESET';
      if (!transient || attempt >= 50) throw error;
      workload.driverRetries += 1;
      await sleep(20 * attempt);
    }
  }
}

/** One source object of the workload: where, how big each write is, and what it carries. */
interface SourceSpec {
  bucket: string;
  key: string;
  size: (write: number) => number;
  metadata?: Record<string, string>;
  tags?: Record<string, string>;
}

/** `count` of a kind, scaled with the run (one per `per` objects), never fewer than `min`. */
const scaled = (options: SoakOptions, per: number, min: number) =>
  Math.max(min, Math.round(options.objects / per));

const pad = (index: number, width = 5) => String(index).padStart(width, '0');

/**
 * User metadata that takes `bytes` as S3 counts it (UTF-8 keys and values, without `x-amz-meta-`), the
 * write's own `soak` entry (5 bytes while writes stay below 10) included.
 */
const metadataOf = (bytes: number) => ({ pad: 'p'.repeat(bytes - 'soak1'.length - 'pad'.length) });

/**
 * Sources near S3's limits. Ferry adds its markers to a replica's metadata: ferry-source-bucket (19 bytes)
 * + soak-source (11), ferry-source-key (16) + the key percent-encoded, or a 71-byte digest when that does not
 * fit, ferry-source-sequencer (22) + 18, ferry-rule (10) + meta (4): about 125 bytes for a short key, 170
 * compact. So, each with 50 bytes or more of margin on its side of 2,048:
 * - `near`: 1,850 bytes and a short key: fits with readable markers (about 1,975);
 * - `compact`: 1,820 bytes and a 180-character key: 2,100 with readable markers, 1,990 compact, so it fits
 *   only if Ferry makes its markers compact;
 * - `over`: 2,000 bytes (S3 takes it on the source): 2,080 at least with any markers, MetadataTooLarge.
 * And tags (S3 allows 10 per object; the `tagged` rule copies them and sets one more): 9 fit, 10 cannot
 * (TooManyTags).
 */
function limitSources(options: SoakOptions, workload: Workload, random: () => number): SourceSpec[] {
  const size = () => 64 + Math.floor(random() * 4096);
  const count = scaled(options, 200, 2);
  const specs: SourceSpec[] = [];
  for (let i = 0; i < count; i++) {
    specs.push({ bucket: SOURCE_BUCKET, key: `meta/near-${pad(i)}.txt`, size, metadata: metadataOf(1850) });
    const compact = `meta/compact-${pad(i)}-${'k'.repeat(180 - 24)}.txt`;
    specs.push({ bucket: SOURCE_BUCKET, key: compact, size, metadata: metadataOf(1820) });
    workload.compactOnly.add(sourceId(SOURCE_BUCKET, compact));
    const over = `meta/over-${pad(i)}.txt`;
    specs.push({ bucket: SOURCE_BUCKET, key: over, size, metadata: metadataOf(2000) });
    workload.expectedRefusals.set(sourceId(SOURCE_BUCKET, over), 'MetadataTooLarge');
    const tags = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, t) => [`t${t}`, `v${i}`]));
    specs.push({ bucket: SOURCE_BUCKET, key: `tagged/nine-${pad(i)}.txt`, size, tags: tags(9) });
    const ten = `tagged/ten-${pad(i)}.txt`;
    specs.push({ bucket: SOURCE_BUCKET, key: ten, size, tags: tags(10) });
    workload.expectedRefusals.set(sourceId(SOURCE_BUCKET, ten), 'TooManyTags');
  }
  return specs;
}

/** The replica of a source on its first destination (every race's rule has one). */
async function replicaWrite(sandbox: Sandbox, bucket: string, key: string): Promise<number | undefined> {
  const plan = plansOf(bucket, key)[0];
  if (!plan) return undefined;
  try {
    const head = await sandbox
      .s3(plan.destination.region)
      .send(new HeadObjectCommand({ Bucket: plan.destination.bucket, Key: plan.key }));
    return Number(head.Metadata?.soak);
  } catch {
    return undefined;
  }
}

/** Waits (real time, at most `ms`) until the replica holds write `write` of its source. */
async function replicaReaches(sandbox: Sandbox, bucket: string, key: string, write: number, ms: number) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (((await replicaWrite(sandbox, bucket, key)) ?? 0) >= write) return true;
    await sleep(20);
  }
  return false;
}

type CopyStep = { action?: string; job?: { source?: { bucket?: string; key?: string; etag?: string } } };
const isStep = (input: unknown, action: string, bucket: string, key: string) => {
  const step = input as CopyStep;
  return step.action === action && step.job?.source?.bucket === bucket && step.job.source.key === key;
};

/**
 * Writes the objects (small ones under docs/ and logs/, a few multipart ones under large/, sources near
 * the metadata and tag limits, and a versioned bucket's own), then overwrites and deletes some while their
 * first copies may still be in flight, and overwrites a few large ones during their multipart copy.
 * Nothing waits for Ferry in between.
 */
async function objectWork(sandbox: Sandbox, options: SoakOptions, workload: Workload) {
  const random = seededRandom(options.seed * 7919 + 11);
  const client = sandbox.s3(SOURCE_REGION);
  await client.send(
    new PutBucketVersioningCommand({
      Bucket: VERSIONED_BUCKET,
      VersioningConfiguration: { Status: 'Enabled' },
    }),
  );
  const largeCount = Math.min(12, Math.max(3, Math.ceil(options.objects / 250)));
  // 2 to 4 parts of 5 MiB, the last one partial.
  const largeSize = () =>
    MULTIPART_THRESHOLD + Math.floor(random() * (3 * PART_SIZE - MULTIPART_THRESHOLD)) + 1;
  const smallSize = () => 64 + Math.floor(random() * 4096);
  const specs: SourceSpec[] = [];
  for (let i = 0; i < largeCount; i++)
    specs.push({ bucket: SOURCE_BUCKET, key: `large/object-${pad(i, 3)}.bin`, size: largeSize });
  for (let i = specs.length; i < options.objects; i++)
    specs.push({
      bucket: SOURCE_BUCKET,
      key: `docs/${pad(i % 17, 2)}/item-${pad(i)}.txt`,
      size: smallSize,
    });
  for (let i = 0; i < scaled(options, 15, 10); i++)
    specs.push({ bucket: SOURCE_BUCKET, key: `logs/${pad(i % 7, 2)}/entry-${pad(i)}.log`, size: smallSize });
  for (let i = 0; i < scaled(options, 10, 20); i++)
    specs.push({ bucket: VERSIONED_BUCKET, key: `v/${pad(i % 5, 2)}/item-${pad(i)}.txt`, size: smallSize });
  specs.push(...limitSources(options, workload, random));

  // Large objects overwritten during their first version's multipart copy, in both buckets: at the part
  // batch with another large version, and before the Complete with a small one (the fast path).
  const raceSpecs: (SourceSpec & { stage: Race['stage'] })[] = [
    ...[0, 1].map((i) => ({
      bucket: SOURCE_BUCKET,
      key: `large/race-parts-${pad(i, 3)}.bin`,
      stage: 'parts' as const,
    })),
    { bucket: SOURCE_BUCKET, key: 'large/race-complete-000.bin', stage: 'complete' as const },
    { bucket: VERSIONED_BUCKET, key: 'large/race-parts-000.bin', stage: 'parts' as const },
    { bucket: VERSIONED_BUCKET, key: 'large/race-complete-000.bin', stage: 'complete' as const },
  ].map((race) => ({
    ...race,
    size: (write: number) => (write > 1 && race.stage === 'complete' ? smallSize() : largeSize()),
  }));
  specs.push(...raceSpecs);
  const specOf = new Map(specs.map((spec) => [sourceId(spec.bucket, spec.key), spec]));

  const put = async (id: string) => {
    const spec = specOf.get(id);
    if (!spec) throw new Error(`the soak has no source ${id}`);
    const write = (workload.writes.get(id) ?? 0) + 1;
    workload.writes.set(id, write);
    await client.send(
      new PutObjectCommand({
        Bucket: spec.bucket,
        Key: spec.key,
        Body: bodyOf(id, write, spec.size(write)),
        Metadata: { soak: String(write), ...spec.metadata },
        ...(spec.tags ? { Tagging: new URLSearchParams(spec.tags).toString() } : {}),
        ContentType: spec.key.endsWith('.bin') ? 'application/octet-stream' : 'text/plain',
      }),
    );
  };

  // The crash hits the part copies of a multipart object written halfway through the run.
  const crashKey = options.faults.crash ? specs[Math.floor(largeCount / 2)]?.key : undefined;
  workload.crashKey = crashKey;
  if (crashKey) {
    sandbox.crashes.crashOnce({
      function: 'ObjectCopyStepLambdaFunction',
      when: (input) => isStep(input, 'copy-parts', SOURCE_BUCKET, crashKey),
    });
  }
  const raceWrites: Promise<void>[] = [];
  for (const spec of raceSpecs) {
    const race: Race = {
      id: sourceId(spec.bucket, spec.key),
      stage: spec.stage,
      fired: false,
      newerFirst: false,
    };
    workload.races.push(race);
    if (spec.stage === 'parts') {
      // A plan that never accepts an invocation crashes nothing: it sees each step's input as it starts,
      // and overwrites the source once, while the first part batch's copies are being sent.
      sandbox.crashes.crashOnce({
        function: 'ObjectCopyStepLambdaFunction',
        when: (input) => {
          if (!race.fired && isStep(input, 'copy-parts', spec.bucket, spec.key)) {
            race.fired = true;
            raceWrites.push(put(race.id));
          }
          return false;
        },
      });
    } else {
      // The Complete step dies before its work; while it is down the source gets a small version, whose
      // fast-path copy is given time to land; then Step Functions retries the Complete.
      sandbox.crashes.crashOnce({
        function: 'ObjectCopyStepLambdaFunction',
        after: 'start',
        when: (input) => isStep(input, 'complete', spec.bucket, spec.key),
        whileDown: async () => {
          race.fired = true;
          await put(race.id);
          race.newerFirst = await replicaReaches(sandbox, spec.bucket, spec.key, 2, 5000);
        },
      });
    }
  }

  // Large objects are spread among the small ones, so the multipart copies overlap everything else.
  const order = [...specOf.keys()].sort((a, b) => hash(a, options.seed) - hash(b, options.seed));
  await inPool(order, options.concurrency, put);

  // The races' sources change only in their races.
  const raced = new Set(workload.races.map((race) => race.id));
  const others = order.filter((id) => !raced.has(id));
  const overwrites = others.filter(() => random() < options.overwriteShare);
  const twice = overwrites.filter(() => random() < 0.25);
  await inPool([...overwrites, ...twice], options.concurrency, put);

  const crashId = crashKey ? sourceId(SOURCE_BUCKET, crashKey) : undefined;
  const deletes = others.filter((id) => id !== crashId && random() < options.deleteShare);
  await inPool(deletes, options.concurrency, async (id) => {
    workload.deleted.add(id);
    const { bucket, key } = splitSourceId(id);
    // In the versioned bucket, a delete marker.
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  });
  await Promise.all(raceWrites);
  options.log?.(
    `  objects: ${specs.length} written (${largeCount + raceSpecs.length} multipart, ${raceSpecs.length} of them overwritten during their copy), ${overwrites.length + twice.length} overwrites, ${deletes.length} deletes`,
  );
}

/**
 * Lifecycle expirations, once the first copies are made (a lifecycle rule acts days later): some `logs/`,
 * `docs/` and versioned sources whose every replica holds the current bytes, each expired as S3 Lifecycle
 * would (`sandbox.expire`: its "Object Deleted" event says "Lifecycle Expiration"). Call settle() after.
 */
export async function expireWork(sandbox: Sandbox, options: SoakOptions, workload: Workload) {
  const random = seededRandom(options.seed * 31 + 17);
  const raced = new Set(workload.races.map((race) => race.id));
  const candidates = [...workload.writes.keys()].filter((id) => {
    if (workload.deleted.has(id) || raced.has(id) || workload.expectedRefusals.has(id)) return false;
    const { bucket, key } = splitSourceId(id);
    const share = key.startsWith('logs/')
      ? 0.5
      : bucket === VERSIONED_BUCKET
        ? 0.15
        : key.startsWith('docs/')
          ? 0.04
          : 0;
    return random() < share;
  });
  await inPool(candidates, options.concurrency, async (id) => {
    const { bucket, key } = splitSourceId(id);
    const source = await readObject(sandbox.s3(SOURCE_REGION), bucket, key);
    if (!source) return;
    for (const plan of plansOf(bucket, key)) {
      const replica = await readObject(
        sandbox.s3(plan.destination.region),
        plan.destination.bucket,
        plan.key,
      );
      if (replica?.hash !== source.hash) return;
    }
    if (sandbox.expire(bucket, key)) workload.expired.set(id, source.hash);
  });
  options.log?.(`  lifecycle: ${workload.expired.size} sources expired`);
}

/** A stable pseudo-random order. */
function hash(text: string, seed: number): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 2654435761) >>> 0;
  return h;
}

const tagList = (tags: Record<string, string>) =>
  Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));

/** Snapshots of volumes of 1–16 GiB (tagged for the rules or not), then AMIs of seeded instances. */
async function ec2Work(sandbox: Sandbox, options: SoakOptions, workload: Workload) {
  const random = seededRandom(options.seed * 104729 + 5);
  const ec2: EC2Client = sandbox.ec2Client(SOURCE_REGION);
  const volumes = Array.from({ length: Math.max(1, Math.ceil(options.snapshots / 3)) }, () =>
    sandbox.ec2.createVolume(SOURCE_REGION, { sizeGiB: 1 + Math.floor(random() * 16) }),
  );
  const snapshots = Array.from({ length: options.snapshots }, (_, index) => {
    const draw = random();
    const tags: Record<string, string> =
      draw < 0.1
        ? { backup: 'none' }
        : draw < 0.3
          ? { backup: 'dr', tier: 'gold', n: String(index) }
          : { backup: 'dr', n: String(index) };
    return { volumeId: volumes[index % volumes.length] as string, tags };
  });
  const images = Array.from({ length: options.images }, (_, index) => ({
    index,
    tags: (random() < 1 / 6 ? { dr: 'false' } : { dr: 'true', app: `app-${index % 5}` }) as Record<
      string,
      string
    >,
    volumes: 1 + Math.floor(random() * 2),
  }));

  await inPool(snapshots, Math.max(1, options.concurrency / 2), async ({ volumeId, tags }) => {
    const { SnapshotId } = await patiently(workload, () =>
      ec2.send(
        new CreateSnapshotCommand({
          VolumeId: volumeId,
          Description: 'soak',
          TagSpecifications: [{ ResourceType: 'snapshot', Tags: tagList(tags) }],
        }),
      ),
    );
    if (SnapshotId) workload.snapshots.push({ id: SnapshotId, tags });
  });
  await inPool(images, Math.max(1, options.concurrency / 4), async ({ index, tags, volumes: count }) => {
    const attached = Array.from({ length: count }, () =>
      sandbox.ec2.createVolume(SOURCE_REGION, { sizeGiB: 1 + Math.floor(random() * 8) }),
    );
    const instanceId = sandbox.ec2.createInstance(SOURCE_REGION, attached);
    const { ImageId } = await patiently(workload, () =>
      ec2.send(
        new CreateImageCommand({
          InstanceId: instanceId,
          Name: `soak-${String(index).padStart(3, '0')}`,
          Description: 'soak build',
          TagSpecifications: [{ ResourceType: 'image', Tags: tagList(tags) }],
        }),
      ),
    );
    if (ImageId) workload.images.push({ id: ImageId, tags });
  });
  options.log?.(`  EC2: ${workload.snapshots.length} snapshots, ${workload.images.length} AMIs created`);
}

/** The S3 and the EC2 work run at once, as they would in an account. */
export async function runWorkload(sandbox: Sandbox, options: SoakOptions): Promise<Workload> {
  const workload: Workload = {
    writes: new Map(),
    deleted: new Set(),
    expired: new Map(),
    expectedRefusals: new Map(),
    compactOnly: new Set(),
    races: [],
    crashKey: undefined,
    snapshots: [],
    images: [],
    driverRetries: 0,
  };
  await Promise.all([objectWork(sandbox, options, workload), ec2Work(sandbox, options, workload)]);
  return workload;
}
