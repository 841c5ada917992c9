import type { ObjectDestination, ObjectRule } from './schema.ts';

/**
 * Key spaces: the keys a rule reads in its source bucket, and the keys one of its destinations writes. Both
 * the loop check (a replica read again) and the shared-replica check (two writers of one key) compare them,
 * and the router asks whether a key lies in one, so they are defined once, here.
 *
 * A space is every key with this prefix and, when set, this suffix. Only prefix and suffix ever prove two
 * spaces apart. Size and tag filters do not: two rules with different sources see different objects (a
 * 10-byte object of one bucket and a 10-GB object of another can have the same key), and even one object
 * changes size and tags from version to version.
 */
export interface KeySpace {
  bucket: string;
  prefix: string;
  suffix: string | undefined;
}

export const sourceSpace = (rule: ObjectRule): KeySpace => ({
  bucket: rule.objects.bucket,
  prefix: rule.objects.prefix,
  suffix: rule.objects.suffix,
});

/** Whether a key can both start with `prefix` and end with `suffix` using some of the same characters. */
function prefixAndSuffixCanOverlap(prefix: string, suffix: string): boolean {
  for (let length = 1; length <= Math.min(prefix.length, suffix.length); length++) {
    if (prefix.endsWith(suffix.slice(0, length))) return true;
  }
  return false;
}

/**
 * The keys a destination writes: the replica's key is the source key with the rule's prefix replaced by the
 * destination's keyPrefix (src/objects/router.ts, destinationKeyOf), so it starts with the keyPrefix (or the
 * prefix, when the key is kept) and keeps the source key's end. The suffix carries over whole, except where a
 * source key's prefix and suffix share characters (prefix `a/`, suffix `/b`, key `a/b`): rewritten, such a
 * key keeps only part of the suffix, so then the replica space is taken without one (larger: conservative).
 */
export function replicaSpace(rule: ObjectRule, destination: ObjectDestination): KeySpace {
  const { prefix, suffix } = rule.objects;
  const rewritten = destination.keyPrefix !== undefined && destination.keyPrefix !== prefix;
  const suffixCarries = suffix === undefined || !rewritten || !prefixAndSuffixCanOverlap(prefix, suffix);
  return {
    bucket: destination.bucket,
    prefix: destination.keyPrefix ?? prefix,
    suffix: suffixCarries ? suffix : undefined,
  };
}

/**
 * Whether some key lies in both spaces. Exact for prefix-and-suffix spaces: when the prefixes nest and the
 * suffixes nest, the longer prefix followed by the longer suffix is such a key (`exampleKey`). Bucket names
 * are global (one name, one bucket, whatever account or Region a destination names), so equal names are one
 * bucket.
 */
export function keySpacesOverlap(a: KeySpace, b: KeySpace): boolean {
  if (a.bucket !== b.bucket) return false;
  const prefixesMeet = a.prefix.startsWith(b.prefix) || b.prefix.startsWith(a.prefix);
  const suffixesMeet =
    a.suffix === undefined ||
    b.suffix === undefined ||
    a.suffix.endsWith(b.suffix) ||
    b.suffix.endsWith(a.suffix);
  return prefixesMeet && suffixesMeet;
}

/** A key in both of two overlapping spaces: the longer prefix, a name, the longer suffix. */
export function exampleKey(a: KeySpace, b: KeySpace): string {
  const prefix = a.prefix.length >= b.prefix.length ? a.prefix : b.prefix;
  const suffix = (a.suffix?.length ?? 0) >= (b.suffix?.length ?? 0) ? a.suffix : b.suffix;
  return `${prefix}example${suffix ?? ''}`;
}

export function spaceContains(space: KeySpace, bucket: string, key: string): boolean {
  return (
    space.bucket === bucket &&
    key.startsWith(space.prefix) &&
    (space.suffix === undefined || key.endsWith(space.suffix))
  );
}

export const describeSpace = (space: KeySpace): string =>
  `s3://${space.bucket}/${space.prefix}…${space.suffix ?? ''}`;
