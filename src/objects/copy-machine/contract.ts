import { createHash } from 'node:crypto';
import { z } from 'zod';
import { SourceObjectSchema } from '#objects/event';
import { ObjectDestinationSchema, ObjectRuleSchema } from '#rules/schema';

/**
 * The contract of the object-copy state machine (`statemachines/object-copy.asl.yaml`): the execution input
 * the starter (src/adapters/step-functions.ts) sends, its name rule, and the step inputs the machine's Parameters
 * build. Both the code that starts an execution and the steps that run in it import it from here, so the two
 * cannot drift apart.
 */

/**
 * The input of an object-copy execution: one source version to one destination. `single` retries a
 * CopyObject that failed retryably on the fast path; `multipart` copies an object above the threshold.
 * `reason` says why the copy left the fast path, e.g. `SlowDown` or `size 7516192768 > multipart threshold`.
 */
/**
 * The source's attributes as the object-created handler's HeadObject read them (`SourceHead`): what a
 * multipart copy's CreateMultipartUpload carries. With them the prepare step creates the upload in the same
 * round as its reads, and keeps it only if its own HEAD reads the same (multipart-copy.ts). Dates arrive
 * as JSON strings through Step Functions.
 */
export const SourceAttributesSchema = z.object({
  Metadata: z.record(z.string(), z.string()).optional(),
  ContentType: z.string().optional(),
  CacheControl: z.string().optional(),
  ContentDisposition: z.string().optional(),
  ContentEncoding: z.string().optional(),
  ContentLanguage: z.string().optional(),
  Expires: z.coerce.date().optional(),
  WebsiteRedirectLocation: z.string().optional(),
  StorageClass: z.string().optional(),
  ServerSideEncryption: z.string().optional(),
  SSEKMSKeyId: z.string().optional(),
  TagCount: z.number().int().nonnegative().optional(),
  ChecksumCRC32: z.string().optional(),
  ChecksumCRC32C: z.string().optional(),
  ChecksumCRC64NVME: z.string().optional(),
  ChecksumSHA1: z.string().optional(),
  ChecksumSHA256: z.string().optional(),
  ObjectLockMode: z.string().optional(),
  ObjectLockRetainUntilDate: z.coerce.date().optional(),
  ObjectLockLegalHoldStatus: z.string().optional(),
});

export type SourceAttributes = z.infer<typeof SourceAttributesSchema>;

export const CopyJobSchema = z.object({
  mode: z.enum(['single', 'multipart']),
  plan: z.object({
    rule: ObjectRuleSchema,
    destination: ObjectDestinationSchema,
    destinationIndex: z.number().int().nonnegative(),
    destinationKey: z.string(),
  }),
  source: SourceObjectSchema,
  reason: z.string(),
  /** Set by the starter from the second attempt on (src/adapters/execution-attempts.ts); not part of the identity. */
  attempt: z.number().int().min(2).optional(),
  /** Multipart copies from the object-created handler; absent for other starters (then read, then created). */
  attributes: SourceAttributesSchema.optional(),
});

export type CopyJob = z.infer<typeof CopyJobSchema>;

/**
 * Deterministic, so a duplicate event cannot start a second copy: Step Functions keeps names unique per
 * state machine for 90 days. At most 80 characters of [A-Za-z0-9_-].
 */
export function executionNameOf(job: CopyJob): string {
  const { source, plan } = job;
  const identity = [
    source.bucket,
    source.key,
    source.versionId ?? source.etag,
    plan.destination.bucket,
    plan.destination.region,
    plan.destinationKey,
    plan.rule.name,
  ].join('\n');
  const digest = createHash('sha256').update(identity).digest('hex').slice(0, 60);
  return `${plan.rule.name.slice(0, 19)}-${digest}`;
}

/** Hands a copy to the object-copy state machine. `started: false` when that execution already exists. */
export interface CopyStarter {
  start(job: CopyJob): Promise<{ execution: string; started: boolean }>;
}

/** The execution's start (`$$.Execution.StartTime`): every upload this copy started is initiated after it. */
const StartedAt = z.iso.datetime({ offset: true });

const Batch = z.object({ first: z.number().int().positive(), last: z.number().int().positive() });

/**
 * What the prepare step's guard read at the replica key, as the condition CompleteMultipartUpload carries
 * (`If-Match` that ETag, `If-None-Match: *` when nothing was there): any write to the key since fails the
 * completion, which then reads and decides again.
 */
export const ReplicaConditionSchema = z.union([
  z.object({ ifMatch: z.string().min(1) }),
  z.object({ ifNoneMatch: z.literal('*') }),
]);

/** One copied part as UploadPartCopy answered it: what CompleteMultipartUpload lists. */
export const CopiedPartSchema = z.object({
  PartNumber: z.number().int().positive(),
  ETag: z.string().min(1),
  ChecksumCRC32: z.string().optional(),
  ChecksumCRC32C: z.string().optional(),
  ChecksumCRC64NVME: z.string().optional(),
  ChecksumSHA1: z.string().optional(),
  ChecksumSHA256: z.string().optional(),
});

export type CopiedPart = z.infer<typeof CopiedPartSchema>;

/** A copy-parts step's result, one per Map iteration; `parts` only for uploads small enough to carry. */
export const BatchResultSchema = z.object({
  copied: z.number().int().nonnegative(),
  parts: z.array(CopiedPartSchema).optional(),
});

export type BatchResult = z.infer<typeof BatchResultSchema>;

/** The input of every step, as the state machine's Parameters build it. */
export const CopyStepInputSchema = z.discriminatedUnion('action', [
  // startedAt (on copy, complete and record-failure too) tells the RPO verdict when the item entered an
  // execution the backlog monitor lists; optional for executions of a definition from before it was passed.
  z.object({ action: z.literal('copy'), job: CopyJobSchema, startedAt: StartedAt.optional() }),
  // startedAt is optional only for executions started by a definition from before it was passed.
  z.object({ action: z.literal('prepare'), job: CopyJobSchema, startedAt: StartedAt.optional() }),
  z.object({
    action: z.literal('copy-parts'),
    job: CopyJobSchema,
    upload: z.object({ uploadId: z.string(), partSize: z.number().int().positive() }),
    batch: Batch,
  }),
  z.object({
    action: z.literal('complete'),
    job: CopyJobSchema,
    startedAt: StartedAt.optional(),
    upload: z.object({
      uploadId: z.string(),
      partCount: z.number().int().positive(),
      expectedETag: z.string(),
      // Optional: executions of a definition from before the prepare step returned it read the key again.
      condition: ReplicaConditionSchema.optional(),
    }),
    // The Map's results, in batch order; absent (or without parts) means the parts are listed instead.
    batches: z.array(BatchResultSchema).optional(),
  }),
  z.object({ action: z.literal('abort'), job: CopyJobSchema, uploadId: z.string() }),
  z.object({ action: z.literal('clean-up'), job: CopyJobSchema, startedAt: StartedAt }),
  z.object({
    action: z.literal('record-failure'),
    job: CopyJobSchema,
    startedAt: StartedAt.optional(),
    error: z.object({ Error: z.string(), Cause: z.string().optional() }),
  }),
]);

export type CopyStepInput = z.infer<typeof CopyStepInputSchema>;
