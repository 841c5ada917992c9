import { Ec2Error } from './errors.ts';

/**
 * EC2's tag restrictions, as the EC2 user guide lists them ("Tag your Amazon EC2 resources", Tag
 * restrictions): at most 50 user tags per resource, keys of at most 127 Unicode characters, values of at
 * most 255, and no key starting with `aws:` in any letter case (that prefix is AWS's own, and AWS's tags do
 * not count against the 50). The API reference's `Tag` type says 256 for values; the fake keeps the user
 * guide's 255, the stricter of the two, so nothing that passes here can be refused by EC2.
 * Ferry checks the same limits before it writes (src/ec2/tag-limits.ts); the fake keeps its own statement of
 * them on purpose, as AWS's side of the wire, so a mistake in Ferry's cannot be hidden by the sandbox agreeing.
 */
export const EC2_TAG_LIMITS = { perResource: 50, keyChars: 127, valueChars: 255 } as const;

/** Unicode characters (code points), as EC2 counts them, not UTF-16 units or bytes. */
const charsOf = (text: string): number => [...text].length;

const isAwsKey = (key: string): boolean => key.toLowerCase().startsWith('aws:');

/** One tag as a request gives it: EC2 answers `InvalidParameterValue`, naming the key. */
export function checkTag(key: string, value: string): void {
  if (isAwsKey(key)) {
    throw new Ec2Error(
      'InvalidParameterValue',
      `Value ( ${key} ) for parameter key is invalid. Tag keys starting with 'aws:' are reserved for internal use`,
    );
  }
  if (charsOf(key) > EC2_TAG_LIMITS.keyChars) {
    throw new Ec2Error(
      'InvalidParameterValue',
      `Value ( ${key} ) for parameter key is invalid. Tag key exceeds the maximum length of ${EC2_TAG_LIMITS.keyChars} characters`,
    );
  }
  if (charsOf(value) > EC2_TAG_LIMITS.valueChars) {
    throw new Ec2Error(
      'InvalidParameterValue',
      `Value ( ${value} ) for parameter value is invalid. Tag value exceeds the maximum length of ${EC2_TAG_LIMITS.valueChars} characters`,
    );
  }
}

/** The tags a resource would carry, past the limit: EC2 answers `TagLimitExceeded`. */
export function checkTagCount(tags: ReadonlyMap<string, string>, resource = 'the resource'): void {
  const count = [...tags.keys()].filter((key) => !isAwsKey(key)).length;
  if (count > EC2_TAG_LIMITS.perResource) {
    throw new Ec2Error(
      'TagLimitExceeded',
      `The maximum number of tags (${EC2_TAG_LIMITS.perResource}) for ${resource} has been exceeded: it would carry ${count}`,
    );
  }
}

/** Tags added to those a resource has (CreateTags, or tags copied from a source), refused past the limit. */
export function mergedTags(
  existing: Iterable<[string, string]>,
  added: Iterable<[string, string]>,
  resource?: string,
): Map<string, string> {
  const merged = new Map([...existing, ...added]);
  checkTagCount(merged, resource);
  return merged;
}
