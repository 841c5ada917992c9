import { CreateImageCommand, CreateSnapshotCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { Sandbox } from '#local/sandbox';
import { seededRandom } from '#local/virtual-clock';
import { MULTIPART_THRESHOLD, PART_SIZE, SOURCE_BUCKET, SOURCE_REGION, type SoakOptions } from './options.ts';

/** What the soak asked of the sandbox: the sources it created, and what it did to them. */
export interface Workload {
  /** Every key written, with how many times (1 + overwrites); deleted keys included. */
  writes: Map<string, number>;
  deleted: Set<string>;
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

/**
 * Writes the objects (small ones under docs/, a few multipart ones under large/), then overwrites and
 * deletes some while their first copies may still be in flight. Nothing waits for Ferry in between.
 */
async function objectWork(sandbox: Sandbox, options: SoakOptions, workload: Workload) {
  const random = seededRandom(options.seed * 7919 + 11);
  const client = sandbox.s3(SOURCE_REGION);
  const largeCount = Math.min(12, Math.max(3, Math.ceil(options.objects / 250)));
  const keys: { key: string; size: () => number }[] = [];
  for (let i = 0; i < largeCount; i++) {
    // 2 to 4 parts of 5 MiB, the last one partial.
    keys.push({
      key: `large/object-${String(i).padStart(3, '0')}.bin`,
      size: () => MULTIPART_THRESHOLD + Math.floor(random() * (3 * PART_SIZE - MULTIPART_THRESHOLD)) + 1,
    });
  }
  for (let i = keys.length; i < options.objects; i++) {
    keys.push({
      key: `docs/${String(i % 17).padStart(2, '0')}/item-${String(i).padStart(5, '0')}.txt`,
      size: () => 64 + Math.floor(random() * 4096),
    });
  }
  const sizeOf = new Map(keys.map(({ key, size }) => [key, size]));
  // The crash hits the part copies of a multipart object written halfway through the run.
  workload.crashKey = options.faults.crash ? keys[Math.floor(largeCount / 2)]?.key : undefined;
  if (workload.crashKey) {
    const crashKey = workload.crashKey;
    sandbox.crashes.crashOnce({
      function: 'ObjectCopyStepLambdaFunction',
      when: (input) => {
        const step = input as { action?: string; job?: { source?: { key?: string } } };
        return step.action === 'copy-parts' && step.job?.source?.key === crashKey;
      },
    });
  }

  const put = async (key: string) => {
    const write = (workload.writes.get(key) ?? 0) + 1;
    workload.writes.set(key, write);
    const size = sizeOf.get(key)?.() ?? 100;
    await client.send(
      new PutObjectCommand({
        Bucket: SOURCE_BUCKET,
        Key: key,
        Body: bodyOf(key, write, size),
        Metadata: { soak: String(write) },
        ContentType: key.endsWith('.txt') ? 'text/plain' : 'application/octet-stream',
      }),
    );
  };
  // Large objects are spread among the small ones, so the multipart copies overlap everything else.
  const order = keys.map(({ key }) => key).sort((a, b) => hash(a, options.seed) - hash(b, options.seed));
  await inPool(order, options.concurrency, put);

  const overwrites = order.filter(() => random() < options.overwriteShare);
  const twice = overwrites.filter(() => random() < 0.25);
  await inPool([...overwrites, ...twice], options.concurrency, put);

  const deletes = order.filter((key) => key !== workload.crashKey && random() < options.deleteShare);
  await inPool(deletes, options.concurrency, async (key) => {
    workload.deleted.add(key);
    await client.send(new DeleteObjectCommand({ Bucket: SOURCE_BUCKET, Key: key }));
  });
  options.log?.(
    `  objects: ${keys.length} written (${largeCount} multipart), ${overwrites.length + twice.length} overwrites, ${deletes.length} deletes`,
  );
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
    crashKey: undefined,
    snapshots: [],
    images: [],
    driverRetries: 0,
  };
  await Promise.all([objectWork(sandbox, options, workload), ec2Work(sandbox, options, workload)]);
  return workload;
}
