/**
 * S3 writes object keys into event notifications URL-encoded, form style: a space becomes `+`, a literal
 * `+` becomes `%2B`, UTF-8 bytes become `%XX`. Rules and copies work on the real key. Other S3
 * implementations send keys raw, where `+` is a literal plus, and AWS's documentation does not settle how
 * EventBridge encodes a literal `+` or `%`: the event's own key is kept beside the decoded one and tried
 * when the decoded key does not hold the event's object (`headEventObject` in source-reads.ts).
 */

export class MalformedEventKeyError extends Error {
  constructor(readonly encodedKey: string) {
    super(`object key "${encodedKey}" is not valid URL-encoded text`);
    this.name = 'MalformedEventKeyError';
  }
}

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
