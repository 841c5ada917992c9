import { ImageStateChangeEventSchema } from '#images/event';
import { type ImageReplicationDeps, replicateImage } from '#images/replicate';
import { instrumented } from '#observability/middleware';
import type { Powertools } from '#observability/powertools';

/** "EC2 AMI State Change" (available) → image-copy executions. */
export function createImageAvailableHandler(tools: Powertools, deps: ImageReplicationDeps) {
  return instrumented(tools, ImageStateChangeEventSchema, (event) => replicateImage(event, deps));
}
