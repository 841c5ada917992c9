import { instrumented } from '#foundation/observability/middleware';
import type { Powertools } from '#foundation/observability/powertools';
import { deletedObjectOf, deleteReplicas } from '#objects/delete-replicas';
import { ObjectDeletedEventSchema } from '#objects/event';
import { throwIfRetryable } from '#objects/outcomes';
import type { ObjectReplicationDeps } from '#objects/replicate';
import { objectRuntimeFromEnvironment } from './wiring.ts';

/** S3 "Object Deleted" → delete Ferry's replicas where a rule has `replicateDeletes`. */
export function createObjectDeletedHandler(tools: Powertools, deps: ObjectReplicationDeps) {
  return instrumented(tools, ObjectDeletedEventSchema, async (event) =>
    throwIfRetryable(await deleteReplicas(deletedObjectOf(event), deps)),
  );
}

/** The deployed function, wired at Lambda init. */
export function objectDeletedHandlerFromEnvironment(env: NodeJS.ProcessEnv = process.env) {
  const { tools, deps } = objectRuntimeFromEnvironment(env);
  return createObjectDeletedHandler(tools, deps);
}
