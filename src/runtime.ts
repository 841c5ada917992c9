import { type AwsClientOptions, createEc2ClientFactory, createS3ClientFactory } from '#aws/clients';
import type { Ec2CopyStepDeps } from '#ec2/copy-steps';
import type { Ec2CopyStarter } from '#ec2/ec2-copy-contract';
import type { RpoMonitorDeps } from '#handlers/rpo-monitor';
import type { ImageReplicationDeps } from '#images/replicate';
import type { CopyStepDeps } from '#objects/copy-steps';
import type { CopyStarter } from '#objects/object-copy-contract';
import type { ObjectReplicationDeps } from '#objects/replicate';
import type { Powertools } from '#observability/powertools';
import type { SourceAccount } from '#reconcile/objects';
import type { ReconcileDeps } from '#reconcile/reconcile';
import type { FerryConfig } from '#rules/config';
import { ec2CopyStepDeps, imageReplicationDeps, snapshotReplicationDeps } from '#runtime/ec2';
import { createFunctionBase } from '#runtime/function-base';
import { objectCopyStepDeps, objectReplicationDeps } from '#runtime/objects';
import { reconcileDepsOf } from '#runtime/reconcile';
import { rpoMonitorDeps } from '#runtime/rpo';
import type { SnapshotReplicationDeps } from '#snapshots/replicate';

// Every function's wiring at once, for the sandbox, the CLI and the benchmarks. A Lambda function imports
// only its own (src/runtime/*.ts), so its bundle holds only the clients and domains it uses.

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
  /** The RPO backlog monitor, over the copy machines named here, in their Region. */
  rpoMonitorDeps(
    stateMachineArns: { objectCopy?: string; snapshotCopy?: string; imageCopy?: string },
    region: string,
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
    rpoMonitorDeps: (stateMachineArns, region) => rpoMonitorDeps(base, stateMachineArns, region),
  };
}
