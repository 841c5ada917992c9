import { stepFunctionsStarters } from '#adapters/step-functions';
import { createS3ClientFactory, type S3ClientFactory } from '#foundation/aws-clients';
import {
  type FunctionBase,
  functionBaseFromEnvironment,
  STATE_MACHINE_ARN,
  starterFromEnvironment,
} from '#foundation/function-base';
import type { CopyStarter } from '#objects/copy-machine/contract';
import type { CopyStepDeps } from '#objects/copy-machine/copy-steps';
import { DEFAULT_MULTIPART_SETTINGS } from '#objects/copy-machine/multipart-copy';
import type { ObjectReplicationDeps } from '#objects/replicate';
import { objectRulesOf } from '#rules/config';

/** What objectCreated and objectDeleted (and reconcile's object pass) work with. */
export const objectReplicationDeps = (
  { config, common }: FunctionBase,
  s3: S3ClientFactory,
  copies: CopyStarter | undefined,
): ObjectReplicationDeps => ({
  ...common,
  s3,
  rules: objectRulesOf(config),
  multipartThreshold: config.copy.multipartThreshold,
  copies,
});

/** What the object-copy state machine's step works with. */
export const objectCopyStepDeps = ({ config, common }: FunctionBase, s3: S3ClientFactory): CopyStepDeps => ({
  ...common,
  s3,
  multipart: {
    ...DEFAULT_MULTIPART_SETTINGS,
    partSize: config.copy.partSize,
    minPartSize: config.copy.minPartSize,
    partsInFlight: config.copy.partsInFlight,
    partConcurrency: config.copy.partConcurrency,
  },
});

/**
 * objectCreated's and objectDeleted's wiring at Lambda init (both work with the same deps): S3, and the
 * object-copy machine for large objects when the deployment names it.
 */
export function objectRuntimeFromEnvironment(env: NodeJS.ProcessEnv = process.env) {
  const base = functionBaseFromEnvironment(env);
  const copies = starterFromEnvironment(
    env,
    STATE_MACHINE_ARN.objectCopy,
    stepFunctionsStarters(base.clientOptions).objects,
  );
  return {
    tools: base.tools,
    deps: objectReplicationDeps(base, createS3ClientFactory(base.clientOptions), copies),
  };
}
