import { copyableTags, MARKER, type Tags } from '#ec2/markers';
import { checkTags, EC2_TAG_LIMITS, isAwsTagKey, tagProblem } from '#ec2/tag-limits';
import type { Log } from '#foundation/observability/powertools';
import { type Ec2CopyJob, retentionGroupOf } from './contract.ts';

/** The tag policy of an EC2 copy: Ferry's markers, the rule's tags, and what fits of the source's own. */

/** Ferry's markers: how this copy is found again, pruned by retention, and never copied onward. */
const markersOf = (job: Ec2CopyJob): Tags => ({
  [MARKER.sourceId]: job.source.id,
  [MARKER.sourceRegion]: job.source.region,
  [MARKER.rule]: job.rule,
  // An AMI name has at most 128 characters and a volume id 21: this cut is never expected to bite.
  [MARKER.group]: [...retentionGroupOf(job)].slice(0, EC2_TAG_LIMITS.valueChars).join(''),
});

/**
 * Every tag the copy must carry, within EC2's limits (src/ec2/tag-limits.ts), by priority:
 * 1. Ferry's markers, which must always be there (finding the copy again, retention, no loops);
 * 2. the rule's `tags`: what the configuration asks for is written in full or the copy fails, with
 *    `TooManyTags` (markers and `tags` together over 50) or `TagTooLong` (a key over 127 characters, a value
 *    over 255): a permanent cause, before any request EC2 would refuse;
 * 3. the source's user tags (`copyTags`), best effort: `aws:` and `ferry:` keys are never copied, and those that
 *    do not fit in what is left of the 50 (or that EC2 would refuse) are left out, in key order, and logged.
 *    A DR copy with some of its source's tags missing is worth more than no copy.
 */
export function copyTagsOf(job: Ec2CopyJob, log?: Log): Tags {
  const fixed = { ...job.destination.tags, ...markersOf(job) };
  checkTags(fixed, `the tags rule "${job.rule}" puts on every copy, with Ferry's markers`);
  const candidates = Object.entries(job.destination.copyTags ? copyableTags(job.source.tags) : {})
    .filter(([key]) => !(key in fixed))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const refused = candidates.filter(([key, value]) => tagProblem(key, value));
  const copyable = candidates.filter(([key, value]) => !tagProblem(key, value));
  const room = Math.max(0, EC2_TAG_LIMITS.perResource - Object.keys(fixed).length);
  const dropped = [...refused, ...copyable.slice(room)].map(([key]) => key);
  if (dropped.length > 0) {
    log?.warn(`${job.source.id} has tags its copy cannot carry: ${dropped.length} not copied`, {
      dropped,
      limit: EC2_TAG_LIMITS.perResource,
    });
  }
  return { ...Object.fromEntries(copyable.slice(0, room)), ...fixed };
}

/** The tags as CreateTags counts them: `aws:` tags are EC2's own, outside the 50. */
export const withoutAwsTags = (tags: Tags): Tags =>
  Object.fromEntries(Object.entries(tags).filter(([key]) => !isAwsTagKey(key)));

/** How a copy of this job is found again: its source and its rule. */
export const identity = (job: Ec2CopyJob): Tags => ({
  [MARKER.sourceId]: job.source.id,
  [MARKER.rule]: job.rule,
});
