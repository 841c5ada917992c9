import { EventBridgeSchema } from '@aws-lambda-powertools/parser/schemas/eventbridge';
import { z } from 'zod';
import { REGION } from '#rules/schema';

/**
 * EBS snapshot events as EventBridge delivers them (`source: aws.ec2`), extended from the Powertools
 * EventBridge schema. Their ARNs are not in the usual form, and not even in one form: the EBS user guide's
 * samples put the Region where the account goes (`arn:aws:ec2::us-east-1:snapshot/snap-…`), older samples
 * leave the account empty (`arn:aws:ec2:us-west-2::snapshot/snap-…`), and some events carry the regular
 * `arn:aws:ec2:REGION:ACCOUNT:snapshot/snap-…`. All three are read; the Region is whichever field holds one.
 */

const EC2_ARN =
  /^arn:aws[a-z-]*:ec2:([a-z0-9-]*):([a-z0-9-]*):(snapshot|volume)\/((?:snap|vol)-[0-9a-f]{8,17})$/;

export interface Ec2Arn {
  type: 'snapshot' | 'volume';
  id: string;
  /** Absent when neither field of the ARN holds a Region. */
  region?: string;
}

/** A snapshot or volume ARN in any of the forms EBS events use, or undefined if it is not one. */
export function parseEc2Arn(arn: string): Ec2Arn | undefined {
  const match = EC2_ARN.exec(arn);
  if (!match) return undefined;
  const [, fourth = '', fifth = '', type, id = ''] = match;
  const region = [fourth, fifth].find((field) => REGION.test(field));
  return { type: type === 'volume' ? 'volume' : 'snapshot', id, ...(region ? { region } : {}) };
}

const snapshotArn = z
  .string()
  .refine(
    (arn) => parseEc2Arn(arn)?.type === 'snapshot',
    'expected a snapshot ARN (arn:aws:ec2:REGION::snapshot/snap-…)',
  );

/** Who or what the snapshot came from: a volume ARN (create), a snapshot ARN (copy), an account id (share). */
const origin = z.union([z.string(), z.number().transform(String)]);

const Ec2Event = EventBridgeSchema.extend({ source: z.literal('aws.ec2') });

const outcome = {
  /** createSnapshot, createSnapshots, copySnapshot, shareSnapshot, … */
  event: z.string().min(1),
  /** succeeded or failed. */
  result: z.string().min(1),
  cause: z.string().default(''),
  'request-id': z.string().optional(),
  startTime: z.string().optional(),
  endTime: z.string().optional(),
};

export const SnapshotNotificationEventSchema = Ec2Event.extend({
  'detail-type': z.literal('EBS Snapshot Notification'),
  detail: z.object({ ...outcome, snapshot_id: snapshotArn, source: origin.optional() }),
});

export const MultiVolumeSnapshotsEventSchema = Ec2Event.extend({
  'detail-type': z.literal('EBS Multi-Volume Snapshots Completion Status'),
  detail: z
    .object({
      ...outcome,
      snapshots: z.array(
        z.object({ snapshot_id: snapshotArn, source: origin.optional(), status: z.string().min(1) }),
      ),
    })
    // A success that names no snapshot would pass unnoticed, copying nothing and logging no skip.
    .refine((detail) => detail.result !== 'succeeded' || detail.snapshots.length > 0, {
      path: ['snapshots'],
      message: 'expected at least one snapshot in a succeeded event',
    }),
});

export const SnapshotEventSchema = z.discriminatedUnion(
  'detail-type',
  [SnapshotNotificationEventSchema, MultiVolumeSnapshotsEventSchema],
  { error: 'expected "EBS Snapshot Notification" or "EBS Multi-Volume Snapshots Completion Status"' },
);

export type SnapshotNotificationEvent = z.infer<typeof SnapshotNotificationEventSchema>;
export type MultiVolumeSnapshotsEvent = z.infer<typeof MultiVolumeSnapshotsEventSchema>;
export type SnapshotEvent = z.infer<typeof SnapshotEventSchema>;

/** A snapshot an event names, and whether Ferry should copy it (with the reason when not, for the logs). */
export interface CreatedSnapshot {
  snapshotId: string;
  region: string;
  volumeId?: string;
  accepted: boolean;
  reason?: string;
}

/** Why an event's kind is not a creation Ferry copies, or undefined when it is `creation`. */
function skippedEvent(event: string, creation: string): string | undefined {
  if (event === creation) return undefined;
  if (event === 'copySnapshot') return "copySnapshot events are Ferry's own or another copy";
  if (event === 'shareSnapshot') return 'shareSnapshot events are snapshots another account shared';
  return `${event} events are not snapshot creations`;
}

const failedResult = (detail: { result: string; cause: string }): string | undefined =>
  detail.result === 'succeeded'
    ? undefined
    : `result ${detail.result}${detail.cause ? `: ${detail.cause}` : ''}`;

function snapshotOf(
  arn: string,
  source: string | undefined,
  fallbackRegion: string,
  reason: string | undefined,
): CreatedSnapshot {
  const snapshot = parseEc2Arn(arn);
  const volume = source === undefined ? undefined : parseEc2Arn(source);
  return {
    snapshotId: snapshot?.id ?? arn,
    region: snapshot?.region ?? fallbackRegion,
    ...(volume?.type === 'volume' ? { volumeId: volume.id } : {}),
    accepted: reason === undefined,
    ...(reason === undefined ? {} : { reason }),
  };
}

/**
 * The snapshots an event reports, each accepted or skipped with its reason. Accepted: snapshots created by
 * createSnapshot, or by createSnapshots and `completed`, in an event whose result is `succeeded`. Copies
 * (Ferry's or anyone's), shares and failures are returned as skipped, so the handler can log each one.
 */
export function createdSnapshotsOf(event: SnapshotEvent): CreatedSnapshot[] {
  if (event['detail-type'] === 'EBS Snapshot Notification') {
    const { detail } = event;
    const reason = skippedEvent(detail.event, 'createSnapshot') ?? failedResult(detail);
    return [snapshotOf(detail.snapshot_id, detail.source, event.region, reason)];
  }
  const { detail } = event;
  const eventReason = skippedEvent(detail.event, 'createSnapshots') ?? failedResult(detail);
  return detail.snapshots.map((snapshot) =>
    snapshotOf(
      snapshot.snapshot_id,
      snapshot.source,
      event.region,
      eventReason ?? (snapshot.status === 'completed' ? undefined : `status ${snapshot.status}`),
    ),
  );
}
