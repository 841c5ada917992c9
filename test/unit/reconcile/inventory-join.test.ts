import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { destinationKeyOf } from '#objects/router';
import {
  DuplicateInventoryKeyError,
  InventoryBucketMismatchError,
  UnknownInventoryDestinationError,
} from '#reconcile/inventory/errors';
import { type InventoryJoin, joinPartition, partitionOf } from '#reconcile/inventory/join';
import type { InventoryRow } from '#reconcile/inventory/rows';
import { objectRulesOf } from '#rules/config';
import { type ObjectRule, ObjectRuleSchema } from '#rules/schema';
import { configFrom } from '#test/support/fixtures';

/**
 * The inventory join judges each source row against its replica's row, in the replica's key space, without a
 * request: matched only where sizes and comparable ETags agree; stale, missing, unverifiable (to the HEAD
 * path) and orphan candidates otherwise.
 */

const rule = ObjectRuleSchema.parse({
  name: 'docs',
  objects: { bucket: 'acme-prod', prefix: 'docs/', suffix: '.pdf', maxSize: 1000 },
  to: [
    { bucket: 'acme-dr', region: 'us-west-2', keyPrefix: 'mirror/', replicateDeletes: true },
    { bucket: 'acme-eu', region: 'eu-west-1' },
    { bucket: 'acme-kms', region: 'eu-west-1', encryption: { sse: 'aws:kms', kmsKeyId: 'alias/dr' } },
  ],
});
const [dr, eu, kms] = rule.to as [ObjectRule['to'][0], ObjectRule['to'][0], ObjectRule['to'][0]];

const T0 = '2026-11-30T10:00:00.000Z';
const T1 = '2026-11-30T11:00:00.000Z';
const source = (key: string, more: Partial<InventoryRow> = {}): InventoryRow => ({
  bucket: 'acme-prod',
  key,
  size: 100,
  lastModified: T0,
  eTag: '0cc175b9c0f1b6a831c399e269772661',
  encryptionStatus: 'SSE-S3',
  ...more,
});
const replicaOf = (row: InventoryRow, bucket: string, key: string, more: Partial<InventoryRow> = {}) => ({
  ...row,
  bucket,
  key,
  lastModified: T1,
  ...more,
});
const keys = (rows: readonly InventoryRow[]) => rows.map((row) => row.key).sort();

describe('joinPartition', () => {
  it('matches through the keyPrefix, and finds missing, stale and orphaned replicas', () => {
    const same = source('docs/same.pdf');
    const gone = source('docs/gone.pdf');
    const bigger = source('docs/bigger.pdf');
    const edited = source('docs/edited.pdf');
    const older = source('docs/older.pdf', { lastModified: T1 });
    const result = joinPartition({
      rule,
      destination: dr,
      sourceRows: [same, gone, bigger, edited, older],
      replicaRows: [
        replicaOf(same, 'acme-dr', 'mirror/same.pdf'),
        replicaOf(bigger, 'acme-dr', 'mirror/bigger.pdf', { size: 101 }),
        replicaOf(edited, 'acme-dr', 'mirror/edited.pdf', { eTag: '92eb5ffee6ae2fec3ad71c777531578f' }),
        replicaOf(older, 'acme-dr', 'mirror/older.pdf', { lastModified: T0 }),
        // Its source is gone (so is the one of a key outside the rule, which is not this rule's).
        replicaOf(same, 'acme-dr', 'mirror/deleted.pdf'),
        replicaOf(same, 'acme-dr', 'mirror/deleted.txt'),
        replicaOf(same, 'acme-dr', 'other/deleted.pdf'),
        // An old version and a delete marker are not the replica.
        replicaOf(gone, 'acme-dr', 'mirror/gone.pdf', { isLatest: false }),
        replicaOf(gone, 'acme-dr', 'mirror/gone.pdf', { isDeleteMarker: true, size: 0, eTag: '' }),
      ],
    });
    expect(result.matched).toBe(1);
    expect(keys(result.missing)).toEqual(['docs/gone.pdf']);
    expect(keys(result.stale)).toEqual(['docs/bigger.pdf', 'docs/edited.pdf', 'docs/older.pdf']);
    expect(result.unverifiable).toEqual([]);
    expect(keys(result.orphanCandidates)).toEqual(['mirror/deleted.pdf']);
  });

  it('leaves out sources outside the filters, old versions and deleted ones (yet their replicas are no orphans)', () => {
    const large = source('docs/large.pdf', { size: 5000 });
    const text = source('docs/notes.txt');
    const old = source('docs/old.pdf', { isLatest: false });
    const deleted = source('docs/deleted.pdf', { isDeleteMarker: true, size: 0, eTag: '' });
    const result = joinPartition({
      rule,
      destination: dr,
      sourceRows: [large, text, old, deleted, source('logs/x.pdf')],
      replicaRows: [replicaOf(large, 'acme-dr', 'mirror/large.pdf', { size: 1 })],
    });
    expect(result).toEqual({ matched: 0, missing: [], stale: [], unverifiable: [], orphanCandidates: [] });
  });

  it('sends to the HEAD check what the ETag rule cannot compare', () => {
    const multipart = source('docs/multi.pdf', { eTag: 'b3a0e4e1a0c0b1f9c6a8f0c9d2b1a3e4-3' });
    const kmsSource = source('docs/kms.pdf', { encryptionStatus: 'SSE-KMS' });
    const unknown = source('docs/unknown.pdf', { encryptionStatus: undefined });
    const customer = source('docs/customer.pdf', { encryptionStatus: 'SSE-C' });
    const rows = [multipart, kmsSource, unknown, customer];
    const result = joinPartition({
      rule,
      destination: eu,
      sourceRows: rows,
      replicaRows: rows.map((row) => replicaOf(row, 'acme-eu', row.key)),
    });
    expect(result.matched).toBe(0);
    expect(keys(result.unverifiable)).toEqual(keys(rows));
    // A size apart is stale whatever the ETags.
    const resized = joinPartition({
      rule,
      destination: eu,
      sourceRows: [kmsSource],
      replicaRows: [replicaOf(kmsSource, 'acme-eu', kmsSource.key, { size: 1 })],
    });
    expect(keys(resized.stale)).toEqual([kmsSource.key]);
  });

  it('does not compare ETags at a destination that encrypts with KMS', () => {
    const row = source('docs/a.pdf');
    const result = joinPartition({
      rule,
      destination: kms,
      sourceRows: [row],
      replicaRows: [replicaOf(row, 'acme-kms', row.key, { eTag: 'ffffffffffffffffffffffffffffffff' })],
    });
    expect(keys(result.unverifiable)).toEqual([row.key]);
  });

  it('compares quoted and unquoted ETags alike', () => {
    const row = source('docs/a.pdf');
    const result = joinPartition({
      rule,
      destination: eu,
      sourceRows: [row],
      replicaRows: [replicaOf(row, 'acme-eu', row.key, { eTag: `"${row.eTag}"` })],
    });
    expect(result.matched).toBe(1);
  });

  it('finds no orphan candidates where the destination keeps replicas of deleted sources', () => {
    const row = source('docs/a.pdf');
    const result = joinPartition({
      rule,
      destination: eu,
      sourceRows: [],
      replicaRows: [replicaOf(row, 'acme-eu', row.key)],
    });
    expect(result.orphanCandidates).toEqual([]);
  });

  it('leaves a replica key that a rule of higher priority owns to that rule', () => {
    const config = configFrom(`
rules:
  - name: all
    priority: 1
    objects: { bucket: acme-prod }
    to: [{ bucket: acme-dr, region: us-west-2 }]
  - name: docs
    priority: 2
    objects: { bucket: acme-prod, prefix: docs/ }
    to: [{ bucket: acme-dr, region: us-west-2 }]
`);
    const [all] = objectRulesOf(config) as [ObjectRule];
    const row = source('docs/a.pdf');
    const result = joinPartition({
      rule: all,
      destination: all.to[0] as ObjectRule['to'][0],
      sourceRows: [row],
      replicaRows: [],
    });
    expect(result.missing).toEqual([]);
    const other = joinPartition({
      rule: all,
      destination: all.to[0] as ObjectRule['to'][0],
      sourceRows: [source('x.pdf')],
      replicaRows: [],
    });
    expect(keys(other.missing)).toEqual(['x.pdf']);
  });

  it('finds a destination that crossed JSON by bucket and keyPrefix, and refuses one not of the rule', () => {
    const row = source('docs/a.pdf');
    const copy = JSON.parse(JSON.stringify(dr)) as typeof dr;
    expect(
      joinPartition({ rule, destination: copy, sourceRows: [row], replicaRows: [] }).missing,
    ).toHaveLength(1);
    expect(() =>
      joinPartition({ rule, destination: { ...dr, bucket: 'elsewhere' }, sourceRows: [], replicaRows: [] }),
    ).toThrow(UnknownInventoryDestinationError);
  });

  it('refuses rows of another bucket and two current rows for one key', () => {
    const row = source('docs/a.pdf');
    expect(() =>
      joinPartition({ rule, destination: dr, sourceRows: [{ ...row, bucket: 'x1y' }], replicaRows: [] }),
    ).toThrow(InventoryBucketMismatchError);
    expect(() =>
      joinPartition({ rule, destination: dr, sourceRows: [], replicaRows: [replicaOf(row, 'acme-eu', 'k')] }),
    ).toThrow(InventoryBucketMismatchError);
    expect(() => joinPartition({ rule, destination: dr, sourceRows: [row, row], replicaRows: [] })).toThrow(
      DuplicateInventoryKeyError,
    );
    const replica = replicaOf(row, 'acme-dr', 'mirror/a.pdf');
    expect(() =>
      joinPartition({ rule, destination: dr, sourceRows: [], replicaRows: [replica, replica] }),
    ).toThrow(DuplicateInventoryKeyError);
  });
});

describe('partitionOf', () => {
  it('is stable, in range, and splits a join into partitions whose union is the whole join', () => {
    const state = fc.constantFrom('matched', 'missing', 'stale', 'orphan' as const);
    const items = fc.uniqueArray(fc.record({ name: fc.string({ minLength: 1, maxLength: 8 }), state }), {
      selector: (item) => item.name,
      maxLength: 60,
    });
    fc.assert(
      fc.property(items, fc.integer({ min: 1, max: 9 }), (generated, partitions) => {
        const sourceRows: InventoryRow[] = [];
        const replicaRows: InventoryRow[] = [];
        for (const { name, state: kind } of generated) {
          const row = source(`docs/${name}.pdf`);
          const replicaKey = destinationKeyOf(rule, dr, row.key);
          if (kind !== 'orphan') sourceRows.push(row);
          if (kind === 'matched' || kind === 'orphan')
            replicaRows.push(replicaOf(row, 'acme-dr', replicaKey));
          if (kind === 'stale') replicaRows.push(replicaOf(row, 'acme-dr', replicaKey, { size: 1 }));
        }
        const whole = joinPartition({ rule, destination: dr, sourceRows, replicaRows });
        const parts: InventoryJoin[] = Array.from({ length: partitions }, (_, index) =>
          joinPartition({
            rule,
            destination: dr,
            sourceRows: sourceRows.filter(
              (row) => partitionOf(destinationKeyOf(rule, dr, row.key), partitions) === index,
            ),
            replicaRows: replicaRows.filter((row) => partitionOf(row.key, partitions) === index),
          }),
        );
        const union = (pick: (join: InventoryJoin) => InventoryRow[]) => keys(parts.flatMap(pick));
        expect(parts.reduce((sum, part) => sum + part.matched, 0)).toBe(whole.matched);
        expect(union((join) => join.missing)).toEqual(keys(whole.missing));
        expect(union((join) => join.stale)).toEqual(keys(whole.stale));
        expect(union((join) => join.orphanCandidates)).toEqual(keys(whole.orphanCandidates));
        // And the whole join is the generated truth.
        const truth = (kind: string) =>
          generated
            .filter((item) => item.state === kind)
            .map((item) => `docs/${item.name}.pdf`)
            .sort();
        expect(whole.matched).toBe(truth('matched').length);
        expect(keys(whole.missing)).toEqual(truth('missing'));
        expect(keys(whole.stale)).toEqual(truth('stale'));
        expect(keys(whole.orphanCandidates)).toEqual(
          truth('orphan')
            .map((key) => destinationKeyOf(rule, dr, key))
            .sort(),
        );
      }),
    );
  });

  it('is the same for one key every time and spreads keys over the partitions', () => {
    expect(partitionOf('docs/a.pdf', 16)).toBe(partitionOf('docs/a.pdf', 16));
    // FNV-1a 32 of "a" is 0xe40c292c: pinned, since source and destination rows meet only if every process agrees.
    expect(partitionOf('a', 2 ** 31)).toBe(0xe40c292c % 2 ** 31);
    const counts = new Array<number>(8).fill(0);
    for (let i = 0; i < 8000; i++) {
      const part = partitionOf(`docs/${i}.pdf`, 8);
      counts[part] = (counts[part] ?? 0) + 1;
    }
    for (const count of counts) expect(count).toBeGreaterThan(800);
  });
});
