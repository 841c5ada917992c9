import { instrumented } from '#foundation/observability/middleware';
import type { Powertools } from '#foundation/observability/powertools';
import { ObjectTagsChangedEventSchema } from '#objects/event';
import { throwIfRetryable } from '#objects/outcomes';
import type { ObjectReplicationDeps } from '#objects/replicate';
import { followTagChange, taggedSourceOf } from '#objects/tag-sync';
import { objectRuntimeFromEnvironment } from './wiring.ts';

/** S3 "Object Tags Added" / "Object Tags Deleted" → the replicas of that version get their tag policy again. */
export function createObjectTagsChangedHandler(tools: Powertools, deps: ObjectReplicationDeps) {
  return instrumented(tools, ObjectTagsChangedEventSchema, async (event) =>
    throwIfRetryable(await followTagChange(taggedSourceOf(event), deps)),
  );
}

/** The deployed function, wired at Lambda init (the object handlers' deps; it starts no copy). */
export function objectTagsChangedHandlerFromEnvironment(env: NodeJS.ProcessEnv = process.env) {
  const { tools, deps } = objectRuntimeFromEnvironment(env);
  return createObjectTagsChangedHandler(tools, deps);
}
