import {
  CopySnapshotCommand,
  CreateTagsCommand,
  DeleteSnapshotCommand,
  DescribeSnapshotsCommand,
  type EC2Client,
  type Filter,
  ModifySnapshotAttributeCommand,
  ModifySnapshotTierCommand,
  type Snapshot,
} from '@aws-sdk/client-ec2';
import { type CopyKind, type CopyView, filterBatches } from '#ec2/copy-kind';
import { progressPercent } from '#ec2/copy-machine/adaptive-wait';
import type { Ec2CopyJob } from '#ec2/copy-machine/contract';
import { tagFilters, tagList, tagMap } from '#ec2/markers';
import { copyDate, DEFAULT_SNAPSHOT_DESCRIPTION, renderDescription } from '#rules/templates';

/** EBS snapshot copies: CopySnapshot in the destination Region, DescribeSnapshots to follow it. */

const STATES: Record<string, CopyView['state']> = {
  pending: 'pending',
  completed: 'completed',
  error: 'failed',
  recoverable: 'pending',
  recovering: 'pending',
};

export function snapshotView(snapshot: Snapshot): CopyView {
  const state = STATES[snapshot.State ?? ''] ?? 'pending';
  return {
    id: snapshot.SnapshotId ?? '',
    state,
    progress: state === 'completed' ? 100 : progressPercent(snapshot.Progress),
    storageTier: snapshot.StorageTier,
    message: snapshot.StateMessage || undefined,
    tags: tagMap(snapshot.Tags),
    createdAt: snapshot.StartTime?.getTime() ?? 0,
  };
}

/** `{date}` is the day the source was created: the same for every attempt of one copy. */
export function snapshotDescriptionOf(job: Ec2CopyJob): string {
  return renderDescription(job.destination.description ?? DEFAULT_SNAPSHOT_DESCRIPTION, {
    sourceId: job.source.id,
    sourceRegion: job.source.region,
    rule: job.rule,
    date: copyDate(new Date(job.eventTime)),
    description: job.source.description,
    volumeId: job.source.volumeId ?? '',
  });
}

/**
 * Deletes a snapshot; one already gone counts as deleted, so a retried step (or an SDK retry after a lost
 * answer) does not fail on its own earlier success.
 */
export async function deleteSnapshot(client: EC2Client, snapshotId: string): Promise<void> {
  try {
    await client.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId }));
  } catch (error) {
    if ((error as Error).name !== 'InvalidSnapshot.NotFound') throw error;
  }
}

/** Lets another account create volumes from (and so copy) a snapshot. */
export async function shareSnapshot(client: EC2Client, snapshotId: string, account: string): Promise<void> {
  await client.send(
    new ModifySnapshotAttributeCommand({
      SnapshotId: snapshotId,
      Attribute: 'createVolumePermission',
      OperationType: 'add',
      UserIds: [account],
    }),
  );
}

/** The caller's snapshots in the client's Region that pass these filters, every page. */
async function ownSnapshots(client: EC2Client, Filters: Filter[]): Promise<CopyView[]> {
  const views: CopyView[] = [];
  let NextToken: string | undefined;
  do {
    const page = await client.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters, NextToken }));
    views.push(...(page.Snapshots ?? []).map(snapshotView));
    NextToken = page.NextToken;
  } while (NextToken);
  return views;
}

export const snapshotCopies: CopyKind = {
  findCopies: (client, tags) => ownSnapshots(client, tagFilters(tags)),

  // Every pending snapshot, Ferry's or not: anyone's copy holds one of the Region's slots. A snapshot being
  // created (not copied) looks the same; it can only make the estimate early (one more try), never late.
  inFlight: (client) => ownSnapshots(client, [{ Name: 'status', Values: ['pending'] }]),

  async describe(client, id) {
    try {
      const { Snapshots } = await client.send(new DescribeSnapshotsCommand({ SnapshotIds: [id] }));
      const snapshot = Snapshots?.[0];
      return snapshot ? snapshotView(snapshot) : undefined;
    } catch (error) {
      if ((error as Error).name === 'InvalidSnapshot.NotFound') return undefined;
      throw error;
    }
  },

  async describeMany(client, ids) {
    const views: CopyView[] = [];
    for (const batch of filterBatches(ids))
      views.push(...(await ownSnapshots(client, [{ Name: 'snapshot-id', Values: batch }])));
    return views;
  },

  async startCopy(client: EC2Client, job, { tags }) {
    const { destination, source } = job;
    const { SnapshotId } = await client.send(
      new CopySnapshotCommand({
        SourceRegion: source.region,
        SourceSnapshotId: source.id,
        Description: snapshotDescriptionOf(job),
        // A key means an encrypted copy; without one an encrypted source still stays encrypted.
        ...(destination.kmsKeyId ? { Encrypted: true, KmsKeyId: destination.kmsKeyId } : {}),
        ...(destination.completionDurationMinutes
          ? { CompletionDurationMinutes: destination.completionDurationMinutes }
          : {}),
        TagSpecifications: [{ ResourceType: 'snapshot', Tags: tagList(tags) }],
      }),
    );
    if (!SnapshotId) throw new Error(`CopySnapshot of ${source.id} answered without a SnapshotId`);
    return SnapshotId;
  },

  async share(sourceClient, job, account) {
    await shareSnapshot(sourceClient, job.source.id, account);
  },

  async tag(client, copy, tags) {
    await client.send(new CreateTagsCommand({ Resources: [copy.id], Tags: tagList(tags) }));
  },

  async remove(client, copy) {
    await deleteSnapshot(client, copy.id);
  },

  async archive(client, id) {
    await client.send(new ModifySnapshotTierCommand({ SnapshotId: id, StorageTier: 'archive' }));
  },
};
