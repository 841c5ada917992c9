import { createSnapshotCreatedHandler } from '#handlers/snapshot-created';
import { runtimeFromEnvironment } from '#runtime';

const { tools, snapshotDeps } = runtimeFromEnvironment();

export const handler = createSnapshotCreatedHandler(tools, snapshotDeps);
