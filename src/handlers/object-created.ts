import { ObjectCreatedEventSchema, sourceObjectOf } from '#objects/event';
import { throwIfRetryable } from '#objects/outcomes';
import { type ObjectReplicationDeps, replicateObject } from '#objects/replicate';
import { instrumented } from '#observability/middleware';
import type { Powertools } from '#observability/powertools';

/** S3 "Object Created" → copy to every matching destination. Retryable failures are thrown for a retry. */
export function createObjectCreatedHandler(tools: Powertools, deps: ObjectReplicationDeps) {
  return instrumented(tools, ObjectCreatedEventSchema, async (event) =>
    throwIfRetryable(await replicateObject(sourceObjectOf(event), deps)),
  );
}
