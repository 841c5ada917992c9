import { describe, expect, it } from 'vitest';
import { parseInventoryCsv } from '#reconcile/inventory/rows';
import {
  checkAgainstTruth,
  InventoryJoinMismatchError,
  inventoryReport,
  runInventoryBench,
  runInventoryJoin,
} from '../../../bench/inventory.ts';
import {
  billionListHeadSeconds,
  billionWallSeconds,
  costPerMillion,
  DEFAULT_ASSUMPTIONS,
} from '../../../bench/inventory-cost.ts';
import { BENCH_FILE_SCHEMA, generateInventoryPair } from '../../../bench/inventory-workload.ts';

describe('inventory benchmark (npm run bench -- inventory)', () => {
  it('It should generate inventories S3 could have written, with every kind of item in the truth', () => {
    const pair = generateInventoryPair(3000, 2, 700);
    expect(pair.sourceFiles.length).toBeGreaterThan(1);
    const source = pair.sourceFiles.flatMap((file) => parseInventoryCsv(file, BENCH_FILE_SCHEMA));
    const replica = pair.replicaFiles.flatMap((file) => parseInventoryCsv(file, BENCH_FILE_SCHEMA));
    expect(source).toHaveLength(pair.sourceRows);
    expect(replica).toHaveLength(pair.replicaRows);
    expect(source.some((row) => row.key.includes(' ') && row.key.includes('ï'))).toBe(true);
    expect(source.some((row) => row.isLatest === false)).toBe(true);
    expect(source.some((row) => row.isDeleteMarker === true)).toBe(true);
    const { truth } = pair;
    for (const list of [truth.missing, truth.stale, truth.unverifiable, truth.orphanCandidates])
      expect(list.length).toBeGreaterThan(0);
    expect(truth.matched + truth.missing.length + truth.stale.length + truth.unverifiable.length).toBe(3000);
  });

  it('It should join a batch at a time to exactly the truth, whatever the batch size', () => {
    const pair = generateInventoryPair(3000, 3);
    for (const batch of [100, 1000, 5000]) {
      const { run, result } = runInventoryJoin(pair, batch);
      expect(run.batches).toBe(Math.max(1, Math.ceil(pair.sourceRows / batch)));
      expect(() => checkAgainstTruth(result, pair.truth)).not.toThrow();
    }
  });

  it('It should fail loudly when the join differs from the truth', () => {
    const pair = generateInventoryPair(2000, 4);
    const { result } = runInventoryJoin(pair, 500);
    expect(() => checkAgainstTruth({ ...result, matched: result.matched + 1 }, pair.truth)).toThrow(
      InventoryJoinMismatchError,
    );
    expect(() =>
      checkAgainstTruth({ ...result, stale: [...result.stale, 'data/extra.bin'] }, pair.truth),
    ).toThrow(/stale: \d+ found, truth \d+ \(e\.g\. data\/extra\.bin\)/);
    expect(() => checkAgainstTruth({ ...result, missing: result.missing.slice(1) }, pair.truth)).toThrow(
      /missing/,
    );
  });

  it('It should report throughput and the computed cost table on a tiny run', () => {
    const bench = runInventoryBench({ rows: 2000, runs: 1, batch: 500, seed: 5 });
    expect(bench.runs).toHaveLength(1);
    expect(bench.rowsPerSecond.median).toBeGreaterThan(0);
    const assumptions = {
      ...DEFAULT_ASSUMPTIONS,
      batchMs: bench.batchMs,
      batchRows: 500,
      unverifiableShare: 0.005,
    };
    const report = inventoryReport(bench, assumptions);
    expect(report).toContain('| S3 Batch Replication |');
    expect(report).toContain('Wall time for 1,000,000,000 objects (computed)');
  });

  it('It should price a million objects from the published prices and the time per batch', () => {
    const [listHead, inventory, batchReplication] = costPerMillion({
      ...DEFAULT_ASSUMPTIONS,
      batchMs: 500,
      batchRows: 10_000,
      unverifiableShare: 0,
      childOverheadMs: 500,
      memoryMb: 1024,
    });
    // 2,000 LIST at $0.005 per 1,000 and 1,000,000 HEAD at $0.0004 per 1,000, plus the Lambda.
    expect(listHead?.dollars).toBeGreaterThan(0.41);
    expect(listHead?.dollars).toBeLessThan(0.42);
    // Two inventories ($0.005), 200 PUT + 200 GET, 200 children × 2 transitions ($0.01), and 100 batches of
    // 1.5 s (500 ms measured + 2 × 500 ms overhead) at 1 GB.
    const expected =
      0.005 + 200 * (0.005 / 1000 + 0.0004 / 1000) + 0.01 + 200 * (0.2 / 1e6) + 150 * 0.0000133334;
    expect(inventory?.dollars).toBeCloseTo(expected, 6);
    expect(batchReplication?.dollars).toBe(1.25);
  });

  it('It should compute a billion objects as waves of MaxConcurrency children', () => {
    const wall = billionWallSeconds({
      ...DEFAULT_ASSUMPTIONS,
      batchMs: 100,
      batchRows: 10_000,
      unverifiableShare: 0,
      maxConcurrency: 1000,
      childOverheadMs: 400,
    });
    // 100 waves × (100 ms + 2 stages × 400 ms).
    expect(wall).toEqual({ children: 100_000, waves: 100, seconds: 90 });
    // 1e9 HEADs, 16 at a time, 20 ms each.
    expect(billionListHeadSeconds({ headLatencyMs: 20 })).toBe(1_250_000);
  });
});
