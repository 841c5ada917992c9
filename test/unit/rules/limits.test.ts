import { describe, expect, it } from 'vitest';
import { MAX_ETAG_CHARS, markersFor } from '#objects/markers';
import { metadataBytes, worstCaseMarkerBytes } from '#rules/limits';
import { validateConfig } from '#rules/load';

/**
 * The limits S3 and EC2 enforce that the configuration alone decides, refused at validation with the path
 * and the limit: user metadata (2 KB with Ferry's markers), tag counts and lengths, key prefixes in bytes.
 */

const objectRule = (destination: Record<string, unknown> = {}, objects: Record<string, unknown> = {}) => ({
  name: 'invoices',
  objects: { bucket: 'acme-prod', prefix: 'invoices/', ...objects },
  to: [{ bucket: 'acme-dr', region: 'us-west-2', ...destination }],
});
const snapshotRule = (
  destination: Record<string, unknown> = {},
  snapshots: Record<string, unknown> = {},
) => ({
  name: 'ebs-to-dr',
  snapshots: { regions: ['us-east-1'], encrypted: false, ...snapshots },
  to: [{ region: 'us-west-2', ...destination }],
});
const issuesOf = (rule: unknown) => {
  const result = validateConfig({ rules: [rule] });
  return result.ok ? [] : result.issues;
};
const tags = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${i}`, 'v']));
/** Metadata of exactly `bytes` bytes: one key `m`, the rest in its value. */
const metadataOf = (bytes: number) => ({ m: 'x'.repeat(bytes - 1) });

describe('user metadata limit (S3: 2 KB of keys and values, with Ferry’s markers)', () => {
  const markers = worstCaseMarkerBytes({ bucket: 'acme-prod', rule: 'invoices' });

  it('It should bound Ferry’s markers by their largest: a 1,024-byte version id, the longest key marker', () => {
    for (const key of ['a'.repeat(512), 'é'.repeat(512), '%'.repeat(170), 'k'.repeat(1024)]) {
      const written = markersFor({
        bucket: 'acme-prod',
        key,
        versionId: 'v'.repeat(1024),
        sequencer: 'F'.repeat(64),
        etag: `"${'0'.repeat(32)}-10000"`,
        rule: 'invoices',
      });
      expect(markers).toBeGreaterThanOrEqual(metadataBytes(written));
    }
    expect(markers).toBeLessThan(2048);
  });

  it('It should find the longest key marker as trying every key length up to 1,024 bytes finds it', () => {
    const bytesOf = (key: string) =>
      metadataBytes(markersFor({ bucket: 'acme-prod', key, rule: 'invoices' }));
    let longest = '';
    for (let length = 1; length <= 1024; length++) {
      const key = 'k'.repeat(length);
      if (bytesOf(key) > bytesOf(longest)) longest = key;
    }
    expect(
      metadataBytes(
        markersFor({
          bucket: 'acme-prod',
          key: longest,
          versionId: 'v'.repeat(1024),
          sequencer: 'f'.repeat(64),
          etag: 'e'.repeat(MAX_ETAG_CHARS),
          rule: 'invoices',
        }),
      ),
    ).toBe(markers);
  });

  it('It should refuse a metadata.set over 2 KB on its own, naming MetadataTooLarge', () => {
    expect(issuesOf(objectRule({ metadata: { set: metadataOf(2049) } }))).toEqual([
      {
        path: 'rules[0].to[0].metadata.set',
        message: expect.stringMatching(
          /^takes 2049 bytes \(UTF-8 keys and values\), over the 2048 bytes \(2 KB\) of user metadata S3 allows: S3 would refuse every copy \(MetadataTooLarge\)/,
        ),
      },
    ]);
  });

  it('It should refuse a metadata.set that fits only without the markers, and say how much fits', () => {
    const fits = 2048 - markers;
    expect(issuesOf(objectRule({ metadata: { set: metadataOf(fits) } }))).toEqual([]);
    expect(issuesOf(objectRule({ metadata: { set: metadataOf(fits + 1) } }))).toEqual([
      {
        path: 'rules[0].to[0].metadata.set',
        message: expect.stringContaining(
          `takes ${fits + 1} bytes (UTF-8 keys and values); with Ferry's replica markers, up to ${markers} bytes for this rule, ` +
            `a replica's user metadata could reach 2049 bytes, over the 2048 (2 KB) S3 allows (MetadataTooLarge): keep metadata.set within ${fits} bytes`,
        ),
      },
    ]);
  });
});

describe('tag limits', () => {
  it('It should count S3 tag keys and values in Unicode characters, up to 128 and 256', () => {
    // 256 emoji are 512 UTF-16 code units, and 256 characters to S3.
    expect(issuesOf(objectRule({ tags: { set: { ['😀'.repeat(128)]: '😀'.repeat(256) } } }))).toEqual([]);
    expect(issuesOf(objectRule({ tags: { set: { ['k'.repeat(129)]: 'v', dr: 'x'.repeat(257) } } }))).toEqual([
      {
        path: `rules[0].to[0].tags.set.${'k'.repeat(129)}`,
        message: 'expected a tag key of 1–128 characters (the S3 object limit)',
      },
      {
        path: 'rules[0].to[0].tags.set.dr',
        message: 'expected a tag value of at most 256 characters (the S3 object limit)',
      },
    ]);
  });

  it('It should hold EC2 tag keys to 127 and values to 255 characters', () => {
    expect(issuesOf(snapshotRule({ tags: { ['k'.repeat(127)]: 'v'.repeat(255) } }))).toEqual([]);
    expect(issuesOf(snapshotRule({ tags: { ['k'.repeat(128)]: 'v', dr: 'x'.repeat(256) } }))).toEqual([
      {
        path: `rules[0].to[0].tags.${'k'.repeat(128)}`,
        message: 'expected a tag key of 1–127 characters (the EC2 limit)',
      },
      {
        path: 'rules[0].to[0].tags.dr',
        message: 'expected a tag value of at most 255 characters (the EC2 limit)',
      },
    ]);
    expect(issuesOf(snapshotRule({}, { tags: { ['k'.repeat(128)]: 'v' } }))).toEqual([
      {
        path: `rules[0].snapshots.tags.${'k'.repeat(128)}`,
        message: 'expected a tag key of 1–127 characters (the EC2 limit)',
      },
    ]);
  });

  it('It should leave room on an EC2 copy for Ferry’s four marker tags: 46 set tags at most', () => {
    expect(issuesOf(snapshotRule({ tags: tags(46) }))).toEqual([]);
    expect(issuesOf(snapshotRule({ tags: tags(47) }))).toEqual([
      {
        path: 'rules[0].to[0].tags',
        message:
          'expected at most 46 tags (the EC2 tag limit of 50, less the 4 marker tags Ferry puts on every copy)',
      },
    ]);
    // A filter names tags the source has: all 50 may be required.
    expect(issuesOf(snapshotRule({}, { tags: tags(50) }))).toEqual([]);
  });

  it('It should refuse more than 10 tags on an S3 replica, and aws: keys everywhere', () => {
    expect(issuesOf(objectRule({ tags: { set: tags(11) } }))).toEqual([
      { path: 'rules[0].to[0].tags.set', message: 'expected at most 10 tags (the S3 object tag limit)' },
    ]);
    expect(issuesOf(snapshotRule({ tags: { 'aws:x': 'v' } }))).toEqual([
      { path: 'rules[0].to[0].tags.aws:x', message: expect.stringContaining('reserved by AWS') },
    ]);
  });
});

describe('key prefix limit (S3: 1,024 bytes of UTF-8)', () => {
  it('It should measure prefix, suffix and keyPrefix in UTF-8 bytes, not characters', () => {
    // 512 × "é" is 512 characters and 1,024 bytes; one more is 1,026 bytes.
    expect(issuesOf(objectRule({ keyPrefix: 'é'.repeat(512) }))).toEqual([]);
    expect(issuesOf(objectRule({ keyPrefix: 'é'.repeat(513) }, { suffix: '€'.repeat(342) }))).toEqual([
      {
        path: 'rules[0].objects.suffix',
        message: 'expected at most 1024 bytes of UTF-8 (the S3 key limit); this is 1026 bytes',
      },
      {
        path: 'rules[0].to[0].keyPrefix',
        message: 'expected at most 1024 bytes of UTF-8 (the S3 key limit); this is 1026 bytes',
      },
    ]);
    expect(issuesOf(objectRule({}, { prefix: `${'p'.repeat(1024)}/` }))).toEqual([
      {
        path: 'rules[0].objects.prefix',
        message: 'expected at most 1024 bytes of UTF-8 (the S3 key limit); this is 1025 bytes',
      },
    ]);
  });
});
