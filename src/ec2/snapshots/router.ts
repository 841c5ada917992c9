import type { SnapshotDestination, SnapshotRule } from '#rules/ec2-schema';
import { INDEX_MIN_RULES, indexOf, type RegionTagIndex } from '#rules/region-tag-index';
import { type Tags, tagsMatch } from '#rules/tags';
import { patternMatches } from '#rules/text-pattern';

/** What routing knows about a snapshot: the event's facts plus one DescribeSnapshots. */
export interface SnapshotFacts {
  snapshotId: string;
  region: string;
  volumeId?: string;
  volumeSizeGiB?: number;
  encrypted: boolean;
  description: string;
  tags: Tags;
}

/** One copy to make: which rule asked for it and where it goes. */
export interface SnapshotCopyPlan {
  rule: SnapshotRule;
  destination: SnapshotDestination;
  destinationIndex: number;
}

/** The facts a rule's filter reads besides the Region (the event carries only the Region and the volume). */
export type SnapshotFilterFact = 'tags' | 'volumeId' | 'volumeSize' | 'encrypted' | 'description';

export function snapshotFactsFilteredBy(rule: SnapshotRule): SnapshotFilterFact[] {
  const filter = rule.snapshots;
  const facts: SnapshotFilterFact[] = [];
  if (Object.keys(filter.tags ?? {}).length > 0) facts.push('tags');
  if (filter.volumeIds !== undefined) facts.push('volumeId');
  if (filter.minVolumeSize !== undefined || filter.maxVolumeSize !== undefined) facts.push('volumeSize');
  if (filter.encrypted !== undefined) facts.push('encrypted');
  if (filter.description !== undefined) facts.push('description');
  return facts;
}

const within = (value: number | undefined, min: number | undefined, max: number | undefined): boolean =>
  (min === undefined && max === undefined) ||
  (value !== undefined && (min === undefined || value >= min) && (max === undefined || value <= max));

/** Whether a snapshot passes every filter of a rule. A filter on a fact the snapshot lacks does not pass. */
export function snapshotMatches(rule: SnapshotRule, snapshot: SnapshotFacts): boolean {
  const filter = rule.snapshots;
  if (!filter.regions.includes(snapshot.region)) return false;
  if (
    filter.volumeIds !== undefined &&
    (snapshot.volumeId === undefined || !filter.volumeIds.includes(snapshot.volumeId))
  )
    return false;
  if (!within(snapshot.volumeSizeGiB, filter.minVolumeSize, filter.maxVolumeSize)) return false;
  if (filter.encrypted !== undefined && snapshot.encrypted !== filter.encrypted) return false;
  if (filter.description !== undefined && !patternMatches(filter.description, snapshot.description))
    return false;
  return tagsMatch(filter.tags, snapshot.tags);
}

const indexes = new WeakMap<readonly SnapshotRule[], RegionTagIndex<SnapshotRule>>();

/** The rules a snapshot matches, in file order: by the Region and tag index above a few rules. */
export function matchingSnapshotRules(
  rules: readonly SnapshotRule[],
  snapshot: SnapshotFacts,
): SnapshotRule[] {
  const candidates =
    rules.length < INDEX_MIN_RULES
      ? rules
      : indexOf(indexes, rules, (rule) => rule.snapshots).candidates(snapshot.region, snapshot.tags);
  return candidates.filter((rule) => snapshotMatches(rule, snapshot));
}

/** The pure router: rules + snapshot → the copies to make, one per matching rule and destination. */
export function planSnapshotCopies(
  rules: readonly SnapshotRule[],
  snapshot: SnapshotFacts,
): SnapshotCopyPlan[] {
  return matchingSnapshotRules(rules, snapshot).flatMap((rule) =>
    rule.to.map((destination, destinationIndex) => ({ rule, destination, destinationIndex })),
  );
}
