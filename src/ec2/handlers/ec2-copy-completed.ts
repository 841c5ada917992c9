import {
  type CompletionDeps,
  CopyCompletionEventSchema,
  completeCopyWait,
} from '#ec2/copy-machine/completion';
import { CopyWaitersTableMissingError } from '#ec2/errors';
import { functionBaseFromEnvironment } from '#foundation/function-base';
import { instrumented } from '#foundation/observability/middleware';
import type { Powertools } from '#foundation/observability/powertools';
import { copyWaitsFromEnvironment } from './wiring.ts';

/** A copy's `copySnapshot` result or "EC2 AMI State Change" → the execution waiting for it goes on. */
export function createEc2CopyCompletedHandler(tools: Powertools, deps: CompletionDeps) {
  return instrumented(tools, CopyCompletionEventSchema, (event) => completeCopyWait(event, deps));
}

/** ec2CopyCompleted's wiring at Lambda init: the copy-waiters table and Step Functions, in the home Region. */
export function ec2CopyCompletedRuntimeFromEnvironment(env: NodeJS.ProcessEnv = process.env) {
  const base = functionBaseFromEnvironment(env);
  const waits = copyWaitsFromEnvironment(base, env);
  if (!waits) throw new CopyWaitersTableMissingError();
  return { tools: base.tools, deps: { ...waits, log: base.common.log, now: base.common.now } };
}

/** The deployed function, wired at Lambda init. */
export function ec2CopyCompletedHandlerFromEnvironment(env: NodeJS.ProcessEnv = process.env) {
  const { tools, deps } = ec2CopyCompletedRuntimeFromEnvironment(env);
  return createEc2CopyCompletedHandler(tools, deps);
}
