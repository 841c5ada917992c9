import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MULTIPART_SETTINGS } from '#objects/copy-machine/multipart-copy';
import {
  GiB,
  MAX_BATCHES,
  MAX_OBJECT_SIZE,
  MAX_PART_SIZE,
  MAX_PARTS,
  MIN_PART_SIZE,
  MiB,
  type PartRange,
  type PartSizing,
  partSizeFor,
  planBatches,
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

  it('It should batch parts in order, contiguous, losing none, within 200 batches and the byte cap where 200 allow', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: MAX_OBJECT_SIZE }),
        fc.integer({ min: 1, max: 256 }),
        fc.integer({ min: 1, max: 64 }),
        (size, partsInFlight, partConcurrency) => {
          const sizing = { ...DEFAULT_MULTIPART_SETTINGS, partsInFlight, partConcurrency };
          const parts = planParts(size, { preferredPartSize: partSizeFor(size, sizing) });
          const batches = planBatches(parts, sizing);
          expect(batches[0]?.first).toBe(1);
          expect(batches.at(-1)?.last).toBe(parts.length);
          batches.slice(1).forEach((batch, index) => {
            expect(batch.first).toBe((batches[index]?.last ?? 0) + 1);
          });
          expect(batches.length).toBeLessThanOrEqual(MAX_BATCHES);
          if (size <= MAX_BATCHES * sizing.maxBatchBytes) {
            for (const { first, last } of batches) {
              const bytes = sizesOf(parts.slice(first - 1, last)).reduce((a, b) => a + b, 0);
              // A batch holds whole parts: it may pass the cap by less than one part.
              expect(bytes).toBeLessThan(sizing.maxBatchBytes + (sizesOf(parts)[0] ?? 0));
            }
          }
        },
      ),
    );
  });
});

describe('part sizes and concurrency derived from the size', () => {
  const sizing: PartSizing = DEFAULT_MULTIPART_SETTINGS;
  const plan = (size: number, overrides: Partial<PartSizing> = {}) => {
    const settings = { ...sizing, ...overrides };
    const parts = planParts(size, { preferredPartSize: partSizeFor(size, settings) });
    const batches = planBatches(parts, settings);
    const largestBatch = Math.max(...batches.map((b) => b.last - b.first + 1));
    return {
      parts,
      partSize: sizesOf(parts)[0],
      batches,
      // Parts in flight: Map iterations side by side (at most 40) × each one's parallel part copies.
      inFlight: Math.min(40, batches.length) * Math.min(settings.partConcurrency, largestBatch),
    };
  };

  it('It should split 1 GiB into 64 parts of 16 MiB, 8 batches of 8: 64 parts in flight', () => {
    const { parts, partSize, batches, inFlight } = plan(GiB);
    expect(partSize).toBe(16 * MiB);
    expect(parts).toHaveLength(64);
    expect(batches).toHaveLength(8);
    expect(inFlight).toBe(64);
  });

  it('It should grow parts with the size (6 GiB: 96 MiB) and keep the parts in flight', () => {
    const { parts, partSize, inFlight } = plan(6 * GiB);
    expect(partSize).toBe(96 * MiB);
    expect(parts).toHaveLength(64);
    expect(inFlight).toBe(64);
  });

  it('It should not go below the minimum part size: a 600 MiB object is 38 parts of 16 MiB in 5 batches', () => {
    const { parts, partSize, batches, inFlight } = plan(600 * MiB);
    expect(partSize).toBe(16 * MiB);
    expect(parts).toHaveLength(38);
    expect(batches).toHaveLength(5);
    expect(inFlight).toBe(40);
  });

  it("It should never go below S3's 5 MiB minimum part, whatever the settings", () => {
    expect(partSizeFor(20 * MiB, { minPartSize: 1, partsInFlight: 64 })).toBe(5 * MiB);
    expectValidPlan(20 * MiB, plan(20 * MiB, { minPartSize: 1 }).parts);
  });

  it('It should cap parts at 5 GiB: a 1 TiB object is 205 parts of 5 GiB, batched by bytes (16 of at most 65 GiB)', () => {
    const { parts, partSize, batches, inFlight } = plan(1024 * GiB);
    expect(partSize).toBe(5 * GiB);
    expect(parts).toHaveLength(205);
    expect(batches).toHaveLength(16);
    expect(inFlight).toBe(128);
    expectValidPlan(1024 * GiB, parts);
  });

  it('It should copy a 5 TiB object in 1,024 parts of 5 GiB, at most 40 batches in flight', () => {
    const { parts, partSize, batches, inFlight } = plan(5 * 1024 * GiB);
    expect(partSize).toBe(5 * GiB);
    expect(parts).toHaveLength(1024);
    expect(batches.length).toBeLessThanOrEqual(MAX_BATCHES);
    expect(batches).toHaveLength(79); // 80 wanted by the 64 GiB cap; 13 parts each leave 79
    expect(inFlight).toBe(320);
    expectValidPlan(5 * 1024 * GiB, parts);
  });

  it('It should reach 10,000 parts of 5 GiB at 48.8 TiB in 200 batches of 50', () => {
    const { parts, batches } = plan(MAX_OBJECT_SIZE);
    expect(parts).toHaveLength(MAX_PARTS);
    expect(batches).toHaveLength(MAX_BATCHES);
    expect(new Set(batches.map((b) => b.last - b.first + 1))).toEqual(new Set([50]));
  });

  it('It should use a fixed part size when one is configured', () => {
    expect(partSizeFor(GiB, { partSize: 256 * MiB, minPartSize: 16 * MiB, partsInFlight: 64 })).toBe(
      256 * MiB,
    );
    expect(plan(GiB, { partSize: 256 * MiB }).parts).toHaveLength(4);
  });

  it('It should use one invocation for parts that fit in one, not one per part', () => {
    const { parts, batches } = plan(100 * MiB); // 7 parts of 16 MiB (the last 4 MiB)
    expect(parts).toHaveLength(7);
    expect(batches).toEqual([{ first: 1, last: 7 }]);
  });
});
