import { type CopyStepDeps, runCopyStep } from '#objects/copy-steps';
import { CopyStepInputSchema } from '#objects/object-copy-contract';
import { instrumented } from '#observability/middleware';
import type { Powertools } from '#observability/powertools';

/** One step of the object-copy state machine (copy, prepare, copy-parts, complete, abort, clean-up, record-failure). */
export function createObjectCopyStepHandler(tools: Powertools, deps: CopyStepDeps) {
  return instrumented(tools, CopyStepInputSchema, (input) => runCopyStep(input, deps));
}
