import { Ec2CopyStepInputSchema } from '#ec2/copy-machine/contract';
import { runEc2CopyStep } from '#ec2/copy-machine/copy-steps';
import type { Ec2CopyStepDeps } from '#ec2/copy-machine/step-deps';
import { createEc2ClientFactory } from '#foundation/aws-clients';
import { functionBaseFromEnvironment } from '#foundation/function-base';
import { instrumented } from '#foundation/observability/middleware';
import type { Powertools } from '#foundation/observability/powertools';
import { copyWaitsFromEnvironment, ec2CopyStepDeps } from './wiring.ts';

/** One step of the snapshot-copy and image-copy state machines (start, check, finalize, record-failure). */
export function createEc2CopyStepHandler(tools: Powertools, deps: Ec2CopyStepDeps) {
  return instrumented(tools, Ec2CopyStepInputSchema, (input) => runEc2CopyStep(input, deps));
}

/** ec2CopyStep's wiring at Lambda init: EC2, and with event-driven waiting the waiter table and callbacks. */
export function ec2CopyStepRuntimeFromEnvironment(env: NodeJS.ProcessEnv = process.env) {
  const base = functionBaseFromEnvironment(env);
  const ec2 = createEc2ClientFactory(base.clientOptions);
  return { tools: base.tools, deps: ec2CopyStepDeps(base, ec2, copyWaitsFromEnvironment(base, env)) };
}

/** The deployed function, wired at Lambda init. */
export function ec2CopyStepHandlerFromEnvironment(env: NodeJS.ProcessEnv = process.env) {
  const { tools, deps } = ec2CopyStepRuntimeFromEnvironment(env);
  return createEc2CopyStepHandler(tools, deps);
}
