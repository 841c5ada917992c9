import type { Ec2CopyJob } from '#ec2/copy-machine/contract';
import type { SourceObject } from '#objects/event';
import { durationMs } from './duration.ts';
import type { RpoItem } from './threshold.ts';

/** The RPO items of Ferry's copies: an object to one replica, a snapshot or AMI to one destination. */

/** An object copy of a rule with `rpo`; undefined for a rule without. */
export function objectRpoItem(
  plan: {
    rule: { name: string; rpo?: string | undefined };
    destination: { bucket: string };
    destinationKey: string;
  },
  source: Pick<SourceObject, 'bucket' | 'key' | 'versionId' | 'eventTime' | 'size'>,
): RpoItem | undefined {
  if (plan.rule.rpo === undefined) return undefined;
  return {
    rule: plan.rule.name,
    kind: 'object',
    item: `s3://${source.bucket}/${source.key}${source.versionId ? `?versionId=${source.versionId}` : ''}`,
    destination: `s3://${plan.destination.bucket}/${plan.destinationKey}`,
    sourceTime: Date.parse(source.eventTime),
    rpoMs: durationMs(plan.rule.rpo),
    bytes: source.size,
  };
}

/** Where an EC2 copy goes, as the events name it: the Region, and the account when it is another. */
const ec2DestinationOf = (job: {
  destination: Pick<Ec2CopyJob['destination'], 'account' | 'region'>;
}): string =>
  job.destination.account ? `${job.destination.account}/${job.destination.region}` : job.destination.region;

/** A snapshot or AMI copy whose job carries its rule's `rpo`; undefined without. */
export function ec2RpoItem(
  job: Pick<Ec2CopyJob, 'rpo' | 'rule' | 'kind' | 'eventTime'> & {
    source: Pick<Ec2CopyJob['source'], 'id' | 'sizeGiB'>;
    destination: Pick<Ec2CopyJob['destination'], 'account' | 'region'>;
  },
): RpoItem | undefined {
  if (job.rpo === undefined) return undefined;
  return {
    rule: job.rule,
    kind: job.kind,
    item: job.source.id,
    destination: ec2DestinationOf(job),
    sourceTime: Date.parse(job.eventTime),
    rpoMs: durationMs(job.rpo),
    ...(job.source.sizeGiB !== undefined ? { bytes: job.source.sizeGiB * 1024 ** 3 } : {}),
  };
}

/**
 * How the backlog monitor sees a copy machine's item (threshold.ts, MonitorOptions): in an execution it
 * lists, since `startedAt`. From the second attempt on, an earlier execution of the same copy was there
 * before it: the pass judging the deadline saw that one (RUNNING or ended, src/rpo/ended.ts), or its own
 * failure sent the missed event (it started after the pass); either way the event is not this attempt's to
 * send again.
 */
export const machineMonitorOf = (startedAt: number | undefined, attempt: number | undefined) => ({
  monitored: true,
  ...(startedAt !== undefined && attempt === undefined ? { monitoredSince: startedAt } : {}),
});
