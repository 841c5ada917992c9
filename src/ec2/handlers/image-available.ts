import { stepFunctionsStarters } from '#adapters/step-functions';
import { ImageStateChangeEventSchema } from '#ec2/images/event';
import { type ImageReplicationDeps, replicateImage } from '#ec2/images/replicate';
import { createEc2ClientFactory } from '#foundation/aws-clients';
import { functionBaseFromEnvironment } from '#foundation/function-base';
import { instrumented } from '#foundation/observability/middleware';
import type { Powertools } from '#foundation/observability/powertools';
import { ec2StarterFromEnvironment, imageReplicationDeps } from './wiring.ts';

/** "EC2 AMI State Change" (available) → image-copy executions. */
export function createImageAvailableHandler(tools: Powertools, deps: ImageReplicationDeps) {
  return instrumented(tools, ImageStateChangeEventSchema, (event) => replicateImage(event, deps));
}

/** imageAvailable's wiring at Lambda init: EC2, and the image-copy machine. */
export function imageRuntimeFromEnvironment(env: NodeJS.ProcessEnv = process.env) {
  const base = functionBaseFromEnvironment(env);
  const ec2 = createEc2ClientFactory(base.clientOptions);
  const copies = ec2StarterFromEnvironment(env, 'imageCopy', stepFunctionsStarters(base.clientOptions));
  return { tools: base.tools, deps: imageReplicationDeps(base, ec2, copies) };
}

/** The deployed function, wired at Lambda init. */
export function imageAvailableHandlerFromEnvironment(env: NodeJS.ProcessEnv = process.env) {
  const { tools, deps } = imageRuntimeFromEnvironment(env);
  return createImageAvailableHandler(tools, deps);
}
