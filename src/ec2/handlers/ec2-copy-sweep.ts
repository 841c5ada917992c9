import { z } from 'zod';
import { COPY_WAITERS_TABLE_VARIABLE } from '#adapters/copy-waiters';
import { createSfnClientFactory } from '#adapters/step-functions';
import { type SweepDeps, sweepCopyWaits } from '#ec2/copy-machine/sweep';
import { CopySweepIncompleteError, CopyWaitersTableMissingError } from '#ec2/errors';
import { createDynamoDbClientFactory, createEc2ClientFactory } from '#foundation/aws-clients';
import { functionBaseFromEnvironment } from '#foundation/function-base';
import { instrumented } from '#foundation/observability/middleware';
import type { Powertools } from '#foundation/observability/powertools';
import { copySweepDepsOf } from './wiring.ts';

/** A scheduled invocation sends a "Scheduled Event"; its fields are not used. */
export const Ec2CopySweepInputSchema = z.object({});

/**
 * The hourly sweep of the copies waited for by event (src/ec2/copy-machine/sweep.ts). A sweep that left a
 * Region or a copy out fails the invocation once all were tried (`CopySweepIncompleteError`): Lambda's
 * retries run it again and its last failure reaches the dead letters and their alarm.
 */
export function createEc2CopySweepHandler(tools: Powertools, deps: SweepDeps) {
  return instrumented(tools, Ec2CopySweepInputSchema, async () => {
    const result = await sweepCopyWaits(deps);
    if (result.failed.length > 0 || result.failedEnds.length > 0)
      throw new CopySweepIncompleteError(result.failed, result.failedEnds);
    return result;
  });
}

/** ec2CopySweep's wiring at Lambda init: the table and Step Functions in the home Region, EC2 per Region. */
export function ec2CopySweepRuntimeFromEnvironment(env: NodeJS.ProcessEnv = process.env) {
  const base = functionBaseFromEnvironment(env);
  const table = env[COPY_WAITERS_TABLE_VARIABLE];
  if (!table) throw new CopyWaitersTableMissingError();
  const region = env.AWS_REGION ?? 'us-east-1';
  const deps = copySweepDepsOf(
    base.common,
    createEc2ClientFactory(base.clientOptions),
    table,
    createDynamoDbClientFactory(base.clientOptions)({ region }),
    createSfnClientFactory(base.clientOptions)({ region }),
  );
  return { tools: base.tools, deps };
}

/** The deployed function, wired at Lambda init. */
export function ec2CopySweepHandlerFromEnvironment(env: NodeJS.ProcessEnv = process.env) {
  const { tools, deps } = ec2CopySweepRuntimeFromEnvironment(env);
  return createEc2CopySweepHandler(tools, deps);
}
