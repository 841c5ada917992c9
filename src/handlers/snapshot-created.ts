import { instrumented } from '#observability/middleware';
import type { Powertools } from '#observability/powertools';
import { SnapshotEventSchema } from '#snapshots/event';
import { replicateSnapshots, type SnapshotReplicationDeps } from '#snapshots/replicate';

/** EBS "Snapshot Notification" and "Multi-Volume Snapshots Completion Status" → snapshot-copy executions. */
export function createSnapshotCreatedHandler(tools: Powertools, deps: SnapshotReplicationDeps) {
  return instrumented(tools, SnapshotEventSchema, (event) => replicateSnapshots(event, deps));
}
