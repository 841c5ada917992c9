import { type AwsClientOptions, createS3ClientFactory } from '#aws/clients';
import { stepFunctionsCopyStarter } from '#aws/step-functions';
import type { CopyStarter } from '#objects/copy-job';
import type { CopyStepDeps } from '#objects/copy-steps';
import { DEFAULT_MULTIPART_SETTINGS } from '#objects/multipart-copy';
import type { ObjectReplicationDeps } from '#objects/replicate';
import { createPowertools, type Powertools } from '#observability/powertools';
import { powertoolsReplicationMetrics } from '#observability/replication-metrics';
import type { FerryConfig } from '#rules/config';
import { loadConfigFile } from '#rules/load';

/** The path of the rules file: `FERRY_CONFIG`, else `replication.yml` beside the bundle (Lambda's cwd). */
export const configPath = (env: NodeJS.ProcessEnv = process.env): string =>
  env.FERRY_CONFIG ?? 'replication.yml';

export interface Runtime {
  tools: Powertools;
  deps: ObjectReplicationDeps;
  copyStepDeps: CopyStepDeps;
}

/** Wires one Lambda environment: the validated rules, instrumented AWS clients, metrics and logs. */
export function createRuntime(
  config: FerryConfig,
  options: AwsClientOptions & { copies?: CopyStarter | undefined } = {},
): Runtime {
  const tools = createPowertools();
  const s3 = createS3ClientFactory({
    ...options,
    instrument: (client) => tools.tracer.captureAWSv3Client(client),
  });
  const common = {
    s3,
    log: tools.logger,
    metrics: powertoolsReplicationMetrics(tools.metrics),
    now: Date.now,
  };
  return {
    tools,
    deps: {
      ...common,
      rules: config.rules,
      multipartThreshold: config.copy.multipartThreshold,
      copies: options.copies,
    },
    copyStepDeps: {
      ...common,
      multipart: {
        ...DEFAULT_MULTIPART_SETTINGS,
        partSize: config.copy.partSize,
        partConcurrency: config.copy.partConcurrency,
      },
    },
  };
}

/**
 * Called once at Lambda init: an invalid configuration fails the init, naming every bad path. The
 * object-copy state machine is used when the deployment names it (`FERRY_OBJECT_COPY_STATE_MACHINE_ARN`).
 */
export function runtimeFromEnvironment(env: NodeJS.ProcessEnv = process.env): Runtime {
  const stateMachineArn = env.FERRY_OBJECT_COPY_STATE_MACHINE_ARN;
  return createRuntime(loadConfigFile(configPath(env)), {
    copies: stateMachineArn ? stepFunctionsCopyStarter(stateMachineArn) : undefined,
  });
}
