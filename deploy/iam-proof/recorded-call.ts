import { z } from 'zod';
import { FUNCTION_NAMES } from '../iam/types.ts';

/**
 * One AWS call a Ferry function made, as the sandbox's recorder (local/call-recorder.ts) saw it: the
 * input of `requestsOf` (authorization.ts), which turns it into the IAM requests it needs. Kept apart from
 * the recorder so that the proof does not depend on the sandbox, and recorded calls can be written and read
 * back (JSON) as they are.
 */

const FunctionNameSchema = z.enum(FUNCTION_NAMES);

export const PrincipalSchema = z.union([
  z.object({ function: FunctionNameSchema }),
  z.object({ role: z.string(), via: FunctionNameSchema }),
]);
export type Principal = z.infer<typeof PrincipalSchema>;

/** What an EC2 resource a call names was like when the call started: IAM's `aws:ResourceTag/*` keys. */
export const ResourceStateSchema = z.object({
  region: z.string(),
  tags: z.record(z.string(), z.string()),
  /**
   * The KMS key an encrypted snapshot is under. Recorded, not yet mapped: what a copy needs on its
   * source's key (the sandbox cannot tell AWS managed keys, whose policies grant EBS, from customer keys).
   */
  kmsKeyId: z.string().optional(),
});
export type ResourceState = z.infer<typeof ResourceStateSchema>;

export const RecordedCallSchema = z.object({
  function: FunctionNameSchema,
  principal: PrincipalSchema,
  /** The signing name: `s3`, `ec2`, `sts`, `states`, `monitoring`. */
  service: z.string(),
  /** The API operation: `CopyObject`, `CopySnapshot`, `AssumeRole`, `StartExecution`. */
  operation: z.string(),
  region: z.string(),
  /** The request fields that decide authorization (local/call-recorder.ts, AUTHORIZING_FIELDS). */
  input: z.record(z.string(), z.unknown()),
  /** The answer's fields that name what the call made (`UploadId`, `SnapshotId`, `ImageId`, …). */
  output: z.record(z.string(), z.unknown()).optional(),
  /** The EC2 resources the request names, as they were before it (tags, key), by id. */
  resources: z.record(z.string(), ResourceStateSchema).optional(),
  /**
   * The object a copy reads (CopyObject, UploadPartCopy), as it was when the call started: its bucket's
   * Region and its encryption, for the KMS request S3 makes to decrypt it (`bucketKey`: the object is under
   * an S3 Bucket Key, so the request's encryption context is the bucket's ARN, not the object's).
   */
  copySource: z
    .object({
      region: z.string(),
      sse: z.string().optional(),
      kmsKeyId: z.string().optional(),
      bucketKey: z.boolean().optional(),
    })
    .optional(),
  /**
   * A multipart upload's encryption, as CreateMultipartUpload set it: the later calls on the upload
   * (UploadPartCopy, CompleteMultipartUpload) use that key without naming it.
   */
  upload: z.object({ sse: z.string().optional(), kmsKeyId: z.string().optional() }).optional(),
  /** HTTP status (when an answer came) and the error code of a call that failed. */
  outcome: z.object({ status: z.number().optional(), error: z.string().optional() }),
});
export type RecordedCall = z.infer<typeof RecordedCallSchema>;
