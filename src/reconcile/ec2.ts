import { randomUUID } from 'node:crypto';
import {
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  type Image,
  type Snapshot,
} from '@aws-sdk/client-ec2';
import { ImageStateChangeEventSchema } from '#ec2/images/event';
import { type ImageReplicationDeps, imageFactsOf, replicateImage } from '#ec2/images/replicate';
import { imageMatches } from '#ec2/images/router';
import { isFerryCopy, MARKER, tagFilters, tagMap } from '#ec2/markers';
import type { Retention } from '#ec2/retention';
import { SnapshotNotificationEventSchema } from '#ec2/snapshots/event';
import { replicateSnapshots, type SnapshotReplicationDeps, snapshotFactsOf } from '#ec2/snapshots/replicate';
import { snapshotMatches } from '#ec2/snapshots/router';
import type { Ec2ClientFactory } from '#foundation/aws-clients';
import { destinationTarget } from '#foundation/aws-clients';
import type { ImageRule, SnapshotRule } from '#rules/ec2-schema';
import { causeOf, listing, type RuleReport, recordListingFailure } from './report.ts';

export interface Ec2ReconcileDeps {
  snapshots: SnapshotReplicationDeps;
  images: ImageReplicationDeps;
  now: () => number;
}

/** A source as both kinds list it. */
interface Ec2Source {
  id: string;
  region: string;
  account: string;
  /** What retention counts per: the volume of a snapshot, the name of an AMI. */
  group: string;
  createdAt: number;
}

interface Ec2Destination {
  region: string;
  account?: string | undefined;
  roleArn?: string | undefined;
  externalId?: string | undefined;
  retain?: Retention | undefined;
}

/** How reconcile lists and checks one kind of EC2 resource, and which entry point it sends to. */
interface Kind<Rule, Resource> {
  name: 'snapshots' | 'images';
  /** EC2's smallest page for this call. */
  minPage: number;
  list(
    client: ReturnType<Ec2ClientFactory>,
    rule: Rule,
    token: string | undefined,
    max: number,
  ): Promise<{ items: Resource[]; next: string | undefined }>;
  sourceOf(resource: Resource, region: string): Ec2Source & { tags: Record<string, string> };
  matches(rule: Rule, resource: Resource, region: string): boolean;
  /** Ferry's copies in a destination with all these tags: id, created, and whether present (pending or done). */
  copies(
    client: ReturnType<Ec2ClientFactory>,
    tags: Record<string, string>,
  ): Promise<{ source: string; createdAt: number; present: boolean }[]>;
  /** The times sources were created, by id (for retention: was a missing copy pruned as older?). */
  createdAt(client: ReturnType<Ec2ClientFactory>, ids: string[]): Promise<Map<string, number>>;
  send(source: Ec2Source, rule: Rule, deps: Ec2ReconcileDeps): Promise<{ status: string; reason?: string }[]>;
}

const isoSeconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const epoch = (value: Date | string | undefined) => (value === undefined ? 0 : new Date(value).getTime());

/** The documented "EBS Snapshot Notification" of a createSnapshot that succeeded. */
export function snapshotCreatedEventOf(source: Ec2Source & { volumeId?: string | undefined }, now: number) {
  const arn = `arn:aws:ec2:${source.region}::snapshot/${source.id}`;
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'EBS Snapshot Notification',
    source: 'aws.ec2',
    account: source.account,
    // When the source was created, as EC2's own event would say (its clock for the rule's RPO, src/rpo/).
    time: isoSeconds(source.createdAt > 0 ? source.createdAt : now),
    region: source.region,
    resources: [arn],
    detail: {
      event: 'createSnapshot',
      result: 'succeeded',
      cause: '',
      'request-id': '',
      snapshot_id: arn,
      ...(source.volumeId ? { source: `arn:aws:ec2:${source.region}::volume/${source.volumeId}` } : {}),
      startTime: isoSeconds(source.createdAt),
      endTime: isoSeconds(source.createdAt),
    },
  };
}

/** The documented "EC2 AMI State Change" of an AMI that became available. */
export function imageAvailableEventOf(source: Ec2Source, now: number) {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'EC2 AMI State Change',
    source: 'aws.ec2',
    account: source.account,
    time: isoSeconds(source.createdAt > 0 ? source.createdAt : now),
    region: source.region,
    resources: [`arn:aws:ec2:${source.region}::image/${source.id}`],
    detail: { RequestId: 'ferry-reconcile', ImageId: source.id, State: 'available', ErrorMessage: '' },
  };
}

const snapshotSource = (snapshot: Snapshot, region: string) => ({
  id: snapshot.SnapshotId ?? '',
  region,
  account: snapshot.OwnerId ?? '',
  group: snapshot.VolumeId ?? snapshot.SnapshotId ?? '',
  createdAt: epoch(snapshot.StartTime),
  volumeId: snapshot.VolumeId,
  tags: { ...tagMap(snapshot.Tags) },
});

export const SNAPSHOTS: Kind<SnapshotRule, Snapshot> = {
  name: 'snapshots',
  minPage: 5,
  async list(client, rule, token, max) {
    const { Snapshots, NextToken } = await client.send(
      new DescribeSnapshotsCommand({
        OwnerIds: ['self'],
        Filters: [{ Name: 'status', Values: ['completed'] }, ...tagFilters(rule.snapshots.tags ?? {})],
        MaxResults: max,
        ...(token ? { NextToken: token } : {}),
      }),
    );
    return { items: Snapshots ?? [], next: NextToken || undefined };
  },
  sourceOf: snapshotSource,
  matches(rule, snapshot, region) {
    return snapshotMatches(rule, snapshotFactsOf(snapshot, region));
  },
  async copies(client, tags) {
    const { Snapshots } = await client.send(
      new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: tagFilters(tags) }),
    );
    return (Snapshots ?? []).map((copy) => ({
      source: tagMap(copy.Tags)[MARKER.sourceId] ?? '',
      createdAt: epoch(copy.StartTime),
      present: copy.State === 'pending' || copy.State === 'completed',
    }));
  },
  async createdAt(client, ids) {
    const found = new Map<string, number>();
    for (const id of ids) {
      try {
        const { Snapshots } = await client.send(new DescribeSnapshotsCommand({ SnapshotIds: [id] }));
        for (const snapshot of Snapshots ?? []) found.set(id, epoch(snapshot.StartTime));
      } catch (error) {
        if ((error as Error).name !== 'InvalidSnapshot.NotFound') throw error;
      }
    }
    return found;
  },
  async send(source, rule, deps) {
    const event = SnapshotNotificationEventSchema.parse(snapshotCreatedEventOf(source, deps.now()));
    return replicateSnapshots(event, { ...deps.snapshots, rules: [rule] });
  },
};

export const IMAGES: Kind<ImageRule, Image> = {
  name: 'images',
  minPage: 6,
  async list(client, rule, token, max) {
    const { Images, NextToken } = await client.send(
      new DescribeImagesCommand({
        Owners: ['self'],
        Filters: [{ Name: 'state', Values: ['available'] }, ...tagFilters(rule.images.tags ?? {})],
        MaxResults: max,
        ...(token ? { NextToken: token } : {}),
      }),
    );
    return { items: Images ?? [], next: NextToken || undefined };
  },
  sourceOf: (image, region) => ({
    id: image.ImageId ?? '',
    region,
    account: image.OwnerId ?? '',
    group: image.Name ?? image.ImageId ?? '',
    createdAt: epoch(image.CreationDate),
    tags: { ...tagMap(image.Tags) },
  }),
  matches(rule, image, region) {
    return imageMatches(rule, imageFactsOf(image, region));
  },
  async copies(client, tags) {
    const { Images } = await client.send(
      new DescribeImagesCommand({ Owners: ['self'], Filters: tagFilters(tags) }),
    );
    return (Images ?? []).map((copy) => ({
      source: tagMap(copy.Tags)[MARKER.sourceId] ?? '',
      createdAt: epoch(copy.CreationDate),
      present: copy.State === 'pending' || copy.State === 'available',
    }));
  },
  async createdAt(client, ids) {
    const found = new Map<string, number>();
    if (ids.length === 0) return found;
    const { Images } = await client.send(new DescribeImagesCommand({ ImageIds: ids }));
    for (const image of Images ?? []) if (image.ImageId) found.set(image.ImageId, epoch(image.CreationDate));
    return found;
  },
  async send(source, rule, deps) {
    const event = ImageStateChangeEventSchema.parse(imageAvailableEventOf(source, deps.now()));
    return replicateImage(event, { ...deps.images, rules: [rule] });
  },
};

const DAY_MS = 86_400_000;

/**
 * Whether the destination lacks a Ferry copy of this source that it should have. A copy that retention
 * would have pruned is not missing: older than `retain.days`, or older than the sources of the `retain.count`
 * newest copies of its group already there.
 */
async function copyMissing<Rule, Resource>(
  kind: Kind<Rule, Resource>,
  source: Ec2Source,
  ruleName: string,
  destination: Ec2Destination,
  ec2: Ec2ClientFactory,
  now: number,
): Promise<boolean> {
  const client = ec2(destinationTarget(destination));
  const own = await kind.copies(client, { [MARKER.sourceId]: source.id, [MARKER.rule]: ruleName });
  if (own.some((copy) => copy.present)) return false;
  const retain = destination.retain;
  if (!retain) return true;
  if ('days' in retain) return source.createdAt >= now - retain.days * DAY_MS;
  const group = (await kind.copies(client, { [MARKER.group]: source.group, [MARKER.rule]: ruleName })).filter(
    (copy) => copy.present,
  );
  if (group.length < retain.count) return true;
  const sourcesCreated = await kind.createdAt(ec2({ region: source.region }), [
    ...new Set(group.map((c) => c.source)),
  ]);
  const kept = group.map((copy) => sourcesCreated.get(copy.source) ?? copy.createdAt);
  return kept.some((createdAt) => createdAt < source.createdAt);
}

/**
 * One bounded step over a snapshot or image rule in one Region: lists at most `budget` sources from the
 * page `token` on (skipping `skip` already handled), and sends those that miss a copy through the handler's
 * entry point. Returns where to continue in this Region, or done.
 */
export async function reconcileEc2Region<Rule extends SnapshotRule | ImageRule, Resource>(
  kind: Kind<Rule, Resource>,
  rule: Rule,
  region: string,
  position: { token?: string | undefined; skip?: number | undefined },
  budget: number,
  deps: Ec2ReconcileDeps,
  report: RuleReport,
): Promise<{
  listed: number;
  next?: { token: string | undefined; skip: number };
  done: boolean;
  /** The listing failed for good (in the report's `failed`): `next` is the page it could not read. */
  failed?: true;
}> {
  const ec2 = deps.snapshots.ec2;
  const client = ec2({ region }, { retries: 'patient' });
  let token = position.token;
  let skip = position.skip ?? 0;
  let listed = 0;
  for (;;) {
    const want = Math.min(1000, Math.max(kind.minPage, skip + budget - listed));
    let page: Awaited<ReturnType<typeof kind.list>>;
    try {
      page = await listing({ what: `${kind.name} in ${region}` }, () => kind.list(client, rule, token, want));
    } catch (error) {
      // The page not read is read again from here by the pass's `next`: nothing judged on it.
      recordListingFailure(report, error);
      return { listed, next: { token, skip }, done: false, failed: true };
    }
    const items = page.items.slice(skip, skip + budget - listed);
    for (const resource of items) {
      const source = kind.sourceOf(resource, region);
      if (isFerryCopy(source.tags) || !kind.matches(rule, resource, region)) continue;
      report.scanned += 1;
      try {
        const missing = await Promise.all(
          rule.to.map((destination) => copyMissing(kind, source, rule.name, destination, ec2, deps.now())),
        );
        if (!missing.includes(true)) continue;
        report.missing += 1;
        const outcomes = await kind.send(source, rule, deps);
        if (outcomes.some((outcome) => outcome.status !== 'skipped')) report.sent += 1;
        else report.skipped += 1;
      } catch (error) {
        report.failed.push({ item: `${source.id} (${region})`, cause: causeOf(error) });
      }
    }
    listed += items.length;
    const consumed = skip + items.length;
    if (consumed < page.items.length) return { listed, next: { token, skip: consumed }, done: false };
    if (!page.next) return { listed, done: true };
    token = page.next;
    skip = 0;
    if (listed >= budget) return { listed, next: { token, skip: 0 }, done: false };
  }
}
