import { randomUUID } from 'node:crypto';
import { encodeEventKey } from '#objects/keys';

export interface S3Event {
  version: '0';
  id: string;
  'detail-type': 'Object Created' | 'Object Deleted' | 'Object Tags Added' | 'Object Tags Deleted';
  source: 'aws.s3';
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
}

/** What a write that created an object tells its event. */
export interface CreatedObject {
  size: number;
  etag: string;
  /** Sent in buckets with versioning (enabled or suspended), as S3 sends it. */
  versionId?: string;
}

/** What a delete tells its event. */
export interface DeletedObject {
  deletionType: 'Permanently Deleted' | 'Delete Marker Created';
  versionId?: string;
}

/** What a tagging change tells its event: the version whose tag set changed. */
export interface TaggedObject {
  etag: string;
  /** Sent in buckets with versioning, as for the other object events. */
  versionId?: string;
}

export interface S3EventSource {
  emitCreated(bucket: string, key: string, reason: string, object: CreatedObject): void;
  emitDeleted(bucket: string, key: string, reason: string, object: DeletedObject): void;
  /**
   * "Object Tags Added" (PutObjectTagging) or "Object Tags Deleted" (DeleteObjectTagging): the detail has
   * the object's key, ETag and version id, and no size, sequencer or reason
   * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/EventBridge.html,
   * https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html).
   */
  emitTagging(
    detailType: 'Object Tags Added' | 'Object Tags Deleted',
    bucket: string,
    key: string,
    object: TaggedObject,
  ): void;
}

/**
 * Turns the sandbox's S3 writes into EventBridge-shaped "Object Created" / "Object Deleted" events, as S3
 * sends them (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html): encoded keys, the
 * version id in versioned buckets, sequencers that grow with every write, the request's reason, and the
 * deletion type. Each write emits in the same step in which it takes effect, so its event carries its own
 * ETag and events' sequencers follow the order of the writes.
 */
export function createS3EventSource(options: {
  account: string;
  regionOf: (bucket: string) => string;
  onEvent: (event: S3Event) => void;
}): S3EventSource {
  let sequence = 0n;

  /** S3 sequencers grow per key with each write; one strictly increasing clock over all keys keeps that true. */
  const nextSequencer = () => {
    const now = BigInt(Date.now()) * 1000n;
    sequence = now > sequence ? now : sequence + 1n;
    return sequence.toString(16).toUpperCase().padStart(18, '0');
  };

  const emit = (
    detailType: S3Event['detail-type'],
    bucket: string,
    key: string,
    object: Record<string, unknown>,
    extra: Record<string, unknown>,
    sequenced = true,
  ) => {
    options.onEvent({
      version: '0',
      id: randomUUID(),
      'detail-type': detailType,
      source: 'aws.s3',
      account: options.account,
      time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: options.regionOf(bucket),
      resources: [`arn:aws:s3:::${bucket}`],
      detail: {
        version: '0',
        bucket: { name: bucket },
        object: { key: encodeEventKey(key), ...object, ...(sequenced ? { sequencer: nextSequencer() } : {}) },
        'request-id': randomUUID().replaceAll('-', '').slice(0, 16).toUpperCase(),
        requester: options.account,
        'source-ip-address': '127.0.0.1',
        ...extra,
      },
    });
  };

  return {
    emitCreated(bucket, key, reason, { size, etag, versionId }) {
      emit(
        'Object Created',
        bucket,
        key,
        { size, etag, ...(versionId ? { 'version-id': versionId } : {}) },
        { reason },
      );
    },
    emitDeleted(bucket, key, reason, { deletionType, versionId }) {
      emit('Object Deleted', bucket, key, versionId ? { 'version-id': versionId } : {}, {
        reason,
        'deletion-type': deletionType,
      });
    },
    emitTagging(detailType, bucket, key, { etag, versionId }) {
      // S3 orders only object writes and deletes by sequencer; tagging events carry none.
      emit(detailType, bucket, key, { etag, ...(versionId ? { 'version-id': versionId } : {}) }, {}, false);
    },
  };
}
