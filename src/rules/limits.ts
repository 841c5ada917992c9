import { MARKER } from '#ec2/markers';
import { MARKER_KEYS, MAX_ETAG_CHARS, markersFor } from '#objects/markers';

/**
 * The limits S3 and EC2 put on what Ferry writes, as far as the configuration alone decides them. Checked at
 * validation so that a rule that would make S3 or EC2 refuse its copies never deploys (the run-time checks,
 * per object, are the copy paths').
 *
 * S3: user metadata 2 KB, the UTF-8 bytes of every key and value
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingMetadata.html, "User-defined object metadata");
 * 10 tags per object, keys of up to 128 and values of up to 256 Unicode characters
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-tagging.html); keys of up to 1,024 bytes of
 * UTF-8 (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html).
 * EC2: 50 tags per resource, keys of up to 127 and values of up to 255 Unicode characters, `aws:` reserved
 * (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/Using_Tags.html, "Tag restrictions").
 */

export const MAX_KEY_BYTES = 1024;
export const MAX_METADATA_BYTES = 2048;

export interface TagLimits {
  /** Who stores the tags, for messages: "S3 object", "EC2". */
  service: string;
  maxTags: number;
  maxKeyChars: number;
  maxValueChars: number;
}

export const S3_OBJECT_TAG_LIMITS: TagLimits = {
  service: 'S3 object',
  maxTags: 10,
  maxKeyChars: 128,
  maxValueChars: 256,
};
export const EC2_TAG_LIMITS: TagLimits = {
  service: 'EC2',
  maxTags: 50,
  maxKeyChars: 127,
  maxValueChars: 255,
};

/** The tags Ferry puts on every EC2 copy (src/ec2/markers.ts): they count toward the copy's 50. */
export const EC2_MARKER_TAGS = Object.keys(MARKER).length;

export const utf8Bytes = (text: string): number => Buffer.byteLength(text, 'utf8');
/** Length in Unicode characters (code points), the unit S3 and EC2 count tag keys and values in. */
export const unicodeLength = (text: string): number => [...text].length;

/** The size S3 counts for user metadata: the UTF-8 bytes of every key and every value. */
export const metadataBytes = (metadata: Readonly<Record<string, string>>): number =>
  Object.entries(metadata).reduce((sum, [key, value]) => sum + utf8Bytes(key) + utf8Bytes(value), 0);

/** S3: "Version IDs are Unicode, UTF-8 encoded, URL-ready, opaque strings that are no more than 1,024 bytes long." */
const MAX_VERSION_ID_BYTES = 1024;
/**
 * S3 documents no length for an event's sequencer; it emits 16–20 hexadecimal digits. 64 leaves room to grow,
 * and is the bound the worst case below assumes.
 */
export const MAX_SEQUENCER_CHARS = 64;

/** The source key whose marker is longest, found once. */
let largestKeyMarker: string | undefined;

/** The metadata bytes of the markers of an ASCII key of this length, all else empty. */
const markerBytesOfKeyLength = (length: number): number =>
  metadataBytes(
    markersFor({ bucket: '', key: 'k'.repeat(length), versionId: undefined, sequencer: undefined, rule: '' }),
  );

/**
 * The marker holds an ASCII key as written up to some length, and a digest of fixed length beyond it, so the
 * longest marker is the one of the longest key still written out, or of the next (the first digested): a
 * binary search for that length, then two candidates, where trying all 1,024 lengths digested 512 keys and
 * took 12–23 ms of every object function's init. test/unit/rules/limits.test.ts checks the result against
 * every length, so a change to the markers that breaks this shape fails there.
 */
function keyWithLargestMarker(): string {
  if (largestKeyMarker === undefined) {
    const writtenOut = (length: number) =>
      markersFor({ bucket: '', key: 'k'.repeat(length), rule: '' })[MARKER_KEYS.sourceKey] ===
      'k'.repeat(length);
    let low = 0;
    let high = MAX_KEY_BYTES;
    while (low < high) {
      const middle = Math.ceil((low + high) / 2);
      if (writtenOut(middle)) low = middle;
      else high = middle - 1;
    }
    const candidates = [low, low + 1].filter((length) => length >= 1 && length <= MAX_KEY_BYTES);
    // The shorter on a tie, as a scan from 1 up keeps the first largest.
    const longest = candidates.reduce((best, length) =>
      markerBytesOfKeyLength(length) > markerBytesOfKeyLength(best) ? length : best,
    );
    largestKeyMarker = 'k'.repeat(longest);
  }
  return largestKeyMarker;
}

/**
 * The most user metadata Ferry's replica markers (src/objects/markers.ts) can take on a replica of this rule:
 * its bucket and name as they are, the key, version id, sequencer and source ETag at their largest. Computed through
 * `markersFor` itself, so a change to the markers changes this bound with it. The key's marker is longest
 * for some ASCII key of at most 1,024 bytes (the marker either percent-encodes the key or digests it).
 */
export function worstCaseMarkerBytes(source: { bucket: string; rule: string }): number {
  return metadataBytes(
    markersFor({
      bucket: source.bucket,
      key: keyWithLargestMarker(),
      versionId: 'v'.repeat(MAX_VERSION_ID_BYTES),
      sequencer: 'f'.repeat(MAX_SEQUENCER_CHARS),
      etag: 'e'.repeat(MAX_ETAG_CHARS),
      rule: source.rule,
    }),
  );
}
