import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  type Part,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { destinationTarget, type S3ClientFactory } from '#foundation/aws-clients';
import { type ClassifiedError, classifyError } from '#foundation/errors/classify';
import {
  checksumAlgorithmOf,
  expectedOwnerOf,
  replicaAttributes,
  replicaLocation,
  replicaTagging,
  type SourceHead,
  unquote,
} from '#objects/copy-request';
import { checkObjectLockEnabled, type LockChecks } from '#objects/destination-lock';
import {
  CopyResultMissingETagError,
  CreateMultipartUploadMissingUploadIdError,
  ReplicaSupersededError,
  ReplicaVerificationError,
} from '#objects/errors';
import { etagsMustMatch } from '#objects/etag-rule';
import { copySourceOf } from '#objects/keys';
import { isReplicaOf, readMarkers } from '#objects/markers';
import { replicaLockFields } from '#objects/object-lock';
import type { Outcome } from '#objects/outcomes';
import { targetOf } from '#objects/outcomes';
import { copyDecision, guardedWrite, type WriteCondition } from '#objects/replica-guard';
import { headSource, readTags, requestPayerOf } from '#objects/source-reads';
import type { CopyJob } from './contract.ts';
import {
  GiB,
  MiB,
  type PartRange,
  type PartSizing,
  partSizeFor,
  planBatches,
  planParts,
} from './part-planner.ts';

export { MAX_BATCHES } from './part-planner.ts';

export type MultipartSettings = PartSizing;

/**
 * 64 parts in flight, 8 per invocation: a 1 GiB object copies as 64 parts of 16 MiB from 8 Lambdas side
 * by side, a 6 GiB one as 64 of 96 MiB; from 320 GiB parts reach 5 GiB and the batches grow instead
 * (BENCHMARKS.md, "Large objects"). 64 GiB per invocation ends in about 2 minutes at 8 parts of 64 MiB/s;
 * a 48.8 TiB object needs 250 GiB batches to stay within 200, still inside 15 minutes at that rate.
 */
export const DEFAULT_MULTIPART_SETTINGS: MultipartSettings = {
  minPartSize: 16 * MiB,
  partsInFlight: 64,
  partConcurrency: 8,
  maxBatchBytes: 64 * GiB,
};

/** An upload in progress, small enough for the state machine's payload whatever the object's size. */
export interface MultipartUpload {
  uploadId: string;
  partSize: number;
  partCount: number;
  /** Inclusive part-number ranges, one per Map iteration. */
  batches: { first: number; last: number }[];
  /** The source's ETag when the replica must reproduce it (source layout kept, no SSE-KMS), else "". */
  expectedETag: string;
}

interface Deps {
  s3: S3ClientFactory;
  settings: MultipartSettings;
  /** The clock a destination's minimum lock is counted from (default: real time). */
  now?: () => number;
  lockChecks?: LockChecks;
}

const destinationClient = (job: CopyJob, deps: Pick<Deps, 's3'>) =>
  deps.s3(destinationTarget(job.plan.destination));

/** The layout is a pure function of size and part size, so every step can recompute its parts. */
const partsOf = (job: CopyJob, partSize: number) =>
  planParts(job.source.size, { preferredPartSize: partSize });

/**
 * Reads the source once, creates the upload with everything a multipart copy does not carry (metadata,
 * content headers, tags, storage class, encryption) and plans the parts. An upload created here is
 * aborted here if anything after it fails: no orphan.
 */
export async function startMultipartCopy(job: CopyJob, deps: Deps): Promise<MultipartUpload> {
  const { source, plan } = job;
  const sourceClient = deps.s3({ region: source.region });
  // A multipart source (`…-N` ETag): one HEAD of part 1 gives both the attributes and the part layout.
  const sourceParts = Number(/-(\d+)$/.exec(unquote(source.etag))?.[1] ?? 0);
  const head = await headSource(sourceClient, source, sourceParts > 0 ? 1 : undefined);
  const tags = plan.destination.tags.copy ? await readTags(sourceClient, source, head) : undefined;
  const sourcePartSize = sourceParts > 0 ? uniformPartSize(source.size, head, sourceParts) : undefined;

  const client = destinationClient(job, deps);
  // A copy already superseded (the version is no longer current, or a newer replica is in place) copies
  // no part at all. The decision is made again, and binds the write, before completing.
  const decision = await copyDecision({ source: sourceClient, destination: client }, plan, source);
  if (typeof decision === 'string') throw new ReplicaSupersededError(targetOf(plan), decision);
  const checksumAlgorithm = checksumAlgorithmOf(head);
  // The same lock as CopyObject's (object-lock.ts); a destination without Object Lock fails here, before
  // any upload exists.
  const lock = replicaLockFields(plan.destination, head, (deps.now ?? Date.now)());
  await checkObjectLockEnabled(plan.destination, lock, deps);
  const created = await client.send(
    new CreateMultipartUploadCommand({
      ...replicaAttributes(plan, source, head),
      ...lock,
      Tagging: replicaTagging(plan, tags),
      ...(checksumAlgorithm ? { ChecksumAlgorithm: checksumAlgorithm } : {}),
    }),
  );
  const uploadId = created.UploadId;
  if (!uploadId) throw new CreateMultipartUploadMissingUploadIdError(targetOf(plan));
  try {
    const partSize = sourcePartSize ?? partSizeFor(source.size, deps.settings);
    const parts = partsOf(job, partSize);
    const keepsSourceETag = etagsMustMatch({
      sourceETag: source.etag,
      encryptions: [head.ServerSideEncryption, plan.destination.encryption?.sse],
      replica: { parts: sourcePartSize !== undefined ? parts.length : 0 },
    });
    return {
      uploadId,
      partSize: parts[0] ? parts[0].end - parts[0].start + 1 : partSize,
      partCount: parts.length,
      batches: planBatches(parts, deps.settings),
      // Always present (empty when not comparable): the state machine's JSONPath reads it.
      expectedETag: keepsSourceETag ? unquote(source.etag) : '',
    };
  } catch (error) {
    await abortMultipartCopy(job, uploadId, deps);
    throw error;
  }
}

/**
 * The part size of a source uploaded in parts of one size (as the AWS CLI, the SDKs and rclone do), from
 * the HEAD of its part 1; undefined when the layout is not uniform, so it cannot be reproduced exactly.
 */
function uniformPartSize(
  size: number,
  partOne: SourceHead & { PartsCount?: number | undefined },
  etagParts: number,
) {
  const partSize = partOne.ContentLength;
  const partCount = partOne.PartsCount ?? etagParts;
  return partSize && Math.ceil(size / partSize) === partCount ? partSize : undefined;
}

/** Copies one batch of parts with UploadPartCopy, each pinned to the event's version and ETag. */
export async function copyPartBatch(
  job: CopyJob,
  upload: Pick<MultipartUpload, 'uploadId' | 'partSize'>,
  batch: { first: number; last: number },
  deps: Deps,
): Promise<number> {
  const client = destinationClient(job, deps);
  const parts = partsOf(job, upload.partSize).slice(batch.first - 1, batch.last);
  const { source, plan } = job;
  const copyPart = async (part: PartRange) => {
    const result = await client.send(
      new UploadPartCopyCommand({
        ...replicaLocation(plan),
        UploadId: upload.uploadId,
        PartNumber: part.partNumber,
        CopySource: copySourceOf(source.bucket, source.key, source.versionId),
        CopySourceRange: `bytes=${part.start}-${part.end}`,
        CopySourceIfMatch: source.etag,
        ExpectedSourceBucketOwner: source.account,
        ...requestPayerOf(source),
      }),
    );
    if (!result.CopyPartResult?.ETag) {
      throw new CopyResultMissingETagError(`${targetOf(plan)} part ${part.partNumber}`);
    }
  };
  await inParallel(parts, deps.settings.partConcurrency, copyPart);
  return parts.length;
}

/**
 * Completes the upload from the parts S3 reports, through the replica guard: the job's object must still
 * be the source's current one (the part copies pinned it, but it may have been overwritten or deleted after
 * the last of them), no newer replica may be at the key, and CompleteMultipartUpload carries `If-Match`
 * (what was read there) or `If-None-Match: *`. A superseded copy throws ReplicaSupersededError, and the
 * state machine aborts its upload. Then checks the replica's size (and ETag where comparable).
 */
export async function completeMultipartCopy(
  job: CopyJob,
  upload: Pick<MultipartUpload, 'uploadId' | 'partCount' | 'expectedETag'>,
  deps: Deps,
): Promise<Outcome> {
  const client = destinationClient(job, deps);
  const { plan, source } = job;
  const target = targetOf(plan);
  const location = replicaLocation(plan);

  const clients = { source: deps.s3({ region: source.region }), destination: client };
  let completed: Awaited<ReturnType<typeof completeWith>>;
  try {
    // Parts first: an upload already gone is an earlier attempt's completion, found below.
    const parts = await listParts(client, location, upload, target);
    const written = await guardedWrite(
      () => copyDecision(clients, plan, source),
      (condition) => completeWith(client, location, upload.uploadId, parts, condition),
    );
    if ('skip' in written) {
      // This very version is there already: an earlier attempt's completion (a timed-out step's request
      // that S3 finished meanwhile) is this copy, done; this attempt's upload, if any is left, goes.
      const earlier = written.skip === 'up-to-date' ? await completedEarlier(job, upload, deps) : undefined;
      if (!earlier) throw new ReplicaSupersededError(target, written.skip);
      await abortMultipartCopy(job, upload.uploadId, deps);
      return earlier;
    }
    completed = written;
  } catch (error) {
    // A retried step (the last attempt died after completing, or a timed-out one completed meanwhile):
    // the upload is gone because the replica is written. Anything else is the error it was.
    if (classifyError(error).cause !== 'NoSuchUpload') throw error;
    const replica = await completedEarlier(job, upload, deps);
    if (!replica) throw error;
    return replica;
  }
  const etag = completed.ETag;
  if (!etag) throw new CopyResultMissingETagError(target);
  const replica = await client.send(new HeadObjectCommand(location));
  if (replica.ContentLength !== source.size) {
    throw new ReplicaVerificationError(
      target,
      'size',
      `${source.size} bytes`,
      `${replica.ContentLength} bytes`,
    );
  }
  if (upload.expectedETag && unquote(etag) !== upload.expectedETag) {
    throw new ReplicaVerificationError(target, 'ETag', upload.expectedETag, unquote(etag));
  }
  return { status: 'copied', rule: plan.rule.name, target, etag: unquote(etag), bytes: source.size };
}

type Location = ReturnType<typeof replicaLocation>;

/** ListParts, every page: exactly the parts the upload holds, each of them with an ETag. */
async function listParts(
  client: ReturnType<S3ClientFactory>,
  location: Location,
  upload: Pick<MultipartUpload, 'uploadId' | 'partCount'>,
  target: string,
): Promise<Part[]> {
  const parts: Part[] = [];
  let marker: string | undefined;
  do {
    const page = await client.send(
      new ListPartsCommand({ ...location, UploadId: upload.uploadId, PartNumberMarker: marker }),
    );
    parts.push(...(page.Parts ?? []));
    marker = page.IsTruncated ? page.NextPartNumberMarker : undefined;
  } while (marker);
  if (parts.length !== upload.partCount || parts.some((part) => !part.ETag)) {
    throw new ReplicaVerificationError(
      target,
      'parts',
      `${upload.partCount} with ETags`,
      `${parts.filter((part) => part.ETag).length} of ${parts.length} with ETags`,
    );
  }
  return parts;
}

/** CompleteMultipartUpload with exactly the listed parts and their checksums, on the replica's condition. */
function completeWith(
  client: ReturnType<S3ClientFactory>,
  location: Location,
  uploadId: string,
  parts: Part[],
  condition: WriteCondition,
) {
  return client.send(
    new CompleteMultipartUploadCommand({
      ...location,
      UploadId: uploadId,
      ...('ifMatch' in condition ? { IfMatch: condition.ifMatch } : { IfNoneMatch: condition.ifNoneMatch }),
      MultipartUpload: {
        Parts: parts
          .sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0))
          .map((part) => ({
            PartNumber: part.PartNumber,
            ETag: part.ETag,
            // An upload created with a checksum algorithm completes only with each part's checksum.
            ...(part.ChecksumCRC32 ? { ChecksumCRC32: part.ChecksumCRC32 } : {}),
            ...(part.ChecksumCRC32C ? { ChecksumCRC32C: part.ChecksumCRC32C } : {}),
            ...(part.ChecksumCRC64NVME ? { ChecksumCRC64NVME: part.ChecksumCRC64NVME } : {}),
            ...(part.ChecksumSHA1 ? { ChecksumSHA1: part.ChecksumSHA1 } : {}),
            ...(part.ChecksumSHA256 ? { ChecksumSHA256: part.ChecksumSHA256 } : {}),
          })),
      },
    }),
  );
}

/** Aborts the upload so no parts are left behind (and billed). An upload already gone is fine. */
export async function abortMultipartCopy(
  job: CopyJob,
  uploadId: string,
  deps: Pick<Deps, 's3'>,
): Promise<void> {
  try {
    await deps
      .s3(destinationTarget(job.plan.destination))
      .send(new AbortMultipartUploadCommand({ ...replicaLocation(job.plan), UploadId: uploadId }));
  } catch (error) {
    if (classifyError(error).cause !== 'NoSuchUpload') throw error;
  }
}

/**
 * The outcome of a completion that already happened, read from the replica: Ferry's markers for this
 * source version under this rule, the source's size, and the ETag the upload gives (the source's where
 * comparable, else a multipart ETag of this part count). Undefined when the key holds anything else.
 */
async function completedEarlier(
  job: CopyJob,
  upload: Pick<MultipartUpload, 'partCount' | 'expectedETag'>,
  deps: Deps,
): Promise<Outcome | undefined> {
  const { plan, source } = job;
  const replica = await destinationClient(job, deps)
    .send(new HeadObjectCommand(replicaLocation(plan)))
    .catch((error: unknown) => {
      if (classifyError(error).cause === 'NoSuchKey') return undefined;
      throw error;
    });
  const markers = readMarkers(replica?.Metadata);
  const etag = unquote(replica?.ETag ?? '');
  const ours =
    markers !== undefined &&
    isReplicaOf(markers, source) &&
    markers.rule === plan.rule.name &&
    markers.sourceVersion === source.versionId &&
    markers.sequencer === source.sequencer &&
    replica?.ContentLength === source.size &&
    (upload.expectedETag ? etag === upload.expectedETag : etag.endsWith(`-${upload.partCount}`));
  if (!ours) return undefined;
  return { status: 'copied', rule: plan.rule.name, target: targetOf(plan), etag, bytes: source.size };
}

/** What a sweep of the replica key's uploads in progress did. */
export interface UploadSweep {
  /** Uploads this copy had started, now aborted (or found gone meanwhile). */
  aborted: string[];
  /** Uploads started after a newer source object was written: its own copy's, so left alone. */
  kept: string[];
  /** Uploads that could not be aborted, with why. */
  failed: { uploadId: string; error: ClassifiedError }[];
}

/**
 * Aborts the uploads in progress that this copy started and may have lost track of: a step that died
 * between CreateMultipartUpload and its answer leaves an upload nobody knows the id of. Ferry owns the
 * replica key, so an upload for exactly that key, initiated since the execution started (`since`, taken
 * from the start of its second: S3 may report `Initiated` to the second) is this copy's, or that of a
 * concurrent copy of an older source version, which is obsolete anyway. The one upload that is not ours
 * to abort is a newer version's copy: when the source key now holds another object, uploads initiated
 * from the moment it was written are left alone. Listing or reading the source fails the sweep; aborts
 * that fail are reported in `failed` after the others were tried.
 */
export async function abortOwnUploads(
  job: CopyJob,
  since: number,
  deps: Pick<Deps, 's3'>,
): Promise<UploadSweep> {
  const { plan } = job;
  const client = destinationClient(job, deps);
  const from = Math.floor(since / 1000) * 1000;
  const candidates: { uploadId: string; initiated: number }[] = [];
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  for (;;) {
    const page = await client.send(
      new ListMultipartUploadsCommand({
        Bucket: plan.destination.bucket,
        Prefix: plan.destinationKey,
        KeyMarker: keyMarker,
        UploadIdMarker: uploadIdMarker,
        ...expectedOwnerOf(plan.destination),
      }),
    );
    for (const upload of page.Uploads ?? []) {
      // The prefix also lists longer keys (`a.bin` lists `a.bin.tmp`): only the replica's own key counts.
      if (upload.Key !== plan.destinationKey || !upload.UploadId || !upload.Initiated) continue;
      const initiated = upload.Initiated.getTime();
      if (initiated >= from) candidates.push({ uploadId: upload.UploadId, initiated });
    }
    if (!page.IsTruncated || (!page.NextKeyMarker && !page.NextUploadIdMarker)) break;
    keyMarker = page.NextKeyMarker;
    uploadIdMarker = page.NextUploadIdMarker;
  }

  const sweep: UploadSweep = { aborted: [], kept: [], failed: [] };
  if (candidates.length === 0) return sweep;
  const newerSince = await newerSourceWritten(job, deps);
  for (const { uploadId, initiated } of candidates) {
    if (newerSince !== undefined && initiated >= newerSince) {
      sweep.kept.push(uploadId);
      continue;
    }
    try {
      await abortMultipartCopy(job, uploadId, deps);
      sweep.aborted.push(uploadId);
    } catch (error) {
      sweep.failed.push({ uploadId, error: classifyError(error) });
    }
  }
  return sweep;
}

/**
 * When the source key now holds another object than the job's, the time it was written (a copy of it may
 * be under way to the same replica key); undefined when it still holds the job's object, or nothing.
 */
async function newerSourceWritten(job: CopyJob, deps: Pick<Deps, 's3'>): Promise<number | undefined> {
  const { source } = job;
  const current = await deps
    .s3({ region: source.region })
    .send(
      new HeadObjectCommand({ Bucket: source.bucket, Key: source.key, ExpectedBucketOwner: source.account }),
    )
    .catch((error: unknown) => {
      // Gone; or 403, as a missing key answers without s3:ListBucket on the source bucket (the role has
      // none): then no copy of a newer object can be reading it either.
      const { cause } = classifyError(error);
      if (cause === 'NoSuchKey' || cause === 'AccessDenied') return undefined;
      throw error;
    });
  if (!current) return undefined;
  const same = source.versionId
    ? current.VersionId === source.versionId
    : unquote(current.ETag ?? '') === unquote(source.etag);
  // Without a LastModified nothing can be told apart: keep every candidate.
  return same ? undefined : (current.LastModified?.getTime() ?? 0);
}

/**
 * Runs `work` over the items, `limit` at a time. After the first failure no new item starts, and the
 * failure is thrown only once the requests in flight have settled: nothing is still writing a part when
 * the state machine goes on to abort the upload.
 */
async function inParallel<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (next < items.length && !failure) {
      const item = items[next++] as T;
      try {
        await work(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
}
