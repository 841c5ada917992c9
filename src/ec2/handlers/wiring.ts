import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SFNClient } from '@aws-sdk/client-sfn';
import {
  COPY_WAITERS_TABLE_VARIABLE,
  dynamoDbCopyWaiters,
  dynamoDbSlotWaiters,
  dynamoDbWaiterListing,
} from '#adapters/copy-waiters';
import { createSfnClientFactory, type StepFunctionsStarters } from '#adapters/step-functions';
import { stepFunctionsTaskCallbacks } from '#adapters/task-callbacks';
import type { AwaitDeps } from '#ec2/copy-machine/await-step';
import type { Ec2CopyStarter } from '#ec2/copy-machine/contract';
import type { Ec2CopyStepDeps } from '#ec2/copy-machine/step-deps';
import type { SweepDeps } from '#ec2/copy-machine/sweep';
import { imageCopies } from '#ec2/images/image-copies';
import type { ImageReplicationDeps } from '#ec2/images/replicate';
import type { SnapshotReplicationDeps } from '#ec2/snapshots/replicate';
import { snapshotCopies } from '#ec2/snapshots/snapshot-copies';
import { createDynamoDbClientFactory, type Ec2ClientFactory } from '#foundation/aws-clients';
import {
  type FunctionBase,
  missingStarter,
  STATE_MACHINE_ARN,
  starterFromEnvironment,
} from '#foundation/function-base';
import { imageRulesOf, snapshotRulesOf } from '#rules/config';

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
export const ec2CopyStepDeps = (
  { common }: FunctionBase,
  ec2: Ec2ClientFactory,
  waits?: AwaitDeps,
): Ec2CopyStepDeps => ({
  ...common,
  ec2,
  kinds: { snapshot: snapshotCopies, image: imageCopies },
  ...(waits ? { await: waits } : {}),
});

/**
 * The copy-waiters table and Step Functions' callbacks, both in the function's own (home) Region, when the
 * deployment names the table (`FERRY_COPY_WAITERS_TABLE`): event-driven waiting.
 */
export function copyWaitsFromEnvironment(
  { clientOptions }: FunctionBase,
  env: NodeJS.ProcessEnv,
): AwaitDeps | undefined {
  const table = env[COPY_WAITERS_TABLE_VARIABLE];
  if (!table) return undefined;
  const region = env.AWS_REGION ?? 'us-east-1';
  return copyWaitsOf(
    table,
    createDynamoDbClientFactory(clientOptions)({ region }),
    createSfnClientFactory(clientOptions)({ region }),
  );
}

/** The starter of the snapshot-copy or image-copy machine this deployment names, if it does. */
export const ec2StarterFromEnvironment = (
  env: NodeJS.ProcessEnv,
  machine: 'snapshotCopy' | 'imageCopy',
  starters: StepFunctionsStarters,
) => starterFromEnvironment(env, STATE_MACHINE_ARN[machine], starters.ec2);

/** The copy waiters, the slot queues (one table) and the callbacks that end their waits. */
export const copyWaitsOf = (table: string, dynamoDb: DynamoDBClient, sfn: SFNClient): AwaitDeps => ({
  waiters: dynamoDbCopyWaiters(table, dynamoDb),
  slots: dynamoDbSlotWaiters(table, dynamoDb),
  callbacks: stepFunctionsTaskCallbacks(sfn),
});

/** The sweep's look at a Region's copies of one kind, by id filter (`CopyKind.describeMany`). */
export const copyDescriber =
  (ec2: Ec2ClientFactory): SweepDeps['describe'] =>
  (region, kind, ids) =>
    (kind === 'snapshot' ? snapshotCopies : imageCopies).describeMany(ec2({ region }), ids);

/**
 * What the sweep works with: the copy waits (the table, the callbacks) and its listing, and Ferry's own EC2
 * client in each Region (a copy with a waiter was made in Ferry's account: `completionEventReachesStack`).
 */
export const copySweepDepsOf = (
  common: Pick<FunctionBase['common'], 'log' | 'now'>,
  ec2: Ec2ClientFactory,
  table: string,
  dynamoDb: DynamoDBClient,
  sfn: SFNClient,
): SweepDeps => ({
  ...copyWaitsOf(table, dynamoDb, sfn),
  listing: dynamoDbWaiterListing(table, dynamoDb),
  describe: copyDescriber(ec2),
  log: common.log,
  now: common.now,
});
