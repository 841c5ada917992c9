import { Ec2TagTooLongError, ReservedTagKeyError, TooManyEc2TagsError } from './errors.ts';
import { MARKER } from './markers.ts';

/**
 * EC2's tag restrictions (EC2 user guide, "Tag your Amazon EC2 resources", Tag restrictions): at most 50 user
 * tags per resource, keys of at most 127 Unicode characters, values of at most 255, and no key starting with
 * `aws:` (any letter case). EC2 refuses a CopySnapshot, CopyImage or CreateTags that breaks one of them, so
 * Ferry checks the tags it would write before it asks, and fails that copy with a named cause instead.
 * The API reference's `Tag` type says 256 for values; Ferry keeps the user guide's 255, the stricter.
 */
export const EC2_TAG_LIMITS = { perResource: 50, keyChars: 127, valueChars: 255 } as const;

/**
 * How many tags a destination's `tags` may hold: what Ferry's markers leave of the 50. Configuration
 * validation can refuse more up front; at run time more fails the copy with `TooManyTags`.
 */
export const MAX_DESTINATION_TAGS = EC2_TAG_LIMITS.perResource - Object.keys(MARKER).length;

/** Unicode characters (code points), as EC2 counts them. */
export const tagChars = (text: string): number => [...text].length;

export const isAwsTagKey = (key: string): boolean => key.toLowerCase().startsWith('aws:');

/** Throws the named error for the first tag EC2 would refuse, or for more than 50 tags. */
export function checkTags(tags: Readonly<Record<string, string>>, what: string): void {
  for (const [key, value] of Object.entries(tags)) {
    const problem = tagProblem(key, value);
    if (problem) {
      problem.message = `${what}: ${problem.message}`;
      throw problem;
    }
  }
  const count = Object.keys(tags).filter((key) => !isAwsTagKey(key)).length;
  if (count > EC2_TAG_LIMITS.perResource) {
    throw new TooManyEc2TagsError(
      `${what}: ${count} tags, EC2 allows ${EC2_TAG_LIMITS.perResource} per snapshot or image`,
    );
  }
}

/** The error EC2's refusal of this one tag stands for, or undefined when EC2 would take it. */
export function tagProblem(key: string, value: string): Ec2TagTooLongError | ReservedTagKeyError | undefined {
  if (isAwsTagKey(key))
    return new ReservedTagKeyError(`the tag key "${key}" is in AWS's reserved aws: namespace`);
  if (key.length === 0) return new Ec2TagTooLongError('a tag key may not be empty');
  const keyChars = tagChars(key);
  if (keyChars > EC2_TAG_LIMITS.keyChars) {
    return new Ec2TagTooLongError(
      `the tag key "${[...key].slice(0, 40).join('')}…" has ${keyChars} characters (EC2 allows ${EC2_TAG_LIMITS.keyChars})`,
    );
  }
  const valueChars = tagChars(value);
  if (valueChars > EC2_TAG_LIMITS.valueChars) {
    return new Ec2TagTooLongError(
      `the value of tag "${key}" has ${valueChars} characters (EC2 allows ${EC2_TAG_LIMITS.valueChars})`,
    );
  }
  return undefined;
}
