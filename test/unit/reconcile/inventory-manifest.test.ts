import { describe, expect, it } from 'vitest';
import {
  InventoryFieldMissingError,
  InventoryFormatError,
  InventoryManifestInvalidError,
} from '#reconcile/inventory/errors';
import { partitionOf } from '#reconcile/inventory/join';
import { checkManifest, reportFolderOf } from '#reconcile/inventory/manifest';
import { partitionRows } from '#reconcile/inventory/partition';
import type { InventoryRow } from '#reconcile/inventory/rows';
import { ObjectRuleSchema } from '#rules/schema';

const manifest = (overrides: Record<string, unknown> = {}) =>
  JSON.stringify({
    sourceBucket: 'src',
    destinationBucket: 'arn:aws:s3:::reports',
    version: '2016-11-30',
    creationTimestamp: '1514944800000',
    fileFormat: 'CSV',
    fileSchema: 'Bucket, Key, Size, LastModifiedDate, ETag, StorageClass, EncryptionStatus',
    files: [
      { key: 'inv/src/daily/data/a.csv.gz', size: 10, MD5checksum: 'f11166069f1990abeb9c97ace9cdfabc' },
    ],
    ...overrides,
  });

describe('inventory manifest', () => {
  it('It should read a manifest S3 Inventory writes', () => {
    expect(checkManifest(manifest(), 'm', 'src').files).toHaveLength(1);
  });

  it('It should refuse what it cannot join, each with an error named by what is wrong', () => {
    expect(() => checkManifest('{', 'm', 'src')).toThrow(InventoryManifestInvalidError);
    expect(() => checkManifest(manifest({ files: 'no' }), 'm', 'src')).toThrow(InventoryManifestInvalidError);
    expect(() => checkManifest(manifest(), 'm', 'other')).toThrow(/lists bucket src, not other/);
    expect(() => checkManifest(manifest({ fileFormat: 'Parquet' }), 'm', 'src')).toThrow(
      InventoryFormatError,
    );
    expect(() => checkManifest(manifest({ fileSchema: 'Bucket, Key, Size' }), 'm', 'src')).toThrow(
      InventoryFieldMissingError,
    );
  });

  it('It should find reports where S3 publishes them: prefix/source-bucket/config-id/', () => {
    expect(reportFolderOf({ bucket: 'r', prefix: 'inventories/', configId: 'daily' }, 'src')).toBe(
      'inventories/src/daily/',
    );
    expect(reportFolderOf({ bucket: 'r', prefix: '', configId: 'daily' }, 'src')).toBe('src/daily/');
  });
});

describe('inventory partition', () => {
  const rule = ObjectRuleSchema.parse({
    name: 'docs',
    objects: { bucket: 'src-bucket', prefix: 'docs/' },
    to: [
      { bucket: 'dr-bucket', region: 'us-west-2', keyPrefix: 'mirror/' },
      { bucket: 'eu-bucket', region: 'eu-west-1' },
    ],
  });
  const row = (bucket: string, key: string): InventoryRow => ({
    bucket,
    key,
    size: 1,
    lastModified: '2026-01-01T00:00:00.000Z',
    eTag: 'e',
  });
  const shardOfRow = (groups: Map<number, InventoryRow[]>, key: string) =>
    [...groups].find(([, rows]) => rows.some((candidate) => candidate.key === key))?.[0];

  it('It should put a source row and its replicas at every destination in the same shard', () => {
    const keys = Array.from({ length: 200 }, (_, index) => `docs/${index}/k ü.txt`);
    const sources = partitionRows(
      rule,
      'source',
      keys.map((key) => row('src-bucket', key)),
      7,
    );
    const dr = partitionRows(
      rule,
      0,
      keys.map((key) => row('dr-bucket', `mirror/${key.slice(5)}`)),
      7,
    );
    const eu = partitionRows(
      rule,
      1,
      keys.map((key) => row('eu-bucket', key)),
      7,
    );
    for (const key of keys) {
      const shard = shardOfRow(sources, key);
      expect(shard).toBe(partitionOf(key, 7));
      expect(shardOfRow(dr, `mirror/${key.slice(5)}`)).toBe(shard);
      expect(shardOfRow(eu, key)).toBe(shard);
    }
    expect(sources.size).toBe(7);
  });

  it('It should leave out rows outside the rule: other prefixes, other key spaces', () => {
    const sources = partitionRows(
      rule,
      'source',
      [row('src-bucket', 'other/a'), row('src-bucket', 'docs/a')],
      3,
    );
    expect([...sources.values()].flat().map(({ key }) => key)).toEqual(['docs/a']);
    const dr = partitionRows(rule, 0, [row('dr-bucket', 'docs/a'), row('dr-bucket', 'mirror/a')], 3);
    expect([...dr.values()].flat().map(({ key }) => key)).toEqual(['mirror/a']);
  });
});
