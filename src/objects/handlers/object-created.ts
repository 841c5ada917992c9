import { instrumented } from '#foundation/observability/middleware';
import type { Powertools } from '#foundation/observability/powertools';
import { ObjectCreatedEventSchema, sourceObjectOf } from '#objects/event';
import { throwIfRetryable } from '#objects/outcomes';
import { type ObjectReplicationDeps, replicateObject } from '#objects/replicate';
import { objectRuntimeFromEnvironment } from './wiring.ts';

/** S3 "Object Created" → copy to every matching destination. Retryable failures are thrown for a retry. */
export function createObjectCreatedHandler(tools: Powertools, deps: ObjectReplicationDeps) {
  return instrumented(tools, ObjectCreatedEventSchema, async (event) =>
    throwIfRetryable(await replicateObject(sourceObjectOf(event), deps)),
  );
}

/** The deployed function, wired at Lambda init. */
export function objectCreatedHandlerFromEnvironment(env: NodeJS.ProcessEnv = process.env) {
  const { tools, deps } = objectRuntimeFromEnvironment(env);
  return createObjectCreatedHandler(tools, deps);
}
