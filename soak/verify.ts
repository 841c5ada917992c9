import { createHash } from 'node:crypto';
import {
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { Ec2CopyJob } from '#ec2/copy-job';
import { MARKER } from '#ec2/markers';
import type { Delivery } from '#local/event-bus';
import type { Sandbox } from '#local/sandbox';
import type { CopyJob } from '#objects/copy-job';
import { decodeEventKey } from '#objects/keys';
import { readMarkers } from '#objects/markers';
import type { Report } from '#objects/outcomes';
import { destinationKeyOf } from '#objects/router';
import type { ReconcileReport } from '#reconcile/report';
import { imageRulesOf, objectRulesOf, snapshotRulesOf } from '#rules/config';
import { SOAK_CONFIG, SOURCE_BUCKET, SOURCE_REGION } from './options.ts';
import { inPool, type Workload } from './workload.ts';

/** How one item (a source × destination) ended, read from the final state. */
export type ItemState =
  | 'verified'
  | 'failed-reported'
  | 'silent-loss'
  | 'stale'
  | 'duplicate'
  | 'wrong-markers';

export interface ItemProblem {
  item: string;
  state: ItemState | 'lingering' | 'stray' | 'orphaned-upload' | 'left-behind' | 'unexpected-copy';
  detail: string;
}

/** A failure Ferry reported somewhere an operator would look: a failed execution, a dead letter, a reconcile report. */
interface ReportedFailure {
  cause: string;
  /** Object failures: the source ETag the failure was about (undefined: the current one, as reconcile lists). */
  etag?: string | undefined;
}

export interface Verification {
  objects: Record<ItemState, number>;
  /**
   * Replicas of deleted sources. Where deletes are replicated: `removed` (`afterLostDelete` of them had
   * their delete event lost, so reconcile removed them), `lingering` (still there: a problem either way);
   * elsewhere `kept`.
   */
  deletes: { removed: number; afterLostDelete: number; lingering: number; kept: number };
  strays: number;
  snapshots: Record<ItemState, number>;
  images: Record<ItemState, number>;
  /** Copies of sources no rule matches. */
  unexpectedCopies: number;
  /** Failed copies (error / failed) still in a destination. */
  leftBehind: number;
  orphanedUploads: number;
  /** The cause of each item that ended failed-reported, by its error name. */
  failuresByCause: Map<string, number>;
  problems: ItemProblem[];
}

const emptyStates = (): Record<ItemState, number> => ({
  verified: 0,
  'failed-reported': 0,
  'silent-loss': 0,
  stale: 0,
  duplicate: 0,
  'wrong-markers': 0,
});

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const unquote = (etag: string | undefined) => (etag ?? '').replaceAll('"', '');
const causeName = (cause: string) => /^([A-Za-z][\w.]*)/.exec(cause)?.[1] ?? 'Unknown';

async function listAll(client: S3Client, bucket: string) {
  const objects: { key: string; etag: string; size: number }[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, ...(token ? { ContinuationToken: token } : {}) }),
    );
    for (const entry of page.Contents ?? [])
      if (entry.Key) objects.push({ key: entry.Key, etag: unquote(entry.ETag), size: entry.Size ?? 0 });
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return objects;
}

async function read(client: S3Client, bucket: string, key: string) {
  try {
    const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const body = await object.Body?.transformToByteArray();
    return { hash: sha256(body ?? new Uint8Array()), metadata: object.Metadata ?? {} };
  } catch (error) {
    if ((error as Error).name === 'NoSuchKey') return undefined;
    throw error;
  }
}

/** Every failure Ferry reported, by what it is about: `target|etag` for objects, `source|region` for EC2. */
function reportedFailures(sandbox: Sandbox, deliveries: readonly Delivery[], reconciles: ReconcileReport[]) {
  const objects = new Map<string, ReportedFailure[]>();
  const ec2 = new Map<string, ReportedFailure[]>();
  const add = (map: Map<string, ReportedFailure[]>, key: string, failure: ReportedFailure) =>
    map.set(key, [...(map.get(key) ?? []), failure]);

  for (const execution of sandbox.stepFunctions.executions.values()) {
    if (execution.status !== 'FAILED' || !execution.error) continue;
    const cause = `${execution.error.Error}: ${execution.error.Cause}`;
    if (execution.stateMachine === 'object-copy') {
      const job = execution.input as CopyJob;
      add(objects, `s3://${job.plan.destination.bucket}/${job.plan.destinationKey}`, {
        cause,
        etag: unquote(job.source.etag),
      });
    } else {
      const job = execution.input as Ec2CopyJob;
      add(ec2, `${job.source.id}|${job.destination.region}`, { cause });
    }
  }
  // Failures the fast path reported (permanent ones: retryable ones went to the state machine).
  for (const delivery of deliveries) {
    const report = delivery.result as Report | undefined;
    const etag = (delivery.event as { detail?: { object?: { etag?: string } } }).detail?.object?.etag;
    for (const outcome of report?.outcomes ?? [])
      if (outcome.status === 'failed')
        add(objects, outcome.target, { cause: `${outcome.error.cause}: ${outcome.error.message}`, etag });
  }
  for (const letter of sandbox.bus.deadLetters) {
    const event = letter.event as {
      detail?: { object?: { key?: string; etag?: string } };
      resources?: string[];
    };
    const cause = `${letter.error?.name ?? 'Error'}: ${letter.error?.message ?? ''}`;
    if (event.detail?.object?.key) {
      // A dead-lettered object event is about every destination of the key.
      add(objects, `source:${decodeEventKey(event.detail.object.key)}`, {
        cause,
        etag: event.detail.object.etag,
      });
    } else {
      for (const resource of event.resources ?? []) add(ec2, `${resource.split('/').pop()}|*`, { cause });
    }
  }
  for (const report of reconciles) {
    for (const rule of report.rules) {
      for (const failure of rule.failed) {
        // A replica of a deleted source that reconcile could not check or delete.
        const orphan = /^(s3:\/\/.+?) \(replica of /.exec(failure.item)?.[1];
        if (orphan) {
          add(objects, `delete:${orphan}`, { cause: failure.cause });
          continue;
        }
        const target = / → (s3:\/\/\S+)$/.exec(failure.item)?.[1];
        if (target) add(objects, target, { cause: failure.cause });
        const ec2Item = /^(\S+) \(/.exec(failure.item)?.[1];
        if (!target && ec2Item) add(ec2, `${ec2Item}|*`, { cause: failure.cause });
      }
    }
  }
  return { objects, ec2 };
}

/**
 * Reads the final state back — every source object and its replicas (content digests and markers), every
 * snapshot and AMI copy by its `ferry:` tags, every bucket's multipart uploads — and classifies each item.
 * Only the sandbox's state counts as evidence of a copy; a failure counts as reported when a failed
 * execution, a dead letter or a reconcile report names the item.
 */
export async function verify(
  sandbox: Sandbox,
  workload: Workload,
  deliveries: readonly Delivery[],
  reconciles: ReconcileReport[],
): Promise<Verification> {
  const result: Verification = {
    objects: emptyStates(),
    deletes: { removed: 0, afterLostDelete: 0, lingering: 0, kept: 0 },
    strays: 0,
    snapshots: emptyStates(),
    images: emptyStates(),
    unexpectedCopies: 0,
    leftBehind: 0,
    orphanedUploads: 0,
    failuresByCause: new Map(),
    problems: [],
  };
  const failures = reportedFailures(sandbox, deliveries, reconciles);
  const problem = (item: string, state: ItemProblem['state'], detail: string) =>
    result.problems.push({ item, state, detail });
  const countCause = (cause: string) =>
    result.failuresByCause.set(causeName(cause), (result.failuresByCause.get(causeName(cause)) ?? 0) + 1);

  // The sequencer of the last write of each key, from every event S3 sent (delivered or lost).
  const lastSequencer = new Map<string, string>();
  const droppedDeletes = new Set<string>();
  for (const event of [...sandbox.bus.published, ...sandbox.bus.dropped]) {
    const { detail } = event as {
      detail?: { bucket?: { name?: string }; object?: { key?: string; sequencer?: string } };
    };
    if (detail?.bucket?.name !== SOURCE_BUCKET || !detail.object?.key || !detail.object.sequencer) continue;
    const key = decodeEventKey(detail.object.key);
    const seen = lastSequencer.get(key);
    if (!seen || seen < detail.object.sequencer) lastSequencer.set(key, detail.object.sequencer);
  }
  for (const event of sandbox.bus.dropped) {
    const typed = event as { 'detail-type'?: string; detail?: { object?: { key?: string } } };
    if (typed['detail-type'] === 'Object Deleted' && typed.detail?.object?.key)
      droppedDeletes.add(decodeEventKey(typed.detail.object.key));
  }

  // Objects: every final source version against each destination of each rule.
  const sourceClient = sandbox.s3(SOURCE_REGION);
  const sources = await listAll(sourceClient, SOURCE_BUCKET);
  const present = new Set(sources.map((source) => source.key));
  const expected = new Map<string, Set<string>>(); // bucket → replica keys that should or may be there
  const rules = objectRulesOf(SOAK_CONFIG);
  const plansOf = (key: string) =>
    rules
      .filter((rule) => key.startsWith(rule.objects.prefix ?? ''))
      .flatMap((rule) =>
        rule.to.map((destination) => ({ rule, destination, key: destinationKeyOf(rule, destination, key) })),
      );
  await inPool(sources, 16, async (source) => {
    const original = await read(sourceClient, SOURCE_BUCKET, source.key);
    for (const plan of plansOf(source.key)) {
      const bucket = plan.destination.bucket;
      const target = `s3://${bucket}/${plan.key}`;
      expected.set(bucket, (expected.get(bucket) ?? new Set()).add(plan.key));
      const replica = await read(sandbox.s3(plan.destination.region), bucket, plan.key);
      const item = `s3://${SOURCE_BUCKET}/${source.key} → ${target}`;
      if (replica && original && replica.hash === original.hash) {
        const markers = readMarkers(replica.metadata);
        const sequencer = lastSequencer.get(source.key);
        const markersOk =
          markers?.sourceBucket === SOURCE_BUCKET &&
          markers.sourceKey === encodeURIComponent(source.key) &&
          markers.rule === plan.rule.name &&
          (markers.sequencer === undefined || sequencer === undefined || markers.sequencer === sequencer);
        if (markersOk) result.objects.verified += 1;
        else {
          result.objects['wrong-markers'] += 1;
          problem(item, 'wrong-markers', JSON.stringify(markers));
        }
        continue;
      }
      const reported = [
        ...(failures.objects.get(target) ?? []),
        ...(failures.objects.get(`source:${source.key}`) ?? []),
      ].find((failure) => failure.etag === undefined || unquote(failure.etag) === source.etag);
      if (reported) {
        result.objects['failed-reported'] += 1;
        countCause(reported.cause);
      } else if (replica) {
        result.objects.stale += 1;
        problem(item, 'stale', 'the replica holds other bytes than the final source version');
      } else {
        result.objects['silent-loss'] += 1;
        problem(item, 'silent-loss', 'no replica and no reported failure');
      }
    }
  });

  // Deleted sources: gone where the destination replicates deletes, kept (if ever copied) elsewhere.
  const gone = [...workload.deleted].filter((key) => !present.has(key));
  await inPool(gone, 16, async (key) => {
    for (const plan of plansOf(key)) {
      const bucket = plan.destination.bucket;
      expected.set(bucket, (expected.get(bucket) ?? new Set()).add(plan.key));
      const replica = await read(sandbox.s3(plan.destination.region), bucket, plan.key);
      if (!plan.destination.replicateDeletes) {
        if (replica) result.deletes.kept += 1;
        continue;
      }
      const target = `s3://${bucket}/${plan.key}`;
      const lost = droppedDeletes.has(key);
      if (!replica) {
        result.deletes.removed += 1;
        if (lost) result.deletes.afterLostDelete += 1;
        continue;
      }
      // Lost delete events are no excuse: reconcile deletes replicas whose source is gone.
      result.deletes.lingering += 1;
      const reported = failures.objects.get(`delete:${target}`)?.[0];
      problem(
        target,
        'lingering',
        `the source ${key} was deleted (its delete event ${lost ? 'lost' : 'delivered'}), its replica is still there` +
          (reported ? `; reconcile reported ${reported.cause}` : ''),
      );
    }
  });

  // Strays: anything in a destination that no source (present or deleted) accounts for.
  const buckets = new Map<string, string>();
  for (const rule of rules)
    for (const destination of rule.to) buckets.set(destination.bucket, destination.region);
  for (const [bucket, region] of buckets) {
    for (const object of await listAll(sandbox.s3(region), bucket)) {
      if (expected.get(bucket)?.has(object.key)) continue;
      result.strays += 1;
      problem(`s3://${bucket}/${object.key}`, 'stray', 'no source accounts for it');
    }
  }

  // Multipart uploads left open anywhere.
  for (const [bucket, region] of [...buckets, [SOURCE_BUCKET, SOURCE_REGION] as const]) {
    const { Uploads = [] } = await sandbox
      .s3(region)
      .send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    result.orphanedUploads += Uploads.length;
    for (const upload of Uploads)
      problem(
        `s3://${bucket}/${upload.Key}`,
        'orphaned-upload',
        `upload ${upload.UploadId} never completed nor aborted`,
      );
  }

  // Snapshots and AMIs: per source × rule destination, Ferry's copies by their tags.
  const ec2Failure = (id: string, region: string) =>
    [...(failures.ec2.get(`${id}|${region}`) ?? []), ...(failures.ec2.get(`${id}|*`) ?? [])][0];
  const regionsOf = (
    rulesFor: { name: string; tags: Record<string, string>; regions: string[] }[],
    tags: Record<string, string>,
  ) =>
    rulesFor
      .filter((rule) => Object.entries(rule.tags).every(([key, value]) => tags[key] === value))
      .flatMap((rule) => rule.regions.map((region) => ({ rule: rule.name, region })));
  const snapshotRules = snapshotRulesOf(SOAK_CONFIG).map((rule) => ({
    name: rule.name,
    tags: rule.snapshots.tags ?? {},
    regions: rule.to.map((destination) => destination.region),
  }));
  const imageRules = imageRulesOf(SOAK_CONFIG).map((rule) => ({
    name: rule.name,
    tags: rule.images.tags ?? {},
    regions: rule.to.map((destination) => destination.region),
  }));
  const destinationRegions = new Set([...snapshotRules, ...imageRules].flatMap((rule) => rule.regions));
  const ferryCopies = [...destinationRegions]
    .flatMap((region) => [
      ...sandbox.ec2.snapshots(region).map((copy) => ({
        kind: 'snapshot' as const,
        region,
        copy,
        tags: copy.tags,
        ok: copy.state === 'completed',
        failed: copy.state === 'error',
        backsImage: copy.copy?.imageId !== undefined,
      })),
      ...sandbox.ec2.images(region).map((copy) => ({
        kind: 'image' as const,
        region,
        copy,
        tags: copy.tags,
        ok: copy.state === 'available',
        failed: copy.state === 'failed',
        backsImage: false,
      })),
    ])
    .filter((entry) => entry.tags.has(MARKER.sourceId));
  result.leftBehind = ferryCopies.filter((entry) => entry.failed).length;
  for (const entry of ferryCopies.filter((candidate) => candidate.failed))
    problem(
      `${entry.kind} copy in ${entry.region}`,
      'left-behind',
      `a failed copy of ${entry.tags.get(MARKER.sourceId)} is still there`,
    );

  const checkEc2 = (
    kind: 'snapshot' | 'image',
    sources: Workload['snapshots'],
    rulesFor: typeof snapshotRules,
    states: Record<ItemState, number>,
  ) => {
    for (const source of sources) {
      const wanted = regionsOf(rulesFor, source.tags);
      const copies = ferryCopies.filter(
        (entry) => entry.kind === kind && !entry.backsImage && entry.tags.get(MARKER.sourceId) === source.id,
      );
      if (wanted.length === 0 && copies.length > 0) {
        result.unexpectedCopies += copies.length;
        problem(source.id, 'unexpected-copy', `no rule matches it, yet ${copies.length} copies exist`);
      }
      for (const { rule, region } of wanted) {
        const item = `${source.id} → ${region} [${rule}]`;
        const mine = copies.filter(
          (entry) => entry.region === region && entry.tags.get(MARKER.rule) === rule && !entry.failed,
        );
        if (mine.length > 1) {
          states.duplicate += 1;
          problem(item, 'duplicate', `${mine.length} copies`);
        } else if (
          mine.length === 1 &&
          mine[0]?.ok &&
          (kind === 'snapshot' || imageComplete(sandbox, region, mine[0].copy))
        ) {
          states.verified += 1;
        } else {
          const failure = ec2Failure(source.id, region);
          if (failure) {
            states['failed-reported'] += 1;
            countCause(failure.cause);
          } else {
            states['silent-loss'] += 1;
            problem(
              item,
              'silent-loss',
              mine.length === 1 ? 'a copy that never completed' : 'no copy and no reported failure',
            );
          }
        }
      }
    }
  };
  checkEc2('snapshot', workload.snapshots, snapshotRules, result.snapshots);
  checkEc2('image', workload.images, imageRules, result.images);
  return result;
}

/** An AMI copy is whole when every snapshot behind it is there and completed. */
function imageComplete(sandbox: Sandbox, region: string, copy: unknown): boolean {
  const image = copy as { blockDevices: { snapshotId: string }[] };
  return image.blockDevices.every(
    (device) => sandbox.ec2.snapshot(region, device.snapshotId)?.state === 'completed',
  );
}
