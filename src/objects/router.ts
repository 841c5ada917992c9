import { INDEX_MIN_RULES } from '#rules/region-tag-index';
import type { ObjectDestination, ObjectRule } from '#rules/schema';
import { isOutranked } from '#rules/shared-replicas';
import { type Tags, tagsMatch } from '#rules/tags';
import { TagsRequiredError } from './errors.ts';

// Objects' modules name the tag map type from here.
export type { Tags };
export { INDEX_MIN_RULES };

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

/** The replica's key: the rule's matched prefix is replaced by the destination's keyPrefix, if any. */
export function destinationKeyOf(rule: ObjectRule, destination: ObjectDestination, key: string): string {
  return destination.keyPrefix === undefined
    ? key
    : destination.keyPrefix + key.slice(rule.objects.prefix.length);
}

/** Whether an object passes a rule's bucket, prefix, suffix and size filters (tags are checked later). */
function passesFilter({ objects: filter }: ObjectRule, object: ObjectFacts): boolean {
  if (filter.bucket !== object.bucket) return false;
  if (!object.key.startsWith(filter.prefix)) return false;
  if (filter.suffix !== undefined && !object.key.endsWith(filter.suffix)) return false;
  if (object.size !== undefined) {
    if (filter.minSize !== undefined && object.size < filter.minSize) return false;
    if (filter.maxSize !== undefined && object.size > filter.maxSize) return false;
  }
  return true;
}

/** The definition of routing: every rule in turn, in file order. `candidateRules` must equal it. */
export function scanCandidateRules(rules: readonly ObjectRule[], object: ObjectFacts): ObjectRule[] {
  return rules.filter((rule) => passesFilter(rule, object));
}

/** The rules of one source bucket by prefix, each list in file order; and the prefixes' lengths, ascending. */
interface BucketRules {
  byPrefix: Map<string, number[]>;
  prefixLengths: number[];
}

/**
 * The rules indexed by source bucket, then by prefix: an object's candidates are looked up once per distinct
 * prefix length of its bucket's rules (at most one prefix of each length can start its key), instead of
 * testing every rule. The suffix and size filters are then applied to those few. Same result, same order,
 * as `scanCandidateRules` (test/unit/objects/router-index.test.ts checks it on random rule sets).
 */
export class ObjectRuleIndex {
  private readonly buckets = new Map<string, BucketRules>();

  constructor(readonly rules: readonly ObjectRule[]) {
    rules.forEach(({ objects: { bucket, prefix } }, position) => {
      let entry = this.buckets.get(bucket);
      if (!entry) {
        entry = { byPrefix: new Map(), prefixLengths: [] };
        this.buckets.set(bucket, entry);
      }
      const positions = entry.byPrefix.get(prefix);
      if (positions) positions.push(position);
      else {
        entry.byPrefix.set(prefix, [position]);
        if (!entry.prefixLengths.includes(prefix.length)) entry.prefixLengths.push(prefix.length);
      }
    });
    for (const entry of this.buckets.values()) entry.prefixLengths.sort((a, b) => a - b);
  }

  candidates(object: ObjectFacts): ObjectRule[] {
    const entry = this.buckets.get(object.bucket);
    if (!entry) return [];
    let found: number[] | undefined;
    let merged = false;
    for (const length of entry.prefixLengths) {
      if (length > object.key.length) break;
      const positions = entry.byPrefix.get(object.key.slice(0, length));
      if (!positions) continue;
      if (!found) found = positions;
      else {
        found = merged ? found.concat(positions) : [...found, ...positions];
        merged = true;
      }
    }
    if (!found) return [];
    // Lists of several prefixes interleave in the file: back to file order.
    if (merged) found.sort((a, b) => a - b);
    const candidates: ObjectRule[] = [];
    for (const position of found) {
      const rule = this.rules[position] as ObjectRule;
      if (passesFilter(rule, object)) candidates.push(rule);
    }
    return candidates;
  }
}

/**
 * Indexes by rule list. A handler routes with the same list (its deps.rules) for the life of the Lambda
 * container, so the index is built on the first event and reused; lists are read-only (`readonly`).
 */
const indexes = new WeakMap<readonly ObjectRule[], ObjectRuleIndex>();

/** The index of a rule list, built once per list. */
export function objectRuleIndexOf(rules: readonly ObjectRule[]): ObjectRuleIndex {
  let index = indexes.get(rules);
  // A list that changed length since was edited in place, against its type: index it again.
  if (!index || index.rules.length !== rules.length) {
    index = new ObjectRuleIndex([...rules]);
    indexes.set(rules, index);
  }
  return index;
}

/** Rules whose bucket, prefix, suffix and size filters the object passes (tags are checked later), in file order. */
export function candidateRules(rules: readonly ObjectRule[], object: ObjectFacts): ObjectRule[] {
  return rules.length < INDEX_MIN_RULES
    ? scanCandidateRules(rules, object)
    : objectRuleIndexOf(rules).candidates(object);
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
    return rule.to.flatMap((destination, destinationIndex) =>
      ownPlan(rule, destination, destinationIndex, object),
    );
  });
}

/**
 * The plan of one destination, unless a rule of higher priority owns the replica key there (replica spaces
 * may overlap only between rules ordered by priority: #rules/shared-replicas): one key, one writer.
 */
function ownPlan(
  rule: ObjectRule,
  destination: ObjectDestination,
  destinationIndex: number,
  object: { key: string },
): CopyPlan[] {
  const destinationKey = destinationKeyOf(rule, destination, object.key);
  return isOutranked(rule, destinationIndex, destination.bucket, destinationKey)
    ? []
    : [{ rule, destination, destinationIndex, destinationKey }];
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
      destination.replicateDeletes ? ownPlan(rule, destination, destinationIndex, object) : [],
    ),
  );
}
