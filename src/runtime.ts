import { type AwsClientOptions, createS3ClientFactory } from '#aws/clients';
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
}

/** Wires one Lambda environment: the validated rules, instrumented AWS clients, metrics and logs. */
export function createRuntime(config: FerryConfig, clientOptions: AwsClientOptions = {}): Runtime {
  const tools = createPowertools();
  const s3 = createS3ClientFactory({
    ...clientOptions,
    instrument: (client) => tools.tracer.captureAWSv3Client(client),
  });
  return {
    tools,
    deps: {
      rules: config.rules,
      s3,
      log: tools.logger,
      metrics: powertoolsReplicationMetrics(tools.metrics),
      now: Date.now,
    },
  };
}

/** Called once at Lambda init: an invalid configuration fails the init, naming every bad path. */
export function runtimeFromEnvironment(): Runtime {
  return createRuntime(loadConfigFile(configPath()));
}
