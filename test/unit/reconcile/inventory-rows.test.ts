import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InventoryFieldMissingError, MalformedInventoryCsvError } from '#reconcile/inventory/errors';
import { type InventoryRow, parseInventoryCsv } from '#reconcile/inventory/rows';

/**
 * S3 Inventory CSV as S3 writes it: no header, columns in the manifest's fileSchema order, every field quoted,
 * the key URL-encoded with a space as `+`, the ETag unquoted, delete markers with no size or ETag.
 */

const ALL_VERSIONS =
  'Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, LastModifiedDate, ETag, StorageClass, ' +
  'IsMultipartUploaded, ReplicationStatus, EncryptionStatus';
const CURRENT_ONLY = 'Bucket, Key, Size, LastModifiedDate, ETag, StorageClass, EncryptionStatus';

/** The key as an inventory encodes it (form encoding: a space is `+`, `/` is `%2F`). */
const encodeInventoryKey = (key: string) => encodeURIComponent(key).replaceAll('%20', '+');
const line = (fields: string[]) => fields.map((field) => `"${field.replaceAll('"', '""')}"`).join(',');

describe('parseInventoryCsv', () => {
  it('reads a versioned inventory: decoded keys, versions, delete markers, unquoted ETags', () => {
    const text = [
      line([
        'acme-prod',
        'docs/a+b%2Bc%2Fd%C3%A9.pdf',
        'v2',
        'true',
        'false',
        '1024',
        '2026-11-30T10:00:00.000Z',
        'd41d8cd98f00b204e9800998ecf8427e',
        'STANDARD',
        'false',
        '',
        'SSE-S3',
      ]),
      line([
        'acme-prod',
        'docs/gone',
        'v9',
        'true',
        'true',
        '',
        '2026-11-30T11:00:00.000Z',
        '',
        '',
        '',
        '',
        '',
      ]),
      '',
    ].join('\r\n');
    expect(parseInventoryCsv(text, ALL_VERSIONS)).toEqual([
      {
        bucket: 'acme-prod',
        key: 'docs/a b+c/dé.pdf',
        versionId: 'v2',
        isLatest: true,
        isDeleteMarker: false,
        size: 1024,
        lastModified: '2026-11-30T10:00:00.000Z',
        eTag: 'd41d8cd98f00b204e9800998ecf8427e',
        storageClass: 'STANDARD',
        encryptionStatus: 'SSE-S3',
      },
      {
        bucket: 'acme-prod',
        key: 'docs/gone',
        versionId: 'v9',
        isLatest: true,
        isDeleteMarker: true,
        size: 0,
        lastModified: '2026-11-30T11:00:00.000Z',
        eTag: '',
      },
    ] satisfies InventoryRow[]);
  });

  it('follows the fileSchema order, whatever it is', () => {
    const schema = 'ETag, Size, Key, Bucket, LastModifiedDate';
    const [row] = parseInventoryCsv(line(['abc-2', '7', 'k', 'b1', '2026-01-01T00:00:00Z']), schema);
    expect(row).toEqual({
      bucket: 'b1',
      key: 'k',
      size: 7,
      eTag: 'abc-2',
      lastModified: '2026-01-01T00:00:00.000Z',
    });
  });

  it('round-trips any key, size and ETag written as S3 writes them', () => {
    const rowArbitrary = fc.record({
      key: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }),
      size: fc.integer({ min: 0, max: 5 * 1024 ** 4 }),
      eTag: fc.stringMatching(/^[0-9a-f]{32}(-[1-9]\d{0,3})?$/),
      lastModified: fc
        .date({ min: new Date('2006-03-01'), max: new Date('2100-01-01'), noInvalidDate: true })
        .map((date) => date.toISOString()),
      encryptionStatus: fc.constantFrom('NOT-SSE', 'SSE-S3', 'SSE-C', 'SSE-KMS', 'DSSE-KMS' as const),
    });
    fc.assert(
      fc.property(fc.array(rowArbitrary, { maxLength: 20 }), (rows) => {
        const text = rows
          .map((row) =>
            line([
              'b1',
              encodeInventoryKey(row.key),
              String(row.size),
              row.lastModified,
              row.eTag,
              'STANDARD',
              row.encryptionStatus,
            ]),
          )
          .join('\n');
        expect(parseInventoryCsv(text, CURRENT_ONLY)).toEqual(
          rows.map((row) => ({ bucket: 'b1', storageClass: 'STANDARD', ...row })),
        );
      }),
    );
  });

  it('reads a quote doubled inside a field', () => {
    const [row] = parseInventoryCsv(
      line(['b1', 'k', '1', '2026-01-01T00:00:00Z', 'x"y']),
      'Bucket, Key, Size, LastModifiedDate, ETag',
    );
    expect(row?.eTag).toBe('x"y');
  });

  it('refuses a fileSchema without the fields the join needs', () => {
    expect(() => parseInventoryCsv('', 'Bucket, Key, Size')).toThrow(InventoryFieldMissingError);
    expect(() => parseInventoryCsv('', 'Bucket, Key, Size')).toThrow(/LastModifiedDate, ETag/);
  });

  it.each([
    ['a row with a field too few', line(['b1', 'k', '1', '2026-01-01T00:00:00Z'])],
    ['an unclosed quote', '"b1","k","1","2026-01-01T00:00:00Z","abc'],
    ['garbage after a quoted field', '"b1"x,"k","1","2026-01-01T00:00:00Z","abc"'],
    ['a size that is not a number', line(['b1', 'k', 'ten', '2026-01-01T00:00:00Z', 'abc'])],
    ['a negative size', line(['b1', 'k', '-1', '2026-01-01T00:00:00Z', 'abc'])],
    ['an object with no ETag', line(['b1', 'k', '1', '2026-01-01T00:00:00Z', ''])],
    ['a date that is not one', line(['b1', 'k', '1', 'yesterday', 'abc'])],
    ['a key that is not URL-encoded', line(['b1', '%E0%A4%A', '1', '2026-01-01T00:00:00Z', 'abc'])],
    ['an empty bucket', line(['', 'k', '1', '2026-01-01T00:00:00Z', 'abc'])],
  ])('refuses %s, naming its line', (_, bad) => {
    const text = `${line(['b1', 'ok', '1', '2026-01-01T00:00:00Z', 'abc'])}\n${bad}\n`;
    const parse = () => parseInventoryCsv(text, 'Bucket, Key, Size, LastModifiedDate, ETag');
    expect(parse).toThrow(MalformedInventoryCsvError);
    expect(parse).toThrow(/line 2:/);
  });

  it('refuses an encryption status S3 does not write, and a boolean that is not one', () => {
    expect(() =>
      parseInventoryCsv(
        line(['b1', 'k', '1', '2026-01-01T00:00:00Z', 'abc', 'KMS']),
        'Bucket, Key, Size, LastModifiedDate, ETag, EncryptionStatus',
      ),
    ).toThrow(MalformedInventoryCsvError);
    expect(() =>
      parseInventoryCsv(
        line(['b1', 'k', 'v', 'yes', '1', '2026-01-01T00:00:00Z', 'abc']),
        'Bucket, Key, VersionId, IsLatest, Size, LastModifiedDate, ETag',
      ),
    ).toThrow(/IsLatest is "yes"/);
  });
});
