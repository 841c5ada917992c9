import { createEc2ClientFactory, type Ec2ClientFactory } from '#aws/clients';
import { type StepFunctionsStarters, stepFunctionsStarters } from '#aws/step-functions';
import type { Ec2CopyStepDeps } from '#ec2/copy-steps';
import type { Ec2CopyStarter } from '#ec2/ec2-copy-contract';
import { imageCopies } from '#images/image-copies';
import type { ImageReplicationDeps } from '#images/replicate';
import { imageRulesOf, snapshotRulesOf } from '#rules/config';
import type { SnapshotReplicationDeps } from '#snapshots/replicate';
import { snapshotCopies } from '#snapshots/snapshot-copies';
import {
  type FunctionBase,
  functionBaseFromEnvironment,
  missingStarter,
  STATE_MACHINE_ARN,
  starterFromEnvironment,
} from './function-base.ts';

/** What snapshotCreated (and reconcile's snapshot pass) works with. */
export const snapshotReplicationDeps = (
  { config, common }: FunctionBase,
  ec2: Ec2ClientFactory,
  copies: Ec2CopyStarter | undefined,
): SnapshotReplicationDeps => ({
  ...common,
  ec2,
  rules: snapshotRulesOf(config),
  copies: copies ?? missingStarter(STATE_MACHINE_ARN.snapshotCopy),
});

/** What imageAvailable (and reconcile's AMI pass) works with. */
export const imageReplicationDeps = (
  { config, common }: FunctionBase,
  ec2: Ec2ClientFactory,
  copies: Ec2CopyStarter | undefined,
): ImageReplicationDeps => ({
  ...common,
  ec2,
  rules: imageRulesOf(config),
  copies: copies ?? missingStarter(STATE_MACHINE_ARN.imageCopy),
});

/** What the snapshot-copy and image-copy state machines' step works with. */
export const ec2CopyStepDeps = ({ common }: FunctionBase, ec2: Ec2ClientFactory): Ec2CopyStepDeps => ({
  ...common,
  ec2,
  kinds: { snapshot: snapshotCopies, image: imageCopies },
});

/** The starter of the snapshot-copy or image-copy machine this deployment names, if it does. */
export const ec2StarterFromEnvironment = (
  env: NodeJS.ProcessEnv,
  machine: 'snapshotCopy' | 'imageCopy',
  starters: StepFunctionsStarters,
) => starterFromEnvironment(env, STATE_MACHINE_ARN[machine], starters.ec2);

/** snapshotCreated at Lambda init: EC2, and the snapshot-copy machine. */
export function snapshotRuntimeFromEnvironment(env: NodeJS.ProcessEnv = process.env) {
  const base = functionBaseFromEnvironment(env);
  const ec2 = createEc2ClientFactory(base.clientOptions);
  return {
    tools: base.tools,
    deps: snapshotReplicationDeps(
      base,
      ec2,
      ec2StarterFromEnvironment(env, 'snapshotCopy', stepFunctionsStarters(base.clientOptions)),
    ),
  };
}

/** imageAvailable at Lambda init: EC2, and the image-copy machine. */
export function imageRuntimeFromEnvironment(env: NodeJS.ProcessEnv = process.env) {
  const base = functionBaseFromEnvironment(env);
  const ec2 = createEc2ClientFactory(base.clientOptions);
  return {
    tools: base.tools,
    deps: imageReplicationDeps(
      base,
      ec2,
      ec2StarterFromEnvironment(env, 'imageCopy', stepFunctionsStarters(base.clientOptions)),
    ),
  };
}

/** ec2CopyStep at Lambda init: EC2 only. */
export function ec2CopyStepRuntimeFromEnvironment(env: NodeJS.ProcessEnv = process.env) {
  const base = functionBaseFromEnvironment(env);
  return { tools: base.tools, deps: ec2CopyStepDeps(base, createEc2ClientFactory(base.clientOptions)) };
}
