import { type AwsClientOptions, createEc2ClientFactory, createS3ClientFactory } from '#aws/clients';
import { stepFunctionsCopyStarter, stepFunctionsEc2CopyStarter } from '#aws/step-functions';
import type { Ec2CopyStarter } from '#ec2/copy-job';
import type { Ec2CopyStepDeps } from '#ec2/copy-steps';
import { imageCopies } from '#images/image-copies';
import type { ImageReplicationDeps } from '#images/replicate';
import type { CopyStarter } from '#objects/copy-job';
import type { CopyStepDeps } from '#objects/copy-steps';
import { DEFAULT_MULTIPART_SETTINGS } from '#objects/multipart-copy';
import type { ObjectReplicationDeps } from '#objects/replicate';
import { createPowertools, type Powertools } from '#observability/powertools';
import { powertoolsReplicationMetrics } from '#observability/replication-metrics';
import type { SourceAccount } from '#reconcile/objects';
import type { ReconcileDeps } from '#reconcile/reconcile';
import { type FerryConfig, imageRulesOf, objectRulesOf, snapshotRulesOf } from '#rules/config';
import { loadConfigFile } from '#rules/load';
import type { SnapshotReplicationDeps } from '#snapshots/replicate';
import { snapshotCopies } from '#snapshots/snapshot-copies';

/** The path of the rules file: `FERRY_CONFIG`, else `replication.yml` beside the bundle (Lambda's cwd). */
export const configPath = (env: NodeJS.ProcessEnv = process.env): string =>
  env.FERRY_CONFIG ?? 'replication.yml';

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
}

export interface RuntimeOptions extends AwsClientOptions {
  /** Where object copies that leave the fast path go (the object-copy state machine). */
  copies?: CopyStarter | undefined;
  snapshotCopies?: Ec2CopyStarter | undefined;
  imageCopies?: Ec2CopyStarter | undefined;
}

/** A starter for a state machine this deployment did not name: using it is a deployment error. */
const missingStarter = (variable: string): Ec2CopyStarter & CopyStarter => ({
  start: () => Promise.reject(new Error(`${variable} is not set: this function cannot start copies`)),
});

/** Wires one Lambda environment: the validated rules, instrumented AWS clients, metrics and logs. */
export function createRuntime(config: FerryConfig, options: RuntimeOptions = {}): Runtime {
  const tools = createPowertools();
  const clientOptions = { ...options, instrument: <T>(client: T) => tools.tracer.captureAWSv3Client(client) };
  const s3 = createS3ClientFactory(clientOptions);
  const ec2 = createEc2ClientFactory(clientOptions);
  const common = {
    log: tools.logger,
    metrics: powertoolsReplicationMetrics(tools.metrics),
    now: Date.now,
  };
  const deps: ObjectReplicationDeps = {
    ...common,
    s3,
    rules: objectRulesOf(config),
    multipartThreshold: config.copy.multipartThreshold,
    copies: options.copies,
  };
  const snapshotDeps: SnapshotReplicationDeps = {
    ...common,
    ec2,
    rules: snapshotRulesOf(config),
    copies: options.snapshotCopies ?? missingStarter('FERRY_SNAPSHOT_COPY_STATE_MACHINE_ARN'),
  };
  const imageDeps: ImageReplicationDeps = {
    ...common,
    ec2,
    rules: imageRulesOf(config),
    copies: options.imageCopies ?? missingStarter('FERRY_IMAGE_COPY_STATE_MACHINE_ARN'),
  };
  return {
    tools,
    deps,
    copyStepDeps: {
      ...common,
      s3,
      multipart: {
        ...DEFAULT_MULTIPART_SETTINGS,
        partSize: config.copy.partSize,
        partConcurrency: config.copy.partConcurrency,
      },
    },
    snapshotDeps,
    imageDeps,
    ec2CopyStepDeps: { ...common, ec2, kinds: { snapshot: snapshotCopies, image: imageCopies } },
    reconcileDeps: (source) => ({
      rules: config.rules,
      objects: {
        ...deps,
        // Large objects leave the fast path: without the state machine they are reported, not copied whole.
        copies: options.copies ?? missingStarter('FERRY_OBJECT_COPY_STATE_MACHINE_ARN'),
        source,
      },
      ec2: { snapshots: snapshotDeps, images: imageDeps, now: common.now },
    }),
  };
}

/**
 * Called once at Lambda init: an invalid configuration fails the init, naming every bad path. Each state
 * machine is used when the deployment names it (`FERRY_*_STATE_MACHINE_ARN`).
 */
export function runtimeFromEnvironment(env: NodeJS.ProcessEnv = process.env): Runtime {
  const arn = (variable: string) => env[variable];
  const objectArn = arn('FERRY_OBJECT_COPY_STATE_MACHINE_ARN');
  const snapshotArn = arn('FERRY_SNAPSHOT_COPY_STATE_MACHINE_ARN');
  const imageArn = arn('FERRY_IMAGE_COPY_STATE_MACHINE_ARN');
  return createRuntime(loadConfigFile(configPath(env)), {
    copies: objectArn ? stepFunctionsCopyStarter(objectArn) : undefined,
    snapshotCopies: snapshotArn ? stepFunctionsEc2CopyStarter(snapshotArn) : undefined,
    imageCopies: imageArn ? stepFunctionsEc2CopyStarter(imageArn) : undefined,
  });
}
