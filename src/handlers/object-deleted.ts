import { deletedObjectOf, deleteReplicas } from '#objects/delete-replicas';
import { ObjectDeletedEventSchema } from '#objects/event';
import { throwIfRetryable } from '#objects/outcomes';
import type { ObjectReplicationDeps } from '#objects/replicate';
import { instrumented } from '#observability/middleware';
import type { Powertools } from '#observability/powertools';

/** S3 "Object Deleted" → delete Ferry's replicas where a rule has `replicateDeletes`. */
export function createObjectDeletedHandler(tools: Powertools, deps: ObjectReplicationDeps) {
  return instrumented(tools, ObjectDeletedEventSchema, async (event) =>
    throwIfRetryable(await deleteReplicas(deletedObjectOf(event), deps)),
  );
}
