import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  batchParts,
  GiB,
  MAX_OBJECT_SIZE,
  MAX_PART_SIZE,
  MAX_PARTS,
  MIN_PART_SIZE,
  MiB,
  type PartRange,
  planParts,
} from '#objects/copy-machine/part-planner';
import { ObjectTooLargeError } from '#objects/errors';

const sizesOf = (parts: PartRange[]) => parts.map((p) => p.end - p.start + 1);

/** The first S3 rule the plan breaks, or undefined: checked in a loop, since plans reach 10,000 parts. */
function violation(size: number, parts: PartRange[]): string | undefined {
  if (parts.length === 0 || parts.length > MAX_PARTS) return `${parts.length} parts`;
  let next = 0;
  for (const [index, part] of parts.entries()) {
    if (part.partNumber !== index + 1) return `part ${index} is numbered ${part.partNumber}`;
    if (part.start !== next) return `part ${part.partNumber} starts at ${part.start}, not ${next}`;
    const partSize = part.end - part.start + 1;
    if (partSize > MAX_PART_SIZE) return `part ${part.partNumber} has ${partSize} bytes`;
    if (index < parts.length - 1 && partSize < MIN_PART_SIZE)
      return `part ${part.partNumber} has ${partSize} bytes`;
    next = part.end + 1;
  }
  return next === size ? undefined : `parts end at ${next}, not ${size}`;
}

const expectValidPlan = (size: number, parts: PartRange[]) => expect(violation(size, parts)).toBeUndefined();

describe('part planner', () => {
  it('It should use the preferred part size and a smaller last part', () => {
    expect(sizesOf(planParts(20 * MiB + 3, { preferredPartSize: 8 * MiB }))).toEqual([
      8 * MiB,
      8 * MiB,
      4 * MiB + 3,
    ]);
  });

  it('It should grow parts to whole MiB only as far as the 10,000-part limit requires', () => {
    const size = 100 * GiB;
    const parts = planParts(size, { preferredPartSize: 8 * MiB });
    expect(parts.length).toBeLessThanOrEqual(MAX_PARTS);
    expect(sizesOf(parts)[0]).toBe(11 * MiB);
    expectValidPlan(size, parts);
  });

  it('It should reach the 48.8 TiB maximum with 10,000 parts of 5 GiB, and refuse more', () => {
    const parts = planParts(MAX_OBJECT_SIZE, { preferredPartSize: 8 * MiB });
    expect(parts).toHaveLength(MAX_PARTS);
    expect(new Set(sizesOf(parts))).toEqual(new Set([MAX_PART_SIZE]));
    expect(() => planParts(MAX_OBJECT_SIZE + 1, { preferredPartSize: 8 * MiB })).toThrow(ObjectTooLargeError);
  });

  it('It should keep the source layout so the replica gets the same ETag', () => {
    const layout = [7 * MiB, 7 * MiB, 9 * MiB, 1];
    const size = layout.reduce((a, b) => a + b, 0);
    expect(sizesOf(planParts(size, { preferredPartSize: 64 * MiB, sourcePartSizes: layout }))).toEqual(
      layout,
    );
  });

  it.each([
    ['does not cover the object', [5 * MiB, 5 * MiB], 11 * MiB],
    ['has a non-final part under 5 MiB', [MiB, 10 * MiB], 11 * MiB],
    ['has a part over 5 GiB', [6 * GiB], 6 * GiB],
  ])('It should ignore a source layout that %s', (_, layout, size) => {
    const parts = planParts(size, { preferredPartSize: 8 * MiB, sourcePartSizes: layout });
    expect(sizesOf(parts)).not.toEqual(layout);
    expectValidPlan(size, parts);
  });

  it('It should always cover the object exactly, within every S3 limit', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: MAX_OBJECT_SIZE }),
        fc.integer({ min: 0, max: 6 * GiB }),
        (size, preferredPartSize) => {
          expectValidPlan(size, planParts(size, { preferredPartSize }));
        },
      ),
    );
  });

  it('It should batch parts by bytes and count, in order, losing none', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 * GiB }),
        fc.integer({ min: GiB, max: 64 * GiB }),
        (size, maxBatchBytes) => {
          const parts = planParts(size, { preferredPartSize: 64 * MiB });
          const batches = batchParts(parts, maxBatchBytes, 50);
          expect(batches.flat()).toEqual(parts);
          for (const batch of batches) {
            expect(batch.length).toBeLessThanOrEqual(50);
            if (batch.length > 1)
              expect(sizesOf(batch).reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(maxBatchBytes);
          }
        },
      ),
    );
  });
});
