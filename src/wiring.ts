import type { Ec2CopyStarter } from '#ec2/copy-machine/contract';
import type { Ec2CopyStepDeps } from '#ec2/copy-machine/step-deps';
import { ec2CopyStepDeps, imageReplicationDeps, snapshotReplicationDeps } from '#ec2/handlers/wiring';
import type { ImageReplicationDeps } from '#ec2/images/replicate';
import type { SnapshotReplicationDeps } from '#ec2/snapshots/replicate';
import {
  type AwsClientOptions,
  createEc2ClientFactory,
  createS3ClientFactory,
} from '#foundation/aws-clients';
import { createFunctionBase } from '#foundation/function-base';
import type { Powertools } from '#foundation/observability/powertools';
import type { CopyStarter } from '#objects/copy-machine/contract';
import type { CopyStepDeps } from '#objects/copy-machine/copy-steps';
import { objectCopyStepDeps, objectReplicationDeps } from '#objects/handlers/wiring';
import type { ObjectReplicationDeps } from '#objects/replicate';
import type { SourceAccount } from '#reconcile/objects';
import type { ReconcileDeps } from '#reconcile/reconcile';
import { reconcileDepsOf } from '#reconcile/wiring';
import type { RpoMonitorDeps } from '#rpo/handler';
import { rpoMonitorDeps } from '#rpo/handler';
import type { FerryConfig } from '#rules/config';

// Every function's wiring at once, for the sandbox, the CLI and the benchmarks. A Lambda function imports
// only its own (its handler module, src/*/handlers/), so its bundle holds only the clients and domains it uses.

export interface Runtime {
  tools: Powertools;
  deps: ObjectReplicationDeps;
  copyStepDeps: CopyStepDeps;
  snapshotDeps: SnapshotReplicationDeps;
  imageDeps: ImageReplicationDeps;
  ec2CopyStepDeps: Ec2CopyStepDeps;
  /**
   * The reconcile pass, for source buckets in this account and Region. Copies it cannot start (no state
   * machine named) fail with the missing variable as their cause.
   */
  reconcileDeps(source: SourceAccount): ReconcileDeps;
  /** The RPO backlog monitor, over the copy machines named here, in their Region, and the dead letters. */
  rpoMonitorDeps(
    stateMachineArns: { objectCopy?: string; snapshotCopy?: string; imageCopy?: string },
    region: string,
    deadLetterQueueUrl?: string,
  ): RpoMonitorDeps;
}

export interface RuntimeOptions extends AwsClientOptions {
  /** Where object copies that leave the fast path go (the object-copy state machine). */
  copies?: CopyStarter | undefined;
  snapshotCopies?: Ec2CopyStarter | undefined;
  imageCopies?: Ec2CopyStarter | undefined;
}

/** Wires every function at once: the validated rules, instrumented AWS clients, metrics and logs. */
export function createRuntime(config: FerryConfig, options: RuntimeOptions = {}): Runtime {
  const { copies, snapshotCopies, imageCopies, ...clientOptions } = options;
  const base = createFunctionBase(config, clientOptions);
  const s3 = createS3ClientFactory(base.clientOptions);
  const ec2 = createEc2ClientFactory(base.clientOptions);
  const deps = objectReplicationDeps(base, s3, copies);
  const snapshotDeps = snapshotReplicationDeps(base, ec2, snapshotCopies);
  const imageDeps = imageReplicationDeps(base, ec2, imageCopies);
  return {
    tools: base.tools,
    deps,
    copyStepDeps: objectCopyStepDeps(base, s3),
    snapshotDeps,
    imageDeps,
    ec2CopyStepDeps: ec2CopyStepDeps(base, ec2),
    reconcileDeps: reconcileDepsOf(base, { objects: deps, snapshots: snapshotDeps, images: imageDeps }),
    rpoMonitorDeps: (stateMachineArns, region, deadLetterQueueUrl) =>
      rpoMonitorDeps(base, stateMachineArns, region, deadLetterQueueUrl),
  };
}
