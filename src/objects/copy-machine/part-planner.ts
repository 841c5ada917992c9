import { ObjectTooLargeError } from '#objects/errors';
/** S3 multipart limits (AWS-FACTS): parts of 5 MiB–5 GiB (the last may be smaller), at most 10,000 of them. */
export const MiB = 1024 ** 2;
export const GiB = 1024 ** 3;
export const MIN_PART_SIZE = 5 * MiB;
export const MAX_PART_SIZE = 5 * GiB;
export const MAX_PARTS = 10_000;
/** 10,000 parts of 5 GiB: 48.8 TiB, the largest object S3 stores. */
export const MAX_OBJECT_SIZE = MAX_PARTS * MAX_PART_SIZE;

/** One part of a multipart copy: bytes `start`–`end` (inclusive) of the source. */
export interface PartRange {
  partNumber: number;
  start: number;
  end: number;
}

/**
 * The parts of a multipart copy. When the source was itself a multipart upload and its part sizes are
 * known, its layout is kept, so the replica gets the same `md5-of-md5s-N` ETag as the source. Otherwise
 * parts are `preferredPartSize`, grown (to whole MiB) only as far as the 10,000-part limit requires.
 */
export function planParts(
  size: number,
  options: { preferredPartSize: number; sourcePartSizes?: readonly number[] | undefined },
): PartRange[] {
  if (!Number.isSafeInteger(size) || size <= 0) throw new RangeError(`cannot plan parts for ${size} bytes`);
  if (size > MAX_OBJECT_SIZE) throw new ObjectTooLargeError(size, MAX_OBJECT_SIZE);
  const sizes = isValidLayout(size, options.sourcePartSizes)
    ? options.sourcePartSizes
    : uniformLayout(size, options.preferredPartSize);
  let start = 0;
  return sizes.map((partSize, index) => {
    const part = { partNumber: index + 1, start, end: start + partSize - 1 };
    start += partSize;
    return part;
  });
}

function uniformLayout(size: number, preferredPartSize: number): number[] {
  const needed = Math.ceil(size / MAX_PARTS);
  const partSize = Math.min(
    MAX_PART_SIZE,
    Math.max(MIN_PART_SIZE, preferredPartSize, Math.ceil(needed / MiB) * MiB),
  );
  const count = Math.ceil(size / partSize);
  return Array.from({ length: count }, (_, index) =>
    index < count - 1 ? partSize : size - partSize * (count - 1),
  );
}

/** A source layout can be reused when it covers the object exactly and every part is within S3's limits. */
function isValidLayout(size: number, sizes: readonly number[] | undefined): sizes is readonly number[] {
  if (!sizes || sizes.length === 0 || sizes.length > MAX_PARTS) return false;
  if (sizes.reduce((sum, partSize) => sum + partSize, 0) !== size) return false;
  return sizes.every(
    (partSize, index) =>
      Number.isSafeInteger(partSize) &&
      partSize > 0 &&
      partSize <= MAX_PART_SIZE &&
      (index === sizes.length - 1 || partSize >= MIN_PART_SIZE),
  );
}

/**
 * Step Functions runs at most 40 iterations of an inline Map at once
 * (https://docs.aws.amazon.com/step-functions/latest/dg/state-map-inline.html): the CopyParts Map's
 * MaxConcurrency in statemachines/object-copy.asl.yaml.
 */
export const MAP_MAX_CONCURRENCY = 40;
/**
 * Map iterations per copy, at most: each costs a few history events, so 200 stay far below the 25,000-event
 * history limit, and the batch list (about 30 bytes each) far below the 256 KB payload limit.
 */
export const MAX_BATCHES = 200;

/** How a copy's parts are sized and spread (copy settings, src/rules/schema.ts). */
export interface PartSizing {
  /** A fixed part size (`copy.partSize`); when unset, derived from the object's size. */
  partSize?: number | undefined;
  /** The smallest derived part size (`copy.minPartSize`). */
  minPartSize: number;
  /** The UploadPartCopy requests a copy aims to keep in flight (`copy.partsInFlight`). */
  partsInFlight: number;
  /** UploadPartCopy requests in flight per Lambda invocation (`copy.partConcurrency`). */
  partConcurrency: number;
  /** Bytes one invocation copies at most, so it ends well inside Lambda's 15 minutes (unless 200 batches need more). */
  maxBatchBytes: number;
}

/**
 * The part size for an object whose source layout is not kept: the object split into `partsInFlight`
 * parts, so that one wave of requests side by side copies all of it, rounded up to whole MiB, at least
 * `minPartSize` (small parts cost requests and save nothing once the copy's aggregate rate is reached) and
 * within S3's 5 MiB–5 GiB. planParts grows it further if 10,000 parts would not cover the object.
 */
export function partSizeFor(
  size: number,
  sizing: Pick<PartSizing, 'partSize' | 'minPartSize' | 'partsInFlight'>,
) {
  if (sizing.partSize) return sizing.partSize;
  const oneWave = Math.ceil(size / Math.max(1, sizing.partsInFlight) / MiB) * MiB;
  return Math.min(MAX_PART_SIZE, Math.max(MIN_PART_SIZE, sizing.minPartSize, oneWave));
}

/**
 * Inclusive part-number ranges, one per Map iteration, contiguous and as even as they can be. As many
 * batches as keep `partsInFlight` parts in flight at `partConcurrency` per invocation (so the Map's
 * concurrency follows the object's size: one invocation for 8 parts, 8 for 64), more when a batch would
 * exceed `maxBatchBytes`, never more than MAX_BATCHES nor than there are parts.
 */
export function planBatches(
  parts: readonly PartRange[],
  sizing: Pick<PartSizing, 'partsInFlight' | 'partConcurrency' | 'maxBatchBytes'>,
): { first: number; last: number }[] {
  const total = parts.reduce((sum, part) => sum + part.end - part.start + 1, 0);
  const forConcurrency = Math.ceil(Math.min(parts.length, sizing.partsInFlight) / sizing.partConcurrency);
  const forBytes = Math.ceil(total / sizing.maxBatchBytes);
  const count = Math.max(1, Math.min(parts.length, MAX_BATCHES, Math.max(forConcurrency, forBytes)));
  const perBatch = Math.ceil(parts.length / count);
  const batches: { first: number; last: number }[] = [];
  for (let first = 1; first <= parts.length; first += perBatch) {
    batches.push({ first, last: Math.min(parts.length, first + perBatch - 1) });
  }
  return batches;
}
