import type { ImageReplicationDeps } from '#ec2/images/replicate';
import type { SnapshotReplicationDeps } from '#ec2/snapshots/replicate';
import { type FunctionBase, missingStarter, STATE_MACHINE_ARN } from '#foundation/function-base';
import type { ObjectReplicationDeps } from '#objects/replicate';
import type { SourceAccount } from './objects.ts';
import type { ReconcileDeps } from './reconcile.ts';

/**
 * The reconcile pass, for source buckets in this account and Region, through the handlers' own deps.
 * Copies it cannot start (no state machine named) fail with the missing variable as their cause.
 */
export const reconcileDepsOf =
  (
    { config, common }: FunctionBase,
    handlers: {
      objects: ObjectReplicationDeps;
      snapshots: SnapshotReplicationDeps;
      images: ImageReplicationDeps;
    },
  ) =>
  (source: SourceAccount): ReconcileDeps => ({
    rules: config.rules,
    objects: {
      ...handlers.objects,
      // Large objects leave the fast path: without the state machine they are reported, not copied whole.
      copies: handlers.objects.copies ?? missingStarter(STATE_MACHINE_ARN.objectCopy),
      source,
    },
    ec2: { snapshots: handlers.snapshots, images: handlers.images, now: common.now },
  });
