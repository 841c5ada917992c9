import { S3EventNotificationEventBridgeSchema } from '@aws-lambda-powertools/parser/schemas/s3';
import { z } from 'zod';
import { region } from '#rules/schema';
import { decodeEventKey } from './keys.ts';

/**
 * S3 "Object Created" / "Object Deleted" events as EventBridge delivers them, extended from the
 * Powertools schema: the detail-type is pinned, and the key is decoded (an undecodable key is an issue at
 * `detail.object.key`, so the parse error names the field). Fields Ferry acts on are checked as far as S3
 * itself bounds them: a Region, a bucket name, a key of at most 1024 bytes, a hexadecimal sequencer (one
 * that is not would outrank every real one when replicas are compared).
 */
const MAX_KEY_BYTES = 1024;

const decodedKey = z.string().transform((encoded, ctx) => {
  let key: string;
  try {
    key = decodeEventKey(encoded);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) {
    ctx.addIssue({
      code: 'custom',
      message: `expected a key of at most ${MAX_KEY_BYTES} bytes (the S3 limit)`,
    });
    return z.NEVER;
  }
  return key;
});

const Detail = S3EventNotificationEventBridgeSchema.shape.detail;
const ObjectShape = Detail.shape.object;

const S3Event = S3EventNotificationEventBridgeSchema.extend({ source: z.literal('aws.s3'), region });
const bucket = z.object({ name: z.string().min(1, 'expected a bucket name') });
const sequencer = z
  .string()
  .regex(/^[0-9A-Fa-f]+$/, 'expected an S3 sequencer (hexadecimal digits)')
  .optional();

export const ObjectCreatedEventSchema = S3Event.extend({
  'detail-type': z.literal('Object Created'),
  detail: Detail.extend({
    bucket,
    object: ObjectShape.extend({
      key: decodedKey,
      size: z.number().int().nonnegative(),
      etag: z.string().min(1),
      sequencer,
    }),
  }),
});

export const ObjectDeletedEventSchema = S3Event.extend({
  'detail-type': z.literal('Object Deleted'),
  detail: Detail.extend({ bucket, object: ObjectShape.extend({ key: decodedKey, sequencer }) }),
});

export type ObjectCreatedEvent = z.infer<typeof ObjectCreatedEventSchema>;
export type ObjectDeletedEvent = z.infer<typeof ObjectDeletedEventSchema>;

/** The facts about a source object that routing and copying need, independent of the event's shape. */
export interface SourceObject {
  bucket: string;
  key: string;
  region: string;
  account: string;
  size: number;
  etag: string;
  versionId: string | undefined;
  sequencer: string | undefined;
  eventTime: string;
}

export function sourceObjectOf(event: ObjectCreatedEvent): SourceObject {
  const { bucket, object } = event.detail;
  return {
    bucket: bucket.name,
    key: object.key,
    region: event.region,
    account: event.account,
    size: object.size,
    etag: object.etag,
    versionId: object['version-id'],
    sequencer: object.sequencer,
    eventTime: event.time,
  };
}
