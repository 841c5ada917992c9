import { MalformedEventKeyError } from './errors.ts';

export function decodeEventKey(encodedKey: string): string {
  try {
    return decodeURIComponent(encodedKey.replaceAll('+', ' '));
  } catch (cause) {
    throw Object.assign(new MalformedEventKeyError(encodedKey), { cause });
  }
}

/** The inverse, as the sandbox must produce it: `/` stays readable, as in S3's own events. */
export function encodeEventKey(key: string): string {
  return key
    .split('/')
    .map((segment) => encodeURIComponent(segment).replaceAll('%20', '+'))
    .join('/');
}

/** CopySource is `bucket/key` with the key percent-encoded (and `/` kept), plus an optional version. */
export function copySourceOf(bucket: string, key: string, versionId?: string): string {
  const path = `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
  return versionId ? `${path}?versionId=${encodeURIComponent(versionId)}` : path;
}

/**
 * S3's listing order: keys compared as UTF-8 bytes ("List results are always returned in UTF-8 binary
 * order", https://docs.aws.amazon.com/AmazonS3/latest/userguide/ListingKeysUsingAPIs.html). JavaScript's
 * `<` compares UTF-16 code units, which orders a key with a character above U+FFFF (a surrogate pair)
 * before one with U+E000–U+FFFF, the reverse of S3.
 */
export function compareKeys(a: string, b: string): number {
  return a === b ? 0 : Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
