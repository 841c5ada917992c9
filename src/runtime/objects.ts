import { createS3ClientFactory, type S3ClientFactory } from '#aws/clients';
import { stepFunctionsStarters } from '#aws/step-functions';
import type { CopyStepDeps } from '#objects/copy-steps';
import { DEFAULT_MULTIPART_SETTINGS } from '#objects/multipart-copy';
import type { CopyStarter } from '#objects/object-copy-contract';
import type { ObjectReplicationDeps } from '#objects/replicate';
import { objectRulesOf } from '#rules/config';
import {
  type FunctionBase,
  functionBaseFromEnvironment,
  STATE_MACHINE_ARN,
  starterFromEnvironment,
} from './function-base.ts';

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
    partConcurrency: config.copy.partConcurrency,
  },
});

/** objectCreated and objectDeleted at Lambda init: S3, and the object-copy machine for large objects. */
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

/** objectCopyStep at Lambda init: S3 only. */
export function objectCopyStepRuntimeFromEnvironment(env: NodeJS.ProcessEnv = process.env) {
  const base = functionBaseFromEnvironment(env);
  return { tools: base.tools, deps: objectCopyStepDeps(base, createS3ClientFactory(base.clientOptions)) };
}
