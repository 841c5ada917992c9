import { S3EventNotificationEventBridgeSchema } from '@aws-lambda-powertools/parser/schemas/s3';
import { z } from 'zod';
import { region } from '#rules/schema';
import { decodeEventKey } from './keys.ts';
import { MAX_ETAG_CHARS } from './markers.ts';

/**
 * S3 "Object Created" / "Object Deleted" events as EventBridge delivers them, extended from the
 * Powertools schema: the detail-type is pinned, and the key is decoded (an undecodable key is an issue at
 * `detail.object.key`, so the parse error names the field). Fields Ferry acts on are checked as far as S3
 * itself bounds them, because each goes into a request header or a replica's metadata:
 * - a Region, a bucket name, a non-empty key of at most 1024 bytes;
 * - an ETag as S3 writes it (hex MD5, `-N` for multipart, possibly quoted), never `*` (it would turn
 *   `If-Match` into "any version") nor anything with spaces, commas or control characters (CR/LF would
 *   inject a header; a comma makes `If-Match` a list);
 * - a hexadecimal sequencer of at most 32 digits (S3's are 16–18; one that is not hexadecimal, or longer,
 *   would outrank every real one when replicas are compared, and it is stored in the replica's metadata);
 * - a non-empty version id (S3 sends none for unversioned buckets, never an empty one).
 */
const MAX_KEY_BYTES = 1024;
/** S3 sequencers seen are 16–18 hex digits; twice the room of a 64-bit value is ample slack. */
export const MAX_SEQUENCER_DIGITS = 32;

/** The key as the event writes it: present, decodable and within S3's 1024 bytes once decoded. */
const eventKey = z.string().superRefine((encoded, ctx) => {
  if (encoded.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'expected an object key (S3 keys are never empty)' });
    return;
  }
  let key: string;
  try {
    key = decodeEventKey(encoded);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
    return;
  }
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) {
    ctx.addIssue({
      code: 'custom',
      message: `expected a key of at most ${MAX_KEY_BYTES} bytes (the S3 limit)`,
    });
  }
});

/**
 * An opaque entity tag of S3 or a compatible store: hex MD5 with an optional `-N` is what S3 writes; other
 * stores use letters, digits and a few URL-safe signs. Optionally in double quotes, as in an ETag header.
 */
const ETAG_CHARS = `[0-9A-Za-z][0-9A-Za-z._:+/=-]{0,${MAX_ETAG_CHARS - 1}}`;
const ETAG = new RegExp(`^(?:"${ETAG_CHARS}"|${ETAG_CHARS})$`);
const etag = z
  .string()
  .regex(
    ETAG,
    'expected an S3 ETag (hexadecimal MD5, optionally "-N", optionally quoted): not "*", and without spaces, commas, quotes inside or control characters',
  );

const Detail = S3EventNotificationEventBridgeSchema.shape.detail;
const ObjectShape = Detail.shape.object;

const S3Event = S3EventNotificationEventBridgeSchema.extend({ source: z.literal('aws.s3'), region });
const bucket = z.object({ name: z.string().min(1, 'expected a bucket name') });
const sequencer = z
  .string()
  .regex(/^[0-9A-Fa-f]+$/, 'expected an S3 sequencer (hexadecimal digits)')
  .max(MAX_SEQUENCER_DIGITS, `expected an S3 sequencer of at most ${MAX_SEQUENCER_DIGITS} hexadecimal digits`)
  .optional();
const versionId = z
  .string()
  .min(1, 'expected a version id (S3 sends none for an unversioned bucket, never an empty one)')
  .max(1024, 'expected a version id of at most 1024 characters')
  .regex(/^[\x21-\x7e]*$/, 'expected a version id of printable characters without spaces')
  .optional();

/**
 * The key decoded (what rules and copies work on), and the key as the event wrote it (`event-key`), kept
 * because the event's encoding is ambiguous where a key has a literal `+` (see `keys.ts`).
 */
const withDecodedKey = <T extends { key: string }>(object: T) => ({
  ...object,
  key: decodeEventKey(object.key),
  'event-key': object.key,
});

export const ObjectCreatedEventSchema = S3Event.extend({
  'detail-type': z.literal('Object Created'),
  detail: Detail.extend({
    bucket,
    object: ObjectShape.extend({
      key: eventKey,
      size: z.number().int().nonnegative(),
      etag,
      'version-id': versionId,
      sequencer,
    }).transform(withDecodedKey),
  }),
});

export const ObjectDeletedEventSchema = S3Event.extend({
  'detail-type': z.literal('Object Deleted'),
  detail: Detail.extend({
    bucket,
    object: ObjectShape.extend({ key: eventKey, 'version-id': versionId, sequencer }).transform(
      withDecodedKey,
    ),
  }),
});

/**
 * S3 "Object Tags Added" (PutObjectTagging, or a PutObject/CopyObject with tags on an existing object) and
 * "Object Tags Deleted" (DeleteObjectTagging): the detail names the object by key, ETag and, in a versioned
 * bucket, the version whose tag set changed; it carries no size, no sequencer and not the tags
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/EventBridge.html,
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html).
 */
export const ObjectTagsChangedEventSchema = S3Event.extend({
  'detail-type': z.enum(['Object Tags Added', 'Object Tags Deleted']),
  detail: Detail.extend({
    bucket,
    object: ObjectShape.extend({ key: eventKey, etag, 'version-id': versionId }).transform(withDecodedKey),
  }),
});

export type ObjectCreatedEvent = z.infer<typeof ObjectCreatedEventSchema>;
export type ObjectTagsChangedEvent = z.infer<typeof ObjectTagsChangedEventSchema>;
export type ObjectDeletedEvent = z.infer<typeof ObjectDeletedEventSchema>;

/**
 * The facts about a source object that routing and copying need, independent of the event's shape. A
 * schema because it also travels in an object-copy execution's input, which each step parses back.
 */
export const SourceObjectSchema = z.object({
  bucket: z.string(),
  key: z.string(),
  region: z.string(),
  account: z.string(),
  size: z.number().int().nonnegative(),
  etag: z.string(),
  versionId: z.string().optional(),
  sequencer: z.string().optional(),
  eventTime: z.string(),
  /**
   * The key exactly as the event wrote it, when that differs from the decoded `key`: a store that sends
   * raw keys makes `a+b.txt` mean a literal plus. Tried once when the decoded key is not found.
   */
  eventKey: z.string().optional(),
  /** Reads of the source pay as requester (a rule on its bucket opted in with `requesterPays: true`). */
  requesterPays: z.boolean().optional(),
});

export type SourceObject = z.infer<typeof SourceObjectSchema>;

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
    ...(object['event-key'] !== object.key ? { eventKey: object['event-key'] } : {}),
  };
}
