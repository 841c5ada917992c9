import {
  CreateTagsCommand,
  DeleteTagsCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import type { Ec2CopyJob } from '#ec2/copy-machine/contract';
import { copyTagsOf } from '#ec2/copy-machine/copy-tags';
import { imageFactsOf } from '#ec2/images/replicate';
import { planImageCopies } from '#ec2/images/router';
import { isFerryCopy, MARKER, type Tags, tagFilters, tagList, tagMap } from '#ec2/markers';
import { snapshotFactsOf } from '#ec2/snapshots/replicate';
import { planSnapshotCopies } from '#ec2/snapshots/router';
import { isAwsTagKey } from '#ec2/tag-limits';
import { destinationTarget, type Ec2ClientFactory } from '#foundation/aws-clients';
import { classifyError } from '#foundation/errors/classify';
import type { Log } from '#foundation/observability/powertools';
import type { ReplicationMetrics } from '#foundation/observability/replication-metrics';
import type { ImageRule, SnapshotRule } from '#rules/ec2-schema';
import { CopyTagSyncRetryableError } from '../errors.ts';
import type { TaggedResource } from './event.ts';

/**
 * A source snapshot's or AMI's tags changed: each of Ferry's copies of it, where the rule's destination has
 * `copyTags` on, gets the tags the copy policy makes of the source's tags now (`copyTagsOf`, the function
 * the copy itself is tagged by): CreateTags for tags added or changed, DeleteTags for source tags that are
 * gone. Ferry's `ferry:` markers and `aws:` tags are never written or removed here, and neither is one of
 * the rule's own `tags` (they are in the policy's result, so never "gone").
 *
 * The copies are found as everywhere else, by Ferry's markers (`ferry:source-id`, `ferry:rule`) in each
 * destination Region and account, among the caller's own resources. A source that is itself a Ferry copy
 * is skipped (copies are never sources). Routing uses the source's tags now: a rule whose tag filter they no
 * longer pass leaves its copies as they are, and one they now pass has no copy yet (reconcile makes it).
 */

export interface Ec2TagFollowDeps {
  snapshotRules: readonly SnapshotRule[];
  imageRules: readonly ImageRule[];
  ec2: Ec2ClientFactory;
  log: Log;
  metrics: ReplicationMetrics;
}

export type TagFollowOutcome =
  | {
      status: 'tags-synced';
      source: string;
      rule: string;
      region: string;
      copy: string;
      set: string[];
      removed: string[];
    }
  | { status: 'skipped'; source: string; reason: string; rule?: string; region?: string; copy?: string }
  | {
      status: 'failed';
      source: string;
      rule: string;
      region: string;
      cause: string;
      message: string;
      retryable: boolean;
    };

/** The tag requests that bring a copy's tags to `desired`. Pure. Never a `ferry:` or `aws:` key. */
export function tagChanges(current: Tags, desired: Tags): { set: Tags; remove: string[] } {
  const ours = (key: string) => key.toLowerCase().startsWith('ferry:') || isAwsTagKey(key);
  const set = Object.fromEntries(
    Object.entries(desired).filter(([key, value]) => !ours(key) && current[key] !== value),
  );
  const remove = Object.keys(current).filter((key) => !ours(key) && !(key in desired));
  return { set, remove };
}

interface SourceRead {
  tags: Tags;
  plans: { rule: SnapshotRule | ImageRule; destinationIndex: number; job: Ec2CopyJob }[];
}

/** Describes the source in its Region and routes it as the created handlers do, into the jobs it would have. */
async function readSource(
  client: EC2Client,
  resource: TaggedResource,
  deps: Ec2TagFollowDeps,
): Promise<SourceRead | undefined> {
  const now = new Date(0).toISOString();
  if (resource.kind === 'snapshot') {
    const { Snapshots } = await client.send(new DescribeSnapshotsCommand({ SnapshotIds: [resource.id] }));
    const snapshot = Snapshots?.[0];
    if (!snapshot) return undefined;
    const facts = snapshotFactsOf(snapshot, resource.region);
    return {
      tags: facts.tags,
      plans: planSnapshotCopies(deps.snapshotRules, facts).map((plan) => ({
        rule: plan.rule,
        destinationIndex: plan.destinationIndex,
        job: {
          kind: 'snapshot',
          rule: plan.rule.name,
          destinationIndex: plan.destinationIndex,
          destination: plan.destination,
          source: {
            id: resource.id,
            region: resource.region,
            account: snapshot.OwnerId ?? '',
            encrypted: facts.encrypted,
            description: facts.description,
            ...(facts.volumeId ? { volumeId: facts.volumeId } : {}),
            tags: { ...facts.tags },
          },
          eventTime: now,
        },
      })),
    };
  }
  const { Images } = await client.send(new DescribeImagesCommand({ ImageIds: [resource.id] }));
  const image = Images?.[0];
  if (!image) return undefined;
  const facts = imageFactsOf(image, resource.region);
  return {
    tags: facts.tags,
    plans: planImageCopies(deps.imageRules, facts).map((plan) => ({
      rule: plan.rule,
      destinationIndex: plan.destinationIndex,
      job: {
        kind: 'image',
        rule: plan.rule.name,
        destinationIndex: plan.destinationIndex,
        destination: plan.destination,
        source: {
          id: resource.id,
          region: resource.region,
          account: image.OwnerId ?? '',
          encrypted: facts.encrypted,
          description: facts.description ?? '',
          name: facts.name,
          tags: { ...facts.tags },
        },
        eventTime: now,
      },
    })),
  };
}

/**
 * Ferry's copies of this job's source by its rule, in the destination (its Region, its account): a
 * snapshot copy, or an AMI copy and the snapshots behind it.
 */
async function copiesOf(client: EC2Client, job: Ec2CopyJob): Promise<{ id: string; tags: Tags }[]> {
  const Filters = tagFilters({ [MARKER.sourceId]: job.source.id, [MARKER.rule]: job.rule });
  if (job.kind === 'snapshot') {
    const { Snapshots = [] } = await client.send(
      new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters }),
    );
    return Snapshots.flatMap((s) => (s.SnapshotId ? [{ id: s.SnapshotId, tags: tagMap(s.Tags) }] : []));
  }
  const { Images = [] } = await client.send(new DescribeImagesCommand({ Owners: ['self'], Filters }));
  const images = Images.flatMap((i) => (i.ImageId ? [{ id: i.ImageId, tags: tagMap(i.Tags) }] : []));
  // The copy step tags an AMI copy's snapshots with the AMI (images/image-copies.ts), so they follow too,
  // each brought to the policy from its own tags.
  const snapshotIds = Images.flatMap((image) =>
    (image.BlockDeviceMappings ?? []).flatMap((mapping) =>
      mapping.Ebs?.SnapshotId ? [mapping.Ebs.SnapshotId] : [],
    ),
  );
  if (snapshotIds.length === 0) return images;
  const { Snapshots = [] } = await client.send(
    new DescribeSnapshotsCommand({ OwnerIds: ['self'], SnapshotIds: snapshotIds }),
  );
  return [
    ...images,
    ...Snapshots.flatMap((s) => (s.SnapshotId ? [{ id: s.SnapshotId, tags: tagMap(s.Tags) }] : [])),
  ];
}

const NOT_FOUND = new Set(['InvalidSnapshot.NotFound', 'InvalidAMIID.NotFound', 'InvalidAMIID.Unavailable']);

/** Throws when a copy failed retryably, so the event comes back; permanent failures are counted and reported. */
export function throwIfTagSyncRetryable(outcomes: readonly TagFollowOutcome[]): TagFollowOutcome[] {
  const retry = outcomes.flatMap((outcome) =>
    outcome.status === 'failed' && outcome.retryable ? [outcome] : [],
  );
  if (retry.length > 0) throw new CopyTagSyncRetryableError(retry);
  return [...outcomes];
}

/** One changed source → its copies' tags brought to the policy, one outcome per copy (or why none). */
export async function followEc2TagChange(
  resource: TaggedResource,
  deps: Ec2TagFollowDeps,
): Promise<TagFollowOutcome[]> {
  const source = resource.id;
  const skip = (reason: string): TagFollowOutcome[] => {
    deps.log.info(`Skipped ${source}: ${reason}`, { source });
    deps.metrics.skipped('none', reason);
    return [{ status: 'skipped', source, reason }];
  };
  const rules = resource.kind === 'snapshot' ? deps.snapshotRules : deps.imageRules;
  const inRegion = (rule: SnapshotRule | ImageRule) =>
    ('snapshots' in rule ? rule.snapshots.regions : rule.images.regions).includes(resource.region) &&
    rule.to.some((destination) => destination.copyTags);
  if (!rules.some(inRegion)) return skip('no-rule-copies-tags');
  let read: SourceRead | undefined;
  try {
    read = await readSource(deps.ec2({ region: resource.region }), resource, deps);
  } catch (error) {
    if (!NOT_FOUND.has((error as Error).name)) throw error;
  }
  if (!read) return skip('source-gone');
  if (isFerryCopy(read.tags)) return skip('ferry-copy');
  const plans = read.plans.filter(({ job }) => job.destination.copyTags);
  if (plans.length === 0) return skip('no-matching-rule');

  const outcomes: TagFollowOutcome[] = [];
  for (const { job } of plans) {
    const region = job.destination.region;
    const base = { source, rule: job.rule, region };
    try {
      const client = deps.ec2(destinationTarget(job.destination));
      const desired = copyTagsOf(job, deps.log);
      const copies = await copiesOf(client, job);
      if (copies.length === 0) outcomes.push({ status: 'skipped', ...base, reason: 'no-copy' });
      for (const copy of copies) {
        const { set, remove } = tagChanges(copy.tags, desired);
        if (Object.keys(set).length === 0 && remove.length === 0) {
          outcomes.push({ status: 'skipped', ...base, copy: copy.id, reason: 'up-to-date' });
          continue;
        }
        // Removed first: the copy never holds old and new tags together past EC2's 50.
        if (remove.length > 0)
          await client.send(
            new DeleteTagsCommand({ Resources: [copy.id], Tags: remove.map((Key) => ({ Key })) }),
          );
        if (Object.keys(set).length > 0)
          await client.send(new CreateTagsCommand({ Resources: [copy.id], Tags: tagList(set) }));
        deps.metrics.tagsSynced(job.kind, job.rule);
        deps.log.info('Copy tags set to the tag policy', {
          ...base,
          copy: copy.id,
          set: Object.keys(set),
          remove,
        });
        outcomes.push({
          status: 'tags-synced',
          ...base,
          copy: copy.id,
          set: Object.keys(set),
          removed: remove,
        });
      }
    } catch (error) {
      const classified = classifyError(error);
      deps.metrics.failed(job.rule, classified.cause);
      deps.log.error(`Tag sync failed: ${classified.cause}`, { ...base, message: classified.message });
      outcomes.push({
        status: 'failed',
        ...base,
        cause: classified.cause,
        message: classified.message,
        retryable: classified.class === 'retryable',
      });
    }
  }
  return outcomes;
}
