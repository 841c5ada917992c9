import type { Ec2CopyStarter } from '#ec2/copy-machine/contract';
import { createPowertools, type Log, type Powertools } from '#foundation/observability/powertools';
import {
  powertoolsReplicationMetrics,
  type ReplicationMetrics,
} from '#foundation/observability/replication-metrics';
import type { CopyStarter } from '#objects/copy-machine/contract';
import { createEventsClientFactory, eventBridgeRpoEvents } from '#rpo/events';
import { powertoolsRpoMetrics } from '#rpo/metrics';
import type { RpoDeps } from '#rpo/observe';
import type { FerryConfig } from '#rules/config';
import { loadCompiledRules } from '#rules/validate';
import type { AwsClientOptions, AwsTarget } from './aws-clients.ts';

/**
 * The rules a function runs with: `FERRY_CONFIG`, the JSON that `npm run package` compiles from the YAML and
 * packages beside the bundle (Lambda's cwd).
 */
export const configPath = (env: NodeJS.ProcessEnv = process.env): string =>
  env.FERRY_CONFIG ?? '.build/rules.json';

/** What every function is wired with, whatever it replicates (one per Lambda environment). */
export interface FunctionBase {
  config: FerryConfig;
  tools: Powertools;
  /** How this function's AWS clients are made: the caller's options, every client traced. */
  clientOptions: AwsClientOptions;
  /** What the deps of every domain share. */
  common: { log: Log; metrics: ReplicationMetrics; now: () => number; rpo: RpoDeps };
}

export function createFunctionBase(config: FerryConfig, options: AwsClientOptions = {}): FunctionBase {
  const tools = createPowertools();
  const clientOptions: AwsClientOptions = {
    ...options,
    // The caller's own instrument (the sandbox's call recorder) first, then the tracer.
    instrument: <T>(client: T, target: AwsTarget) =>
      tools.tracer.captureAWSv3Client(options.instrument ? options.instrument(client, target) : client),
  };
  // RPO events go to the default bus of the function's own Region (Lambda sets AWS_REGION); the client is
  // made at the first event, so a deployment whose rules set no `rpo` never makes one.
  const rpo: RpoDeps = {
    log: tools.logger,
    metrics: powertoolsRpoMetrics(tools.documents),
    events: eventBridgeRpoEvents(
      createEventsClientFactory(clientOptions),
      process.env.AWS_REGION ?? 'us-east-1',
    ),
  };
  return {
    config,
    tools,
    clientOptions,
    common: { log: tools.logger, metrics: powertoolsReplicationMetrics(tools.documents), now: Date.now, rpo },
  };
}

/** Called once at Lambda init: an invalid configuration fails the init, naming every bad path. */
export const functionBaseFromEnvironment = (env: NodeJS.ProcessEnv = process.env): FunctionBase =>
  createFunctionBase(loadCompiledRules(configPath(env)));

/** The variables that name this deployment's state machines. */
export const STATE_MACHINE_ARN = {
  objectCopy: 'FERRY_OBJECT_COPY_STATE_MACHINE_ARN',
  snapshotCopy: 'FERRY_SNAPSHOT_COPY_STATE_MACHINE_ARN',
  imageCopy: 'FERRY_IMAGE_COPY_STATE_MACHINE_ARN',
  /** Deployed where some rule names inventories (deploy/inventory-machine.ts); the scheduled reconcile starts it. */
  inventoryReconcile: 'FERRY_INVENTORY_RECONCILE_STATE_MACHINE_ARN',
} as const;

/** A starter for a state machine this deployment did not name: using it is a deployment error. */
export const missingStarter = (variable: string): Ec2CopyStarter & CopyStarter => ({
  start: () => Promise.reject(new Error(`${variable} is not set: this function cannot start copies`)),
});

/** The starter of the state machine `variable` names, when the deployment names one. */
export function starterFromEnvironment<Starter>(
  env: NodeJS.ProcessEnv,
  variable: string,
  starterOf: (stateMachineArn: string) => Starter,
): Starter | undefined {
  const arn = env[variable];
  return arn ? starterOf(arn) : undefined;
}
