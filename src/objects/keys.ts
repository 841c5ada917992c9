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
