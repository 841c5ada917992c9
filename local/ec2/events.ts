import { randomUUID } from 'node:crypto';
import { ebsArn, eventTime, multiVolumeArn } from './ids.ts';
import type { ImageRecord, SnapshotRecord } from './records.ts';

/** An EventBridge event from EC2 / EBS (`source: aws.ec2`), or a tag change of an EC2 resource (`aws.tag`). */
export interface Ec2Event {
  version: '0';
  id: string;
  'detail-type':
    | 'EBS Snapshot Notification'
    | 'EBS Multi-Volume Snapshots Completion Status'
    | 'EC2 AMI State Change'
    | 'Tag Change on Resource';
  source: 'aws.ec2' | 'aws.tag';
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
}

const envelope = (
  detailType: Ec2Event['detail-type'],
  account: string,
  region: string,
  at: number,
  resources: string[],
  detail: Record<string, unknown>,
): Ec2Event => ({
  version: '0',
  id: randomUUID(),
  'detail-type': detailType,
  source: 'aws.ec2',
  account,
  time: eventTime(at),
  region,
  resources,
  detail,
});

const endOf = (snapshot: SnapshotRecord) => snapshot.completionTime ?? snapshot.startTime;

/**
 * The shapes below follow the samples of the EBS user guide ("EventBridge for Amazon EBS") and the EC2 user
 * guide ("Monitor AMI events using Amazon EventBridge"). EBS leaves `request-id` empty in its samples.
 */
export function snapshotCreated(snapshot: SnapshotRecord): Ec2Event {
  const arn = ebsArn(snapshot.region, 'snapshot', snapshot.snapshotId);
  return envelope('EBS Snapshot Notification', snapshot.ownerId, snapshot.region, endOf(snapshot), [arn], {
    event: 'createSnapshot',
    result: snapshot.state === 'completed' ? 'succeeded' : 'failed',
    cause: snapshot.state === 'completed' ? '' : (snapshot.stateMessage ?? ''),
    'request-id': '',
    snapshot_id: arn,
    source: ebsArn(snapshot.region, 'volume', snapshot.volumeId),
    startTime: eventTime(snapshot.startTime),
    endTime: eventTime(endOf(snapshot)),
  });
}

/** CreateSnapshots: one event for the set, with EBS's multi-volume ARN form. */
export function multiVolumeSnapshotsCreated(snapshots: readonly SnapshotRecord[]): Ec2Event | undefined {
  const [first] = snapshots;
  if (!first) return undefined;
  const region = first.region;
  const failed = snapshots.find((s) => s.state === 'error');
  const end = Math.max(...snapshots.map(endOf));
  return envelope(
    'EBS Multi-Volume Snapshots Completion Status',
    first.ownerId,
    region,
    end,
    snapshots.map((s) => multiVolumeArn(region, 'snapshot', s.snapshotId)),
    {
      event: 'createSnapshots',
      result: failed ? 'failed' : 'succeeded',
      cause: failed ? `Snapshot ${failed.snapshotId} is in status error` : '',
      'request-id': '',
      startTime: eventTime(first.startTime),
      endTime: eventTime(end),
      snapshots: snapshots.map((s) => ({
        snapshot_id: multiVolumeArn(region, 'snapshot', s.snapshotId),
        source: multiVolumeArn(region, 'volume', s.volumeId),
        status: s.state,
      })),
    },
  );
}

/** A CopySnapshot that completed or failed, in the destination Region; `source` is the source snapshot. */
export function snapshotCopied(snapshot: SnapshotRecord): Ec2Event | undefined {
  const copy = snapshot.copy;
  if (!copy) return undefined;
  const arn = ebsArn(snapshot.region, 'snapshot', snapshot.snapshotId);
  const succeeded = snapshot.state === 'completed';
  return envelope('EBS Snapshot Notification', snapshot.ownerId, snapshot.region, endOf(snapshot), [arn], {
    event: 'copySnapshot',
    result: succeeded ? 'succeeded' : 'failed',
    cause: succeeded ? '' : (snapshot.stateMessage ?? ''),
    'request-id': '',
    snapshot_id: arn,
    source: ebsArn(copy.sourceRegion, 'snapshot', copy.sourceSnapshotId),
    startTime: eventTime(snapshot.startTime),
    endTime: eventTime(endOf(snapshot)),
    ...(succeeded ? { Incremental: String(copy.incremental) } : {}),
  });
}

/** "EC2 AMI State Change" (`available`, `failed`, `deregistered`); EC2 sends these on a best-effort basis. */
export function imageStateChanged(
  image: ImageRecord,
  state: 'available' | 'failed' | 'deregistered',
  at: number,
): Ec2Event {
  return envelope(
    'EC2 AMI State Change',
    image.ownerId,
    image.region,
    at,
    [ebsArn(image.region, 'image', image.imageId)],
    {
      RequestId: image.requestId,
      ImageId: image.imageId,
      State: state,
      ErrorMessage: state === 'failed' ? (image.stateReason?.message ?? '') : '',
    },
  );
}
