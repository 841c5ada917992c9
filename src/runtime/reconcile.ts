import { createEc2ClientFactory, createS3ClientFactory } from '#aws/clients';
import { stepFunctionsStarters } from '#aws/step-functions';
import type { ImageReplicationDeps } from '#images/replicate';
import type { ObjectReplicationDeps } from '#objects/replicate';
import type { SourceAccount } from '#reconcile/objects';
import type { ReconcileDeps } from '#reconcile/reconcile';
import type { SnapshotReplicationDeps } from '#snapshots/replicate';
import { ec2StarterFromEnvironment, imageReplicationDeps, snapshotReplicationDeps } from './ec2.ts';
import {
  type FunctionBase,
  functionBaseFromEnvironment,
  missingStarter,
  STATE_MACHINE_ARN,
  starterFromEnvironment,
} from './function-base.ts';
import { objectReplicationDeps } from './objects.ts';

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

/** reconcile at Lambda init: S3, EC2 and all three state machines, as the handlers it stands in for. */
export function reconcileRuntimeFromEnvironment(env: NodeJS.ProcessEnv = process.env) {
  const base = functionBaseFromEnvironment(env);
  const s3 = createS3ClientFactory(base.clientOptions);
  const ec2 = createEc2ClientFactory(base.clientOptions);
  const starters = stepFunctionsStarters(base.clientOptions);
  const objectCopies = starterFromEnvironment(env, STATE_MACHINE_ARN.objectCopy, starters.objects);
  return {
    tools: base.tools,
    reconcileDeps: reconcileDepsOf(base, {
      objects: objectReplicationDeps(base, s3, objectCopies),
      snapshots: snapshotReplicationDeps(base, ec2, ec2StarterFromEnvironment(env, 'snapshotCopy', starters)),
      images: imageReplicationDeps(base, ec2, ec2StarterFromEnvironment(env, 'imageCopy', starters)),
    }),
  };
}
