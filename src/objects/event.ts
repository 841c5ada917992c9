import { S3EventNotificationEventBridgeSchema } from '@aws-lambda-powertools/parser/schemas/s3';
import { z } from 'zod';
import { decodeEventKey } from './keys.ts';

/**
 * S3 "Object Created" / "Object Deleted" events as EventBridge delivers them, extended from the
 * Powertools schema: the detail-type is pinned, and the key is decoded (an undecodable key is an issue at
 * `detail.object.key`, so the parse error names the field).
 */
const decodedKey = z.string().transform((encoded, ctx) => {
  try {
    return decodeEventKey(encoded);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});

const Detail = S3EventNotificationEventBridgeSchema.shape.detail;
const ObjectShape = Detail.shape.object;

export const ObjectCreatedEventSchema = S3EventNotificationEventBridgeSchema.extend({
  source: z.literal('aws.s3'),
  'detail-type': z.literal('Object Created'),
  detail: Detail.extend({
    object: ObjectShape.extend({
      key: decodedKey,
      size: z.number().int().nonnegative(),
      etag: z.string().min(1),
    }),
  }),
});

export const ObjectDeletedEventSchema = S3EventNotificationEventBridgeSchema.extend({
  source: z.literal('aws.s3'),
  'detail-type': z.literal('Object Deleted'),
  detail: Detail.extend({ object: ObjectShape.extend({ key: decodedKey }) }),
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
