import {
  GetObjectTaggingCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { Ec2CopyJob } from '#ec2/copy-machine/contract';
import { MARKER } from '#ec2/markers';
import type { Delivery } from '#local/event-bus';
import type { Sandbox } from '#local/sandbox';
import type { CopyJob } from '#objects/copy-machine/contract';
import { decodeEventKey } from '#objects/keys';
import { isReplicaOf, readMarkers } from '#objects/markers';
import type { Report } from '#objects/outcomes';
import type { ReconcileReport } from '#reconcile/report';
import { imageRulesOf, objectRulesOf, snapshotRulesOf } from '#rules/config';
import { plansOf, SET_TAG, SOAK_CONFIG, SOURCE_BUCKET, SOURCE_REGION, VERSIONED_BUCKET } from './options.ts';
import { inPool, readObject, sourceId, splitSourceId, type Workload } from './workload.ts';

/** The named permanent causes of a replica over S3's limits. */
const LIMIT_CAUSES = new Set(['MetadataTooLarge', 'TooManyTags', 'KeyTooLong']);

/** A `tagged/` replica carries its source's tags and the one its rule sets. */
async function hasSourceTagsAndSet(
  sandbox: Sandbox,
  source: { bucket: string; key: string },
  plan: ReturnType<typeof plansOf>[number],
): Promise<boolean> {
  const tagsOf = async (client: ReturnType<Sandbox['s3']>, bucket: string, key: string) =>
    Object.fromEntries(
      ((await client.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }))).TagSet ?? []).map(
        (tag) => [tag.Key, tag.Value],
      ),
    );
  const own = await tagsOf(sandbox.s3(SOURCE_REGION), source.bucket, source.key);
  const replica = await tagsOf(sandbox.s3(plan.destination.region), plan.destination.bucket, plan.key);
  const wanted = Object.entries({ ...own, ...SET_TAG });
  return (
    wanted.length === Object.keys(replica).length && wanted.every(([key, value]) => replica[key] === value)
  );
}

/** How one item (a source × destination) ended, read from the final state. */
export type ItemState =
  | 'verified'
  | 'failed-reported'
  | 'silent-loss'
  | 'stale'
  | 'duplicate'
  | 'wrong-markers'
  /** S3 cannot take the replica (a limit the workload breaks on purpose): failed with that named cause, no replica. */
  | 'refused'
  /** Refused by a limit it is within, or a source over a limit not refused with its cause. */
  | 'wrong-refusal';

export interface ItemProblem {
  item: string;
  state:
    | ItemState
    | 'lingering'
    | 'lifecycle-loss'
    | 'stray'
    | 'orphaned-upload'
    | 'left-behind'
    | 'unexpected-copy';
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
  deletes: {
    removed: number;
    afterLostDelete: number;
    lingering: number;
    kept: number;
    /**
     * Kept where deletes are replicated but lifecycle expirations are not, the delete event lost: reconcile
     * cannot tell a lost delete from an expiration there, and keeps the DR copy (by design).
     */
    keptAfterLostDelete: number;
  };
  /**
   * Replicas of sources a lifecycle rule expired: `outlived` (still there with the expired bytes, where
   * lifecycle deletes are not replicated), `lost` (gone or changed there: a problem), `removed` (gone where
   * they are replicated; `afterLostEvent` of them by reconcile), `lingering` (still there: a problem).
   */
  expirations: { outlived: number; lost: number; removed: number; afterLostEvent: number; lingering: number };
  /** Sources that fit only with compact markers: how many there are now, and how many replicas are verified compact. */
  compact: { expected: number; verified: number };
  /** Large objects overwritten during their multipart copy, and how their items ended. */
  races: { total: number; fired: number; newerFirst: number; verified: number };
  /** Items refused by a limit, by cause. */
  refusalsByCause: Map<string, number>;
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
  refused: 0,
  'wrong-refusal': 0,
});

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
      detail?: { bucket?: { name?: string }; object?: { key?: string; etag?: string } };
      resources?: string[];
    };
    const cause = `${letter.error?.name ?? 'Error'}: ${letter.error?.message ?? ''}`;
    if (event.detail?.object?.key) {
      // A dead-lettered object event is about every destination of the key.
      add(
        objects,
        `source:${sourceId(event.detail.bucket?.name ?? '', decodeEventKey(event.detail.object.key))}`,
        {
          cause,
          etag: event.detail.object.etag,
        },
      );
    } else {
      for (const resource of event.resources ?? []) add(ec2, `${resource.split('/').pop()}|*`, { cause });
    }
  }
  for (const report of reconciles) {
    for (const rule of report.rules) {
      for (const failure of rule.failed) {
        // A failed listing names no item: what it did not list, a later pass of the round did.
        if (failure.listing) continue;
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
    deletes: { removed: 0, afterLostDelete: 0, lingering: 0, kept: 0, keptAfterLostDelete: 0 },
    expirations: { outlived: 0, lost: 0, removed: 0, afterLostEvent: 0, lingering: 0 },
    compact: { expected: 0, verified: 0 },
    races: { total: 0, fired: 0, newerFirst: 0, verified: 0 },
    refusalsByCause: new Map(),
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

  // The sequencer of the last write of each source, from every event S3 sent (delivered or lost).
  const lastSequencer = new Map<string, string>();
  const droppedDeletes = new Set<string>();
  const sourceBuckets = new Set([SOURCE_BUCKET, VERSIONED_BUCKET]);
  for (const event of [...sandbox.bus.published, ...sandbox.bus.dropped]) {
    const { detail } = event as {
      detail?: { bucket?: { name?: string }; object?: { key?: string; sequencer?: string } };
    };
    const bucket = detail?.bucket?.name;
    if (!bucket || !sourceBuckets.has(bucket) || !detail?.object?.key || !detail.object.sequencer) continue;
    const id = sourceId(bucket, decodeEventKey(detail.object.key));
    const seen = lastSequencer.get(id);
    if (!seen || seen < detail.object.sequencer) lastSequencer.set(id, detail.object.sequencer);
  }
  for (const event of sandbox.bus.dropped) {
    const typed = event as {
      'detail-type'?: string;
      detail?: { bucket?: { name?: string }; object?: { key?: string } };
    };
    if (typed['detail-type'] === 'Object Deleted' && typed.detail?.object?.key)
      droppedDeletes.add(sourceId(typed.detail.bucket?.name ?? '', decodeEventKey(typed.detail.object.key)));
  }

  // Objects: every source's current version against each destination of each rule.
  const sourceClient = sandbox.s3(SOURCE_REGION);
  const sources = (
    await Promise.all(
      [...sourceBuckets].map(async (bucket) =>
        (await listAll(sourceClient, bucket)).map((object) => ({ ...object, bucket })),
      ),
    )
  ).flat();
  const present = new Set(sources.map((source) => sourceId(source.bucket, source.key)));
  const expected = new Map<string, Set<string>>(); // bucket → replica keys that should or may be there
  const expect = (bucket: string, key: string) =>
    expected.set(bucket, (expected.get(bucket) ?? new Set()).add(key));
  const raceStates = new Map<string, ItemState>();
  const countRefusal = (cause: string) =>
    result.refusalsByCause.set(cause, (result.refusalsByCause.get(cause) ?? 0) + 1);
  await inPool(sources, 16, async (source) => {
    const id = sourceId(source.bucket, source.key);
    const original = await readObject(sourceClient, source.bucket, source.key);
    const refusal = workload.expectedRefusals.get(id);
    if (workload.compactOnly.has(id)) result.compact.expected += 1;
    for (const plan of plansOf(source.bucket, source.key)) {
      const bucket = plan.destination.bucket;
      const target = `s3://${bucket}/${plan.key}`;
      expect(bucket, plan.key);
      const replica = await readObject(sandbox.s3(plan.destination.region), bucket, plan.key);
      const item = `s3://${source.bucket}/${source.key} → ${target}`;
      const reported = [
        ...(failures.objects.get(target) ?? []),
        ...(failures.objects.get(`source:${id}`) ?? []),
      ]
        .filter((failure) => failure.etag === undefined || unquote(failure.etag) === source.etag)
        .map((failure) => ({ ...failure, name: causeName(failure.cause) }));
      const state = (value: ItemState, detail?: string) => {
        result.objects[value] += 1;
        if (detail) problem(item, value, detail);
        if (workload.races.some((race) => race.id === id)) raceStates.set(id, value);
      };
      if (refusal) {
        // S3 cannot take this replica: its copy must end as the limit's named permanent failure.
        const match = reported.find((failure) => failure.name === refusal);
        if (replica) state('wrong-refusal', `over S3's limit (${refusal}), yet a replica is there`);
        else if (match) {
          state('refused');
          countRefusal(refusal);
        } else if (reported[0]) state('wrong-refusal', `expected ${refusal}, reported ${reported[0].cause}`);
        else state('silent-loss', `no replica and no reported failure (${refusal} expected)`);
        continue;
      }
      if (replica && original && replica.hash === original.hash) {
        const markers = readMarkers(replica.metadata);
        const sequencer = lastSequencer.get(id);
        const versioned = source.bucket === VERSIONED_BUCKET;
        const markersOk =
          markers !== undefined &&
          isReplicaOf(markers, { bucket: source.bucket, key: source.key }) &&
          markers.rule === plan.rule.name &&
          (markers.sequencer === undefined || sequencer === undefined || markers.sequencer === sequencer) &&
          // A replica in the versioned bucket that names a version names the current one (reconcile's copies,
          // made from a listing, name none).
          (!versioned || markers.sourceVersion === undefined || markers.sourceVersion === original.versionId);
        const tagsOk = plan.rule.name !== 'tagged' || (await hasSourceTagsAndSet(sandbox, source, plan));
        if (!markersOk) state('wrong-markers', JSON.stringify(markers));
        else if (!tagsOk)
          state('wrong-markers', 'the replica lacks the source tags or the tag its rule sets');
        else {
          state('verified');
          if (workload.compactOnly.has(id) && markers?.sourceKey.startsWith('sha256:'))
            result.compact.verified += 1;
        }
        continue;
      }
      const limitFailure = reported.find((failure) => LIMIT_CAUSES.has(failure.name));
      if (limitFailure) state('wrong-refusal', `within S3's limits, yet refused: ${limitFailure.cause}`);
      else if (reported[0]) {
        state('failed-reported');
        countCause(reported[0].cause);
      } else if (replica) state('stale', 'the replica holds other bytes than the current source version');
      else state('silent-loss', 'no replica and no reported failure');
    }
  });
  result.races = {
    total: workload.races.length,
    fired: workload.races.filter((race) => race.fired).length,
    newerFirst: workload.races.filter((race) => race.newerFirst).length,
    verified: [...raceStates.values()].filter((state) => state === 'verified').length,
  };

  // Deleted sources: gone where the destination replicates deletes, kept (if ever copied) elsewhere.
  const gone = [...workload.deleted].filter((id) => !present.has(id));
  await inPool(gone, 16, async (id) => {
    const { bucket: sourceBucket, key } = splitSourceId(id);
    for (const plan of plansOf(sourceBucket, key)) {
      const { bucket, region, replicateDeletes, replicateLifecycleDeletes } = plan.destination;
      expect(bucket, plan.key);
      const replica = await readObject(sandbox.s3(region), bucket, plan.key);
      if (!replicateDeletes) {
        if (replica) result.deletes.kept += 1;
        continue;
      }
      const target = `s3://${bucket}/${plan.key}`;
      const lost = droppedDeletes.has(id);
      if (!replica) {
        result.deletes.removed += 1;
        if (lost) result.deletes.afterLostDelete += 1;
        continue;
      }
      if (lost && !replicateLifecycleDeletes) {
        result.deletes.keptAfterLostDelete += 1;
        continue;
      }
      // Lost delete events are no excuse where reconcile may delete: it deletes replicas whose source is gone.
      result.deletes.lingering += 1;
      const reported = failures.objects.get(`delete:${target}`)?.[0];
      problem(
        target,
        'lingering',
        `the source ${id} was deleted (its delete event ${lost ? 'lost' : 'delivered'}), its replica is still there` +
          (reported ? `; reconcile reported ${reported.cause}` : ''),
      );
    }
  });

  // Expired sources: the DR copy outlives its source's lifecycle unless the destination opted in.
  const expired = [...workload.expired].filter(([id]) => !present.has(id));
  await inPool(expired, 16, async ([id, hash]) => {
    const { bucket: sourceBucket, key } = splitSourceId(id);
    for (const plan of plansOf(sourceBucket, key)) {
      const { bucket, region, replicateDeletes, replicateLifecycleDeletes } = plan.destination;
      expect(bucket, plan.key);
      const replica = await readObject(sandbox.s3(region), bucket, plan.key);
      const target = `s3://${bucket}/${plan.key}`;
      if (!(replicateDeletes && replicateLifecycleDeletes)) {
        if (replica?.hash === hash) result.expirations.outlived += 1;
        else {
          result.expirations.lost += 1;
          problem(
            target,
            'lifecycle-loss',
            `${id} expired by lifecycle; its DR copy is ${replica ? 'changed' : 'gone'}`,
          );
        }
      } else if (replica) {
        result.expirations.lingering += 1;
        problem(
          target,
          'lingering',
          `${id} expired by lifecycle, and this destination replicates that; its replica is still there`,
        );
      } else {
        result.expirations.removed += 1;
        if (droppedDeletes.has(id)) result.expirations.afterLostEvent += 1;
      }
    }
  });

  // Strays: anything in a destination that no source (present, deleted or expired) accounts for.
  const buckets = new Map<string, string>();
  for (const rule of objectRulesOf(SOAK_CONFIG))
    for (const destination of rule.to) buckets.set(destination.bucket, destination.region);
  for (const [bucket, region] of buckets) {
    for (const object of await listAll(sandbox.s3(region), bucket)) {
      if (expected.get(bucket)?.has(object.key)) continue;
      result.strays += 1;
      problem(`s3://${bucket}/${object.key}`, 'stray', 'no source accounts for it');
    }
  }

  // Multipart uploads left open anywhere.
  for (const [bucket, region] of [
    ...buckets,
    ...[...sourceBuckets].map((name) => [name, SOURCE_REGION] as const),
  ]) {
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
