import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  type CopyPartResult,
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
import {
  conditionFor,
  copyDecision,
  guardedWrite,
  seenUnder,
  sourceIsCurrent,
  type WriteCondition,
} from '#objects/replica-guard';
import { headSource, readTags, requestPayerOf } from '#objects/source-reads';
import type { BatchResult, CopiedPart, CopyJob } from './contract.ts';
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
  /** What the guard read at the replica key before creating the upload: the completion's condition. */
  condition: WriteCondition;
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
 *
 * One round of requests before the part copies, where there were two:
 * - `sweep` (the search for uploads an earlier attempt left, `abortOwnUploads`) runs beside the reads. It
 *   is told this attempt's own upload, and leaves it alone: it may list it, since the two run at once.
 * - With the source's attributes in the job (the object-created handler's HEAD), CreateMultipartUpload
 *   runs beside the reads too. The upload is kept only when the request this step's own HEAD gives is the
 *   same (metadata, content headers, tags, lock, checksum); otherwise, and whenever the reads say not to
 *   copy (the source changed, a newer replica is in place) or fail, it is aborted before anything is
 *   thrown or created again (https://docs.aws.amazon.com/AmazonS3/latest/API/API_AbortMultipartUpload.html).
 *   Without them (tags to read, a lock to check, an older starter), it is created after the reads.
 */
export async function startMultipartCopy(
  job: CopyJob,
  deps: Deps,
  sweep?: (own: Promise<string | undefined>) => Promise<unknown>,
): Promise<MultipartUpload> {
  const { source, plan } = job;
  const sourceClient = deps.s3({ region: source.region });
  const client = destinationClient(job, deps);
  const now = (deps.now ?? Date.now)();
  // A multipart source (`…-N` ETag): one HEAD of part 1 gives both the attributes and the part layout.
  const sourceParts = Number(/-(\d+)$/.exec(unquote(source.etag))?.[1] ?? 0);
  const early = earlyCreateRequest(job, now);
  const created = early ? createUpload(client, plan, early) : undefined;
  const own = created?.then(
    (id) => id,
    () => undefined,
  );
  // The source's HEAD and the replica guard's reads (source still current, what is at the replica key) are
  // independent: side by side. A copy already superseded (the version is no longer current, or a newer
  // replica is in place) copies no part at all; the replica state read here binds the completion.
  // Every one settles before anything is thrown (none is left running), in a fixed order of precedence.
  const [swept, read, decided, made] = await Promise.allSettled([
    sweep?.(own ?? Promise.resolve(undefined)),
    headSource(sourceClient, source, sourceParts > 0 ? 1 : undefined),
    copyDecision({ source: sourceClient, destination: client }, plan, source),
    created,
  ]);
  let uploadId = made.status === 'fulfilled' ? made.value : undefined;
  try {
    if (swept.status === 'rejected') throw swept.reason;
    if (read.status === 'rejected') throw read.reason;
    if (decided.status === 'rejected') throw decided.reason;
    const head = read.value;
    const decision = decided.value;
    if (typeof decision === 'string') throw new ReplicaSupersededError(targetOf(plan), decision);
    // Not created again here: S3 may have created it and lost the answer; the retry's sweep (or
    // CleanUpUploads) finds such an upload, a second one here would be left behind.
    if (made.status === 'rejected') throw made.reason;
    const tags = plan.destination.tags.copy ? await readTags(sourceClient, source, head) : undefined;
    const request = createRequest(plan, source, head, tags, now);
    if (uploadId && !sameRequest(request, early)) {
      // The source's attributes changed since the event's HEAD (its ETag did not): the upload created
      // from them goes, and one from what was read now is created.
      await abortMultipartCopy(job, uploadId, deps);
      uploadId = undefined;
    }
    if (!uploadId) {
      // The same lock as CopyObject's (object-lock.ts); a destination without Object Lock fails here,
      // before any upload exists.
      await checkObjectLockEnabled(plan.destination, request.lock, deps);
      uploadId = await createUpload(client, plan, request);
    }
    const sourcePartSize = sourceParts > 0 ? uniformPartSize(source.size, head, sourceParts) : undefined;
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
      condition: conditionFor(decision),
    };
  } catch (error) {
    if (uploadId) await abortMultipartCopy(job, uploadId, deps);
    throw error;
  }
}

type CreateRequest = ReturnType<typeof createRequest>;

/** CreateMultipartUpload's input from a HEAD of the source (and its tags, when the replica copies them). */
function createRequest(
  plan: CopyJob['plan'],
  source: CopyJob['source'],
  head: SourceHead,
  tags: Record<string, string> | undefined,
  now: number,
) {
  const checksumAlgorithm = checksumAlgorithmOf(head);
  const lock = replicaLockFields(plan.destination, head, now);
  return {
    lock,
    input: {
      ...replicaAttributes(plan, source, head),
      ...lock,
      Tagging: replicaTagging(plan, tags),
      ...(checksumAlgorithm ? { ChecksumAlgorithm: checksumAlgorithm } : {}),
    },
  };
}

/**
 * The request the job's attributes give, when it can be sent before the reads: no tag values to read (the
 * replica copies none, or the source had none) and no lock to check first. Undefined otherwise.
 */
function earlyCreateRequest(job: CopyJob, now: number): CreateRequest | undefined {
  const { attributes, plan, source } = job;
  if (!attributes) return undefined;
  if (plan.destination.tags.copy && attributes.TagCount) return undefined;
  // The schema takes any string S3 may answer for its enumerations; they are passed back as read.
  const request = createRequest(
    plan,
    source,
    attributes as SourceHead,
    plan.destination.tags.copy ? {} : undefined,
    now,
  );
  return Object.keys(request.lock).length === 0 ? request : undefined;
}

const sameRequest = (a: CreateRequest, b: CreateRequest | undefined) =>
  b !== undefined && JSON.stringify(a.input) === JSON.stringify(b.input);

async function createUpload(
  client: ReturnType<S3ClientFactory>,
  plan: CopyJob['plan'],
  request: CreateRequest,
): Promise<string> {
  const created = await client.send(new CreateMultipartUploadCommand(request.input));
  if (!created.UploadId) throw new CreateMultipartUploadMissingUploadIdError(targetOf(plan));
  return created.UploadId;
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

/**
 * Uploads of at most this many parts carry each part's answer (PartNumber, ETag, checksum) through the
 * Map's results to the complete step, which then needs no ListParts. About 115 bytes a part at most (an
 * ETag and a SHA-256 checksum): 1,000 parts stay well inside Step Functions' 256 KiB payload quota
 * (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html). Larger uploads (a kept
 * source layout of many small parts) are listed instead.
 */
export const MAX_CARRIED_PARTS = 1_000;

/**
 * Copies one batch of parts with UploadPartCopy, each pinned to the event's version and ETag. Returns
 * what CompleteMultipartUpload must list for them: each part's number and the ETag (and checksum) its copy
 * answered (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html: "the ETag
 * value that [is] returned after that part was uploaded").
 */
export async function copyPartBatch(
  job: CopyJob,
  upload: Pick<MultipartUpload, 'uploadId' | 'partSize'>,
  batch: { first: number; last: number },
  deps: Deps,
): Promise<BatchResult> {
  const client = destinationClient(job, deps);
  const layout = partsOf(job, upload.partSize);
  const parts = layout.slice(batch.first - 1, batch.last);
  const { source, plan } = job;
  const copied: CopiedPart[] = [];
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
    const answer = result.CopyPartResult;
    if (!answer?.ETag) {
      throw new CopyResultMissingETagError(`${targetOf(plan)} part ${part.partNumber}`);
    }
    copied.push(completedPart({ ...answer, PartNumber: part.partNumber }));
  };
  await inParallel(parts, deps.settings.partConcurrency, copyPart);
  if (layout.length > MAX_CARRIED_PARTS) return { copied: parts.length };
  return { copied: parts.length, parts: copied.sort((a, b) => a.PartNumber - b.PartNumber) };
}

/** A part as CompleteMultipartUpload lists it: number, ETag and the checksum an upload with one needs. */
function completedPart(part: Part | (CopyPartResult & { PartNumber: number })): CopiedPart {
  return {
    PartNumber: part.PartNumber ?? 0,
    ETag: part.ETag ?? '',
    // An upload created with a checksum algorithm completes only with each part's checksum.
    ...(part.ChecksumCRC32 ? { ChecksumCRC32: part.ChecksumCRC32 } : {}),
    ...(part.ChecksumCRC32C ? { ChecksumCRC32C: part.ChecksumCRC32C } : {}),
    ...(part.ChecksumCRC64NVME ? { ChecksumCRC64NVME: part.ChecksumCRC64NVME } : {}),
    ...(part.ChecksumSHA1 ? { ChecksumSHA1: part.ChecksumSHA1 } : {}),
    ...(part.ChecksumSHA256 ? { ChecksumSHA256: part.ChecksumSHA256 } : {}),
  };
}

/**
 * The parts the Map's results carry, when they are every part of the upload (numbers 1…partCount, each with
 * an ETag); undefined when any is missing (a definition from before they were carried, or an upload too
 * large to carry them), and the parts are listed instead.
 */
function carriedParts(batches: BatchResult[] | undefined, partCount: number): CopiedPart[] | undefined {
  const parts = (batches ?? [])
    .flatMap((batch) => batch.parts ?? [])
    .sort((a, b) => a.PartNumber - b.PartNumber);
  const complete =
    parts.length === partCount && parts.every((part, index) => part.PartNumber === index + 1 && part.ETag);
  return complete ? parts : undefined;
}

/**
 * Completes the upload through the replica guard: the job's object must still be the source's current one
 * (the part copies pinned it, but it may have been overwritten or deleted after the last of them), no newer
 * replica may be at the key, and CompleteMultipartUpload carries `If-Match` (what was read there) or
 * `If-None-Match: *`. A superseded copy throws ReplicaSupersededError, and the state machine aborts its
 * upload.
 *
 * Two rounds of requests, where there were four:
 * - The parts are the ones the Map's results carry (ListParts only when they are not all there). S3 itself
 *   refuses a list whose part or ETag it does not hold (400 InvalidPart).
 * - The replica key is not read again: the completion carries the condition of what the prepare step's
 *   guard read there and decided on. S3 evaluates it when it completes, so any write to the key since
 *   (a newer event's replica, a delete) fails it (412 PreconditionFailed; 409 ConditionalRequestConflict),
 *   and the guard then reads the key and decides again as before
 *   (https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html). The source is read
 *   here as before: whether it is still current cannot be a condition on the destination's write.
 * - No verifying HEAD: the completion carries the object's size (`x-amz-mp-object-size`: S3 refuses a
 *   mismatch with 400 InvalidRequest) and answers the ETag, which is compared where comparable.
 */
export async function completeMultipartCopy(
  job: CopyJob,
  upload: Pick<MultipartUpload, 'uploadId' | 'partCount' | 'expectedETag'> & {
    condition?: WriteCondition | undefined;
  },
  deps: Deps,
  batches?: BatchResult[],
): Promise<Outcome> {
  const client = destinationClient(job, deps);
  const { plan, source } = job;
  const target = targetOf(plan);
  const location = replicaLocation(plan);

  const clients = { source: deps.s3({ region: source.region }), destination: client };
  // The first decision stands on what the prepare step read at the key; after a lost race, on a new read.
  let known = upload.condition;
  const decide = async () => {
    if (!known) return copyDecision(clients, plan, source);
    const seen = seenUnder(known);
    known = undefined;
    return (await sourceIsCurrent(clients.source, source)) ? seen : ('source-changed' as const);
  };
  let completed: Awaited<ReturnType<typeof completeWith>>;
  try {
    // Parts first: an upload already gone is an earlier attempt's completion, found below.
    const parts =
      carriedParts(batches, upload.partCount) ?? (await listParts(client, location, upload, target));
    const written = await guardedWrite(decide, (condition) =>
      completeWith(client, location, upload.uploadId, parts, condition, source.size),
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
): Promise<CopiedPart[]> {
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
  return parts.map(completedPart).sort((a, b) => a.PartNumber - b.PartNumber);
}

/**
 * CompleteMultipartUpload with exactly these parts and their checksums, on the replica's condition, and
 * with the object's size for S3 to check (`MpuObjectSize`, x-amz-mp-object-size).
 */
function completeWith(
  client: ReturnType<S3ClientFactory>,
  location: Location,
  uploadId: string,
  parts: CopiedPart[],
  condition: WriteCondition,
  size: number,
) {
  return client.send(
    new CompleteMultipartUploadCommand({
      ...location,
      UploadId: uploadId,
      ...('ifMatch' in condition ? { IfMatch: condition.ifMatch } : { IfNoneMatch: condition.ifNoneMatch }),
      MpuObjectSize: size,
      MultipartUpload: { Parts: parts },
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
  own: Promise<string | undefined> = Promise.resolve(undefined),
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
  // The upload this attempt is creating meanwhile (the listing may hold it): never this sweep's to abort.
  const mine = candidates.length > 0 ? await own : undefined;
  const others = candidates.filter(({ uploadId }) => uploadId !== mine);
  if (others.length === 0) return sweep;
  const newerSince = await newerSourceWritten(job, deps);
  for (const { uploadId, initiated } of others) {
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
