import { createS3ClientFactory } from '#foundation/aws-clients';
import { functionBaseFromEnvironment } from '#foundation/function-base';
import { instrumented } from '#foundation/observability/middleware';
import type { Powertools } from '#foundation/observability/powertools';
import { CopyStepInputSchema } from '#objects/copy-machine/contract';
import { type CopyStepDeps, runCopyStep } from '#objects/copy-machine/copy-steps';
import { objectCopyStepDeps } from './wiring.ts';

/** One step of the object-copy state machine (copy, prepare, copy-parts, complete, abort, clean-up, record-failure). */
export function createObjectCopyStepHandler(tools: Powertools, deps: CopyStepDeps) {
  return instrumented(tools, CopyStepInputSchema, (input) => runCopyStep(input, deps));
}

/** objectCopyStep's wiring at Lambda init: S3 only. */
export function objectCopyStepRuntimeFromEnvironment(env: NodeJS.ProcessEnv = process.env) {
  const base = functionBaseFromEnvironment(env);
  return { tools: base.tools, deps: objectCopyStepDeps(base, createS3ClientFactory(base.clientOptions)) };
}

/** The deployed function, wired at Lambda init. */
export function objectCopyStepHandlerFromEnvironment(env: NodeJS.ProcessEnv = process.env) {
  const { tools, deps } = objectCopyStepRuntimeFromEnvironment(env);
  return createObjectCopyStepHandler(tools, deps);
}
