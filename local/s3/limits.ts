import { s3Error } from './wire.ts';

/**
 * S3's limits on keys, metadata, tags and sizes, answered with S3's status and code:
 * - keys: https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html (1,024 bytes of UTF-8);
 * - metadata: https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingMetadata.html (2 KB of user
 *   metadata, the UTF-8 bytes of each key and value);
 * - tags: https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-tagging.html (10 per object, keys
 *   of 128 and values of 256 Unicode characters of AWS's tag character set, unique keys, no `aws:` prefix);
 * - sizes: https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html (5 GiB per PUT and per copy
 *   source, parts of 5 MiB to 5 GiB but the last, part numbers 1 to 10,000).
 */

export const MAX_KEY_BYTES = 1024;
export const MAX_METADATA_BYTES = 2 * 1024;
export const MAX_TAGS = 10;
export const MAX_TAG_KEY_CHARS = 128;
export const MAX_TAG_VALUE_CHARS = 256;
export const MAX_SINGLE_PUT_BYTES = 5 * 1024 ** 3;
export const MIN_PART_BYTES = 5 * 1024 ** 2;
export const MAX_PART_NUMBER = 10_000;

export function checkKey(key: string): void {
  const size = Buffer.byteLength(key, 'utf8');
  if (size > MAX_KEY_BYTES) {
    throw s3Error(400, 'KeyTooLongError', 'Your key is too long', {
      extra: { Size: String(size), MaxSizeAllowed: String(MAX_KEY_BYTES) },
    });
  }
}

export function checkMetadata(metadata: Readonly<Record<string, string>>): void {
  const size = Object.entries(metadata).reduce(
    (sum, [name, value]) => sum + Buffer.byteLength(name, 'utf8') + Buffer.byteLength(value, 'utf8'),
    0,
  );
  if (size > MAX_METADATA_BYTES) {
    throw s3Error(400, 'MetadataTooLarge', 'Your metadata headers exceed the maximum allowed metadata size', {
      extra: { Size: String(size), MaxSizeAllowed: String(MAX_METADATA_BYTES) },
    });
  }
}

const characters = (text: string) => [...text].length;

/** Letters, numbers and spaces in any script, and `_ . : / = + - @` (the tag character set AWS documents). */
const TAG_CHARACTERS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

export function checkTags(tags: readonly (readonly [string, string])[]): void {
  if (tags.length > MAX_TAGS) throw s3Error(400, 'BadRequest', 'Object tags cannot be greater than 10');
  const seen = new Set<string>();
  for (const [key, value] of tags) {
    if (key.length === 0) throw s3Error(400, 'InvalidTag', 'The TagKey you have provided is invalid');
    if (characters(key) > MAX_TAG_KEY_CHARS) {
      throw s3Error(400, 'InvalidTag', 'The TagKey you have provided is too long, max 128', {
        extra: { TagKey: key },
      });
    }
    if (characters(value) > MAX_TAG_VALUE_CHARS) {
      throw s3Error(400, 'InvalidTag', 'The TagValue you have provided is too long, max 256', {
        extra: { TagKey: key, TagValue: value },
      });
    }
    if (!TAG_CHARACTERS.test(key)) {
      throw s3Error(400, 'InvalidTag', 'The TagKey you have provided is invalid', { extra: { TagKey: key } });
    }
    if (!TAG_CHARACTERS.test(value)) {
      throw s3Error(400, 'InvalidTag', 'The TagValue you have provided is invalid', {
        extra: { TagKey: key, TagValue: value },
      });
    }
    if (key.toLowerCase().startsWith('aws:')) {
      throw s3Error(400, 'InvalidTag', 'Your TagKey cannot be prefixed with aws:', {
        extra: { TagKey: key },
      });
    }
    if (seen.has(key)) throw s3Error(400, 'InvalidTag', 'Cannot provide multiple Tags with the same key');
    seen.add(key);
  }
}

/** The `x-amz-tagging` header (a URL query string), checked against the tag limits. */
export function tagsOfHeader(header: string | undefined): [string, string][] {
  const tags = [...new URLSearchParams(header ?? '')];
  checkTags(tags);
  return tags;
}

export function checkPutSize(size: number): void {
  if (size > MAX_SINGLE_PUT_BYTES) {
    throw s3Error(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size', {
      extra: { ProposedSize: String(size), MaxSizeAllowed: String(MAX_SINGLE_PUT_BYTES) },
    });
  }
}

export function checkCopySourceSize(size: number): void {
  if (size > MAX_SINGLE_PUT_BYTES) {
    throw s3Error(
      400,
      'InvalidRequest',
      `The specified copy source is larger than the maximum allowable size for a copy source: ${MAX_SINGLE_PUT_BYTES}`,
    );
  }
}

export function checkPartNumber(text: string | null): number {
  const partNumber = Number(text);
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > MAX_PART_NUMBER) {
    throw s3Error(400, 'InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive', {
      extra: { ArgumentName: 'partNumber', ArgumentValue: String(text) },
    });
  }
  return partNumber;
}

/** `max-keys`, `max-uploads`, `max-parts`: at most 1,000 per page, whatever is asked. */
export function pageSize(text: string | null, name: string): number {
  if (text === null) return 1000;
  const size = Number(text);
  if (!Number.isInteger(size) || size < 0) {
    throw s3Error(400, 'InvalidArgument', `Provided ${name} not an integer or within integer range`, {
      extra: { ArgumentName: name, ArgumentValue: text },
    });
  }
  return Math.min(size, 1000);
}
