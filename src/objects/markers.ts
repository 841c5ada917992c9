import { createHash } from 'node:crypto';

/**
 * Every replica carries these user-metadata entries. They stop replicas from being replicated again,
 * let a delete touch only Ferry's own replicas, and let an older version lose to a newer replica.
 */
export const MARKER_KEYS = {
  sourceBucket: 'ferry-source-bucket',
  sourceKey: 'ferry-source-key',
  sourceVersion: 'ferry-source-version',
  sequencer: 'ferry-source-sequencer',
  rule: 'ferry-rule',
  /**
   * The ETag of the source object copied. Reconcile compares it with the source's current ETag: it tells
   * whether the replica holds the source's current content whatever the encryption on either side, where
   * the replica's own ETag cannot (under SSE-KMS, DSSE-KMS or SSE-C an ETag is not the MD5 of the bytes,
   * https://docs.aws.amazon.com/AmazonS3/latest/API/API_Object.html, "ETag"). Absent on replicas written
   * before it was added.
   */
  sourceETag: 'ferry-source-etag',
} as const;

/** The longest ETag an event may carry (#objects/event), unquoted: the bound of the source-ETag marker. */
export const MAX_ETAG_CHARS = 128;

export interface ReplicaMarkers {
  sourceBucket: string;
  sourceKey: string;
  sourceVersion: string | undefined;
  sequencer: string | undefined;
  rule: string;
  /** Unquoted. */
  sourceETag?: string | undefined;
}

/**
 * Metadata values must be ASCII and all user metadata fits in 2 KB, while keys may hold 1024 UTF-8
 * bytes: the key is stored percent-encoded (readable), or as a SHA-256 digest (71 bytes) when that would be
 * long, or when the replica's metadata needs the room (`compact`).
 */
export function keyMarker(key: string, options: { compact?: boolean } = {}): string {
  const encoded = encodeURIComponent(key);
  return encoded.length <= (options.compact ? DIGEST_MARKER_BYTES : MAX_READABLE_KEY_MARKER)
    ? encoded
    : digestMarker(key);
}

const MAX_READABLE_KEY_MARKER = 512;
const digestMarker = (key: string) => `sha256:${createHash('sha256').update(key).digest('hex')}`;
/** The length of a digest marker: a readable one no longer than that is kept even when compact. */
const DIGEST_MARKER_BYTES = digestMarker('').length;

/**
 * The markers of a replica. Their names are unchanged since the first release (replicas written then are
 * still recognised), and their values are bounded: bucket ≤ 63, rule ≤ 64, the sequencer ≤ 32 and the
 * version id ≤ 1024 (32 in S3) by the event schema, the key ≤ 512 readable or 71 compact, the source's
 * ETag ≤ MAX_ETAG_CHARS. Compact markers are written only
 * when the source's metadata plus `set` would otherwise pass S3's 2 KB (see `replicaMetadata`).
 */
export function markersFor(
  source: {
    bucket: string;
    key: string;
    versionId?: string | undefined;
    sequencer?: string | undefined;
    etag?: string | undefined;
    rule: string;
  },
  options: { compact?: boolean } = {},
): Record<string, string> {
  return {
    [MARKER_KEYS.sourceBucket]: source.bucket,
    [MARKER_KEYS.sourceKey]: keyMarker(source.key, options),
    ...(source.versionId ? { [MARKER_KEYS.sourceVersion]: source.versionId } : {}),
    ...(source.sequencer ? { [MARKER_KEYS.sequencer]: source.sequencer } : {}),
    [MARKER_KEYS.rule]: source.rule,
    ...(source.etag ? { [MARKER_KEYS.sourceETag]: source.etag.replaceAll('"', '') } : {}),
  };
}

/** The markers of a replica, or undefined for an object Ferry did not write. */
export function readMarkers(
  metadata: Readonly<Record<string, string>> | undefined,
): ReplicaMarkers | undefined {
  const sourceBucket = metadata?.[MARKER_KEYS.sourceBucket];
  const sourceKey = metadata?.[MARKER_KEYS.sourceKey];
  const rule = metadata?.[MARKER_KEYS.rule];
  if (!sourceBucket || !sourceKey || !rule) return undefined;
  return {
    sourceBucket,
    sourceKey,
    sourceVersion: metadata[MARKER_KEYS.sourceVersion],
    sequencer: metadata[MARKER_KEYS.sequencer],
    rule,
    sourceETag: metadata[MARKER_KEYS.sourceETag],
  };
}

/** Whether the markers name this source, in either form of the key marker (readable or compact). */
export function isReplicaOf(markers: ReplicaMarkers, source: { bucket: string; key: string }): boolean {
  return (
    markers.sourceBucket === source.bucket &&
    (markers.sourceKey === keyMarker(source.key) || markers.sourceKey === digestMarker(source.key))
  );
}

export function withoutMarkers(metadata: Readonly<Record<string, string>>): Record<string, string> {
  const markerKeys = new Set<string>(Object.values(MARKER_KEYS));
  return Object.fromEntries(Object.entries(metadata).filter(([key]) => !markerKeys.has(key)));
}
