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
 * Groups parts into batches for the state machine's Map: few enough iterations to stay far below the
 * 25,000-event history limit, and small enough (in bytes) for one Lambda invocation to copy.
 */
export function batchParts(
  parts: readonly PartRange[],
  maxBatchBytes: number,
  maxPartsPerBatch = 100,
): PartRange[][] {
  const batches: PartRange[][] = [];
  let current: PartRange[] = [];
  let bytes = 0;
  for (const part of parts) {
    const partBytes = part.end - part.start + 1;
    if (current.length > 0 && (bytes + partBytes > maxBatchBytes || current.length >= maxPartsPerBatch)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(part);
    bytes += partBytes;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
