import type { Ec2CopyJob, Ec2Destination } from '#ec2/copy-machine/contract';

export const SNAPSHOT_ID = 'snap-0a1b2c3d4e5f60718';
export const VOLUME_ID = 'vol-0f1e2d3c4b5a69788';

/**
 * The copy job of one snapshot to us-west-2 under the rule `ebs-dr`, as the router makes it: the same
 * snapshot across the unit tests, with what a test needs changed in its destination or source.
 */
export function snapshotCopyJob(
  change: { destination?: Partial<Ec2Destination>; source?: Partial<Ec2CopyJob['source']> } = {},
): Ec2CopyJob {
  return {
    kind: 'snapshot',
    rule: 'ebs-dr',
    destinationIndex: 0,
    destination: { region: 'us-west-2', copyTags: true, tags: {}, ...change.destination },
    source: {
      id: SNAPSHOT_ID,
      region: 'us-east-1',
      account: '111122223333',
      encrypted: false,
      description: 'nightly db',
      volumeId: VOLUME_ID,
      tags: {},
      ...change.source,
    },
    eventTime: '2026-11-21T18:43:48Z',
  };
}
