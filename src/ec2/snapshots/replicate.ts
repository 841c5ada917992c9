import { DescribeSnapshotsCommand, type Snapshot } from '@aws-sdk/client-ec2';
import type { Ec2CopyJob, Ec2CopyStarter } from '#ec2/copy-machine/contract';
import { isFerryCopy, tagMap } from '#ec2/markers';
import { type StartOutcome, skip, startCopies } from '#ec2/start-copies';
import type { Ec2ClientFactory } from '#foundation/aws-clients';
import type { Log } from '#foundation/observability/powertools';
import type { ReplicationMetrics } from '#foundation/observability/replication-metrics';
import type { SnapshotRule } from '#rules/ec2-schema';
import { createdSnapshotsOf, type SnapshotEvent } from './event.ts';
import { planSnapshotCopies, type SnapshotFacts } from './router.ts';

export interface SnapshotReplicationDeps {
  rules: readonly SnapshotRule[];
  ec2: Ec2ClientFactory;
  copies: Ec2CopyStarter;
  log: Log;
  metrics: ReplicationMetrics;
}

/** What the router needs of a snapshot, from DescribeSnapshots. */
export const snapshotFactsOf = (snapshot: Snapshot, region: string): SnapshotFacts => ({
  snapshotId: snapshot.SnapshotId ?? '',
  region,
  ...(snapshot.VolumeId ? { volumeId: snapshot.VolumeId } : {}),
  ...(snapshot.VolumeSize !== undefined ? { volumeSizeGiB: snapshot.VolumeSize } : {}),
  encrypted: snapshot.Encrypted ?? false,
  description: snapshot.Description ?? '',
  tags: tagMap(snapshot.Tags),
});

/**
 * A snapshot was created: read it once (tags, volume, size and encryption are not in the event), route it
 * with the pure router, and start one snapshot-copy execution per destination. Copies, shares, failures
 * and Ferry's own snapshots are skipped with their reason.
 */
export async function replicateSnapshots(
  event: SnapshotEvent,
  deps: SnapshotReplicationDeps,
): Promise<StartOutcome[]> {
  const outcomes: StartOutcome[] = [];
  const accepted = new Map<string, string[]>();
  for (const created of createdSnapshotsOf(event)) {
    if (!created.accepted) {
      outcomes.push(skip(created.snapshotId, 'not-a-creation', created.reason ?? 'not a creation', deps));
      continue;
    }
    accepted.set(created.region, [...(accepted.get(created.region) ?? []), created.snapshotId]);
  }

  const jobs: Ec2CopyJob[] = [];
  for (const [region, ids] of accepted) {
    // One call per Region for every snapshot of the event (a multi-volume event names several).
    const found = await describeSnapshots(deps.ec2({ region }), ids);
    for (const id of ids) {
      const snapshot = found.get(id);
      if (!snapshot) {
        outcomes.push(skip(id, 'source-gone', `${id} no longer exists in ${region}`, deps));
        continue;
      }
      const facts = snapshotFactsOf(snapshot, region);
      if (isFerryCopy(facts.tags)) {
        outcomes.push(skip(id, 'ferry-copy', `${id} is a copy Ferry made`, deps));
        continue;
      }
      const plans = planSnapshotCopies(deps.rules, facts);
      if (plans.length === 0) {
        outcomes.push(skip(id, 'no-matching-rule', `no snapshot rule matches ${id}`, deps));
        continue;
      }
      for (const plan of plans) {
        jobs.push({
          kind: 'snapshot',
          rule: plan.rule.name,
          destinationIndex: plan.destinationIndex,
          destination: plan.destination,
          source: {
            id,
            region,
            account: snapshot.OwnerId ?? event.account,
            encrypted: facts.encrypted,
            description: facts.description,
            ...(facts.volumeId ? { volumeId: facts.volumeId } : {}),
            ...(facts.volumeSizeGiB !== undefined ? { sizeGiB: facts.volumeSizeGiB } : {}),
            tags: { ...facts.tags },
          },
          eventTime: event.time,
          ...(plan.rule.rpo !== undefined ? { rpo: plan.rule.rpo } : {}),
        });
      }
    }
  }
  outcomes.push(...(await startCopies(jobs, deps)));
  return outcomes;
}

/** DescribeSnapshots of ids in one Region: those that exist (routing and the RPO's dead letters read them so). */
export async function describeSnapshots(
  client: ReturnType<Ec2ClientFactory>,
  ids: string[],
): Promise<Map<string, Snapshot>> {
  const found = new Map<string, Snapshot>();
  try {
    const { Snapshots } = await client.send(new DescribeSnapshotsCommand({ SnapshotIds: ids }));
    for (const snapshot of Snapshots ?? []) if (snapshot.SnapshotId) found.set(snapshot.SnapshotId, snapshot);
  } catch (error) {
    if ((error as Error).name !== 'InvalidSnapshot.NotFound') throw error;
    // One unknown id fails the whole call: ask for each alone, so a deleted snapshot costs no others.
    if (ids.length > 1) {
      for (const id of ids)
        for (const [key, value] of await describeSnapshots(client, [id])) found.set(key, value);
    }
  }
  return found;
}
