import { stepFunctionsStarters } from '#adapters/step-functions';
import { SnapshotEventSchema } from '#ec2/snapshots/event';
import { replicateSnapshots, type SnapshotReplicationDeps } from '#ec2/snapshots/replicate';
import { createEc2ClientFactory } from '#foundation/aws-clients';
import { functionBaseFromEnvironment } from '#foundation/function-base';
import { instrumented } from '#foundation/observability/middleware';
import type { Powertools } from '#foundation/observability/powertools';
import { ec2StarterFromEnvironment, snapshotReplicationDeps } from './wiring.ts';

/** EBS "Snapshot Notification" and "Multi-Volume Snapshots Completion Status" → snapshot-copy executions. */
export function createSnapshotCreatedHandler(tools: Powertools, deps: SnapshotReplicationDeps) {
  return instrumented(tools, SnapshotEventSchema, (event) => replicateSnapshots(event, deps));
}

/** snapshotCreated's wiring at Lambda init: EC2, and the snapshot-copy machine. */
export function snapshotRuntimeFromEnvironment(env: NodeJS.ProcessEnv = process.env) {
  const base = functionBaseFromEnvironment(env);
  const ec2 = createEc2ClientFactory(base.clientOptions);
  const copies = ec2StarterFromEnvironment(env, 'snapshotCopy', stepFunctionsStarters(base.clientOptions));
  return { tools: base.tools, deps: snapshotReplicationDeps(base, ec2, copies) };
}

/** The deployed function, wired at Lambda init. */
export function snapshotCreatedHandlerFromEnvironment(env: NodeJS.ProcessEnv = process.env) {
  const { tools, deps } = snapshotRuntimeFromEnvironment(env);
  return createSnapshotCreatedHandler(tools, deps);
}
