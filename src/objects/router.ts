import type { ObjectDestination, ObjectRule } from '#rules/schema';
import { type Tags, tagsMatch } from '#rules/tags';

// Objects' modules name the tag map type from here.
export type { Tags };

/** One copy to make: which rule asked for it, where it goes, and under which key. */
export interface CopyPlan {
  rule: ObjectRule;
  destination: ObjectDestination;
  destinationIndex: number;
  destinationKey: string;
}

interface ObjectFacts {
  bucket: string;
  key: string;
  size?: number;
}

export class TagsRequiredError extends Error {
  constructor(rule: string) {
    super(`rule "${rule}" filters on tags, but the object's tags were not given to the router`);
    this.name = 'TagsRequiredError';
  }
}

/** The replica's key: the rule's matched prefix is replaced by the destination's keyPrefix, if any. */
export function destinationKeyOf(rule: ObjectRule, destination: ObjectDestination, key: string): string {
  return destination.keyPrefix === undefined
    ? key
    : destination.keyPrefix + key.slice(rule.objects.prefix.length);
}

/** Rules whose bucket, prefix, suffix and size filters the object passes (tags are checked later). */
export function candidateRules(rules: readonly ObjectRule[], object: ObjectFacts): ObjectRule[] {
  return rules.filter(({ objects: filter }) => {
    if (filter.bucket !== object.bucket) return false;
    if (!object.key.startsWith(filter.prefix)) return false;
    if (filter.suffix !== undefined && !object.key.endsWith(filter.suffix)) return false;
    if (object.size !== undefined) {
      if (filter.minSize !== undefined && object.size < filter.minSize) return false;
      if (filter.maxSize !== undefined && object.size > filter.maxSize) return false;
    }
    return true;
  });
}

export const filtersOnTags = (rule: ObjectRule): boolean => Object.keys(rule.objects.tags ?? {}).length > 0;

/**
 * The pure router: rules + object (+ its tags, only needed when a candidate rule filters on them) → the
 * copies to make, one per matching rule and destination.
 */
export function planCopies(rules: readonly ObjectRule[], object: ObjectFacts, tags?: Tags): CopyPlan[] {
  return candidateRules(rules, object).flatMap((rule) => {
    if (filtersOnTags(rule)) {
      if (tags === undefined) throw new TagsRequiredError(rule.name);
      if (!tagsMatch(rule.objects.tags, tags)) return [];
    }
    return rule.to.map((destination, destinationIndex) => ({
      rule,
      destination,
      destinationIndex,
      destinationKey: destinationKeyOf(rule, destination, object.key),
    }));
  });
}

/**
 * Replicas to delete when a source object is deleted: destinations with `replicateDeletes`. Size and tags
 * are gone with the object, so only bucket/prefix/suffix route; the replica's markers decide the rest.
 */
export function planDeletes(
  rules: readonly ObjectRule[],
  object: { bucket: string; key: string },
): CopyPlan[] {
  return candidateRules(rules, object).flatMap((rule) =>
    rule.to.flatMap((destination, destinationIndex) =>
      destination.replicateDeletes
        ? [
            {
              rule,
              destination,
              destinationIndex,
              destinationKey: destinationKeyOf(rule, destination, object.key),
            },
          ]
        : [],
    ),
  );
}
