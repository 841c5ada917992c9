import type { ImageDestination, ImageRule } from '#rules/ec2-schema';
import { INDEX_MIN_RULES, indexOf, type RegionTagIndex } from '#rules/region-tag-index';
import { type Tags, tagsMatch } from '#rules/tags';
import { patternMatches } from '#rules/text-pattern';

/** What routing knows about an AMI: the event's facts plus one DescribeImages. */
export interface ImageFacts {
  imageId: string;
  region: string;
  name: string;
  description?: string;
  encrypted: boolean;
  tags: Tags;
}

/** One copy to make: which rule asked for it and where it goes. */
export interface ImageCopyPlan {
  rule: ImageRule;
  destination: ImageDestination;
  destinationIndex: number;
}

/** The facts a rule's filter reads besides the Region (the event carries only the id and the Region). */
export type ImageFilterFact = 'tags' | 'name' | 'encrypted';

export function imageFactsFilteredBy(rule: ImageRule): ImageFilterFact[] {
  const filter = rule.images;
  const facts: ImageFilterFact[] = [];
  if (Object.keys(filter.tags ?? {}).length > 0) facts.push('tags');
  if (filter.name !== undefined) facts.push('name');
  if (filter.encrypted !== undefined) facts.push('encrypted');
  return facts;
}

/** Whether an AMI passes every filter of a rule. */
export function imageMatches(rule: ImageRule, image: ImageFacts): boolean {
  const filter = rule.images;
  if (!filter.regions.includes(image.region)) return false;
  if (filter.name !== undefined && !patternMatches(filter.name, image.name)) return false;
  if (filter.encrypted !== undefined && image.encrypted !== filter.encrypted) return false;
  return tagsMatch(filter.tags, image.tags);
}

const indexes = new WeakMap<readonly ImageRule[], RegionTagIndex<ImageRule>>();

/** The rules an AMI matches, in file order: by the Region and tag index above a few rules. */
export function matchingImageRules(rules: readonly ImageRule[], image: ImageFacts): ImageRule[] {
  const candidates =
    rules.length < INDEX_MIN_RULES
      ? rules
      : indexOf(indexes, rules, (rule) => rule.images).candidates(image.region, image.tags);
  return candidates.filter((rule) => imageMatches(rule, image));
}

/** The pure router: rules + AMI → the copies to make, one per matching rule and destination. */
export function planImageCopies(rules: readonly ImageRule[], image: ImageFacts): ImageCopyPlan[] {
  return matchingImageRules(rules, image).flatMap((rule) =>
    rule.to.map((destination, destinationIndex) => ({ rule, destination, destinationIndex })),
  );
}
