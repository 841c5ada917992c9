import {
  CopyImageCommand,
  CreateTagsCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  type EC2Client,
  type Image,
  ModifyImageAttributeCommand,
  paginateDescribeImages,
} from '@aws-sdk/client-ec2';
import { type CopyKind, type CopyView, filterBatches } from '#ec2/copy-kind';
import { progressPercent } from '#ec2/copy-machine/adaptive-wait';
import type { Ec2CopyJob } from '#ec2/copy-machine/contract';
import { tagFilters, tagList, tagMap } from '#ec2/markers';
import { deleteSnapshot, shareSnapshot } from '#ec2/snapshots/snapshot-copies';
import {
  copyDate,
  DEFAULT_IMAGE_DESCRIPTION,
  DEFAULT_IMAGE_NAME,
  renderDescription,
  renderImageName,
} from '#rules/templates';

/** AMI copies: CopyImage in the destination Region (idempotent by ClientToken), DescribeImages to follow it. */

const STATES: Record<string, CopyView['state']> = {
  pending: 'pending',
  available: 'completed',
  failed: 'failed',
  error: 'failed',
  invalid: 'failed',
  deregistered: 'failed',
  transient: 'pending',
};

const snapshotIdsOf = (image: Image): string[] =>
  (image.BlockDeviceMappings ?? []).flatMap((mapping) =>
    mapping.Ebs?.SnapshotId ? [mapping.Ebs.SnapshotId] : [],
  );

export function imageView(image: Image): CopyView {
  const state = STATES[image.State ?? ''] ?? 'pending';
  return {
    id: image.ImageId ?? '',
    state,
    // DescribeImages reports no progress; `describe` reads it from the snapshots being copied.
    progress: state === 'completed' ? 100 : 0,
    message: image.StateReason?.Message || undefined,
    tags: tagMap(image.Tags),
    createdAt: image.CreationDate ? Date.parse(image.CreationDate) : 0,
    snapshotIds: snapshotIdsOf(image),
    deregistrationProtection: image.DeregistrationProtection,
    deprecationTime: image.DeprecationTime,
  };
}

/**
 * The copy's name and description. `{date}` is the day the source became available, the same for every
 * attempt: a retried CopyImage must repeat its request exactly, or EC2 refuses the reused ClientToken.
 */
export function imageNamesOf(job: Ec2CopyJob): { name: string; description: string } {
  const values = {
    sourceId: job.source.id,
    sourceRegion: job.source.region,
    rule: job.rule,
    date: copyDate(new Date(job.eventTime)),
    name: job.source.name ?? job.source.id,
    description: job.source.description,
  };
  return {
    name: renderImageName(job.destination.name ?? DEFAULT_IMAGE_NAME, values),
    description: renderDescription(job.destination.description ?? DEFAULT_IMAGE_DESCRIPTION, values),
  };
}

/**
 * A pending image is as far along as the slowest of its snapshot copies (DescribeImages reports no
 * progress): one DescribeSnapshots reads them for every pending image given.
 */
async function withProgress(client: EC2Client, views: CopyView[]): Promise<CopyView[]> {
  const snapshotIds = views.flatMap((view) => (view.state === 'pending' ? (view.snapshotIds ?? []) : []));
  if (snapshotIds.length === 0) return views;
  const { Snapshots } = await client.send(new DescribeSnapshotsCommand({ SnapshotIds: snapshotIds }));
  const progressOf = new Map(
    (Snapshots ?? []).map((snapshot) => [snapshot.SnapshotId, progressPercent(snapshot.Progress)]),
  );
  return views.map((view) => {
    if (view.state !== 'pending' || !view.snapshotIds?.length) return view;
    const progress = Math.min(...view.snapshotIds.map((id) => progressOf.get(id) ?? 0));
    return { ...view, progress };
  });
}

export const imageCopies: CopyKind = {
  async findCopies(client, tags) {
    const { Images } = await client.send(
      new DescribeImagesCommand({ Owners: ['self'], Filters: tagFilters(tags) }),
    );
    return (Images ?? []).map(imageView);
  },

  async describe(client, id) {
    let image: Image | undefined;
    try {
      const { Images } = await client.send(new DescribeImagesCommand({ ImageIds: [id] }));
      image = Images?.[0];
    } catch (error) {
      if ((error as Error).name === 'InvalidAMIID.NotFound') return undefined;
      throw error;
    }
    if (!image) return undefined;
    const [view] = await withProgress(client, [imageView(image)]);
    return view;
  },

  // No progress: the sweep asks only whether the copy has ended.
  async describeMany(client, ids) {
    const views: CopyView[] = [];
    for (const batch of filterBatches(ids)) {
      const pages = paginateDescribeImages(
        { client },
        { Owners: ['self'], Filters: [{ Name: 'image-id', Values: batch }], MaxResults: 1000 },
      );
      for await (const page of pages) views.push(...(page.Images ?? []).map(imageView));
    }
    return views;
  },

  async inFlight(client) {
    const { Images } = await client.send(
      new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'state', Values: ['pending'] }] }),
    );
    return withProgress(client, (Images ?? []).map(imageView));
  },

  async startCopy(client, job, { tags, clientToken }) {
    const { destination, source } = job;
    const { name, description } = imageNamesOf(job);
    const { ImageId } = await client.send(
      new CopyImageCommand({
        SourceRegion: source.region,
        SourceImageId: source.id,
        Name: name,
        Description: description,
        // The same token returns the same copy: a repeated start never copies twice.
        ClientToken: clientToken,
        ...(destination.kmsKeyId ? { Encrypted: true, KmsKeyId: destination.kmsKeyId } : {}),
        // The user tags are in `tags` already (copyTags), filtered of aws: and ferry: keys.
        CopyImageTags: false,
        // The new AMI and its new snapshots: the snapshots are Ferry's too (retention deletes them), and
        // tagged at creation they never exist unmarked.
        TagSpecifications: [
          { ResourceType: 'image', Tags: tagList(tags) },
          { ResourceType: 'snapshot', Tags: tagList(tags) },
        ],
      }),
    );
    if (!ImageId) throw new Error(`CopyImage of ${source.id} answered without an ImageId`);
    return ImageId;
  },

  async share(sourceClient, job, account) {
    await sourceClient.send(
      new ModifyImageAttributeCommand({
        ImageId: job.source.id,
        LaunchPermission: { Add: [{ UserId: account }] },
      }),
    );
    // The destination account copies the image's snapshots too, so it must be able to read them.
    const { Images } = await sourceClient.send(new DescribeImagesCommand({ ImageIds: [job.source.id] }));
    for (const snapshotId of Images?.[0] ? snapshotIdsOf(Images[0]) : []) {
      await shareSnapshot(sourceClient, snapshotId, account);
    }
  },

  async tag(client, copy, tags) {
    await client.send(
      new CreateTagsCommand({ Resources: [copy.id, ...(copy.snapshotIds ?? [])], Tags: tagList(tags) }),
    );
  },

  // Deregistering keeps the image's snapshots (and their cost): they go too, after the image.
  async remove(client, copy) {
    try {
      await client.send(new DeregisterImageCommand({ ImageId: copy.id }));
    } catch (error) {
      // Already deregistered (a retried step): its snapshots may still be there.
      if (
        (error as Error).name !== 'InvalidAMIID.NotFound' &&
        (error as Error).name !== 'InvalidAMIID.Unavailable'
      )
        throw error;
    }
    for (const snapshotId of copy.snapshotIds ?? []) await deleteSnapshot(client, snapshotId);
  },
};
