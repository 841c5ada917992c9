import { type Ec2CopyStepDeps, runEc2CopyStep } from '#ec2/copy-steps';
import { Ec2CopyStepInputSchema } from '#ec2/ec2-copy-contract';
import { instrumented } from '#observability/middleware';
import type { Powertools } from '#observability/powertools';

/** One step of the snapshot-copy and image-copy state machines (start, check, finalize, record-failure). */
export function createEc2CopyStepHandler(tools: Powertools, deps: Ec2CopyStepDeps) {
  return instrumented(tools, Ec2CopyStepInputSchema, (input) => runEc2CopyStep(input, deps));
}
