import { randomUUID } from 'node:crypto';
import { encodeEventKey } from '#objects/keys';

export interface S3Event {
  version: '0';
  id: string;
  'detail-type': 'Object Created' | 'Object Deleted';
  source: 'aws.s3';
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
}

/**
 * Turns the sandbox's S3 writes into EventBridge-shaped "Object Created" / "Object Deleted" events, as S3
 * sends them: encoded keys, sequencers that grow with every write, the request's reason.
 */
export function createS3EventSource(options: {
  account: string;
  bucketRegions: Readonly<Record<string, string>>;
  onEvent: (event: S3Event) => void;
  head: (bucket: string, key: string) => Promise<{ etag: string; size: number } | undefined>;
  /** Every write other than a multipart completion makes a recorded part layout stale. */
  forgetLayout: (bucket: string, key: string) => Promise<void>;
}) {
  const { head } = options;
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
  ) => {
    options.onEvent({
      version: '0',
      id: randomUUID(),
      'detail-type': detailType,
      source: 'aws.s3',
      account: options.account,
      time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: options.bucketRegions[bucket] ?? 'us-east-1',
      resources: [`arn:aws:s3:::${bucket}`],
      detail: {
        version: '0',
        bucket: { name: bucket },
        object: { key: encodeEventKey(key), ...object, sequencer: nextSequencer() },
        'request-id': randomUUID().replaceAll('-', '').slice(0, 16).toUpperCase(),
        requester: options.account,
        'source-ip-address': '127.0.0.1',
        ...extra,
      },
    });
  };

  const emitCreated = async (bucket: string, key: string, reason: string) => {
    if (reason !== 'CompleteMultipartUpload') await options.forgetLayout(bucket, key);
    const object = await head(bucket, key);
    if (object) emit('Object Created', bucket, key, { size: object.size, etag: object.etag }, { reason });
  };

  // Unversioned buckets: every delete removes the object for good.
  const emitDeleted = async (bucket: string, key: string, reason: string) => {
    await options.forgetLayout(bucket, key);
    emit('Object Deleted', bucket, key, {}, { reason, 'deletion-type': 'Permanently Deleted' });
  };

  return { emitCreated, emitDeleted };
}
