import type { S3Context, S3Request } from './context.ts';
import { pageSize } from './limits.ts';
import { type Bucket, byteOrder, type StoredObject, type Version } from './store.ts';
import { element, invalidArgument, sendXml, xmlDate } from './wire.ts';

/**
 * Listings exactly as S3 pages them: ListObjectsV2
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html), ListObjects
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjects.html) and ListObjectVersions
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectVersions.html). Keys in UTF-8 byte order;
 * with a delimiter, the keys that share a prefix up to the delimiter roll up into one common prefix, which
 * counts once against the page size, however deep its keys sit, and is never repeated on a later page.
 */

export interface ListingRow<T> {
  key: string;
  item: T;
}

export type ListingEntry<T> = { kind: 'item'; row: ListingRow<T> } | { kind: 'prefix'; prefix: string };

export interface ListingPage<T> {
  entries: ListingEntry<T>[];
  truncated: boolean;
}

/**
 * One page of rows (in order, all under `prefix`): each row is listed as itself or, with a delimiter, as
 * the common prefix it rolls up into. `after` is where the previous page ended: rows up to it, and common
 * prefixes up to it, were listed already.
 */
export function pageOf<T>(
  rows: Iterable<ListingRow<T>>,
  options: { prefix: string; delimiter: string; max: number; after?: string },
): ListingPage<T> {
  const { prefix, delimiter, max, after } = options;
  const entries: ListingEntry<T>[] = [];
  let lastPrefix: string | undefined;
  for (const row of rows) {
    const cut = delimiter ? row.key.indexOf(delimiter, prefix.length) : -1;
    const common = cut >= 0 ? row.key.slice(0, cut + delimiter.length) : undefined;
    if (common !== undefined) {
      if (common === lastPrefix || (after !== undefined && byteOrder(common, after) <= 0)) continue;
    }
    // A further entry exists: the page is full and truncated.
    if (entries.length >= max) return { entries, truncated: max > 0 };
    if (common !== undefined) {
      lastPrefix = common;
      entries.push({ kind: 'prefix', prefix: common });
    } else {
      entries.push({ kind: 'item', row });
    }
  }
  return { entries, truncated: false };
}

/** The index of the first key greater than `after` (or not less than `from`) in a sorted array. */
function firstIndex(keys: readonly string[], bound: string, inclusive: boolean): number {
  let low = 0;
  let high = keys.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    const order = byteOrder(keys[middle] ?? '', bound);
    if (order < 0 || (order === 0 && !inclusive)) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** The bucket's keys under `prefix` and after `after` (exclusive), in order. */
export function* keysOf(keys: readonly string[], prefix: string, after: string | undefined) {
  const start =
    after !== undefined && byteOrder(after, prefix) >= 0
      ? firstIndex(keys, after, false)
      : firstIndex(keys, prefix, true);
  for (let index = start; index < keys.length; index++) {
    const key = keys[index] ?? '';
    if (!key.startsWith(prefix)) return;
    yield key;
  }
}

/** `encoding-type=url`: keys and prefixes percent-encoded in the answer, as S3 encodes them. */
function encoderOf(request: S3Request): (text: string) => string {
  const type = request.query.get('encoding-type');
  if (type === null) return (text) => text;
  if (type !== 'url')
    throw invalidArgument('Invalid Encoding Method specified in Request', 'encoding-type', type);
  return (text) => encodeURIComponent(text).replaceAll('%2F', '/');
}

/** The sandbox account as S3 names an owner (`Owner`, or `Initiator` of an upload). */
export const ownerXml = (context: S3Context, name = 'Owner') =>
  `<${name}>${element('ID', canonicalIdOf(context.account))}${element('DisplayName', 'ferry-sandbox')}</${name}>`;
const owner = (context: S3Context) => ownerXml(context);

/** A stable 64-hex-digit canonical user id for the sandbox account. */
export const canonicalIdOf = (account: string) => account.padStart(64, '0');

const contents = (object: StoredObject, encode: (text: string) => string, withOwner: string) =>
  `<Contents>${element('Key', encode(object.key))}${element('LastModified', xmlDate(object.lastModified))}` +
  `${element('ETag', `"${object.etag}"`)}${element('Size', object.size)}${withOwner}` +
  `${element('StorageClass', object.storageClass)}</Contents>`;

export const commonPrefixes = (
  entries: ListingEntry<unknown>[],
  encode: (text: string) => string = (text) => text,
) =>
  entries
    .map((entry) =>
      entry.kind === 'prefix'
        ? `<CommonPrefixes>${element('Prefix', encode(entry.prefix))}</CommonPrefixes>`
        : '',
    )
    .join('');

/** The current objects (not delete markers) of the keys, as listing rows. */
function* currentObjects(context: S3Context, bucket: Bucket, keys: Iterable<string>) {
  for (const key of keys) {
    const object = context.store.currentObject(bucket, key);
    if (object) yield { key, item: object };
  }
}

const lastEntryOf = (page: ListingPage<StoredObject>) => {
  const last = page.entries.at(-1);
  return last?.kind === 'prefix' ? last.prefix : last?.row.key;
};

const TOKEN_PREFIX = 'ferry-v2:';
const encodeToken = (position: string) =>
  Buffer.from(`${TOKEN_PREFIX}${position}`, 'utf8').toString('base64');
function decodeToken(token: string): string {
  const text = Buffer.from(token, 'base64').toString('utf8');
  if (!text.startsWith(TOKEN_PREFIX)) {
    throw invalidArgument('The continuation token provided is incorrect', 'continuation-token', token);
  }
  return text.slice(TOKEN_PREFIX.length);
}

export function listObjectsV2(context: S3Context, request: S3Request): void {
  const bucket = context.store.bucket(request.bucket);
  const { query } = request;
  const encode = encoderOf(request);
  const prefix = query.get('prefix') ?? '';
  const delimiter = query.get('delimiter') ?? '';
  const max = pageSize(query.get('max-keys'), 'max-keys');
  const token = query.get('continuation-token');
  const startAfter = query.get('start-after');
  const after = token !== null ? decodeToken(token) : (startAfter ?? undefined);
  const keys = keysOf(context.store.sortedKeys(bucket), prefix, after);
  const page = pageOf(currentObjects(context, bucket, keys), { prefix, delimiter, max, after });
  const withOwner = query.get('fetch-owner') === 'true' ? owner(context) : '';
  const last = lastEntryOf(page);
  sendXml(
    request.res,
    `<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${element('Name', bucket.name)}` +
      `${element('Prefix', encode(prefix))}${delimiter ? element('Delimiter', encode(delimiter)) : ''}` +
      `${element('MaxKeys', max)}${query.has('encoding-type') ? element('EncodingType', 'url') : ''}` +
      `${element('KeyCount', page.entries.length)}${element('IsTruncated', page.truncated)}` +
      `${token !== null ? element('ContinuationToken', token) : ''}` +
      `${page.truncated && last !== undefined ? element('NextContinuationToken', encodeToken(last)) : ''}` +
      `${startAfter !== null ? element('StartAfter', encode(startAfter)) : ''}` +
      page.entries
        .map((entry) => (entry.kind === 'item' ? contents(entry.row.item, encode, withOwner) : ''))
        .join('') +
      commonPrefixes(page.entries, encode) +
      '</ListBucketResult>',
  );
}

export function listObjects(context: S3Context, request: S3Request): void {
  const bucket = context.store.bucket(request.bucket);
  const { query } = request;
  const encode = encoderOf(request);
  const prefix = query.get('prefix') ?? '';
  const delimiter = query.get('delimiter') ?? '';
  const max = pageSize(query.get('max-keys'), 'max-keys');
  const marker = query.get('marker') ?? '';
  const after = marker || undefined;
  const keys = keysOf(context.store.sortedKeys(bucket), prefix, after);
  const page = pageOf(currentObjects(context, bucket, keys), { prefix, delimiter, max, after });
  const last = lastEntryOf(page);
  sendXml(
    request.res,
    `<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${element('Name', bucket.name)}` +
      `${element('Prefix', encode(prefix))}${element('Marker', encode(marker))}` +
      // NextMarker only with a delimiter, as S3 sends it; without one the last key is the next marker.
      `${page.truncated && delimiter && last !== undefined ? element('NextMarker', encode(last)) : ''}` +
      `${element('MaxKeys', max)}${delimiter ? element('Delimiter', encode(delimiter)) : ''}` +
      `${query.has('encoding-type') ? element('EncodingType', 'url') : ''}${element('IsTruncated', page.truncated)}` +
      page.entries
        .map((entry) => (entry.kind === 'item' ? contents(entry.row.item, encode, owner(context)) : ''))
        .join('') +
      commonPrefixes(page.entries, encode) +
      '</ListBucketResult>',
  );
}

/**
 * The markers of the next page of a listing by key and id (versions, uploads), when it is truncated: the
 * last entry's key and id, or the last common prefix alone (the next page starts after all its keys).
 */
export function nextMarkers<T>(
  page: ListingPage<T>,
  idName: string,
  idOf: (item: T) => string,
  encode: (text: string) => string = (text) => text,
): string {
  const last = page.entries.at(-1);
  if (!page.truncated || !last) return '';
  if (last.kind === 'prefix') return element('NextKeyMarker', encode(last.prefix));
  return `${element('NextKeyMarker', encode(last.row.key))}${element(idName, idOf(last.row.item))}`;
}

/** Every version of the keys, newest first per key, from a key and version marker on. */
function* versionRows(
  context: S3Context,
  bucket: Bucket,
  prefix: string,
  keyMarker: string,
  versionIdMarker: string,
): Generator<ListingRow<Version>> {
  const keys = context.store.sortedKeys(bucket);
  if (keyMarker && versionIdMarker && keyMarker.startsWith(prefix)) {
    const versions = context.store.versionsOf(bucket, keyMarker);
    const at = versions.findIndex((version) => version.versionId === versionIdMarker);
    if (at >= 0) for (const version of versions.slice(at + 1)) yield { key: keyMarker, item: version };
  }
  for (const key of keysOf(keys, prefix, keyMarker || undefined)) {
    for (const version of context.store.versionsOf(bucket, key)) yield { key, item: version };
  }
}

export function listObjectVersions(context: S3Context, request: S3Request): void {
  const bucket = context.store.bucket(request.bucket);
  const { query } = request;
  const encode = encoderOf(request);
  const prefix = query.get('prefix') ?? '';
  const delimiter = query.get('delimiter') ?? '';
  const max = pageSize(query.get('max-keys'), 'max-keys');
  const keyMarker = query.get('key-marker') ?? '';
  const versionIdMarker = query.get('version-id-marker') ?? '';
  if (versionIdMarker && !keyMarker) {
    throw invalidArgument(
      'A version-id marker cannot be specified without a key marker.',
      'version-id-marker',
      versionIdMarker,
    );
  }
  const rows = versionRows(context, bucket, prefix, keyMarker, versionIdMarker);
  // Versions of the marker key after the version marker are listed; a common prefix up to the key marker is not.
  const page = pageOf(rows, { prefix, delimiter, max, ...(keyMarker ? { after: keyMarker } : {}) });
  const next = nextMarkers(page, 'NextVersionIdMarker', (version) => version.versionId, encode);
  const entries = page.entries
    .map((entry) => {
      if (entry.kind === 'prefix') return '';
      const version = entry.row.item;
      const isLatest = context.store.current(bucket, version.key) === version;
      const common =
        `${element('Key', encode(version.key))}${element('VersionId', version.versionId)}` +
        `${element('IsLatest', isLatest)}${element('LastModified', xmlDate(version.lastModified))}`;
      if (version.kind === 'marker') return `<DeleteMarker>${common}${owner(context)}</DeleteMarker>`;
      return (
        `<Version>${common}${element('ETag', `"${version.etag}"`)}${element('Size', version.size)}` +
        `${element('StorageClass', version.storageClass)}${owner(context)}</Version>`
      );
    })
    .join('');
  sendXml(
    request.res,
    `<ListVersionsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${element('Name', bucket.name)}` +
      `${element('Prefix', encode(prefix))}${element('KeyMarker', encode(keyMarker))}` +
      `${element('VersionIdMarker', versionIdMarker)}${next}${element('MaxKeys', max)}` +
      `${delimiter ? element('Delimiter', encode(delimiter)) : ''}` +
      `${query.has('encoding-type') ? element('EncodingType', 'url') : ''}${element('IsTruncated', page.truncated)}` +
      entries +
      commonPrefixes(page.entries, encode) +
      '</ListVersionsResult>',
  );
}
