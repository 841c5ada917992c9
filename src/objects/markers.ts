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
} as const;

export interface ReplicaMarkers {
  sourceBucket: string;
  sourceKey: string;
  sourceVersion: string | undefined;
  sequencer: string | undefined;
  rule: string;
}

/**
 * Metadata values must be ASCII and all user metadata fits in 2 KB, while keys may hold 1024 UTF-8
 * bytes: the key is stored percent-encoded, or as a SHA-256 digest when that would be long.
 */
export function keyMarker(key: string): string {
  const encoded = encodeURIComponent(key);
  return encoded.length <= 512 ? encoded : `sha256:${createHash('sha256').update(key).digest('hex')}`;
}

export function markersFor(source: {
  bucket: string;
  key: string;
  versionId: string | undefined;
  sequencer: string | undefined;
  rule: string;
}): Record<string, string> {
  return {
    [MARKER_KEYS.sourceBucket]: source.bucket,
    [MARKER_KEYS.sourceKey]: keyMarker(source.key),
    ...(source.versionId ? { [MARKER_KEYS.sourceVersion]: source.versionId } : {}),
    ...(source.sequencer ? { [MARKER_KEYS.sequencer]: source.sequencer } : {}),
    [MARKER_KEYS.rule]: source.rule,
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
  };
}

export function isReplicaOf(markers: ReplicaMarkers, source: { bucket: string; key: string }): boolean {
  return markers.sourceBucket === source.bucket && markers.sourceKey === keyMarker(source.key);
}

export function withoutMarkers(metadata: Readonly<Record<string, string>>): Record<string, string> {
  const markerKeys = new Set<string>(Object.values(MARKER_KEYS));
  return Object.fromEntries(Object.entries(metadata).filter(([key]) => !markerKeys.has(key)));
}
