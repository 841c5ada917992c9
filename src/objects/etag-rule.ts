/**
 * The one rule for when a replica's ETag must equal its source's, used by every path that verifies a
 * replica: the fast path (CopyObject), the multipart copy and reconcile.
 *
 * An S3 ETag is a content digest only without KMS: an object under SSE-KMS or DSSE-KMS (`aws:kms`,
 * `aws:kms:dsse`) has an ETag that is not the MD5 of its bytes, on either side of a copy
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_Object.html, "ETag"). Without KMS:
 * - CopyObject gives the MD5 of the bytes: equal to a single-part source's ETag, never to a multipart
 *   source's (`md5(part md5s)-N`);
 * - a multipart copy gives `md5(part md5s)-N`: equal to the source's only when the source was itself a
 *   multipart upload and the copy kept its part layout (same N, same boundaries).
 */

/** The `-N` of a multipart ETag, or 0 for a plain one. */
export function partsOfETag(etag: string): number {
  return Number(/-(\d+)"?$/.exec(etag)?.[1] ?? 0);
}

/** Server-side encryption whose ETags are not content digests. */
export const isKmsEncryption = (sse: string | undefined): boolean =>
  sse === 'aws:kms' || sse === 'aws:kms:dsse';

export interface ETagFacts {
  sourceETag: string;
  /**
   * Every encryption in play: the source's (as HeadObject reports it), the one the destination asks for,
   * the replica's once written. Unknown ones are left out.
   */
  encryptions: readonly (string | undefined)[];
  /**
   * How the replica is written: `copy` (CopyObject), or `parts` with the part count when the copy kept the
   * source's layout, or 0 when it did not (or it is not known).
   */
  replica: { copy: true } | { parts: number };
}

export function etagsMustMatch(facts: ETagFacts): boolean {
  if (facts.encryptions.some(isKmsEncryption)) return false;
  const sourceParts = partsOfETag(facts.sourceETag);
  if ('copy' in facts.replica) return sourceParts === 0;
  return sourceParts > 0 && facts.replica.parts === sourceParts;
}
